package eval

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/arrow-go/v18/parquet/schema"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// textCells reads m rows of a text column through chunkStream, as the
// event reader does: each row's value, "<null>" for a null.
func textCells(t *testing.T, r pageReader[parquet.ByteArray], m int) []string {
	t.Helper()
	var s chunkStream[parquet.ByteArray]
	out := make([]string, 0, m)
	for lo := 0; lo < m; lo += directRows {
		err := s.readPages(r, min(directRows, m-lo), func(_ int, vals []parquet.ByteArray, null nulls) {
			for k, v := range vals {
				if null.at(k) {
					out = append(out, "<null>")
				} else {
					out = append(out, string(v))
				}
			}
		})
		require.NoError(t, err)
	}
	return out
}

// parquetOf writes rec as Parquet, snappy-compressed, in row groups of
// groupRows rows, with the writer properties props, and opens it.
func parquetOf(t *testing.T, rec arrow.RecordBatch, groupRows int64, props ...parquet.WriterProperty) *file.Reader {
	t.Helper()
	var buf bytes.Buffer
	wp := parquet.NewWriterProperties(append([]parquet.WriterProperty{parquet.WithCompression(compress.Codecs.Snappy), parquet.WithMaxRowGroupLength(groupRows)}, props...)...)
	w, err := pqarrow.NewFileWriter(rec.Schema(), &buf, wp, pqarrow.DefaultWriterProps())
	require.NoError(t, err)
	require.NoError(t, w.Write(rec))
	require.NoError(t, w.Close())
	pf, err := file.NewParquetReader(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	return pf
}

// TestBytePagesReadWhatArrowReads writes a text column with the layouts
// writers produce (dictionary or plain, a dictionary full mid-chunk, many
// small pages, version 1 and 2 data pages, compressed or not, with and
// without nulls) and reads every row group with bytePages and with
// arrow-go's column reader: both give the values written. A DELTA
// encoded chunk goes to arrow-go's reader through openPages.
func TestBytePagesReadWhatArrowReads(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const rows = 7000
	type layout struct {
		name  string
		props []parquet.WriterProperty
		// arrow is set for an encoding bytePages leaves to arrow-go.
		arrow bool
	}
	layouts := []layout{
		{"dictionary", nil, false},
		{"plain", []parquet.WriterProperty{parquet.WithDictionaryDefault(false)}, false},
		{"dictionary full mid-chunk", []parquet.WriterProperty{parquet.WithDictionaryPageSizeLimit(2 << 10)}, false},
		{"small pages", []parquet.WriterProperty{parquet.WithDataPageSize(512), parquet.WithDictionaryPageSizeLimit(8 << 10)}, false},
		{"version 2 pages", []parquet.WriterProperty{parquet.WithDataPageVersion(parquet.DataPageV2), parquet.WithDataPageSize(4 << 10), parquet.WithDictionaryPageSizeLimit(4 << 10)}, false},
		{"version 2 plain", []parquet.WriterProperty{parquet.WithDataPageVersion(parquet.DataPageV2), parquet.WithDictionaryDefault(false)}, false},
		{"uncompressed", []parquet.WriterProperty{parquet.WithCompression(compress.Codecs.Uncompressed), parquet.WithDataPageSize(2 << 10)}, false},
		{"delta", []parquet.WriterProperty{parquet.WithDictionaryDefault(false), parquet.WithEncoding(parquet.Encodings.DeltaByteArray)}, true},
	}
	for _, nullable := range []bool{false, true} {
		want := make([]string, rows)
		b := array.NewStringBuilder(memory.DefaultAllocator)
		for i := range want {
			switch {
			case nullable && i%7 == 3:
				want[i] = "<null>"
				b.AppendNull()
				continue
			case i%101 == 0:
				want[i] = ""
			case i%53 == 0:
				want[i] = strings.Repeat("long", 40) + fmt.Sprint(i)
			default:
				want[i] = fmt.Sprintf("M%06d", rng.IntN(3000))
			}
			b.Append(want[i])
		}
		col := b.NewArray()
		sc := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.BinaryTypes.String, Nullable: nullable}}, nil)
		rec := array.NewRecordBatch(sc, []arrow.Array{col}, rows)
		for _, l := range layouts {
			t.Run(fmt.Sprintf("%s/nullable=%v", l.name, nullable), func(t *testing.T) {
				pf := parquetOf(t, rec, 3000, l.props...)
				defer pf.Close()
				var viaPages, viaArrow []string
				var bp bytePages
				for g := range pf.NumRowGroups() {
					rg := pf.RowGroup(g)
					meta, err := rg.MetaData().ColumnChunk(0)
					require.NoError(t, err)
					d := pf.MetaData().Schema.Column(0)
					require.Equal(t, !l.arrow, decodable(meta, d, parquet.Types.ByteArray), "encodings %v", meta.Encodings())
					n := int(rg.NumRows())
					r, cr, err := openPages(pf, rg, 0, &bp)
					require.NoError(t, err)
					viaPages = append(viaPages, textCells(t, r, n)...)
					bp.close()
					if cr != nil {
						require.NoError(t, cr.Close())
					}
					cr, err = rg.Column(0)
					require.NoError(t, err)
					viaArrow = append(viaArrow, textCells(t, readerOf[parquet.ByteArray](cr), n)...)
					require.NoError(t, cr.Close())
				}
				assert.Equal(t, want, viaArrow)
				assert.Equal(t, want, viaPages)
			})
		}
		rec.Release()
		col.Release()
	}
}

