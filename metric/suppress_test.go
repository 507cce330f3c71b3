package metric_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caremetrics/caremetrics/eval"
	"github.com/caremetrics/caremetrics/measures"
	"github.com/caremetrics/caremetrics/metric"
)

// row builds counts with the rate's denominator d and numerator n.
func row(d, n int64) metric.Counts {
	return metric.Counts{InitialPopulation: d, Denominator: d, Numerator: n}
}

// oneGroup is a report of one measure and group with one stratifier.
func oneGroup(total metric.Counts, strata map[string]metric.Counts) *metric.Report {
	st := metric.Stratifier{ID: "sex"}
	for k, c := range strata {
		st.Strata = append(st.Strata, metric.Stratum{Values: []string{k}, Counts: c})
	}
	r := &metric.Report{Measures: []metric.MeasureResult{{ID: "m", Scoring: "proportion",
		Groups: []metric.Group{{ID: "g", Counts: total, Stratifiers: []metric.Stratifier{st}}}}}}
	r.Finalize()
	return r
}

func TestSuppressPrimaryAndComplementary(t *testing.T) {
	type want struct {
		num, den metric.SuppressionReason
	}
	for _, tc := range []struct {
		name   string
		total  metric.Counts
		strata map[string]metric.Counts
		opt    metric.SuppressionOptions
		want   map[string]want // by stratum; "" is the overall row
	}{
		{"nothing small", row(100, 50), map[string]metric.Counts{"F": row(60, 30), "M": row(40, 20)}, metric.SuppressionOptions{},
			map[string]want{"": {}, "F": {}, "M": {}}},
		{"small numerator, complementary on the next smallest", row(100, 52),
			map[string]metric.Counts{"F": row(50, 35), "M": row(30, 12), "U": row(20, 5)}, metric.SuppressionOptions{},
			map[string]want{"": {}, "F": {}, "M": {num: metric.SuppressedComplementary}, "U": {num: metric.SuppressedSmall}}},
		{"small denominator hides the row", row(100, 50),
			map[string]metric.Counts{"F": row(60, 30), "M": row(35, 20), "U": row(5, 0)}, metric.SuppressionOptions{},
			map[string]want{"": {}, "F": {}, "M": {num: metric.SuppressedComplementary, den: metric.SuppressedComplementary},
				"U": {num: metric.SuppressedSmallDenominator, den: metric.SuppressedSmall}}},
		{"small complement", row(100, 60),
			map[string]metric.Counts{"F": row(50, 45), "M": row(50, 15)}, metric.SuppressionOptions{},
			map[string]want{"": {}, "F": {num: metric.SuppressedSmallComplement}, "M": {num: metric.SuppressedComplementary}}},
		{"two small cells whose sum is small hide a third", row(100, 50),
			map[string]metric.Counts{"F": row(50, 30), "M": row(30, 13), "U": row(12, 3), "X": row(8, 4)}, metric.SuppressionOptions{},
			map[string]want{"": {}, "F": {}, "M": {num: metric.SuppressedComplementary},
				"U": {num: metric.SuppressedSmall, den: metric.SuppressedComplementary}, "X": {num: metric.SuppressedSmall, den: metric.SuppressedSmall}}},
		{"zero is published by default", row(100, 38), map[string]metric.Counts{"F": row(50, 38), "M": row(50, 0)}, metric.SuppressionOptions{},
			map[string]want{"": {}, "F": {}, "M": {}}},
		{"zero suppressed on request", row(100, 38), map[string]metric.Counts{"F": row(50, 38), "M": row(50, 0)}, metric.SuppressionOptions{SuppressZeros: true},
			map[string]want{"": {}, "F": {num: metric.SuppressedComplementary}, "M": {num: metric.SuppressedSmall}}},
		{"threshold 5", row(100, 50), map[string]metric.Counts{"F": row(60, 45), "M": row(40, 5)}, metric.SuppressionOptions{Threshold: 5},
			map[string]want{"": {}, "F": {}, "M": {}}},
		{"small total", row(8, 4), map[string]metric.Counts{"F": row(8, 4)}, metric.SuppressionOptions{},
			map[string]want{"": {num: metric.SuppressedSmall, den: metric.SuppressedSmall}, "F": {num: metric.SuppressedSmall, den: metric.SuppressedSmall}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := oneGroup(tc.total, tc.strata)
			p, err := metric.Suppress(r, tc.opt)
			require.NoError(t, err)
			g := p.Measures[0].Groups[0]
			got := map[string]want{"": {g.Numerator.Suppressed, g.Denominator.Suppressed}}
			for _, s := range g.Stratifiers[0].Strata {
				got[s.Values[0]] = want{s.Numerator.Suppressed, s.Denominator.Suppressed}
			}
			assert.Equal(t, tc.want, got)
			attack(t, r, p, tc.opt)
		})
	}
}

