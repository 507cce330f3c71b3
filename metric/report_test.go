package metric

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewMembershipNesting(t *testing.T) {
	for _, tc := range []struct {
		name                         string
		ip, den, excl, numer, except bool
		want                         [5]int
	}{
		{"outside the initial population", false, true, true, true, true, [5]int{}},
		{"not in denominator", true, false, true, true, true, [5]int{1, 0, 0, 0, 0}},
		{"excluded, numerator met", true, true, true, true, false, [5]int{1, 1, 1, 0, 0}},
		{"numerator wins over exception", true, true, false, true, true, [5]int{1, 1, 0, 0, 1}},
		{"exception", true, true, false, false, true, [5]int{1, 1, 0, 1, 0}},
		{"denominator only", true, true, false, false, false, [5]int{1, 1, 0, 0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, NewMembership(tc.ip, tc.den, tc.excl, tc.numer, tc.except).Flags())
		})
	}
}

func TestRate(t *testing.T) {
	assert.Equal(t, Rate{}, Counts{Denominator: 2, DenominatorExclusion: 1, DenominatorException: 1}.Rate())
	r := Counts{Denominator: 10, DenominatorExclusion: 2, Numerator: 4}.Rate()
	assert.Equal(t, Rate{Value: 0.5, Defined: true}, r)
	assert.Equal(t, "0.500000", r.String())
	b, err := json.Marshal(struct{ A, B Rate }{r, Rate{}})
	require.NoError(t, err)
	assert.JSONEq(t, `{"A":0.500000,"B":null}`, string(b))
}

func TestPopulationText(t *testing.T) {
	for _, p := range Populations {
		b, err := p.MarshalText()
		require.NoError(t, err)
		var q Population
		require.NoError(t, q.UnmarshalText(b))
		assert.Equal(t, p, q)
	}
	p, ok := ParsePopulation("denominator_exclusions")
	assert.True(t, ok)
	assert.Equal(t, DenominatorExclusion, p)
}

func shard(ip, den, num int64, strata map[string][3]int64) *Report {
	g := Group{ID: "g", Counts: Counts{InitialPopulation: ip, Denominator: den, Numerator: num}}
	st := Stratifier{ID: "sex"}
	for k, v := range strata {
		st.Strata = append(st.Strata, Stratum{Values: []string{k}, Counts: Counts{InitialPopulation: v[0], Denominator: v[1], Numerator: v[2]}})
	}
	g.Stratifiers = []Stratifier{st}
	r := &Report{Measures: []MeasureResult{{ID: "m", Scoring: "proportion", Groups: []Group{g}}}}
	r.Finalize()
	return r
}

func TestMergeEqualsWhole(t *testing.T) {
	a := shard(3, 3, 1, map[string][3]int64{"F": {2, 2, 1}, "M": {1, 1, 0}})
	b := shard(2, 2, 2, map[string][3]int64{"X": {1, 1, 1}, "F": {1, 1, 1}})
	whole := shard(5, 5, 3, map[string][3]int64{"F": {3, 3, 2}, "M": {1, 1, 0}, "X": {1, 1, 1}})
	for _, order := range [][]*Report{{a, b}, {b, a}} {
		got := &Report{}
		for _, s := range order {
			require.NoError(t, got.Merge(s))
		}
		var x, y bytes.Buffer
		require.NoError(t, json.NewEncoder(&x).Encode(got))
		require.NoError(t, json.NewEncoder(&y).Encode(whole))
		assert.Equal(t, y.String(), x.String())
	}
	other := shard(1, 1, 1, nil)
	other.Measures[0].ID = "n"
	assert.Error(t, a.Merge(other))
}

func TestWriteRatesCSV(t *testing.T) {
	r := shard(5, 4, 2, map[string][3]int64{"F": {3, 3, 2}, "M": {2, 1, 0}})
	r.Measures[0].Groups[0].Stratifiers[0].Strata = append(r.Measures[0].Groups[0].Stratifiers[0].Strata, Stratum{Values: []string{"U"}, Counts: Counts{InitialPopulation: 1}})
	var buf bytes.Buffer
	require.NoError(t, r.WriteRatesCSV(&buf))
	assert.Equal(t, `measure,group,stratifier,stratum,initial_population,denominator,denominator_exclusions,denominator_exceptions,numerator,rate
m,g,,,5,4,0,0,2,0.500000
m,g,sex,F,3,3,0,0,2,0.666667
m,g,sex,M,2,1,0,0,0,0.000000
m,g,sex,U,1,0,0,0,0,
`, buf.String())
}
