package eval

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"golang.org/x/sync/errgroup"

	"github.com/caremetrics/caremetrics/dsl"
	"github.com/caremetrics/caremetrics/metric"
)

// Files names the files of each table; a table may be split into several
// files, read in the order given. The format of each file is chosen by its
// extension: .csv, .parquet, .arrow, .ipc or .feather (Arrow IPC file or
// stream) and .arrows (Arrow IPC stream).
type Files struct {
	Members, Enrollment, Events []string
}

// LoadOption configures LoadDir, LoadFiles and FromArrow.
type LoadOption func(*loadConfig)

type loadConfig struct {
	mem    memory.Allocator
	strict bool
	req    *dsl.Requirements
}

// WithAllocator sets the allocator of the Arrow batches read from files
// (default memory.DefaultAllocator). Nothing allocated with it outlives the
// load: every batch is converted and released as it is read.
func WithAllocator(mem memory.Allocator) LoadOption {
	return func(c *loadConfig) { c.mem = mem }
}

// WithStrict makes any row set aside (such as an event of a member not in
// the members table) fail the load, instead of being counted in
// Data.Reconciliation.
func WithStrict(strict bool) LoadOption {
	return func(c *loadConfig) { c.strict = strict }
}

// WithRequirements loads only what the measures that made req need (see
// dsl.RequirementsOf): event rows whose code is in none of their value sets
// are counted in Data.Reconciliation as unneeded and not kept, and the
// optional events columns they do not read are neither read nor checked;
// a kept event's Claim is 0 unless the measures compare its code's claim
// ids (dsl.Requirements.Claims). This saves much of the time and memory
// of a load. The Data can then only evaluate measures whose requirements
// req covers; Evaluate checks.
func WithRequirements(req dsl.Requirements) LoadOption {
	return func(c *loadConfig) { c.req = &req }
}

// DataError is an error in the member data, located by file, row and
// column. Error formats it like
//
//	events.csv: row 12: column date: invalid date "2025-02-30": no such day
//	events.parquet: row group 3, row 1234: column code: null value in required column
//	members.csv: row 2 (line 4): column birth_date: invalid date "2010-02-30": no such day
//
// leaving out the parts that do not apply.
type DataError struct {
	// File is the file name as given, or "<members>" etc. for FromArrow;
	// Table is members, enrollment or events.
	File, Table string
	// Column is "" when the error is not about one column.
	Column string
	// Row is the 1-based data row in the file (not counting a CSV header),
	// 0 when the error is not about one row.
	Row int64
	// Line is the 1-based line of a CSV file on which Row starts, 0 when
	// not known. Error shows it when it is not Row+1, as when blank lines
	// or quoted newlines come before the row.
	Line int64
	// RowGroup is the 0-based Parquet row group of Row, -1 when not
	// applicable.
	RowGroup int
	Msg      string

	err error
	// decoding is set when a batch reader failed to decode the file.
	decoding bool
}

// Error formats the error as shown at DataError.
func (e *DataError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
	} else {
		b.WriteString(e.Table)
	}
	b.WriteString(": ")
	switch {
	case e.Row > 0:
		if e.RowGroup >= 0 {
			fmt.Fprintf(&b, "row group %d, ", e.RowGroup)
		}
		fmt.Fprintf(&b, "row %d", e.Row)
		if e.Line > 0 && e.Line != e.Row+1 {
			fmt.Fprintf(&b, " (line %d)", e.Line)
		}
		b.WriteString(": ")
	case e.RowGroup >= 0:
		fmt.Fprintf(&b, "row group %d: ", e.RowGroup)
	}
	if e.Column != "" {
		fmt.Fprintf(&b, "column %s: ", e.Column)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns the underlying error of a file that could not be decoded,
// or nil.
func (e *DataError) Unwrap() error { return e.err }

type tableKind uint8

const (
	tMembers tableKind = iota
	tEnrollment
	tEvents
)

var tableNames = [...]string{"members", "enrollment", "events"}

func (t tableKind) String() string { return tableNames[t] }

// source is one file or in-memory reader of one table. read feeds its
// batches to p and returns the number of rows read.
type source struct {
	table tableKind
	name  string
	read  func(ctx context.Context, cfg *loadConfig, p part) (int64, error)
	// direct, for a Parquet events or enrollment file of the canonical
	// layout, replaces read: the file is read once the members are known
	// (see scanDirectEvents and readDirectSpans).
	direct *directFile
}

// LoadDir loads the tables of a directory: for each table, the file
// <table>.<ext>, the shards <table>-*.<ext>, or the files of a
// sub-directory <table>/, with the extensions listed at Files. Files whose
// names start with "." or "_" are ignored.
func LoadDir(ctx context.Context, dir string, opts ...LoadOption) (*Data, error) {
	files, err := listDir(dir, true)
	if err != nil {
		return nil, err
	}
	return LoadFiles(ctx, files, opts...)
}

func dataFile(name string) bool {
	if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
		return false
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv", ".parquet", ".arrow", ".arrows", ".ipc", ".feather":
		return true
	}
	return false
}