func TestSuppressOutput(t *testing.T) {
	r := oneGroup(row(100, 52), map[string]metric.Counts{"F": row(50, 35), "M": row(30, 12), "U": row(20, 5)})
	before, err := json.Marshal(r)
	require.NoError(t, err)
	p, err := metric.Suppress(r, metric.SuppressionOptions{})
	require.NoError(t, err)
	after, err := json.Marshal(r)
	require.NoError(t, err)
	assert.Equal(t, string(before), string(after), "the input report is not modified")

	st := p.Measures[0].Groups[0].Stratifiers[0]
	u := st.Strata[2]
	assert.Equal(t, metric.Cell{Suppressed: metric.SuppressedSmall}, u.Numerator, "no trace of the value")
	assert.Equal(t, metric.Cell{Value: 20}, u.Denominator)
	assert.Equal(t, metric.RateCell{Suppressed: metric.SuppressedDerived}, u.Rate)
	m := st.Strata[1]
	assert.Equal(t, metric.Cell{Suppressed: metric.SuppressedComplementary, Protects: "g sex=U numerator"}, m.Numerator)
	assert.Equal(t, metric.RateCell{Value: metric.Rate{Value: 0.7, Defined: true}}, st.Strata[0].Rate)
	b, err := json.Marshal(p)
	require.NoError(t, err)
	assert.Contains(t, string(b), `{"values":["U"],"numerator":{"value":null,"suppressed":"small-cell"},"denominator":{"value":20},"rate":{"value":null,"suppressed":"derived"}}`)
	assert.Contains(t, string(b), `"protects":"g sex=U numerator"`)
	var back metric.PublishedReport
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, *p, back)

	again, err := metric.Suppress(r, metric.SuppressionOptions{})
	require.NoError(t, err)
	assert.Equal(t, p, again, "deterministic")
}

func TestSuppressOptionErrors(t *testing.T) {
	r := oneGroup(row(100, 50), map[string]metric.Counts{"F": row(60, 30), "M": row(40, 20)})
	for _, opt := range []metric.SuppressionOptions{
		{Threshold: -1},
		{GroupSums: []metric.GroupSum{{Measure: "m", Total: "nope", Parts: []string{"g"}}}},
		{GroupSums: []metric.GroupSum{{Measure: "m", Total: "g", Parts: []string{"nope"}}}},
		{Relations: []metric.Relation{{Measure: "m", Total: metric.RowRef{Group: "g"}, Parts: []metric.RowRef{{Group: "g", Stratifier: "race", Values: []string{"x"}}}}}},
	} {
		_, err := metric.Suppress(r, opt)
		assert.True(t, errors.Is(err, metric.ErrSuppressionOptions), "%+v: %v", opt, err)
	}
}

