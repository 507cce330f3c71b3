package eval

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"unsafe"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/schema"
)

// columnPages decodes a flat column chunk of byte arrays, INT32 or DOUBLE
// values from its pages: the event reader's columns, member and claim ids
// above all, which it reads for every row, and the enrollment reader's
// member ids and dates. arrow-go's column reader decodes a chunk's
// dictionary lazily, growing it by an allocation and an append each time
// a larger index turns up; for the dictionary of tens of thousands of ids
// a writer starts each member_id and claim_id chunk with, that left about
// 700 MB of garbage in a load of a million members, and the heap grew
// with it. Its dictionary decoding of numbers allocates scratch on every
// batch, 30 MB of garbage in the second pass over the events at a million
// members. Here a chunk's dictionary is decoded once, into buffers the
// worker keeps from chunk to chunk.
//
// It reads PLAIN and dictionary-encoded values with RLE definition levels,
// in version 1 and 2 data pages: what Parquet writers produce for such
// columns. A chunk whose metadata lists another encoding is read by
// arrow-go's reader instead (see decodable). It implements pageReader, so
// chunkStream reads it as it reads arrow-go's.
type columnPages[T pageValue] struct {
	pages  file.PageReader
	descr  *schema.Column
	maxDef int16
	codec  valueCodec[T]

	// dict is the chunk's dictionary, decoded from (and for byte arrays
	// aliasing) dictData. dictGen counts the dictionaries read, across
	// chunks, so that a caller keeping what it made of each entry knows
	// when the entries change.
	dict     []T
	dictData []byte
	dictGen  uint64

	// The current data page: levels and values left, its definition
	// levels and its values, PLAIN (values) or dictionary indices
	// (indices).
	left    int
	levels  hybrid
	dictEnc bool
	values  []byte
	indices hybrid
	// idx is scratch for a batch's indices or bit-packed levels.
	idx []uint32
	err error
}

// bytePages decodes text columns.
type bytePages = columnPages[parquet.ByteArray]

// pageValue is a value columnPages decodes: one of the physical types
// BYTE_ARRAY, INT32 (dates) and DOUBLE.
type pageValue interface {
	parquet.ByteArray | int32 | float64
}

// valueCodec decodes PLAIN values of one physical type.
type valueCodec[T pageValue] interface {
	// physical is the type's Parquet physical type.
	physical() parquet.Type
	// dictionary decodes the n values of a dictionary page held in data,
	// which it may alias, into dict.
	dictionary(data []byte, n int, dict []T) ([]T, error)
	// plain decodes len(vals) values off data into vals, returning the
	// rest of data.
	plain(data []byte, vals []T) ([]byte, error)
}

// codecOf returns the codec of T.
func codecOf[T pageValue]() valueCodec[T] {
	var c any
	switch any(*new(T)).(type) {
	case parquet.ByteArray:
		c = byteCodec{}
	case int32:
		c = fixedCodec[int32]{parquet.Types.Int32}
	default:
		c = fixedCodec[float64]{parquet.Types.Double}
	}
	return c.(valueCodec[T])
}

// byteCodec decodes PLAIN byte arrays: each a 4-byte length and the bytes.
type byteCodec struct{}

func (byteCodec) physical() parquet.Type { return parquet.Types.ByteArray }

func (byteCodec) dictionary(data []byte, n int, dict []parquet.ByteArray) ([]parquet.ByteArray, error) {
	if n < 0 || n > len(data)/4 {
		return nil, fmt.Errorf("%w: %d values in %d bytes", errCorruptPage, n, len(data))
	}
	dict = slices.Grow(dict[:0], n)
	for range n {
		v, rest, err := plainValue(data)
		if err != nil {
			return nil, err
		}
		dict, data = append(dict, v), rest
	}
	return dict, nil
}

func (byteCodec) plain(data []byte, vals []parquet.ByteArray) ([]byte, error) {
	for k := range vals {
		v, rest, err := plainValue(data)
		if err != nil {
			return nil, err
		}
		vals[k], data = v, rest
	}
	return data, nil
}

// fixedCodec decodes PLAIN values of 4 or 8 bytes, little-endian.
type fixedCodec[T int32 | float64] struct{ typ parquet.Type }

