package eval

import (
	"context"
	"encoding/csv"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caremetrics/caremetrics/dsl"
	"github.com/caremetrics/caremetrics/metric"
)

const cohortDir = "../testdata/load/cohort"

var d = metric.MustParseDate

// wantCohort is the Data of testdata/load/cohort, loaded from any format.
func wantCohort() *Data {
	want := &Data{
		Members: []Member{
			{ID: "M1", BirthDate: d("2019-05-04"), DeathDate: metric.NoDate, Sex: "M", Ethnicity: "hispanic", Language: "es",
				InterpreterNeeded: True, Disability: Null, EventsStart: 0, EventsEnd: 4, SpansStart: 0, SpansEnd: 2},
			{ID: "M2", BirthDate: d("1985-12-31"), DeathDate: metric.NoDate, Sex: "X", Race: []string{"black"}, Ethnicity: "unknown",
				InterpreterNeeded: False, Disability: False, EventsStart: 4, EventsEnd: 5, SpansStart: 2, SpansEnd: 3},
			{ID: "M3", BirthDate: d("1960-02-29"), DeathDate: d("2024-11-30"), Sex: "F", Race: []string{"white", "asian"}, Ethnicity: "non_hispanic", Language: "en",
				InterpreterNeeded: False, Disability: True, EventsStart: 5, EventsEnd: 7, SpansStart: 3, SpansEnd: 4},
			{ID: "M4", BirthDate: d("2002-07-15"), DeathDate: metric.NoDate, Sex: "U", Race: []string{"aian", "nhpi", "other"}, Language: "vi",
				InterpreterNeeded: Null, Disability: True, EventsStart: 7, EventsEnd: 9, SpansStart: 4, SpansEnd: 4},
		},
		Spans: []Span{
			{Start: d("2024-01-01"), End: d("2024-06-30"), Benefits: Medical | Dental, Plan: 0},
			{Start: d("2024-07-01"), End: d("2024-12-31"), Benefits: Medical | Pharmacy, Plan: 0},
			{Start: d("2024-01-01"), End: d("2024-12-31"), Benefits: Medical, Plan: 1},
			{Start: d("2023-01-01"), End: d("2024-11-30"), Benefits: Medical | MentalHealth | ChemicalDependency, Plan: -1},
		},
		Sources: []string{"claim", "ehr", "lab", "registry"},
		Plans:   []string{"P1", "P2"},
		Attributes: []Attribute{
			{Name: "county", Kind: AttrString, Strings: []string{"Marion", "", "Lane", "Multnomah,\nOR"}},
		},
		Reconciliation: Reconciliation{
			Files: []FileCount{{"members", "members.csv", 4}, {"enrollment", "enrollment.csv", 5}, {"events", "events.csv", 10}},
			SetAside: []SetAside{
				{Table: "enrollment", Reason: "member_id not in members", Rows: 1, Examples: []string{"X9"}},
				{Table: "events", Reason: "member_id not in members", Rows: 1, Examples: []string{"X1"}},
			},
			Used: []TableCount{{"members", 4}, {"enrollment", 4}, {"events", 9}},
		},
	}
	for _, c := range [][2]string{{"CPT", "99392"}, {"CVX", "03"}, {"CVX", "3"}, {"HCPCS", "G0444"}, {"ICD10CM", "Z00129"},
		{"LOINC", "44261-6"}, {"LOINC", "4548-4"}, {"SNOMEDCT", "428181000124104"}} {
		want.Codes.Intern(c[0], c[1])
	}
	nan := math.NaN()
	c1, e1 := dsl.ClaimKey("C1"), dsl.ClaimKey("E1")
	want.Events = []Event{
		{Date: d("2024-02-10"), End: metric.NoDate, Code: 0, Claim: c1, Source: 0, Value: nan},
		{Date: d("2024-02-10"), End: d("2024-02-12"), Code: 4, Claim: c1, Source: 0, Value: nan},
		{Date: d("2024-03-01"), End: metric.NoDate, Code: 1, Source: 3, Value: nan},
		{Date: d("2024-03-01"), End: metric.NoDate, Code: 2, Source: 3, Value: nan},
		{Date: d("2024-06-01"), End: metric.NoDate, Code: 6, Source: 2, Value: 7.5},
		{Date: d("2024-05-05"), End: metric.NoDate, Code: 5, Claim: e1, Source: 1, Value: 12},
		{Date: d("2024-05-05"), End: metric.NoDate, Code: 7, Claim: e1, Source: 1, Value: nan},
		{Date: d("2024-01-15"), End: metric.NoDate, Code: 3, Source: -1, Value: 0},
		{Date: d("2024-01-15"), End: metric.NoDate, Code: 3, Source: -1, Value: 1},
	}
	return want
}

