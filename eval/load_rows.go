package eval

import (
	"fmt"
	"hash/maphash"
	"math"
	"slices"
	"strings"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/caremetrics/caremetrics/dsl"
	"github.com/caremetrics/caremetrics/metric"
)

// A part converts the batches of one source into compact rows. Parts are
// filled concurrently, one goroutine each, and merged by build. Strings
// that repeat (member ids of events, codes, claims, plans) are interned per
// part, so a part holds few strings and the batches' memory can be
// released as soon as a batch is converted.
type part interface {
	// begin checks the columns of the source before its first batch.
	begin(fields []field) error
	add(b *batch) error
}

// field is a column of a source; typ is nil for CSV, whose cells are all
// text.
type field struct {
	name string
	typ  arrow.DataType
}

// batch is a run of rows of a source: an Arrow record batch, or CSV cells
// column by column.
type batch struct {
	n     int
	first int64 // 1-based row number of row 0 in the source
	rec   arrow.RecordBatch
	text  [][]string
}

type colSpec struct {
	name     string
	kind     colKind
	required bool
}

func newPart(t tableKind, file string, req *dsl.Requirements) part {
	base := partBase{table: t, file: file, req: req}
	switch t {
	case tMembers:
		base.specs = memberSpecs
		return &memberPart{partBase: base, texts: newLocalIDs(), strs: interner{}, races: interner{}}
	case tEnrollment:
		base.specs = spanSpecs
		plans := newLocalIDs()
		return &spanPart{partBase: base, ids: newLocalIDs(), plans: &plans}
	default:
		base.specs = eventSpecs
		return &eventPart{partBase: base, ids: newLocalIDs(), sources: newLocalIDs(),
			codes: localCodes{raw: map[[2]string]int32{}, norm: map[[2]string]int32{}}}
	}
}

// partBase finds the canonical columns of a source and binds them for
// each batch.
type partBase struct {
	table tableKind
	file  string
	specs []colSpec
	idx   []int // column of each spec, -1 when absent
	extra []field
	// extraIdx are the columns of extra.
	extraIdx []int
	// req, when set, names what the measures the data is loaded for read:
	// begin drops the optional columns they do not (columnNeeded), so that
	// their cells are never parsed or interned.
	req *dsl.Requirements
	// rowGroup gives the Parquet row group of a row of the file, for
	// errors found after reading (nil: the file has none); offset is the
	// number of rows of the file before the part's first (a part that
	// holds some row groups of a file).
	rowGroup func(row int64) int
	offset   int64
}

func (p *partBase) setRowGroups(rowGroup func(row int64) int, offset int64) {
	p.rowGroup, p.offset = rowGroup, offset
}

// place locates row of the part's file.
func (p *partBase) place(row int64) rowPlace {
	g := -1
	if p.rowGroup != nil {
		g = p.rowGroup(row)
	}
	return rowPlace{p.file, g, row}
}

func (p *partBase) err(row int64, col, format string, args ...any) *DataError {
	return &DataError{File: p.file, Table: p.table.String(), Column: col, Row: row, RowGroup: -1, Msg: fmt.Sprintf(format, args...)}
}

func (p *partBase) begin(fields []field) error {
	p.idx = make([]int, len(p.specs))
	for s := range p.idx {
		p.idx[s] = -1
	}
	seen := map[string]bool{}
	for j, f := range fields {
		if f.name == "" {
			continue // an unnamed index column, as pandas writes
		}
		if seen[f.name] {
			return p.err(0, f.name, "duplicate column")
		}
		seen[f.name] = true
		s := p.spec(f.name)
		if s < 0 {
			p.extra = append(p.extra, f)
			p.extraIdx = append(p.extraIdx, j)
			continue
		}
		p.idx[s] = j
		if k := p.specs[s].kind; f.typ != nil && !kindOK(k, f.typ) {
			return p.err(0, f.name, "type %s, want %s", f.typ, kindWant[k])
		}
	}
	for s, spec := range p.specs {
		if spec.required && p.idx[s] < 0 {
			return p.err(0, spec.name, "missing required column%s", missingHint(fields, spec.name))
		}
		if !spec.required && !columnNeeded(p.table, p.req, spec.name) {
			p.idx[s] = -1
		}
	}
	return nil
}

