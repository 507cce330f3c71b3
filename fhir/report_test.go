package fhir_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caremetrics/caremetrics/dsl"
	"github.com/caremetrics/caremetrics/eval"
	"github.com/caremetrics/caremetrics/fhir"
	"github.com/caremetrics/caremetrics/fhir/fhirtest"
	"github.com/caremetrics/caremetrics/measures"
	"github.com/caremetrics/caremetrics/metric"
)

var update = flag.Bool("update", false, "rewrite golden files")

// evaluate runs the measures of dir over the data of dataDir with member
// detail.
func evaluate(t *testing.T, dataDir string, ms []*dsl.Measure) *eval.Result {
	t.Helper()
	ctx := context.Background()
	data, err := eval.LoadDir(ctx, dataDir)
	require.NoError(t, err)
	res, err := eval.Evaluate(ctx, data, ms, eval.WithMemberDetail(), eval.WithWorkers(2))
	require.NoError(t, err)
	return res
}

func smallCohort(t *testing.T) (*eval.Result, []*dsl.Measure) {
	t.Helper()
	ms, err := measures.LoadDir(filepath.Join("testdata", "measures"), nil)
	require.NoError(t, err)
	return evaluate(t, filepath.Join("testdata", "cohort"), ms), ms
}

func encode(t *testing.T, r *fhir.MeasureReport) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, r.WriteJSON(&b))
	return b.Bytes()
}

// TestGolden writes the small cohort's reports (a proportion measure with
// exceptions, a cross stratifier and an undefined rate; a ratio measure;
// an episode measure), summary and subject-list, compares them with the
// golden files and validates every golden file against R4.
func TestGolden(t *testing.T) {
	res, ms := smallCohort(t)
	subjects, err := fhir.NewSubjects(res, ms)
	require.NoError(t, err)
	date := time.Date(2026, 1, 15, 9, 30, 0, 0, time.FixedZone("PST", -8*3600))
	for _, tc := range []struct {
		name string
		opts []fhir.Option
	}{
		{"summary", []fhir.Option{fhir.WithDate(date)}},
		{"subject-list", []fhir.Option{fhir.WithSubjects(subjects), fhir.WithMeasureBase("https://measures.example.org/fhir/Measure/"),
			fhir.WithReporter(fhir.Reference{Reference: "Organization/cco-1", Display: "Example CCO"})}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reports, err := fhir.FromReport(res.Report, tc.opts...)
			require.NoError(t, err)
			require.Len(t, reports, len(ms))
			for _, r := range reports {
				got := encode(t, r)
				path := filepath.Join("testdata", "golden", tc.name+"-"+r.ID+".json")
				if *update {
					require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
					require.NoError(t, os.WriteFile(path, got, 0o644))
				}
				want, err := os.ReadFile(path)
				require.NoError(t, err, "run go test ./fhir -update")
				assert.Equal(t, string(want), string(got), path)
				assert.NoError(t, fhirtest.Validate(want), path)
			}
		})
	}
}