// LoadFiles loads the files of the three tables, choosing each file's
// format by its extension (see Files). Members is required; a table without
// files is empty.
func LoadFiles(ctx context.Context, files Files, opts ...LoadOption) (*Data, error) {
	if len(files.Members) == 0 {
		return nil, fmt.Errorf("eval: no members file")
	}
	var srcs []source
	for t, list := range [...][]string{files.Members, files.Enrollment, files.Events} {
		for _, f := range list {
			s, err := fileSources(tableKind(t), f)
			if err != nil {
				return nil, err
			}
			srcs = append(srcs, s...)
		}
	}
	return load(ctx, srcs, opts)
}

// fileSource reads a whole file as one source.
func fileSource(t tableKind, path string) (source, error) {
	if strings.EqualFold(filepath.Ext(path), ".parquet") {
		return parquetSource(t, path, nil, 0), nil
	}
	s, err := fileSources(t, path)
	if err != nil {
		return source{}, err
	}
	return s[0], nil
}

// fileSources reads a file as one source, or a large Parquet file as one
// source per range of row groups.
func fileSources(t tableKind, path string) ([]source, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		return []source{csvFileSource(t, path)}, nil
	case ".parquet":
		if (t == tEvents || t == tEnrollment) && directParquet {
			if df, ok := openDirect(t, path); ok {
				return []source{{table: t, name: path, direct: df}}, nil
			}
		}
		if t == tMembers && directParquet {
			if s, ok := openDirectMembers(path); ok {
				return []source{s}, nil
			}
		}
		return parquetSources(t, path)
	case ".arrow", ".arrows", ".ipc", ".feather":
		return []source{ipcSource(t, path)}, nil
	}
	return nil, &DataError{File: path, Table: t.String(), RowGroup: -1,
		Msg: fmt.Sprintf("unsupported file extension %q: want .csv, .parquet, .arrow, .arrows, .ipc or .feather", filepath.Ext(path))}
}

// FromArrow loads the tables from in-memory Arrow readers, named
// "<members>", "<enrollment>" and "<events>" in errors and in
// Data.Reconciliation. enrollment and events may be nil for empty tables.
// The readers are read to the end but not released: they stay the caller's.
func FromArrow(ctx context.Context, members, enrollment, events array.RecordReader, opts ...LoadOption) (*Data, error) {
	if members == nil {
		return nil, fmt.Errorf("eval: no members reader")
	}
	var srcs []source
	for t, rr := range [...]array.RecordReader{members, enrollment, events} {
		if rr != nil {
			srcs = append(srcs, readerSource(tableKind(t), "<"+tableNames[t]+">", rr))
		}
	}
	return load(ctx, srcs, opts)
}

