package metric

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readGolden reads a CSV file of testdata/equity into maps by column.
func readGolden(t *testing.T, name string) []map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "equity", name))
	require.NoError(t, err)
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	require.Greater(t, len(rows), 1)
	var out []map[string]string
	for _, r := range rows[1:] {
		m := map[string]string{}
		for i, h := range rows[0] {
			m[h] = r[i]
		}
		out = append(out, m)
	}
	return out
}

func num(t *testing.T, s string) int64 {
	t.Helper()
	v, err := strconv.ParseInt(s, 10, 64)
	require.NoError(t, err)
	return v
}

// assertStat checks a statistic against an expected field: empty means
// undefined.
func assertStat(t *testing.T, want string, got Stat, what string) {
	t.Helper()
	if want == "" {
		assert.False(t, got.Defined, "%s: want undefined, got %v", what, got.Value)
		return
	}
	w, err := strconv.ParseFloat(want, 64)
	require.NoError(t, err)
	if assert.True(t, got.Defined, "%s: want %v, got undefined", what, w) {
		assert.InDelta(t, w, got.Value, 1e-9*math.Max(1, math.Abs(w)), what)
	}
}

func assertInterval(t *testing.T, lo, hi string, got Interval, what string) {
	t.Helper()
	if lo == "" {
		assert.False(t, got.Defined, "%s: want undefined", what)
		return
	}
	require.True(t, got.Defined, "%s: want defined", what)
	assertStat(t, lo, Stat{got.Low, true}, what+" low")
	assertStat(t, hi, Stat{got.High, true}, what+" high")
}

// assertComparison checks c against the columns of compare.csv or
// overall.csv.
func assertComparison(t *testing.T, r map[string]string, c Comparison) {
	t.Helper()
	assertStat(t, r["difference"], c.Difference, "difference")
	assertInterval(t, r["difference_low"], r["difference_high"], c.DifferenceInterval, "difference interval")
	assertStat(t, r["ratio"], c.Ratio, "ratio")
	assertInterval(t, r["ratio_low"], r["ratio_high"], c.RatioInterval, "ratio interval")
	assertStat(t, r["z"], c.Z, "z")
	assertStat(t, r["p"], c.P, "p")
}

func TestWilsonAgainstStatsmodels(t *testing.T) {
	for _, r := range readGolden(t, "wilson.csv") {
		t.Run(r["x"]+"/"+r["n"]+"@"+r["confidence"], func(t *testing.T) {
			conf, err := strconv.ParseFloat(r["confidence"], 64)
			require.NoError(t, err)
			z := zCritical(conf)
			assertStat(t, r["z"], Stat{z, true}, "z")
			lo, hi := Wilson(num(t, r["x"]), num(t, r["n"]), z)
			assertInterval(t, r["low"], r["high"], Interval{lo, hi, true}, "wilson")
		})
	}
}

func TestCompareAgainstStatsmodels(t *testing.T) {
	for _, r := range readGolden(t, "compare.csv") {
		t.Run(r["x"]+"/"+r["n"]+"-"+r["y"]+"/"+r["m"]+"@"+r["confidence"], func(t *testing.T) {
			conf, err := strconv.ParseFloat(r["confidence"], 64)
			require.NoError(t, err)
			assertComparison(t, r, compare(num(t, r["x"]), num(t, r["n"]), num(t, r["y"]), num(t, r["m"]), zCritical(conf)))
		})
	}
}

func TestOverallReferenceAgainstStatsmodels(t *testing.T) {
	for _, r := range readGolden(t, "overall.csv") {
		t.Run(r["x"]+"/"+r["n"]+" of "+r["total_x"]+"/"+r["total_n"], func(t *testing.T) {
			x, n, tx, tn := num(t, r["x"]), num(t, r["n"]), num(t, r["total_x"]), num(t, r["total_n"])
			s := &Stratifier{ID: "s", Strata: []Stratum{
				{Values: []string{"a"}, Counts: Counts{Denominator: n, Numerator: x}},
				{Values: []string{"b"}, Counts: Counts{Denominator: tn - n, Numerator: tx - x}},
			}}
			e, err := Disparities(Counts{Denominator: tn, Numerator: tx}, s, EquityOptions{Reference: Reference{Kind: ReferenceOverall}})
			require.NoError(t, err)
			st := e.Stratum("a")
			require.NotNil(t, st)
			require.NotNil(t, st.Comparison)
			assertComparison(t, r, *st.Comparison)
			assert.Nil(t, e.ReferenceValues)
			assert.False(t, st.Reference)
		})
	}
}