// TestGoldenContent spells out what the goldens must say, so that a
// rewritten golden cannot silently change it.
func TestGoldenContent(t *testing.T) {
	res, ms := smallCohort(t)
	subjects, err := fhir.NewSubjects(res, ms)
	require.NoError(t, err)
	reports, err := fhir.FromReport(res.Report, fhir.WithSubjects(subjects))
	require.NoError(t, err)
	byID := map[string]*fhir.MeasureReport{}
	for _, r := range reports {
		byID[r.ID] = r
	}

	visits := byID["visits"]
	require.NotNil(t, visits)
	assert.Equal(t, "https://caremetrics.example/Measure/visits|1.0", visits.Measure)
	assert.Equal(t, "subject-list", visits.Type)
	assert.Empty(t, visits.Date, "no date unless given")
	assert.Equal(t, fhir.Period{Start: "2025-01-01", End: "2025-12-31"}, visits.Period)
	assert.Equal(t, "increase", visits.ImprovementNotation.Coding[0].Code)
	assert.Contains(t, visits.Text.Div, "Adults with an office visit &amp; a reason")
	visit := visits.Group[0]
	assert.Equal(t, "visit", visit.ID)
	assert.Equal(t, "Office visit", visit.Code.Text)
	// m01, m02, m03, m04, m06, m08, m_07 are adults; m06 is not
	// continuously enrolled; m04 died (excluded); m03 has a reason and no
	// visit (exception); m08 has no visit.
	assert.Equal(t, []int64{7, 6, 1, 1, 3}, counts(visit.Population))
	require.NotNil(t, visit.MeasureScore)
	assert.Equal(t, "0.75", visit.MeasureScore.Value.String())
	assert.Equal(t, []string{"Patient/m01", "Patient/m02", "identifier m_07"}, listed(t, visits, visit.Population[4]),
		"in member id order; an id FHIR does not allow is referenced by identifier")
	assert.Equal(t, fhir.Reference{Type: "Patient", Identifier: &fhir.Identifier{Value: "m_07"}}, contained(t, visits, visit.Population[4])[2].Item)

	cross := stratifier(t, visit, "sex_x_language")
	require.NotEmpty(t, cross.Stratum)
	for _, s := range cross.Stratum {
		assert.Nil(t, s.Value)
		require.Len(t, s.Component, 2)
		assert.Equal(t, "sex", s.Component[0].Code.Text)
		assert.Equal(t, "language", s.Component[1].Code.Text)
	}
	x := stratum(t, stratifier(t, visit, "sex"), "X")
	assert.Equal(t, []int64{1, 0, 0, 0, 0}, counts(x.Population))
	assert.Nil(t, x.MeasureScore, "an undefined rate has no score, never 0")
	race := stratifier(t, visit, "race")
	white := stratum(t, race, "white")
	assert.Equal(t, []string{"Patient/m01", "Patient/m02", "Patient/m04", "identifier m_07"}, listed(t, visits, white.Population[1]), "alone or in combination")

	deceased := visits.Group[1]
	assert.Equal(t, "deceased", deceased.Code.Text, "the id when there is no title")
	assert.Equal(t, []int64{1, 1, 1, 0, 0}, counts(deceased.Population))
	assert.Nil(t, deceased.MeasureScore)

	rate := byID["visit-rate"]
	require.NotNil(t, rate)
	assert.Equal(t, "ratio", rate.Extension[0].ValueCodeableConcept.Coding[0].Code)
	assert.Equal(t, "decrease", rate.ImprovementNotation.Coding[0].Code)
	total := rate.Group[0]
	var codes []string
	for _, p := range total.Population {
		codes = append(codes, p.Code.Coding[0].Code)
	}
	assert.Equal(t, []string{"initial-population", "denominator", "denominator-exclusion", "numerator"}, codes, "ratio measures have no exceptions")
	require.NotNil(t, total.MeasureScore)
	assert.Equal(t, "per 1000", total.MeasureScore.Unit)
	g := res.Report.Measure("visit_rate").Groups[0]
	assert.Equal(t, []int64{g.InitialPopulation, g.Denominator, g.DenominatorExclusion, g.Numerator}, counts(total.Population))
	assert.Equal(t, g.Rate.Value, float(t, total.MeasureScore.Value))
	assert.Contains(t, rate.Text.Div, "sums of each member's values")

	follow := byID["followup"]
	require.NotNil(t, follow)
	assert.Contains(t, follow.Text.Div, "counts are episodes")
	within := follow.Group[0]
	// Visits of m01 (2), m02, m04, m06, m_07; m01's first and m_07's are
	// followed by a reason within 30 days.
	assert.Equal(t, []int64{6, 6, 0, 0, 2}, counts(within.Population))
	assert.Equal(t, []string{"Patient/m01", "Patient/m02", "Patient/m04", "Patient/m06"}, listed(t, follow, within.Population[0])[:4], "members, not episodes")
	for _, st := range within.Stratifier {
		for _, s := range st.Stratum {
			for _, p := range s.Population {
				assert.Nil(t, p.SubjectResults, "no stratum subject lists for an episode measure")
			}
		}
	}
}

func counts(ps []fhir.Population) []int64 {
	out := make([]int64, len(ps))
	for i, p := range ps {
		out[i] = p.Count
	}
	return out
}