func (c fixedCodec[T]) physical() parquet.Type { return c.typ }

func (c fixedCodec[T]) dictionary(data []byte, n int, dict []T) ([]T, error) {
	if n < 0 || uint64(n) > uint64(len(data))/uint64(unsafe.Sizeof(T(0))) {
		return nil, fmt.Errorf("%w: %d values in %d bytes", errCorruptPage, n, len(data))
	}
	dict = slices.Grow(dict[:0], n)[:n]
	_, err := c.plain(data, dict)
	return dict, err
}

func (fixedCodec[T]) plain(data []byte, vals []T) ([]byte, error) {
	size := int(unsafe.Sizeof(T(0)))
	if len(vals) > len(data)/size {
		return nil, fmt.Errorf("%w: %d values of %d bytes in %d", errCorruptPage, len(vals), size, len(data))
	}
	// T is int32 or float64, so its bits are a uint32's or a uint64's.
	p := unsafe.Pointer(unsafe.SliceData(vals))
	if size == 4 {
		out := unsafe.Slice((*uint32)(p), len(vals))
		for k := range out {
			out[k] = binary.LittleEndian.Uint32(data[4*k:])
		}
	} else {
		out := unsafe.Slice((*uint64)(p), len(vals))
		for k := range out {
			out[k] = binary.LittleEndian.Uint64(data[8*k:])
		}
	}
	return data[len(vals)*size:], nil
}

// decodable reports whether columnPages of physical type typ reads
// column chunk cc of column d.
func decodable(cc interface{ Encodings() []parquet.Encoding }, d *schema.Column, typ parquet.Type) bool {
	if d.PhysicalType() != typ || d.MaxRepetitionLevel() != 0 || d.MaxDefinitionLevel() > 1 {
		return false
	}
	for _, e := range cc.Encodings() {
		switch e {
		case parquet.Encodings.Plain, parquet.Encodings.PlainDict, parquet.Encodings.RLEDict, parquet.Encodings.RLE:
		default:
			return false
		}
	}
	return true
}

// openPages opens column col of row group rg to be read as T values:
// with bp when it decodes the chunk (and then cr is nil), otherwise with
// arrow-go's reader cr, which the caller closes.
func openPages[T pageValue](pf *file.Reader, rg *file.RowGroupReader, col int, bp *columnPages[T]) (r pageReader[T], cr file.ColumnChunkReader, err error) {
	d := pf.MetaData().Schema.Column(col)
	codec := codecOf[T]()
	if meta, err := rg.MetaData().ColumnChunk(col); err == nil && decodable(meta, d, codec.physical()) {
		pages, err := rg.GetColumnPageReader(col)
		if err != nil {
			return nil, nil, err
		}
		bp.reset(pages, d, codec)
		return bp, nil, nil
	}
	if cr, err = rg.Column(col); err != nil {
		return nil, nil, err
	}
	return readerOf[T](cr), cr, nil
}

// reset starts reading the chunk of pages, keeping the buffers.
func (b *columnPages[T]) reset(pages file.PageReader, d *schema.Column, codec valueCodec[T]) {
	*b = columnPages[T]{pages: pages, descr: d, maxDef: d.MaxDefinitionLevel(), codec: codec, dict: b.dict[:0], dictData: b.dictData[:0], dictGen: b.dictGen, idx: b.idx[:0]}
}

// close closes the page reader, returning its buffers to their pool.
func (b *columnPages[T]) close() {
	if b.pages != nil {
		_ = b.pages.Close()
		b.pages = nil
	}
}

// Descriptor returns the column's descriptor.
func (b *columnPages[T]) Descriptor() *schema.Column { return b.descr }

// HasNext reports whether a value is left, reading pages up to the next
// data page with one.
func (b *columnPages[T]) HasNext() bool {
	for b.left == 0 && b.err == nil {
		if !b.pages.Next() {
			b.err = b.pages.Err()
			return false
		}
		b.err = b.start(b.pages.Page())
	}
	return b.err == nil
}

// Err returns the error that ended reading, nil at the chunk's end.
func (b *columnPages[T]) Err() error { return b.err }

