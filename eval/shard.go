package eval

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/caremetrics/caremetrics/dsl"
	"github.com/caremetrics/caremetrics/metric"
)

// Sharding: a cohort larger than memory is split into member shards on
// disk (Partition), each shard is loaded and evaluated on its own, and the
// reports are merged (EvaluateShards). Every row of a member lands in the
// member's shard, so each shard is a complete cohort of its members and
// the merged report equals the report of the whole cohort.

// ShardOf returns the shard of a member among n: the FNV-1a 64-bit hash
// of the member id as written (not trimmed, as the loader keys members),
// modulo n. It depends on nothing else, so every table, file and run
// agrees.
func ShardOf(memberID string, n int) int {
	// FNV-1a, as hash/fnv's New64a, without its allocation per call.
	const offset64, prime64 = 14695981039346656037, 1099511628211
	h := uint64(offset64)
	for i := 0; i < len(memberID); i++ {
		h ^= uint64(memberID[i])
		h *= prime64
	}
	return int(h % uint64(n))
}

// PartitionOption configures Partition.
type PartitionOption func(*partitionConfig)

type partitionConfig struct {
	format string
	rows   int
	mem    memory.Allocator
}

// WithShardFormat sets the format of the shard files written from Parquet
// and Arrow IPC inputs: "parquet" (default, Snappy-compressed) or "arrow"
// (Arrow IPC file). CSV inputs are always written as CSV: CSV carries no
// types, and a text column is not read as a date from Parquet.
func WithShardFormat(format string) PartitionOption {
	return func(c *partitionConfig) { c.format = format }
}

// WithShardRows sets the number of rows buffered per shard and output
// file before they are written, as one Parquet row group or Arrow record
// batch (default 65,536). Memory grows with n times this.
func WithShardRows(n int) PartitionOption {
	return func(c *partitionConfig) { c.rows = n }
}

// WithPartitionAllocator sets the allocator of the Arrow batches read and
// written (default memory.DefaultAllocator).
func WithPartitionAllocator(mem memory.Allocator) PartitionOption {
	return func(c *partitionConfig) { c.mem = mem }
}

// ManifestName is the file in Partition's output directory describing the
// shards; the loader ignores it (its name starts with "_").
const ManifestName = "_partition.json"

// Partitioning describes the shards written by Partition; it is also
// written to ManifestName in the output directory.
type Partitioning struct {
	// Hash names the function choosing a member's shard (see ShardOf).
	Hash string `json:"hash"`
	// Inputs are the input files with the rows read from each.
	Inputs []FileCount `json:"inputs"`
	// Shards are in shard order.
	Shards []ShardInfo `json:"shards"`
}

// ShardInfo is one shard directory with its rows per table.
type ShardInfo struct {
	// Dir is the shard's directory, shard-NNNN inside the output directory.
	Dir        string   `json:"dir"`
	Members    int64    `json:"members"`
	Enrollment int64    `json:"enrollment"`
	Events     int64    `json:"events"`
	Files      []string `json:"files"`
}

// Dirs returns the shard directories in shard order, for EvaluateShards.
func (p *Partitioning) Dirs() []string {
	out := make([]string, len(p.Shards))
	for i, s := range p.Shards {
		out[i] = s.Dir
	}
	return out
}

// ShardDirs returns the shard directories that Partition wrote to outDir,
// in shard order, from its manifest.
func ShardDirs(outDir string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(outDir, ManifestName))
	if err != nil {
		return nil, fmt.Errorf("eval: %s is not a partition: %w", outDir, err)
	}
	var p Partitioning
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("eval: %s: %w", filepath.Join(outDir, ManifestName), err)
	}
	dirs := p.Dirs()
	for i, d := range dirs {
		if !filepath.IsAbs(d) {
			dirs[i] = filepath.Join(outDir, d)
		}
	}
	return dirs, nil
}

// PartitionDir partitions the tables of dir, found as LoadDir finds them.
func PartitionDir(ctx context.Context, dir, outDir string, n int, opts ...PartitionOption) (*Partitioning, error) {
	files, err := listDir(dir, true)
	if err != nil {
		return nil, err
	}
	return Partition(ctx, files, outDir, n, opts...)
}