// missingHint says why column name may be missing from fields, when the
// cause is plain: a column named in another case, or a CSV header that is
// one column because the file has another delimiter.
func missingHint(fields []field, name string) string {
	for _, f := range fields {
		if strings.EqualFold(f.name, name) {
			return fmt.Sprintf(" (column names are lower case: found %s)", quoteCell(f.name))
		}
	}
	if len(fields) != 1 || fields[0].typ != nil {
		return ""
	}
	h := fields[0].name
	for _, d := range [...]struct{ sep, name string }{{"\t", "tabs"}, {";", `";"`}, {"|", `"|"`}} {
		if strings.Contains(h, d.sep) {
			return fmt.Sprintf(` (the header is one column %s: is the file delimited by %s? want ",")`, quoteCell(h), d.name)
		}
	}
	return ""
}

func (p *partBase) spec(name string) int { return specIndex(p.specs, name) }

// specIndex returns the index of the spec of column name, -1 when none.
func specIndex(specs []colSpec, name string) int {
	for s := range specs {
		if specs[s].name == name {
			return s
		}
	}
	return -1
}

// bind returns the accessor of spec s in batch b: a nullCol when the column
// is absent, a csvCol for CSV, else the Arrow accessor of the column's
// kind.
func (p *partBase) bind(b *batch, s int) (any, error) {
	j := p.idx[s]
	if j < 0 {
		return nullCol{}, nil
	}
	return bindKind(b, j, p.specs[s].kind, p.specs[s].name, p)
}

func bindKind(b *batch, j int, k colKind, name string, p *partBase) (any, error) {
	if b.text != nil {
		return csvCol(b.text[j]), nil
	}
	a := b.rec.Column(j)
	var c any
	var err error
	switch k {
	case kText:
		c, err = bindText(a)
	case kDate:
		c, err = bindDate(a)
	case kBool:
		c, err = bindBool(a)
	case kFloat:
		c, err = bindNumber(a)
	case kList:
		c, err = bindList(a)
	}
	if err != nil {
		return nil, p.err(0, name, "type %s, want %s", a.DataType(), kindWant[k])
	}
	return c, nil
}

// nullCol stands for an absent optional column.
type nullCol struct{}

func (nullCol) text(int) (string, bool)                 { return "", false }
func (nullCol) date(int) (metric.Date, bool, error)     { return metric.NoDate, false, nil }
func (nullCol) boolean(int) (Tristate, error)           { return Null, nil }
func (nullCol) float(int) (float64, bool, error)        { return math.NaN(), false, nil }
func (nullCol) list(_ int, d []string) ([]string, bool) { return d, false }

// requiredText reads a required text cell; blank counts as null.
func (p *partBase) requiredText(c textCol, b *batch, i, s int) (string, error) {
	v, ok := c.text(i)
	if !ok || strings.TrimSpace(v) == "" {
		return "", p.err(b.first+int64(i), p.specs[s].name, "null value in required column")
	}
	return v, nil
}

func (p *partBase) requiredDate(c dateCol, b *batch, i, s int) (metric.Date, error) {
	d, ok, err := c.date(i)
	if err != nil {
		return 0, p.err(b.first+int64(i), p.specs[s].name, "%v", err)
	}
	if !ok {
		return 0, p.err(b.first+int64(i), p.specs[s].name, "null value in required column")
	}
	if msg := dateCheck(p.specs[s].name)(d); msg != "" {
		return 0, p.err(b.first+int64(i), p.specs[s].name, "%s", msg)
	}
	return d, nil
}

func (p *partBase) optionalDate(c dateCol, b *batch, i, s int) (metric.Date, error) {
	d, ok, err := c.date(i)
	if err != nil {
		return 0, p.err(b.first+int64(i), p.specs[s].name, "%v", err)
	}
	if !ok {
		// Null (NoDate) is no date to check: checked, it got a message
		// formatted only to be dropped, once per null end date.
		return d, nil
	}
	if msg := dateCheck(p.specs[s].name)(d); msg != "" {
		return 0, p.err(b.first+int64(i), p.specs[s].name, "%s", msg)
	}
	return d, nil
}

// interner maps strings as read to the strings kept, copying each distinct
// one once, so kept strings never alias a batch.
type interner map[string]string

func (m interner) get(s string) string {
	if v, ok := m[s]; ok {
		return v
	}
	v := strings.Clone(s)
	m[v] = v
	return v
}

// getFunc is get for values kept transformed by f.
func (m interner) getFunc(s string, f func(string) string) string {
	if v, ok := m[s]; ok {
		return v
	}
	v := strings.Clone(f(s))
	m[strings.Clone(s)] = v
	return v
}