var errCorruptPage = errors.New("corrupt page")

// start begins page p: a dictionary page is decoded whole, a data page's
// levels and values are read as they are asked for.
func (b *columnPages[T]) start(p file.Page) error {
	var data []byte
	switch p := p.(type) {
	case *file.DictionaryPage:
		if e := parquet.Encoding(p.Encoding()); e != parquet.Encodings.Plain && e != parquet.Encodings.PlainDict {
			return fmt.Errorf("dictionary page: unsupported encoding %s", e)
		}
		return b.readDictionary(p.Data(), int(p.NumValues()))
	case *file.DataPageV1:
		data = p.Data()
		if b.maxDef > 0 {
			if p.DefinitionLevelEncoding() != parquet.Encodings.RLE {
				return fmt.Errorf("data page: unsupported definition level encoding %s", p.DefinitionLevelEncoding())
			}
			if len(data) < 4 {
				return fmt.Errorf("data page: %w: no definition levels", errCorruptPage)
			}
			n := binary.LittleEndian.Uint32(data)
			if uint64(n) > uint64(len(data)-4) {
				return fmt.Errorf("data page: %w: definition levels of %d bytes in %d", errCorruptPage, n, len(data)-4)
			}
			b.levels = hybrid{data: data[4 : 4+n], width: levelWidth(b.maxDef)}
			data = data[4+n:]
		}
	case *file.DataPageV2:
		data = p.Data()
		rep, def := int(p.RepetitionLevelByteLen()), int(p.DefinitionLevelByteLen())
		if rep != 0 || def < 0 || def > len(data) {
			return fmt.Errorf("data page: %w: levels of %d and %d bytes in %d", errCorruptPage, rep, def, len(data))
		}
		if b.maxDef > 0 {
			b.levels = hybrid{data: data[:def], width: levelWidth(b.maxDef)}
		}
		data = data[def:]
	default:
		return nil // index pages and the like hold no values
	}
	n := int(p.NumValues())
	if n < 0 {
		return fmt.Errorf("data page: %w: %d values", errCorruptPage, n)
	}
	switch e := parquet.Encoding(p.Encoding()); e {
	case parquet.Encodings.Plain:
		b.dictEnc, b.values = false, data
	case parquet.Encodings.PlainDict, parquet.Encodings.RLEDict:
		if len(data) == 0 || data[0] > 32 {
			return fmt.Errorf("data page: %w: no dictionary index width", errCorruptPage)
		}
		b.dictEnc, b.indices = true, hybrid{data: data[1:], width: uint(data[0])}
	default:
		return fmt.Errorf("data page: unsupported encoding %s", e)
	}
	b.left = n
	return nil
}

// readDictionary decodes the n PLAIN values of a dictionary page, copying
// them: the page reader reuses the page's memory.
func (b *columnPages[T]) readDictionary(data []byte, n int) error {
	b.dictData = append(b.dictData[:0], data...)
	dict, err := b.codec.dictionary(b.dictData, n, b.dict)
	if err != nil {
		return fmt.Errorf("dictionary page: %w", err)
	}
	b.dict = dict
	b.dictGen++
	return nil
}

// plainValue splits the first PLAIN byte array off data.
func plainValue(data []byte) (v, rest []byte, err error) {
	if len(data) < 4 {
		return nil, nil, fmt.Errorf("%w: value length cut short", errCorruptPage)
	}
	n := binary.LittleEndian.Uint32(data)
	if uint64(n) > uint64(len(data)-4) {
		return nil, nil, fmt.Errorf("%w: value of %d bytes in %d", errCorruptPage, n, len(data)-4)
	}
	return data[4 : 4+n : 4+n], data[4+n:], nil
}