// Partition splits a cohort into n member shards on disk: every row of
// every table goes to the shard ShardOf(member_id, n), so that each shard
// is a complete cohort of its members. It writes outDir/shard-0000 ...
// outDir/shard-NNNN (outDir must be new or empty), each with the files
// members.EXT, enrollment.EXT and events.EXT that LoadDir reads, and the
// manifest ManifestName.
//
// Every column is kept with its type, extra columns included; rows are
// written in input order. Input files of a table with the same columns
// (and, for Parquet and Arrow, types) go to one file per shard; a file with
// other columns goes to <table>-1.EXT and so on. Rows of enrollment and
// events whose member is in no members file go to their hash shard too,
// where the loader sets them aside, so the shards' reconciliation adds up
// to that of the whole.
//
// Files are read batch by batch and each shard's rows buffered up to
// WithShardRows rows, so memory is bounded by n times that, whatever the
// size of the cohort. The output depends only on the input and the
// options. Errors in the data are *DataError naming the input file and
// row; on error the shard directories are removed.
func Partition(ctx context.Context, files Files, outDir string, n int, opts ...PartitionOption) (_ *Partitioning, err error) {
	cfg := partitionConfig{format: "parquet", rows: 64 << 10, mem: memory.DefaultAllocator}
	for _, o := range opts {
		o(&cfg)
	}
	if n < 1 {
		return nil, fmt.Errorf("eval: partition: %d shards, want at least 1", n)
	}
	if cfg.format != "parquet" && cfg.format != "arrow" {
		return nil, fmt.Errorf("eval: partition: shard format %q, want parquet or arrow", cfg.format)
	}
	if cfg.rows < 1 {
		return nil, fmt.Errorf("eval: partition: %d rows per write, want at least 1", cfg.rows)
	}
	if len(files.Members) == 0 {
		return nil, fmt.Errorf("eval: no members file")
	}
	lists := [...][]string{files.Members, files.Enrollment, files.Events}
	for t, list := range lists {
		for _, f := range list {
			if _, err := fileSource(tableKind(t), f); err != nil {
				return nil, err
			}
		}
	}
	if ents, err := os.ReadDir(outDir); err == nil && len(ents) > 0 {
		return nil, fmt.Errorf("eval: partition: output directory %s is not empty", outDir)
	}
	res := &Partitioning{Hash: "fnv1a64(member_id) mod " + fmt.Sprint(n), Shards: make([]ShardInfo, n)}
	for s := range res.Shards {
		res.Shards[s].Dir = filepath.Join(outDir, fmt.Sprintf("shard-%04d", s))
		if err := os.MkdirAll(res.Shards[s].Dir, 0o755); err != nil {
			return nil, err
		}
	}
	defer func() {
		if err != nil {
			for _, s := range res.Shards {
				os.RemoveAll(s.Dir)
			}
			os.Remove(filepath.Join(outDir, ManifestName))
		}
	}()
	for t, list := range lists {
		p := &partitioner{cfg: &cfg, ctx: ctx, table: tableKind(t), n: n, shards: res.Shards}
		for _, f := range list {
			rows, err := p.file(f)
			if err == nil {
				err = ctx.Err()
			}
			if err != nil {
				p.close()
				return nil, err
			}
			res.Inputs = append(res.Inputs, FileCount{Table: tableKind(t).String(), File: f, Rows: rows})
		}
		if err := p.close(); err != nil {
			return nil, err
		}
		for s, c := range p.counts {
			switch tableKind(t) {
			case tMembers:
				res.Shards[s].Members = c
			case tEnrollment:
				res.Shards[s].Enrollment = c
			default:
				res.Shards[s].Events = c
			}
		}
	}
	// The manifest names shard directories relative to it.
	man := *res
	man.Shards = slices.Clone(res.Shards)
	for i := range man.Shards {
		man.Shards[i].Dir = filepath.Base(man.Shards[i].Dir)
	}
	b, err := json.MarshalIndent(&man, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(outDir, ManifestName), append(b, '\n'), 0o644); err != nil {
		return nil, err
	}
	return res, nil
}

