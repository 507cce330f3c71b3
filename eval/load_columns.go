package eval

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/caremetrics/caremetrics/metric"
)

// Column accessors read one cell of a batch as the type the canonical
// schema wants, whatever the physical type of the column. They are bound
// once per batch, so the row loops make one interface call per cell and no
// type switch. Strings returned alias the batch's memory: callers copy what
// they keep.

type textCol interface {
	// text returns the cell, ok false when null.
	text(i int) (s string, ok bool)
}

type dateCol interface {
	date(i int) (d metric.Date, ok bool, err error)
}

type boolCol interface {
	boolean(i int) (Tristate, error)
}

type floatCol interface {
	float(i int) (v float64, ok bool, err error)
}

type intCol interface {
	int(i int) (v int64, ok bool)
}

type listCol interface {
	// list appends the cell's non-null items to dst; ok false when null.
	list(i int, dst []string) (out []string, ok bool)
}

// colKind is what the canonical schema wants of a column.
type colKind uint8

const (
	kText colKind = iota
	kDate
	kBool
	kFloat
	kList
)

var kindWant = [...]string{
	kText:  "utf8, large_utf8 or dictionary of utf8",
	kDate:  "date32, date64 or timestamp",
	kBool:  "bool",
	kFloat: "a floating point, integer or decimal number",
	kList:  "list of utf8, or utf8 with values separated by \";\"",
}

// kindOK reports whether an Arrow column of type dt can be read as k.
func kindOK(k colKind, dt arrow.DataType) bool {
	switch k {
	case kText:
		return isText(dt)
	case kDate:
		return isDate(dt)
	case kBool:
		return dt.ID() == arrow.BOOL
	case kFloat:
		return isFloat(dt) || isInt(dt) || isDecimal(dt)
	case kList:
		return isText(dt) || isTextList(dt)
	}
	return false
}

func isText(dt arrow.DataType) bool {
	switch dt := dt.(type) {
	case *arrow.StringType, *arrow.LargeStringType, *arrow.StringViewType:
		return true
	case *arrow.DictionaryType:
		return isInt(dt.IndexType) && isText(dt.ValueType)
	}
	return false
}

func isDate(dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.DATE32, arrow.DATE64, arrow.TIMESTAMP:
		return true
	}
	return false
}

func isFloat(dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.FLOAT32, arrow.FLOAT64:
		return true
	}
	return false
}

func isInt(dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
		return true
	}
	return false
}

func isDecimal(dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.DECIMAL128, arrow.DECIMAL256:
		return true
	}
	return false
}

func isTextList(dt arrow.DataType) bool {
	switch dt := dt.(type) {
	case *arrow.ListType:
		return isText(dt.Elem())
	case *arrow.LargeListType:
		return isText(dt.Elem())
	}
	return false
}

// attrKindOf returns the kind of an extra members column of type dt.
func attrKindOf(dt arrow.DataType) (AttrKind, bool) {
	switch {
	case isText(dt):
		return AttrString, true
	case isFloat(dt) || isDecimal(dt):
		return AttrFloat, true
	case isInt(dt):
		return AttrInt, true
	case dt.ID() == arrow.BOOL:
		return AttrBool, true
	case isDate(dt):
		return AttrDate, true
	case isTextList(dt):
		return AttrStrings, true
	}
	return 0, false
}

var attrKindNames = [...]string{AttrString: "string", AttrFloat: "float", AttrInt: "int", AttrBool: "bool", AttrDate: "date", AttrStrings: "list of strings"}

// errType is returned by the bind functions when an array is not of a type
// kindOK accepts; the callers check the schema first, so it only shows for
// a batch that does not match its own schema.
var errType = errors.New("unsupported type")

func bindText(a arrow.Array) (textCol, error) {
	switch a := a.(type) {
	case *array.String:
		return strArr{a}, nil
	case *array.LargeString:
		return largeStrArr{a}, nil
	case *array.StringView:
		return viewStrArr{a}, nil
	case *array.Dictionary:
		d, err := bindText(a.Dictionary())
		if err != nil || !isInt(a.Indices().DataType()) {
			return nil, errType
		}
		return dictArr{a, d, a.Dictionary().Len()}, nil
	}
	return nil, errType
}

type strArr struct{ a *array.String }

func (c strArr) text(i int) (string, bool) {
	if c.a.IsNull(i) {
		return "", false
	}
	return c.a.Value(i), true
}

type largeStrArr struct{ a *array.LargeString }

func (c largeStrArr) text(i int) (string, bool) {
	if c.a.IsNull(i) {
		return "", false
	}
	return c.a.Value(i), true
}