// numberCells reads m rows of a date or number column through
// chunkStream: each row's value, as text, "<null>" for a null.
func numberCells[T int32 | float64](t *testing.T, r pageReader[T], m int) []string {
	t.Helper()
	var s chunkStream[T]
	out := make([]string, 0, m)
	for lo := 0; lo < m; lo += directRows {
		err := s.readPages(r, min(directRows, m-lo), func(_ int, vals []T, null nulls) {
			for k, v := range vals {
				if null.at(k) {
					out = append(out, "<null>")
				} else {
					out = append(out, fmt.Sprint(v))
				}
			}
		})
		require.NoError(t, err)
	}
	return out
}

// TestColumnPagesReadNumbersAsArrowDoes is TestBytePagesReadWhatArrowReads
// for dates (INT32) and numbers (DOUBLE): columnPages and arrow-go's
// reader give the values written, in every layout; a delta-encoded date
// chunk goes to arrow-go's reader through openPages.
func TestColumnPagesReadNumbersAsArrowDoes(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const rows = 9000
	layouts := []struct {
		name  string
		props []parquet.WriterProperty
		arrow bool
	}{
		{"dictionary", nil, false},
		{"plain", []parquet.WriterProperty{parquet.WithDictionaryDefault(false)}, false},
		{"dictionary full mid-chunk", []parquet.WriterProperty{parquet.WithDictionaryPageSizeLimit(1 << 10)}, false},
		{"small pages", []parquet.WriterProperty{parquet.WithDataPageSize(256), parquet.WithDictionaryPageSizeLimit(4 << 10)}, false},
		{"version 2 pages", []parquet.WriterProperty{parquet.WithDataPageVersion(parquet.DataPageV2), parquet.WithDataPageSize(2 << 10)}, false},
		{"uncompressed plain", []parquet.WriterProperty{parquet.WithCompression(compress.Codecs.Uncompressed), parquet.WithDictionaryDefault(false)}, false},
		{"delta dates", []parquet.WriterProperty{parquet.WithDictionaryDefault(false), parquet.WithEncodingFor("date", parquet.Encodings.DeltaBinaryPacked)}, true},
	}
	for _, nullable := range []bool{false, true} {
		wantDates, wantValues := make([]string, rows), make([]string, rows)
		db := array.NewDate32Builder(memory.DefaultAllocator)
		vb := array.NewFloat64Builder(memory.DefaultAllocator)
		for i := range rows {
			if nullable && i%5 == 2 {
				wantDates[i], wantValues[i] = "<null>", "<null>"
				db.AppendNull()
				vb.AppendNull()
				continue
			}
			d := int32(20000 + rng.IntN(800))
			if i%97 == 0 {
				d = -int32(rng.IntN(1 << 20)) // before 1970
			}
			v := float64(rng.IntN(40)) / 4
			if i%89 == 0 {
				v = rng.NormFloat64() * 1e12
			}
			wantDates[i], wantValues[i] = fmt.Sprint(d), fmt.Sprint(v)
			db.Append(arrow.Date32(d))
			vb.Append(v)
		}
		dates, values := db.NewArray(), vb.NewArray()
		sc := arrow.NewSchema([]arrow.Field{
			{Name: "date", Type: arrow.FixedWidthTypes.Date32, Nullable: nullable},
			{Name: "value", Type: arrow.PrimitiveTypes.Float64, Nullable: nullable},
		}, nil)
		rec := array.NewRecordBatch(sc, []arrow.Array{dates, values}, rows)
		for _, l := range layouts {
			t.Run(fmt.Sprintf("%s/nullable=%v", l.name, nullable), func(t *testing.T) {
				pf := parquetOf(t, rec, 4000, l.props...)
				defer pf.Close()
				var datePages columnPages[int32]
				var valuePages columnPages[float64]
				var gotDates, gotValues, arrowDates, arrowValues []string
				for g := range pf.NumRowGroups() {
					rg := pf.RowGroup(g)
					n := int(rg.NumRows())
					meta, err := rg.MetaData().ColumnChunk(0)
					require.NoError(t, err)
					require.Equal(t, !l.arrow, decodable(meta, pf.MetaData().Schema.Column(0), parquet.Types.Int32), "encodings %v", meta.Encodings())
					dr, dc, err := openPages(pf, rg, 0, &datePages)
					require.NoError(t, err)
					gotDates = append(gotDates, numberCells(t, dr, n)...)
					vr, vc, err := openPages(pf, rg, 1, &valuePages)
					require.NoError(t, err)
					gotValues = append(gotValues, numberCells(t, vr, n)...)
					datePages.close()
					valuePages.close()
					closeChunks(dc, vc)

					dc, err = rg.Column(0)
					require.NoError(t, err)
					arrowDates = append(arrowDates, numberCells(t, readerOf[int32](dc), n)...)
					vc, err = rg.Column(1)
					require.NoError(t, err)
					arrowValues = append(arrowValues, numberCells(t, readerOf[float64](vc), n)...)
					closeChunks(dc, vc)
				}
				assert.Equal(t, wantDates, arrowDates)
				assert.Equal(t, wantDates, gotDates)
				assert.Equal(t, wantValues, arrowValues)
				assert.Equal(t, wantValues, gotValues)
			})
		}
		rec.Release()
		dates.Release()
		values.Release()
	}
}