// parseStrata reads "label:x/n;label:x/n".
func parseStrata(t *testing.T, s string) (*Stratifier, Counts) {
	t.Helper()
	st := &Stratifier{ID: "s"}
	var total Counts
	for _, part := range strings.Split(s, ";") {
		label, frac, ok := strings.Cut(part, ":")
		require.True(t, ok)
		xs, ns, ok := strings.Cut(frac, "/")
		require.True(t, ok)
		c := Counts{Numerator: num(t, xs), Denominator: num(t, ns)}
		total.Merge(c)
		st.Strata = append(st.Strata, Stratum{Values: []string{label}, Counts: c})
	}
	return st, total
}

func TestSummaryIndicesAgainstNumpy(t *testing.T) {
	for _, r := range readGolden(t, "summary.csv") {
		t.Run(r["case"], func(t *testing.T) {
			s, total := parseStrata(t, r["strata"])
			ref := Reference{Kind: ReferenceOverall}
			if r["reference"] != "overall" {
				ref = Reference{Kind: ReferenceNamed, Values: []string{r["reference"]}}
			}
			e, err := Disparities(total, s, EquityOptions{Reference: ref})
			require.NoError(t, err)
			assertStat(t, r["index_of_disparity"], e.IndexOfDisparity, "index of disparity")
			assertStat(t, r["weighted_index_of_disparity"], e.WeightedIndexOfDisparity, "weighted index of disparity")
			assertStat(t, r["between_group_variance"], e.BetweenGroupVariance, "between-group variance")
			if r["case"] == "race_largest" {
				// The named reference is also the largest stratum.
				l, err := Disparities(total, s, EquityOptions{})
				require.NoError(t, err)
				assert.Equal(t, e.IndexOfDisparity, l.IndexOfDisparity)
				assert.Equal(t, []string{"white"}, l.ReferenceValues)
			}
		})
	}
}

// TestPublishedWorkedExamples checks the Newcombe (1998) tables and the
// Index of Disparity example of Sex Transm Dis 2017;44(9):513-518, Table 4,
// at the precision printed.
func TestPublishedWorkedExamples(t *testing.T) {
	z := zCritical(0.95)
	for _, tc := range []struct {
		x, n   int64
		lo, hi float64
	}{{81, 263, 0.2553, 0.3662}, {15, 148, 0.0624, 0.1605}, {0, 20, 0, 0.1611}, {1, 29, 0.0061, 0.1718}} {
		lo, hi := Wilson(tc.x, tc.n, z)
		assert.InDelta(t, tc.lo, lo, 0.00005, "%d/%d", tc.x, tc.n)
		assert.InDelta(t, tc.hi, hi, 0.00005, "%d/%d", tc.x, tc.n)
	}
	for _, tc := range []struct {
		x, n, y, m int64
		lo, hi     float64
	}{
		{56, 70, 48, 80, 0.0524, 0.3339}, {9, 10, 3, 10, 0.1705, 0.8090}, {6, 7, 2, 7, 0.0582, 0.8062},
		{5, 56, 0, 29, -0.0381, 0.1926}, {0, 10, 0, 20, -0.1611, 0.2775}, {10, 10, 0, 20, 0.6791, 1.0000},
	} {
		lo, hi := NewcombeDifference(tc.x, tc.n, tc.y, tc.m, z)
		assert.InDelta(t, tc.lo, lo, 0.00005, "%d/%d − %d/%d", tc.x, tc.n, tc.y, tc.m)
		assert.InDelta(t, tc.hi, hi, 0.00005, "%d/%d − %d/%d", tc.x, tc.n, tc.y, tc.m)
	}

	type group struct {
		label      string
		pop, cases int64
	}
	for _, tc := range []struct {
		year               string
		groups             []group
		id, weighted       float64
		ratiosAgainstWhite map[string]float64
	}{
		{"1992", []group{{"white", 200_000_000, 70_800}, {"black", 40_000_000, 563_240}, {"hispanic", 55_000_000, 52_360}, {"api", 20_000_000, 4_480}, {"aian", 3_000_000, 2_820}},
			166.5, 137.2, map[string]float64{"black": 39.8, "hispanic": 2.7, "api": 0.6, "aian": 2.7}},
		{"1993", []group{{"white", 200_000_000, 56_600}, {"black", 40_000_000, 482_300}, {"hispanic", 55_000_000, 49_200}, {"api", 20_000_000, 4_200}, {"aian", 3_000_000, 2_880}},
			163.8, 136.9, map[string]float64{"black": 42.6, "hispanic": 3.2, "api": 0.7, "aian": 3.4}},
	} {
		t.Run(tc.year, func(t *testing.T) {
			s := &Stratifier{ID: "race"}
			var total Counts
			for _, g := range tc.groups {
				c := Counts{Denominator: g.pop, Numerator: g.cases}
				total.Merge(c)
				s.Strata = append(s.Strata, Stratum{Values: []string{g.label}, Counts: c})
			}
			e, err := Disparities(total, s, EquityOptions{Reference: Reference{Kind: ReferenceOverall}})
			require.NoError(t, err)
			assert.InDelta(t, tc.id, e.IndexOfDisparity.Value, 0.05)
			assert.InDelta(t, tc.weighted, e.WeightedIndexOfDisparity.Value, 0.05)
			w, err := Disparities(total, s, EquityOptions{Reference: Reference{Kind: ReferenceNamed, Values: []string{"white"}}})
			require.NoError(t, err)
			for label, ratio := range tc.ratiosAgainstWhite {
				st := w.Stratum(label)
				require.NotNil(t, st.Comparison)
				assert.InDelta(t, ratio, st.Comparison.Ratio.Value, 0.05, label)
			}
		})
	}
}