type viewStrArr struct{ a *array.StringView }

func (c viewStrArr) text(i int) (string, bool) {
	if c.a.IsNull(i) {
		return "", false
	}
	return c.a.Value(i), true
}

type dictArr struct {
	a *array.Dictionary
	d textCol
	n int
}

func (c dictArr) text(i int) (string, bool) {
	if c.a.IsNull(i) {
		return "", false
	}
	j := c.a.GetValueIndex(i)
	if j < 0 || j >= c.n {
		return "", false // a corrupt index reads as null rather than panicking
	}
	return c.d.text(j)
}

func bindDate(a arrow.Array) (dateCol, error) {
	switch a := a.(type) {
	case *array.Date32:
		return date32Arr{a}, nil
	case *array.Date64:
		return dayArr[arrow.Date64]{a, 86400_000}, nil
	case *array.Timestamp:
		per := map[arrow.TimeUnit]int64{arrow.Second: 86400, arrow.Millisecond: 86400e3, arrow.Microsecond: 86400e6, arrow.Nanosecond: 86400e9}[a.DataType().(*arrow.TimestampType).Unit]
		if per == 0 {
			return nil, errType
		}
		return dayArr[arrow.Timestamp]{a, per}, nil
	}
	return nil, errType
}

type date32Arr struct{ a *array.Date32 }

func (c date32Arr) date(i int) (metric.Date, bool, error) {
	if c.a.IsNull(i) {
		return metric.NoDate, false, nil
	}
	return metric.Date(c.a.Value(i)), true, nil
}

// dayArr reads date64 and timestamp columns: counts of some unit since the
// epoch, of which the UTC calendar day is taken.
type dayArr[T ~int64] struct {
	a interface {
		IsNull(int) bool
		Value(int) T
	}
	per int64
}

func (c dayArr[T]) date(i int) (metric.Date, bool, error) {
	if c.a.IsNull(i) {
		return metric.NoDate, false, nil
	}
	v := int64(c.a.Value(i))
	d := v / c.per
	if v%c.per < 0 {
		d--
	}
	if d <= math.MinInt32 || d >= math.MaxInt32 {
		return metric.NoDate, false, fmt.Errorf("date out of range")
	}
	return metric.Date(d), true, nil
}

type boolArr struct{ a *array.Boolean }

func (c boolArr) boolean(i int) (Tristate, error) {
	if c.a.IsNull(i) {
		return Null, nil
	}
	if c.a.Value(i) {
		return True, nil
	}
	return False, nil
}

func bindBool(a arrow.Array) (boolCol, error) {
	if a, ok := a.(*array.Boolean); ok {
		return boolArr{a}, nil
	}
	return nil, errType
}

type numValuer[T int8 | int16 | int32 | int64 | uint8 | uint16 | uint32 | uint64 | float32 | float64] interface {
	IsNull(int) bool
	Value(int) T
}

type numArr[T int8 | int16 | int32 | int64 | uint8 | uint16 | uint32 | uint64 | float32 | float64] struct {
	a numValuer[T]
}

func (c numArr[T]) float(i int) (float64, bool, error) {
	if c.a.IsNull(i) {
		return math.NaN(), false, nil
	}
	return float64(c.a.Value(i)), true, nil
}

func (c numArr[T]) int(i int) (int64, bool) {
	if c.a.IsNull(i) {
		return 0, false
	}
	return int64(c.a.Value(i)), true
}

type decimal128Arr struct {
	a     *array.Decimal128
	scale int32
}

func (c decimal128Arr) float(i int) (float64, bool, error) {
	if c.a.IsNull(i) {
		return math.NaN(), false, nil
	}
	return c.a.Value(i).ToFloat64(c.scale), true, nil
}

type decimal256Arr struct {
	a     *array.Decimal256
	scale int32
}

func (c decimal256Arr) float(i int) (float64, bool, error) {
	if c.a.IsNull(i) {
		return math.NaN(), false, nil
	}
	return c.a.Value(i).ToFloat64(c.scale), true, nil
}

// bindNumber binds the numeric columns; the result implements floatCol,
// and intCol too for integer columns.
func bindNumber(a arrow.Array) (floatCol, error) {
	switch a := a.(type) {
	case *array.Float64:
		return numArr[float64]{a}, nil
	case *array.Float32:
		return numArr[float32]{a}, nil
	case *array.Int8:
		return numArr[int8]{a}, nil
	case *array.Int16:
		return numArr[int16]{a}, nil
	case *array.Int32:
		return numArr[int32]{a}, nil
	case *array.Int64:
		return numArr[int64]{a}, nil
	case *array.Uint8:
		return numArr[uint8]{a}, nil
	case *array.Uint16:
		return numArr[uint16]{a}, nil
	case *array.Uint32:
		return numArr[uint32]{a}, nil
	case *array.Uint64:
		return numArr[uint64]{a}, nil
	case *array.Decimal128:
		return decimal128Arr{a, a.DataType().(*arrow.Decimal128Type).Scale}, nil
	case *array.Decimal256:
		return decimal256Arr{a, a.DataType().(*arrow.Decimal256Type).Scale}, nil
	}
	return nil, errType
}