// load reads every source concurrently into its own part, then merges the
// parts in source order, so the result does not depend on scheduling.
// Parquet event files of the canonical layout are read last, on every
// core, once the members are known, so that their rows resolve member ids
// straight to member indexes.
func load(ctx context.Context, srcs []source, opts []LoadOption) (*Data, error) {
	cfg := loadConfig{mem: memory.DefaultAllocator}
	for _, o := range opts {
		o(&cfg)
	}
	parts := make([]part, len(srcs))
	rows := make([]int64, len(srcs))
	errs := make([]error, len(srcs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	var eventFiles, spanFiles []*directFile
	for i, s := range srcs {
		if s.direct != nil {
			if s.table == tEvents {
				eventFiles = append(eventFiles, s.direct)
			} else {
				spanFiles = append(spanFiles, s.direct)
			}
			continue
		}
		parts[i] = newPart(s.table, s.name, cfg.req)
		g.Go(func() error {
			// A reader that panics on a corrupt file (arrow-go's Parquet
			// footer and flatbuffers decoding do) fails this source
			// instead of the process.
			defer func() {
				if r := recover(); r != nil {
					errs[i] = &DataError{File: s.name, Table: s.table.String(), RowGroup: -1, Msg: fmt.Sprintf("corrupt file: the reader failed: %v", r)}
				}
			}()
			// Data errors do not cancel the other sources, so the error
			// returned is always that of the first failing source.
			rows[i], errs[i] = s.read(gctx, &cfg, parts[i])
			return nil
		})
	}
	_ = g.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	d := &Data{requirements: cfg.req}
	var mps []*memberPart
	for i, p := range parts {
		if mp, ok := p.(*memberPart); ok {
			mps = append(mps, mp)
			parts[i] = nil // copied into d.Members: free the part then
		}
	}
	if err := buildMembers(d, mps); err != nil {
		return nil, err
	}
	members := memberTable(d.Members)
	// The direct readers, spans and events side by side. Neither cancels
	// the other, so that a data error is reported as in source order:
	// enrollment's before events'.
	var de *directEvents
	var spanParts []*spanPart
	var spanRows []int64
	var spanErr, eventErr error
	var wg sync.WaitGroup
	if len(spanFiles) > 0 {
		wg.Go(func() { spanParts, spanRows, spanErr = readDirectSpans(ctx, spanFiles, members, &cfg) })
	}
	if len(eventFiles) > 0 {
		// The claim scopes need every event of a member, so the direct
		// reader applies them only when it reads every event file.
		scope := !slices.ContainsFunc(srcs, func(s source) bool { return s.table == tEvents && s.direct == nil })
		wg.Go(func() { de, eventErr = scanDirectEvents(ctx, eventFiles, members, &cfg, scope) })
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if spanErr != nil {
		return nil, spanErr
	}
	if eventErr != nil {
		return nil, eventErr
	}
	ks, ke := 0, 0
	for i, s := range srcs {
		switch {
		case s.direct == nil:
		case s.table == tEnrollment:
			rows[i] = spanRows[ks]
			ks++
		default:
			rows[i] = de.rows[ke]
			ke++
		}
	}
	for _, p := range spanParts {
		parts = append(parts, p)
	}
	var unneeded int64
	for i, s := range srcs {
		// A file read as several sources (row groups) counts once.
		if n := len(d.Reconciliation.Files); n > 0 && d.Reconciliation.Files[n-1].File == s.name && d.Reconciliation.Files[n-1].Table == s.table.String() {
			d.Reconciliation.Files[n-1].Rows += rows[i]
		} else {
			d.Reconciliation.Files = append(d.Reconciliation.Files, FileCount{Table: s.table.String(), File: s.name, Rows: rows[i]})
		}
	}
	for _, p := range parts {
		if ep, ok := p.(*eventPart); ok {
			unneeded += ep.unneeded
		}
	}
	if de != nil {
		unneeded += de.unneeded
	}
	if unneeded > 0 {
		d.Reconciliation.Unneeded = append(d.Reconciliation.Unneeded, SetAside{Table: tEvents.String(), Reason: "code in no value set of the measures loaded for", Rows: unneeded})
	}
	if err := build(ctx, d, parts, de, members, &cfg); err != nil {
		return nil, err
	}
	d.Reconciliation.Used = []TableCount{{tMembers.String(), int64(len(d.Members))},
		{tEnrollment.String(), int64(len(d.Spans))}, {tEvents.String(), int64(len(d.Events))}}
	if err := d.Reconciliation.Check(); err != nil {
		return nil, err
	}
	return d, nil
}

// memberTable maps each member id (distinct) to the member's index.
func memberTable(members []Member) *keyTable {
	t := &keyTable{}
	t.reserve(len(members))
	prefault(t.slots) // touch reads ahead, and put writes after
	workers := runtime.GOMAXPROCS(0)
	if len(members) < 1<<16 {
		workers = 1
	}
	// At a million members the fill is a cache miss per id, 0.2 s on one
	// core while the others waited: each goroutine now fills a share of
	// the members (distinct, as buildMembers made them).
	long := make([][]int32, workers)
	added := make([]int, workers)
	touched := make([]uint32, workers)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*len(members)/workers, (w+1)*len(members)/workers
		wg.Go(func() { added[w], long[w], touched[w] = t.fillShare(members, lo, hi) })
	}
	wg.Wait()
	for w := range workers {
		t.n += added[w]
		t.sink += touched[w]
		for _, i := range long[w] {
			id := members[i].ID
			t.put(0, unsafe.Slice(unsafe.StringData(id), len(id)), i)
		}
	}
	t.settle()
	return t
}

// build merges the parts into d (whose members are built already):
// attributes in the same order, codes, claims and sources numbered in sorted order (so ids do
// not depend on row order), and each member's spans and events grouped and
// sorted.
func build(ctx context.Context, d *Data, parts []part, de *directEvents, members *keyTable, cfg *loadConfig) error {
	var sps []*spanPart
	var eps []*eventPart
	for _, p := range parts {
		switch p := p.(type) {
		case *spanPart:
			sps = append(sps, p)
		case *eventPart:
			eps = append(eps, p)
		}
	}

	// Replace each part's local member ids by member indexes, counting
	// the rows set aside.
	spanAside := newAside(tEnrollment)
	for _, p := range sps {
		if p.resolved {
			spanAside.ids.merge(&p.unknown)
			continue
		}
		spanAside.resolve(members, &p.partBase, &p.ids, p.member)
	}
	eventAside := newAside(tEvents)
	for _, p := range eps {
		eventAside.resolve(members, &p.partBase, &p.ids, p.member)
	}
	if de != nil {
		eventAside.ids.merge(&de.unknown)
	}
	for _, a := range []*aside{spanAside, eventAside} {
		if a.ids.rows == 0 {
			continue
		}
		s := a.setAside()
		if cfg.strict {
			return a.strictError()
		}
		d.Reconciliation.SetAside = append(d.Reconciliation.SetAside, s)
	}

	// Spans: plans numbered in name order, so that ids do not depend on
	// row order.
	var plans []string
	for _, p := range sps {
		if len(p.plans.s) == 0 {
			continue // data loaded for measures holds none
		}
		used := make([]bool, len(p.plans.s))
		for c, spans := range p.spans {
			for k, sp := range spans {
				if sp.Plan >= 0 && p.member[c][k] >= 0 {
					used[sp.Plan] = true
				}
			}
		}
		plans = appendUsed(plans, p.plans.s, used)
	}
	d.Plans = sortedSet(plans, strings.Compare)
	spans, err := group(d.Members, sps, func(p *spanPart) (chunks[int32], chunks[Span]) { return p.member, p.spans },
		func(m *Member, s, e int32) { m.SpansStart, m.SpansEnd = s, e },
		func(p *spanPart) func(*Span) {
			if len(p.plans.s) == 0 {
				return nil
			}
			planID := make([]int32, len(p.plans.s))
			for i, name := range p.plans.s {
				j, _ := slices.BinarySearch(d.Plans, name)
				planID[i] = int32(j)
			}
			return func(sp *Span) {
				if sp.Plan >= 0 {
					sp.Plan = planID[sp.Plan]
				}
			}
		}, nil)
	if err != nil {
		return err
	}
	d.Spans = spans
	sortRuns(d.Members, d.Spans, func(m *Member) (int32, int32) { return m.SpansStart, m.SpansEnd }, func(xs []Span) { slices.SortFunc(xs, compareSpans) })

	// Events: renumber codes and sources used by kept events.
	var codes [][2]string
	var sources []string
	for _, p := range eps {
		usedCode := make([]bool, len(p.codes.list))
		usedSource := make([]bool, len(p.sources.s))
		for c, events := range p.events {
			for k, e := range events {
				if p.member[c][k] < 0 {
					continue
				}
				usedCode[e.Code] = true
				if e.Source >= 0 {
					usedSource[e.Source] = true
				}
			}
		}
		codes = appendUsed(codes, p.codes.list, usedCode)
		sources = appendUsed(sources, p.sources.s, usedSource)
	}
	if de != nil {
		dc, usedCode, ds, usedSource := de.used()
		codes = appendUsed(codes, dc, usedCode)
		sources = appendUsed(sources, ds, usedSource)
	}
	codes = sortedSet(codes, func(a, b [2]string) int {
		if c := strings.Compare(a[0], b[0]); c != 0 {
			return c
		}
		return strings.Compare(a[1], b[1])
	})
	for _, c := range codes {
		d.Codes.Intern(c[0], c[1])
	}
	d.Sources = sortedSet(sources, strings.Compare)
	if len(d.Sources) > math.MaxInt16+1 {
		return fmt.Errorf("eval: events: more than %d distinct sources", math.MaxInt16+1)
	}
	events, err := group(d.Members, eps, func(p *eventPart) (chunks[int32], chunks[Event]) { return p.member, p.events },
		func(m *Member, s, e int32) { m.EventsStart, m.EventsEnd = s, e },
		func(p *eventPart) func(*Event) {
			codeID := make([]CodeID, len(p.codes.list))
			for i, c := range p.codes.list {
				codeID[i], _ = d.Codes.Lookup(c[0], c[1])
			}
			sourceID := make([]int16, len(p.sources.s))
			for i, s := range p.sources.s {
				j, _ := slices.BinarySearch(d.Sources, s)
				sourceID[i] = int16(j)
			}
			return func(e *Event) {
				e.Code = codeID[e.Code]
				if e.Source >= 0 {
					e.Source = sourceID[e.Source]
				}
			}
		}, directExtra(ctx, d, de))
	if err != nil {
		return err
	}
	d.Events = events
	var scoped int64
	if de != nil && de.reg.scoped {
		scoped = de.scoped // applied by the first pass already
	} else if scoped, err = scopeClaims(ctx, d, cfg.req); err != nil {
		return err
	}
	var outside int64
	for _, p := range eps {
		outside += p.outside
	}
	if de != nil {
		outside += de.outside
	}
	if outside > 0 {
		d.Reconciliation.Unneeded = append(d.Reconciliation.Unneeded, SetAside{Table: tEvents.String(), Reason: windowReason, Rows: outside})
	}
	if scoped > 0 {
		d.Reconciliation.Unneeded = append(d.Reconciliation.Unneeded, SetAside{Table: tEvents.String(), Reason: claimScopedReason, Rows: scoped})
	}
	sortRuns(d.Members, d.Events, func(m *Member) (int32, int32) { return m.EventsStart, m.EventsEnd }, sortEvents)
	// The garbage of the load (the first pass's keys, the second pass's
	// page buffers) goes back before evaluation allocates: kept, the
	// heap's free pages are not what evaluation reuses, and the process
	// peaked during evaluation at 20-30 MB above the load's peak.
	returnFreeMemory(uintptr(len(d.Events)) * unsafe.Sizeof(Event{}))
	return nil
}

type memberOrigin struct{ part, row int32 }

// memberKey sorts a member row by id. hi and lo hold the id's first 16
// bytes big-endian, zero-padded, so that comparing them compares those
// bytes in strings.Compare's order; the ids themselves are compared only
// when both words tie (ids that share 16 bytes, or differ only in trailing
// zero bytes). At a million ids with long common prefixes this is ten
// times faster than comparing the strings. The key holds no pointer (the
// id is found from its origin), so the collector never scans the keys.
type memberKey struct {
	hi, lo uint64
	origin memberOrigin
}

func newMemberKey(id string, o memberOrigin) memberKey {
	var b [16]byte
	copy(b[:], id)
	return memberKey{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:]), o}
}