// localIDs numbers the distinct strings of a part.
type localIDs struct {
	// slots is an open-addressing table keyed by a 128-bit hash of the
	// id: with millions of member ids looked up once per event row, a
	// probe that stays inside one table (backed by huge pages when large)
	// costs one cache miss, where a Go map keyed by strings costs a TLB
	// miss and a second miss to compare the strings. Two distinct ids
	// collide with probability about n²/2¹²⁹: never, in practice.
	slots []idSlot
	s     []string
	// last and lastID short-cut runs of one value, common in member ids
	// of files written member by member.
	last   string
	lastID int32
	slab   slab
	// firstRow is the first row of each id, for ids numbered by idAt.
	firstRow []int64
}

type idSlot struct {
	h1, h2 uint64
	id     int32 // id + 1; 0 marks an empty slot
}

var idSeeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}

func newLocalIDs() localIDs { return localIDs{lastID: -1} }

func (l *localIDs) id(s string) int32 {
	if l.lastID >= 0 && s == l.last {
		return l.lastID
	}
	if len(l.slots) == 0 {
		l.slots = make([]idSlot, 1<<10)
	}
	h1, h2 := maphash.String(idSeeds[0], s), maphash.String(idSeeds[1], s)
	mask := uint64(len(l.slots) - 1)
	for i := h1 & mask; ; i = (i + 1) & mask {
		sl := &l.slots[i]
		if sl.id == 0 {
			id := int32(len(l.s))
			l.s = append(l.s, l.slab.clone(s))
			*sl = idSlot{h1: h1, h2: h2, id: id + 1}
			if 2*len(l.s) > len(l.slots) {
				l.grow()
			}
			l.last, l.lastID = l.s[id], id
			return id
		}
		if sl.h1 == h1 && sl.h2 == h2 {
			id := sl.id - 1
			l.last, l.lastID = l.s[id], id
			return id
		}
	}
}

// idAt is id for the member id s of a row: the first row of each member
// locates the rows of members not in the members table in errors.
func (l *localIDs) idAt(s string, row int64) int32 {
	id := l.id(s)
	if int(id) == len(l.firstRow) {
		l.firstRow = append(l.firstRow, row)
	}
	return id
}

// rowOf returns the first row of id, 0 when idAt did not number it.
func (l *localIDs) rowOf(id int32) int64 {
	if int(id) < len(l.firstRow) {
		return l.firstRow[id]
	}
	return 0
}

// grow doubles the table, keeping it at most half full.
func (l *localIDs) grow() {
	old := l.slots
	l.slots = make([]idSlot, 2*len(old))
	mask := uint64(len(l.slots) - 1)
	for _, sl := range old {
		if sl.id == 0 {
			continue
		}
		i := sl.h1 & mask
		for l.slots[i].id != 0 {
			i = (i + 1) & mask
		}
		l.slots[i] = sl
	}
	collapseHugePages(l.slots)
}

// slab copies strings out of Arrow buffers (released after each batch)
// into large shared blocks: one allocation per 64 KiB instead of one per
// string keeps the garbage collector's work small on tables with millions
// of distinct claim and member ids.
type slab struct{ block []byte }

func (b *slab) clone(s string) string {
	if len(s) == 0 {
		return ""
	}
	if len(s) > 1<<12 {
		return strings.Clone(s)
	}
	if len(b.block)+len(s) > cap(b.block) {
		b.block = make([]byte, 0, 64<<10)
	}
	start := len(b.block)
	b.block = append(b.block, s...)
	// The block is append-only: bytes once written never change, so the
	// string may alias them.
	return unsafe.String(&b.block[start], len(s))
}

// localCodes numbers the distinct normalised (system, code) pairs of a
// part; raw remembers spellings already normalised.
type localCodes struct {
	raw  map[[2]string]int32
	norm map[[2]string]int32
	list [][2]string
}

func (c *localCodes) id(system, code string) int32 {
	if id, ok := c.raw[[2]string{system, code}]; ok {
		return id
	}
	ns, _ := dsl.NormalizeSystem(system)
	nk := [2]string{ns, dsl.NormalizeCode(ns, code)}
	id, ok := c.norm[nk]
	if !ok {
		nk = [2]string{strings.Clone(nk[0]), strings.Clone(nk[1])}
		id = int32(len(c.list))
		c.norm[nk] = id
		c.list = append(c.list, nk)
	}
	c.raw[[2]string{strings.Clone(system), strings.Clone(code)}] = id
	return id
}

// Members.

const (
	mID = iota
	mBirth
	mDeath
	mSex
	mRace
	mEthnicity
	mLanguage
	mInterpreter
	mDisability
)

