package eval

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/schema"

	"github.com/caremetrics/caremetrics/dsl"
	"github.com/caremetrics/caremetrics/metric"
)

// The events table is most of a cohort's rows (36 per member in the
// peer's synthetic cohort), and reading it through pqarrow costs more
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

// directParquet enables the direct reader; tests turn it off to compare
// it with the pqarrow path.
var directParquet = true

// directRows is the number of rows decoded per column before the rows are
// assembled: small enough that the per-column scratch of a window stays in
// cache, large enough that the per-window overhead does not count.
const directRows = 16 << 10

// directLayout returns the leaf column of each of specs in a Parquet
// file's schema (-1 when absent) if the direct reader can read it: every
// canonical column a top-level leaf, but lists, which are the standard
// three-level list of strings; text as UTF-8 byte arrays, dates as INT32
// days, numbers as doubles, booleans as BOOLEAN; and the required columns
// present. Anything else is read through pqarrow, which reports what is
// wrong with it.
func directLayout(sc *schema.Schema, specs []colSpec) ([]int, bool) {
	l := make([]int, len(specs))
	for s := range l {
		l[s] = -1
	}
	for c := 0; c < sc.NumColumns(); c++ {
		col := sc.Column(c)
		path := col.ColumnPath()
		s := specIndex(specs, path[0])
		if s < 0 {
			continue // an extra column: only members keep them
		}
		if l[s] >= 0 {
			return l, false
		}
		kind := specs[s].kind
		if kind == kList {
			if len(path) != 3 || col.MaxRepetitionLevel() != 1 {
				return l, false
			}
			kind = kText
		} else if len(path) != 1 || col.MaxRepetitionLevel() != 0 || col.MaxDefinitionLevel() > 1 {
			return l, false
		}
		var ok bool
		lt := col.LogicalType()
		switch kind {
		case kText:
			ok = col.PhysicalType() == parquet.Types.ByteArray && lt != nil && lt.Equals(schema.StringLogicalType{})
		case kDate:
			ok = col.PhysicalType() == parquet.Types.Int32 && lt != nil && lt.Equals(schema.DateLogicalType{})
		case kFloat:
			ok = col.PhysicalType() == parquet.Types.Double && noLogicalType(col)
		case kBool:
			ok = col.PhysicalType() == parquet.Types.Boolean && noLogicalType(col)
		}
		if !ok {
			return l, false
		}
		l[s] = c
	}
	for s, spec := range specs {
		if spec.required && l[s] < 0 {
			return l, false
		}
	}
	return l, true
}

// directFile is a Parquet file the direct reader reads.
type directFile struct {
	path   string
	table  tableKind
	layout []int // leaf column of each spec of the table, -1 when absent
	// leaves are the leaf columns the load reads (nil: all), where a
	// failure to decode is looked for (see locateCorruption).
	leaves []int
	// groupRows and groupFirst are each row group's row count and the
	// 1-based file row of its first row.
	groupRows, groupFirst []int64
}

// rowGroupOf returns the 0-based row group of the 1-based file row.
func (f *directFile) rowGroupOf(row int64) int {
	g, found := slices.BinarySearch(f.groupFirst, row)
	if !found {
		g--
	}
	return g
}

// openDirect returns the direct reading of a Parquet file of table t
// (events or enrollment), or false when the file needs the pqarrow path
// (including when it cannot be opened: that path reports the error).
func openDirect(t tableKind, path string) (*directFile, bool) {
	md, err := parquetMetadata(path)
	if err != nil {
		return nil, false
	}
	specs := eventSpecs
	if t == tEnrollment {
		specs = spanSpecs
	}
	layout, ok := directLayout(md.Schema, specs)
	if !ok {
		return nil, false
	}
	df := &directFile{path: path, table: t, layout: layout}
	first := int64(1)
	for g := range md.NumRowGroups() {
		n := md.RowGroup(g).NumRows()
		df.groupRows = append(df.groupRows, n)
		df.groupFirst = append(df.groupFirst, first)
		first += n
	}
	return df, true
}

// readLeaves returns the leaf columns of specs that a load for req reads
// of f.
func readLeaves(f *directFile, specs []colSpec, req *dsl.Requirements) []int {
	var out []int
	for s, c := range f.layout {
		if c >= 0 && columnNeeded(f.table, req, specs[s].name) {
			out = append(out, c)
		}
	}
	return out
}

// eventRegistry numbers the codes and sources of every directly read
// event file, shared by the workers: each worker keeps its own cache of
// the raw bytes it has seen and takes the lock only for bytes new to it,
// a few hundred times per load.
type eventRegistry struct {
	mu    sync.Mutex
	req   *dsl.Requirements
	rules *dsl.RowRules // nil when rows are kept by neither date nor claim and every claim id is read
	// windowed is set when rows are kept by date, scoped when the first
	// pass applies the claim scopes (see scopeDirect).
	windowed, scoped bool
	codes            localCodes
	needed           []bool
	uses             []codeRule
	sources          localIDs
}

// codeRule is how the measures read the rows of a code: the window of
// dates they read it in, whether they read its claim ids and, when the
// first pass applies claim scopes, the scopes it anchors and those it is
// read on only (dsl.RowRule).
type codeRule struct {
	window      dsl.Window
	anchors, on uint64
	claim       bool
}

// code returns the id of (system, code), -1 when the measures loaded for
// cannot use it, and how they read it.
func (r *eventRegistry) code(system, code string) (int32, codeRule) {
	r.mu.Lock()
	defer r.mu.Unlock()
	id := r.codes.id(system, code)
	for int(id) >= len(r.needed) {
		k := r.codes.list[len(r.needed)]
		needed, rule := codeUse(r.req, r.rules, k[0], k[1])
		use := codeRule{window: rule.Window, claim: rule.Claim}
		if needed && r.scoped {
			use.anchors = rule.Anchors
			if rule.Scoped() {
				use.on = rule.On
			}
		}
		r.needed, r.uses = append(r.needed, needed), append(r.uses, use)
	}
	if !r.needed[id] {
		return -1, codeRule{window: dsl.All}
	}
	return id, r.uses[id]
}

// readsClaim reports whether the claim ids of registry code id's kept
// rows are read; complete once the first pass is done.
func (r *eventRegistry) readsClaim(id int32) bool { return r.uses[id].claim }

func (r *eventRegistry) source(s string) int32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sources.id(s)
}