// partitioner routes the rows of the files of one table to the shards.
type partitioner struct {
	cfg    *partitionConfig
	ctx    context.Context
	table  tableKind
	n      int
	shards []ShardInfo
	// groups are the output files per distinct input schema, in order of
	// first appearance: the first is <table>.EXT, the next <table>-1.EXT.
	groups []*outGroup
	counts []int64 // rows written per shard

	shardOf []int32   // scratch: shard of each row of a batch
	idx     [][]int32 // scratch: rows of each shard
}

// outGroup is one output file per shard for the inputs of one schema.
type outGroup struct {
	csvHeader []string      // CSV inputs
	schema    *arrow.Schema // Parquet and Arrow inputs
	csv       []*csvShard
	arrow     []*arrowShard
}

func (p *partitioner) outName(g int, ext string) string {
	if g == 0 {
		return p.table.String() + "." + ext
	}
	return fmt.Sprintf("%s-%d.%s", p.table, g, ext)
}

func (p *partitioner) dataErr(name string, row int64, col, format string, args ...any) *DataError {
	return &DataError{File: name, Table: p.table.String(), Column: col, Row: row, RowGroup: -1, Msg: fmt.Sprintf(format, args...)}
}

// file partitions one input file and returns its number of rows.
func (p *partitioner) file(path string) (int64, error) {
	if p.counts == nil {
		p.counts = make([]int64, p.n)
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		return p.csvFile(path)
	case ".parquet":
		return p.parquetFile(path)
	default:
		return p.ipcFile(path)
	}
}

// close flushes and closes every output file; it returns the first error.
func (p *partitioner) close() error {
	var first error
	for _, g := range p.groups {
		for _, c := range g.csv {
			if err := c.close(); err != nil && first == nil {
				first = err
			}
		}
		for _, a := range g.arrow {
			if err := a.close(); err != nil && first == nil {
				first = err
			}
		}
	}
	p.groups = nil
	return first
}

// csvFile copies the rows of a CSV file, cells as text, to the shards.
func (p *partitioner) csvFile(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	cr, cells, msg := openCSV(p.table, f)
	if msg != "" {
		return 0, p.dataErr(path, 0, "", "%s", msg)
	}
	parseErr := func(row int64, err error) error {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return p.dataErr(path, row, "", "%v (line %d, column %d)", pe.Err, pe.Line, pe.Column)
		}
		return err
	}
	head, err := cr.Read()
	if err == io.EOF {
		return 0, p.dataErr(path, 0, "", "empty file: no header")
	}
	if err != nil {
		return 0, parseErr(0, err)
	}
	head = slices.Clone(head)
	if msg := cells.header(head); msg != "" {
		return 0, p.dataErr(path, 0, "", "%s", msg)
	}
	idCol := slices.Index(cells.names, "member_id")
	if idCol < 0 {
		return 0, p.dataErr(path, 0, "member_id", "missing required column")
	}
	var g *outGroup
	for _, x := range p.groups {
		if x.csvHeader != nil && slices.Equal(x.csvHeader, head) {
			g = x
		}
	}
	if g == nil {
		g = &outGroup{csvHeader: head, csv: make([]*csvShard, p.n)}
		name := p.outName(len(p.groups), "csv")
		p.groups = append(p.groups, g)
		for s := range g.csv {
			c, err := newCSVShard(filepath.Join(p.shards[s].Dir, name), head)
			if err != nil {
				return 0, err
			}
			g.csv[s] = c
			p.shards[s].Files = append(p.shards[s].Files, name)
		}
	}
	var rows int64
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return rows, parseErr(rows+1, err)
		}
		rows++
		if len(rec) != len(head) {
			return rows, p.dataErr(path, rows, "", "%d fields, want %d as in the header", len(rec), len(head))
		}
		if j, msg := cells.check(rec); msg != "" {
			return rows, p.dataErr(path, rows, cells.names[j], "%s", msg)
		}
		id := rec[idCol]
		if strings.TrimSpace(id) == "" {
			return rows, p.dataErr(path, rows, "member_id", "null value in required column")
		}
		s := ShardOf(id, p.n)
		if err := g.csv[s].w.Write(rec); err != nil {
			return rows, err
		}
		p.counts[s]++
		if rows%(64<<10) == 0 {
			if err := p.ctx.Err(); err != nil {
				return rows, err
			}
		}
	}
}