func TestCriticalValueAndTail(t *testing.T) {
	// scipy 1.10.1: norm.ppf((1 + c) / 2) and 2 * norm.sf(z)
	for _, tc := range []struct{ conf, want float64 }{
		{0.5, 0.6744897501960817}, {0.8, 1.2815515655446004}, {0.95, 1.959963984540054},
		{0.999, 3.2905267314919255}, {0.999999, 4.891638475671085},
	} {
		assert.InDelta(t, tc.want, zCritical(tc.conf), 1e-9, "confidence %v", tc.conf)
	}
	assert.InDelta(t, 0.05, TwoSidedP(1.959963984540054), 1e-15)
	assert.InEpsilon(t, 7.341932398625397e-51, TwoSidedP(-15), 1e-12)
	assert.InEpsilon(t, 3.376631187887367e-17, TwoSidedP(8.432740427115679), 1e-12)
}

func strat(id string, rows ...any) *Stratifier {
	s := &Stratifier{ID: id}
	for i := 0; i < len(rows); i += 3 {
		s.Strata = append(s.Strata, Stratum{Values: strings.Split(rows[i].(string), "|"),
			Counts: Counts{Denominator: int64(rows[i+1].(int)), Numerator: int64(rows[i+2].(int))}})
	}
	return s
}

func TestReferenceChoice(t *testing.T) {
	s := strat("race", "white", 100, 60, "black", 100, 70, "asian", 40, 30, "unknown", 0, 0, "aian", 40, 12)
	for _, tc := range []struct {
		name string
		ref  Reference
		want []string
	}{
		{"largest, tie broken by label", Reference{}, []string{"black"}},
		{"best, higher is better", Reference{Kind: ReferenceBest}, []string{"asian"}},
		{"best, lower is better", Reference{Kind: ReferenceBest, LowerIsBetter: true}, []string{"aian"}},
		{"named", Reference{Kind: ReferenceNamed, Values: []string{"white"}}, []string{"white"}},
		{"overall", Reference{Kind: ReferenceOverall}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Disparities(Counts{Denominator: 280, Numerator: 172}, s, EquityOptions{Reference: tc.ref})
			require.NoError(t, err)
			assert.Equal(t, tc.want, e.ReferenceValues)
			for _, st := range e.Strata {
				assert.Equal(t, slicesEqual(st.Values, tc.want), st.Reference, st.Label())
				assert.Equal(t, st.Reference || st.Denominator == 0, st.Comparison == nil, st.Label())
			}
			labels := []string{}
			for _, st := range e.Strata {
				labels = append(labels, st.Label())
			}
			assert.Equal(t, []string{"aian", "asian", "black", "unknown", "white"}, labels, "strata sorted by value")
		})
	}
	e, err := Disparities(Counts{Denominator: 280, Numerator: 172}, s, EquityOptions{Reference: Reference{Kind: ReferenceBest}, MinReferenceDenominator: 50})
	require.NoError(t, err)
	assert.Equal(t, []string{"black"}, e.ReferenceValues, "asian is too small to be the best")
	// Ties on the best rate are broken by label too.
	tie := strat("sex", "M", 10, 5, "F", 20, 10)
	e, err = Disparities(Counts{Denominator: 30, Numerator: 15}, tie, EquityOptions{Reference: Reference{Kind: ReferenceBest}})
	require.NoError(t, err)
	assert.Equal(t, []string{"F"}, e.ReferenceValues)
}

