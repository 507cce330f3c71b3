package synth

import (
	"errors"
	"os"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

var utf8List = arrow.ListOf(arrow.BinaryTypes.String)

// Arrow schemas of the three tables (shared/data-model.md); members has an
// extra county column.
var (
	// MembersSchema is the schema of the members table.
	MembersSchema = arrow.NewSchema([]arrow.Field{
		{Name: "member_id", Type: arrow.BinaryTypes.String},
		{Name: "birth_date", Type: arrow.FixedWidthTypes.Date32},
		{Name: "death_date", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "sex", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "race", Type: utf8List, Nullable: true},
		{Name: "ethnicity", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "language", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "interpreter_needed", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "disability", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "county", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)

	// EnrollmentSchema is the schema of the enrollment table.
	EnrollmentSchema = arrow.NewSchema([]arrow.Field{
		{Name: "member_id", Type: arrow.BinaryTypes.String},
		{Name: "start_date", Type: arrow.FixedWidthTypes.Date32},
		{Name: "end_date", Type: arrow.FixedWidthTypes.Date32},
		{Name: "benefits", Type: utf8List},
		{Name: "plan", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)

	// EventsSchema is the schema of the events table.
	EventsSchema = arrow.NewSchema([]arrow.Field{
		{Name: "member_id", Type: arrow.BinaryTypes.String},
		{Name: "date", Type: arrow.FixedWidthTypes.Date32},
		{Name: "end_date", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "system", Type: arrow.BinaryTypes.String},
		{Name: "code", Type: arrow.BinaryTypes.String},
		{Name: "value", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "source", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "claim_id", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
)

// recordWriter is an ipc.FileWriter or a pqarrow.FileWriter.
type recordWriter interface {
	Write(arrow.RecordBatch) error
	Close() error
}

// table batches rows of one table into records of up to batch rows and
// hands each record to every writer.
type table struct {
	b       *array.RecordBuilder
	batch   int
	writers []recordWriter
	files   []*os.File
}

func (t *table) flushIfFull() error {
	if t.b.Field(0).Len() >= t.batch {
		return t.flush()
	}
	return nil
}

func (t *table) flush() error {
	if t.b.Field(0).Len() == 0 {
		return nil
	}
	rec := t.b.NewRecordBatch()
	defer rec.Release()
	for _, w := range t.writers {
		if err := w.Write(rec); err != nil {
			return err
		}
	}
	return nil
}

func (t *table) close() error {
	err := t.flush()
	for _, w := range t.writers {
		err = errors.Join(err, w.Close())
	}
	for _, f := range t.files {
		// pqarrow closes its file itself.
		if cerr := f.Close(); !errors.Is(cerr, os.ErrClosed) {
			err = errors.Join(err, cerr)
		}
	}
	t.writers, t.files = nil, nil
	t.b.Release()
	return err
}

// arrowSink writes Arrow IPC files and/or Parquet files from the same
// record batches. Parquet is Snappy-compressed, dictionary-encoded, with
// statistics and one row group per batch, and stores the Arrow schema.
type arrowSink struct {
	tables [3]*table
}

// collector is a recordWriter that keeps the records in memory.
type collector struct{ recs []arrow.RecordBatch }

func (c *collector) Write(rec arrow.RecordBatch) error {
	rec.Retain()
	c.recs = append(c.recs, rec)
	return nil
}

func (c *collector) Close() error { return nil }

// Tables is a cohort as in-memory Arrow record batches, in the schemas
// MembersSchema, EnrollmentSchema and EventsSchema.
type Tables struct {
	Members, Enrollment, Events []arrow.RecordBatch
	Stats                       Stats
}

// GenerateArrow generates the cohort of cfg into Arrow record batches of up
// to batchRows rows (< 1 means 1<<20) allocated with mem (nil means
// memory.DefaultAllocator). Release the Tables when done.
func GenerateArrow(cfg Config, mem memory.Allocator, batchRows int) (*Tables, error) {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	if batchRows < 1 {
		batchRows = 1 << 20
	}
	s := &arrowSink{}
	var cs [3]collector
	for i, sc := range []*arrow.Schema{MembersSchema, EnrollmentSchema, EventsSchema} {
		s.tables[i] = &table{b: array.NewRecordBuilder(mem, sc), batch: batchRows, writers: []recordWriter{&cs[i]}}
	}
	st, err := Generate(cfg, s.write)
	err = errors.Join(err, s.close())
	t := &Tables{Members: cs[0].recs, Enrollment: cs[1].recs, Events: cs[2].recs, Stats: st}
	if err != nil {
		t.Release()
		return nil, err
	}
	return t, nil
}

// Readers returns new readers over the batches of the three tables, for
// eval.FromArrow. They can be made any number of times; release them when
// done (the Tables keep their own reference to the batches).
func (t *Tables) Readers() (members, enrollment, events array.RecordReader, err error) {
	var rrs [3]array.RecordReader
	for i, x := range []struct {
		sc   *arrow.Schema
		recs []arrow.RecordBatch
	}{{MembersSchema, t.Members}, {EnrollmentSchema, t.Enrollment}, {EventsSchema, t.Events}} {
		rr, err := array.NewRecordReader(x.sc, x.recs)
		if err != nil {
			for _, r := range rrs[:i] {
				r.Release()
			}
			return nil, nil, nil, err
		}
		rrs[i] = rr
	}
	return rrs[0], rrs[1], rrs[2], nil
}

// Release releases the record batches.
func (t *Tables) Release() {
	for _, recs := range [][]arrow.RecordBatch{t.Members, t.Enrollment, t.Events} {
		for _, r := range recs {
			r.Release()
		}
	}
	t.Members, t.Enrollment, t.Events = nil, nil, nil
}

func newArrowSink(dir string, arrowOut, parquetOut bool, batch int) (*arrowSink, error) {
	mem := memory.DefaultAllocator
	s := &arrowSink{}
	schemas := []*arrow.Schema{MembersSchema, EnrollmentSchema, EventsSchema}
	am, ae, av := FileNames(dir, Arrow)
	pm, pe, pv := FileNames(dir, Parquet)
	arrowNames := []string{am, ae, av}
	parquetNames := []string{pm, pe, pv}
	props := parquet.NewWriterProperties(
		parquet.WithAllocator(mem),
		parquet.WithCompression(compress.Codecs.Snappy),
		parquet.WithDictionaryDefault(true),
		parquet.WithStats(true),
		parquet.WithMaxRowGroupLength(int64(batch)),
		parquet.WithCreatedBy("caremetrics examples/gen"),
	)
	aprops := pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema(), pqarrow.WithAllocator(mem))
	for i, sc := range schemas {
		t := &table{b: array.NewRecordBuilder(mem, sc), batch: batch}
		s.tables[i] = t
		if arrowOut {
			f, err := os.Create(arrowNames[i])
			if err != nil {
				s.close()
				return nil, err
			}
			t.files = append(t.files, f)
			w, err := ipc.NewFileWriter(f, ipc.WithSchema(sc), ipc.WithAllocator(mem))
			if err != nil {
				s.close()
				return nil, err
			}
			t.writers = append(t.writers, w)
		}
		if parquetOut {
			f, err := os.Create(parquetNames[i])
			if err != nil {
				s.close()
				return nil, err
			}
			t.files = append(t.files, f)
			w, err := pqarrow.NewFileWriter(sc, f, props, aprops)
			if err != nil {
				s.close()
				return nil, err
			}
			t.writers = append(t.writers, w)
		}
	}
	return s, nil
}

func appendOptString(b *array.StringBuilder, s string) {
	if s == "" {
		b.AppendNull()
	} else {
		b.Append(s)
	}
}

func appendOptBool(b *array.BooleanBuilder, v int8) {
	if v < 0 {
		b.AppendNull()
	} else {
		b.Append(v == 1)
	}
}

func appendOptDate(b *array.Date32Builder, d day) {
	if d == noDay {
		b.AppendNull()
	} else {
		b.Append(arrow.Date32(d))
	}
}

func (s *arrowSink) write(c *Batch) error {
	// members
	t := s.tables[0]
	f := t.b.Fields()
	id, birth, death := f[0].(*array.StringBuilder), f[1].(*array.Date32Builder), f[2].(*array.Date32Builder)
	sex, race, eth, lang := f[3].(*array.StringBuilder), f[4].(*array.ListBuilder), f[5].(*array.StringBuilder), f[6].(*array.StringBuilder)
	raceV := race.ValueBuilder().(*array.StringBuilder)
	interp, dis, county := f[7].(*array.BooleanBuilder), f[8].(*array.BooleanBuilder), f[9].(*array.StringBuilder)
	for i := range c.Members {
		m := &c.Members[i]
		id.Append(m.ID)
		birth.Append(arrow.Date32(m.Birth))
		appendOptDate(death, m.Death)
		appendOptString(sex, m.Sex)
		if m.RaceNull {
			race.AppendNull()
		} else {
			race.Append(true)
			for _, r := range m.Race {
				raceV.Append(r)
			}
		}
		appendOptString(eth, m.Ethnicity)
		appendOptString(lang, m.Language)
		appendOptBool(interp, m.Interpreter)
		appendOptBool(dis, m.Disability)
		appendOptString(county, m.County)
		if err := t.flushIfFull(); err != nil {
			return err
		}
	}

	// enrollment
	t = s.tables[1]
	f = t.b.Fields()
	id, start, end := f[0].(*array.StringBuilder), f[1].(*array.Date32Builder), f[2].(*array.Date32Builder)
	ben, plan := f[3].(*array.ListBuilder), f[4].(*array.StringBuilder)
	benV := ben.ValueBuilder().(*array.StringBuilder)
	for i := range c.Enrollment {
		e := &c.Enrollment[i]
		id.Append(e.MemberID)
		start.Append(arrow.Date32(e.Start))
		end.Append(arrow.Date32(e.End))
		ben.Append(true)
		for k, name := range benefitNames {
			if e.Benefits&(1<<k) != 0 {
				benV.Append(name)
			}
		}
		appendOptString(plan, e.Plan)
		if err := t.flushIfFull(); err != nil {
			return err
		}
	}

	// events
	t = s.tables[2]
	f = t.b.Fields()
	id, date, endDate := f[0].(*array.StringBuilder), f[1].(*array.Date32Builder), f[2].(*array.Date32Builder)
	system, code, value := f[3].(*array.StringBuilder), f[4].(*array.StringBuilder), f[5].(*array.Float64Builder)
	source, claim := f[6].(*array.StringBuilder), f[7].(*array.StringBuilder)
	for i := range c.Events {
		e := &c.Events[i]
		id.Append(e.MemberID)
		date.Append(arrow.Date32(e.Date))
		appendOptDate(endDate, e.End)
		system.Append(e.System)
		code.Append(e.Code)
		if e.HasValue {
			value.Append(e.Value)
		} else {
			value.AppendNull()
		}
		appendOptString(source, e.Source)
		appendOptString(claim, e.ClaimID)
		if err := t.flushIfFull(); err != nil {
			return err
		}
	}
	return nil
}

func (s *arrowSink) close() error {
	var err error
	for i, t := range s.tables {
		if t != nil {
			err = errors.Join(err, t.close())
			s.tables[i] = nil
		}
	}
	return err
}
