package payment

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/caremetrics/caremetrics/dsl"
	"github.com/caremetrics/caremetrics/metric"
)

// FuzzParseProgram feeds program files to the parser. Invariants: it
// never panics; an error is a dsl.ErrorList of positioned entries in the
// file; a program it accepts passes the evaluation invariants and
// evaluates, with every measure's rate at 1/2 both years and an actual
// cost equal to the budget, without error or panic.
func FuzzParseProgram(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	errs, _ := filepath.Glob(filepath.Join("testdata", "errors", "*.yaml"))
	for _, path := range append(append(seeds, errs...), filepath.Join("..", "examples", "incentive", "program.yaml")) {
		if src, err := os.ReadFile(path); err == nil {
			f.Add(src)
		}
	}
	f.Add([]byte("year: 2025\nmeasures: [{id: a, group: g, benchmark: 50%}]\nquality_pool: {rate: 0%}\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		p, err := ParseProgram("fuzz.yaml", src)
		if err != nil {
			var list dsl.ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("error %v is not a non-empty dsl.ErrorList", err)
			}
			for _, e := range list {
				if e.Pos.File != "fuzz.yaml" || e.Pos.Line < 0 || e.Code == "" {
					t.Fatalf("badly positioned error %#v", e)
				}
			}
			return
		}
		if err := p.check(); err != nil {
			t.Fatalf("accepted a program that fails its invariants: %v", err)
		}
		rep := &metric.Report{}
		for _, m := range p.Measures {
			mr := rep.Measure(m.ID)
			if mr == nil {
				rep.Measures = append(rep.Measures, metric.MeasureResult{ID: m.ID})
				mr = &rep.Measures[len(rep.Measures)-1]
			}
			mr.Groups = append(mr.Groups, metric.Group{ID: m.Group, Counts: metric.Counts{Denominator: 2, Numerator: 1}})
		}
		in := Inputs{Rates: rep, Baseline: rep, MemberMonths: 1, Capitation: 1234567}
		if p.SharedSavings != nil {
			budget := p.PMPM // PMPM × 1 member month
			in.ActualCost = &budget
		}
		if _, err := p.Evaluate(in); err != nil {
			t.Fatalf("evaluate: %v", err)
		}
	})
}