func (p *partitioner) parquetFile(path string) (rows int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	mem := p.cfg.mem
	fail := func(err error) (int64, error) {
		return 0, &DataError{File: path, Table: p.table.String(), RowGroup: -1, Msg: fmt.Sprintf("invalid Parquet file: %v", err), err: err}
	}
	// arrow-go panics on some corrupt footers and pages (see parquetSource).
	defer func() {
		if r := recover(); r != nil {
			rows, err = fail(fmt.Errorf("corrupt data: %v", r))
		}
	}()
	pf, err := file.NewParquetReader(f, file.WithReadProps(parquet.NewReaderProperties(mem)))
	if err != nil {
		return fail(err)
	}
	defer pf.Close()
	if err := checkStoredArrowSchema(pf.MetaData()); err != nil {
		return fail(err)
	}
	// Not Parallel, so that a panic on a corrupt page is recovered above.
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: int64(p.cfg.rows)}, mem)
	if err != nil {
		return fail(err)
	}
	md := pf.MetaData()
	rowGroup := rowGroupOf(md)
	rr, err := fr.GetRecordReader(p.ctx, nil, nil)
	if err != nil {
		return fail(err)
	}
	defer rr.Release()
	return p.records(path, rr, rowGroup)
}

func (p *partitioner) ipcFile(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	br, closeReader, err := openIPC(f, p.cfg.mem)
	if err != nil {
		if errors.Is(err, errEmptyIPC) {
			return 0, p.dataErr(path, 0, "", "empty file: no schema")
		}
		return 0, &DataError{File: path, Table: p.table.String(), RowGroup: -1, Msg: fmt.Sprintf("invalid Arrow IPC data: %v", err), err: err}
	}
	defer closeReader()
	return p.records(path, br, nil)
}

// records routes the record batches of an Arrow source to the shards.
func (p *partitioner) records(name string, rr batchReader, rowGroup func(int64) int) (int64, error) {
	schema := rr.Schema()
	if schema == nil {
		return 0, p.dataErr(name, 0, "", "no schema")
	}
	idCol := -1
	for j, f := range schema.Fields() {
		if f.Name == "member_id" {
			idCol = j
			break
		}
	}
	if idCol < 0 {
		return 0, p.dataErr(name, 0, "member_id", "missing required column")
	}
	if dt := schema.Field(idCol).Type; !isText(dt) {
		return 0, p.dataErr(name, 0, "member_id", "type %s, want %s", dt, kindWant[kText])
	}
	var g *outGroup
	for _, x := range p.groups {
		if x.schema != nil && x.schema.Equal(schema) {
			g = x
		}
	}
	if g == nil {
		g = &outGroup{schema: schema, arrow: make([]*arrowShard, p.n)}
		name := p.outName(len(p.groups), p.cfg.format)
		p.groups = append(p.groups, g)
		for s := range g.arrow {
			a, err := newArrowShard(filepath.Join(p.shards[s].Dir, name), schema, p.cfg)
			if err != nil {
				return 0, err
			}
			g.arrow[s] = a
			p.shards[s].Files = append(p.shards[s].Files, name)
		}
	}
	if p.idx == nil {
		p.idx = make([][]int32, p.n)
	}
	ctx := compute.WithAllocator(p.ctx, p.cfg.mem)
	var rows int64
	for rr.Next() {
		if err := p.ctx.Err(); err != nil {
			return rows, err
		}
		rec := rr.RecordBatch()
		if !rec.Schema().Equal(schema) {
			return rows, p.dataErr(name, rows+1, "", "batch schema differs from the schema of the source")
		}
		if err := p.route(ctx, g, rec, rows+1); err != nil {
			var de *DataError
			if errors.As(err, &de) {
				de.File = name
				if rowGroup != nil && de.Row > 0 {
					de.RowGroup = rowGroup(de.Row)
				}
			}
			return rows, err
		}
		rows += rec.NumRows()
	}
	if err := rr.Err(); err != nil {
		return rows, &DataError{File: name, Table: p.table.String(), RowGroup: -1, Msg: fmt.Sprintf("reading batches: %v", err), err: err}
	}
	return rows, nil
}