// comparable returns a copy of data that reflect.DeepEqual can compare:
// NaN, never equal to itself, is replaced by a sentinel, and file names by
// their base names.
func comparable(data *Data) *Data {
	c := *data
	c.Events = slices.Clone(data.Events)
	for i := range c.Events {
		if math.IsNaN(c.Events[i].Value) {
			c.Events[i].Value = -1e308
		}
	}
	c.Attributes = slices.Clone(data.Attributes)
	for i := range c.Attributes {
		c.Attributes[i].Floats = slices.Clone(c.Attributes[i].Floats)
		for j, f := range c.Attributes[i].Floats {
			if math.IsNaN(f) {
				c.Attributes[i].Floats[j] = -1e308
			}
		}
	}
	c.Reconciliation.Files = slices.Clone(data.Reconciliation.Files)
	for i := range c.Reconciliation.Files {
		c.Reconciliation.Files[i].File = filepath.Base(c.Reconciliation.Files[i].File)
	}
	return &c
}

func assertData(t *testing.T, want, got *Data) {
	t.Helper()
	require.NotNil(t, got)
	assert.Equal(t, comparable(want), comparable(got))
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

// loadCSV loads CSV text of the three tables, named members.csv etc.
func loadCSV(ctx context.Context, members, enrollment, events string, opts ...LoadOption) (*Data, error) {
	var srcs []source
	for t, text := range []string{members, enrollment, events} {
		srcs = append(srcs, csvSource(tableKind(t), tableNames[t]+".csv", func() (io.ReadCloser, error) {
			return io.NopCloser(strings.NewReader(text)), nil
		}))
	}
	return load(ctx, srcs, opts)
}

func cohortCSV(t *testing.T) (members, enrollment, events string) {
	return readFile(t, filepath.Join(cohortDir, "members.csv")), readFile(t, filepath.Join(cohortDir, "enrollment.csv")),
		readFile(t, filepath.Join(cohortDir, "events.csv"))
}

func TestLoadCSV(t *testing.T) {
	ctx := context.Background()
	got, err := LoadDir(ctx, cohortDir)
	require.NoError(t, err)
	assertData(t, wantCohort(), got)
	assert.Equal(t, filepath.Join(cohortDir, "members.csv"), got.Reconciliation.Files[0].File)

	m, e, v := cohortCSV(t)
	got, err = loadCSV(ctx, "\xef\xbb\xbf"+m, e, strings.ReplaceAll(v, "\n", "\r\n"))
	require.NoError(t, err, "BOM and CRLF")
	assertData(t, wantCohort(), got)
}

// Typed Arrow versions of the cohort.

var (
	membersSchema = arrow.NewSchema([]arrow.Field{
		{Name: "member_id", Type: arrow.BinaryTypes.String}, {Name: "birth_date", Type: arrow.FixedWidthTypes.Date32},
		{Name: "death_date", Type: arrow.FixedWidthTypes.Date32, Nullable: true}, {Name: "sex", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "race", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true}, {Name: "ethnicity", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "language", Type: arrow.BinaryTypes.String, Nullable: true}, {Name: "interpreter_needed", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "disability", Type: arrow.FixedWidthTypes.Boolean, Nullable: true}, {Name: "county", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	enrollmentSchema = arrow.NewSchema([]arrow.Field{
		{Name: "member_id", Type: arrow.BinaryTypes.String}, {Name: "start_date", Type: arrow.FixedWidthTypes.Date32},
		{Name: "end_date", Type: arrow.FixedWidthTypes.Date32}, {Name: "benefits", Type: arrow.ListOf(arrow.BinaryTypes.String)},
		{Name: "plan", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	eventsSchema = arrow.NewSchema([]arrow.Field{
		{Name: "member_id", Type: arrow.BinaryTypes.String}, {Name: "date", Type: arrow.FixedWidthTypes.Date32},
		{Name: "end_date", Type: arrow.FixedWidthTypes.Date32, Nullable: true}, {Name: "system", Type: arrow.BinaryTypes.String},
		{Name: "code", Type: arrow.BinaryTypes.String}, {Name: "value", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "source", Type: arrow.BinaryTypes.String, Nullable: true}, {Name: "claim_id", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
)

// records converts CSV text to record batches of the schema, batchRows
// rows each; columns are matched by name, cells converted to the schema's
// types. The caller releases the batches.
func records(t *testing.T, mem memory.Allocator, schema *arrow.Schema, text string, batchRows int) []arrow.RecordBatch {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(text)).ReadAll()
	require.NoError(t, err)
	col := map[string]int{}
	for j, h := range rows[0] {
		col[h] = j
	}
	var out []arrow.RecordBatch
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for i, row := range rows[1:] {
		for j, f := range schema.Fields() {
			cell := ""
			if c, ok := col[f.Name]; ok {
				cell = row[c]
			}
			appendCell(t, b.Field(j), cell)
		}
		if (i+1)%batchRows == 0 || i == len(rows)-2 {
			out = append(out, b.NewRecordBatch())
		}
	}
	return out
}

func appendCell(t *testing.T, b array.Builder, s string) {
	t.Helper()
	if s == "" {
		b.AppendNull()
		return
	}
	day := func() int64 { return int64(metric.MustParseDate(s)) }
	switch b := b.(type) {
	case *array.StringBuilder:
		b.Append(s)
	case *array.LargeStringBuilder:
		b.Append(s)
	case *array.StringViewBuilder:
		b.Append(s)
	case *array.BinaryDictionaryBuilder:
		require.NoError(t, b.AppendString(s))
	case *array.Date32Builder:
		b.Append(arrow.Date32(day()))
	case *array.Date64Builder:
		b.Append(arrow.Date64(day() * 86400_000))
	case *array.TimestampBuilder:
		// 13:00 UTC, still the same UTC day, whatever the zone.
		unit := b.Type().(*arrow.TimestampType).Unit
		per := int64(time.Second / unit.Multiplier())
		b.Append(arrow.Timestamp((day()*86400 + 13*3600) * per))
	case *array.BooleanBuilder:
		v, err := csvCol{s}.boolean(0)
		require.NoError(t, err)
		b.Append(v == True)
	case *array.Float64Builder:
		v, _, err := csvCol{s}.float(0)
		require.NoError(t, err)
		b.Append(v)
	case *array.Float32Builder:
		v, _, err := csvCol{s}.float(0)
		require.NoError(t, err)
		b.Append(float32(v))
	case *array.Int64Builder:
		v, _, err := csvCol{s}.float(0)
		require.NoError(t, err)
		b.Append(int64(v))
	case *array.Int32Builder:
		v, _, err := csvCol{s}.float(0)
		require.NoError(t, err)
		b.Append(int32(v))
	case *array.Decimal128Builder:
		dt := b.Type().(*arrow.Decimal128Type)
		v, err := decimal128.FromString(s, dt.Precision, dt.Scale)
		require.NoError(t, err)
		b.Append(v)
	case *array.ListBuilder:
		b.Append(true)
		for _, item := range splitItems(s) {
			appendCell(t, b.ValueBuilder(), item)
		}
	case *array.LargeListBuilder:
		b.Append(true)
		for _, item := range splitItems(s) {
			appendCell(t, b.ValueBuilder(), item)
		}
	default:
		t.Fatalf("no test conversion to %T", b)
	}
}

func splitItems(s string) []string {
	l, _ := csvCol{s}.list(0, nil)
	return l
}

type cohortRecords struct {
	members, enrollment, events []arrow.RecordBatch
}

func (c *cohortRecords) release() {
	for _, rs := range [][]arrow.RecordBatch{c.members, c.enrollment, c.events} {
		for _, r := range rs {
			r.Release()
		}
	}
}

func cohortArrow(t *testing.T, mem memory.Allocator, ms, es, vs *arrow.Schema, batchRows int) *cohortRecords {
	m, e, v := cohortCSV(t)
	return &cohortRecords{records(t, mem, ms, m, batchRows), records(t, mem, es, e, batchRows), records(t, mem, vs, v, batchRows)}
}

// checkedAllocator fails the test if anything allocated with it is not
// released by the end of the test, test cleanups included.
func checkedAllocator(t *testing.T) *memory.CheckedAllocator {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return mem
}

func recordReader(t *testing.T, recs []arrow.RecordBatch, schema *arrow.Schema) array.RecordReader {
	rr, err := array.NewRecordReader(schema, recs)
	require.NoError(t, err)
	t.Cleanup(rr.Release)
	return rr
}

func TestFromArrow(t *testing.T) {
	mem := checkedAllocator(t)
	recs := cohortArrow(t, mem, membersSchema, enrollmentSchema, eventsSchema, 3)
	defer recs.release()
	got, err := FromArrow(context.Background(), recordReader(t, recs.members, membersSchema),
		recordReader(t, recs.enrollment, enrollmentSchema), recordReader(t, recs.events, eventsSchema), WithAllocator(mem))
	require.NoError(t, err)
	want := wantCohort()
	want.Reconciliation.Files = []FileCount{{"members", "<members>", 4}, {"enrollment", "<enrollment>", 5}, {"events", "<events>", 10}}
	assertData(t, want, got)
	assert.Equal(t, "<members>", got.Reconciliation.Files[0].File)
}

func TestFromArrowNilTables(t *testing.T) {
	mem := checkedAllocator(t)
	recs := cohortArrow(t, mem, membersSchema, enrollmentSchema, eventsSchema, 10)
	defer recs.release()
	got, err := FromArrow(context.Background(), recordReader(t, recs.members, membersSchema), nil, nil)
	require.NoError(t, err)
	assert.Len(t, got.Members, 4)
	assert.Empty(t, got.Events)
	assert.Empty(t, got.Spans)
	assert.Nil(t, got.Reconciliation.SetAside)
	assert.Equal(t, []FileCount{{"members", "<members>", 4}}, got.Reconciliation.Files)
}

// TestArrowTypeVariants loads the cohort from the other Arrow types the
// data model allows for each column.
func TestArrowTypeVariants(t *testing.T) {
	dict := func(idx, val arrow.DataType) arrow.DataType {
		return &arrow.DictionaryType{IndexType: idx, ValueType: val}
	}
	tz := &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "America/Los_Angeles"}
	members := arrow.NewSchema([]arrow.Field{
		{Name: "county", Type: dict(arrow.PrimitiveTypes.Uint16, arrow.BinaryTypes.String), Nullable: true},
		{Name: "member_id", Type: arrow.BinaryTypes.LargeString}, {Name: "birth_date", Type: arrow.FixedWidthTypes.Date64},
		{Name: "death_date", Type: tz, Nullable: true}, {Name: "sex", Type: dict(arrow.PrimitiveTypes.Int8, arrow.BinaryTypes.String), Nullable: true},
		{Name: "race", Type: arrow.LargeListOf(arrow.BinaryTypes.LargeString), Nullable: true}, {Name: "ethnicity", Type: arrow.BinaryTypes.StringView, Nullable: true},
		{Name: "language", Type: arrow.BinaryTypes.String, Nullable: true}, {Name: "interpreter_needed", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "disability", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	}, nil)
	enrollment := arrow.NewSchema([]arrow.Field{
		{Name: "plan", Type: arrow.BinaryTypes.LargeString, Nullable: true}, {Name: "extra", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "member_id", Type: dict(arrow.PrimitiveTypes.Int32, arrow.BinaryTypes.String)},
		{Name: "start_date", Type: &arrow.TimestampType{Unit: arrow.Nanosecond}}, {Name: "end_date", Type: &arrow.TimestampType{Unit: arrow.Second}},
		{Name: "benefits", Type: arrow.BinaryTypes.String},
	}, nil)
	events := func(value arrow.DataType) *arrow.Schema {
		return arrow.NewSchema([]arrow.Field{
			{Name: "member_id", Type: arrow.BinaryTypes.String}, {Name: "date", Type: arrow.FixedWidthTypes.Date64},
			{Name: "end_date", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
			{Name: "system", Type: dict(arrow.PrimitiveTypes.Int16, arrow.BinaryTypes.String)}, {Name: "code", Type: arrow.BinaryTypes.LargeString},
			{Name: "value", Type: value, Nullable: true}, {Name: "source", Type: arrow.BinaryTypes.String, Nullable: true},
			{Name: "claim_id", Type: dict(arrow.PrimitiveTypes.Uint32, arrow.BinaryTypes.String), Nullable: true},
		}, nil)
	}
	for _, value := range []arrow.DataType{arrow.PrimitiveTypes.Float32, &arrow.Decimal128Type{Precision: 6, Scale: 2}} {
		t.Run(value.String(), func(t *testing.T) {
			mem := checkedAllocator(t)
			es := events(value)
			recs := cohortArrow(t, mem, members, enrollment, es, 2)
			defer recs.release()
			got, err := FromArrow(context.Background(), recordReader(t, recs.members, members),
				recordReader(t, recs.enrollment, enrollment), recordReader(t, recs.events, es))
			require.NoError(t, err)
			want := wantCohort()
			want.Reconciliation.Files = []FileCount{{"members", "<members>", 4}, {"enrollment", "<enrollment>", 5}, {"events", "<events>", 10}}
			assertData(t, want, got)
		})
	}
}

func writeIPC(t *testing.T, mem memory.Allocator, path string, schema *arrow.Schema, recs []arrow.RecordBatch, stream bool) {
	t.Helper()
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	var w interface {
		Write(arrow.RecordBatch) error
		Close() error
	}
	if stream {
		w = ipc.NewWriter(f, ipc.WithSchema(schema), ipc.WithAllocator(mem))
	} else {
		w, err = ipc.NewFileWriter(f, ipc.WithSchema(schema), ipc.WithAllocator(mem))
		require.NoError(t, err)
	}
	for _, r := range recs {
		require.NoError(t, w.Write(r))
	}
	require.NoError(t, w.Close())
}

func TestLoadIPC(t *testing.T) {
	for _, c := range []struct {
		ext    string
		stream bool
	}{{".arrow", false}, {".feather", false}, {".ipc", false}, {".arrows", true}, {".arrow", true}} {
		t.Run(c.ext+map[bool]string{true: "-stream", false: "-file"}[c.stream], func(t *testing.T) {
			mem := checkedAllocator(t)
			recs := cohortArrow(t, mem, membersSchema, enrollmentSchema, eventsSchema, 3)
			defer recs.release()
			dir := t.TempDir()
			writeIPC(t, mem, filepath.Join(dir, "members"+c.ext), membersSchema, recs.members, c.stream)
			writeIPC(t, mem, filepath.Join(dir, "enrollment"+c.ext), enrollmentSchema, recs.enrollment, c.stream)
			writeIPC(t, mem, filepath.Join(dir, "events"+c.ext), eventsSchema, recs.events, c.stream)
			got, err := LoadDir(context.Background(), dir, WithAllocator(mem))
			require.NoError(t, err)
			want := wantCohort()
			for i := range want.Reconciliation.Files {
				want.Reconciliation.Files[i].File = want.Reconciliation.Files[i].Table + c.ext
			}
			assertData(t, want, got)
		})
	}
}

// TestLoadDirLayouts loads the cohort split into shards and sub-directories
// of mixed formats.
func TestLoadDirLayouts(t *testing.T) {
	mem := checkedAllocator(t)
	recs := cohortArrow(t, mem, membersSchema, enrollmentSchema, eventsSchema, 3)
	defer recs.release()
	dir := t.TempDir()
	writeIPC(t, mem, filepath.Join(dir, "members-0.arrow"), membersSchema, recs.members[:1], false)
	writeIPC(t, mem, filepath.Join(dir, "members-1.arrows"), membersSchema, recs.members[1:], true)
	writeIPC(t, mem, filepath.Join(dir, "enrollment.arrow"), enrollmentSchema, recs.enrollment, false)
	require.NoError(t, os.Mkdir(filepath.Join(dir, "events"), 0o755))
	writeIPC(t, mem, filepath.Join(dir, "events", "part-1.arrow"), eventsSchema, recs.events[2:], false)
	_, _, v := cohortCSV(t)
	lines := strings.SplitAfter(v, "\n")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "events", "part-0.csv"), []byte(strings.Join(lines[:7], "")), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "events", "_SUCCESS"), nil, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.txt"), nil, 0o644))

	got, err := LoadDir(context.Background(), dir, WithAllocator(mem))
	require.NoError(t, err)
	want := wantCohort()
	want.Reconciliation.Files = []FileCount{{"members", "members-0.arrow", 3}, {"members", "members-1.arrows", 1},
		{"enrollment", "enrollment.arrow", 5}, {"events", "part-0.csv", 6}, {"events", "part-1.arrow", 4}}
	assertData(t, want, got)
}

func TestLoadDirErrors(t *testing.T) {
	dir := t.TempDir()
	m, e, _ := cohortCSV(t)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "members.csv"), []byte(m), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "enrollment.csv"), []byte(e), 0o644))
	_, err := LoadDir(context.Background(), dir)
	assert.EqualError(t, err, "eval: load "+dir+": no events table (events.csv, events.parquet, events.arrow, ..., events-*.<ext> or events/)")

	require.NoError(t, os.WriteFile(filepath.Join(dir, "events.csv"), nil, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "members.arrow"), nil, 0o644))
	_, err = LoadDir(context.Background(), dir)
	assert.EqualError(t, err, "eval: load "+dir+": table members is given twice: members.arrow, members.csv")

	_, err = LoadFiles(context.Background(), Files{Members: []string{"members.json"}})
	assert.EqualError(t, err, `members.json: unsupported file extension ".json": want .csv, .parquet, .arrow, .arrows, .ipc or .feather`)

	empty := filepath.Join(dir, "members.arrow")
	_, err = LoadFiles(context.Background(), Files{Members: []string{empty}})
	assert.EqualError(t, err, empty+": empty file: no schema")
}

// TestLoadErrors checks every kind of data error, with its exact message.
func TestLoadErrors(t *testing.T) {
	const (
		members    = "member_id,birth_date\nM1,2000-01-01\nM2,2000-01-02\n"
		enrollment = "member_id,start_date,end_date,benefits\nM1,2024-01-01,2024-12-31,medical\n"
		events     = "member_id,date,system,code\nM1,2024-01-01,CVX,03\n"
	)
	for _, c := range []struct {
		name                        string
		members, enrollment, events string
		want                        string
	}{
		{name: "missing column", members: "member_id,sex\nM1,F\n",
			want: "members.csv: column birth_date: missing required column"},
		{name: "missing event column", events: "member_id,date,system\nM1,2024-01-01,CVX\n",
			want: "events.csv: column code: missing required column"},
		{name: "duplicate column", members: "member_id,birth_date,sex,sex\nM1,2000-01-01,F,F\n",
			want: "members.csv: column sex: duplicate column"},
		{name: "empty file", events: "",
			want: "events.csv: empty file: no header"},
		{name: "only BOM", enrollment: "\xef\xbb\xbf",
			want: "enrollment.csv: empty file: no header"},
		{name: "null member id", members: "member_id,birth_date\nM1,2000-01-01\n,2000-01-01\n",
			want: "members.csv: row 2: column member_id: null value in required column"},
		{name: "blank member id", members: "member_id,birth_date\n\" \",2000-01-01\n",
			want: "members.csv: row 1: column member_id: null value in required column"},
		{name: "null birth date", members: "member_id,birth_date\nM1,\n",
			want: "members.csv: row 1: column birth_date: null value in required column"},
		{name: "null code", events: "member_id,date,system,code\nM1,2024-01-01,CVX,03\nM1,2024-01-01,CVX,\n",
			want: "events.csv: row 2: column code: null value in required column"},
		{name: "null benefits", enrollment: "member_id,start_date,end_date,benefits\nM1,2024-01-01,2024-12-31,\n",
			want: "enrollment.csv: row 1: column benefits: null value in required column"},
		{name: "no such day", events: "member_id,date,system,code\nM1,2024-01-01,CVX,03\nM1,2025-02-30,CVX,03\n",
			want: `events.csv: row 2: column date: invalid date "2025-02-30": no such day`},
		{name: "date format", members: "member_id,birth_date\nM1,1/2/2000\n",
			want: `members.csv: row 1: column birth_date: invalid date "1/2/2000": want YYYY-MM-DD`},
		{name: "end before start", enrollment: "member_id,start_date,end_date,benefits\nM1,2024-02-01,2024-01-01,medical\n",
			want: "enrollment.csv: row 1: column end_date: end 2024-01-01 is before start 2024-02-01"},
		{name: "unknown benefit", enrollment: "member_id,start_date,end_date,benefits\nM1,2024-01-01,2024-12-31,medical;vision\n",
			want: `enrollment.csv: row 1: column benefits: unknown benefit "vision": want medical, dental, mental_health, chemical_dependency or pharmacy`},
		{name: "duplicate member", members: "member_id,birth_date\nM2,2000-01-01\nM1,2000-01-01\nM2,2000-01-01\n",
			want: `members.csv: row 3: column member_id: duplicate member id "M2" (first at row 1)`},
		{name: "bad boolean", members: "member_id,birth_date,disability\nM1,2000-01-01,maybe\n",
			want: `members.csv: row 1: column disability: invalid boolean "maybe": want true/false, 1/0 or yes/no`},
		{name: "bad number", events: "member_id,date,system,code,value\nM1,2024-01-01,LOINC,1-8,abc\n",
			want: `events.csv: row 1: column value: invalid number "abc"`},
		{name: "field count", members: "member_id,birth_date\nM1,2000-01-01\nM2\n",
			want: "members.csv: row 2: 1 fields, want 2 as in the header"},
		{name: "bare quote", members: "member_id,birth_date\nM\"1,2000-01-01\n",
			want: `members.csv: row 1: bare " in non-quoted-field (line 2, column 2)`},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, e, v := members, enrollment, events
			if c.members != "" {
				m = c.members
			}
			if c.enrollment != "" {
				e = c.enrollment
			}
			if c.events != "" || c.name == "empty file" {
				v = c.events
			}
			got, err := loadCSV(context.Background(), m, e, v)
			assert.Nil(t, got)
			require.Error(t, err)
			assert.Equal(t, c.want, err.Error())
			var de *DataError
			assert.ErrorAs(t, err, &de)
		})
	}
}

func TestDuplicateMemberAcrossFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
		return p
	}
	files := Files{
		Members: []string{write("members-1.csv", "member_id,birth_date\nM1,2000-01-01\nM2,2000-01-01\n"),
			write("members-2.csv", "member_id,birth_date\nM3,2000-01-01\nM2,2000-01-01\n")},
	}
	_, err := LoadFiles(context.Background(), files)
	assert.EqualError(t, err, files.Members[1]+`: row 2: column member_id: duplicate member id "M2" (first in `+files.Members[0]+` row 2)`)
}