var memberSpecs = []colSpec{
	mID: {"member_id", kText, true}, mBirth: {"birth_date", kDate, true}, mDeath: {"death_date", kDate, false},
	mSex: {"sex", kText, false}, mRace: {"race", kList, false}, mEthnicity: {"ethnicity", kText, false},
	mLanguage: {"language", kText, false}, mInterpreter: {"interpreter_needed", kBool, false}, mDisability: {"disability", kBool, false},
}

type memberPart struct {
	partBase
	rows []memberRow
	// ids holds the rows' member ids end to end.
	ids []byte
	// texts numbers the values of sex, ethnicity and language.
	texts localIDs
	// raceList[k] is member k's race values as an index into raceLists,
	// -1 for none (see endRaces); raceVals collects the current row's.
	raceList  []int32
	raceLists [][]string
	raceIDs   map[string]int32
	raceKey   []byte
	raceVals  []string
	strs      interner // attribute values
	races     interner
	attrs     []attrPart
	scratch   []string
}

// memberRow is a members row as read; build makes it a Member. It holds
// no pointers, so the collector never scans the rows: a scan of a fresh
// allocation reads pages not yet written, and each page then faults twice
// (see populate). That cost a million members half a second.
type memberRow struct {
	idStart                 uint64 // the id is ids[idStart:idStart+idLen]
	idLen                   uint32
	birth, death            metric.Date
	sex, ethnicity          int32 // in texts, -1 when null
	language                int32
	interpreter, disability Tristate
}

// setID keeps id (which may alias a decoder's page) as row's.
func (p *memberPart) setID(row *memberRow, id string) {
	row.idStart, row.idLen = uint64(len(p.ids)), uint32(len(id))
	p.ids = append(p.ids, id...)
}

// id returns the member id of row k. The string aliases ids, whose bytes
// never change once appended.
func (p *memberPart) id(k int32) string {
	r := &p.rows[k]
	if r.idLen == 0 {
		return ""
	}
	return unsafe.String(&p.ids[r.idStart], int(r.idLen))
}

// text returns the value of a sex, ethnicity or language id.
func (p *memberPart) text(id int32) string {
	if id < 0 {
		return ""
	}
	return p.texts.s[id]
}

// member returns row k as a Member.
func (p *memberPart) member(k int32) Member {
	r := &p.rows[k]
	m := Member{ID: p.id(k), BirthDate: r.birth, DeathDate: r.death,
		Sex: p.text(r.sex), Ethnicity: p.text(r.ethnicity), Language: p.text(r.language),
		InterpreterNeeded: r.interpreter, Disability: r.disability}
	if l := p.raceList[k]; l >= 0 {
		m.Race = p.raceLists[l]
	}
	return m
}

// endRaces ends the current row's race values (raceVals), which members
// with the same list share: a cohort has a few dozen lists, and members
// sorted by id read them from the cache, where a list of their own, in
// file order, cost evaluation a cache miss per member (0.16 s at a
// million members) and 16 bytes a race.
func (p *memberPart) endRaces() {
	if len(p.raceVals) == 0 {
		p.raceList = append(p.raceList, -1)
		return
	}
	p.raceKey = appendListKey(p.raceKey[:0], p.raceVals)
	l, ok := p.raceIDs[string(p.raceKey)]
	if !ok {
		if p.raceIDs == nil {
			p.raceIDs = map[string]int32{}
		}
		l = int32(len(p.raceLists))
		p.raceIDs[string(p.raceKey)] = l
		p.raceLists = append(p.raceLists, slices.Clip(slices.Clone(p.raceVals)))
	}
	p.raceList = append(p.raceList, l)
	p.raceVals = p.raceVals[:0]
}

type attrPart struct {
	Attribute
	col int
}

func (p *memberPart) begin(fields []field) error {
	if err := p.partBase.begin(fields); err != nil {
		return err
	}
	for x, f := range p.extra {
		k := AttrString
		if f.typ != nil {
			var ok bool
			if k, ok = attrKindOf(f.typ); !ok {
				return p.err(0, f.name, "type %s is not supported for a member attribute", f.typ)
			}
		}
		p.attrs = append(p.attrs, attrPart{Attribute: Attribute{Name: f.name, Kind: k}, col: p.extraIdx[x]})
	}
	return nil
}

var attrColKind = [...]colKind{AttrString: kText, AttrFloat: kFloat, AttrInt: kFloat, AttrBool: kBool, AttrDate: kDate, AttrStrings: kList}