// TestSuppressCrossStratifier protects a race × language table against its
// published margins, where two suppressed cells per row and column are not
// enough if the pattern leaves one determined.
func TestSuppressCrossStratifier(t *testing.T) {
	cells := map[[2]string]int64{
		{"asian", "en"}: 30, {"asian", "es"}: 4, {"asian", "vi"}: 25,
		{"black", "en"}: 40, {"black", "es"}: 15, {"black", "vi"}: 3,
		{"white", "en"}: 90, {"white", "es"}: 20, {"white", "vi"}: 12,
	}
	g := metric.Group{ID: "g"}
	race, lang, cross := metric.Stratifier{ID: "race"}, metric.Stratifier{ID: "language"}, metric.Stratifier{ID: "race_language", Components: []string{"race", "language"}}
	rs, ls := map[string]int64{}, map[string]int64{}
	for k, v := range cells {
		cross.Strata = append(cross.Strata, metric.Stratum{Values: []string{k[0], k[1]}, Counts: row(v, v/2)})
		rs[k[0]] += v
		ls[k[1]] += v
	}
	var total int64
	for k, v := range rs {
		race.Strata = append(race.Strata, metric.Stratum{Values: []string{k}, Counts: row(v, v/2)})
		total += v
	}
	for k, v := range ls {
		lang.Strata = append(lang.Strata, metric.Stratum{Values: []string{k}, Counts: row(v, v/2)})
	}
	// Numerators: v/2 of each cell, so margins are sums of halves.
	fix := func(s *metric.Stratifier, f func(metric.Stratum) int64) {
		for i := range s.Strata {
			s.Strata[i].Numerator = f(s.Strata[i])
		}
	}
	fix(&race, func(st metric.Stratum) int64 {
		var n int64
		for k, v := range cells {
			if k[0] == st.Values[0] {
				n += v / 2
			}
		}
		return n
	})
	fix(&lang, func(st metric.Stratum) int64 {
		var n int64
		for k, v := range cells {
			if k[1] == st.Values[0] {
				n += v / 2
			}
		}
		return n
	})
	var num int64
	for _, v := range cells {
		num += v / 2
	}
	g.Counts = row(total, num)
	g.Stratifiers = []metric.Stratifier{race, lang, cross}
	r := &metric.Report{Measures: []metric.MeasureResult{{ID: "m", Groups: []metric.Group{g}}}}
	r.Finalize()
	p, err := metric.Suppress(r, metric.SuppressionOptions{})
	require.NoError(t, err)
	attack(t, r, p, metric.SuppressionOptions{})
	hidden := 0
	for _, s := range p.Measures[0].Groups[0].Stratifiers[2].Strata {
		if s.Denominator.Suppressed != metric.NotSuppressed {
			hidden++
		}
	}
	assert.GreaterOrEqual(t, hidden, 4, "the two small cells need at least a 2×2 pattern")
}

// TestSuppressRandomCohorts aggregates random small cohorts the way eval
// does (race alone or in combination, a race × language cross, groups that
// add up) and attacks every suppressed cell.
func TestSuppressRandomCohorts(t *testing.T) {
	for seed := range uint64(40) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r, opt := randomReport(seed)
			p, err := metric.Suppress(r, opt)
			require.NoError(t, err)
			attack(t, r, p, opt)
		})
	}
}

// TestSuppressSampleCohort suppresses the report of every shipped measure
// on the bundled sample cohort and attacks it, with dental's groups
// declared as the sums they are.
func TestSuppressSampleCohort(t *testing.T) {
	if testing.Short() {
		t.Skip("evaluates the sample cohort")
	}
	ctx := context.Background()
	ms, err := measures.Load(nil)
	require.NoError(t, err)
	data, err := eval.LoadDir(ctx, filepath.Join("..", "testdata", "sample"))
	require.NoError(t, err)
	res, err := eval.Evaluate(ctx, data, ms, eval.WithWorkers(2))
	require.NoError(t, err)
	r := res.Report
	opt := metric.SuppressionOptions{
		GroupSums: []metric.GroupSum{{Measure: "dental", Total: "total", Parts: []string{"age_1_5", "age_6_14"}}},
		Relations: []metric.Relation{
			{Measure: "dental", Total: metric.RowRef{Group: "age_1_5"}, Parts: []metric.RowRef{{Group: "total", Stratifier: "age_band", Values: []string{"1-5"}}}},
			{Measure: "dental", Total: metric.RowRef{Group: "age_6_14"}, Parts: []metric.RowRef{{Group: "total", Stratifier: "age_band", Values: []string{"6-14"}}}},
		},
	}
	p, err := metric.Suppress(r, opt)
	require.NoError(t, err)
	attack(t, r, p, opt)

	// CIS groups share their denominators stratum by stratum, so they must
	// hide the same denominators, or one group would reveal another's.
	cis, pcis := r.Measure("cis"), p.Measures[slices.IndexFunc(p.Measures, func(m metric.PublishedMeasure) bool { return m.ID == "cis" })]
	require.NotNil(t, cis)
	pattern := func(gi int) string {
		var b strings.Builder
		for si, s := range cis.Groups[gi].Stratifiers {
			for k, st := range s.Strata {
				fmt.Fprintf(&b, "%s=%v:%d:%s;", s.ID, st.Values, st.Denominator, pcis.Groups[gi].Stratifiers[si].Strata[k].Denominator.Suppressed)
			}
		}
		return b.String()
	}
	byDenominators := map[string]string{}
	for gi := range cis.Groups {
		dens := fmt.Sprint(cis.Groups[gi].Denominator)
		for _, s := range cis.Groups[gi].Stratifiers {
			for _, st := range s.Strata {
				dens += fmt.Sprint(",", st.Denominator)
			}
		}
		if prev, ok := byDenominators[dens]; ok {
			assert.Equal(t, prev, pattern(gi), "group %s", cis.Groups[gi].ID)
		}
		byDenominators[dens] = pattern(gi)
	}
	assert.Less(t, len(byDenominators), len(cis.Groups), "some CIS groups share denominators")

	e, err := r.Equity(metric.EquityOptions{ByStratifier: map[string]metric.Reference{"race": {Kind: metric.ReferenceNamed, Values: []string{"white"}}}})
	require.NoError(t, err)
	_, err = json.Marshal(e)
	require.NoError(t, err)
}