func TestArrowErrors(t *testing.T) {
	mem := checkedAllocator(t)
	badMembers := arrow.NewSchema([]arrow.Field{{Name: "member_id", Type: arrow.BinaryTypes.String}, {Name: "birth_date", Type: arrow.PrimitiveTypes.Int64}}, nil)
	badEvents := arrow.NewSchema([]arrow.Field{{Name: "member_id", Type: arrow.BinaryTypes.String}, {Name: "date", Type: arrow.FixedWidthTypes.Date32},
		{Name: "system", Type: arrow.BinaryTypes.String}, {Name: "code", Type: arrow.PrimitiveTypes.Int32}}, nil)
	badValue := arrow.NewSchema([]arrow.Field{{Name: "member_id", Type: arrow.BinaryTypes.String}, {Name: "date", Type: arrow.FixedWidthTypes.Date32},
		{Name: "system", Type: arrow.BinaryTypes.String}, {Name: "code", Type: arrow.BinaryTypes.String}, {Name: "value", Type: arrow.BinaryTypes.String}}, nil)
	badAttr := arrow.NewSchema([]arrow.Field{{Name: "member_id", Type: arrow.BinaryTypes.String}, {Name: "birth_date", Type: arrow.FixedWidthTypes.Date32},
		{Name: "photo", Type: arrow.BinaryTypes.Binary}}, nil)
	for _, c := range []struct {
		name       string
		members    *arrow.Schema
		membersCSV string
		events     *arrow.Schema
		eventsCSV  string
		want       string
	}{
		{name: "wrong date type", members: badMembers, membersCSV: "member_id,birth_date\nM1,3\n",
			want: "<members>: column birth_date: type int64, want date32, date64 or timestamp"},
		{name: "wrong code type", events: badEvents, eventsCSV: "member_id,date,system,code\nM1,2024-01-01,CVX,3\n",
			want: "<events>: column code: type int32, want utf8, large_utf8 or dictionary of utf8"},
		{name: "wrong value type", events: badValue, eventsCSV: "member_id,date,system,code,value\nM1,2024-01-01,CVX,3,x\n",
			want: "<events>: column value: type utf8, want a floating point, integer or decimal number"},
		{name: "unsupported attribute", members: badAttr, membersCSV: "member_id,birth_date,photo\nM1,2000-01-01,\n",
			want: "<members>: column photo: type binary is not supported for a member attribute"},
		{name: "null date", eventsCSV: "member_id,date,system,code\nM1,2024-01-01,CVX,3\nM1,2024-01-01,CVX,3\nM1,,CVX,3\n",
			want: "<events>: row 3: column date: null value in required column"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ms, mcsv := membersSchema, "member_id,birth_date\nM1,2000-01-01\n"
			if c.members != nil {
				ms = c.members
			}
			if c.membersCSV != "" {
				mcsv = c.membersCSV
			}
			es, ecsv := eventsSchema, "member_id,date,system,code\nM1,2024-01-01,CVX,03\n"
			if c.events != nil {
				es = c.events
			}
			if c.eventsCSV != "" {
				ecsv = c.eventsCSV
			}
			mr := records(t, mem, ms, mcsv, 2)
			er := records(t, mem, es, ecsv, 2)
			defer (&cohortRecords{members: mr, events: er}).release()
			got, err := FromArrow(context.Background(), recordReader(t, mr, ms), nil, recordReader(t, er, es))
			assert.Nil(t, got)
			require.Error(t, err)
			assert.Equal(t, c.want, err.Error())
		})
	}
}

