package dsl

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// claimsText names the code sets of r.Claims as scopesText does.
func claimsText(r Requirements) []string {
	if r.Claims == nil {
		return nil
	}
	return scopesText(Requirements{ClaimScopes: []ClaimScope{{Rows: r.Claims}}})
}

func TestClaimReads(t *testing.T) {
	for _, tc := range []struct {
		name, defines string
		want          []string
	}{
		{"no claim compared", `  n: exists(events("Visit")) && exists(events("Depression"))`, nil},
		{"both sides of sameClaim", `  n: exists(sameClaim(events("Visit"), events("Depression")))`,
			[]string{"Visit,Depression on "}},
		{"a set read elsewhere is not compared", `  n: exists(events("PHQ9")) && exists(sameClaim(events("Visit"), events("Depression")))`,
			[]string{"Visit,Depression on "}},
		{"except's second argument, conservatively", `  n: exists(sameClaim(except(events("Visit"), events("PHQ9")), events("Depression")))`,
			[]string{"Visit,PHQ9,Depression on "}},
		{"onePerClaim", `  n: countEvents(onePerClaim(union(events("Visit"), events("PHQ9")))) > 1`,
			[]string{"Visit,PHQ9 on "}},
		{"through a define and a filter", "  v: between(events(\"Visit\"), period_start, period_end)\n  n: exists(sameClaim(v, code(\"ICD10CM\", \"F32.9\")))",
			[]string{"Visit,ICD10CM:F329 on "}},
		{"a predicate's sets", `  n: any(events("Visit"), {exists(sameClaim(events("Depression"), events("PHQ9")))})`,
			[]string{"Depression,PHQ9 on "}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := measureWith(t, tc.defines).Requirements()
			assert.Equal(t, tc.want, claimsText(r))
			assert.Equal(t, tc.want != nil, r.Columns&ColumnClaimID != 0)
		})
	}
}

func TestClaimReadsRulesAndMerge(t *testing.T) {
	paired := measureWith(t, `  n: exists(sameClaim(events("Visit"), events("Depression")))`)
	phq := measureWith(t, `  n: exists(events("PHQ9"))`)
	perClaim := measureWith(t, `  n: countEvents(onePerClaim(events("PHQ9"))) > 1`)

	r := RequirementsOf(paired, phq)
	assert.Equal(t, []string{"Visit,Depression on "}, claimsText(r))
	for _, tc := range []struct {
		system, code string
		want         bool
	}{
		{"CPT", "99213", true},      // Visit
		{"ICD10CM", "F329", true},   // Depression
		{"LOINC", "44261-6", false}, // PHQ9: read, but no claim compared
		{"CPT", "00000", false},     // in no set
	} {
		assert.Equal(t, tc.want, r.Rule(tc.system, tc.code).Claim, tc.code)
	}
	assert.Equal(t, []string{"Visit,Depression,PHQ9 on "}, claimsText(RequirementsOf(paired, phq, perClaim)), "merged in the order of the value sets")
	assert.Equal(t, []string{"PHQ9,Visit,Depression on "}, claimsText(RequirementsOf(perClaim, paired)), "in the order of the merged value sets")

	ok, missing := r.Covers(perClaim.Requirements())
	assert.False(t, ok, "PHQ9's rows are loaded, their claim ids not")
	assert.Equal(t, "the claim ids of value set PHQ9", missing)
	both := RequirementsOf(paired, perClaim)
	ok, _ = both.Covers(r)
	assert.True(t, ok)

	// Requirements made by hand with the column and no Claims read every
	// claim id, and so does any merge with them.
	all := Requirements{ValueSets: r.ValueSets, Columns: ColumnClaimID}
	assert.True(t, all.Rule("LOINC", "44261-6").Claim)
	merged := RequirementsOf(paired)
	merged.Add(all)
	assert.Nil(t, merged.Claims)
	assert.True(t, merged.Rule("LOINC", "44261-6").Claim)
	ok, _ = all.Covers(perClaim.Requirements())
	assert.True(t, ok)
	ok, missing = r.Covers(all)
	assert.False(t, ok)
	assert.Equal(t, "the claim ids of value set PHQ9", missing)
}

func TestClaimReadsCoverScopes(t *testing.T) {
	// Claims made by hand without the scoped sets: the scopes still
	// compare claims, so their rows and anchors keep their claim ids.
	r := measureWith(t, `  n: exists(sameClaim(events("Visit"), events("Depression")))`).Requirements()
	r.Claims = []CodeRef{{Code: [2]string{"LOINC", "44261-6"}}}
	assert.True(t, r.Rule("CPT", "99213").Claim, "a scoped set")
	assert.True(t, r.Rule("ICD10CM", "F329").Claim, "an anchor")
	assert.True(t, r.Rule("LOINC", "44261-6").Claim, "listed")
	assert.False(t, r.Rule("CPT", "00000").Claim)
}