func slicesEqual(a, b []string) bool {
	return b != nil && strings.Join(a, "\x00") == strings.Join(b, "\x00")
}

func TestEdgeCasesNeverLeakNaN(t *testing.T) {
	for _, tc := range []struct {
		name  string
		s     *Stratifier
		check func(t *testing.T, e StratifierEquity)
	}{
		{"reference rate 0: ratio undefined, difference defined", strat("s", "a", 50, 0, "b", 20, 5),
			func(t *testing.T, e StratifierEquity) {
				c := e.Stratum("b").Comparison
				assert.False(t, c.Ratio.Defined)
				assert.False(t, c.RatioInterval.Defined)
				assert.InDelta(t, 0.25, c.Difference.Value, 1e-15)
				assert.True(t, c.Z.Defined)
				assert.False(t, e.IndexOfDisparity.Defined)
			}},
		{"both 0%: no test", strat("s", "a", 50, 0, "b", 20, 0),
			func(t *testing.T, e StratifierEquity) {
				c := e.Stratum("b").Comparison
				assert.False(t, c.Z.Defined)
				assert.False(t, c.P.Defined)
				assert.True(t, c.DifferenceInterval.Defined)
			}},
		{"both 100%: ratio 1, no test", strat("s", "a", 50, 50, "b", 20, 20),
			func(t *testing.T, e StratifierEquity) {
				c := e.Stratum("b").Comparison
				assert.Equal(t, 1.0, c.Ratio.Value)
				assert.Equal(t, Interval{1, 1, true}, c.RatioInterval)
				assert.False(t, c.Z.Defined)
				assert.Equal(t, 1.0, e.Stratum("b").Interval.High)
				assert.Equal(t, 0.0, e.IndexOfDisparity.Value)
			}},
		{"stratum 0%: ratio 0 without interval", strat("s", "a", 50, 25, "b", 20, 0),
			func(t *testing.T, e StratifierEquity) {
				c := e.Stratum("b").Comparison
				assert.Equal(t, Stat{0, true}, c.Ratio)
				assert.False(t, c.RatioInterval.Defined)
				assert.Equal(t, 0.0, e.Stratum("b").Interval.Low)
			}},
		{"zero denominator: no rate, no interval, no comparison", strat("s", "a", 50, 25, "b", 0, 0),
			func(t *testing.T, e StratifierEquity) {
				b := e.Stratum("b")
				assert.False(t, b.Rate.Defined)
				assert.False(t, b.Interval.Defined)
				assert.Nil(t, b.Comparison)
				assert.False(t, e.IndexOfDisparity.Defined, "no stratum to compare")
				assert.Equal(t, Stat{0, true}, e.BetweenGroupVariance)
			}},
		{"every denominator zero", strat("s", "a", 0, 0, "b", 0, 0),
			func(t *testing.T, e StratifierEquity) {
				assert.Nil(t, e.ReferenceValues)
				assert.False(t, e.ReferenceRate.Defined)
				assert.False(t, e.BetweenGroupVariance.Defined)
			}},
		{"no strata", &Stratifier{ID: "s"},
			func(t *testing.T, e StratifierEquity) {
				assert.Empty(t, e.Strata)
				assert.False(t, e.IndexOfDisparity.Defined)
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var total Counts
			for _, st := range tc.s.Strata {
				total.Merge(st.Counts)
			}
			e, err := Disparities(total, tc.s, EquityOptions{})
			require.NoError(t, err)
			tc.check(t, e)
			b, err := json.Marshal(e)
			require.NoError(t, err, "NaN or Inf reached JSON")
			assert.NotContains(t, string(b), "NaN")
			var back StratifierEquity
			require.NoError(t, json.Unmarshal(b, &back))
			assert.Equal(t, len(e.Strata), len(back.Strata))
		})
	}
}

