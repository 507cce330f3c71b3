package synth_test

import (
	"context"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/caremetrics/caremetrics/eval"
	"github.com/caremetrics/caremetrics/internal/synth"
	"github.com/caremetrics/caremetrics/measures"
)

// TestSocialStructure: every LOINC answer code (LA...) shares its resource
// (claim id) and date with the item it answers, as the data model writes
// coded results; interpreter agencies bill T1013 on a visit date.
func TestSocialStructure(t *testing.T) {
	var b *synth.Batch
	if _, err := synth.Generate(synth.Config{Members: synth.BlockMembers, Seed: 4, Year: 2025, Workers: 1}, func(x *synth.Batch) error { b = x; return nil }); err != nil {
		t.Fatal(err)
	}
	type key struct {
		member, claim string
		date          synth.Day
	}
	items := map[key]bool{}
	dates := map[[2]any]bool{} // member, date of a claim row
	for _, e := range b.Events {
		if e.System == "LOINC" && !strings.HasPrefix(e.Code, "LA") {
			items[key{e.MemberID, e.ClaimID, e.Date}] = true
		}
		if e.Source == "claim" && (e.System == "CPT" || e.System == "CDT" || e.System == "HCPCS") && e.Code != "T1013" {
			dates[[2]any{e.MemberID, e.Date}] = true
		}
	}
	answers, agency := 0, 0
	for _, e := range b.Events {
		if e.System == "LOINC" && strings.HasPrefix(e.Code, "LA") {
			answers++
			if !items[key{e.MemberID, e.ClaimID, e.Date}] {
				t.Errorf("answer without its item: %+v", e)
			}
		}
		if e.Code == "T1013" && strings.HasPrefix(e.ClaimID, "I") {
			agency++
			if !dates[[2]any{e.MemberID, e.Date}] {
				t.Errorf("agency interpreter claim on no visit date: %+v", e)
			}
		}
	}
	if answers == 0 || agency == 0 {
		t.Errorf("%d answer rows, %d agency interpreter claims", answers, agency)
	}
}

// TestSocialRates: the sample cohort gives the language access, ED
// utilization and social needs measures plausible, non-trivial rates.
func TestSocialRates(t *testing.T) {
	if testing.Short() {
		t.Skip("evaluates a 6,000-member cohort")
	}
	mem := memory.NewGoAllocator()
	tab, err := synth.GenerateArrow(synth.Config{Members: 6000, Seed: 1, Year: 2025}, mem, 1<<16)
	if err != nil {
		t.Fatal(err)
	}
	defer tab.Release()
	m, e, v, err := tab.Readers()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Release()
	defer e.Release()
	defer v.Release()
	ctx := context.Background()
	data, err := eval.FromArrow(ctx, m, e, v)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := measures.Load([]string{"lang_access", "ed_util", "sdoh"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := eval.Evaluate(ctx, data, ms)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		measure, group string
		lo, hi         float64
	}{
		{"lang_access", "total", 0.6, 0.8},
		{"ed_util", "total", 28, 45}, // per 1,000 member months
		{"sdoh", "screening", 0.25, 0.4},
		{"sdoh", "referral", 0.35, 0.6},
	} {
		g := res.Report.Measure(c.measure).Group(c.group)
		if !g.Rate.Defined || g.Rate.Value < c.lo || g.Rate.Value > c.hi {
			t.Errorf("%s/%s: rate %v, want %v..%v (counts %+v)", c.measure, c.group, g.Rate, c.lo, c.hi, g.Counts)
		}
	}
}