// compareMemberKeys returns the order of keys whose ids id returns.
func compareMemberKeys(id func(memberOrigin) string) func(a, b memberKey) int {
	return func(a, b memberKey) int {
		if a.hi != b.hi {
			return cmp.Compare(a.hi, b.hi)
		}
		if a.lo != b.lo {
			return cmp.Compare(a.lo, b.lo)
		}
		if c := strings.Compare(id(a.origin), id(b.origin)); c != 0 {
			return c
		}
		if c := cmp.Compare(a.origin.part, b.origin.part); c != 0 {
			return c
		}
		return cmp.Compare(a.origin.row, b.origin.row)
	}
}

// sortParallel sorts xs, whose elements must be distinct under cmp, in one
// run per core, merged; it may return a new slice.
func sortParallel[T any](xs []T, cmp func(a, b T) int) []T {
	workers := runtime.GOMAXPROCS(0)
	if workers < 2 || len(xs) < 1<<14 {
		slices.SortFunc(xs, cmp)
		return xs
	}
	runs := make([][]T, workers)
	var wg sync.WaitGroup
	for w := range runs {
		runs[w] = xs[w*len(xs)/workers : (w+1)*len(xs)/workers]
		wg.Go(func() { slices.SortFunc(runs[w], cmp) })
	}
	wg.Wait()
	// Merge pairs of runs until one is left.
	buf := make([]T, len(xs))
	for len(runs) > 1 {
		var merged [][]T
		off := 0
		for i := 0; i < len(runs); i += 2 {
			if i+1 == len(runs) {
				merged = append(merged, append(buf[off:off], runs[i]...))
				off += len(runs[i])
				continue
			}
			a, b := runs[i], runs[i+1]
			out := buf[off : off : off+len(a)+len(b)]
			for len(a) > 0 && len(b) > 0 {
				if cmp(b[0], a[0]) < 0 {
					out, b = append(out, b[0]), b[1:]
				} else {
					out, a = append(out, a[0]), a[1:]
				}
			}
			out = append(append(out, a...), b...)
			merged = append(merged, out)
			off += len(out)
		}
		runs = merged
		xs, buf = buf, xs
	}
	return runs[0]
}

