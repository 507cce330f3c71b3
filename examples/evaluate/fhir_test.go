package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caremetrics/caremetrics/fhir"
	"github.com/caremetrics/caremetrics/fhir/fhirtest"
	"github.com/caremetrics/caremetrics/metric"
)

// TestFHIR runs the command with -fhir and -fhir-subjects on the sample
// cohort and checks that every measure's MeasureReport is written, valid
// R4, and carries the counts of report.json.
func TestFHIR(t *testing.T) {
	sample := filepath.Join("..", "..", "testdata", "sample")
	for _, tc := range []struct {
		name     string
		fhir     fhirFlags
		wantType string
	}{
		{"summary", fhirFlags{on: true}, "summary"},
		{"subject-list", fhirFlags{on: true, subjects: true, base: "https://measures.example.org/Measure"}, "subject-list"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			require.NoError(t, run(context.Background(), runConfig{data: sample, out: out, list: "all", race: "combination", quiet: true, fhir: tc.fhir}))
			raw, err := os.ReadFile(filepath.Join(out, "report.json"))
			require.NoError(t, err)
			var rep metric.Report
			require.NoError(t, json.Unmarshal(raw, &rep))
			require.NotEmpty(t, rep.Measures)
			for _, m := range rep.Measures {
				doc, err := os.ReadFile(filepath.Join(out, "measurereport-"+m.ID+".json"))
				require.NoError(t, err, m.ID)
				require.NoError(t, fhirtest.Validate(doc), m.ID)
				var r fhir.MeasureReport
				require.NoError(t, json.Unmarshal(doc, &r))
				assert.Equal(t, tc.wantType, r.Type, m.ID)
				base := tc.fhir.base
				if base == "" {
					base = fhir.DefaultMeasureBase
				}
				assert.Equal(t, fhir.MeasureURL(base, m.ID, m.Version), r.Measure)
				assert.Empty(t, r.Date, "no date unless given")
				require.Len(t, r.Group, len(m.Groups), m.ID)
				for gi, g := range m.Groups {
					for _, p := range r.Group[gi].Population {
						pop, ok := metric.ParsePopulation(p.Code.Coding[0].Code)
						require.True(t, ok)
						assert.Equal(t, g.Get(pop), p.Count, "%s %s %s", m.ID, g.ID, pop)
					}
				}
				if m.Groups[0].InitialPopulation > 0 {
					assert.Equal(t, tc.fhir.subjects, len(r.Contained) > 0, m.ID)
				}
			}
			left, _ := filepath.Glob(filepath.Join(out, ".*.tmp"))
			assert.Empty(t, left, "temporary files left behind")
		})
	}
}
