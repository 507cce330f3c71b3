package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caremetrics/caremetrics/dsl"
	"github.com/caremetrics/caremetrics/eval"
	"github.com/caremetrics/caremetrics/eval/conformance"
	"github.com/caremetrics/caremetrics/metric"
)

// TestMembersCSVMatchesExpectations runs the command on a conformance case
// set and checks that members.csv carries exactly the asserted flags.
func TestMembersCSVMatchesExpectations(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "conformance", "cis", "exclusions")
	out := t.TempDir()
	require.NoError(t, run(context.Background(), runConfig{data: dir, out: out, list: "cis", members: true, race: "combination"}))

	f, err := os.Open(filepath.Join(out, "members.csv"))
	require.NoError(t, err)
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	require.Equal(t, []string{"member_id", "measure", "group", "initial_population", "denominator", "denominator_exclusion", "denominator_exception", "numerator"}, rows[0])
	got := map[[3]string][]string{}
	for _, r := range rows[1:] {
		got[[3]string{r[0], r[1], r[2]}] = r[3:]
	}
	want, err := conformance.ReadExpected(filepath.Join(dir, "expected.csv"))
	require.NoError(t, err)
	require.NotEmpty(t, want)
	for _, e := range want {
		flags := []string{"0", "0", "0", "0", "0"}
		if g, ok := got[[3]string{e.MemberID, e.Measure, e.Group}]; ok {
			flags = g
		}
		for i, f := range e.Flags {
			if f >= 0 {
				assert.Equal(t, string(rune('0'+f)), flags[i], "member %s group %s column %d", e.MemberID, e.Group, i)
			}
		}
	}
	for _, name := range []string{"rates.csv", "report.json"} {
		_, err := os.Stat(filepath.Join(out, name))
		assert.NoError(t, err, name)
	}
	left, _ := filepath.Glob(filepath.Join(out, ".*.tmp"))
	assert.Empty(t, left, "temporary files left behind")
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, tc := range []struct {
		cfg  runConfig
		want string
	}{
		{runConfig{out: "x", race: "combination"}, "-data and -out are required (see -h)"},
		{runConfig{data: "x", out: "y", race: "mixed"}, `-race "mixed": want combination or single`},
		{runConfig{data: "x", out: "y", race: "single", year: 20}, "-year 20: want a year between 1900 and 2200"},
		{runConfig{data: filepath.Join("..", "..", "testdata", "sample"), out: t.TempDir(), race: "single", list: "cis,bogus"}, `unknown measure "bogus"`},
	} {
		err := run(context.Background(), tc.cfg)
		require.Error(t, err)
		assert.Contains(t, err.Error(), tc.want)
	}
}

// A user's own measure may stratify by an extra member column (the
// sample's county) and cross it with a shipped-style stratifier.
func TestOwnMeasureWithExtraColumn(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "adult_visits.yaml"), []byte(`id: adult_visits
title: Adults with an office visit
period: {start: 2025-01-01, end: 2025-12-31}
valuesets: [visits.csv]
groups:
  all:
    initial_population: ageOn(period_end) >= 18 && county != ""
    denominator: enrolled(period_start, period_end, "medical", 1, 45)
    numerator: exists(between(events("Office Visit"), period_start, period_end))
stratifiers:
  county: category("county")
  sex: category("sex")
  county_x_sex: {cross: [county, sex]}
`), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "visits.csv"), []byte("value_set_name,code_system,code\nOffice Visit,CPT,99202-99215\n"), 0o644))
	out := t.TempDir()
	require.NoError(t, run(context.Background(), runConfig{data: filepath.Join("..", "..", "testdata", "sample"), out: out, measureDir: dir, race: "combination"}))
	rates, err := os.ReadFile(filepath.Join(out, "rates.csv"))
	require.NoError(t, err)
	assert.Contains(t, string(rates), "adult_visits,all,county,")
	assert.Contains(t, string(rates), "adult_visits,all,county_x_sex,")
}