func TestSetAsideAndStrict(t *testing.T) {
	members := "member_id,birth_date\nM1,2000-01-01\n"
	enrollment := "member_id,start_date,end_date,benefits\nM1,2024-01-01,2024-12-31,medical\nZ1,2024-01-01,2024-12-31,medical\n"
	events := "member_id,date,system,code\n"
	for _, id := range []string{"X7", "X2", "M1", "X6", "X1", "X2", "X5", "X3", "X4"} {
		events += id + ",2024-01-01,CVX,03\n"
	}
	got, err := loadCSV(context.Background(), members, enrollment, events)
	require.NoError(t, err)
	assert.Equal(t, Reconciliation{
		Files: []FileCount{{"members", "members.csv", 1}, {"enrollment", "enrollment.csv", 2}, {"events", "events.csv", 9}},
		SetAside: []SetAside{
			{Table: "enrollment", Reason: "member_id not in members", Rows: 1, Examples: []string{"Z1"}},
			{Table: "events", Reason: "member_id not in members", Rows: 8, Examples: []string{"X1", "X2", "X3", "X4", "X5"}},
		},
		Used: []TableCount{{"members", 1}, {"enrollment", 1}, {"events", 1}},
	}, got.Reconciliation)
	assert.Len(t, got.Events, 1)
	assert.Len(t, got.Spans, 1)
	assert.Equal(t, []string{"CVX"}, got.Codes.Systems)

	_, err = loadCSV(context.Background(), members, enrollment, events, WithStrict(true))
	assert.EqualError(t, err, `enrollment.csv: row 2: column member_id: member "Z1" is not in members (1 row set aside in strict mode)`)
	_, err = loadCSV(context.Background(), members, "member_id,start_date,end_date,benefits\n", events, WithStrict(true))
	assert.EqualError(t, err, `events.csv: row 1: column member_id: member "X7" is not in members (8 rows set aside in strict mode)`)
	got, err = loadCSV(context.Background(), members, "member_id,start_date,end_date,benefits\n", "member_id,date,system,code\n", WithStrict(true))
	require.NoError(t, err)
	assert.Len(t, got.Members, 1)
}

