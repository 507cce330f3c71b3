package dsl

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRequirements(t *testing.T) {
	src := `id: t
title: T
period: {start: 2025-01-01, end: 2025-12-31}
valuesets: [vs.yaml]
define:
  screened: exists(valueAtLeast(events("PHQ9"), 10))
  visit: exists(sameClaim(events("Visit"), code("ICD10CM", "F32.9")))
groups:
  g: {initial_population: "true", denominator: screened, numerator: visit}
`
	m := compileTest(t, src)
	r := m.Requirements()
	assert.Equal(t, ColumnValue|ColumnClaimID, r.Columns)
	assert.Equal(t, [][2]string{{"ICD10CM", "F329"}}, r.Codes)
	assert.Equal(t, []string{"CPT", "ICD10CM", "LOINC"}, r.Systems())
	assert.True(t, r.Needs("CPT", "99213"))
	assert.True(t, r.Needs("ICD10CM", "F329"))
	assert.False(t, r.Needs("CVX", "20"))

	all := RequirementsOf(m, compileTest(t, `id: u
title: U
period: {start: 2025-01-01, end: 2025-12-31}
valuesets: [vs.yaml]
groups:
  g: {initial_population: "true", denominator: "true", numerator: 'exists(during(events("DTaP"), period_start, period_end))'}
`))
	assert.True(t, all.Needs("CVX", "20"))
	assert.Equal(t, ColumnValue|ColumnClaimID|ColumnEndDate, all.Columns)
	ok, _ := all.Covers(r)
	assert.True(t, ok)
	ok, missing := r.Covers(all)
	assert.False(t, ok)
	assert.Equal(t, "value set DTaP", missing)
}

func compileTest(t *testing.T, src string) *Measure {
	t.Helper()
	m, err := Compile("t.yaml", []byte(src), testFS())
	require.NoError(t, err)
	return m
}