// TestExplainWritesJSON explains one member of a conformance case set and
// checks the JSON trace against the case's expectation.
func TestExplainWritesJSON(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "conformance", "cis", "exclusions")
	rows := readCSV(t, filepath.Join(dir, "expected.csv"))
	id := rows[4][0] // in hospice: excluded from combo3
	require.Equal(t, []string{"combo3", "1"}, []string{rows[4][2], rows[4][5]})
	out := t.TempDir()
	require.NoError(t, run(context.Background(), runConfig{data: dir, out: out, list: "cis", race: "combination", explain: id}))
	b, err := os.ReadFile(filepath.Join(out, "explain-"+id+".json"))
	require.NoError(t, err)
	var traces []dsl.Trace
	require.NoError(t, json.Unmarshal(b, &traces))
	require.Len(t, traces, 1)
	assert.Equal(t, id, traces[0].Member)
	assert.NotEmpty(t, traces[0].Defines)
	excluded := false
	for _, g := range traces[0].Groups {
		for _, p := range g.Populations {
			if g.ID == "combo3" && p.Population == metric.DenominatorExclusion {
				excluded = p.Counted
			}
		}
	}
	assert.True(t, excluded, "the trace shows the exclusion")

	err = run(context.Background(), runConfig{data: dir, list: "cis", race: "combination", explain: "nobody"})
	assert.ErrorContains(t, err, `no member "nobody"`)
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	return rows
}

// TestGapsFiles writes gaps.csv and gaps.json for a conformance case set
// and checks each status against the case's expected populations.
func TestGapsFiles(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "conformance", "cis", "exclusions")
	out := t.TempDir()
	require.NoError(t, run(context.Background(), runConfig{data: dir, out: out, list: "cis", race: "combination", gaps: true}))
	status := map[[2]string]string{}
	for _, r := range readCSV(t, filepath.Join(out, "gaps.csv"))[1:] {
		status[[2]string{r[0], r[2]}] = r[3]
	}
	checked := 0
	for _, r := range readCSV(t, filepath.Join(dir, "expected.csv"))[1:] {
		want := ""
		switch {
		case r[3] == "0":
			want = "" // outside the initial population: no row
		case r[7] == "1":
			want = "closed"
		case r[5] == "1" || r[6] == "1":
			want = "excluded"
		case r[4] == "1":
			want = "open"
		default:
			want = "not_applicable"
		}
		assert.Equal(t, want, status[[2]string{r[0], r[2]}], "%s %s", r[0], r[2])
		checked++
	}
	assert.Greater(t, checked, 10)
	b, err := os.ReadFile(filepath.Join(out, "gaps.json"))
	require.NoError(t, err)
	var rows []eval.GapRow
	require.NoError(t, json.Unmarshal(b, &rows))
	assert.Len(t, rows, len(status))
}