// TestDeterminism shuffles the rows of every table, and splits events over
// several files: the Data must not change.
func TestDeterminism(t *testing.T) {
	m, e, v := cohortCSV(t)
	want, err := loadCSV(context.Background(), m, e, v)
	require.NoError(t, err)
	shuffle := func(r *rand.Rand, text string) string {
		rows, err := csv.NewReader(strings.NewReader(text)).ReadAll()
		require.NoError(t, err)
		body := rows[1:]
		r.Shuffle(len(body), func(i, j int) { body[i], body[j] = body[j], body[i] })
		var b strings.Builder
		w := csv.NewWriter(&b)
		require.NoError(t, w.WriteAll(rows))
		return b.String()
	}
	for seed := range uint64(20) {
		r := rand.New(rand.NewPCG(seed, 1))
		got, err := loadCSV(context.Background(), shuffle(r, m), shuffle(r, e), shuffle(r, v))
		require.NoError(t, err)
		assertData(t, want, got)
	}

	dir := t.TempDir()
	var files Files
	for i, part := range []string{"member_id,date,end_date,system,code,value,source,claim_id\n" + strings.Join(strings.SplitAfter(v, "\n")[6:], ""),
		strings.Join(strings.SplitAfter(v, "\n")[:6], "")} {
		p := filepath.Join(dir, "events-"+string(rune('a'+i))+".csv")
		require.NoError(t, os.WriteFile(p, []byte(part), 0o644))
		files.Events = append(files.Events, p)
	}
	files.Members = []string{filepath.Join(cohortDir, "members.csv")}
	files.Enrollment = []string{filepath.Join(cohortDir, "enrollment.csv")}
	got, err := LoadFiles(context.Background(), files)
	require.NoError(t, err)
	split := comparable(got)
	split.Reconciliation.Files = comparable(want).Reconciliation.Files
	assert.Equal(t, comparable(want), split)
}