func buildMembers(d *Data, mps []*memberPart) error {
	n := 0
	for _, p := range mps {
		n += len(p.rows)
	}
	if n > math.MaxInt32 {
		return fmt.Errorf("eval: members: more than %d rows", math.MaxInt32)
	}
	// Sorting keys that hold the id's first 16 bytes, rather than origins
	// whose id is two indirections away, keeps most compares from missing
	// the cache twice. Ties go by origin, so of two rows with one id the
	// first read comes first, as in a stable sort.
	id := func(o memberOrigin) string { return mps[o.part].id(o.row) }
	keys := make([]memberKey, 0, n)
	for pi, p := range mps {
		for k := range p.rows {
			o := memberOrigin{int32(pi), int32(k)}
			keys = append(keys, newMemberKey(id(o), o))
		}
	}
	if byID := compareMemberKeys(id); !slices.IsSortedFunc(keys, byID) {
		keys = sortParallel(keys, byID)
	}
	order := make([]memberOrigin, n)
	for k := range keys {
		order[k] = keys[k].origin
	}
	for k := 1; k < len(keys); k++ {
		if prev, o := order[k-1], order[k]; keys[k-1].hi == keys[k].hi && keys[k-1].lo == keys[k].lo && id(prev) == id(o) {
			p, pp := mps[o.part], mps[prev.part]
			at, first := p.place(p.offset+int64(o.row)+1), pp.place(pp.offset+int64(prev.row)+1)
			where := "at " + first.String()
			if first.file != at.file {
				where = "in " + first.file + " " + first.String()
			}
			return &DataError{File: at.file, Table: tMembers.String(), Column: "member_id", Row: at.row, RowGroup: at.group,
				Msg: fmt.Sprintf("duplicate member id %s (first %s)", quoteCell(id(o)), where)}
		}
	}

	// Attributes: the union of the parts' extra columns, null where a
	// part lacks one.
	var attrs []Attribute
	var first []string
	byName := map[string]int{}
	attrMap := make([][]int, len(mps))
	for pi, p := range mps {
		for _, a := range p.attrs {
			g, ok := byName[a.Name]
			if !ok {
				g = len(attrs)
				byName[a.Name] = g
				attrs = append(attrs, newAttribute(a.Name, a.Kind, n))
				first = append(first, p.file)
			} else if attrs[g].Kind != a.Kind {
				return p.err(0, a.Name, "%s here, but %s in %s", attrKindNames[a.Kind], attrKindNames[attrs[g].Kind], first[g])
			}
			attrMap[pi] = append(attrMap[pi], g)
		}
	}

	// The rows are gathered in sorted order on every core: each is a
	// cache miss, and the members are the one table nothing else can be
	// resolved without.
	d.Members = make([]Member, n)
	prefault(d.Members)
	workers := runtime.GOMAXPROCS(0)
	if n < 1<<14 {
		workers = 1
	}
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*n/workers, (w+1)*n/workers
		wg.Go(func() {
			for k := lo; k < hi; k++ {
				o := order[k]
				p := mps[o.part]
				d.Members[k] = p.member(o.row)
				for x, g := range attrMap[o.part] {
					copyAttr(&attrs[g], k, &p.attrs[x].Attribute, int(o.row))
				}
			}
		})
	}
	wg.Wait()
	d.Attributes = attrs
	return nil
}

