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

func TestLoadParquet(t *testing.T) {
	mem := checkedAllocator(t)
	recs := cohortArrow(t, mem, membersSchema, enrollmentSchema, eventsSchema, 3)
	defer recs.release()
	dir := t.TempDir()
	writeParquet(t, mem, filepath.Join(dir, "members.parquet"), membersSchema, recs.members, 3)
	writeParquet(t, mem, filepath.Join(dir, "enrollment.parquet"), enrollmentSchema, recs.enrollment, 2)
	writeParquet(t, mem, filepath.Join(dir, "events.parquet"), eventsSchema, recs.events, 4)
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