type member struct {
	sex, lang, age string
	races          []string
	den, num       bool
}

func randomReport(seed uint64) (*metric.Report, metric.SuppressionOptions) {
	rng := rand.New(rand.NewPCG(seed, 7))
	pick := func(vals []string, weights []int) string {
		sum := 0
		for _, w := range weights {
			sum += w
		}
		x := rng.IntN(sum)
		for i, w := range weights {
			if x < w {
				return vals[i]
			}
			x -= w
		}
		return vals[len(vals)-1]
	}
	n := 20 + rng.IntN(250)
	members := make([]member, n)
	for i := range members {
		m := &members[i]
		m.sex = pick([]string{"F", "M", "U"}, []int{48, 48, 4})
		m.lang = pick([]string{"en", "es", "vi", "unknown"}, []int{70, 20, 5, 5})
		m.age = pick([]string{"young", "old"}, []int{1 + rng.IntN(5), 3})
		m.races = []string{pick([]string{"white", "black", "asian", "aian", "unknown"}, []int{60, 15, 10, 5, 10})}
		if m.races[0] != "unknown" && rng.IntN(10) == 0 {
			m.races = append(m.races, pick([]string{"white", "black", "asian"}, []int{1, 1, 1}))
			if m.races[1] != m.races[0] {
				m.races = append(m.races, "multiracial")
			} else {
				m.races = m.races[:1]
			}
		}
		m.den = rng.IntN(20) != 0
		m.num = m.den && rng.IntN(100) < 30+rng.IntN(60)
	}
	mr := metric.MeasureResult{ID: "m", Scoring: "proportion"}
	for _, gid := range []string{"young", "old", "total"} {
		g := metric.Group{ID: gid}
		strata := map[string]map[string]*metric.Counts{}
		add := func(sid string, vals []string, mem metric.Membership) {
			if strata[sid] == nil {
				strata[sid] = map[string]*metric.Counts{}
			}
			k := strings.Join(vals, "\x00")
			if strata[sid][k] == nil {
				strata[sid][k] = &metric.Counts{}
			}
			strata[sid][k].Add(mem)
		}
		for _, m := range members {
			if gid != "total" && m.age != gid {
				continue
			}
			mem := metric.NewMembership(true, m.den, false, m.num, false)
			g.Counts.Add(mem)
			add("sex", []string{m.sex}, mem)
			add("language", []string{m.lang}, mem)
			add("age_band", []string{m.age}, mem)
			for _, race := range m.races {
				add("race", []string{race}, mem)
				add("race_language", []string{race, m.lang}, mem)
			}
		}
		for _, sid := range []string{"race", "sex", "language", "age_band", "race_language"} {
			st := metric.Stratifier{ID: sid, Strata: []metric.Stratum{}}
			if sid == "race_language" {
				st.Components = []string{"race", "language"}
			}
			for k, c := range strata[sid] {
				st.Strata = append(st.Strata, metric.Stratum{Values: strings.Split(k, "\x00"), Counts: *c})
			}
			g.Stratifiers = append(g.Stratifiers, st)
		}
		mr.Groups = append(mr.Groups, g)
	}
	r := &metric.Report{Measures: []metric.MeasureResult{mr}}
	r.Finalize()
	opt := metric.SuppressionOptions{
		GroupSums: []metric.GroupSum{{Measure: "m", Total: "total", Parts: []string{"young", "old"}}},
		Relations: []metric.Relation{
			{Measure: "m", Total: metric.RowRef{Group: "young"}, Parts: []metric.RowRef{{Group: "total", Stratifier: "age_band", Values: []string{"young"}}}},
			{Measure: "m", Total: metric.RowRef{Group: "old"}, Parts: []metric.RowRef{{Group: "total", Stratifier: "age_band", Values: []string{"old"}}}},
		},
	}
	if seed%3 == 1 {
		opt.SuppressZeros = true
	}
	return r, opt
}