// TestMembersFormatsAgree writes the member detail as CSV, JSON lines and
// Parquet and checks that the three carry the same rows.
func TestMembersFormatsAgree(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "conformance", "cis", "exclusions")
	out := t.TempDir()
	require.NoError(t, run(context.Background(), runConfig{data: dir, out: out, list: "cis", race: "combination", members: true, membersFormat: "csv,jsonl,parquet"}))
	csvRows := readCSV(t, filepath.Join(out, "members.csv"))[1:]
	key := func(id, measure, group string, counts []int64) string {
		return fmt.Sprint(id, measure, group, counts)
	}
	var want []string
	for _, r := range csvRows {
		var counts []int64
		for _, v := range r[3:8] {
			n, err := strconv.ParseInt(v, 10, 64)
			require.NoError(t, err)
			counts = append(counts, n)
		}
		want = append(want, key(r[0], r[1], r[2], counts))
	}
	require.NotEmpty(t, want)

	b, err := os.ReadFile(filepath.Join(out, "members.jsonl"))
	require.NoError(t, err)
	var fromJSON []string
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		var m struct {
			ID     string        `json:"member_id"`
			Meas   string        `json:"measure"`
			Grp    string        `json:"group"`
			Counts metric.Counts `json:"counts"`
		}
		require.NoError(t, json.Unmarshal(line, &m))
		c := m.Counts
		fromJSON = append(fromJSON, key(m.ID, m.Meas, m.Grp, []int64{c.InitialPopulation, c.Denominator, c.DenominatorExclusion, c.DenominatorException, c.Numerator}))
	}
	assert.Equal(t, want, fromJSON)

	f, err := os.Open(filepath.Join(out, "members.parquet"))
	require.NoError(t, err)
	defer f.Close()
	pf, err := file.NewParquetReader(f)
	require.NoError(t, err)
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	require.NoError(t, err)
	tbl, err := fr.ReadTable(context.Background())
	require.NoError(t, err)
	defer tbl.Release()
	require.Equal(t, len(eval.MemberSchema.Fields()), len(tbl.Schema().Fields()))
	for i, f := range eval.MemberSchema.Fields() {
		got := tbl.Schema().Field(i)
		assert.Equal(t, f.Name, got.Name)
		assert.True(t, arrow.TypeEqual(f.Type, got.Type), "%s: %s, want %s", f.Name, got.Type, f.Type)
	}
	tr := array.NewTableReader(tbl, -1)
	defer tr.Release()
	var fromParquet []string
	for tr.Next() {
		rec := tr.RecordBatch()
		for i := 0; i < int(rec.NumRows()); i++ {
			var counts []int64
			for c := 3; c < 8; c++ {
				counts = append(counts, rec.Column(c).(*array.Int64).Value(i))
			}
			fromParquet = append(fromParquet, key(rec.Column(0).(*array.String).Value(i), rec.Column(1).(*array.String).Value(i), rec.Column(2).(*array.String).Value(i), counts))
		}
	}
	assert.Equal(t, want, fromParquet)

	err = run(context.Background(), runConfig{data: dir, out: out, list: "cis", race: "combination", members: true, membersFormat: "xml"})
	assert.ErrorContains(t, err, `-members-format "xml": want csv, jsonl or parquet`)
}

// TestEquityAndSuppression writes equity and published output for the
// sample cohort and checks that no suppressed stratum's statistics are
// published.
func TestEquityAndSuppression(t *testing.T) {
	out := t.TempDir()
	require.NoError(t, run(context.Background(), runConfig{data: filepath.Join("..", "..", "testdata", "sample"), out: out, list: "cis,dental",
		race: "combination", equity: true, reference: "largest,sex=F", suppress: 11, quiet: true}))
	suppressed := map[string]bool{}
	published := readCSV(t, filepath.Join(out, "published-rates.csv"))
	require.Equal(t, publishedRatesHeader, published[0])
	for _, r := range published[1:] {
		if r[2] != "" && r[7] != "" && (r[4] == "" || r[5] == "") {
			suppressed[strings.Join(r[:4], "/")] = true
		}
	}
	require.NotEmpty(t, suppressed, "the sample has small cells")
	eq := readCSV(t, filepath.Join(out, "equity.csv"))
	require.Equal(t, equityCSVHeader, eq[0])
	references := 0
	for _, r := range eq[1:] {
		assert.False(t, suppressed[strings.Join(r[:4], "/")], "equity of suppressed stratum %v", r[:4])
		if r[2] == "sex" && r[9] == "reference" {
			assert.Equal(t, "F", r[3], "the named reference")
			references++
		}
	}
	assert.Positive(t, references)
	b, err := os.ReadFile(filepath.Join(out, "equity.json"))
	require.NoError(t, err)
	var e struct {
		Suppressed []suppressedStratum `json:"suppressed_strata"`
	}
	require.NoError(t, json.Unmarshal(b, &e))
	assert.Len(t, e.Suppressed, len(suppressed))
}
