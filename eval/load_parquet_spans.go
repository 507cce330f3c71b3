package eval

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"golang.org/x/sync/errgroup"

	"github.com/caremetrics/caremetrics/metric"
)

// Enrollment files of the canonical Parquet layout are read directly too,
// once the members are known, for the reasons given for events (see
// load_parquet_events.go): a span's member id then costs one lookup in the
// members table, not a per-file intern and a second resolution, and no
// Arrow arrays are built. Spans are a tenth of the events, so they are
// read in one pass into a part each row group, grouped by member as the
// pqarrow path's parts are.

// eachTask runs fn(k) for k in [0, n) on every core, each goroutine with
// its own worker from newWorker (closed when it is done), stopping at the
// first error.
func eachTask[W interface{ close() }](ctx context.Context, n int, newWorker func() W, fn func(ctx context.Context, w W, k int) error) error {
	var next atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	for range min(runtime.GOMAXPROCS(0), n) {
		g.Go(func() error {
			w := newWorker()
			defer w.close()
			for {
				k := int(next.Add(1) - 1)
				if k >= n {
					return nil
				}
				if err := gctx.Err(); err != nil {
					return err
				}
				if err := fn(gctx, w, k); err != nil {
					return err
				}
			}
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}

// parquetFiles keeps a worker's Parquet files open across row groups,
// their buffers drawn from one pool.
type parquetFiles struct {
	open    map[string]*file.Reader
	osFiles []*os.File
	pool    bufferPool
}

// parquetStreamBuffer is the read buffer of a column chunk: the reader
// reads a chunk through it instead of copying the whole (compressed)
// chunk into memory first. arrow-go allocates it anew for every chunk
// (and grows it to hold a larger page), outside the pool, so each is
// garbage: at 1 MiB that was 185 MB at a million members; at 256 KiB peak
// RSS fell by 20-90 MB at the same speed, and at 64 KiB by 14 MB more
// (the second pass's 105 chunks), again at the same speed; 32 KiB saves
// 5 MB more for twice the reads.
const parquetStreamBuffer = 1 << 16

func (o *parquetFiles) reader(path string) (*file.Reader, error) {
	if r, ok := o.open[path]; ok {
		return r, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	props := parquet.NewReaderProperties(&o.pool)
	props.BufferedStreamEnabled = true
	props.BufferSize = parquetStreamBuffer
	r, err := file.NewParquetReader(f, file.WithReadProps(props))
	if err != nil {
		f.Close()
		return nil, err
	}
	if o.open == nil {
		o.open = map[string]*file.Reader{}
	}
	o.osFiles = append(o.osFiles, f)
	o.open[path] = r
	return r, nil
}

func (o *parquetFiles) close() {
	for _, r := range o.open {
		r.Close()
	}
	for _, f := range o.osFiles {
		f.Close()
	}
}

// readDirectSpans reads the enrollment files' row groups on every core,
// one part each (in file and row group order), with member indexes for
// member ids; it returns the parts and the rows read of each file.
func readDirectSpans(ctx context.Context, files []*directFile, members *keyTable, cfg *loadConfig) ([]*spanPart, []int64, error) {
	var tasks []directTask
	for fi, f := range files {
		f.leaves = readLeaves(f, spanSpecs, cfg.req)
		for g, n := range f.groupRows {
			tasks = append(tasks, directTask{file: fi, group: g, rows: int(n)})
		}
	}
	parts := make([]*spanPart, len(tasks))
	errs := make([]error, len(tasks))
	plans := &planRegistry{ids: newLocalIDs(), needed: columnNeeded(tEnrollment, cfg.req, spanSpecs[sPlan].name)}
	var failed atomic.Bool
	err := eachTask(ctx, len(tasks), func() *spanWorker { return &spanWorker{members: members, plans: plans} },
		func(ctx context.Context, w *spanWorker, k int) error {
			if failed.Load() {
				return nil // the error of an earlier row group is reported
			}
			t := tasks[k]
			parts[k], errs[k] = w.readGroup(ctx, files[t.file], t.group)
			if errs[k] != nil {
				failed.Store(true)
			}
			return nil
		})
	if err != nil {
		return nil, nil, err
	}
	rows := make([]int64, len(files))
	for k, t := range tasks {
		if errs[k] != nil {
			return nil, nil, errs[k]
		}
		rows[t.file] += files[t.file].groupRows[t.group]
	}
	return parts, rows, nil
}

// planRegistry numbers plan names across the workers: the direct parts
// share its ids.
type planRegistry struct {
	mu     sync.Mutex
	ids    localIDs
	needed bool
}

func (r *planRegistry) id(s []byte) int32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ids.id(unsafe.String(unsafe.SliceData(s), len(s)))
}

type spanWorker struct {
	parquetFiles
	members *keyTable
	plans   *planRegistry
	planIDs keyTable // raw plan -> registry id
	benefit keyTable // raw benefit name -> Benefits, -1 unknown

	member   []int32
	start    []metric.Date
	end      []metric.Date
	benefits []Benefits
	plan     []int32
	sel      []int32
	found    []int32
	touched  uint32

	texts chunkStream[parquet.ByteArray]
	ints  chunkStream[int32]
	lists listStream
	// memberPages and datePages decode member ids and dates (see
	// columnPages).
	memberPages bytePages
	datePages   [sEnd + 1]columnPages[int32]
}

func (w *spanWorker) resize(m int) {
	if cap(w.member) < m {
		w.member = make([]int32, m)
		w.start = make([]metric.Date, m)
		w.end = make([]metric.Date, m)
		w.benefits = make([]Benefits, m)
		w.plan = make([]int32, m)
	}
	w.member, w.start, w.end = w.member[:m], w.start[:m], w.end[:m]
	w.benefits, w.plan = w.benefits[:m], w.plan[:m]
}

func (w *spanWorker) readGroup(ctx context.Context, f *directFile, g int) (_ *spanPart, err error) {
	defer recoverDecode(f, g, &err)
	pf, err := w.reader(f.path)
	if err != nil {
		return nil, invalidParquet(f, g, err)
	}
	rg := pf.RowGroup(g)
	var cols [sPlan + 1]file.ColumnChunkReader
	defer closeChunks(cols[:]...)
	var member pageReader[parquet.ByteArray]
	var dates [sEnd + 1]pageReader[int32]
	defer w.memberPages.close()
	defer func() {
		for s := range w.datePages {
			w.datePages[s].close()
		}
	}()
	for s := range cols {
		switch {
		case f.layout[s] < 0 || s == sPlan && !w.plans.needed:
		case s == sMember:
			if member, cols[s], err = openPages(pf, rg, f.layout[s], &w.memberPages); err != nil {
				return nil, invalidParquet(f, g, err)
			}
		case s == sStart || s == sEnd:
			if dates[s], cols[s], err = openPages(pf, rg, f.layout[s], &w.datePages[s]); err != nil {
				return nil, invalidParquet(f, g, err)
			}
		default:
			if cols[s], err = rg.Column(f.layout[s]); err != nil {
				return nil, invalidParquet(f, g, err)
			}
		}
	}
	w.lists.reset()
	p := newPart(tEnrollment, f.path, nil).(*spanPart) // filled here, not through begin
	p.resolved = true
	p.plans = &w.plans.ids
	n := int(f.groupRows[g])
	for lo := 0; lo < n; lo += directRows {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		m := min(directRows, n-lo)
		w.resize(m)
		bad := rowError{row: -1}
		var unknown []string
		if err := w.decode(cols, member, dates, m, &bad, &unknown); err != nil {
			return nil, invalidParquet(f, g, err)
		}
		if bad.row >= 0 {
			row := f.groupFirst[g] + int64(lo+bad.row)
			return nil, &DataError{File: f.path, Table: tEnrollment.String(), Column: spanSpecs[bad.spec].name, Row: row, RowGroup: g, Msg: bad.msg}
		}
		u := 0
		for k := range m {
			if w.member[k] < 0 {
				p.unknown.note(unknown[u], rowPlace{f.path, g, f.groupFirst[g] + int64(lo+k)})
				u++
				// Counted, and kept as the pqarrow path's parts keep
				// them: group drops rows of member -1.
			}
			p.member.add(w.member[k])
			p.spans.add(Span{Start: w.start[k], End: w.end[k], Benefits: w.benefits[k], Plan: w.plan[k]})
		}
	}
	return p, nil
}

// decode fills the window's columns with the next m rows, noting the
// first invalid cell in bad (in the order the pqarrow path checks a row's
// cells) and the ids of unknown members, in row order, in unknown.
func (w *spanWorker) decode(cols [sPlan + 1]file.ColumnChunkReader, member pageReader[parquet.ByteArray], dates [sEnd + 1]pageReader[int32], m int, bad *rowError, unknown *[]string) error {
	const nullMsg = "null value in required column"
	err := w.texts.readPages(member, m, func(lo int, vals []parquet.ByteArray, null nulls) {
		sel := w.sel[:0]
		for k, v := range vals {
			w.member[lo+k] = -1
			if null.at(k) || blank(v) {
				bad.note(lo+k, sMember, nullMsg)
				continue
			}
			sel = append(sel, int32(k))
		}
		found := append(w.found[:0], make([]int32, len(sel))...)
		w.touched += getMany(w.members, 0, vals, sel, found)
		for n, k := range sel {
			if found[n] >= 0 {
				w.member[lo+int(k)] = found[n]
			} else {
				*unknown = append(*unknown, string(vals[k]))
			}
		}
		w.sel, w.found = sel, found
	})
	if err != nil {
		return err
	}
	for _, d := range []struct {
		spec int
		out  []metric.Date
	}{{sStart, w.start}, {sEnd, w.end}} {
		err := w.ints.readPages(dates[d.spec], m, func(lo int, vals []int32, null nulls) {
			for k, v := range vals {
				if null.at(k) {
					bad.note(lo+k, d.spec, nullMsg)
				} else if msg := dateCheck(spanSpecs[d.spec].name)(metric.Date(v)); msg != "" {
					bad.note(lo+k, d.spec, msg)
				}
				d.out[lo+k] = metric.Date(v)
			}
		})
		if err != nil {
			return err
		}
	}
	for k := range m {
		if w.end[k] < w.start[k] {
			bad.note(k, sEnd, fmt.Sprintf("end %s is before start %s", w.end[k], w.start[k]))
		}
	}
	err = w.lists.read(cols[sBenefits], m, func(r int, items []parquet.ByteArray, null bool) {
		w.benefits[r] = 0
		if null {
			bad.note(r, sBenefits, nullMsg)
			return
		}
		for _, it := range items {
			b, ok := w.benefit.get(0, it)
			if !ok {
				s := unsafe.String(unsafe.SliceData(it), len(it))
				bf, known := ParseBenefit(s)
				if !known {
					bf, known = ParseBenefit(strings.ToLower(strings.TrimSpace(s)))
				}
				b = int32(bf)
				if !known {
					b = -1
				}
				w.benefit.put(0, it, b)
			}
			if b < 0 {
				bad.note(r, sBenefits, unknownBenefit(string(it)))
				continue
			}
			w.benefits[r] |= Benefits(b)
		}
	})
	if err != nil {
		return err
	}
	if cols[sPlan] == nil {
		fill(w.plan, -1)
		return nil
	}
	return w.texts.read(cols[sPlan], m, func(lo int, vals []parquet.ByteArray, null nulls) {
		for k, v := range vals {
			w.plan[lo+k] = -1
			if null.at(k) {
				continue
			}
			i, ok := w.planIDs.get(0, v)
			if !ok {
				i = w.plans.id(v)
				w.planIDs.put(0, v, i)
			}
			w.plan[lo+k] = i
		}
	})
}

// listStream reads a column chunk of a list of strings row by row. A
// row's items span a varying number of levels, so a window of rows ends
// inside a page batch: the levels past it wait for the next window. Each
// item is handed over while its page is current, as chunkStream does.
type listStream struct {
	vals       []parquet.ByteArray
	defs, reps []int16
	pos, n     int // levels of the current batch: consumed, read
	vpos       int // values consumed
	items      []parquet.ByteArray
}

func (c *listStream) reset() { c.pos, c.n, c.vpos = 0, 0, 0 }

// read passes each of the next m rows to conv: its index in the window,
// its non-null items, and whether the list is null. An empty list has no
// items and is not null; null items are dropped, as the pqarrow path
// does.
func (c *listStream) read(cr file.ColumnChunkReader, m int, conv func(r int, items []parquet.ByteArray, null bool)) error {
	r, ok := cr.(*file.ByteArrayColumnChunkReader)
	if !ok {
		return fmt.Errorf("column %s: unexpected reader %T", cr.Descriptor().Name(), cr)
	}
	d := r.Descriptor()
	maxDef := d.MaxDefinitionLevel()
	// The definition level of an empty list: the levels of the list's
	// own ancestors, less the element's when it is optional.
	emptyDef := maxDef - 1
	if d.SchemaNode().RepetitionType() == parquet.Repetitions.Optional {
		emptyDef--
	}
	if len(c.vals) < directRows {
		c.vals = make([]parquet.ByteArray, directRows)
		c.defs = make([]int16, directRows)
		c.reps = make([]int16, directRows)
	}
	row := -1 // the row being read, within the window
	null := false
	c.items = c.items[:0]
	for {
		if c.pos == c.n {
			if !r.HasNext() {
				break
			}
			lvls, _, err := r.ReadBatchInPage(int64(len(c.vals)), c.vals, c.defs, c.reps)
			if err != nil {
				return err
			}
			if lvls == 0 {
				break
			}
			c.pos, c.n, c.vpos = 0, int(lvls), 0
		}
		if c.reps[c.pos] == 0 {
			// A new row: hand over the one before it.
			if row >= 0 {
				conv(row, c.items, null)
			}
			if row+1 == m {
				return nil // this level starts the next window's first row
			}
			row++
			null = c.defs[c.pos] < emptyDef
			c.items = c.items[:0]
		}
		if c.defs[c.pos] == maxDef {
			c.items = append(c.items, c.vals[c.vpos])
			c.vpos++
		}
		c.pos++
	}
	if row >= 0 {
		conv(row, c.items, null)
	}
	if row+1 != m {
		return errShortColumn
	}
	return nil
}