func TestEquityJSONRoundTrip(t *testing.T) {
	e, err := Disparities(Counts{Denominator: 300, Numerator: 150}, strat("race", "a", 100, 30, "b", 200, 120), EquityOptions{Confidence: 0.9})
	require.NoError(t, err)
	b, err := json.Marshal(e)
	require.NoError(t, err)
	var back StratifierEquity
	require.NoError(t, json.Unmarshal(b, &back))
	b2, err := json.Marshal(back)
	require.NoError(t, err)
	assert.JSONEq(t, string(b), string(b2))
	assert.Contains(t, string(b), `"reference":{"kind":"largest"}`)
	assert.Contains(t, string(b), `"reference_values":["b"]`)
}

func TestEquityOptionsErrors(t *testing.T) {
	s := strat("s", "a", 10, 5)
	for _, tc := range []struct {
		name string
		opt  EquityOptions
	}{
		{"confidence 1", EquityOptions{Confidence: 1}},
		{"confidence negative", EquityOptions{Confidence: -0.5}},
		{"confidence NaN", EquityOptions{Confidence: math.NaN()}},
		{"named without values", EquityOptions{Reference: Reference{Kind: ReferenceNamed}}},
		{"unknown kind", EquityOptions{Reference: Reference{Kind: 9}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Disparities(Counts{Denominator: 10, Numerator: 5}, s, tc.opt)
			assert.True(t, errors.Is(err, ErrEquityOptions), "%v", err)
		})
	}
	_, err := Disparities(Counts{Denominator: 5, Numerator: 5}, s, EquityOptions{Reference: Reference{Kind: ReferenceOverall}})
	assert.True(t, errors.Is(err, ErrEquityOptions), "a stratum larger than its total: %v", err)
	var k ReferenceKind
	require.NoError(t, k.UnmarshalText([]byte("best")))
	assert.Equal(t, ReferenceBest, k)
	assert.Error(t, k.UnmarshalText([]byte("worst")))
}

func TestReportEquity(t *testing.T) {
	r := &Report{Measures: []MeasureResult{{ID: "m", Groups: []Group{{
		ID: "g", Counts: Counts{Denominator: 300, Numerator: 150},
		Stratifiers: []Stratifier{
			*strat("race", "white", 200, 120, "black", 100, 30),
			*strat("sex", "F", 160, 90, "M", 140, 60),
		},
	}}}}}
	r.Finalize()
	e, err := r.Equity(EquityOptions{ByStratifier: map[string]Reference{"race": {Kind: ReferenceNamed, Values: []string{"black"}}}})
	require.NoError(t, err)
	require.Len(t, e.Measures, 1)
	g := e.Measures[0].Groups[0]
	require.Len(t, g.Stratifiers, 2)
	assert.Equal(t, "race", g.Stratifiers[0].Stratifier)
	assert.Equal(t, []string{"black"}, g.Stratifiers[0].ReferenceValues)
	assert.Equal(t, []string{"F"}, g.Stratifiers[1].ReferenceValues, "largest by default")
	assert.Empty(t, e.Warnings)
	assert.Equal(t, 0.95, e.Confidence)

	e, err = r.Equity(EquityOptions{Reference: Reference{Kind: ReferenceNamed, Values: []string{"white"}}})
	require.NoError(t, err)
	require.Len(t, e.Warnings, 1, "sex has no stratum white")
	assert.Equal(t, "equity-no-reference", e.Warnings[0].Code)
	assert.Contains(t, e.Warnings[0].Message, "stratifier sex")

	_, err = r.Equity(EquityOptions{Confidence: 2})
	assert.ErrorIs(t, err, ErrEquityOptions)
}
