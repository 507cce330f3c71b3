package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/caremetrics/caremetrics/dsl"
	"github.com/caremetrics/caremetrics/eval"
)

// The row path: data not partitioned by member. Files are split into
// units (Parquet row groups, Arrow IPC record batches) read in parallel;
// each unit's rows are routed to Buckets groups by eval.ShardOf(member_id),
// the hash eval.Partition uses, as Arrow IPC chunks keyed by bucket;
// GroupByKey brings every row of a member to one bucket, which is then
// evaluated like a shard. Every row of every table crosses the shuffle, so
// this path costs more than the shard path, where a shard is one file
// group read where it is evaluated; it is for data that arrives
// unpartitioned, and it is what partitioning on a cluster would do.

// tables in the order of their chunk tags.
var tables = [...]string{"members", "enrollment", "events"}

// fileRef is one input file of a table; Index orders the table's files.
type fileRef struct {
	Table int
	Path  string
	Index int
}

// unitRef is one unit of a file: a Parquet row group or an IPC record
// batch.
type unitRef struct {
	Table int
	Path  string
	Index int
	Unit  int
}

// buildRows adds the row path's steps up to the partials.
func buildRows(s beam.Scope, c config) (beam.PCollection, error) {
	if c.Buckets < 1 {
		return beam.PCollection{}, fmt.Errorf("-buckets %d: want at least 1", c.Buckets)
	}
	refs, err := listTables(c.Data, false)
	if err != nil {
		return beam.PCollection{}, err
	}
	s = s.Scope("rows")
	files := beam.CreateList(s, refs)
	units := beam.Reshuffle(s, beam.ParDo(s, &splitFileFn{}, files))
	chunks := beam.ParDo(s, &readUnitFn{Buckets: c.Buckets}, units)
	buckets := beam.GroupByKey(s, chunks)
	return beam.ParDo(s, &evalBucketFn{Spec: c.Spec, Workers: c.Workers, Strict: c.Strict}, buckets), nil
}

// listTables finds the Parquet and Arrow IPC files of each table in dir,
// as eval.LoadDir names them: <table>.EXT, <table>-*.EXT or the files of a
// sub-directory <table>/. The row path does not read CSV: its cells are
// untyped text, which only the loader's CSV reader types; partition CSV
// with examples/shard and take the shard path. csv lists CSV files instead
// of refusing them.
func listTables(dir string, csv bool) ([]fileRef, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var refs []fileRef
	for t, name := range tables {
		var paths []string
		add := func(p string) error {
			switch strings.ToLower(filepath.Ext(p)) {
			case ".parquet", ".arrow", ".ipc", ".feather":
				paths = append(paths, p)
			case ".csv", ".arrows":
				if csv {
					paths = append(paths, p)
					return nil
				}
				return fmt.Errorf("%s: the row path reads Parquet and Arrow IPC files; partition this data with examples/shard and pass -shards", p)
			}
			return nil
		}
		for _, e := range ents {
			n := e.Name()
			if strings.HasPrefix(n, ".") || strings.HasPrefix(n, "_") {
				continue
			}
			switch {
			case e.IsDir() && n == name:
				sub, err := os.ReadDir(filepath.Join(dir, n))
				if err != nil {
					return nil, err
				}
				for _, f := range sub {
					if !f.IsDir() && !strings.HasPrefix(f.Name(), ".") && !strings.HasPrefix(f.Name(), "_") {
						if err := add(filepath.Join(dir, n, f.Name())); err != nil {
							return nil, err
						}
					}
				}
			case e.IsDir():
			case strings.TrimSuffix(n, filepath.Ext(n)) == name || strings.HasPrefix(n, name+"-"):
				if err := add(filepath.Join(dir, n)); err != nil {
					return nil, err
				}
			}
		}
		if len(paths) == 0 && t == 0 {
			return nil, fmt.Errorf("%s: no members table (members.parquet, members-*.parquet, members/, or .arrow)", dir)
		}
		slices.Sort(paths)
		for i, p := range paths {
			refs = append(refs, fileRef{Table: t, Path: p, Index: i})
		}
	}
	return refs, nil
}

