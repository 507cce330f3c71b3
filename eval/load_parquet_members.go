package eval

import (
	"context"
	"errors"
	"math"
	"os"
	"slices"
	"sync"
	"unsafe"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/schema"

	"github.com/caremetrics/caremetrics/metric"
)

// Members files of the canonical Parquet layout are read directly too (see
// load_parquet_events.go), into the same part the pqarrow path fills, so
// that everything after reading is shared. The members table is read
// before the others can resolve their member ids, so its speed shows in
// the whole load's time.

// memberLayout is where a Parquet members file keeps each canonical column
// (-1 when absent) and its extra columns, which become attributes.
type memberLayout struct {
	cols   []int
	extras []extraColumn
}

type extraColumn struct {
	name string
	col  int
	kind AttrKind
}

// directMemberLayout returns the layout of a members file if the direct
// reader can read it: the canonical columns as directLayout wants them,
// and every extra column a flat string, date,
// floating point number, signed integer or boolean. Anything else, lists
// of strings as attributes among them, is read through pqarrow.
func directMemberLayout(sc *schema.Schema) (memberLayout, bool) {
	var l memberLayout
	for c := 0; c < sc.NumColumns(); c++ {
		col := sc.Column(c)
		path := col.ColumnPath()
		if specIndex(memberSpecs, path[0]) >= 0 {
			continue // directLayout checks them
		}
		if len(path) != 1 || col.MaxRepetitionLevel() != 0 || col.MaxDefinitionLevel() > 1 || path[0] == "" {
			return l, false
		}
		kind, ok := flatAttrKind(col)
		if !ok {
			return l, false
		}
		for _, e := range l.extras {
			if e.name == path[0] {
				return l, false // a duplicate: pqarrow reports it
			}
		}
		l.extras = append(l.extras, extraColumn{name: path[0], col: c, kind: kind})
	}
	cols, ok := directLayout(sc, memberSpecs)
	if !ok {
		return l, false
	}
	l.cols = cols
	return l, true
}

func noLogicalType(col *schema.Column) bool {
	lt := col.LogicalType()
	return lt == nil || lt.Equals(schema.NoLogicalType{})
}

// flatAttrKind is the attribute kind of a flat extra column, as the pqarrow
// path would type it.
func flatAttrKind(col *schema.Column) (AttrKind, bool) {
	lt := col.LogicalType()
	switch col.PhysicalType() {
	case parquet.Types.ByteArray:
		if lt != nil && lt.Equals(schema.StringLogicalType{}) {
			return AttrString, true
		}
	case parquet.Types.Int32:
		if lt != nil && lt.Equals(schema.DateLogicalType{}) {
			return AttrDate, true
		}
		if noLogicalType(col) || signedInt(lt) {
			return AttrInt, true
		}
	case parquet.Types.Int64:
		if noLogicalType(col) || signedInt(lt) {
			return AttrInt, true
		}
	case parquet.Types.Double, parquet.Types.Float:
		if noLogicalType(col) {
			return AttrFloat, true
		}
	case parquet.Types.Boolean:
		if noLogicalType(col) {
			return AttrBool, true
		}
	}
	return 0, false
}

func signedInt(lt schema.LogicalType) bool {
	it, ok := lt.(schema.IntLogicalType)
	return ok && it.IsSigned()
}

// openDirectMembers returns the direct reading of a Parquet members file,
// or false when the file needs the pqarrow path.
func openDirectMembers(path string) (source, bool) {
	md, err := parquetMetadata(path)
	if err != nil {
		return source{}, false
	}
	layout, ok := directMemberLayout(md.Schema)
	if !ok {
		return source{}, false
	}
	groupRows := make([]int64, md.NumRowGroups())
	for g := range groupRows {
		groupRows[g] = md.RowGroup(g).NumRows()
	}
	return directMembersSource(path, layout, groupRows), true
}

// directMembersSource reads a members file of the canonical layout into
// its part, row group after row group.
func directMembersSource(path string, layout memberLayout, groupRows []int64) source {
	return source{table: tMembers, name: path, read: func(ctx context.Context, cfg *loadConfig, pt part) (int64, error) {
		p := pt.(*memberPart)
		for _, e := range layout.extras {
			p.attrs = append(p.attrs, attrPart{Attribute: Attribute{Name: e.name, Kind: e.kind}, col: e.col})
		}
		var total int64
		for _, n := range groupRows {
			total += n
		}
		// The reservation is only a hint, read from a footer that may be
		// corrupt; a real members file spends well over a byte per row on
		// distinct ids, so its size bounds what is worth reserving.
		rows := min(total, maxReserve)
		if st, err := os.Stat(path); err == nil {
			rows = min(rows, st.Size())
		}
		p.reserve(rows)
		for i := range p.attrs {
			reserveAttribute(&p.attrs[i].Attribute, int(rows))
		}
		r := memberReader{part: p, layout: layout, attrStrs: interner{}}
		defer r.close()
		f := &directFile{path: path, table: tMembers, layout: layout.cols, groupRows: groupRows}
		first := int64(1)
		for _, n := range groupRows {
			f.groupFirst = append(f.groupFirst, first)
			first += n
		}
		p.setRowGroups(f.rowGroupOf, 0)
		for g := range groupRows {
			if err := r.readGroup(ctx, f, g); err != nil {
				return 0, err
			}
		}
		return total, nil
	}}
}