// onePage is a page reader of one dictionary page (when dict is set) and
// one data page.
type onePage struct {
	pages []file.Page
	at    int
}

func (p *onePage) SetMaxPageHeaderSize(int) {}
func (p *onePage) Page() file.Page          { return p.pages[p.at-1] }
func (p *onePage) Next() bool {
	if p.at == len(p.pages) {
		return false
	}
	p.at++
	return true
}
func (p *onePage) Err() error { return nil }
func (p *onePage) Reset(parquet.BufferedReader, int64, compress.Compression, *file.CryptoContext) {
}
func (p *onePage) GetDictionaryPage() (*file.DictionaryPage, error) { return nil, nil }
func (p *onePage) SeekToPageWithRow(int64) error                    { return nil }
func (p *onePage) Close() error                                     { return nil }

// FuzzColumnPages decodes arbitrary dictionary and data page bytes as
// byte arrays, INT32 or DOUBLE values: a bad page fails with an error,
// never a panic, and never yields more values than the page has.
func FuzzColumnPages(f *testing.F) {
	plain := func(vs ...string) []byte {
		var b []byte
		for _, v := range vs {
			b = binary.LittleEndian.AppendUint32(b, uint32(len(v)))
			b = append(b, v...)
		}
		return b
	}
	// defs: 4 bytes of length, an RLE run of 3 ones.
	f.Add(plain("a", "bc"), []byte{2, 0, 0, 0, 6, 1, 1, 3, 0b00_01_00_01 & 0xff}, uint8(8), true, false, int32(3), uint8(0))
	f.Add([]byte(nil), plain("x", "yz", ""), uint8(0), false, false, int32(3), uint8(0))
	f.Add(plain("a"), []byte{1, 3, 0}, uint8(8), false, true, int32(8), uint8(0))
	f.Add([]byte{1, 0, 0, 0, 2, 0, 0, 0}, []byte{1, 2, 1}, uint8(8), false, false, int32(2), uint8(1))
	f.Add([]byte(nil), make([]byte, 24), uint8(0), false, true, int32(3), uint8(2))
	f.Fuzz(func(t *testing.T, dict, data []byte, enc uint8, nullable, v2 bool, n int32, kind uint8) {
		switch kind % 3 {
		case 0:
			fuzzPages[parquet.ByteArray](t, parquet.Types.ByteArray, dict, data, enc, nullable, v2, n)
		case 1:
			fuzzPages[int32](t, parquet.Types.Int32, dict, data, enc, nullable, v2, n)
		default:
			fuzzPages[float64](t, parquet.Types.Double, dict, data, enc, nullable, v2, n)
		}
	})
}

func fuzzPages[T pageValue](t *testing.T, typ parquet.Type, dict, data []byte, enc uint8, nullable, v2 bool, n int32) {
	rep := parquet.Repetitions.Required
	maxDef := int16(0)
	if nullable {
		rep, maxDef = parquet.Repetitions.Optional, 1
	}
	node, err := schema.NewPrimitiveNode("id", rep, typ, -1, -1)
	require.NoError(t, err)
	d := schema.NewColumn(node, maxDef, 0)
	encoding := parquet.Encoding(enc % 10)
	var pages []file.Page
	if dict != nil {
		pages = append(pages, file.NewDictionaryPage(memory.NewBufferBytes(dict), int32(len(dict)/3), parquet.Encodings.Plain))
	}
	if v2 {
		defLen := int32(0)
		if nullable && len(data) > 0 {
			defLen = int32(data[0]) % int32(len(data))
		}
		pages = append(pages, file.NewDataPageV2(memory.NewBufferBytes(data), n, 0, n, encoding, defLen, 0, int32(len(data)), false))
	} else {
		pages = append(pages, file.NewDataPageV1(memory.NewBufferBytes(data), n, encoding, parquet.Encodings.RLE, parquet.Encodings.RLE, int32(len(data))))
	}
	var b columnPages[T]
	b.reset(&onePage{pages: pages}, d, codecOf[T]())
	vals := make([]T, 64)
	defs := make([]int16, 64)
	total := 0
	for b.HasNext() {
		lv, nv, err := b.ReadBatchInPage(64, vals, defs, nil)
		if err != nil {
			return
		}
		require.LessOrEqual(t, nv, int(lv))
		total += int(lv)
		require.LessOrEqual(t, total, int(max(n, 0)))
	}
}