// reporter is the part of testing.T that attack uses, so that a test can
// check that the attacker does find what it should.
type reporter interface {
	Helper()
	Errorf(format string, args ...any)
}

type recorder struct{ errors []string }

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

// TestAttackerFindsLeaks undoes complementary suppression and expects the
// attacker to recover cells, so that a blind attacker cannot pass.
func TestAttackerFindsLeaks(t *testing.T) {
	leaks := 0
	for seed := range uint64(10) {
		r, opt := randomReport(seed)
		p, err := metric.Suppress(r, opt)
		require.NoError(t, err)
		var clean recorder
		attack(&clean, r, p, opt)
		require.Empty(t, clean.errors)
		undone := 0
		for gi, g := range r.Measures[0].Groups {
			pg := &p.Measures[0].Groups[gi]
			for si, s := range g.Stratifiers {
				for k, st := range s.Strata {
					c := &pg.Stratifiers[si].Strata[k]
					if c.Numerator.Suppressed == metric.SuppressedComplementary {
						c.Numerator = metric.Cell{Value: st.Numerator}
						if c.Denominator.Suppressed == metric.NotSuppressed {
							c.Rate = metric.RateCell{Value: st.Counts.Rate()}
						}
						undone++
					}
				}
			}
		}
		if undone == 0 {
			continue
		}
		var rec recorder
		attack(&rec, r, p, opt)
		found := 0
		for _, e := range rec.errors {
			if strings.Contains(e, "recovered as") || strings.Contains(e, "is determined") || strings.Contains(e, "add up to") {
				found++
			}
		}
		assert.Positive(t, found, "seed %d: %d complementary cells undone, nothing recovered: %v", seed, undone, rec.errors)
		leaks += found
	}
	assert.Positive(t, leaks)
}

// An attacker's view of one population (numerator or denominator) of a
// measure: a variable per row, known or not, and the sums that relate
// them.
type variable struct {
	label     string
	truth     int64
	known     bool
	published int64
	// margin marks an unpublished margin of a cross stratifier.
	margin bool
}

type relation struct {
	total int
	parts []int
}

