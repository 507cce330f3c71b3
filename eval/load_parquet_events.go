package eval

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/schema"
	"golang.org/x/sync/errgroup"

	"github.com/caremetrics/caremetrics/dsl"
	"github.com/caremetrics/caremetrics/metric"
)

// The events table is most of a cohort's rows (36 per member in a
// typical Medicaid extract), and reading it through pqarrow costs more
// than the whole of an SQL engine's run: pqarrow copies every string into
// fresh Arrow buffers, and the loader then reads each cell through an
// interface and interns member ids per file before they are resolved
// against the members table. For Parquet event files with the canonical
// flat layout, the loader instead reads the column chunks with
// parquet/file's typed readers, whose values alias the decoded page, and
// turns each value at once into what Data keeps: a member's index (the
// members table is read first), a code id, a day. Nothing is copied but
// the kept rows. Files of any other layout take the pqarrow path, which
// also reports their errors.

// directParquetEvents enables the direct reader; tests turn it off to
// compare it with the pqarrow path.
var directParquetEvents = true

// directRows is the number of rows decoded per column before the rows are
// assembled: small enough that the per-column scratch of a window stays in
// cache, large enough that the per-window overhead does not count.
const directRows = 16 << 10

// eventLayout is the leaf column of each events spec in a Parquet file, -1
// when absent.
type eventLayout [eClaim + 1]int

// directEventLayout returns the columns of a Parquet events file if the
// direct reader can read it: every canonical column flat (a top-level
// leaf, not repeated), text as UTF-8 byte arrays, dates as INT32 days, the
// value as a double, and the required columns present. Anything else is
// read through pqarrow.
func directEventLayout(sc *schema.Schema) (eventLayout, bool) {
	var l eventLayout
	for s := range l {
		l[s] = -1
	}
	for c := 0; c < sc.NumColumns(); c++ {
		col := sc.Column(c)
		path := col.ColumnPath()
		s := -1
		for k := range eventSpecs {
			if eventSpecs[k].name == path[0] {
				s = k
			}
		}
		if s < 0 {
			continue // an extra column: events ignore them
		}
		if len(path) != 1 || l[s] >= 0 || col.MaxRepetitionLevel() != 0 || col.MaxDefinitionLevel() > 1 {
			return l, false
		}
		var ok bool
		lt := col.LogicalType()
		switch eventSpecs[s].kind {
		case kText:
			ok = col.PhysicalType() == parquet.Types.ByteArray && lt != nil && lt.Equals(schema.StringLogicalType{})
		case kDate:
			ok = col.PhysicalType() == parquet.Types.Int32 && lt != nil && lt.Equals(schema.DateLogicalType{})
		case kFloat:
			ok = col.PhysicalType() == parquet.Types.Double && (lt == nil || lt.Equals(schema.NoLogicalType{}))
		}
		if !ok {
			return l, false
		}
		l[s] = c
	}
	for s, spec := range eventSpecs {
		if spec.required && l[s] < 0 {
			return l, false
		}
	}
	return l, true
}

// directFile is a Parquet events file the direct reader reads.
type directFile struct {
	path   string
	layout eventLayout
	// groupRows and groupFirst are each row group's row count and the
	// 1-based file row of its first row.
	groupRows, groupFirst []int64
}

// openDirectEvents returns the direct reading of a Parquet events file, or
// false when the file needs the pqarrow path (including when it cannot be
// opened: that path reports the error).
func openDirectEvents(path string) (*directFile, bool) {
	md, err := parquetMetadata(path)
	if err != nil {
		return nil, false
	}
	layout, ok := directEventLayout(md.Schema)
	if !ok {
		return nil, false
	}
	df := &directFile{path: path, layout: layout}
	first := int64(1)
	for g := range md.NumRowGroups() {
		n := md.RowGroup(g).NumRows()
		df.groupRows = append(df.groupRows, n)
		df.groupFirst = append(df.groupFirst, first)
		first += n
	}
	return df, true
}