// splitFileFn emits the units of a file.
type splitFileFn struct{}

func (splitFileFn) ProcessElement(ctx context.Context, f fileRef, emit func(unitRef)) error {
	n, err := withBatches(ctx, f.Path, func(units int, _ func(int, func(arrow.RecordBatch) error) error) error {
		for u := range units {
			emit(unitRef{Table: f.Table, Path: f.Path, Index: f.Index, Unit: u})
		}
		return nil
	})
	if err != nil {
		return err
	}
	if n == 0 && f.Table == 0 {
		// A members file without row groups still gives its schema to
		// every bucket (unit 0 then reads no rows).
		emit(unitRef{Table: f.Table, Path: f.Path, Index: f.Index})
	}
	return nil
}

// withBatches opens a Parquet or Arrow IPC file and calls fn with its
// number of units and a function reading the record batches of one unit.
// It returns the number of units.
func withBatches(ctx context.Context, path string, fn func(units int, read func(unit int, each func(arrow.RecordBatch) error) error) error) (int, error) {
	mem := memory.DefaultAllocator
	if strings.ToLower(filepath.Ext(path)) == ".parquet" {
		pf, err := file.OpenParquetFile(path, false)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", path, err)
		}
		defer pf.Close()
		fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 64 << 10}, mem)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", path, err)
		}
		units := pf.NumRowGroups()
		return units, fn(units, func(unit int, each func(arrow.RecordBatch) error) error {
			if units == 0 {
				// No row groups: one empty batch of the file's schema.
				schema, err := fr.Schema()
				if err != nil {
					return err
				}
				rec := emptyRecord(schema, mem)
				defer rec.Release()
				return each(rec)
			}
			rr, err := fr.GetRecordReader(ctx, nil, []int{unit})
			if err != nil {
				return err
			}
			defer rr.Release()
			for rr.Next() {
				if err := each(rr.RecordBatch()); err != nil {
					return err
				}
			}
			return rr.Err()
		})
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r, err := ipc.NewFileReader(f, ipc.WithAllocator(mem))
	if err != nil {
		return 0, fmt.Errorf("%s: %w (the row path reads Arrow IPC files, not streams)", path, err)
	}
	defer r.Close()
	units := r.NumRecords()
	return units, fn(units, func(unit int, each func(arrow.RecordBatch) error) error {
		if units == 0 {
			rec := emptyRecord(r.Schema(), mem)
			defer rec.Release()
			return each(rec)
		}
		rec, err := r.RecordBatch(unit)
		if err != nil {
			return err
		}
		return each(rec)
	})
}

// emptyRecord returns a batch of no rows with the given schema.
func emptyRecord(schema *arrow.Schema, mem memory.Allocator) arrow.RecordBatch {
	cols := make([]arrow.Array, schema.NumFields())
	for i, f := range schema.Fields() {
		cols[i] = array.MakeArrayOfNull(mem, f.Type, 0)
		defer cols[i].Release()
	}
	return array.NewRecordBatch(schema, cols, 0)
}

// readUnitFn reads one unit and emits, per bucket, its rows of that bucket
// as a chunk: a tag (table, order) and an Arrow IPC stream. A members unit
// emits a chunk to every bucket, empty or not, so that every bucket has
// the members table's schema, also a bucket that holds only rows of
// members absent from the members table (which its load sets aside).
type readUnitFn struct {
	Buckets int `json:"buckets"`
}

