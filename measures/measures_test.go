package measures

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caremetrics/caremetrics/dsl"
	"github.com/caremetrics/caremetrics/metric"
)

func TestShippedMeasuresCompile(t *testing.T) {
	ms, err := Load(nil)
	require.NoError(t, err)
	groups := map[string][]string{
		"cis":    {"dtap", "ipv", "mmr", "hib", "hepb", "vzv", "pcv", "hepa", "rv", "flu", "combo3", "combo7", "combo10"},
		"dental": {"age_1_5", "age_6_14", "total"},
		"dsf":    {"screening", "follow_up"},
		"ima":    {"mening", "tdap", "hpv", "combo1", "combo2"},
		"sbirt":  {"screening", "intervention"},
		"cms117": {"main"},
		"cms2":   {"main"},
		"cms74":  {"main"},

		"ed_util":     {"total"},
		"lang_access": {"total"},
		"sdoh":        {"screening", "referral"},
	}
	require.Len(t, ms, len(groups))
	for _, m := range ms {
		assert.Equal(t, groups[m.ID()], m.GroupIDs(), m.ID())
		assert.Equal(t, metric.Period{Start: metric.MustParseDate("2025-01-01"), End: metric.MustParseDate("2025-12-31")}, m.Period())
		assert.NotEmpty(t, m.Description())
		for _, s := range []string{"race", "ethnicity", "language", "sex", "disability"} {
			assert.Contains(t, m.StratifierIDs(), s, m.ID())
		}
	}
	assert.Equal(t, []string{"cis", "cms117", "cms2", "cms74", "dental", "dsf", "ed_util", "ima", "lang_access", "sbirt", "sdoh"}, IDs())
}

func TestLoadSelects(t *testing.T) {
	ms, err := Load([]string{"dsf"})
	require.NoError(t, err)
	require.Len(t, ms, 1)
	assert.Equal(t, "dsf", ms[0].ID())
	_, err = Load([]string{"cis", "nope"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"nope"`)
	assert.Contains(t, err.Error(), "cis, cms117, cms2, cms74, dental, dsf")
}

func TestLoadDirOwnMeasure(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "visits.yaml"), []byte(`id: visits
title: Any visit
period: {start: 2025-01-01, end: 2025-12-31}
valuesets: [vs.csv]
groups:
  all:
    initial_population: ageOn(period_end) >= 18
    denominator: "true"
    numerator: exists(between(events("Office Visit"), period_start, period_end))
`), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "vs.csv"), []byte("value_set_name,code_system,code\nOffice Visit,CPT,99202-99215\n"), 0o644))
	ms, err := LoadDir(dir, nil)
	require.NoError(t, err)
	require.Len(t, ms, 1)
	assert.Equal(t, "visits", ms[0].ID())
}

// A licensed value-set directory replaces shipped sets of the same name.
func TestValueSetOverride(t *testing.T) {
	sets, err := dsl.ParseValueSets("licensed.csv", []byte("value_set_name,code_system,code\nDental Preventive Services,CDT,D1206\n"))
	require.NoError(t, err)
	ms, err := Load([]string{"dental"}, dsl.WithValueSets(sets...))
	require.NoError(t, err)
	for _, v := range ms[0].ValueSets() {
		if v.Name == "Dental Preventive Services" {
			assert.Equal(t, "licensed.csv", v.Pos.File)
			assert.True(t, v.Contains("CDT", "D1206"))
			assert.False(t, v.Contains("CDT", "D1120"))
			return
		}
	}
	t.Fatal("dental does not use Dental Preventive Services")
}