// groupKeys is what the first pass keeps of one task (a row group, or a
// part of one; see directTasks): for each kept row (a row whose code the
// measures need and whose member is known), in row order, its member
// (replaced by the row's place in Data.Events before the second pass),
// code and source, and which rows were kept. That
// is 8 bytes a kept row, where holding the whole event until the rows are
// grouped by member would take 36 and, with the grouped copy, twice the
// events' memory at the peak; 8 more for a row whose claim id the measures
// read (a third of the kept rows of the shipped measures), which spares
// the second pass decoding the claim column, the events' largest after
// member_id: 0.4 s of the second pass's 0.9 at a million members.
type groupKeys struct {
	member []int32
	code   keyCodes
	source []int16 // registry source, -1 null; nil when not read
	kept   []uint64
	// anchors are the kept rows that anchor a claim scope, while the
	// first pass applies the scopes; claims the claim key (0 for none) of
	// each kept row whose code's claim ids the measures read, in row
	// order: the second pass does not read the claim column.
	anchors  []anchorRow
	claims   []uint64
	unneeded int64
	outside  int64
	unknown  unknownIDs
	err      error
}

// keyCodes are the registry codes of a row group's kept rows: two bytes a
// row while the group's codes fit (the codes the measures read, as the
// data holds them: hundreds to thousands), four otherwise. The keys are
// live when the events array is made, at the load's peak: at a million
// members the narrow codes take 29 MB less.
type keyCodes struct {
	narrow []uint16
	wide   []int32 // when a code is 1<<16 or more
}

// narrowCodes lets keyCodes use two bytes; tests turn it off to read
// every group with wide codes.
var narrowCodes = true

// newKeyCodes copies codes (none negative) at their size.
func newKeyCodes(codes []int32) keyCodes {
	top := int32(0)
	for _, c := range codes {
		top = max(top, c)
	}
	if top > math.MaxUint16 || !narrowCodes {
		return keyCodes{wide: slices.Clone(codes)}
	}
	narrow := make([]uint16, len(codes))
	for j, c := range codes {
		narrow[j] = uint16(c)
	}
	return keyCodes{narrow: narrow}
}

// at returns the code of kept row j.
func (k *keyCodes) at(j int) int32 {
	if k.wide != nil {
		return k.wide[j]
	}
	return int32(k.narrow[j])
}

func (k *keyCodes) len() int { return len(k.narrow) + len(k.wide) }

// move sets the code of kept row dst to that of row src.
func (k *keyCodes) move(dst, src int) {
	if k.wide != nil {
		k.wide[dst] = k.wide[src]
	} else {
		k.narrow[dst] = k.narrow[src]
	}
}

// truncate keeps the codes of the first n kept rows, copied at their size.
func (k *keyCodes) truncate(n int) {
	if k.wide != nil {
		k.wide = slices.Clone(k.wide[:n])
	} else {
		k.narrow = slices.Clone(k.narrow[:n])
	}
}

// directEvents is the direct reading of Parquet event files in two
// passes. scanDirectEvents decodes the columns that decide whether a row
// is kept and for whom (member_id, system, code), checks every required
// cell, and keeps the groupKeys; once every table is read, the load knows
// each member's number of events and the final code and source ids, and
// fill decodes the other columns straight into each event's final place.
type directEvents struct {
	files   []*directFile
	tasks   []directTask
	groups  []groupKeys
	reg     *eventRegistry
	members *keyTable
	req     *dsl.Requirements
	// rows read of each file; unneeded, outside and unknown add up the
	// groups'.
	rows     []int64
	unneeded int64
	outside  int64
	// scoped counts the rows the claim scopes dropped, when the first
	// pass applied them (reg.scoped); droppedCode and droppedSource mark
	// the codes and sources of those rows, which the cohort lists as if
	// the rows were dropped after grouping, so that binding warns of the
	// same value sets either way.
	scoped                     int64
	droppedCode, droppedSource []bool
	unknown                    unknownIDs
}

// directTask is a part of a row group that one worker reads in each
// pass: rows first .. first+rows-1 of the group.
type directTask struct {
	file, group int
	first, rows int
}

// directTasks returns the tasks of the files' row groups: a row group
// each, except that when the groups do not divide evenly among workers,
// the last few are split into one part per worker. Otherwise each pass
// would end on one core while the others wait: with 7 row groups on 2
// cores, as a writer's default million-row groups give 7M events, a
// quarter of the pass on one core, and a file of one row group on one
// core throughout. A part skips the pages before its first row, which
// it still decompresses (the pages have no offset index to seek by), so
// only the groups that would end alone are split.
func directTasks(files []*directFile, workers int) []directTask {
	var tasks []directTask
	for fi, f := range files {
		for g, n := range f.groupRows {
			tasks = append(tasks, directTask{file: fi, group: g, rows: int(n)})
		}
	}
	tail := len(tasks) % workers
	if workers < 2 || tail == 0 {
		return tasks
	}
	split := slices.Clone(tasks[:len(tasks)-tail])
	for _, t := range tasks[len(tasks)-tail:] {
		// Parts of whole windows, so that a part is worth its skip.
		per := (t.rows + workers - 1) / workers
		per = (per + directRows - 1) / directRows * directRows
		if t.rows < 2*directRows {
			per = t.rows
		}
		for first := 0; first < t.rows; first += per {
			split = append(split, directTask{file: t.file, group: t.group, first: first, rows: min(per, t.rows-first)})
		}
	}
	return split
}

// eachGroup runs fn on every task (a row group or a part of one), on
// every core, stopping at the first error fn returns.
func (de *directEvents) eachGroup(ctx context.Context, fn func(ctx context.Context, w *eventWorker, k int) error) error {
	return eachTask(ctx, len(de.tasks), func() *eventWorker { return newEventWorker(de.reg, de.members, de.req) }, fn)
}

