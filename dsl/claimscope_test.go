package dsl

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func measureWith(t *testing.T, defines string) *Measure {
	t.Helper()
	// One set of value sets for every measure, so that their requirements
	// name the same ones.
	m, err := Compile("t.yaml", []byte(`id: t
title: T
period: {start: 2025-01-01, end: 2025-12-31}
valuesets: [vs.yaml]
define:
`+defines+`
groups:
  g: {initial_population: "true", denominator: "true", numerator: n}
`), testFS(), WithValueSets(sharedValueSets...))
	require.NoError(t, err)
	return m
}

var sharedValueSets = func() []*ValueSet {
	vs, err := ParseValueSets("vs.yaml", []byte(testValueSets))
	if err != nil {
		panic(err)
	}
	return vs
}()

// scopesText writes scopes as "Rows on Anchors" lines, each list in the
// order the measure first names its sets.
func scopesText(r Requirements) []string {
	var out []string
	name := func(cs []CodeRef) string {
		var s []string
		for _, c := range cs {
			if c.ValueSet != nil {
				s = append(s, c.ValueSet.Name)
			} else {
				s = append(s, c.Code[0]+":"+c.Code[1])
			}
		}
		return strings.Join(s, ",")
	}
	for _, s := range r.ClaimScopes {
		out = append(out, name(s.Rows)+" on "+name(s.Anchors))
	}
	return out
}

func TestClaimScopes(t *testing.T) {
	for _, tc := range []struct {
		name, defines string
		want          []string
	}{
		{"both sides of sameClaim", `  n: exists(sameClaim(events("Visit"), events("Depression")))`,
			[]string{"Visit on Depression", "Depression on Visit"}},
		{"a set also read whole elsewhere", `  n: exists(sameClaim(events("Visit"), events("Depression"))) && exists(events("Depression"))`,
			[]string{"Visit on Depression"}},
		{"a define's own value is read whole (Explain shows it)", "  dx: events(\"Depression\")\n  n: exists(sameClaim(events(\"Visit\"), dx))",
			[]string{"Visit on Depression"}},
		{"a define passes its narrowed rows on", "  v: sameClaim(events(\"Visit\"), events(\"Depression\"))\n  n: exists(v)",
			[]string{"Visit on Depression", "Depression on Visit"}},
		{"let binds without reading", `  n: let dx = events("Depression"); exists(sameClaim(events("Visit"), dx))`,
			[]string{"Depression on Visit", "Visit on Depression"}},
		{"filters pass rows on", `  n: exists(sameClaim(filter(between(events("Visit"), period_start, period_end), {#.date > period_start}), hasValue(events("Depression"))))`,
			[]string{"Visit on Depression", "Depression on Visit"}},
		{"onePerDay reads its set whole", `  n: exists(sameClaim(onePerDay(events("Visit")), events("Depression")))`,
			[]string{"Depression on Visit"}},
		{"except's second argument matters only where its result does", `  n: exists(sameClaim(except(events("Visit"), events("PHQ9")), events("Depression")))`,
			[]string{"Visit,PHQ9 on Depression", "Depression on Visit,PHQ9"}},
		{"earliest reads its set whole", `  n: exists(sameClaim(events("Visit"), earliest(events("Depression"))))`,
			[]string{"Visit on Depression"}},
		{"withinDays is not a claim", `  n: exists(withinDays(events("Visit"), events("Depression"), 0, 1))`, nil},
		{"an inner scope is kept", `  n: exists(sameClaim(sameClaim(events("Visit"), events("PHQ9")), events("Depression")))`,
			[]string{"Visit on PHQ9", "PHQ9,Depression on Visit"}},
		{"except's second set is read with its scope", `  n: exists(except(events("Visit"), sameClaim(events("Visit"), events("Depression"))))`,
			[]string{"Depression on Visit"}},
		{"both branches of a condition", `  n: 'exists(period_start > 0 ? sameClaim(events("Visit"), code("ICD10CM", "F32.9")) : events("PHQ9"))'`,
			[]string{"Visit on ICD10CM:F329", "ICD10CM:F329 on Visit"}},
		{"counting reads the narrowed rows", `  n: countEvents(sameClaim(events("Visit"), events("Depression"))) > 1`,
			[]string{"Visit on Depression", "Depression on Visit"}},
		{"a union of code sets", `  n: exists(sameClaim(union(events("Visit"), events("PHQ9")), events("Depression")))`,
			[]string{"Visit,PHQ9 on Depression", "Depression on Visit,PHQ9"}},
		{"a predicate's sets are read whole", `  n: any(events("Visit"), {exists(sameClaim(events("Depression"), events("PHQ9")))})`,
			[]string{"Depression on PHQ9", "PHQ9 on Depression"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, scopesText(measureWith(t, tc.defines).Requirements()))
		})
	}
}