// route appends the rows of rec to their shards' buffers, taking each
// shard's rows with one compute.Take per column. first is the 1-based row
// number of rec's row 0, for errors.
func (p *partitioner) route(ctx context.Context, g *outGroup, rec arrow.RecordBatch, first int64) error {
	ids, err := bindText(rec.Column(g.schema.FieldIndices("member_id")[0]))
	if err != nil {
		return p.dataErr("", 0, "member_id", "%v", err)
	}
	n := int(rec.NumRows())
	for s := range p.idx {
		p.idx[s] = p.idx[s][:0]
	}
	for i := range n {
		id, ok := ids.text(i)
		if !ok || strings.TrimSpace(id) == "" {
			return p.dataErr("", first+int64(i), "member_id", "null value in required column")
		}
		s := ShardOf(id, p.n)
		p.idx[s] = append(p.idx[s], int32(i))
	}
	for s, rows := range p.idx {
		if len(rows) == 0 {
			continue
		}
		p.counts[s] += int64(len(rows))
		var part arrow.RecordBatch
		if len(rows) == n {
			rec.Retain()
			part = rec
		} else {
			part, err = takeRows(ctx, rec, rows)
			if err != nil {
				return err
			}
		}
		if err := g.arrow[s].add(part); err != nil {
			return err
		}
	}
	return nil
}

// takeRows returns the rows of rec at the given indexes.
func takeRows(ctx context.Context, rec arrow.RecordBatch, rows []int32) (arrow.RecordBatch, error) {
	buf := memory.NewBufferBytes(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(rows))), 4*len(rows)))
	data := array.NewData(arrow.PrimitiveTypes.Int32, len(rows), []*memory.Buffer{nil, buf}, nil, 0, 0)
	defer data.Release()
	indices := array.NewInt32Data(data)
	defer indices.Release()
	cols := make([]arrow.Array, rec.NumCols())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for j := range cols {
		c, err := compute.TakeArrayOpts(ctx, rec.Column(j), indices, compute.TakeOptions{BoundsCheck: false})
		if err != nil {
			return nil, fmt.Errorf("eval: partition: column %s: %w", rec.Schema().Field(j).Name, err)
		}
		cols[j] = c
	}
	return array.NewRecordBatch(rec.Schema(), cols, int64(len(rows))), nil
}

// csvShard is one shard's CSV output file.
type csvShard struct {
	f  *os.File
	bw *bufio.Writer
	w  *csv.Writer
}

func newCSVShard(path string, header []string) (*csvShard, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	c := &csvShard{f: f, bw: bufio.NewWriterSize(f, 1<<16)}
	c.w = csv.NewWriter(c.bw)
	if err := c.w.Write(header); err != nil {
		f.Close()
		return nil, err
	}
	return c, nil
}

func (c *csvShard) close() error {
	c.w.Flush()
	err := c.w.Error()
	if err == nil {
		err = c.bw.Flush()
	}
	if cerr := c.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// arrowShard is one shard's Parquet or Arrow IPC output file, with the
// batches taken for it not yet written.
type arrowShard struct {
	f       *os.File
	w       interface{ Write(arrow.RecordBatch) error }
	closer  func() error
	mem     memory.Allocator
	flushAt int
	pending []arrow.RecordBatch
	rows    int
}

func newArrowShard(path string, schema *arrow.Schema, cfg *partitionConfig) (*arrowShard, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	a := &arrowShard{f: f, mem: cfg.mem, flushAt: cfg.rows}
	if cfg.format == "arrow" {
		w, err := ipc.NewFileWriter(f, ipc.WithSchema(schema), ipc.WithAllocator(cfg.mem))
		if err != nil {
			f.Close()
			return nil, err
		}
		a.w, a.closer = w, w.Close
		return a, nil
	}
	w, err := pqarrow.NewFileWriter(schema, f,
		parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy), parquet.WithAllocator(cfg.mem),
			parquet.WithMaxRowGroupLength(int64(cfg.rows)*4)),
		pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema(), pqarrow.WithAllocator(cfg.mem)))
	if err != nil {
		f.Close()
		return nil, err
	}
	a.w, a.closer = w, w.Close
	return a, nil
}