// scanDirectEvents makes the first pass over the files, resolving member
// ids against members. A bad cell fails with the first bad cell of the
// earliest failing row group, the cell the pqarrow path reports. With
// scope set (every event file is read directly), it applies the claim
// scopes of the requirements too (see scopeDirect).
func scanDirectEvents(ctx context.Context, files []*directFile, members *keyTable, cfg *loadConfig, scope bool) (*directEvents, error) {
	de := &directEvents{files: files, members: members, req: cfg.req, rows: make([]int64, len(files)),
		reg: &eventRegistry{req: cfg.req, codes: localCodes{raw: map[[2]string]int32{}, norm: map[[2]string]int32{}}, sources: newLocalIDs()}}
	if cfg.req != nil {
		de.reg.windowed = len(cfg.req.Windows) > 0
		de.reg.scoped = scope && len(cfg.req.ClaimScopes) > 0
		if de.reg.scoped || needsRules(cfg.req) {
			de.reg.rules = cfg.req.Rules()
		}
	}
	for _, f := range files {
		f.leaves = readLeaves(f, eventSpecs, cfg.req)
	}
	de.tasks = directTasks(files, runtime.GOMAXPROCS(0))
	de.groups = make([]groupKeys, len(de.tasks))
	var failed atomic.Bool
	err := de.eachGroup(ctx, func(ctx context.Context, w *eventWorker, k int) error {
		if failed.Load() {
			return nil // the error of an earlier row group is reported
		}
		t := de.tasks[k]
		de.groups[k] = w.scanGroup(ctx, files[t.file], t)
		if de.groups[k].err != nil {
			failed.Store(true)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	de.members = nil // the second pass needs no member ids
	for k, t := range de.tasks {
		gk := &de.groups[k]
		if gk.err != nil {
			return nil, gk.err
		}
		de.rows[t.file] += int64(t.rows)
		de.unneeded += gk.unneeded
		de.outside += gk.outside
		de.unknown.merge(&gk.unknown)
	}
	if de.reg.scoped {
		if err := de.scopeDirect(ctx); err != nil {
			return nil, err
		}
	}
	return de, nil
}

// codes returns the registry's codes and sources and which of them kept
// events use.
func (de *directEvents) used() (codes [][2]string, usedCode []bool, sources []string, usedSource []bool) {
	codes, sources = de.reg.codes.list, de.reg.sources.s
	usedCode, usedSource = make([]bool, len(codes)), make([]bool, len(sources))
	copy(usedCode, de.droppedCode)
	copy(usedSource, de.droppedSource)
	for k := range de.groups {
		codes := &de.groups[k].code
		for j := range codes.len() {
			usedCode[codes.at(j)] = true
		}
		for _, s := range de.groups[k].source {
			if s >= 0 {
				usedSource[s] = true
			}
		}
	}
	return
}

// count adds each member's kept events to start[member+1].
func (de *directEvents) count(start []int) {
	for k := range de.groups {
		for _, m := range de.groups[k].member {
			start[m+1]++
		}
	}
}

// fill makes the second pass: it decodes the remaining columns of every
// kept row and writes the event to out at its member's next free place,
// next[member] onwards. codeID and sourceID map registry ids to the
// cohort's.
//
// The places are assigned first, in row order, overwriting the kept rows'
// member column with their places: the row groups can then be filled
// concurrently with plain stores. (An atomic add per row would be simpler,
// but on x86 it waits for every earlier store, and so for each event's
// cache miss in turn. The assignment is one sequential pass: split by
// member range, one goroutine's overwrites would be read by another as
// members.)
func (de *directEvents) fill(ctx context.Context, out []Event, next []int, codeID []CodeID, sourceID []int16) error {
	for k := range de.groups {
		ms := de.groups[k].member
		for j, m := range ms {
			ms[j] = int32(next[m])
			next[m]++
		}
	}
	return de.eachGroup(ctx, func(ctx context.Context, w *eventWorker, k int) error {
		t := de.tasks[k]
		err := w.fillGroup(ctx, de.files[t.file], t, &de.groups[k], out, codeID, sourceID)
		de.groups[k] = groupKeys{} // free its keys as soon as it is done
		return err
	})
}

// eventWorker reads row groups one after another, reusing its open files,
// caches and scratch columns.
type eventWorker struct {
	parquetFiles
	reg     *eventRegistry
	members *keyTable
	req     *dsl.Requirements

	systems     keyTable // raw system -> its namespace in codes (1-based)
	systemNames []string
	// What each entry of the current system, code and source dictionaries
	// resolved to (see readIndexed): a namespace, a code, a source+1.
	systemMemo dictMemo[uint32]
	codeMemo   dictMemo[codeEntry]
	sourceMemo dictMemo[int32]
	codes      keyTable   // (system namespace, raw code) -> registry code, or -1
	uses       []codeRule // by registry code, for the codes this worker has seen
	sources    keyTable   // raw source -> registry source

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
	// Scratch for a row group's kept rows (see scanGroup), and a window's
	// (fillGroup).
	keptMember, keptCode []int32
	keptSource           []int16
	keptAnchors          []anchorRow
	keptClaims           []uint64
	keptRows             []int32

	texts  chunkStream[parquet.ByteArray]
	ints   chunkStream[int32]
	floats chunkStream[float64]
	// chunks are the row group's open chunks, and the pages the decoders
	// of its columns (see columnPages), kept with their buffers.
	chunks      eventChunks
	textPages   [eClaim + 1]bytePages
	datePages   [eClaim + 1]columnPages[int32]
	numberPages [eClaim + 1]columnPages[float64]
}

func newEventWorker(reg *eventRegistry, members *keyTable, req *dsl.Requirements) *eventWorker {
	return &eventWorker{reg: reg, members: members, req: req}
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

// eventChunks are the column chunks of a row group that a worker reads,
// by column: the readers openPages gave (the worker's columnPages, or
// arrow-go's readers cols for chunks they do not decode); nil for a column
// not read.
type eventChunks struct {
	cols    [eClaim + 1]file.ColumnChunkReader
	texts   [eClaim + 1]pageReader[parquet.ByteArray]
	dates   [eClaim + 1]pageReader[int32]
	numbers [eClaim + 1]pageReader[float64]
}

// has reports whether column s is read.
func (c *eventChunks) has(s int) bool {
	return c.texts[s] != nil || c.dates[s] != nil || c.numbers[s] != nil
}

// close closes every chunk read: arrow-go's readers (see closeChunks), and
// the page readers of the worker's columnPages.
func (c *eventChunks) close() {
	closeChunks(c.cols[:]...)
	for s := range c.texts {
		closePages(c.texts[s])
		closePages(c.dates[s])
		closePages(c.numbers[s])
	}
}

// closePages closes r when it is one of the worker's columnPages.
func closePages[T pageValue](r pageReader[T]) {
	if p, ok := r.(*columnPages[T]); ok {
		p.close()
	}
}

// columns opens the column chunks of task t's row group that the load
// reads among specs, each at the task's first row; skip, when not nil,
// leaves out more.
func (w *eventWorker) columns(f *directFile, t directTask, skip func(rg *file.RowGroupReader, s int) bool, specs ...int) (*eventChunks, error) {
	ch := &w.chunks
	*ch = eventChunks{}
	pf, err := w.reader(f.path)
	if err != nil {
		return ch, err
	}
	rg := pf.RowGroup(t.group)
	for _, s := range specs {
		col := f.layout[s]
		if col < 0 || !columnNeeded(tEvents, w.req, eventSpecs[s].name) || skip != nil && skip(rg, s) {
			continue
		}
		switch eventSpecs[s].kind {
		case kText:
			ch.texts[s], ch.cols[s], err = openPages(pf, rg, col, &w.textPages[s])
		case kDate:
			ch.dates[s], ch.cols[s], err = openPages(pf, rg, col, &w.datePages[s])
		default:
			ch.numbers[s], ch.cols[s], err = openPages(pf, rg, col, &w.numberPages[s])
		}
		if err == nil && t.first > 0 {
			switch {
			case ch.texts[s] != nil:
				err = skipRows(ch.texts[s], t.first)
			case ch.dates[s] != nil:
				err = skipRows(ch.dates[s], t.first)
			default:
				err = skipRows(ch.numbers[s], t.first)
			}
		}
		if err != nil {
			return ch, err
		}
	}
	return ch, nil
}

// closeChunks closes the column chunk readers of a row group read to the
// end (nil ones are not open). Closing returns their page buffers to the
// allocator they came from: not closed, every chunk's decompression and
// page buffers become garbage, a third of what a load allocated, which
// grew the heap (and the pages the process must fault in) by hundreds of
// megabytes at a million members.
func closeChunks(cols ...file.ColumnChunkReader) {
	for _, c := range cols {
		if c != nil {
			_ = c.Close()
		}
	}
}

// invalidParquet is the error of row group g of f, which failed to decode
// with err: named by the chunk that fails, as the pqarrow path names it.
func invalidParquet(f *directFile, g int, err error) *DataError {
	return corruptParquet(f.table, f.path, g, []int{g}, f.leaves, err)
}

// recoverDecode turns a panic while decoding row group g of f into the
// error that err points to. The Parquet decoders trust lengths and
// offsets a corrupt file can get wrong; such a file must fail the load
// with its name, not end the process.
func recoverDecode(f *directFile, g int, err *error) {
	if r := recover(); r != nil {
		*err = invalidParquet(f, g, fmt.Errorf("corrupt data: %v", r))
	}
}

// scanGroup is the first pass over task t's rows.
func (w *eventWorker) scanGroup(ctx context.Context, f *directFile, t directTask) (res groupKeys) {
	g := t.group
	var panicked error
	defer func() {
		if panicked != nil {
			res = groupKeys{err: panicked}
		}
	}()
	defer recoverDecode(f, g, &panicked)
	// Dates are read here to check them, not at all when the chunk's
	// statistics rule out nulls, unless rows are kept by date.
	windowed := w.reg.windowed
	datesChecked := func(rg *file.RowGroupReader, s int) bool {
		return s == eDate && !windowed && noNulls(rg, f.layout[eDate])
	}
	keyCols := []int{eMember, eDate, eSystem, eCode, eSource, eClaim}
	cols, err := w.columns(f, t, datesChecked, keyCols...)
	defer cols.close()
	if err != nil {
		return groupKeys{err: invalidParquet(f, g, err)}
	}
	n := t.rows
	// The row numbers of this part of the group start at first.
	first := f.groupFirst[g] + int64(t.first)
	// The kept rows' keys, anchors and claims collect in the worker's
	// scratch and are copied out once at the end, at their size: grown by
	// appending (by a quarter at a time, past a few hundred entries), they
	// left garbage four times as large as themselves, 350 MB for the
	// scoped claims at a million members. The scratch is reserved for
	// every row of the group (the footer's count, bounded), so that a
	// worker's first group does not grow it by copying either; untouched,
	// a reserve takes no memory.
	w.reserveKept(min(n, maxReserve))
	member, code, source := w.keptMember[:0], w.keptCode[:0], w.keptSource[:0]
	anchors, claims := w.keptAnchors[:0], w.keptClaims[:0]
	readSource, readClaim := cols.has(eSource), cols.has(eClaim)
	for lo := 0; lo < n; lo += directRows {
		if err := ctx.Err(); err != nil {
			return groupKeys{err: err}
		}
		m := min(directRows, n-lo)
		w.resize(m)
		// The bitmap grows with the rows decoded, not with the count the
		// footer claims (directRows is a multiple of 64).
		res.kept = append(res.kept, make([]uint64, (m+63)/64)...)
		bad := rowError{row: -1}
		if err := w.decodeKeys(cols, m, &bad); err != nil {
			return groupKeys{err: invalidParquet(f, g, err)}
		}
		if bad.row >= 0 {
			row := first + int64(lo+bad.row)
			return groupKeys{err: &DataError{File: f.path, Table: tEvents.String(), Column: eventSpecs[bad.spec].name, Row: row, RowGroup: g, Msg: bad.msg}}
		}
		if readClaim {
			if err := w.decodeClaims(cols.texts[eClaim], m); err != nil {
				return groupKeys{err: invalidParquet(f, g, err)}
			}
		}
		next := 0
		for k := range m {
			c := w.code[k]
			switch {
			case c == outsideWindow:
				res.outside++
				continue
			case c < 0:
				res.unneeded++
				continue
			}
			mi := w.member[k]
			if mi < 0 {
				// Not null (that failed above), so not in members.
				for w.unknownAt[next] < k {
					next++
				}
				res.unknown.note(w.unknownID[next], rowPlace{f.path, g, first + int64(lo+k)})
				continue
			}
			member = append(member, mi)
			code = append(code, c)
			if use := &w.uses[c]; use.claim && readClaim {
				if use.anchors != 0 && w.claim[k] != 0 {
					anchors = append(anchors, anchorRow{member: mi, claim: w.claim[k], mask: use.anchors})
				}
				claims = append(claims, w.claim[k])
			}
			if readSource {
				source = append(source, w.source[k])
			}
			r := lo + k
			res.kept[r/64] |= 1 << (r % 64)
		}
	}
	res.member, res.code = slices.Clone(member), newKeyCodes(code)
	if readSource {
		res.source = slices.Clone(source)
	}
	if len(anchors) > 0 {
		res.anchors = slices.Clone(anchors)
	}
	if len(claims) > 0 {
		res.claims = slices.Clone(claims)
	}
	w.keptMember, w.keptCode, w.keptSource = member, code, source
	w.keptAnchors, w.keptClaims = anchors, claims
	return res
}

// reserveKept gives the worker's kept-row scratch room for n rows.
func (w *eventWorker) reserveKept(n int) {
	if cap(w.keptMember) < n {
		w.keptMember = make([]int32, 0, n)
		w.keptCode = make([]int32, 0, n)
		w.keptClaims = make([]uint64, 0, n)
	}
}

// decodeClaims fills the window's claim column with the claim keys of
// the rows the first pass keeps whose claim ids the measures read (0 for
// the others, and for rows without a claim).
func (w *eventWorker) decodeClaims(col pageReader[parquet.ByteArray], m int) error {
	fill(w.claim, 0)
	if col == nil {
		return nil
	}
	return w.texts.densePages(col, m, func(lo, n int, vals []parquet.ByteArray, defs []int16, maxDef int16) {
		j := 0
		for k := range n {
			if maxDef > 0 && defs[k] < maxDef {
				continue
			}
			r := lo + k
			if c := w.code[r]; c >= 0 && w.member[r] >= 0 {
				if w.uses[c].claim {
					v := vals[j]
					w.claim[r] = dsl.ClaimKey(unsafe.String(unsafe.SliceData(v), len(v)))
				}
			}
			j++
		}
	})
}

// anchorRow is a kept row whose code anchors claim scopes: its member, its
// claim key and the scopes it anchors.
type anchorRow struct {
	member int32
	claim  uint64
	mask   uint64
}

// scopeDirect applies the claim scopes once the first pass has read every
// row group, before the events are grouped: a row read only through
// sameClaim stays when a row of the same member on the same claim anchors
// one of the scopes it is read on, as scopeClaims decides on grouped
// events (the anchors being every kept row, dropped or not). Claim keys
// and members are all the decision needs, and the first pass has both.
// Decided here, the dropped rows take no place in the events array and
// cost no store in the second pass: at a million members, 40% of the rows
// the value sets keep.
func (de *directEvents) scopeDirect(ctx context.Context) error {
	n := 0
	for k := range de.groups {
		n += len(de.groups[k].anchors)
	}
	anchors := newAnchorSet(n)
	for k := range de.groups {
		for _, a := range de.groups[k].anchors {
			anchors.add(a)
		}
		de.groups[k].anchors = nil
	}
	uses := de.reg.uses // complete: every code was met in the first pass
	var dropped atomic.Int64
	droppedCode := make([][]bool, len(de.groups))
	droppedSource := make([][]bool, len(de.groups))
	err := eachTask(ctx, len(de.groups), func() *anchorScratch { return nil }, func(_ context.Context, _ *anchorScratch, k int) error {
		gk := &de.groups[k]
		codes, sources := make([]bool, len(uses)), make([]bool, len(de.reg.sources.s))
		droppedCode[k], droppedSource[k] = codes, sources
		kept, s, keptClaims := 0, 0, 0
		j := 0
		for wi, word := range gk.kept {
			for word != 0 {
				b := bits.TrailingZeros64(word)
				word &= word - 1
				keep, hasClaim := true, uses[gk.code.at(j)].claim && gk.claims != nil
				var claim uint64
				if hasClaim {
					claim = gk.claims[s]
					s++
				}
				if on := uses[gk.code.at(j)].on; on != 0 {
					keep = claim != 0 && anchors.mask(gk.member[j], claim)&on != 0
				}
				if keep {
					gk.member[kept] = gk.member[j]
					gk.code.move(kept, j)
					if gk.source != nil {
						gk.source[kept] = gk.source[j]
					}
					if hasClaim {
						gk.claims[keptClaims] = claim
						keptClaims++
					}
					kept++
				} else {
					gk.kept[wi] &^= 1 << b
					codes[gk.code.at(j)] = true
					if gk.source != nil && gk.source[j] >= 0 {
						sources[gk.source[j]] = true
					}
				}
				j++
			}
		}
		// Copied at their new size: the arrays the first pass made hold
		// every kept row, 40% more than stay at a million members, and
		// would stay live through the second pass.
		gk.member = slices.Clone(gk.member[:kept])
		gk.code.truncate(kept)
		if gk.source != nil {
			gk.source = slices.Clone(gk.source[:kept])
		}
		if gk.claims != nil {
			gk.claims = slices.Clone(gk.claims[:keptClaims])
		}
		dropped.Add(int64(j - kept))
		return nil
	})
	de.scoped = dropped.Load()
	de.droppedCode, de.droppedSource = make([]bool, len(uses)), make([]bool, len(de.reg.sources.s))
	for k := range droppedCode {
		for c, d := range droppedCode[k] {
			de.droppedCode[c] = de.droppedCode[c] || d
		}
		for c, d := range droppedSource[k] {
			de.droppedSource[c] = de.droppedSource[c] || d
		}
	}
	return err
}

// anchorSet maps a member's claim to the scopes its rows anchor. Most
// claims looked up anchor nothing (the scoped rows are mostly diagnoses
// off the claims that matter), so a bitmap of the claims' hashes, a few
// bits per anchor and small enough to stay in cache, answers most lookups
// before the table is read. The table is open-addressed on (member,
// claim): as a Go map it cost 0.1 s of a single core to fill and 0.16 s to
// read at a million members.
type anchorSet struct {
	filter []uint64
	shift  uint
	slots  []anchorSlot // a power of two, at most half full
}

// anchorSlot is one (member, claim) and the scopes its rows anchor; claim
// 0 marks an empty slot (an anchor has a claim, and claim keys are never
// 0).
type anchorSlot struct {
	claim  uint64
	member int32
	scopes uint64
}

func newAnchorSet(n int) *anchorSet {
	bitsWanted := max(64, 16*n)
	shift := uint(64)
	for size := 1; size < bitsWanted; size *= 2 {
		shift--
	}
	size := 16
	for size < 2*n {
		size *= 2
	}
	return &anchorSet{filter: make([]uint64, (1<<(64-shift)+63)/64), shift: shift, slots: make([]anchorSlot, size)}
}

// slot is a's filter bit of a claim key (already a hash, spread again so
// that its high bits count).
func (a *anchorSet) slot(claim uint64) uint64 { return (claim * 0x9e3779b97f4a7c15) >> a.shift }

// home is the first table slot of (member, claim).
func (a *anchorSet) home(member int32, claim uint64) uint64 {
	return ((claim ^ uint64(uint32(member))*0xc2b2ae3d27d4eb4f) * 0x9e3779b97f4a7c15 >> 32) & uint64(len(a.slots)-1)
}

func (a *anchorSet) add(r anchorRow) {
	i := a.slot(r.claim)
	a.filter[i/64] |= 1 << (i % 64)
	mask := uint64(len(a.slots) - 1)
	for j := a.home(r.member, r.claim); ; j = (j + 1) & mask {
		s := &a.slots[j]
		if s.claim == 0 {
			*s = anchorSlot{claim: r.claim, member: r.member, scopes: r.mask}
			return
		}
		if s.claim == r.claim && s.member == r.member {
			s.scopes |= r.mask
			return
		}
	}
}

// mask returns the scopes the member's rows on claim anchor.
func (a *anchorSet) mask(member int32, claim uint64) uint64 {
	if i := a.slot(claim); a.filter[i/64]&(1<<(i%64)) == 0 {
		return 0
	}
	mask := uint64(len(a.slots) - 1)
	for j := a.home(member, claim); ; j = (j + 1) & mask {
		s := &a.slots[j]
		if s.claim == 0 {
			return 0
		}
		if s.claim == claim && s.member == member {
			return s.scopes
		}
	}
}

// outsideWindow marks, in eventWorker.code, a row of a code the measures
// read dated outside every window they read it in (any other negative
// code: a code they do not read).
const outsideWindow = -2

// fillBatch is how many places fillGroup reads ahead at a time.
const fillBatch = 64

// fillGroup is the second pass over task t's rows, whose first pass left
// keys.
func (w *eventWorker) fillGroup(ctx context.Context, f *directFile, t directTask, keys *groupKeys, out []Event, codeID []CodeID, sourceID []int16) (err error) {
	g := t.group
	defer recoverDecode(f, g, &err)
	cols, err := w.columns(f, t, nil, eDate, eEnd, eValue)
	defer cols.close()
	if err != nil {
		return invalidParquet(f, g, err)
	}
	n := t.rows
	j := 0  // kept rows so far
	ci := 0 // their claims so far
	for lo := 0; lo < n; lo += directRows {
		if err := ctx.Err(); err != nil {
			return err
		}
		m := min(directRows, n-lo)
		w.resize(m)
		if err := w.decodeValues(cols, m); err != nil {
			return invalidParquet(f, g, err)
		}
		// The window's kept rows go to places all over out. Reading the
		// places of a batch first, in a loop of a few instructions, has
		// their cache and TLB misses overlap; the batch's stores then
		// hit.
		rows := w.keptRows[:0]
		for k := range m {
			if r := lo + k; keys.kept[r/64]&(1<<(r%64)) != 0 {
				rows = append(rows, int32(k))
			}
		}
		w.keptRows = rows
		// End dates are checked for the rows kept, as the other readers
		// check them (a row of no value set is not read further).
		for _, k := range rows {
			end := w.end[k]
			if end == metric.NoDate {
				continue
			}
			msg := implausibleEnd(end)
			if msg == "" && end < w.date[k] {
				msg = fmt.Sprintf("end %s is before date %s", end, w.date[k])
			}
			if msg != "" {
				return &DataError{File: f.path, Table: tEvents.String(), Column: eventSpecs[eEnd].name, Row: f.groupFirst[g] + int64(t.first+lo) + int64(k), RowGroup: g, Msg: msg}
			}
		}
		for b := 0; b < len(rows); b += fillBatch {
			batch := rows[b:min(b+fillBatch, len(rows))]
			places := keys.member[j : j+len(batch)]
			for _, p := range places {
				w.touched += uint32(out[p].Date)
			}
			for i, k := range batch {
				c := keys.code.at(j + i)
				e := Event{Date: w.date[k], End: w.end[k], Code: codeID[c], Source: -1, Value: w.value[k]}
				if keys.claims != nil && w.reg.readsClaim(c) {
					e.Claim = keys.claims[ci]
					ci++
				}
				if keys.source != nil && keys.source[j+i] >= 0 {
					e.Source = sourceID[keys.source[j+i]]
				}
				out[places[i]] = e // its place, assigned by fill
			}
			j += len(batch)
		}
	}
	return nil
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

// decodeKeys fills the window's member, system, code and source columns
// with the next m rows of each column chunk, and checks the required
// cells, noting the first invalid one in bad.
func (w *eventWorker) decodeKeys(ch *eventChunks, m int, bad *rowError) error {
	w.unknownAt, w.unknownID = w.unknownAt[:0], w.unknownID[:0]
	// Dates are checked here (when the chunk's statistics do not rule
	// out nulls, or the rows are kept by date); the second pass keeps them.
	if ch.has(eDate) {
		err := w.ints.readPages(ch.dates[eDate], m, func(lo int, vals []int32, null nulls) {
			for k, v := range vals {
				w.date[lo+k] = metric.Date(v)
				if null.at(k) {
					bad.note(lo+k, eDate, nullMsg)
				} else if msg := implausibleDate(metric.Date(v)); msg != "" {
					bad.note(lo+k, eDate, msg)
				}
			}
		})
		if err != nil {
			return err
		}
	}
	// Systems and codes are resolved once per dictionary entry where
	// their pages are dictionary-encoded (as writers store them), and row
	// by row otherwise.
	err := readIndexed(&w.texts, ch.texts[eSystem], m, func(lo int, idx []uint32, p *bytePages, null nulls) {
		memo := w.systemMemo.entries(p)
		for k, i := range idx {
			r := lo + k
			w.system[r] = 0
			if null.at(k) {
				bad.note(r, eSystem, nullMsg)
				continue
			}
			ns := memo[i]
			if ns == 0 {
				var msg string
				if ns, msg = w.systemOf(p.dict[i]); msg != "" {
					bad.note(r, eSystem, msg)
					continue
				}
				memo[i] = ns
			}
			w.system[r] = ns
		}
	}, func(lo int, vals []parquet.ByteArray, null nulls) {
		for k, v := range vals {
			r := lo + k
			ns, msg := uint32(0), nullMsg
			if !null.at(k) {
				ns, msg = w.systemOf(v)
			}
			if msg != "" {
				bad.note(r, eSystem, msg)
			}
			w.system[r] = ns
		}
	})
	if err != nil {
		return err
	}
	err = readIndexed(&w.texts, ch.texts[eCode], m, func(lo int, idx []uint32, p *bytePages, null nulls) {
		memo := w.codeMemo.entries(p)
		for k, i := range idx {
			r := lo + k
			w.code[r] = -1
			if null.at(k) {
				bad.note(r, eCode, nullMsg)
				continue
			}
			ns := w.system[r]
			if e := memo[i]; e.ns == ns && ns != 0 {
				w.code[r] = e.code
				continue
			}
			c, msg := w.codeOf(ns, p.dict[i])
			if msg != "" {
				bad.note(r, eCode, msg)
				continue
			}
			if ns != 0 {
				memo[i] = codeEntry{ns: ns, code: c}
				w.code[r] = c
			}
		}
	}, func(lo int, vals []parquet.ByteArray, null nulls) {
		for k, v := range vals {
			r := lo + k
			c, msg := int32(-1), nullMsg
			if !null.at(k) {
				c, msg = w.codeOf(w.system[r], v)
			}
			if msg != "" {
				bad.note(r, eCode, msg)
				c = -1
			}
			w.code[r] = c
		}
	})
	if err != nil {
		return err
	}
	// A row dated outside its code's window is not needed either: decided
	// here, once, so that neither the member lookup nor the source check
	// below sees it (as in the other readers, which drop it with the rows
	// of codes no measure reads).
	if w.reg.windowed {
		for r, c := range w.code {
			if c >= 0 && !w.uses[c].window.Contains(w.date[r]) {
				w.code[r] = outsideWindow
			}
		}
	}
	// Member ids last, so that only rows whose code the measures need
	// pay for the lookup: at a million members the table is larger than
	// the caches, and the lookup is the costliest step of a row.
	err = w.texts.readPages(ch.texts[eMember], m, func(lo int, vals []parquet.ByteArray, null nulls) {
		sel := w.sel[:0]
		for k, v := range vals {
			r := lo + k
			w.member[r] = -1
			if null.at(k) || blank(v) {
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
	if !ch.has(eSource) {
		fill(w.source, -1)
	} else if err := readIndexed(&w.texts, ch.texts[eSource], m, func(lo int, idx []uint32, p *bytePages, null nulls) {
		memo := w.sourceMemo.entries(p)
		for k, i := range idx {
			r := lo + k
			w.source[r] = -1
			if null.at(k) {
				continue
			}
			if s := memo[i]; s > 0 {
				w.source[r] = int16(s - 1)
				continue
			}
			s, msg := w.sourceOf(p.dict[i])
			if msg != "" {
				if w.code[r] >= 0 { // as the other readers, only rows the measures read
					bad.note(r, eSource, msg)
				}
				continue
			}
			memo[i] = int32(s) + 1
			w.source[r] = s
		}
	}, func(lo int, vals []parquet.ByteArray, null nulls) {
		for k, v := range vals {
			r := lo + k
			w.source[r] = -1
			if null.at(k) {
				continue
			}
			s, msg := w.sourceOf(v)
			if msg != "" {
				if w.code[r] >= 0 {
					bad.note(r, eSource, msg)
				}
				continue
			}
			w.source[r] = s
		}
	}); err != nil {
		return err
	}
	return nil
}

// sourceOf resolves a source cell's text (not null) to its registry
// source, or gives the problem with the cell.
func (w *eventWorker) sourceOf(v []byte) (int16, string) {
	s, ok := w.sources.get(0, v)
	if !ok {
		if msg := keyProblem("source", unsafe.String(unsafe.SliceData(v), len(v))); msg != "" {
			return -1, msg
		}
		s = w.reg.source(string(v))
		w.sources.put(0, v, s)
	}
	if s > math.MaxInt16 {
		return -1, fmt.Sprintf("more than %d distinct sources", math.MaxInt16+1)
	}
	return int16(s), ""
}

// nullMsg is the message of a null (or blank) cell of a required column.
const nullMsg = "null value in required column"

// systemOf resolves a system cell's text (not null) to its namespace in
// the worker's codes (1-based), or gives the problem with the cell. A
// system is checked when the worker first meets it, and never kept if
// bad, so that every row holding it is noted.
func (w *eventWorker) systemOf(v []byte) (uint32, string) {
	if blank(v) {
		return 0, nullMsg
	}
	ns, ok := w.systems.get(0, v)
	if !ok {
		if msg := keyProblem("system", unsafe.String(unsafe.SliceData(v), len(v))); msg != "" {
			return 0, msg
		}
		w.systemNames = append(w.systemNames, string(v))
		ns = int32(len(w.systemNames))
		w.systems.put(0, v, ns)
	}
	return uint32(ns), ""
}

// codeOf resolves a code cell's text (not null) in system namespace ns to
// its registry code (-1 for a code no measure reads, and for a row whose
// system failed, ns 0), or gives the problem with the cell.
func (w *eventWorker) codeOf(ns uint32, v []byte) (int32, string) {
	if blank(v) {
		return -1, nullMsg
	}
	if ns == 0 {
		return -1, ""
	}
	c, ok := w.codes.get(ns, v)
	if !ok {
		if msg := keyProblem("code", unsafe.String(unsafe.SliceData(v), len(v))); msg != "" {
			return -1, msg
		}
		var use codeRule
		c, use = w.reg.code(w.systemNames[ns-1], string(v))
		w.codes.put(ns, v, c)
		if c >= 0 {
			for len(w.uses) <= int(c) {
				w.uses = append(w.uses, codeRule{window: dsl.All})
			}
			w.uses[c] = use
		}
	}
	return c, ""
}

// codeEntry is what a code dictionary entry resolved to, in the system
// namespace of the row it was resolved for (0: not yet).
type codeEntry struct {
	ns   uint32
	code int32
}

// dictMemo holds what each entry of a column's dictionary resolved to,
// the zero E for an entry not resolved yet.
type dictMemo[E any] struct {
	gen  uint64 // the columnPages' dictionary it holds entries of
	vals []E
}

// entries returns the entries of p's current dictionary, all zero when it
// is another dictionary than at the last call.
func (m *dictMemo[E]) entries(p *bytePages) []E {
	if m.gen != p.dictGen {
		m.vals = slices.Grow(m.vals[:0], len(p.dict))[:len(p.dict)]
		clear(m.vals)
		m.gen = p.dictGen
	}
	return m.vals
}

// decodeValues fills the window's date, end and value columns with the
// next m rows of each column chunk.
func (w *eventWorker) decodeValues(ch *eventChunks, m int) error {
	err := w.ints.readPages(ch.dates[eDate], m, func(lo int, vals []int32, null nulls) {
		for k, v := range vals {
			w.date[lo+k] = metric.Date(v)
		}
	})
	if err != nil {
		return err
	}
	if !ch.has(eEnd) {
		fill(w.end, metric.NoDate)
	} else if err := w.ints.readPages(ch.dates[eEnd], m, func(lo int, vals []int32, null nulls) {
		for k, v := range vals {
			w.end[lo+k] = metric.Date(v)
			if null.at(k) {
				w.end[lo+k] = metric.NoDate
			}
		}
	}); err != nil {
		return err
	}
	if !ch.has(eValue) {
		fill(w.value, math.NaN())
	} else if err := w.floats.readPages(ch.numbers[eValue], m, func(lo int, vals []float64, null nulls) {
		for k, v := range vals {
			w.value[lo+k] = v
			if null.at(k) {
				w.value[lo+k] = math.NaN()
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
	idx  []uint32 // dictionary indices (readIndexed)
}

type pageReader[T any] interface {
	HasNext() bool
	ReadBatchInPage(batchSize int64, values []T, defLvls, repLvls []int16) (int64, int, error)
	Descriptor() *schema.Column
	Err() error
}

// unexpectedReader is the reader of a column of another physical type
// than the load reads it as: each of its reads fails.
type unexpectedReader[T any] struct{ cr file.ColumnChunkReader }

func (u unexpectedReader[T]) HasNext() bool { return false }
func (u unexpectedReader[T]) ReadBatchInPage(int64, []T, []int16, []int16) (int64, int, error) {
	return 0, 0, u.Err()
}
func (u unexpectedReader[T]) Descriptor() *schema.Column { return u.cr.Descriptor() }
func (u unexpectedReader[T]) Err() error {
	return fmt.Errorf("column %s: unexpected reader %T", u.cr.Descriptor().Name(), u.cr)
}

// readerOf returns cr as a reader of T values.
func readerOf[T any](cr file.ColumnChunkReader) pageReader[T] {
	if r, ok := cr.(pageReader[T]); ok {
		return r
	}
	return unexpectedReader[T]{cr}
}

// read passes the next m rows of cr to conv, in batches: lo is the row of
// vals[0] in the window, vals holds one value per row (the zero value for
// a null row) and null reports whether row k of the batch is null.
func (c *chunkStream[T]) read(cr file.ColumnChunkReader, m int, conv func(lo int, vals []T, null nulls)) error {
	return c.readPages(readerOf[T](cr), m, conv)
}

// nulls says which rows of a batch are null: row k when defs[k] <
// maxDef, none when the batch has no null. A value with a method rather
// than a closure, so that the per-row test inlines into every caller's
// loop instead of being a call (as a closure, 0.1-0.2 s of CPU at a
// million members).
type nulls struct {
	defs   []int16
	maxDef int16
}

// at reports whether row k is null.
func (n nulls) at(k int) bool { return n.maxDef > 0 && n.defs[k] < n.maxDef }

// readPages is read from r.
func (c *chunkStream[T]) readPages(r pageReader[T], m int, conv func(lo int, vals []T, null nulls)) error {
	return c.densePages(r, m, func(lo, n int, vals []T, defs []int16, maxDef int16) {
		nv := len(vals)
		vals = c.vals[:n]
		conv(lo, vals, spread(vals, nv, defs, maxDef))
	})
}

// spread moves the first nv values of xs, the non-null ones of len(xs)
// rows whose definition levels are defs, to their rows, zeroing the null
// rows, and returns the rows' nulls.
func spread[V any](xs []V, nv int, defs []int16, maxDef int16) nulls {
	n := len(xs)
	if nv == n {
		return nulls{} // no null in the batch
	}
	// From the end, so that no value is overwritten before it moves.
	var zero V
	j := nv - 1
	for k := n - 1; k >= 0; k-- {
		if defs[k] == maxDef {
			xs[k] = xs[j]
			j--
		} else {
			xs[k] = zero
		}
	}
	return nulls{defs: defs, maxDef: maxDef}
}

// readIndexed is readPages for a column whose values the caller resolves
// once per dictionary entry (systems, codes and sources, which writers
// store in a dictionary of a few hundred entries): for each batch of a
// dictionary-encoded page, indexed gets the rows' indices in p's
// dictionary (0 for null rows); a batch of a PLAIN page, or a chunk that
// columnPages does not decode, goes to plain as readPages gives it.
func readIndexed[T pageValue](c *chunkStream[T], r pageReader[T], m int, indexed func(lo int, idx []uint32, p *columnPages[T], null nulls), plain func(lo int, vals []T, null nulls)) error {
	p, ok := r.(*columnPages[T])
	if !ok {
		return c.readPages(r, m, plain)
	}
	if len(c.idx) < directRows {
		c.idx = make([]uint32, directRows)
	}
	if len(c.vals) < directRows {
		c.vals = make([]T, directRows)
		c.defs = make([]int16, directRows)
	}
	for got := 0; got < m; {
		lvls, nv, ok, err := p.readIndices(int64(m-got), c.idx, c.defs)
		if err != nil {
			return err
		}
		if !ok {
			if !p.HasNext() {
				return errShortColumn
			}
			lvls, nv, err = p.ReadBatchInPage(int64(m-got), c.vals, c.defs, nil)
			if err != nil {
				return err
			}
		}
		if lvls == 0 {
			return errShortColumn
		}
		if p.maxDef == 0 {
			nv = int(lvls)
		}
		if ok {
			idx := c.idx[:lvls]
			indexed(got, idx, p, spread(idx, nv, c.defs[:lvls], p.maxDef))
		} else {
			vals := c.vals[:lvls]
			plain(got, vals, spread(vals, nv, c.defs[:lvls], p.maxDef))
		}
		got += int(lvls)
	}
	return nil
}

// densePages passes the next m rows of r to conv in batches as they are
// decoded: n rows from row lo of the window, whose non-null values are
// vals, in order, and whose definition levels are defs (row k is null
// when defs[k] < maxDef; defs is unset when maxDef is 0). It saves the
// spreading of the values over their rows that readPages does, a move per
// row.
func (c *chunkStream[T]) densePages(r pageReader[T], m int, conv func(lo, n int, vals []T, defs []int16, maxDef int16)) error {
	maxDef := r.Descriptor().MaxDefinitionLevel()
	if len(c.vals) < directRows {
		c.vals = make([]T, directRows)
		c.defs = make([]int16, directRows)
		prefault(c.vals) // the decoder's stores of slices go through the write barrier
	}
	for got := 0; got < m; {
		if !r.HasNext() {
			if err := r.Err(); err != nil {
				return err
			}
			return errShortColumn
		}
		lvls, nv, err := r.ReadBatchInPage(int64(m-got), c.vals, c.defs, nil)
		if err != nil {
			return err
		}
		if lvls == 0 {
			return errShortColumn
		}
		if maxDef == 0 {
			nv = int(lvls)
		}
		conv(got, int(lvls), c.vals[:nv], c.defs[:lvls], maxDef)
		got += int(lvls)
	}
	return nil
}

// unknownIDs counts the rows of members not in the members table and keeps
// the smallest few distinct ids as examples, so the report does not depend
// on row order and the memory does not grow with the rows. first is the
// first such row in file order, which strict mode's error names.
type unknownIDs struct {
	rows     int64
	examples []string // sorted, distinct, at most maxExamples
	first    rowPlace
	firstID  string
}

// rowPlace is where a row is: its file, its 0-based row group (-1 when the
// file has none) and its 1-based row in the file; row 0 is no row.
type rowPlace struct {
	file  string
	group int
	row   int64
}

// before orders places by file name, then row, so that the first row of
// files read concurrently does not depend on their timing.
// String writes the row and, in a file of row groups, its group, as
// DataError does.
func (a rowPlace) String() string {
	if a.group >= 0 {
		return fmt.Sprintf("row group %d, row %d", a.group, a.row)
	}
	return fmt.Sprintf("row %d", a.row)
}

// No row (row 0) comes after every row.
func (a rowPlace) before(b rowPlace) bool {
	if a.row == 0 || b.row == 0 {
		return b.row == 0 && a.row != 0
	}
	if a.file != b.file {
		return a.file < b.file
	}
	return a.row < b.row
}

// noteFirst records that a row of the unknown member s is at place at,
// which becomes first if it comes before the first so far.
func (u *unknownIDs) noteFirst(s string, at rowPlace) {
	if at.before(u.first) {
		u.first, u.firstID = at, strings.Clone(s)
	}
}

// note counts a row of the unknown member s, at place at (no row: the
// caller notes the first itself, see noteFirst).
func (u *unknownIDs) note(s string, at rowPlace) {
	u.noteFirst(s, at)
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
		u.note(s, rowPlace{})
	}
	u.noteFirst(o.firstID, o.first)
	u.rows = rows
}

// noNulls reports whether the statistics of a row group's column chunk
// say that it holds no null.
func noNulls(rg *file.RowGroupReader, col int) bool {
	md, err := rg.MetaData().ColumnChunk(col)
	if err != nil {
		return false
	}
	if ok, err := md.StatsSet(); !ok || err != nil {
		return false
	}
	st, err := md.Statistics()
	return err == nil && st != nil && st.HasNullCount() && st.NullCount() == 0
}