func contained(t *testing.T, r *fhir.MeasureReport, p fhir.Population) []fhir.ListEntry {
	t.Helper()
	require.NotNil(t, p.SubjectResults)
	for _, l := range r.Contained {
		if "#"+l.ID == p.SubjectResults.Reference {
			return l.Entry
		}
	}
	t.Fatalf("no contained list %s", p.SubjectResults.Reference)
	return nil
}

func listed(t *testing.T, r *fhir.MeasureReport, p fhir.Population) []string {
	t.Helper()
	var out []string
	for _, e := range contained(t, r, p) {
		if e.Item.Identifier != nil {
			out = append(out, "identifier "+e.Item.Identifier.Value)
		} else {
			out = append(out, e.Item.Reference)
		}
	}
	return out
}

func stratifier(t *testing.T, g fhir.Group, id string) fhir.Stratifier {
	t.Helper()
	for _, s := range g.Stratifier {
		if s.Code[0].Text == id {
			return s
		}
	}
	t.Fatalf("no stratifier %s", id)
	return fhir.Stratifier{}
}

func stratum(t *testing.T, st fhir.Stratifier, value string) fhir.Stratum {
	t.Helper()
	for _, s := range st.Stratum {
		if s.Value != nil && s.Value.Text == value {
			return s
		}
	}
	t.Fatalf("no stratum %s", value)
	return fhir.Stratum{}
}

func float(t *testing.T, n json.Number) float64 {
	t.Helper()
	f, err := n.Float64()
	require.NoError(t, err)
	return f
}

// TestShippedMeasuresOnSample validates the summary and subject-list
// reports of every shipped measure on the sample cohort, and checks that
// they carry the report's counts and that each member-basis subject list
// has exactly as many members as its count.
func TestShippedMeasuresOnSample(t *testing.T) {
	ms, err := measures.Load(nil)
	require.NoError(t, err)
	res := evaluate(t, filepath.Join("..", "testdata", "sample"), ms)
	subjects, err := fhir.NewSubjects(res, ms)
	require.NoError(t, err)
	for _, withSubjects := range []bool{false, true} {
		var opts []fhir.Option
		if withSubjects {
			opts = append(opts, fhir.WithSubjects(subjects))
		}
		reports, err := fhir.FromReport(res.Report, opts...)
		require.NoError(t, err)
		require.Len(t, reports, len(res.Report.Measures))
		for i, r := range reports {
			m := &res.Report.Measures[i]
			doc := encode(t, r)
			require.NoError(t, fhirtest.Validate(doc), "%s subjects=%v", m.ID, withSubjects)
			var back fhir.MeasureReport
			require.NoError(t, json.Unmarshal(doc, &back))
			assert.Equal(t, *r, back, "round trip")
			require.Len(t, r.Group, len(m.Groups))
			for gi, g := range m.Groups {
				checkCounts(t, r, m, g.Counts, g.Rate, r.Group[gi].Population, r.Group[gi].MeasureScore, withSubjects)
				require.Len(t, r.Group[gi].Stratifier, len(g.Stratifiers))
				for si, st := range g.Stratifiers {
					require.Len(t, r.Group[gi].Stratifier[si].Stratum, len(st.Strata))
					for ki, s := range st.Strata {
						fs := r.Group[gi].Stratifier[si].Stratum[ki]
						checkCounts(t, r, m, s.Counts, s.Rate, fs.Population, fs.MeasureScore, withSubjects)
					}
				}
			}
		}
	}
}

func checkCounts(t *testing.T, r *fhir.MeasureReport, m *metric.MeasureResult, c metric.Counts, rate metric.Rate, ps []fhir.Population, score *fhir.Quantity, withSubjects bool) {
	t.Helper()
	for _, p := range ps {
		pop, ok := metric.ParsePopulation(p.Code.Coding[0].Code)
		require.True(t, ok)
		assert.Equal(t, c.Get(pop), p.Count, "%s %s", m.ID, pop)
		if !withSubjects || m.Basis == "episode" || m.Scoring == "ratio" {
			continue
		}
		if p.Count == 0 {
			assert.Nil(t, p.SubjectResults)
		} else {
			assert.Len(t, contained(t, r, p), int(p.Count), "%s %s: one member per count", m.ID, pop)
		}
	}
	if !rate.Defined {
		assert.Nil(t, score, m.ID)
		return
	}
	require.NotNil(t, score, m.ID)
	assert.Equal(t, rate.Value, float(t, score.Value), m.ID)
}

