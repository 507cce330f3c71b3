package eval

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caremetrics/caremetrics/dsl"
	"github.com/caremetrics/caremetrics/internal/synth"
	"github.com/caremetrics/caremetrics/measures"
)

// loadBothWays loads files through the direct Parquet event reader and
// through pqarrow.
func loadBothWays(t *testing.T, files Files, opts ...LoadOption) (direct, viaArrow *Data, directErr, arrowErr error) {
	t.Helper()
	direct, directErr = LoadFiles(context.Background(), files, opts...)
	directParquetEvents = false
	defer func() { directParquetEvents = true }()
	viaArrow, arrowErr = LoadFiles(context.Background(), files, opts...)
	return
}

// The direct reader is an optimisation: on any cohort it must build the
// very Data the pqarrow path builds, with and without requirements, and
// with row groups that split the rows unevenly.
func TestDirectEventsEqualArrowPath(t *testing.T) {
	dir := t.TempDir()
	_, err := synth.WriteDir(synth.Config{Members: 1500, Seed: 7, Year: 2025}, dir, []string{synth.Parquet}, 7001)
	require.NoError(t, err)
	files, err := listDir(dir, true)
	require.NoError(t, err)
	df, ok := openDirectEvents(files.Events[0])
	require.True(t, ok, "synth's events file must take the direct path")
	require.Greater(t, len(df.groupRows), 3, "the test wants several row groups")

	ms, err := measures.Load(nil)
	require.NoError(t, err)
	for name, opts := range map[string][]LoadOption{
		"all rows":     nil,
		"requirements": {WithRequirements(dsl.RequirementsOf(ms...))},
	} {
		t.Run(name, func(t *testing.T) {
			direct, viaArrow, errD, errA := loadBothWays(t, files, opts...)
			require.NoError(t, errD)
			require.NoError(t, errA)
			require.NotEmpty(t, direct.Events)
			assertSameData(t, viaArrow, direct)
		})
	}
}

// Both readers report the same cell of a bad file, and account for rows
// of unknown members the same way.
func TestDirectEventsErrorsEqualArrowPath(t *testing.T) {
	mem := checkedAllocator(t)
	// Every column nullable, so that Parquet keeps the nulls.
	fields := make([]arrow.Field, len(eventsSchema.Fields()))
	for i, f := range eventsSchema.Fields() {
		f.Nullable = true
		fields[i] = f
	}
	nullable := arrow.NewSchema(fields, nil)
	members := filepath.Join(cohortDir, "members.csv")
	const header = "member_id,date,end_date,system,code,value,source,claim_id\n"
	const good = "M1,2024-01-01,,CVX,03,,registry,C1\n"
	tests := []struct {
		name, rows, want string
	}{
		{"null member", good + ",2024-01-01,,CVX,03,,,\n", "row group 0, row 2: column member_id: null value in required column"},
		{"blank member", good + good + "  ,2024-01-01,,CVX,03,,,\n", "row group 1, row 3: column member_id: null value in required column"},
		{"null date", good + "M1,,,CVX,03,,,\n", "row group 0, row 2: column date: null value in required column"},
		{"null system", "M1,2024-01-01,,,03,,,\n", "row group 0, row 1: column system: null value in required column"},
		{"null code", good + good + good + "M1,2024-01-01,,CVX,,,,\n", "row group 1, row 4: column code: null value in required column"},
		{"member before date in one row", good + ",,,CVX,03,,,\n", "row group 0, row 2: column member_id: null value in required column"},
		{"first bad row wins", good + "M1,2024-01-01,,,03,,,\nM1,,,CVX,03,,,\n", "row group 0, row 2: column system: null value in required column"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			events := filepath.Join(t.TempDir(), "events.parquet")
			recs := records(t, mem, nullable, header+tc.rows, 2)
			writeParquet(t, mem, events, nullable, recs, 2)
			(&cohortRecords{events: recs}).release()
			_, _, errD, errA := loadBothWays(t, Files{Members: []string{members}, Events: []string{events}}, WithAllocator(mem))
			require.Error(t, errA)
			assert.EqualError(t, errD, events+": "+tc.want)
			assert.Equal(t, errA.Error(), errD.Error())
		})
	}

	t.Run("unknown members", func(t *testing.T) {
		events := filepath.Join(t.TempDir(), "events.parquet")
		rows := good + "X9,2024-01-01,,CVX,03,,,\nX1,2024-02-01,,CVX,03,,,\nX9,2024-03-01,,CVX,03,,,\nX5,2024-01-01,,CVX,03,,,\n" +
			"X3,2024-01-01,,CVX,03,,,\nX8,2024-01-01,,CVX,03,,,\nX2,2024-01-01,,CVX,03,,,\nX7,2024-01-01,,CVX,03,,,\n"
		recs := records(t, mem, nullable, header+rows, 3)
		writeParquet(t, mem, events, nullable, recs, 3)
		(&cohortRecords{events: recs}).release()
		files := Files{Members: []string{members}, Events: []string{events}}
		direct, viaArrow, errD, errA := loadBothWays(t, files, WithAllocator(mem))
		require.NoError(t, errD)
		require.NoError(t, errA)
		want := []SetAside{{Table: "events", Reason: "member_id not in members", Rows: 8, Examples: []string{"X1", "X2", "X3", "X5", "X7"}}}
		assert.Equal(t, want, direct.Reconciliation.SetAside)
		assertSameData(t, viaArrow, direct)

		_, _, errD, errA = loadBothWays(t, files, WithAllocator(mem), WithStrict(true))
		require.Error(t, errA)
		assert.Equal(t, errA.Error(), errD.Error())
	})
}

