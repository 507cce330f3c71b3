package eval

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
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
	directParquet = false
	defer func() { directParquet = true }()
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
	df, ok := openDirect(tEvents, files.Events[0])
	require.True(t, ok, "synth's events file must take the direct path")
	require.Greater(t, len(df.groupRows), 3, "the test wants several row groups")
	_, ok = openDirect(tEnrollment, files.Enrollment[0])
	require.True(t, ok, "synth's enrollment file must take the direct path")
	_, ok = openDirectMembers(files.Members[0])
	require.True(t, ok, "synth's members file must take the direct path")

	ms, err := measures.Load(nil)
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		opts []LoadOption
		// wide keeps the first pass's codes in four bytes (keyCodes), as
		// for a group with codes of 1<<16 and more.
		wide bool
	}{
		{"all rows", nil, false},
		{"requirements", []LoadOption{WithRequirements(dsl.RequirementsOf(ms...))}, false},
		{"requirements, wide codes", []LoadOption{WithRequirements(dsl.RequirementsOf(ms...))}, true},
	} {
		opts := tc.opts
		t.Run(tc.name, func(t *testing.T) {
			narrowCodes = !tc.wide
			defer func() { narrowCodes = true }()
			direct, viaArrow, errD, errA := loadBothWays(t, files, opts...)
			require.NoError(t, errD)
			require.NoError(t, errA)
			require.NotEmpty(t, direct.Events)
			assertSameData(t, viaArrow, direct)
			if opts != nil {
				for _, reason := range []string{claimScopedReason, windowReason} {
					i := slices.IndexFunc(direct.Reconciliation.Unneeded, func(s SetAside) bool { return s.Reason == reason })
					require.GreaterOrEqual(t, i, 0, "claim scopes and date windows drop rows of this cohort: %s", reason)
					assert.Greater(t, direct.Reconciliation.Unneeded[i].Rows, int64(0))
				}
			}
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
			assertSameError(t, tEvents, nullable, header+tc.rows, tc.want)
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

// The same for enrollment files: bad cells in the order the pqarrow path
// checks them, and lists that are empty, hold nulls or name unknown
// benefits.
func TestDirectSpansEqualArrowPath(t *testing.T) {
	mem := checkedAllocator(t)
	fields := make([]arrow.Field, len(enrollmentSchema.Fields()))
	for i, f := range enrollmentSchema.Fields() {
		f.Nullable = true
		fields[i] = f
	}
	fields[3].Type = arrow.ListOfField(arrow.Field{Name: "element", Type: arrow.BinaryTypes.String, Nullable: true})
	nullable := arrow.NewSchema(fields, nil)
	members := filepath.Join(cohortDir, "members.csv")
	const header = "member_id,start_date,end_date,benefits,plan\n"
	const good = "M1,2024-01-01,2024-12-31,medical;dental,P1\n"
	tests := []struct {
		name, rows, want string
	}{
		{"null member", good + ",2024-01-01,2024-12-31,medical,\n", "row group 0, row 2: column member_id: null value in required column"},
		{"null start", good + good + "M1,,2024-12-31,medical,\n", "row group 1, row 3: column start_date: null value in required column"},
		{"null end", "M1,2024-01-01,,medical,\n", "row group 0, row 1: column end_date: null value in required column"},
		{"end before start", good + "M1,2024-01-02,2024-01-01,medical,\n", "row group 0, row 2: column end_date: end 2024-01-01 is before start 2024-01-02"},
		{"unknown benefit", good + good + good + "M1,2024-01-01,2024-12-31,medical;vision,\n", `row group 1, row 4: column benefits: unknown benefit "vision": want medical, dental, mental_health, chemical_dependency or pharmacy`},
		{"member before end in one row", good + ",2024-01-02,2024-01-01,vision,\n", "row group 0, row 2: column member_id: null value in required column"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assertSameError(t, tEnrollment, nullable, header+tc.rows, tc.want)
		})
	}

	t.Run("lists and unknown members", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "enrollment.parquet")
		rows := good + "M2,2024-01-01,2024-06-30,medical,P2\nX9,2024-01-01,2024-12-31,medical,\nM3,2024-02-01,2024-03-01, Dental ;pharmacy,P1\n" +
			"X1,2024-01-01,2024-12-31,medical,\nM1,2025-01-01,2025-12-31,mental_health;chemical_dependency;medical,P2\n"
		recs := records(t, mem, nullable, header+rows, 4)
		writeParquet(t, mem, path, nullable, recs, 4)
		(&cohortRecords{enrollment: recs}).release()
		direct, viaArrow, errD, errA := loadBothWays(t, Files{Members: []string{members}, Enrollment: []string{path}}, WithAllocator(mem))
		require.NoError(t, errD)
		require.NoError(t, errA)
		require.NotEmpty(t, direct.Spans)
		assertSameData(t, viaArrow, direct)
		want := []SetAside{{Table: "enrollment", Reason: "member_id not in members", Rows: 2, Examples: []string{"X1", "X9"}}}
		assert.Equal(t, want, direct.Reconciliation.SetAside)
	})

	t.Run("empty lists and null items", func(t *testing.T) {
		// Rows: [medical], [], [null, dental], null list, [pharmacy].
		b := array.NewRecordBuilder(mem, nullable)
		defer b.Release()
		for i := range 5 {
			b.Field(0).(*array.StringBuilder).Append("M1")
			b.Field(1).(*array.Date32Builder).Append(arrow.Date32(19723 + i))
			b.Field(2).(*array.Date32Builder).Append(arrow.Date32(19800 + i))
			b.Field(4).(*array.StringBuilder).AppendNull()
		}
		lb := b.Field(3).(*array.ListBuilder)
		vb := lb.ValueBuilder().(*array.StringBuilder)
		lb.Append(true)
		vb.Append("medical")
		lb.AppendEmptyValue()
		lb.Append(true)
		vb.AppendNull()
		vb.Append("dental")
		lb.AppendNull()
		lb.Append(true)
		vb.Append("pharmacy")
		rec := b.NewRecordBatch()
		path := filepath.Join(t.TempDir(), "enrollment.parquet")
		writeParquet(t, mem, path, nullable, []arrow.RecordBatch{rec}, 2)
		rec.Release()
		_, _, errD, errA := loadBothWays(t, Files{Members: []string{members}, Enrollment: []string{path}}, WithAllocator(mem))
		assert.EqualError(t, errD, path+": row group 1, row 4: column benefits: null value in required column")
		require.Error(t, errA)
		assert.Equal(t, errA.Error(), errD.Error())

		// Without the null list, both read the same spans.
		path2 := filepath.Join(t.TempDir(), "enrollment.parquet")
		b2 := array.NewRecordBuilder(mem, nullable)
		defer b2.Release()
		lb = b2.Field(3).(*array.ListBuilder)
		vb = lb.ValueBuilder().(*array.StringBuilder)
		for i, items := range [][]string{{"medical"}, {}, {"", "dental"}, {"pharmacy", "medical"}, {}} {
			b2.Field(0).(*array.StringBuilder).Append("M1")
			b2.Field(1).(*array.Date32Builder).Append(arrow.Date32(19723 + i))
			b2.Field(2).(*array.Date32Builder).Append(arrow.Date32(19800 + i))
			b2.Field(4).(*array.StringBuilder).Append("P")
			lb.Append(true)
			for _, it := range items {
				if it == "" {
					vb.AppendNull()
				} else {
					vb.Append(it)
				}
			}
		}
		rec = b2.NewRecordBatch()
		writeParquet(t, mem, path2, nullable, []arrow.RecordBatch{rec}, 2)
		rec.Release()
		direct, viaArrow, errD, errA := loadBothWays(t, Files{Members: []string{members}, Enrollment: []string{path2}}, WithAllocator(mem))
		require.NoError(t, errD)
		require.NoError(t, errA)
		assertSameData(t, viaArrow, direct)
		var got []Benefits
		for _, sp := range direct.Spans {
			got = append(got, sp.Benefits)
		}
		assert.Equal(t, []Benefits{Medical, 0, Dental, Medical | Pharmacy, 0}, got)
	})
}