func TestNewErrors(t *testing.T) {
	good := func() *metric.MeasureResult {
		return &metric.MeasureResult{ID: "m", Scoring: "proportion", Period: metric.CalendarYear(2025), Groups: []metric.Group{{ID: "g"}}}
	}
	for _, tc := range []struct {
		name   string
		change func(m *metric.MeasureResult)
		opts   []fhir.Option
		want   string
	}{
		{"scoring", func(m *metric.MeasureResult) { m.Scoring = "cohort" }, nil, `fhir: measure "m": unknown scoring "cohort"`},
		{"basis", func(m *metric.MeasureResult) { m.Basis = "encounter" }, nil, `fhir: measure "m": unknown basis "encounter"`},
		{"improvement", func(m *metric.MeasureResult) { m.Improvement = "up" }, nil, `fhir: measure "m": unknown improvement notation "up"`},
		{"count", func(m *metric.MeasureResult) { m.Groups[0].Denominator = 1 << 31 }, nil, `fhir: measure "m": group "g": denominator count 2147483648 is not a FHIR integer`},
		{"stratum", func(m *metric.MeasureResult) {
			m.Groups[0].Stratifiers = []metric.Stratifier{{ID: "x", Components: []string{"a", "b"}, Strata: []metric.Stratum{{Values: []string{"1"}}}}}
		}, nil, `fhir: measure "m": group "g": stratifier "x": stratum "1" has 1 values for 2 components`},
		{"subjects", func(*metric.MeasureResult) {}, []fhir.Option{fhir.WithSubjects(&fhir.Subjects{})}, `fhir: measure "m": the subjects hold no member detail for it`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := good()
			tc.change(m)
			_, err := fhir.New(m, tc.opts...)
			require.Error(t, err)
			assert.Equal(t, tc.want, err.Error())
		})
	}
	_, err := fhir.New(good())
	assert.NoError(t, err)
}

func TestNewSubjectsNeedsDetail(t *testing.T) {
	ms, err := measures.LoadDir(filepath.Join("testdata", "measures"), []string{"visits"})
	require.NoError(t, err)
	ctx := context.Background()
	data, err := eval.LoadDir(ctx, filepath.Join("testdata", "cohort"))
	require.NoError(t, err)
	res, err := eval.Evaluate(ctx, data, ms)
	require.NoError(t, err)
	_, err = fhir.NewSubjects(res, ms)
	assert.ErrorIs(t, err, fhir.ErrNoMemberDetail)
}

func TestMeasureURL(t *testing.T) {
	for _, tc := range []struct{ base, id, version, want string }{
		{fhir.DefaultMeasureBase, "cis", "2025.1", "https://caremetrics.example/Measure/cis|2025.1"},
		{"https://x.example/fhir/Measure/", "dental", "", "https://x.example/fhir/Measure/dental"},
		{"urn:x", "a b", "1", "urn:x/a%20b|1"},
	} {
		assert.Equal(t, tc.want, fhir.MeasureURL(tc.base, tc.id, tc.version))
	}
}

func TestPatientReference(t *testing.T) {
	for _, tc := range []struct {
		id   string
		want fhir.Reference
	}{
		{"M0000001", fhir.Reference{Reference: "Patient/M0000001"}},
		{"a.b-c", fhir.Reference{Reference: "Patient/a.b-c"}},
		{"m_07", fhir.Reference{Type: "Patient", Identifier: &fhir.Identifier{Value: "m_07"}}},
		{strings.Repeat("x", 65), fhir.Reference{Type: "Patient", Identifier: &fhir.Identifier{Value: strings.Repeat("x", 65)}}},
	} {
		assert.Equal(t, tc.want, fhir.PatientReference(tc.id), tc.id)
	}
}