type memberReader struct {
	parquetFiles
	part   *memberPart
	layout memberLayout
	// The column streams of the two goroutines that decode a row group.
	a, b memberStreams
	// attrStrs interns the attributes' strings, which the second goroutine
	// reads while the first interns sex, ethnicity and language in
	// part.strs.
	attrStrs interner
}

type memberStreams struct {
	texts   chunkStream[parquet.ByteArray]
	ints    chunkStream[int32]
	longs   chunkStream[int64]
	floats  chunkStream[float64]
	singles chunkStream[float32]
	bools   chunkStream[bool]
	lists   listStream
}

// readGroup decodes row group g into the part's rows. The members table
// is read before any other table can be resolved against it, so its
// columns are decoded by two goroutines: ids, dates and the text columns
// by one, race, the flags and the attributes by the other. They write
// different fields of the same rows, and only the first can meet a bad
// cell.
func (r *memberReader) readGroup(ctx context.Context, f *directFile, g int) (err error) {
	defer recoverDecode(f, g, &err)
	pf, err := r.reader(f.path)
	if err != nil {
		return invalidParquet(f, g, err)
	}
	rg := pf.RowGroup(g)
	var cols [mDisability + 1]file.ColumnChunkReader
	extras := make([]file.ColumnChunkReader, len(r.layout.extras))
	defer func() { closeChunks(append(cols[:], extras...)...) }()
	for s := range cols {
		if f.layout[s] >= 0 {
			if cols[s], err = rg.Column(f.layout[s]); err != nil {
				return invalidParquet(f, g, err)
			}
		}
	}
	for x, e := range r.layout.extras {
		if extras[x], err = rg.Column(e.col); err != nil {
			return invalidParquet(f, g, err)
		}
	}
	p := r.part
	n := int(f.groupRows[g])
	// Window by window, so that memory follows the rows decoded, not the
	// count the file's footer claims (a corrupt one may claim billions).
	r.b.lists.reset()
	for lo := 0; lo < n; lo += directRows {
		if err := ctx.Err(); err != nil {
			return err
		}
		m := min(directRows, n-lo)
		base := len(p.rows)
		p.rows = slices.Grow(p.rows, m)[:base+m]
		win := p.rows[base:]
		for k := range win {
			win[k] = memberRow{sex: -1, ethnicity: -1, language: -1, death: metric.NoDate}
		}
		bad := rowError{row: -1}
		var errA, errB error
		var wg sync.WaitGroup
		wg.Go(func() {
			defer recoverDecode(f, g, &errA)
			errA = r.decodeA(cols, win, &bad)
		})
		wg.Go(func() {
			defer recoverDecode(f, g, &errB)
			errB = r.decodeB(cols, extras, win)
		})
		wg.Wait()
		for _, err := range []error{errA, errB} {
			if err != nil {
				var de *DataError
				if errors.As(err, &de) {
					return err
				}
				return invalidParquet(f, g, err)
			}
		}
		if bad.row >= 0 {
			return &DataError{File: f.path, Table: tMembers.String(), Column: memberSpecs[bad.spec].name,
				Row: f.groupFirst[g] + int64(lo+bad.row), RowGroup: g, Msg: bad.msg}
		}
	}
	return nil
}