// Members: every canonical column with nulls, race lists, booleans and
// extra columns of each kind the direct reader takes.
func TestDirectMembersEqualArrowPath(t *testing.T) {
	mem := checkedAllocator(t)
	fields := slices.Clone(membersSchema.Fields())
	for i := range fields {
		fields[i].Nullable = true
	}
	fields[4].Type = arrow.ListOfField(arrow.Field{Name: "element", Type: arrow.BinaryTypes.String, Nullable: true})
	fields = append(fields,
		arrow.Field{Name: "visits", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		arrow.Field{Name: "rank", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		arrow.Field{Name: "risk", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		arrow.Field{Name: "score", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
		arrow.Field{Name: "homeless", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		arrow.Field{Name: "pcp_since", Type: arrow.FixedWidthTypes.Date32, Nullable: true})
	schema := arrow.NewSchema(fields, nil)
	header := "member_id,birth_date,death_date,sex,race,ethnicity,language,interpreter_needed,disability,county,visits,rank,risk,score,homeless,pcp_since\n"
	rows := "M2,2010-03-04,,F,White; Asian,hispanic,es,true,false,Lane,3,1,0.25,1.5,true,2020-01-01\n" +
		"M1,2020-02-29,2025-06-01,,,,,,,,,,,,,\n" +
		"M3,1950-01-01,,M,BLACK,non_hispanic,en,false,true,Linn,0,-2,,,false,\n" +
		"M4,1999-12-31,,X,asian;asian,,zh,,,Lane,7,,1e300,,,1999-12-31\n" +
		"M0,2001-01-01,,U,,unknown,,true,,Benton,,5,-1,-0.5,,\n"
	members := filepath.Join(t.TempDir(), "members.parquet")
	recs := records(t, mem, schema, header+rows, 2)
	writeParquet(t, mem, members, schema, recs, 2)
	(&cohortRecords{members: recs}).release()
	_, ok := openDirectMembers(members)
	require.True(t, ok, "the direct path must read the file")
	direct, viaArrow, errD, errA := loadBothWays(t, Files{Members: []string{members}}, WithAllocator(mem))
	require.NoError(t, errD)
	require.NoError(t, errA)
	require.Len(t, direct.Members, 5)
	require.Len(t, direct.Attributes, 7)
	assertSameData(t, viaArrow, direct)

	for _, tc := range []struct{ name, rows, want string }{
		{"null member", "M1,2000-01-01\n,2000-01-01\n", "row group 0, row 2: column member_id: null value in required column"},
		{"blank member", "M1,2000-01-01\nM2,2000-01-01\n ,2000-01-01\n", "row group 1, row 3: column member_id: null value in required column"},
		{"null birth date", "M1,2000-01-01\nM2,\n", "row group 0, row 2: column birth_date: null value in required column"},
		{"member before birth date", "M1,2000-01-01\n,\n", "row group 0, row 2: column member_id: null value in required column"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			short := arrow.NewSchema(fields[:2], nil)
			assertSameError(t, tMembers, short, "member_id,birth_date\n"+tc.rows, tc.want)
		})
	}
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
	_, ok := openDirect(tEvents, canonical)
	assert.True(t, ok, "canonical layout")

	// A timestamp date and a large_utf8 id are read through pqarrow.
	ts := arrow.NewSchema([]arrow.Field{{Name: "member_id", Type: arrow.BinaryTypes.String},
		{Name: "date", Type: &arrow.TimestampType{Unit: arrow.Millisecond}}, {Name: "system", Type: arrow.BinaryTypes.String},
		{Name: "code", Type: arrow.BinaryTypes.String}}, nil)
	_, ok = openDirect(tEvents, write("timestamp.parquet", ts, "member_id,date,system,code\nM1,2024-01-01,CVX,03\n"))
	assert.False(t, ok, "timestamp dates")
	noCode := arrow.NewSchema(eventsSchema.Fields()[:4], nil)
	_, ok = openDirect(tEvents, write("nocode.parquet", noCode, "member_id,date,end_date,system\nM1,2024-01-01,,CVX\n"))
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

// assertSameError writes rows (CSV text) of table t as a Parquet file in
// row groups of 2 rows, loads it with the sample members both ways, and
// checks that both fail with want (after the file name).
func assertSameError(t *testing.T, table tableKind, schema *arrow.Schema, rows, want string) {
	t.Helper()
	mem := checkedAllocator(t)
	path := filepath.Join(t.TempDir(), table.String()+".parquet")
	recs := records(t, mem, schema, rows, 2)
	writeParquet(t, mem, path, schema, recs, 2)
	(&cohortRecords{events: recs}).release()
	ok := false
	if table == tMembers {
		_, ok = openDirectMembers(path)
	} else {
		_, ok = openDirect(table, path)
	}
	require.True(t, ok, "the direct path must read the file")
	files := Files{Members: []string{filepath.Join(cohortDir, "members.csv")}}
	switch table {
	case tEvents:
		files.Events = []string{path}
	case tEnrollment:
		files.Enrollment = []string{path}
	default:
		files.Members = []string{path}
	}
	_, _, errD, errA := loadBothWays(t, files, WithAllocator(mem))
	require.Error(t, errA)
	assert.EqualError(t, errD, path+": "+want)
	assert.Equal(t, errA.Error(), errD.Error())
}