// TestReportIDsAndValues checks ids made valid and empty stratum values,
// through the schema.
func TestReportIDsAndValues(t *testing.T) {
	m := &metric.Report{Measures: []metric.MeasureResult{{
		ID: "my_measure/2", Scoring: "proportion", Period: metric.CalendarYear(2025),
		Groups: []metric.Group{{ID: "all", Counts: metric.Counts{InitialPopulation: 2, Denominator: 2, Numerator: 1},
			Stratifiers: []metric.Stratifier{{ID: "county", Strata: []metric.Stratum{
				{Values: []string{""}, Counts: metric.Counts{InitialPopulation: 1, Denominator: 1}},
				{Values: []string{"Polk"}, Counts: metric.Counts{InitialPopulation: 1, Denominator: 1, Numerator: 1}},
			}}}}},
	}}}
	m.Finalize()
	r, err := fhir.New(&m.Measures[0])
	require.NoError(t, err)
	assert.Equal(t, "my-measure-2", r.ID)
	assert.Equal(t, "https://caremetrics.example/Measure/my_measure%2F2", r.Measure)
	assert.Equal(t, "(empty)", r.Group[0].Stratifier[0].Stratum[0].Value.Text)
	assert.Equal(t, "0", r.Group[0].Stratifier[0].Stratum[0].MeasureScore.Value.String(), "a defined rate of 0 is written")
	assert.NoError(t, fhirtest.Validate(encode(t, r)))
}

// TestValidatorRejects makes sure the validation is not vacuous.
func TestValidatorRejects(t *testing.T) {
	res, ms := smallCohort(t)
	subjects, err := fhir.NewSubjects(res, ms)
	require.NoError(t, err)
	r, err := fhir.New(res.Report.Measure("visits"), fhir.WithSubjects(subjects))
	require.NoError(t, err)
	for _, tc := range []struct {
		name   string
		change func(r *fhir.MeasureReport)
		want   string
	}{
		{"status", func(r *fhir.MeasureReport) { r.Status = "done" }, "at '/status': value must be one of"},
		{"date", func(r *fhir.MeasureReport) { r.Date = "2025-13-01" }, "R4 JSON schema"},
		{"period", func(r *fhir.MeasureReport) { r.Period.Start = "2025/01/01" }, "R4 JSON schema"},
		{"id", func(r *fhir.MeasureReport) { r.ID = "a_b" }, "R4 JSON schema"},
		{"resource", func(r *fhir.MeasureReport) { r.ResourceType = "Measure" }, "R4 JSON schema"},
		{"mrp-2", func(r *fhir.MeasureReport) {
			s := &r.Group[0].Stratifier[0].Stratum[0]
			s.Component = []fhir.Component{{Code: fhir.CodeableConcept{Text: "a"}, Value: fhir.CodeableConcept{Text: "b"}}}
		}, "mrp-2"},
		{"dangling", func(r *fhir.MeasureReport) { r.Group[0].Population[0].SubjectResults.Reference = "#nope" }, "reference #nope: no contained resource"},
		{"dom-3", func(r *fhir.MeasureReport) {
			r.Contained = append(r.Contained, &fhir.List{ResourceType: "List", ID: "extra", Status: "current", Mode: "snapshot"})
		}, "dom-3"},
		{"list mode", func(r *fhir.MeasureReport) { r.Contained[0].Mode = "" }, "at '/contained/0/mode'"},
		{"narrative", func(r *fhir.MeasureReport) { r.Text.Div += "<p>" }, "MeasureReport.text.div"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c fhir.MeasureReport
			require.NoError(t, json.Unmarshal(encode(t, r), &c))
			tc.change(&c)
			err := fhirtest.Validate(encode(t, &c))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	// Required elements the JSON schema leaves optional (a primitive may
	// be replaced by its _element).
	for _, tc := range []struct {
		name string
		drop func(doc map[string]any)
		want string
	}{
		{"status", func(doc map[string]any) { delete(doc, "status") }, "MeasureReport.status: required"},
		{"list status", func(doc map[string]any) { delete(doc["contained"].([]any)[0].(map[string]any), "status") }, "MeasureReport.contained[0].status: required"},
	} {
		t.Run("missing "+tc.name, func(t *testing.T) {
			var doc map[string]any
			require.NoError(t, json.Unmarshal(encode(t, r), &doc))
			tc.drop(doc)
			b, err := json.Marshal(doc)
			require.NoError(t, err)
			err = fhirtest.Validate(b)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