func newAttribute(name string, k AttrKind, n int) Attribute {
	a := Attribute{Name: name, Kind: k}
	switch k {
	case AttrString:
		a.Strings = make([]string, n)
		prefault(a.Strings) // before the collector reads it: see populate
	case AttrFloat:
		a.Floats = make([]float64, n)
		for i := range a.Floats {
			a.Floats[i] = math.NaN()
		}
	case AttrInt:
		a.Ints = make([]int64, n)
	case AttrBool:
		a.Bools = make([]bool, n)
	case AttrDate:
		a.Dates = make([]metric.Date, n)
		for i := range a.Dates {
			a.Dates[i] = metric.NoDate
		}
	case AttrStrings:
		a.Lists = make([][]string, n)
		prefault(a.Lists)
	}
	return a
}

func copyAttr(dst *Attribute, i int, src *Attribute, j int) {
	switch dst.Kind {
	case AttrString:
		dst.Strings[i] = src.Strings[j]
	case AttrFloat:
		dst.Floats[i] = src.Floats[j]
	case AttrInt:
		dst.Ints[i] = src.Ints[j]
	case AttrBool:
		dst.Bools[i] = src.Bools[j]
	case AttrDate:
		dst.Dates[i] = src.Dates[j]
	case AttrStrings:
		dst.Lists[i] = src.Lists[j]
	}
}

// aside accounts for the rows of a table whose member is not in members.
type aside struct {
	table tableKind
	ids   unknownIDs
}

func newAside(t tableKind) *aside { return &aside{table: t} }

// resolve replaces the local member ids of a part's rows by member
// indexes, -1 for rows set aside.
func (a *aside) resolve(members *keyTable, p *partBase, ids *localIDs, member chunks[int32]) {
	global := make([]int32, len(ids.s))
	first := int32(-1) // the unknown id whose first row comes first
	for i, s := range ids.s {
		g, ok := members.get(0, unsafe.Slice(unsafe.StringData(s), len(s)))
		if !ok {
			g = -1
			if r := ids.rowOf(int32(i)); r > 0 && (first < 0 || r < ids.rowOf(first)) {
				first = int32(i)
			}
		}
		global[i] = g
	}
	// The part's first row set aside is its first unknown id's first row:
	// located once, not for every row of an unknown member.
	if first >= 0 {
		a.ids.noteFirst(ids.s[first], p.place(ids.rowOf(first)))
	}
	for _, ms := range member {
		for k, m := range ms {
			g := global[m]
			if g < 0 {
				a.ids.note(ids.s[m], rowPlace{})
			}
			ms[k] = g
		}
	}
}