// maxReserve bounds the rows reserve takes from a file's footer, which a
// corrupt file can make claim billions: past it, rows grow as read.
const maxReserve = 1 << 24

// reserve sizes the member rows for a source of n rows, when the format
// tells (Parquet does): growing a slice by doubling costs copies and, on
// fresh memory, page faults.
func (p *memberPart) reserve(n int64) {
	n = min(n, maxReserve)
	if n > 0 {
		p.rows = slices.Grow(p.rows, int(n))
		p.raceList = slices.Grow(p.raceList, int(n))
		// Ids of up to 12 bytes, most of them; longer ones grow it once or
		// twice. (The ids alias every array the buffer grows through.)
		p.ids = slices.Grow(p.ids, 12*int(n))
	}
}

// reserveAttribute makes room for n values in a's column, which the
// direct reader appends to: grown by appending, a million members' column
// left four times its size in garbage.
func reserveAttribute(a *Attribute, n int) {
	switch a.Kind {
	case AttrString:
		a.Strings = slices.Grow(a.Strings, n)
	case AttrFloat:
		a.Floats = slices.Grow(a.Floats, n)
	case AttrInt:
		a.Ints = slices.Grow(a.Ints, n)
	case AttrBool:
		a.Bools = slices.Grow(a.Bools, n)
	case AttrDate:
		a.Dates = slices.Grow(a.Dates, n)
	case AttrStrings:
		a.Lists = slices.Grow(a.Lists, n)
	}
}

func (p *memberPart) add(b *batch) error {
	var cols [mDisability + 1]any
	for s := range cols {
		c, err := p.bind(b, s)
		if err != nil {
			return err
		}
		cols[s] = c
	}
	id, birth, death := cols[mID].(textCol), cols[mBirth].(dateCol), cols[mDeath].(dateCol)
	sex, race, eth, lang := cols[mSex].(textCol), cols[mRace].(listCol), cols[mEthnicity].(textCol), cols[mLanguage].(textCol)
	interp, dis := cols[mInterpreter].(boolCol), cols[mDisability].(boolCol)
	for i := 0; i < b.n; i++ {
		m := memberRow{sex: -1, ethnicity: -1, language: -1}
		row := b.first + int64(i)
		v, err := p.requiredText(id, b, i, mID)
		if err != nil {
			return err
		}
		// The cells of CSV batches were checked as they were read.
		if b.text == nil {
			if msg := keyProblem("member id", v); msg != "" {
				return p.err(row, memberSpecs[mID].name, "%s", msg)
			}
		}
		p.setID(&m, v)
		if m.birth, err = p.requiredDate(birth, b, i, mBirth); err != nil {
			return err
		}
		if m.death, err = p.optionalDate(death, b, i, mDeath); err != nil {
			return err
		}
		for _, t := range []struct {
			col textCol
			id  *int32
		}{{sex, &m.sex}, {eth, &m.ethnicity}, {lang, &m.language}} {
			if s, ok := t.col.text(i); ok {
				*t.id = p.texts.id(s)
			}
		}
		p.scratch, _ = race.list(i, p.scratch[:0])
		for _, r := range p.scratch {
			if r = p.races.getFunc(r, normRace); r != "" {
				p.raceVals = append(p.raceVals, r)
			}
		}
		if m.interpreter, err = interp.boolean(i); err != nil {
			return p.err(row, memberSpecs[mInterpreter].name, "%v", err)
		}
		if m.disability, err = dis.boolean(i); err != nil {
			return p.err(row, memberSpecs[mDisability].name, "%v", err)
		}
		p.rows = append(p.rows, m)
		p.endRaces()
	}
	for x := range p.attrs {
		if err := p.addAttr(&p.attrs[x], b); err != nil {
			return err
		}
	}
	return nil
}

