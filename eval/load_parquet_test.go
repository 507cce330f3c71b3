package eval

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caremetrics/caremetrics/dsl"
)

// writeParquet writes recs with row groups of rowGroup rows.
func writeParquet(t *testing.T, mem memory.Allocator, path string, schema *arrow.Schema, recs []arrow.RecordBatch, rowGroup int64) {
	t.Helper()
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	w, err := pqarrow.NewFileWriter(schema, f,
		parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(rowGroup), parquet.WithAllocator(mem)),
		pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema(), pqarrow.WithAllocator(mem)))
	require.NoError(t, err)
	for _, r := range recs {
		require.NoError(t, w.WriteBuffered(r))
	}
	require.NoError(t, w.Close())
}

// parquetCohort writes testdata/load/cohort as Parquet files into a
// temporary directory, in row groups of a few rows.
func parquetCohort(t *testing.T, mem memory.Allocator) string {
	recs := cohortArrow(t, mem, membersSchema, enrollmentSchema, eventsSchema, 3)
	defer recs.release()
	dir := t.TempDir()
	writeParquet(t, mem, filepath.Join(dir, "members.parquet"), membersSchema, recs.members, 3)
	writeParquet(t, mem, filepath.Join(dir, "enrollment.parquet"), enrollmentSchema, recs.enrollment, 2)
	writeParquet(t, mem, filepath.Join(dir, "events.parquet"), eventsSchema, recs.events, 4)
	return dir
}

func TestLoadParquet(t *testing.T) {
	mem := checkedAllocator(t)
	dir := parquetCohort(t, mem)
	got, err := LoadDir(context.Background(), dir, WithAllocator(mem))
	require.NoError(t, err)
	want := wantCohort()
	for i := range want.Reconciliation.Files {
		want.Reconciliation.Files[i].File = want.Reconciliation.Files[i].Table + ".parquet"
	}
	assertData(t, want, got)
}

func TestParquetErrors(t *testing.T) {
	mem := checkedAllocator(t)
	dir := t.TempDir()
	members := filepath.Join(dir, "members.parquet")
	// A nullable birth_date, so that Parquet keeps the null.
	nullable := arrow.NewSchema([]arrow.Field{{Name: "member_id", Type: arrow.BinaryTypes.String},
		{Name: "birth_date", Type: arrow.FixedWidthTypes.Date32, Nullable: true}}, nil)
	recs := records(t, mem, nullable, "member_id,birth_date\nM1,2000-01-01\nM2,2000-01-01\nM3,2000-01-01\nM4,2000-01-01\nM5,\n", 2)
	writeParquet(t, mem, members, nullable, recs, 2)
	(&cohortRecords{members: recs}).release()
	_, err := LoadFiles(context.Background(), Files{Members: []string{members}}, WithAllocator(mem))
	assert.EqualError(t, err, members+": row group 2, row 5: column birth_date: null value in required column")

	noCode := arrow.NewSchema(eventsSchema.Fields()[:4], nil)
	events := filepath.Join(dir, "events.parquet")
	recs = records(t, mem, noCode, "member_id,date,system\nM1,2024-01-01,CVX\n", 2)
	writeParquet(t, mem, events, noCode, recs, 2)
	(&cohortRecords{events: recs}).release()
	_, err = LoadFiles(context.Background(), Files{Members: []string{filepath.Join(cohortDir, "members.csv")}, Events: []string{events}}, WithAllocator(mem))
	assert.EqualError(t, err, events+": column code: missing required column")

	bad := filepath.Join(dir, "enrollment.parquet")
	require.NoError(t, os.WriteFile(bad, []byte("not parquet at all"), 0o644))
	_, err = LoadFiles(context.Background(), Files{Members: []string{filepath.Join(cohortDir, "members.csv")}, Enrollment: []string{bad}}, WithAllocator(mem))
	var de *DataError
	require.ErrorAs(t, err, &de)
	assert.Equal(t, bad, de.File)
	assert.Contains(t, err.Error(), bad+": invalid Parquet file: ")
}

// Measures never read plans: data loaded for measures holds none, from
// any reader, and keeps every span.
func TestRequirementsSkipPlans(t *testing.T) {
	dir := parquetCohort(t, checkedAllocator(t))
	req := WithRequirements(dsl.Requirements{Columns: dsl.ColumnValue | dsl.ColumnClaimID | dsl.ColumnEndDate | dsl.ColumnSource})
	for _, tc := range []struct {
		name   string
		dir    string
		direct bool
	}{{"csv", cohortDir, true}, {"parquet direct", dir, true}, {"parquet via arrow", dir, false}} {
		t.Run(tc.name, func(t *testing.T) {
			defer func(old bool) { directParquet = old }(directParquet)
			directParquet = tc.direct
			all, err := LoadDir(context.Background(), tc.dir)
			require.NoError(t, err)
			assert.Equal(t, []string{"P1", "P2"}, all.Plans)
			got, err := LoadDir(context.Background(), tc.dir, req)
			require.NoError(t, err)
			assert.Empty(t, got.Plans)
			require.Len(t, got.Spans, len(all.Spans))
			for i, sp := range got.Spans {
				assert.Equal(t, int32(-1), sp.Plan)
				sp.Plan = all.Spans[i].Plan
				assert.Equal(t, all.Spans[i], sp)
			}
		})
	}
}