func TestDirectEventLayout(t *testing.T) {
	mem := checkedAllocator(t)
	dir := t.TempDir()
	write := func(name string, schema *arrow.Schema, rows string) string {
		path := filepath.Join(dir, name)
		recs := records(t, mem, schema, rows, 4)
		writeParquet(t, mem, path, schema, recs, 4)
		(&cohortRecords{events: recs}).release()
		return path
	}
	canonical := write("canonical.parquet", eventsSchema, "member_id,date,system,code\nM1,2024-01-01,CVX,03\n")
	_, ok := openDirectEvents(canonical)
	assert.True(t, ok, "canonical layout")

	// A timestamp date and a large_utf8 id are read through pqarrow.
	ts := arrow.NewSchema([]arrow.Field{{Name: "member_id", Type: arrow.BinaryTypes.String},
		{Name: "date", Type: &arrow.TimestampType{Unit: arrow.Millisecond}}, {Name: "system", Type: arrow.BinaryTypes.String},
		{Name: "code", Type: arrow.BinaryTypes.String}}, nil)
	_, ok = openDirectEvents(write("timestamp.parquet", ts, "member_id,date,system,code\nM1,2024-01-01,CVX,03\n"))
	assert.False(t, ok, "timestamp dates")
	noCode := arrow.NewSchema(eventsSchema.Fields()[:4], nil)
	_, ok = openDirectEvents(write("nocode.parquet", noCode, "member_id,date,end_date,system\nM1,2024-01-01,,CVX\n"))
	assert.False(t, ok, "a required column missing")
}

// assertSameData compares two loads of the same files, naming the first
// differing event rather than printing them all.
func assertSameData(t *testing.T, want, got *Data) {
	t.Helper()
	w, g := comparable(want), comparable(got)
	assert.Equal(t, w.Members, g.Members)
	assert.Equal(t, w.Spans, g.Spans)
	assert.Equal(t, w.Codes.Systems, g.Codes.Systems)
	assert.Equal(t, w.Codes.Values, g.Codes.Values)
	assert.Equal(t, w.Sources, g.Sources)
	assert.Equal(t, w.Attributes, g.Attributes)
	assert.Equal(t, w.Reconciliation, g.Reconciliation)
	require.Equal(t, len(w.Events), len(g.Events), "events")
	for i := range w.Events {
		if w.Events[i] != g.Events[i] {
			t.Fatalf("event %d: got %+v, want %+v", i, g.Events[i], w.Events[i])
		}
	}
}