func TestClaimScopesMerge(t *testing.T) {
	scoped := measureWith(t, `  n: exists(sameClaim(events("Visit"), events("Depression")))`)
	free := measureWith(t, `  n: exists(events("Depression"))`)
	other := measureWith(t, `  n: exists(sameClaim(events("PHQ9"), events("Depression")))`)

	merged := func(ms ...*Measure) Requirements { return RequirementsOf(ms...) }
	assert.Equal(t, []string{"Visit on Depression", "Depression on Visit"}, scopesText(merged(scoped)))
	assert.Equal(t, []string{"Visit on Depression"}, scopesText(merged(scoped, free)), "read whole by one measure, Depression is needed whole")
	assert.Equal(t, []string{"Visit on Depression"}, scopesText(merged(free, scoped)), "in either order")
	assert.Equal(t, []string{"Visit,PHQ9 on Depression", "Depression on Visit,PHQ9"}, scopesText(merged(scoped, other)))

	r := merged(scoped)
	for _, tc := range []struct {
		system, code string
		want         RowRule
	}{
		{"CPT", "99213", RowRule{On: 1, Anchors: 2, Window: All, Claim: true}},
		{"ICD10CM", "F329", RowRule{On: 2, Anchors: 1, Window: All, Claim: true}},
		{"LOINC", "44261-6", RowRule{Window: All}},
	} {
		assert.Equal(t, tc.want, r.Rule(tc.system, tc.code), tc.code)
	}
	both := merged(scoped, free)
	assert.Equal(t, RowRule{Always: true, Anchors: 1, Window: All, Claim: true}, both.Rule("ICD10CM", "F329"))

	ok, _ := both.Covers(r)
	assert.True(t, ok, "data with every Depression row serves the scoped measure")
	ok, missing := r.Covers(both)
	assert.False(t, ok)
	assert.Equal(t, "the rows of value set Depression outside its claim scope", missing)
}

// TestEmptyProbe checks which Events defines skip their expression for a
// member with no events of the code sets their rows can come from.
func TestEmptyProbe(t *testing.T) {
	for _, tc := range []struct {
		name, define string
		probed       bool
	}{
		{"a filtered code set", `between(events("Visit"), period_start, period_end)`, true},
		{"a union with sameClaim", `union(events("Visit"), sameClaim(events("PHQ9"), events("Depression")))`, true},
		{"both branches of a condition", `'period_start > 0 ? onePerDay(events("Visit")) : code("ICD10CM", "F32.9")'`, true},
		{"except keeps the first argument's rows", `except(events("Visit"), events("PHQ9"))`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := measureWith(t, "  v: "+tc.define+"\n  n: exists(v)")
			i := slices.IndexFunc(m.defines, func(d *define) bool { return d.name == "v" })
			require.GreaterOrEqual(t, i, 0)
			_, ok := (&checker{m: m}).emptyProbe(m.defines[i].fn.rows)
			assert.Equal(t, tc.probed, ok)
		})
	}
	// Rows of unknown origin or of the current episode name no code set.
	_, ok := (&checker{}).emptyProbe([]rowItem{{ref: codeRef{i: 0}}, {ref: unknownRef}})
	assert.False(t, ok)
	_, ok = (&checker{}).emptyProbe([]rowItem{{ref: episodeRef}})
	assert.False(t, ok)
	_, ok = (&checker{}).emptyProbe(nil)
	assert.False(t, ok)
}