const maxExamples = 5

// strictError reports the first row set aside, and how many there are.
func (a *aside) strictError() *DataError {
	u := &a.ids
	rows := "1 row"
	if u.rows != 1 {
		rows = fmt.Sprintf("%d rows", u.rows)
	}
	id := u.firstID
	if u.first.row == 0 && len(u.examples) > 0 {
		id = u.examples[0] // no place known: a reader that keeps none
	}
	return &DataError{File: u.first.file, Table: a.table.String(), Column: "member_id", Row: u.first.row, RowGroup: u.first.group,
		Msg: fmt.Sprintf("member %s is not in members (%s set aside in strict mode)", quoteCell(id), rows)}
}

// setAside reports the rows set aside with the first ids in sort order as
// examples, so the report does not depend on row order.
func (a *aside) setAside() SetAside {
	return SetAside{Table: a.table.String(), Reason: "member_id not in members", Rows: a.ids.rows, Examples: a.ids.examples}
}

// group concatenates the rows of the parts member by member (a counting
// sort on the member index), rewriting each row with the part's remap.
// The scatter into out is the costly step (a cache miss per row), so it
// runs on every core: each goroutine reads all rows but writes only those
// of its own range of members, keeping the order of the parts and rows.
// The parts' rows are freed once all goroutines are done.
func group[P any, T any](members []Member, parts []P, rows func(P) (chunks[int32], chunks[T]), set func(*Member, int32, int32), remap func(P) func(*T), extra *extraRows[T]) ([]T, error) {
	start := make([]int, len(members)+1)
	prefault(start) // incremented in random order: read, then written
	if extra != nil {
		extra.count(start)
	}
	for _, p := range parts {
		member, _ := rows(p)
		for _, ms := range member {
			for _, g := range ms {
				if g >= 0 {
					start[g+1]++
				}
			}
		}
	}
	for i := range members {
		start[i+1] += start[i]
	}
	total := start[len(members)]
	if total > math.MaxInt32 {
		return nil, fmt.Errorf("eval: more than %d rows in one table", math.MaxInt32)
	}
	for i := range members {
		set(&members[i], int32(start[i]), int32(start[i+1]))
	}
	// The grouped arrays are the load's largest allocations. Made now,
	// they would take fresh pages beyond the heap, which still holds the
	// first pass's garbage: a collection that hands the free pages back
	// first keeps the peak at about what is live.
	returnFreeMemory(uintptr(total) * unsafe.Sizeof(*new(T)))
	out := make([]T, total)
	// Faulted in ahead, in order, rather than page by page in the
	// scatter's random order (and, for extra.fill, which reads its places
	// before writing them, twice a page). Not collapsed into huge pages,
	// although the scatter would miss the TLB less: in a loaded process
	// the collapse of hundreds of megabytes waits for compaction (1.7-2 s
	// for 660 MB at 1M members, against 0.4 s saved in the scatter).
	prefault(out)
	fixes := make([]func(*T), len(parts))
	if remap != nil {
		for i, p := range parts {
			fixes[i] = remap(p)
		}
	}
	next := start[:len(members)]
	workers := runtime.GOMAXPROCS(0)
	if total < 1<<16 {
		workers = 1
	}
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := int32(w*len(members)/workers), int32((w+1)*len(members)/workers)
		wg.Go(func() {
			for i, p := range parts {
				fix := fixes[i]
				member, rs := rows(p)
				for c := range rs {
					for k, r := range rs[c] {
						g := member[c][k]
						if g < lo || g >= hi {
							continue
						}
						// fix rewrites the row in place in out: given &r,
						// the closure call would move r to the heap, one
						// allocation per row.
						o := &out[next[g]]
						*o = r
						if fix != nil {
							fix(o)
						}
						next[g]++
					}
				}
			}
		})
	}
	wg.Wait()
	for _, p := range parts {
		member, rs := rows(p)
		for c := range rs {
			rs[c], member[c] = nil, nil
		}
	}
	if extra != nil {
		if err := extra.fill(out, next); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// extraRows are rows of a table not held in parts: the direct Parquet
// reader's events, decoded a second time straight into their place.
type extraRows[T any] struct {
	// count adds each member's rows to start[member+1].
	count func(start []int)
	// fill writes the rows to out, member m's at next[m] onwards.
	fill func(out []T, next []int) error
}

// directExtra is the direct reader's events for group, nil without any.
func directExtra(ctx context.Context, d *Data, de *directEvents) *extraRows[Event] {
	if de == nil {
		return nil
	}
	return &extraRows[Event]{count: de.count, fill: func(out []Event, next []int) error {
		codes, sources := de.reg.codes.list, de.reg.sources.s
		codeID := make([]CodeID, len(codes))
		for i, c := range codes {
			codeID[i], _ = d.Codes.Lookup(c[0], c[1])
		}
		sourceID := make([]int16, len(sources))
		for i, s := range sources {
			j, _ := slices.BinarySearch(d.Sources, s)
			sourceID[i] = int16(j)
		}
		return de.fill(ctx, out, next, codeID, sourceID)
	}}
}

// returnBefore is the size of a grouped array from which group returns
// the heap's free memory to the system before making it, and the load
// once it is done. At a million members the spans are 62 MB and the
// events 476 MB, and a collection costs 0.05-0.1 s; for a small load the
// garbage is not worth one.
const returnBefore = 32 << 20

// returnFreeMemory runs a collection and returns the heap's free pages to
// the system when the arrays the load is making or has made, of size
// bytes, are large enough for its garbage to matter (see returnBefore).
func returnFreeMemory(size uintptr) {
	if size >= returnBefore {
		debug.FreeOSMemory()
	}
}

// prefault faults in the pages of xs (fresh from the operating system)
// in order, on every core, before rows are scattered into it: the scatter
// would fault them one by one in random order, each in the middle of its
// work, and where the stores go through the write barrier, each page
// twice (see populate). Where the kernel cannot populate, the memory is
// cleared instead: it is zero already, so only its pages change.
func prefault[T any](xs []T) {
	workers := runtime.GOMAXPROCS(0)
	if len(xs) < 1<<16 {
		workers = 1
	}
	var wg sync.WaitGroup
	for w := range workers {
		part := xs[w*len(xs)/workers : (w+1)*len(xs)/workers]
		wg.Go(func() {
			if !populate(part) {
				clear(part)
			}
		})
	}
	wg.Wait()
}

// sortRuns sorts each member's run of xs with sort, members split among
// goroutines.
func sortRuns[T any](members []Member, xs []T, run func(*Member) (int32, int32), sort func([]T)) {
	workers := runtime.GOMAXPROCS(0)
	chunk := (len(members) + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := 0; lo < len(members); lo += chunk {
		hi := min(lo+chunk, len(members))
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				s, e := run(&members[i])
				sort(xs[s:e])
			}
		})
	}
	wg.Wait()
}