// ReadBatchInPage reads up to batch levels of the current page: their
// definition levels into defs (when the column has them) and the non-null
// values, densely, into vals. It returns the levels and values read; byte
// array values alias the page, which the next page overwrites.
func (b *columnPages[T]) ReadBatchInPage(batch int64, vals []T, defs, _ []int16) (int64, int, error) {
	if !b.HasNext() {
		return 0, 0, b.err
	}
	n, nv, err := b.levelsOf(batch, len(vals), defs)
	if err != nil {
		return 0, 0, err
	}
	if b.dictEnc {
		idx := slices.Grow(b.idx[:0], nv)[:nv]
		b.idx = idx
		if err := b.dictIndices(idx); err != nil {
			return 0, 0, err
		}
		for k, i := range idx {
			vals[k] = b.dict[i]
		}
	} else {
		rest, err := b.codec.plain(b.values, vals[:nv])
		if err != nil {
			return 0, 0, fmt.Errorf("data page: %w", err)
		}
		b.values = rest
	}
	b.left -= n
	return int64(n), nv, nil
}

// levelsOf starts a batch of the current page of at most batch levels
// and room values: it reads the batch's definition levels into defs (when
// the column has them) and returns the levels and how many are values.
func (b *columnPages[T]) levelsOf(batch int64, room int, defs []int16) (n, nv int, err error) {
	n = min(int(min(batch, int64(b.left))), room)
	if b.maxDef == 0 {
		return n, n, nil
	}
	n = min(n, len(defs))
	if nv, err = b.readLevels(defs[:n]); err != nil {
		return 0, 0, fmt.Errorf("data page: definition levels: %w", err)
	}
	return n, nv, nil
}

// dictIndices decodes the next len(idx) dictionary indices of the page
// into idx, checking that each has an entry.
func (b *columnPages[T]) dictIndices(idx []uint32) error {
	if err := b.indices.read(idx); err != nil {
		return fmt.Errorf("data page: dictionary indices: %w", err)
	}
	var top uint32
	for _, i := range idx {
		top = max(top, i)
	}
	if len(idx) > 0 && int(top) >= len(b.dict) {
		return fmt.Errorf("data page: %w: dictionary index %d of %d values", errCorruptPage, top, len(b.dict))
	}
	return nil
}

// readIndices is ReadBatchInPage for a dictionary-encoded page, giving
// the non-null values' indices in the dictionary (b.dict) instead of the
// values: a caller that resolves each entry once then resolves a row by
// its index. It reads nothing, and reports false, on a PLAIN page.
func (b *columnPages[T]) readIndices(batch int64, idx []uint32, defs []int16) (int64, int, bool, error) {
	if !b.HasNext() {
		return 0, 0, false, b.err
	}
	if !b.dictEnc {
		return 0, 0, false, nil
	}
	n, nv, err := b.levelsOf(batch, len(idx), defs)
	if err != nil {
		return 0, 0, false, err
	}
	if err := b.dictIndices(idx[:nv]); err != nil {
		return 0, 0, false, err
	}
	b.left -= n
	return int64(n), nv, true, nil
}

// readLevels decodes the definition levels of len(defs) values into defs
// and returns how many are defined. A column without nulls has one run of
// them per page, filled at once.
func (b *columnPages[T]) readLevels(defs []int16) (int, error) {
	nv := 0
	for k := 0; k < len(defs); {
		h := &b.levels
		for h.run == 0 {
			if err := h.nextRun(); err != nil {
				return 0, err
			}
		}
		n := int(min(h.run, uint64(len(defs)-k)))
		if !h.packed {
			if h.value > uint32(b.maxDef) {
				return 0, fmt.Errorf("%w: definition level %d above %d", errCorruptPage, h.value, b.maxDef)
			}
			fill(defs[k:k+n], int16(h.value))
			if int16(h.value) == b.maxDef {
				nv += n
			}
			h.run -= uint64(n)
			k += n
			continue
		}
		lvls := slices.Grow(b.idx[:0], n)[:n]
		b.idx = lvls
		if err := h.read(lvls); err != nil {
			return 0, err
		}
		for _, l := range lvls {
			if l > uint32(b.maxDef) {
				return 0, fmt.Errorf("%w: definition level %d above %d", errCorruptPage, l, b.maxDef)
			}
			defs[k] = int16(l)
			if int16(l) == b.maxDef {
				nv++
			}
			k++
		}
	}
	return nv, nil
}