// attack tries to recover every suppressed cell of p from its published
// cells, using only the structure of the report and the relations the
// options declare; it also checks primary suppression and that every
// published figure is the true one. It is written independently of
// Suppress: its linear check is a floating-point rank test.
func attack(t reporter, r *metric.Report, p *metric.PublishedReport, opt metric.SuppressionOptions) {
	t.Helper()
	threshold := p.Threshold
	small := func(v int64) bool { return (v > 0 || opt.SuppressZeros) && v < threshold }
	for mi, m := range r.Measures {
		pm := p.Measures[mi]
		for kind, name := range []string{"numerator", "denominator"} {
			var vars []variable
			var rels []relation
			idx := map[string]int{} // group/stratifier/values → variable
			addVar := func(key, label string, c metric.Counts, cell metric.Cells) {
				x, n := c.Numerator, c.Denominator-c.DenominatorExclusion-c.DenominatorException
				v, pc := x, cell.Numerator
				if kind == 1 {
					v, pc = n, cell.Denominator
				}
				idx[key] = len(vars)
				vars = append(vars, variable{label: label + " " + name, truth: v, known: pc.Suppressed == metric.NotSuppressed, published: pc.Value})
				// Primary rules and truthful publication.
				if small(v) || (kind == 0 && (small(n) || small(n-x))) {
					assert.NotEqual(t, metric.NotSuppressed, pc.Suppressed, "%s %s = %d must be suppressed", label, name, v)
				}
				if pc.Suppressed == metric.NotSuppressed {
					assert.Equal(t, v, pc.Value, "%s %s published wrong", label, name)
				} else {
					assert.Zero(t, pc.Value, "%s %s: a suppressed cell keeps no value", label, name)
				}
				rateShown := cell.Numerator.Suppressed == metric.NotSuppressed && cell.Denominator.Suppressed == metric.NotSuppressed
				assert.Equal(t, rateShown, cell.Rate.Suppressed == metric.NotSuppressed, "%s rate", label)
				if rateShown {
					assert.Equal(t, c.Rate(), cell.Rate.Value, "%s rate", label)
				}
			}
			key := func(g, s string, vals []string) string { return g + "/" + s + "/" + strings.Join(vals, "|") }
			for gi, g := range m.Groups {
				pg := pm.Groups[gi]
				addVar(key(g.ID, "", nil), g.ID, g.Counts, pg.Cells)
				for si, s := range g.Stratifiers {
					for k, st := range s.Strata {
						addVar(key(g.ID, s.ID, st.Values), g.ID+" "+s.ID+"="+strings.Join(st.Values, "|"), st.Counts, pg.Stratifiers[si].Strata[k].Cells)
					}
				}
			}
			for _, g := range m.Groups {
				for _, s := range g.Stratifiers {
					if len(s.Components) == 0 {
						rel := relation{total: idx[key(g.ID, "", nil)]}
						for _, st := range s.Strata {
							rel.parts = append(rel.parts, idx[key(g.ID, s.ID, st.Values)])
						}
						rels = append(rels, rel)
						continue
					}
					// Every margin of a cross stratifier: the sum over the
					// dropped components, published or not.
					for mask := 0; mask < 1<<len(s.Components)-1; mask++ {
						margins := map[string]*relation{}
						var order []string
						for _, st := range s.Strata {
							var kept, keptIDs []string
							for c := range s.Components {
								if mask&(1<<c) != 0 {
									kept = append(kept, st.Values[c])
									keptIDs = append(keptIDs, s.Components[c])
								}
							}
							mk := strings.Join(keptIDs, "×") + "=" + strings.Join(kept, "|")
							if margins[mk] == nil {
								total := -1
								switch {
								case mask == 0:
									total = idx[key(g.ID, "", nil)]
								case len(keptIDs) == 1 && g.Stratifier(keptIDs[0]) != nil && g.Stratifier(keptIDs[0]).Stratum(kept...) != nil:
									total = idx[key(g.ID, keptIDs[0], kept)]
								default:
									vars = append(vars, variable{label: g.ID + " " + mk + " (unpublished)", margin: true})
									total = len(vars) - 1
								}
								margins[mk] = &relation{total: total}
								order = append(order, mk)
							}
							margins[mk].parts = append(margins[mk].parts, idx[key(g.ID, s.ID, st.Values)])
						}
						for _, mk := range order {
							rels = append(rels, *margins[mk])
						}
					}
				}
			}
			for _, gs := range opt.GroupSums {
				if gs.Measure != m.ID {
					continue
				}
				tg := (&r.Measures[mi]).Group(gs.Total)
				rel := relation{total: idx[key(gs.Total, "", nil)]}
				for _, pid := range gs.Parts {
					rel.parts = append(rel.parts, idx[key(pid, "", nil)])
				}
				rels = append(rels, rel)
				for _, s := range tg.Stratifiers {
					for _, st := range s.Strata {
						rel := relation{total: idx[key(gs.Total, s.ID, st.Values)]}
						for _, pid := range gs.Parts {
							if i, ok := idx[key(pid, s.ID, st.Values)]; ok {
								rel.parts = append(rel.parts, i)
							}
						}
						rels = append(rels, rel)
					}
				}
			}
			for _, rl := range opt.Relations {
				if rl.Measure != m.ID {
					continue
				}
				ti, ok := idx[key(rl.Total.Group, rl.Total.Stratifier, rl.Total.Values)]
				if !ok {
					continue
				}
				rel := relation{total: ti}
				for _, pr := range rl.Parts {
					if i, ok := idx[key(pr.Group, pr.Stratifier, pr.Values)]; ok {
						rel.parts = append(rel.parts, i)
					}
				}
				rels = append(rels, rel)
			}
			attackSystem(t, vars, rels, threshold)
		}
	}
}