func normRace(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func (p *memberPart) addAttr(a *attrPart, b *batch) error {
	c, err := bindKind(b, a.col, attrColKind[a.Kind], a.Name, &p.partBase)
	if err != nil {
		return err
	}
	switch a.Kind {
	case AttrString:
		c := c.(textCol)
		for i := 0; i < b.n; i++ {
			s, _ := c.text(i)
			a.Strings = append(a.Strings, p.strs.get(s))
		}
	case AttrFloat:
		c := c.(floatCol)
		for i := 0; i < b.n; i++ {
			v, _, err := c.float(i)
			if err != nil {
				return p.err(b.first+int64(i), a.Name, "%v", err)
			}
			a.Floats = append(a.Floats, v)
		}
	case AttrInt:
		c, ok := c.(intCol)
		if !ok {
			return p.err(0, a.Name, "type %s, want an integer", b.rec.Column(a.col).DataType())
		}
		for i := 0; i < b.n; i++ {
			v, _ := c.int(i)
			a.Ints = append(a.Ints, v)
		}
	case AttrBool:
		c := c.(boolCol)
		for i := 0; i < b.n; i++ {
			v, err := c.boolean(i)
			if err != nil {
				return p.err(b.first+int64(i), a.Name, "%v", err)
			}
			a.Bools = append(a.Bools, v == True)
		}
	case AttrDate:
		c := c.(dateCol)
		for i := 0; i < b.n; i++ {
			v, _, err := c.date(i)
			if err != nil {
				return p.err(b.first+int64(i), a.Name, "%v", err)
			}
			a.Dates = append(a.Dates, v)
		}
	case AttrStrings:
		c := c.(listCol)
		for i := 0; i < b.n; i++ {
			var l []string
			p.scratch, _ = c.list(i, p.scratch[:0])
			if len(p.scratch) > 0 {
				l = make([]string, len(p.scratch))
				for j, s := range p.scratch {
					l[j] = p.strs.get(s)
				}
			}
			a.Lists = append(a.Lists, l)
		}
	}
	return nil
}

// Enrollment.

const (
	sMember = iota
	sStart
	sEnd
	sBenefits
	sPlan
)

var spanSpecs = []colSpec{
	sMember: {"member_id", kText, true}, sStart: {"start_date", kDate, true}, sEnd: {"end_date", kDate, true},
	sBenefits: {"benefits", kList, true}, sPlan: {"plan", kText, false},
}

type spanPart struct {
	partBase
	// resolved parts (read by readDirectSpans) hold member indexes, not
	// local ids, and have counted their rows of unknown members already.
	resolved bool
	unknown  unknownIDs
	member   chunks[int32] // local id of each span's member
	spans    chunks[Span]
	ids      localIDs
	// plans numbers the part's plan names; Span.Plan holds these local
	// ids until build renumbers them in name order.
	plans   *localIDs
	scratch []string
}

func (p *spanPart) add(b *batch) error {
	var cols [sPlan + 1]any
	for s := range cols {
		c, err := p.bind(b, s)
		if err != nil {
			return err
		}
		cols[s] = c
	}
	id, start, end := cols[sMember].(textCol), cols[sStart].(dateCol), cols[sEnd].(dateCol)
	benefits, plan := cols[sBenefits].(listCol), cols[sPlan].(textCol)
	for i := 0; i < b.n; i++ {
		sp := Span{Plan: -1}
		row := b.first + int64(i)
		v, err := p.requiredText(id, b, i, sMember)
		if err != nil {
			return err
		}
		m := p.ids.idAt(v, row)
		if sp.Start, err = p.requiredDate(start, b, i, sStart); err != nil {
			return err
		}
		if sp.End, err = p.requiredDate(end, b, i, sEnd); err != nil {
			return err
		}
		if sp.End < sp.Start {
			return p.err(row, spanSpecs[sEnd].name, "end %s is before start %s", sp.End, sp.Start)
		}
		var ok bool
		p.scratch, ok = benefits.list(i, p.scratch[:0])
		if !ok {
			return p.err(row, spanSpecs[sBenefits].name, "null value in required column")
		}
		for _, s := range p.scratch {
			bf, ok := ParseBenefit(s)
			if !ok {
				bf, ok = ParseBenefit(strings.ToLower(strings.TrimSpace(s)))
			}
			if !ok {
				return p.err(row, spanSpecs[sBenefits].name, "%s", unknownBenefit(s))
			}
			sp.Benefits |= bf
		}
		if s, ok := plan.text(i); ok {
			sp.Plan = p.plans.id(s)
		}
		p.member.add(m)
		p.spans.add(sp)
	}
	return nil
}

// unknownBenefit is the error of a benefits item that is none of the
// Benefits.
func unknownBenefit(s string) string {
	return fmt.Sprintf("unknown benefit %s: want medical, dental, mental_health, chemical_dependency or pharmacy", quoteCell(s))
}

// Events.

const (
	eMember = iota
	eDate
	eEnd
	eSystem
	eCode
	eValue
	eSource
	eClaim
)

var eventSpecs = []colSpec{
	eMember: {"member_id", kText, true}, eDate: {"date", kDate, true}, eEnd: {"end_date", kDate, false},
	eSystem: {"system", kText, true}, eCode: {"code", kText, true}, eValue: {"value", kFloat, false},
	eSource: {"source", kText, false}, eClaim: {"claim_id", kText, false},
}

type eventPart struct {
	partBase
	member chunks[int32] // local id of each event's member
	// events hold local ids in Code, Claim and Source, renumbered at build.
	events  chunks[Event]
	ids     localIDs
	codes   localCodes
	sources localIDs

	// Rows whose code the measures (partBase.req) cannot use are counted
	// in unneeded and not kept, and so are, in outside, rows dated outside
	// the windows the measures read their code in.
	needed   []int8 // per local code: 0 not yet known, 1 needed, 2 not
	windows  []dsl.Window
	claims   []bool        // per local code: whether its claim ids are read
	rules    *dsl.RowRules // of req, made on first need (see needsRules)
	unneeded int64
	outside  int64
}

// codeUse says whether rows of the normalised (system, code) can matter
// to the measures req is for (nil: any measure) and how they read them
// (within which dates, whether by claim); rules are req's (req.Rules()),
// nil when it has no windows and every claim id is read.
func codeUse(req *dsl.Requirements, rules *dsl.RowRules, system, code string) (bool, dsl.RowRule) {
	if req != nil && !req.Needs(system, code) {
		return false, dsl.RowRule{Window: dsl.All}
	}
	if rules == nil {
		return true, dsl.RowRule{Always: true, Window: dsl.All, Claim: true}
	}
	return true, rules.Rule(system, code)
}

// needsRules reports whether a loader for req needs its row rules: for
// date windows, or for the codes whose claim ids are read.
func needsRules(req *dsl.Requirements) bool {
	return req != nil && (len(req.Windows) > 0 || req.Claims != nil)
}

// requiredKey is requiredText of a key column of events, whose value
// keyProblem checks too when check is set.
func (p *eventPart) requiredKey(c textCol, b *batch, i, spec int, check bool) (string, error) {
	s, err := p.requiredText(c, b, i, spec)
	if err == nil && check {
		if msg := keyProblem(eventSpecs[spec].name, s); msg != "" {
			return "", p.err(b.first+int64(i), eventSpecs[spec].name, "%s", msg)
		}
	}
	return s, err
}

// needs reports whether a row of local code c dated d can matter to the
// measures, counting it as unneeded or outside when not.
func (p *eventPart) needs(c int32, d metric.Date) bool {
	if p.req == nil {
		return true
	}
	for int(c) >= len(p.needed) {
		p.needed = append(p.needed, 0)
		p.windows = append(p.windows, dsl.All)
		p.claims = append(p.claims, true)
	}
	if p.needed[c] == 0 {
		if p.rules == nil && needsRules(p.req) {
			p.rules = p.req.Rules()
		}
		k := p.codes.list[c]
		needed, rule := codeUse(p.req, p.rules, k[0], k[1])
		p.needed[c], p.windows[c], p.claims[c] = 2, rule.Window, rule.Claim
		if needed {
			p.needed[c] = 1
		}
	}
	switch {
	case p.needed[c] != 1:
		p.unneeded++
		return false
	case !p.windows[c].Contains(d):
		p.outside++
		return false
	}
	return true
}

func (p *eventPart) add(b *batch) error {
	var cols [eClaim + 1]any
	for s := range cols {
		c, err := p.bind(b, s)
		if err != nil {
			return err
		}
		cols[s] = c
	}
	id, date, end := cols[eMember].(textCol), cols[eDate].(dateCol), cols[eEnd].(dateCol)
	system, code, value := cols[eSystem].(textCol), cols[eCode].(textCol), cols[eValue].(floatCol)
	source, claim := cols[eSource].(textCol), cols[eClaim].(textCol)
	pairs := newCodePairs(system, code)
	memberIDs := newDictIDs(id)
	// The cells of CSV batches were checked as they were read (csvCells).
	checkKeys := b.text == nil
	for i := 0; i < b.n; i++ {
		e := Event{Source: -1}
		v, err := p.requiredText(id, b, i, eMember)
		if err != nil {
			return err
		}
		if e.Date, err = p.requiredDate(date, b, i, eDate); err != nil {
			return err
		}
		c, cached := pairs.get(i)
		if !cached {
			sys, err := p.requiredKey(system, b, i, eSystem, checkKeys)
			if err != nil {
				return err
			}
			cd, err := p.requiredKey(code, b, i, eCode, checkKeys)
			if err != nil {
				return err
			}
			c = p.codes.id(sys, cd)
			pairs.put(i, c)
		}
		if !p.needs(c, e.Date) {
			continue
		}
		e.Code = CodeID(c)
		m := memberIDs.id(i, b.first+int64(i), v, &p.ids)
		if e.End, err = p.optionalDate(end, b, i, eEnd); err != nil {
			return err
		}
		if e.End != metric.NoDate && e.End < e.Date {
			return p.err(b.first+int64(i), eventSpecs[eEnd].name, "end %s is before date %s", e.End, e.Date)
		}
		if e.Value, _, err = value.float(i); err != nil {
			return p.err(b.first+int64(i), eventSpecs[eValue].name, "%v", err)
		}
		if s, ok := source.text(i); ok {
			known := len(p.sources.s)
			src := p.sources.id(s)
			if checkKeys && int(src) == known { // new: checked once
				if msg := keyProblem("source", s); msg != "" {
					return p.err(b.first+int64(i), eventSpecs[eSource].name, "%s", msg)
				}
			}
			if src > math.MaxInt16 {
				return p.err(b.first+int64(i), eventSpecs[eSource].name, "more than %d distinct sources", math.MaxInt16+1)
			}
			e.Source = int16(src)
		}
		if s, ok := claim.text(i); ok && (p.req == nil || p.claims[c]) {
			e.Claim = dsl.ClaimKey(s)
		}
		p.member.add(m)
		p.events.add(e)
	}
	return nil
}

// chunks is an append-only list kept in chunks, so that growing it never
// copies what it holds and it can be freed chunk by chunk while merging.
// Two chunks filled by the same sequence of adds have the same shape.
type chunks[T any] [][]T

const maxChunk = 1 << 16

func (c *chunks[T]) add(x T) {
	n := len(*c)
	if n == 0 || len((*c)[n-1]) == cap((*c)[n-1]) {
		// Small tables get small chunks: each is as large as all before it.
		size := maxChunk
		if n < 7 {
			size = 1024 << n
		}
		*c = append(*c, make([]T, 0, size))
		n++
	}
	(*c)[n-1] = append((*c)[n-1], x)
}

// codePairs caches the local code of each (system, code) pair of
// dictionary indexes in one batch, so dictionary-encoded columns (as
// Parquet usually stores them) cost an array lookup per row instead of
// two string hashes. It does nothing for other columns.
type codePairs struct {
	sys, code dictArr
	n         int
	cache     []int32 // local code + 1; 0 not yet seen
}

// maxPairCache bounds the cache: beyond it the rows take the plain path.
const maxPairCache = 1 << 20

func newCodePairs(system, code textCol) codePairs {
	s, ok1 := system.(dictArr)
	c, ok2 := code.(dictArr)
	if !ok1 || !ok2 || s.n*c.n > maxPairCache || s.n*c.n == 0 {
		return codePairs{}
	}
	return codePairs{sys: s, code: c, n: c.n, cache: make([]int32, s.n*c.n)}
}

func (p *codePairs) key(i int) int {
	if p.cache == nil || p.sys.a.IsNull(i) || p.code.a.IsNull(i) {
		return -1
	}
	si, ci := p.sys.a.GetValueIndex(i), p.code.a.GetValueIndex(i)
	if si < 0 || si >= p.sys.n || ci < 0 || ci >= p.code.n {
		return -1
	}
	return si*p.n + ci
}

func (p *codePairs) get(i int) (int32, bool) {
	if k := p.key(i); k >= 0 && p.cache[k] > 0 {
		return p.cache[k] - 1, true
	}
	return 0, false
}

func (p *codePairs) put(i int, c int32) {
	if k := p.key(i); k >= 0 {
		p.cache[k] = c + 1
	}
}

// dictIDs caches the local id of each dictionary entry of a text column in
// one batch, so a dictionary-encoded member or claim id is interned once
// per entry instead of once per row.
type dictIDs struct {
	d     dictArr
	cache []int32 // local id + 1; 0 not yet seen
}

func newDictIDs(c textCol) dictIDs {
	d, ok := c.(dictArr)
	if !ok {
		return dictIDs{}
	}
	return dictIDs{d: d, cache: make([]int32, d.n)}
}

// id returns the local id of s, the text of row i (row of the file).
func (c *dictIDs) id(i int, row int64, s string, ids *localIDs) int32 {
	if c.cache == nil {
		return ids.idAt(s, row)
	}
	j := c.d.a.GetValueIndex(i)
	if j < 0 || j >= len(c.cache) {
		return ids.idAt(s, row)
	}
	if c.cache[j] == 0 {
		c.cache[j] = ids.idAt(s, row) + 1
	}
	return c.cache[j] - 1
}