// decodeA decodes the ids, dates, sex, ethnicity and language of win, the
// next rows of a row group, noting the first invalid cell in bad (rows
// counted from win's first), in the order the pqarrow path checks a row's
// cells.
func (r *memberReader) decodeA(cols [mDisability + 1]file.ColumnChunkReader, win []memberRow, bad *rowError) error {
	const nullMsg = "null value in required column"
	p, st := r.part, &r.a
	m := len(win)
	{
		err := st.texts.read(cols[mID], m, func(lo int, vals []parquet.ByteArray, null nulls) {
			for k, v := range vals {
				if null.at(k) || blank(v) {
					bad.note(lo+k, mID, nullMsg)
					continue
				}
				id := unsafe.String(unsafe.SliceData(v), len(v))
				if msg := keyProblem("member id", id); msg != "" {
					bad.note(lo+k, mID, msg)
					continue
				}
				p.setID(&win[lo+k], id)
			}
		})
		if err != nil {
			return err
		}
		for _, d := range []struct {
			spec     int
			required bool
			set      func(m *memberRow, d metric.Date)
		}{
			{mBirth, true, func(m *memberRow, d metric.Date) { m.birth = d }},
			{mDeath, false, func(m *memberRow, d metric.Date) { m.death = d }},
		} {
			if cols[d.spec] == nil {
				for k := range win {
					d.set(&win[k], metric.NoDate)
				}
				continue
			}
			err := st.ints.read(cols[d.spec], m, func(lo int, vals []int32, null nulls) {
				for k, v := range vals {
					day := metric.Date(v)
					if null.at(k) {
						day = metric.NoDate
						if d.required {
							bad.note(lo+k, d.spec, nullMsg)
						}
					} else if msg := implausibleDate(day); msg != "" {
						bad.note(lo+k, d.spec, msg)
					}
					d.set(&win[lo+k], day)
				}
			})
			if err != nil {
				return err
			}
		}
		for _, t := range []struct {
			spec int
			set  func(m *memberRow, id int32)
		}{
			{mSex, func(m *memberRow, id int32) { m.sex = id }},
			{mEthnicity, func(m *memberRow, id int32) { m.ethnicity = id }},
			{mLanguage, func(m *memberRow, id int32) { m.language = id }},
		} {
			if cols[t.spec] == nil {
				continue
			}
			err := st.texts.read(cols[t.spec], m, func(lo int, vals []parquet.ByteArray, null nulls) {
				for k, v := range vals {
					if !null.at(k) {
						t.set(&win[lo+k], p.texts.id(unsafe.String(unsafe.SliceData(v), len(v))))
					}
				}
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// decodeB decodes the race lists, the flags and the attributes of win,
// the next rows of a row group; each row's race list goes to the part
// (endRaces) in row order.
func (r *memberReader) decodeB(cols [mDisability + 1]file.ColumnChunkReader, extras []file.ColumnChunkReader, win []memberRow) error {
	p, st := r.part, &r.b
	m := len(win)
	{
		if cols[mRace] == nil {
			for range m {
				p.endRaces()
			}
		} else {
			err := st.lists.read(cols[mRace], m, func(row int, items []parquet.ByteArray, null bool) {
				for _, it := range items {
					// The item aliases the page; getFunc copies what it
					// keeps.
					if race := p.races.getFunc(unsafe.String(unsafe.SliceData(it), len(it)), normRace); race != "" {
						p.raceVals = append(p.raceVals, race)
					}
				}
				p.endRaces()
			})
			if err != nil {
				return err
			}
		}
		for _, b := range []struct {
			spec int
			set  func(m *memberRow, t Tristate)
		}{
			{mInterpreter, func(m *memberRow, t Tristate) { m.interpreter = t }},
			{mDisability, func(m *memberRow, t Tristate) { m.disability = t }},
		} {
			if cols[b.spec] == nil {
				continue
			}
			err := st.bools.read(cols[b.spec], m, func(lo int, vals []bool, null nulls) {
				for k, v := range vals {
					t := False
					if null.at(k) {
						t = Null
					} else if v {
						t = True
					}
					b.set(&win[lo+k], t)
				}
			})
			if err != nil {
				return err
			}
		}
		for x := range extras {
			if err := r.decodeAttr(extras[x], &p.attrs[x].Attribute, m); err != nil {
				return err
			}
		}
	}
	return nil
}

// decodeAttr appends the next m rows of an extra column to a, with the
// pqarrow path's nulls (see Attribute).
func (r *memberReader) decodeAttr(cr file.ColumnChunkReader, a *Attribute, m int) error {
	st := &r.b
	switch a.Kind {
	case AttrString:
		return st.texts.read(cr, m, func(_ int, vals []parquet.ByteArray, null nulls) {
			for k, v := range vals {
				s := ""
				if !null.at(k) {
					s = unsafe.String(unsafe.SliceData(v), len(v))
				}
				a.Strings = append(a.Strings, r.attrStrs.get(s))
			}
		})
	case AttrDate:
		return st.ints.read(cr, m, func(_ int, vals []int32, null nulls) {
			for k, v := range vals {
				d := metric.Date(v)
				if null.at(k) {
					d = metric.NoDate
				}
				a.Dates = append(a.Dates, d)
			}
		})
	case AttrBool:
		return st.bools.read(cr, m, func(_ int, vals []bool, null nulls) {
			for k, v := range vals {
				a.Bools = append(a.Bools, v && !null.at(k))
			}
		})
	case AttrInt:
		if cr.Type() == parquet.Types.Int32 {
			return st.ints.read(cr, m, func(_ int, vals []int32, null nulls) {
				for k, v := range vals {
					if null.at(k) {
						v = 0
					}
					a.Ints = append(a.Ints, int64(v))
				}
			})
		}
		return st.longs.read(cr, m, func(_ int, vals []int64, null nulls) {
			for k, v := range vals {
				if null.at(k) {
					v = 0
				}
				a.Ints = append(a.Ints, v)
			}
		})
	default: // AttrFloat
		if cr.Type() == parquet.Types.Float {
			return st.singles.read(cr, m, func(_ int, vals []float32, null nulls) {
				for k, v := range vals {
					f := float64(v)
					if null.at(k) {
						f = math.NaN()
					}
					a.Floats = append(a.Floats, f)
				}
			})
		}
		return st.floats.read(cr, m, func(_ int, vals []float64, null nulls) {
			for k, v := range vals {
				if null.at(k) {
					v = math.NaN()
				}
				a.Floats = append(a.Floats, v)
			}
		})
	}
}