func (f *readUnitFn) ProcessElement(ctx context.Context, u unitRef, emit func(int, []byte)) error {
	idx := make([][]int32, f.Buckets)
	batch := 0
	_, err := withBatches(ctx, u.Path, func(_ int, read func(int, func(arrow.RecordBatch) error) error) error {
		return read(u.Unit, func(rec arrow.RecordBatch) error {
			col := rec.Schema().FieldIndices("member_id")
			if len(col) == 0 {
				return fmt.Errorf("%s: no member_id column", u.Path)
			}
			ids, err := textColumn(rec.Column(col[0]))
			if err != nil {
				return fmt.Errorf("%s: column member_id: %w", u.Path, err)
			}
			for b := range idx {
				idx[b] = idx[b][:0]
			}
			for i := range int(rec.NumRows()) {
				// A null id goes to bucket 0, whose load reports it.
				b := 0
				if id, ok := ids(i); ok {
					b = eval.ShardOf(id, f.Buckets)
				}
				idx[b] = append(idx[b], int32(i))
			}
			for b, rows := range idx {
				if len(rows) == 0 && u.Table != 0 {
					continue
				}
				chunk, err := encodeChunk(ctx, u, batch, rec, rows)
				if err != nil {
					return fmt.Errorf("%s: %w", u.Path, err)
				}
				shuffledBytes.Inc(ctx, int64(len(chunk)))
				emit(b, chunk)
			}
			batch++
			return nil
		})
	})
	return err
}

// textColumn returns a function reading the text cells of a string,
// large string or dictionary-encoded string column.
func textColumn(a arrow.Array) (func(int) (string, bool), error) {
	switch c := a.(type) {
	case *array.String:
		return func(i int) (string, bool) { return c.Value(i), c.IsValid(i) }, nil
	case *array.LargeString:
		return func(i int) (string, bool) { return c.Value(i), c.IsValid(i) }, nil
	case *array.Dictionary:
		dict, err := textColumn(c.Dictionary())
		if err != nil {
			return nil, err
		}
		return func(i int) (string, bool) {
			if !c.IsValid(i) {
				return "", false
			}
			return dict(c.GetValueIndex(i))
		}, nil
	}
	return nil, fmt.Errorf("type %s, want text", a.DataType())
}

// chunkHeader is the tag before a chunk's IPC stream: the table (1 byte)
// and the order of the rows in the input (file, unit, batch; 8 bytes), by
// which a bucket puts its chunks back in input order.
const chunkHeader = 9