// hybrid decodes Parquet's RLE / bit-packed hybrid encoding of
// width-bit values (definition levels, dictionary indices): runs of one
// repeated value, and runs of values packed in groups of eight.
type hybrid struct {
	data  []byte
	width uint
	// The current run: values left, and its value (repeated) or its
	// packed bits with the position of the next value in them.
	run    uint64
	packed bool
	value  uint32
	bits   []byte
	pos    uint
}

// read decodes len(out) values into out, a run at a time.
func (h *hybrid) read(out []uint32) error {
	for k := 0; k < len(out); {
		for h.run == 0 {
			if err := h.nextRun(); err != nil {
				return err
			}
		}
		n := int(min(h.run, uint64(len(out)-k)))
		dst := out[k : k+n]
		h.run -= uint64(n)
		k += n
		if !h.packed {
			fill(dst, h.value)
			continue
		}
		mask := uint32(1<<h.width - 1)
		pos := h.pos
		// Whole 8-byte loads while they fit; the run's last values from
		// the bytes left.
		for j := range dst {
			at := pos / 8
			var w uint64
			if at+8 <= uint(len(h.bits)) {
				w = binary.LittleEndian.Uint64(h.bits[at:])
			} else {
				for b := uint(0); at+b < uint(len(h.bits)); b++ {
					w |= uint64(h.bits[at+b]) << (8 * b)
				}
			}
			dst[j] = uint32(w>>(pos%8)) & mask
			pos += h.width
		}
		h.pos = pos
	}
	return nil
}

func (h *hybrid) nextRun() error {
	header, n := binary.Uvarint(h.data)
	if n <= 0 {
		return fmt.Errorf("%w: run header missing", errCorruptPage)
	}
	h.data = h.data[n:]
	count := header >> 1
	if header&1 == 1 {
		// count groups of 8 values, width bytes each; a writer may end
		// the last group early, and the values past the data are never
		// asked for by a valid page.
		size := min(count*uint64(h.width), uint64(len(h.data)))
		h.bits, h.data = h.data[:size], h.data[size:]
		h.packed, h.pos = true, 0
		h.run = count * 8
		if h.width > 0 {
			h.run = min(h.run, size*8/uint64(h.width))
		}
	} else {
		nb := int(h.width+7) / 8
		if nb > len(h.data) {
			return fmt.Errorf("%w: run value cut short", errCorruptPage)
		}
		var v uint32
		for k := range nb {
			v |= uint32(h.data[k]) << (8 * k)
		}
		if h.width < 32 && v>>h.width != 0 {
			return fmt.Errorf("%w: run value %d wider than %d bits", errCorruptPage, v, h.width)
		}
		h.data = h.data[nb:]
		h.packed, h.value, h.run = false, v, count
	}
	return nil
}

// levelWidth is the bit width of definition levels up to maxDef.
func levelWidth(maxDef int16) uint { return uint(bits.Len16(uint16(maxDef))) }

// skipRows moves r past its next n rows (flat columns: a row is a
// value or a null).
func skipRows[T pageValue](r pageReader[T], n int) error {
	switch r := r.(type) {
	case *columnPages[T]:
		return r.skip(n)
	case interface{ Skip(int64) (int64, error) }: // arrow-go's readers
		got, err := r.Skip(int64(n))
		if err == nil && got < int64(n) {
			err = errShortColumn
		}
		return err
	}
	if err := r.Err(); err != nil {
		return err
	}
	return fmt.Errorf("column %s: cannot skip rows", r.Descriptor().Name())
}

// skip moves past the next n rows: pages wholly before them without
// decoding their values, and the rest of the way by decoding them into
// scratch.
func (b *columnPages[T]) skip(n int) error {
	var vals []T
	var defs []int16
	for n > 0 {
		if !b.HasNext() {
			if b.err != nil {
				return b.err
			}
			return errShortColumn
		}
		if b.left <= n {
			n -= b.left
			b.left = 0 // the next HasNext starts the next page
			continue
		}
		if vals == nil {
			vals, defs = make([]T, min(n, directRows)), make([]int16, min(n, directRows))
		}
		got, _, err := b.ReadBatchInPage(int64(min(n, len(vals))), vals, defs, nil)
		if err != nil {
			return err
		}
		n -= int(got)
	}
	return nil
}
