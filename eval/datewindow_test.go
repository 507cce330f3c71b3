package eval

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caremetrics/caremetrics/dsl"
	"github.com/caremetrics/caremetrics/metric"
)

// A measure that reads visits only in its period keeps the rows dated on
// the period's first and last days and drops those of the days before and
// after, on every reader; the dropped rows are counted, and a row of an
// unknown member outside the window is one of them rather than a row set
// aside, as a row of a code no measure reads is.
func TestDateWindowsAtTheBoundaries(t *testing.T) {
	m, err := dsl.Compile("w.yaml", []byte(`
id: w
title: Visits in the period
period: {start: 2025-01-01, end: 2025-12-31}
valuesets: [vs.yaml]
define:
  visits: events("Visit")
groups:
  g: {initial_population: "true", denominator: "true", numerator: "exists(between(visits, period_start, period_end))"}
`), fstest.MapFS{"vs.yaml": {Data: []byte(engineValueSets)}})
	require.NoError(t, err)
	req := dsl.RequirementsOf(m)
	require.Len(t, req.Windows, 1)

	const header = "member_id,date,end_date,system,code,value,source,claim_id\n"
	rows := "M1,2024-12-31,,CPT,99213,,,C1\n" + // the day before
		"M1,2025-01-01,,CPT,99213,,,C2\n" + // the first day
		"M1,2025-12-31,,CPT,99214,,,C3\n" + // the last day
		"M1,2026-01-01,,CPT,99213,,,C4\n" + // the day after
		"M2,2025-06-01,,CVX,03,,,\n" + // a code no measure reads
		"X9,2024-06-01,,CPT,99213,,,\n" + // an unknown member, outside
		"X8,2025-06-01,,CPT,99213,,,\n" // an unknown member, inside
	csvEvents, pqEvents, mem := writeEventsTwice(t, header+rows, 3)
	members := filepath.Join(cohortDir, "members.csv")

	check := func(t *testing.T, d *Data) {
		t.Helper()
		var dates []string
		for _, e := range d.Events {
			dates = append(dates, e.Date.String())
		}
		assert.ElementsMatch(t, []string{"2025-01-01", "2025-12-31"}, dates)
		assert.Equal(t, []SetAside{
			{Table: "events", Reason: "code in no value set of the measures loaded for", Rows: 1},
			{Table: "events", Reason: windowReason, Rows: 3},
		}, d.Reconciliation.Unneeded)
		require.Len(t, d.Reconciliation.SetAside, 1)
		assert.Equal(t, int64(1), d.Reconciliation.SetAside[0].Rows, "only the unknown member inside the window")
		assert.Equal(t, []string{"X8"}, d.Reconciliation.SetAside[0].Examples)

		res, err := Evaluate(context.Background(), d, []*dsl.Measure{m})
		require.NoError(t, err)
		c := res.Report.Measures[0].Groups[0].Counts
		assert.Equal(t, int64(1), c.Numerator, "M1's visits in the period")
		traces, err := Explain(context.Background(), d, []*dsl.Measure{m}, "M1")
		require.NoError(t, err)
		assert.Equal(t, []string{"rows of value set Visit dated outside 2025-01-01 .. 2025-12-31"}, traces[0].Unloaded,
			"the trace of define visits shows only the rows in the window, and says so")
		_, err = Evaluate(context.Background(), d, []*dsl.Measure{m}, WithPeriod(metric.CalendarYear(2024)))
		require.Error(t, err, "the data holds no 2024 visits")
		assert.Contains(t, err.Error(), "measure w over 2024-01-01..2024-12-31 needs the rows of value set Visit dated outside 2025-01-01 .. 2025-12-31")
	}
	t.Run("csv", func(t *testing.T) {
		d, err := LoadFiles(context.Background(), Files{Members: []string{members}, Events: []string{csvEvents}}, WithRequirements(req))
		require.NoError(t, err)
		check(t, d)
	})
	t.Run("parquet", func(t *testing.T) {
		files := Files{Members: []string{members}, Events: []string{pqEvents}}
		direct, viaArrow, errD, errA := loadBothWays(t, files, WithRequirements(req), WithAllocator(mem))
		require.NoError(t, errD)
		require.NoError(t, errA)
		check(t, direct)
		check(t, viaArrow)
		assertSameData(t, viaArrow, direct)
	})
	t.Run("strict", func(t *testing.T) {
		_, err := LoadFiles(context.Background(), Files{Members: []string{members}, Events: []string{csvEvents}}, WithRequirements(req), WithStrict(true))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "X8")
		assert.NotContains(t, err.Error(), "X9")
	})
}

// writeEventsTwice writes the events of text (CSV with a header) as a CSV
// file and as a Parquet file in row groups of rowGroup rows, and returns
// their paths and the allocator to load the Parquet file with.
func writeEventsTwice(t *testing.T, text string, rowGroup int64) (csvPath, parquetPath string, mem memory.Allocator) {
	t.Helper()
	dir := t.TempDir()
	csvPath = filepath.Join(dir, "events.csv")
	require.NoError(t, os.WriteFile(csvPath, []byte(text), 0o600))
	mem = checkedAllocator(t)
	parquetPath = filepath.Join(dir, "events.parquet")
	recs := records(t, mem, eventsSchema, text, int(rowGroup))
	writeParquet(t, mem, parquetPath, eventsSchema, recs, rowGroup)
	(&cohortRecords{events: recs}).release()
	return csvPath, parquetPath, mem
}