func encodeChunk(ctx context.Context, u unitRef, batch int, rec arrow.RecordBatch, rows []int32) ([]byte, error) {
	part, err := take(ctx, rec, rows)
	if err != nil {
		return nil, err
	}
	defer part.Release()
	var buf bytes.Buffer
	var tag [chunkHeader]byte
	tag[0] = byte(u.Table)
	binary.BigEndian.PutUint64(tag[1:], uint64(u.Index)<<44|uint64(u.Unit)<<20|uint64(batch))
	buf.Write(tag[:])
	w := ipc.NewWriter(&buf, ipc.WithSchema(part.Schema()), ipc.WithLZ4())
	if err := w.Write(part); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// take returns the rows of rec at the given indexes.
func take(ctx context.Context, rec arrow.RecordBatch, rows []int32) (arrow.RecordBatch, error) {
	if len(rows) == int(rec.NumRows()) {
		rec.Retain()
		return rec, nil
	}
	b := array.NewInt32Builder(memory.DefaultAllocator)
	defer b.Release()
	b.AppendValues(rows, nil)
	indices := compute.NewDatum(b.NewInt32Array())
	defer indices.Release()
	values := compute.NewDatum(rec)
	defer values.Release()
	out, err := compute.Take(ctx, compute.TakeOptions{BoundsCheck: false}, values, indices)
	if err != nil {
		return nil, err
	}
	return out.(*compute.RecordDatum).Value, nil
}

// evalBucketFn evaluates the rows of one bucket, all rows of its members,
// and emits the partial result as JSON. Setup compiles the measures once
// per instance, as evalShardFn's does.
type evalBucketFn struct {
	Spec    measureSpec `json:"spec"`
	Workers int         `json:"workers,omitempty"`
	Strict  bool        `json:"strict,omitempty"`

	e *evaluator
}

func (f *evalBucketFn) Setup(ctx context.Context) (err error) {
	f.e, err = newEvaluator(ctx, &f.Spec, f.Workers, f.Strict)
	return err
}

type chunk struct {
	table int
	order uint64
	b     []byte
}

func (f *evalBucketFn) ProcessElement(ctx context.Context, bucket int, values func(*[]byte) bool, emit func([]byte)) error {
	start := time.Now()
	var chunks []chunk
	var b []byte
	for values(&b) {
		if len(b) < chunkHeader || int(b[0]) >= len(tables) {
			return fmt.Errorf("bucket %d: malformed chunk", bucket)
		}
		chunks = append(chunks, chunk{table: int(b[0]), order: binary.BigEndian.Uint64(b[1:chunkHeader]), b: b[chunkHeader:]})
	}
	// Input order, whatever order the shuffle delivered.
	slices.SortStableFunc(chunks, func(x, y chunk) int { return cmp.Or(cmp.Compare(x.table, y.table), cmp.Compare(x.order, y.order)) })
	var readers [len(tables)]array.RecordReader
	for t := range tables {
		rr, err := chunkReader(chunks, t)
		if err != nil {
			return fmt.Errorf("bucket %d: %s: %w", bucket, tables[t], err)
		}
		if rr != nil {
			defer rr.Release()
			readers[t] = rr
		}
	}
	if readers[0] == nil {
		return fmt.Errorf("bucket %d: no members chunk", bucket)
	}
	data, err := eval.FromArrow(ctx, readers[0], readers[1], readers[2], f.e.load...)
	if err != nil {
		return fmt.Errorf("bucket %d: %w", bucket, err)
	}
	out, err := f.e.evaluate(ctx, data)
	if err != nil {
		return fmt.Errorf("bucket %d: %w", bucket, err)
	}
	evalMillis.Update(ctx, time.Since(start).Milliseconds())
	emit(out)
	return nil
}

// chunkReader decodes the chunks of table t (in order) into one reader, or
// returns nil when there are none. The table's files must share one
// schema.
func chunkReader(chunks []chunk, t int) (array.RecordReader, error) {
	var recs []arrow.RecordBatch
	release := func() {
		for _, r := range recs {
			r.Release()
		}
	}
	var schema *arrow.Schema
	for _, c := range chunks {
		if c.table != t {
			continue
		}
		r, err := ipc.NewReader(bytes.NewReader(c.b))
		if err != nil {
			release()
			return nil, err
		}
		for r.Next() {
			rec := r.RecordBatch()
			if schema == nil {
				schema = rec.Schema()
			} else if !schema.Equal(rec.Schema()) {
				r.Release()
				release()
				return nil, fmt.Errorf("files with different schemas (%s and %s); the row path needs one schema per table", schema, rec.Schema())
			}
			rec.Retain()
			recs = append(recs, rec)
		}
		err = r.Err()
		r.Release()
		if err != nil {
			release()
			return nil, err
		}
	}
	if schema == nil {
		return nil, nil
	}
	rr, err := array.NewRecordReader(schema, recs)
	release()
	return rr, err
}

// attributes returns the extra member columns of the data in dir (a data
// directory or a shard; every shard has the same columns): from the schema
// of its first members file, loading no rows, or for CSV, whose columns
// are typed by the loader, from loading its members files.
func attributes(ctx context.Context, dir string) (map[string]dsl.AttrKind, error) {
	refs, err := listTables(dir, true)
	if err != nil {
		return nil, err
	}
	if strings.EqualFold(filepath.Ext(refs[0].Path), ".csv") {
		var files eval.Files
		for _, r := range refs {
			if r.Table == 0 {
				files.Members = append(files.Members, r.Path)
			}
		}
		d, err := eval.LoadFiles(ctx, files)
		if err != nil {
			return nil, err
		}
		return d.AttributeKinds(), nil
	}
	var schema *arrow.Schema
	_, err = withBatches(ctx, refs[0].Path, func(units int, read func(int, func(arrow.RecordBatch) error) error) error {
		return read(0, func(rec arrow.RecordBatch) error {
			if schema == nil {
				schema = rec.Schema()
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	if schema == nil {
		return nil, fmt.Errorf("%s: no batch", refs[0].Path)
	}
	rec := emptyRecord(schema, memory.DefaultAllocator)
	defer rec.Release()
	rr, err := array.NewRecordReader(schema, []arrow.RecordBatch{rec})
	if err != nil {
		return nil, err
	}
	defer rr.Release()
	d, err := eval.FromArrow(ctx, rr, nil, nil)
	if err != nil {
		return nil, err
	}
	return d.AttributeKinds(), nil
}