// eventRegistry numbers the codes and sources of every directly read
// event file, shared by the workers: each worker keeps its own cache of
// the raw bytes it has seen and takes the lock only for bytes new to it,
// a few hundred times per load.
type eventRegistry struct {
	mu      sync.Mutex
	req     *dsl.Requirements
	codes   localCodes
	needed  []bool
	sources localIDs
}

// code returns the id of (system, code), -1 when the measures loaded for
// cannot use it.
func (r *eventRegistry) code(system, code string) int32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	id := r.codes.id(system, code)
	for int(id) >= len(r.needed) {
		k := r.codes.list[len(r.needed)]
		r.needed = append(r.needed, r.req == nil || r.req.Needs(k[0], k[1]))
	}
	if !r.needed[id] {
		return -1
	}
	return id
}

func (r *eventRegistry) source(s string) int32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sources.id(s)
}

// groupResult is what the direct reader keeps of one row group.
type groupResult struct {
	member   chunks[int32] // member index of each kept event
	events   chunks[Event] // Code and Source index the registry
	unneeded int64
	unknown  unknownIDs
	err      error
}

// readDirectEvents reads the files' row groups on every core, resolving
// member ids against members. It returns one event part whose member
// indexes are already global, and the rows read of each file.
func readDirectEvents(ctx context.Context, files []*directFile, members *keyTable, cfg *loadConfig) (*eventPart, []int64, error) {
	type task struct{ file, group int }
	var tasks []task
	for fi, f := range files {
		for g := range f.groupRows {
			tasks = append(tasks, task{fi, g})
		}
	}
	reg := &eventRegistry{req: cfg.req, codes: localCodes{raw: map[[2]string]int32{}, norm: map[[2]string]int32{}}, sources: newLocalIDs()}
	results := make([]groupResult, len(tasks))
	var next atomic.Int64
	var failed atomic.Bool
	g, gctx := errgroup.WithContext(ctx)
	for range min(runtime.GOMAXPROCS(0), len(tasks)) {
		g.Go(func() error {
			w := newEventWorker(reg, members, cfg.req)
			defer w.close()
			for {
				k := int(next.Add(1) - 1)
				if k >= len(tasks) || failed.Load() {
					return nil
				}
				if err := gctx.Err(); err != nil {
					return err
				}
				t := tasks[k]
				results[k] = w.readGroup(gctx, files[t.file], t.group)
				if results[k].err != nil {
					// Later row groups are not needed: the error of the
					// earliest failing one is reported.
					failed.Store(true)
				}
			}
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	p := newPart(tEvents, "").(*eventPart)
	p.resolved = true
	rows := make([]int64, len(files))
	for k, t := range tasks {
		r := &results[k]
		if r.err != nil {
			return nil, nil, r.err
		}
		rows[t.file] += files[t.file].groupRows[t.group]
		p.member = append(p.member, r.member...)
		p.events = append(p.events, r.events...)
		p.unneeded += r.unneeded
		p.unknown.merge(&r.unknown)
	}
	p.codes = reg.codes
	p.sources = reg.sources
	return p, rows, nil
}

// eventWorker reads row groups one after another, reusing its open files,
// caches and scratch columns.
type eventWorker struct {
	reg     *eventRegistry
	members *keyTable
	req     *dsl.Requirements
	open    map[string]*file.Reader
	osFiles []*os.File

	systems     keyTable // raw system -> its namespace in codes (1-based)
	systemNames []string
	codes       keyTable // (system namespace, raw code) -> registry code, or -1
	sources     keyTable // raw source -> registry source

	// One window of rows, column by column.
	member []int32
	system []uint32
	code   []int32
	date   []metric.Date
	end    []metric.Date
	value  []float64
	source []int16
	claim  []uint64
	// The rows of the window whose member id is not in members, and the
	// ids, for the examples of the rows set aside.
	unknownAt []int
	unknownID []string
	// sel and found are the rows of a page batch whose member is looked up
	// and what was found; touched keeps the lookups' early reads alive.
	sel     []int32
	found   []int32
	touched uint32

	texts  chunkStream[parquet.ByteArray]
	ints   chunkStream[int32]
	floats chunkStream[float64]
}

func newEventWorker(reg *eventRegistry, members *keyTable, req *dsl.Requirements) *eventWorker {
	return &eventWorker{reg: reg, members: members, req: req, open: map[string]*file.Reader{}}
}

func (w *eventWorker) close() {
	for _, r := range w.open {
		r.Close()
	}
	for _, f := range w.osFiles {
		f.Close()
	}
}

func (w *eventWorker) reader(path string) (*file.Reader, error) {
	if r, ok := w.open[path]; ok {
		return r, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r, err := file.NewParquetReader(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	w.osFiles = append(w.osFiles, f)
	w.open[path] = r
	return r, nil
}

// rowError is the first invalid cell of a window: its row within the
// window and the spec of its column. Columns are checked in the order the
// pqarrow path checks the cells of a row, so both report the same cell.
type rowError struct {
	row, spec int
	msg       string
}

func (e *rowError) note(row, spec int, msg string) {
	if e.row < 0 || row < e.row || row == e.row && spec < e.spec {
		*e = rowError{row: row, spec: spec, msg: msg}
	}
}

func (w *eventWorker) readGroup(ctx context.Context, f *directFile, g int) (res groupResult) {
	fail := func(err error) groupResult {
		return groupResult{err: &DataError{File: f.path, Table: tEvents.String(), RowGroup: g, Msg: fmt.Sprintf("invalid Parquet file: %v", err), err: err}}
	}
	pf, err := w.reader(f.path)
	if err != nil {
		return fail(err)
	}
	rg := pf.RowGroup(g)
	read := func(s int) bool { return f.layout[s] >= 0 && eventColumnNeeded(w.req, eventSpecs[s].name) }
	column := func(s int) (file.ColumnChunkReader, error) { return rg.Column(f.layout[s]) }
	var cols [eClaim + 1]file.ColumnChunkReader
	for s := range cols {
		if read(s) {
			if cols[s], err = column(s); err != nil {
				return fail(err)
			}
		}
	}
	n := int(f.groupRows[g])
	for lo := 0; lo < n; lo += directRows {
		if err := ctx.Err(); err != nil {
			return groupResult{err: err}
		}
		m := min(directRows, n-lo)
		w.resize(m)
		bad := rowError{row: -1}
		if err := w.decode(cols, m, &bad); err != nil {
			return fail(err)
		}
		if bad.row >= 0 {
			row := f.groupFirst[g] + int64(lo+bad.row)
			res.err = &DataError{File: f.path, Table: tEvents.String(), Column: eventSpecs[bad.spec].name, Row: row, RowGroup: g, Msg: bad.msg}
			return res
		}
		next := 0
		for k := range m {
			c := w.code[k]
			if c < 0 {
				res.unneeded++
				continue
			}
			mi := w.member[k]
			if mi < 0 {
				// Not null (that failed above), so not in members.
				for w.unknownAt[next] < k {
					next++
				}
				res.unknown.note(w.unknownID[next])
				continue
			}
			res.member.add(mi)
			res.events.add(Event{Date: w.date[k], End: w.end[k], Code: CodeID(c), Source: w.source[k], Claim: w.claim[k], Value: w.value[k]})
		}
	}
	return res
}

func (w *eventWorker) resize(m int) {
	if cap(w.member) < m {
		w.member = make([]int32, m)
		w.system = make([]uint32, m)
		w.code = make([]int32, m)
		w.date = make([]metric.Date, m)
		w.end = make([]metric.Date, m)
		w.value = make([]float64, m)
		w.source = make([]int16, m)
		w.claim = make([]uint64, m)
	}
	w.member, w.system, w.code = w.member[:m], w.system[:m], w.code[:m]
	w.date, w.end, w.value = w.date[:m], w.end[:m], w.value[:m]
	w.source, w.claim = w.source[:m], w.claim[:m]
}

// decode fills the window's columns with the next m rows of each column
// chunk, noting the first invalid cell in bad.
func (w *eventWorker) decode(cols [eClaim + 1]file.ColumnChunkReader, m int, bad *rowError) error {
	const nullMsg = "null value in required column"
	w.unknownAt, w.unknownID = w.unknownAt[:0], w.unknownID[:0]
	err := w.ints.read(cols[eDate], m, func(lo int, vals []int32, null func(int) bool) {
		for k, v := range vals {
			if null(k) {
				bad.note(lo+k, eDate, nullMsg)
			}
			w.date[lo+k] = metric.Date(v)
		}
	})
	if err != nil {
		return err
	}
	err = w.texts.read(cols[eSystem], m, func(lo int, vals []parquet.ByteArray, null func(int) bool) {
		for k, v := range vals {
			w.system[lo+k] = 0
			if null(k) || blank(v) {
				bad.note(lo+k, eSystem, nullMsg)
				continue
			}
			ns, ok := w.systems.get(0, v)
			if !ok {
				w.systemNames = append(w.systemNames, string(v))
				ns = int32(len(w.systemNames))
				w.systems.put(0, v, ns)
			}
			w.system[lo+k] = uint32(ns)
		}
	})
	if err != nil {
		return err
	}
	err = w.texts.read(cols[eCode], m, func(lo int, vals []parquet.ByteArray, null func(int) bool) {
		for k, v := range vals {
			r := lo + k
			w.code[r] = -1
			if null(k) || blank(v) {
				bad.note(r, eCode, nullMsg)
				continue
			}
			ns := w.system[r]
			if ns == 0 {
				continue
			}
			c, ok := w.codes.get(ns, v)
			if !ok {
				c = w.reg.code(w.systemNames[ns-1], string(v))
				w.codes.put(ns, v, c)
			}
			w.code[r] = c
		}
	})
	if err != nil {
		return err
	}
	// Member ids last, so that only rows whose code the measures need
	// pay for the lookup: at a million members the table is larger than
	// the caches, and the lookup is the costliest step of a row.
	err = w.texts.read(cols[eMember], m, func(lo int, vals []parquet.ByteArray, null func(int) bool) {
		sel := w.sel[:0]
		for k, v := range vals {
			r := lo + k
			w.member[r] = -1
			if null(k) || blank(v) {
				bad.note(r, eMember, nullMsg)
				continue
			}
			if w.code[r] >= 0 {
				sel = append(sel, int32(k))
			}
		}
		found := slices.Grow(w.found[:0], len(sel))[:len(sel)]
		w.touched += getMany(w.members, 0, vals, sel, found)
		for n, k := range sel {
			r := lo + int(k)
			if found[n] >= 0 {
				w.member[r] = found[n]
			} else {
				w.unknownAt = append(w.unknownAt, r)
				w.unknownID = append(w.unknownID, string(vals[k]))
			}
		}
		w.sel, w.found = sel, found
	})
	if err != nil {
		return err
	}
	if cols[eEnd] == nil {
		fill(w.end, metric.NoDate)
	} else if err := w.ints.read(cols[eEnd], m, func(lo int, vals []int32, null func(int) bool) {
		for k, v := range vals {
			w.end[lo+k] = metric.Date(v)
			if null(k) {
				w.end[lo+k] = metric.NoDate
			}
		}
	}); err != nil {
		return err
	}
	if cols[eValue] == nil {
		fill(w.value, math.NaN())
	} else if err := w.floats.read(cols[eValue], m, func(lo int, vals []float64, null func(int) bool) {
		for k, v := range vals {
			w.value[lo+k] = v
			if null(k) {
				w.value[lo+k] = math.NaN()
			}
		}
	}); err != nil {
		return err
	}
	if cols[eSource] == nil {
		fill(w.source, -1)
	} else if err := w.texts.read(cols[eSource], m, func(lo int, vals []parquet.ByteArray, null func(int) bool) {
		for k, v := range vals {
			r := lo + k
			w.source[r] = -1
			if null(k) {
				continue
			}
			s, ok := w.sources.get(0, v)
			if !ok {
				s = w.reg.source(string(v))
				w.sources.put(0, v, s)
			}
			if s > math.MaxInt16 {
				if w.code[r] >= 0 {
					bad.note(r, eSource, fmt.Sprintf("more than %d distinct sources", math.MaxInt16+1))
				}
				continue
			}
			w.source[r] = int16(s)
		}
	}); err != nil {
		return err
	}
	if cols[eClaim] == nil {
		fill(w.claim, 0)
	} else if err := w.texts.read(cols[eClaim], m, func(lo int, vals []parquet.ByteArray, null func(int) bool) {
		for k, v := range vals {
			w.claim[lo+k] = 0
			if !null(k) {
				w.claim[lo+k] = dsl.ClaimKey(unsafe.String(unsafe.SliceData(v), len(v)))
			}
		}
	}); err != nil {
		return err
	}
	return nil
}

func fill[T any](xs []T, v T) {
	for i := range xs {
		xs[i] = v
	}
}

// blank reports whether a required text cell counts as null: empty or
// only white space, as the pqarrow path's strings.TrimSpace test.
func blank(v []byte) bool {
	if len(v) == 0 {
		return true
	}
	if c := v[0]; c > ' ' && c < 0x80 {
		return false
	}
	return strings.TrimSpace(unsafe.String(unsafe.SliceData(v), len(v))) == ""
}

var errShortColumn = errors.New("column chunk has fewer values than its row group has rows")

// chunkStream reads one column chunk page batch by page batch. Byte array
// values alias the decoded page, which the next page overwrites, so each
// batch is handed to a callback that converts it before the next is read.
type chunkStream[T any] struct {
	vals []T
	defs []int16
}

type pageReader[T any] interface {
	HasNext() bool
	ReadBatchInPage(batchSize int64, values []T, defLvls, repLvls []int16) (int64, int, error)
	Descriptor() *schema.Column
}

// read passes the next m rows of cr to conv, in batches: lo is the row of
// vals[0] in the window, vals holds one value per row (the zero value for
// a null row) and null reports whether row k of the batch is null.
func (c *chunkStream[T]) read(cr file.ColumnChunkReader, m int, conv func(lo int, vals []T, null func(k int) bool)) error {
	r, ok := cr.(pageReader[T])
	if !ok {
		return fmt.Errorf("column %s: unexpected reader %T", cr.Descriptor().Name(), cr)
	}
	maxDef := r.Descriptor().MaxDefinitionLevel()
	if len(c.vals) < directRows {
		c.vals = make([]T, directRows)
		c.defs = make([]int16, directRows)
	}
	var defs []int16
	null := func(k int) bool { return maxDef > 0 && defs[k] < maxDef }
	var zero T
	for got := 0; got < m; {
		if !r.HasNext() {
			return errShortColumn
		}
		lvls, nv, err := r.ReadBatchInPage(int64(m-got), c.vals, c.defs, nil)
		if err != nil {
			return err
		}
		if lvls == 0 {
			return errShortColumn
		}
		vals := c.vals[:lvls]
		defs = c.defs[:lvls]
		if maxDef > 0 && nv < int(lvls) {
			// Spread the dense non-null values over their rows, from the
			// end so that none is overwritten before it moves.
			j := nv - 1
			for k := int(lvls) - 1; k >= 0; k-- {
				if defs[k] == maxDef {
					vals[k] = vals[j]
					j--
				} else {
					vals[k] = zero
				}
			}
		}
		conv(got, vals, null)
		got += int(lvls)
	}
	return nil
}

// unknownIDs counts the rows of members not in the members table and keeps
// the smallest few distinct ids as examples, so the report does not depend
// on row order and the memory does not grow with the rows.
type unknownIDs struct {
	rows     int64
	examples []string // sorted, distinct, at most maxExamples
}

func (u *unknownIDs) note(s string) {
	u.rows++
	i := 0
	for i < len(u.examples) && u.examples[i] < s {
		i++
	}
	if i < len(u.examples) && u.examples[i] == s || i >= maxExamples {
		return
	}
	u.examples = append(u.examples, "")
	copy(u.examples[i+1:], u.examples[i:])
	u.examples[i] = strings.Clone(s)
	if len(u.examples) > maxExamples {
		u.examples = u.examples[:maxExamples]
	}
}

func (u *unknownIDs) merge(o *unknownIDs) {
	rows := u.rows + o.rows
	for _, s := range o.examples {
		u.note(s)
	}
	u.rows = rows
}