// add buffers rec, which a takes over, and writes the buffer once it
// holds flushAt rows.
func (a *arrowShard) add(rec arrow.RecordBatch) error {
	a.pending = append(a.pending, rec)
	a.rows += int(rec.NumRows())
	if a.rows >= a.flushAt {
		return a.flush()
	}
	return nil
}

// flush writes the buffered batches as one batch (one Parquet row group).
func (a *arrowShard) flush() error {
	if a.rows == 0 {
		return nil
	}
	defer func() {
		for _, r := range a.pending {
			r.Release()
		}
		a.pending, a.rows = a.pending[:0], 0
	}()
	if len(a.pending) == 1 {
		return a.w.Write(a.pending[0])
	}
	schema := a.pending[0].Schema()
	cols := make([]arrow.Array, schema.NumFields())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	chunks := make([]arrow.Array, len(a.pending))
	for j := range cols {
		for k, r := range a.pending {
			chunks[k] = r.Column(j)
		}
		c, err := array.Concatenate(chunks, a.mem)
		if err != nil {
			return fmt.Errorf("eval: partition: column %s: %w", schema.Field(j).Name, err)
		}
		cols[j] = c
	}
	rec := array.NewRecordBatch(schema, cols, int64(a.rows))
	defer rec.Release()
	return a.w.Write(rec)
}

func (a *arrowShard) close() error {
	err := a.flush()
	for _, r := range a.pending {
		r.Release()
	}
	a.pending = nil
	if cerr := a.closer(); err == nil {
		err = cerr
	}
	// The Parquet writer closes the file itself; closing twice is harmless.
	if cerr := a.f.Close(); err == nil && cerr != nil && !errors.Is(cerr, os.ErrClosed) {
		err = cerr
	}
	return err
}

// listDir finds the files of each table in dir as LoadDir does: the file
// <table>.<ext>, the files <table>-*.<ext> and the files of a
// sub-directory <table>/. Members is always required; enrollment and events
// only when all is set.
func listDir(dir string, all bool) (Files, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return Files{}, err
	}
	var lists [3][]string
	for t, name := range tableNames {
		var whole []string
		for _, e := range ents {
			n := e.Name()
			switch {
			case e.IsDir() && n == name:
				sub, err := os.ReadDir(filepath.Join(dir, n))
				if err != nil {
					return Files{}, err
				}
				for _, s := range sub {
					if !s.IsDir() && dataFile(s.Name()) {
						lists[t] = append(lists[t], filepath.Join(dir, n, s.Name()))
					}
				}
			case e.IsDir() || !dataFile(n):
			case strings.TrimSuffix(n, filepath.Ext(n)) == name:
				whole = append(whole, n)
				lists[t] = append(lists[t], filepath.Join(dir, n))
			case strings.HasPrefix(n, name+"-"):
				lists[t] = append(lists[t], filepath.Join(dir, n))
			}
		}
		if len(whole) > 1 {
			return Files{}, fmt.Errorf("eval: load %s: table %s is given twice: %s", dir, name, strings.Join(whole, ", "))
		}
		if len(lists[t]) == 0 && (all || tableKind(t) == tMembers) {
			return Files{}, fmt.Errorf("eval: load %s: no %s table (%[2]s.csv, %[2]s.parquet, %[2]s.arrow, ..., %[2]s-*.<ext> or %[2]s/)", dir, name)
		}
		slices.Sort(lists[t])
	}
	return Files{Members: lists[0], Enrollment: lists[1], Events: lists[2]}, nil
}