func bindList(a arrow.Array) (listCol, error) {
	switch a := a.(type) {
	case *array.List:
		v, err := bindText(a.ListValues())
		if err != nil {
			return nil, err
		}
		return listArr{a, v, a.ListValues().Len()}, nil
	case *array.LargeList:
		v, err := bindText(a.ListValues())
		if err != nil {
			return nil, err
		}
		return listArr{a, v, a.ListValues().Len()}, nil
	}
	t, err := bindText(a)
	if err != nil {
		return nil, err
	}
	return splitList{t}, nil
}

type listArr struct {
	a interface {
		IsNull(int) bool
		ValueOffsets(int) (int64, int64)
	}
	v textCol
	n int
}

func (c listArr) list(i int, dst []string) ([]string, bool) {
	if c.a.IsNull(i) {
		return dst, false
	}
	s, e := c.a.ValueOffsets(i)
	if s < 0 || e > int64(c.n) {
		return dst, false // corrupt offsets read as null rather than panicking
	}
	for j := s; j < e; j++ {
		if v, ok := c.v.text(int(j)); ok {
			dst = append(dst, v)
		}
	}
	return dst, true
}

// Text columns: CSV cells, and Arrow strings standing for lists.

// splitList reads a list written as one string, items separated by ";".
// Items are trimmed and empty ones dropped, so "a; b;" is [a b].
type splitList struct{ t textCol }

func (c splitList) list(i int, dst []string) ([]string, bool) {
	s, ok := c.t.text(i)
	if !ok {
		return dst, false
	}
	for s != "" {
		item, rest, _ := strings.Cut(s, ";")
		if item = strings.TrimSpace(item); item != "" {
			dst = append(dst, item)
		}
		s = rest
	}
	return dst, true
}

// maxQuoted is how many bytes of a cell an error quotes at most.
const maxQuoted = 40

// quoteCell quotes a cell for an error message, in Go syntax as %q does:
// the whole cell when short, else its first maxQuoted bytes (cut at a
// character), "..." and its length, so that a 1 MiB field does not make
// a 1 MiB message. Every data error quoting a cell quotes it so.
func quoteCell(s string) string {
	if len(s) <= maxQuoted {
		return strconv.Quote(s)
	}
	n := maxQuoted
	for n > maxQuoted-utf8.UTFMax+1 && !utf8.RuneStart(s[n]) {
		n--
	}
	q := strconv.Quote(s[:n])
	return fmt.Sprintf("%s...\" (%d bytes)", q[:len(q)-1], len(s))
}

// csvCol is a column of CSV cells; an empty cell is null.
type csvCol []string

func (c csvCol) text(i int) (string, bool) { return c[i], c[i] != "" }

func (c csvCol) date(i int) (metric.Date, bool, error) {
	if c[i] == "" {
		return metric.NoDate, false, nil
	}
	d, err := metric.ParseDate(c[i])
	if err != nil {
		if len(c[i]) > maxQuoted {
			// ParseDate quotes the whole cell.
			err = errors.New(strings.Replace(err.Error(), strconv.Quote(c[i]), quoteCell(c[i]), 1))
		}
		return metric.NoDate, false, err
	}
	return d, true, nil
}

func (c csvCol) boolean(i int) (Tristate, error) {
	s := c[i]
	switch {
	case s == "":
		return Null, nil
	case s == "1" || strings.EqualFold(s, "true") || strings.EqualFold(s, "yes"):
		return True, nil
	case s == "0" || strings.EqualFold(s, "false") || strings.EqualFold(s, "no"):
		return False, nil
	}
	return Null, fmt.Errorf("invalid boolean %s: want true/false, 1/0 or yes/no", quoteCell(s))
}

func (c csvCol) float(i int) (float64, bool, error) {
	if c[i] == "" {
		return math.NaN(), false, nil
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(c[i]), 64)
	if err != nil {
		return math.NaN(), false, fmt.Errorf("invalid number %s", quoteCell(c[i]))
	}
	return v, !math.IsNaN(v), nil
}

func (c csvCol) list(i int, dst []string) ([]string, bool) {
	return splitList{c}.list(i, dst)
}