func TestMemberAttributes(t *testing.T) {
	mem := checkedAllocator(t)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "member_id", Type: arrow.BinaryTypes.String}, {Name: "birth_date", Type: arrow.FixedWidthTypes.Date32},
		{Name: "cco", Type: arrow.BinaryTypes.LargeString, Nullable: true}, {Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "visits", Type: arrow.PrimitiveTypes.Int64, Nullable: true}, {Name: "flag", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "enrolled", Type: &arrow.TimestampType{Unit: arrow.Second}, Nullable: true}, {Name: "tags", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
	}, nil)
	recs := records(t, mem, schema, `member_id,birth_date,cco,score,visits,flag,enrolled,tags
M2,2000-01-01,A,1.5,3,true,2020-02-03,x;y
M1,2000-01-01,,,,,,
M3,2000-01-01,B,-2,0,false,1969-12-31,z
`, 2)
	defer (&cohortRecords{members: recs}).release()
	got, err := FromArrow(context.Background(), recordReader(t, recs, schema), nil, nil)
	require.NoError(t, err)
	nan := math.NaN()
	want := []Attribute{
		{Name: "cco", Kind: AttrString, Strings: []string{"", "A", "B"}},
		{Name: "score", Kind: AttrFloat, Floats: []float64{nan, 1.5, -2}},
		{Name: "visits", Kind: AttrInt, Ints: []int64{0, 3, 0}},
		{Name: "flag", Kind: AttrBool, Bools: []bool{false, true, false}},
		{Name: "enrolled", Kind: AttrDate, Dates: []metric.Date{metric.NoDate, d("2020-02-03"), d("1969-12-31")}},
		{Name: "tags", Kind: AttrStrings, Lists: [][]string{nil, {"x", "y"}, {"z"}}},
	}
	assert.Equal(t, comparable(&Data{Attributes: want}).Attributes, comparable(got).Attributes)

	// CSV attributes are strings; a file without a column reads as null.
	dir := t.TempDir()
	p1, p2 := filepath.Join(dir, "m1.csv"), filepath.Join(dir, "m2.csv")
	require.NoError(t, os.WriteFile(p1, []byte("member_id,birth_date,cco\nM2,2000-01-01,A\n"), 0o644))
	require.NoError(t, os.WriteFile(p2, []byte("member_id,pcp,birth_date\nM1,7,2000-01-01\n"), 0o644))
	got, err = LoadFiles(context.Background(), Files{Members: []string{p1, p2}})
	require.NoError(t, err)
	assert.Equal(t, []Attribute{
		{Name: "cco", Kind: AttrString, Strings: []string{"", "A"}},
		{Name: "pcp", Kind: AttrString, Strings: []string{"7", ""}},
	}, got.Attributes)
}

func TestLoadCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := LoadDir(ctx, cohortDir)
	assert.ErrorIs(t, err, context.Canceled)
}

// TestMembersShareRaceLists checks that members with the same race list,
// in any format, share one slice of it (read from the cache in
// evaluation), keep their own order, and that no list leaks into another.
func TestMembersShareRaceLists(t *testing.T) {
	const members = "member_id,birth_date,death_date,sex,race,ethnicity,language,interpreter_needed,disability\n" +
		"M3,2000-01-01,,F,white;asian,,,,\n" +
		"M1,2000-01-01,,F,White; Asian,,,,\n" + // the same list once normalised
		"M2,2000-01-01,,F,asian;white,,,,\n" + // another order, another list
		"M4,2000-01-01,,F,,,,,\n" +
		"M5,2000-01-01,,F,white,,,,\n"
	d, err := loadCSV(context.Background(), members, "member_id,start_date,end_date,benefits\n", "member_id,date,system,code\n")
	require.NoError(t, err)
	want := [][]string{{"white", "asian"}, {"asian", "white"}, {"white", "asian"}, nil, {"white"}}
	require.Len(t, d.Members, len(want))
	for i, m := range d.Members {
		assert.Equal(t, want[i], m.Race, m.ID)
		assert.Equal(t, len(m.Race), cap(m.Race), "%s: an append to one member's races must not write another's", m.ID)
	}
	assert.Same(t, &d.Members[0].Race[0], &d.Members[2].Race[0], "M1 and M3 share their list")
	assert.NotSame(t, &d.Members[0].Race[0], &d.Members[1].Race[0])
}