// ShardsOption configures EvaluateShards.
type ShardsOption func(*shardsConfig)

type shardsConfig struct {
	load []LoadOption
	eval []Option
	done func(ShardDone) error
}

// WithShardLoad passes options to the loading of each shard.
func WithShardLoad(opts ...LoadOption) ShardsOption {
	return func(c *shardsConfig) { c.load = append(c.load, opts...) }
}

// WithShardEval passes options to the evaluation of each shard.
// WithMemberDetail is allowed but the detail is released with the shard:
// read it in WithShardDone.
func WithShardEval(opts ...Option) ShardsOption {
	return func(c *shardsConfig) { c.eval = append(c.eval, opts...) }
}

// WithShardDone calls fn after each shard is evaluated, before it is
// released; an error stops EvaluateShards.
func WithShardDone(fn func(ShardDone) error) ShardsOption {
	return func(c *shardsConfig) { c.done = fn }
}

// ShardDone is one evaluated shard, passed to WithShardDone's function; Data
// and Result must not be kept.
type ShardDone struct {
	Index  int
	Dir    string
	Data   *Data
	Result *Result
}

// EvaluateShards loads and evaluates the shard directories one after
// another (each found as LoadDir finds tables, but enrollment and events
// may be absent), merging the reports with metric.Report.Merge and
// releasing each shard before the next is loaded, so memory is bounded by
// the largest shard. The shards must hold disjoint members, as Partition
// writes them; the report is then the report of the whole cohort, byte for
// byte: counts add up, rows set aside are summed into one warning per table
// and reason, and a warning that a code system is absent from the data is
// kept only when it is absent from every shard.
func EvaluateShards(ctx context.Context, dirs []string, measures []*dsl.Measure, opts ...ShardsOption) (*metric.Report, error) {
	var cfg shardsConfig
	for _, o := range opts {
		o(&cfg)
	}
	if len(dirs) == 0 {
		return nil, fmt.Errorf("eval: no shards")
	}
	total := &metric.Report{}
	var setAside []SetAside
	absent := map[metric.Warning]int{} // shards warning that a system is absent
	var other []metric.Warning
	// shard loads, evaluates and merges one shard; what it loaded is
	// garbage when it returns.
	shard := func(i int, dir string) error {
		files, err := listDir(dir, false)
		if err != nil {
			return err
		}
		data, err := LoadFiles(ctx, files, cfg.load...)
		if err != nil {
			return err
		}
		res, err := Evaluate(ctx, data, measures, cfg.eval...)
		if err != nil {
			return fmt.Errorf("eval: shard %s: %w", dir, err)
		}
		for _, s := range data.Reconciliation.SetAside {
			k := slices.IndexFunc(setAside, func(x SetAside) bool { return x.Table == s.Table && x.Reason == s.Reason })
			if k < 0 {
				setAside = append(setAside, SetAside{Table: s.Table, Reason: s.Reason})
				k = len(setAside) - 1
			}
			setAside[k].Rows += s.Rows
		}
		for _, w := range slices.Compact(res.Report.Warnings) {
			switch w.Code {
			case "rows-set-aside":
			case "valueset-system-absent", "code-system-absent":
				absent[w]++
			default:
				other = append(other, w)
			}
		}
		rep := *res.Report
		rep.Warnings = nil
		if err := total.Merge(&rep); err != nil {
			return fmt.Errorf("eval: shard %s: %w", dir, err)
		}
		if cfg.done != nil {
			return cfg.done(ShardDone{Index: i, Dir: dir, Data: data, Result: res})
		}
		return nil
	}
	for i, dir := range dirs {
		if err := shard(i, dir); err != nil {
			return nil, err
		}
		// Collect the shard now, so that the next one reuses its memory
		// instead of growing the heap to twice the shard.
		runtime.GC()
	}
	warns := other
	for _, s := range setAside {
		warns = append(warns, setAsideWarning(s))
	}
	for w, k := range absent {
		if k == len(dirs) {
			warns = append(warns, w)
		}
	}
	total.Warnings = warns
	total.Finalize()
	return total, nil
}