// sortEvents sorts one member's events in compareEvents order. Runs are
// short (tens of events), where an insertion sort that compares dates
// inline, and calls compareEvents only on equal dates, beats the generic
// sort's call through a function value per comparison (0.7 s for 20M
// events at a million members).
func sortEvents(xs []Event) {
	if len(xs) > 32 {
		slices.SortFunc(xs, compareEvents)
		return
	}
	for i := 1; i < len(xs); i++ {
		x := xs[i]
		j := i
		for ; j > 0; j-- {
			if p := &xs[j-1]; x.Date > p.Date || x.Date == p.Date && compareEvents(x, *p) >= 0 {
				break
			}
			xs[j] = xs[j-1]
		}
		xs[j] = x
	}
}

func compareSpans(a, b Span) int {
	if c := cmp.Compare(a.Start, b.Start); c != 0 {
		return c
	}
	if c := cmp.Compare(a.End, b.End); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Benefits, b.Benefits); c != 0 {
		return c
	}
	return cmp.Compare(a.Plan, b.Plan)
}

// compareEvents orders events fully, so that equal inputs in any row
// order give equal Data.
func compareEvents(a, b Event) int {
	if c := cmp.Compare(a.Date, b.Date); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Code, b.Code); c != 0 {
		return c
	}
	if c := cmp.Compare(a.End, b.End); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Value, b.Value); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Claim, b.Claim); c != 0 {
		return c
	}
	return cmp.Compare(a.Source, b.Source)
}

func appendUsed[T any](dst, src []T, used []bool) []T {
	for i, u := range used {
		if u {
			dst = append(dst, src[i])
		}
	}
	return dst
}

// sortedSet sorts xs and drops duplicates; nil when empty.
func sortedSet[T any](xs []T, cmp func(a, b T) int) []T {
	slices.SortFunc(xs, cmp)
	xs = slices.CompactFunc(xs, func(a, b T) bool { return cmp(a, b) == 0 })
	if len(xs) == 0 {
		return nil
	}
	return slices.Clip(xs)
}