func attackSystem(t reporter, vars []variable, rels []relation, threshold int64) {
	t.Helper()
	unknown := func(i int) bool { return vars[i].margin || !vars[i].known }
	// 1. Subtraction: a relation with exactly one hidden cell gives it away
	// (when the relation holds, which it does for partitions).
	for _, rel := range rels {
		var hidden []int
		all := append([]int{rel.total}, rel.parts...)
		for _, i := range all {
			if unknown(i) {
				hidden = append(hidden, i)
			}
		}
		if len(hidden) != 1 || vars[hidden[0]].margin {
			continue
		}
		var sum int64
		exact := true
		if !vars[rel.total].margin {
			var parts int64
			for _, i := range rel.parts {
				parts += vars[i].truth
			}
			exact = parts == vars[rel.total].truth
		}
		if !exact && len(rel.parts) == 1 {
			continue // a lone stratum of an overlapping or incomplete stratifier: nothing to subtract
		}
		h := hidden[0]
		if h == rel.total {
			for _, i := range rel.parts {
				sum += vars[i].published
			}
		} else {
			sum = vars[rel.total].published
			for _, i := range rel.parts {
				if i != h {
					sum -= vars[i].published
				}
			}
		}
		t.Errorf("%s is the only hidden cell of a sum: recovered as %d (true %d)", vars[h].label, sum, vars[h].truth)
	}
	// 2. The sum of the hidden parts of a relation with a published total
	// is known: it must not be a small count, unless nothing is left to hide.
	for _, rel := range rels {
		if unknown(rel.total) {
			continue
		}
		var sum int64
		left := false
		for _, i := range rel.parts {
			if unknown(i) {
				sum += vars[i].truth
			} else {
				left = true
			}
		}
		if sum > 0 && sum < threshold && left {
			t.Errorf("the hidden parts of the sum for %s add up to %d", vars[rel.total].label, sum)
		}
	}
	// 3. Linear algebra over all relations: hidden cell j is determined by
	// the published ones iff every solution of the homogeneous system (the
	// relations over the hidden cells) has x_j = 0, that is iff column j is
	// a pivot whose row has no entry in a free column.
	var cols []int
	for i := range vars {
		if unknown(i) {
			cols = append(cols, i)
		}
	}
	if len(cols) == 0 {
		return
	}
	pos := map[int]int{}
	for j, c := range cols {
		pos[c] = j
	}
	var m [][]float64
	for _, rel := range rels {
		row := make([]float64, len(cols))
		nz := false
		if j, ok := pos[rel.total]; ok {
			row[j]--
			nz = true
		}
		for _, p := range rel.parts {
			if j, ok := pos[p]; ok {
				row[j]++
				nz = true
			}
		}
		if nz {
			m = append(m, row)
		}
	}
	pivots := rref(m, len(cols))
	for i, pj := range pivots {
		c := cols[pj]
		if vars[c].margin {
			continue
		}
		free := false
		for j := range cols {
			if j != pj && math.Abs(m[i][j]) > 1e-9 {
				free = true
				break
			}
		}
		if !free {
			t.Errorf("%s (true %d) is determined by the published cells", vars[c].label, vars[c].truth)
		}
	}
}

// rref reduces m in place to reduced row echelon form by Gauss-Jordan
// elimination with partial pivoting and returns the pivot column of each
// leading row.
func rref(m [][]float64, ncols int) []int {
	var pivots []int
	r := 0
	for j := 0; j < ncols && r < len(m); j++ {
		p := r
		for i := r + 1; i < len(m); i++ {
			if math.Abs(m[i][j]) > math.Abs(m[p][j]) {
				p = i
			}
		}
		if math.Abs(m[p][j]) < 1e-9 {
			continue
		}
		m[r], m[p] = m[p], m[r]
		f := m[r][j]
		for k := range m[r] {
			m[r][k] /= f
		}
		for i := range m {
			if i == r || m[i][j] == 0 {
				continue
			}
			g := m[i][j]
			for k := range m[i] {
				m[i][k] -= g * m[r][k]
			}
		}
		pivots = append(pivots, j)
		r++
	}
	return pivots
}
