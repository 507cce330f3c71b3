package dsl

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gateMeasure is a measure with the given groups over defines that make
// members differ: the fixture has one visit day in 2025 and medical
// coverage from Jan 1 to Jun 30 and Aug 15 to Dec 31.
func gateMeasure(scoring, groups string) string {
	return fmt.Sprintf(`id: t
title: T
scoring: %s
period: {start: 2025-01-01, end: 2025-12-31}
valuesets: [vs.yaml]
define:
  visits: countDates(between(events("Visit"), period_start, period_end))
  covered: enrolled(period_start, period_end, "medical", 1, 45)
  female: sex == "F"
  visited: visits > 0
  months: memberMonths(period_start, period_end, "medical", 15)
  broken: 1 %% (visits - 1) == 0
groups:
%s`, scoring, groups)
}

// TestPopulationGate checks which measures skip their groups on a shared
// first conjunct, and that skipping never changes a population, a ratio
// value or an error.
func TestPopulationGate(t *testing.T) {
	cases := []struct {
		name    string
		scoring string
		groups  string
		gated   bool
	}{
		{"shared name", "proportion", `
  a: {initial_population: covered, denominator: "true", numerator: visited}
  b: {initial_population: covered && female, denominator: "true", numerator: "true"}
`, true},
		{"shared name in a longer chain", "proportion", `
  a: {initial_population: covered && female && visited, denominator: "true", numerator: "true"}
  b: {initial_population: covered and visited, denominator: "true", numerator: female}
`, true},
		{"one group", "proportion", `
  a: {initial_population: female && covered, denominator: "true", numerator: visited}
`, true},
		{"different names", "proportion", `
  a: {initial_population: covered, denominator: "true", numerator: visited}
  b: {initial_population: female && covered, denominator: "true", numerator: "true"}
`, false},
		{"first conjunct not a name", "proportion", `
  a: {initial_population: visits > 0 && covered, denominator: "true", numerator: "true"}
  b: {initial_population: visits > 0 && covered, denominator: "true", numerator: "true"}
`, false},
		{"or", "proportion", `
  a: {initial_population: covered || female, denominator: "true", numerator: "true"}
`, false},
		{"negation", "proportion", `
  a: {initial_population: not covered && female, denominator: "true", numerator: "true"}
`, false},
		{"literal", "proportion", `
  a: {initial_population: "true", denominator: covered, numerator: visited}
`, false},
		{"ratio", "ratio", `
  a: {initial_population: covered && months > 0, denominator: months, numerator: visits}
  b: {initial_population: covered, denominator: months, denominator_exclusions: female, numerator: visits}
`, true},
		{"gate fails at run time", "proportion", `
  a: {initial_population: broken && covered, denominator: "true", numerator: "true"}
  b: {initial_population: broken, denominator: "true", numerator: "true"}
`, true},
	}
	members := map[string]func(*fixture){
		"covered": func(*fixture) {},
		"uncovered": func(f *fixture) {
			f.spans = []Span{{Start: d("2025-03-16"), End: d("2025-04-14"), Benefits: Medical}}
		},
		"male, no visits": func(f *fixture) {
			f.member.Sex = "M"
			f.events = f.events[:5]
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := []byte(gateMeasure(tc.scoring, tc.groups))
			gated, err := Compile("t.yaml", src, testFS())
			require.NoError(t, err)
			assert.Equal(t, tc.gated, gated.gate != nil, "gate")
			plain, err := Compile("t.yaml", src, testFS())
			require.NoError(t, err)
			plain.gate = nil
			for name, edit := range members {
				f := newFixture()
				edit(f)
				rg, errG := runFixture(t, gated, f)
				rp, errP := runFixture(t, plain, f)
				if errP != nil {
					require.Error(t, errG, name)
					assert.Equal(t, errP.Error(), errG.Error(), name)
					continue
				}
				require.NoError(t, errG, name)
				assert.Equal(t, rp.Memberships, rg.Memberships, name)
				assert.Equal(t, rp.Ratios, rg.Ratios, name)
			}
		})
	}
}

// TestPopulationGateClearsPreviousMember checks that a member outside the
// gate does not keep the populations of the member run before it.
func TestPopulationGateClearsPreviousMember(t *testing.T) {
	m, err := Compile("t.yaml", []byte(gateMeasure("ratio", `
  a: {initial_population: covered, denominator: months, numerator: visits}
`)), testFS())
	require.NoError(t, err)
	require.NotNil(t, m.gate)
	in := newFixture()
	out := newFixture()
	out.spans = nil
	r := fixtureRunner(t, m, in)
	require.NoError(t, r.Run(m.Period(), 0, &in.member, in.events, in.spans))
	require.NotZero(t, r.Memberships[0])
	require.NotZero(t, r.Ratios[0])
	require.NoError(t, r.Run(m.Period(), 0, &out.member, out.events, out.spans))
	assert.Zero(t, r.Memberships[0])
	assert.Zero(t, r.Ratios[0])
}
