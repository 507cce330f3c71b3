package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/textproto"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/stretchr/testify/require"

	"github.com/caremetrics/caremetrics/dsl"
	"github.com/caremetrics/caremetrics/eval"
	"github.com/caremetrics/caremetrics/metric"
)

// table is a CSV table of the sample cohort.
type table struct {
	header []string
	rows   [][]string
}

// cohort is the three tables, as CSV files in dir (for the in-process
// evaluation) and in memory (for the request bodies).
type cohort struct {
	dir    string
	tables [3]*table
}

func readTable(t *testing.T, path string) *table {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	return &table{header: recs[0], rows: recs[1:]}
}

func loadCohort(t *testing.T, dir string) *cohort {
	c := &cohort{dir: dir}
	for i, name := range tables {
		c.tables[i] = readTable(t, filepath.Join(dir, name+".csv"))
	}
	return c
}

// subset keeps the first n members and their rows, written as CSV to a
// temporary directory.
func (c *cohort) subset(t *testing.T, n int) *cohort {
	keep := map[string]bool{}
	for _, r := range c.tables[0].rows[:n] {
		keep[r[0]] = true
	}
	out := &cohort{dir: t.TempDir()}
	for i, tb := range c.tables {
		sub := &table{header: tb.header}
		for _, r := range tb.rows {
			if keep[r[0]] {
				sub.rows = append(sub.rows, r)
			}
		}
		out.tables[i] = sub
		writeCSV(t, filepath.Join(out.dir, tables[i]+".csv"), sub)
	}
	return out
}

func writeCSV(t *testing.T, path string, tb *table) {
	t.Helper()
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	require.NoError(t, w.Write(tb.header))
	require.NoError(t, w.WriteAll(tb.rows))
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
}

// column kinds of the canonical tables; any other column is text.
var (
	dateColumns = map[string]bool{"birth_date": true, "death_date": true, "start_date": true, "end_date": true, "date": true}
	listColumns = map[string]bool{"race": true, "benefits": true}
	boolColumns = map[string]bool{"interpreter_needed": true, "disability": true}
)

// record converts a CSV table to one Arrow record with the canonical
// types: date32 dates, float64 value, bools, list<utf8> lists; an empty
// cell is null.
func record(t *testing.T, tb *table) arrow.RecordBatch {
	t.Helper()
	mem := memory.DefaultAllocator
	fields := make([]arrow.Field, len(tb.header))
	for j, name := range tb.header {
		var dt arrow.DataType = arrow.BinaryTypes.String
		switch {
		case dateColumns[name]:
			dt = arrow.FixedWidthTypes.Date32
		case listColumns[name]:
			dt = arrow.ListOf(arrow.BinaryTypes.String)
		case boolColumns[name]:
			dt = arrow.FixedWidthTypes.Boolean
		case name == "value":
			dt = arrow.PrimitiveTypes.Float64
		}
		fields[j] = arrow.Field{Name: name, Type: dt, Nullable: true}
	}
	b := array.NewRecordBuilder(mem, arrow.NewSchema(fields, nil))
	defer b.Release()
	for _, row := range tb.rows {
		for j, cell := range row {
			fb := b.Field(j)
			if cell == "" {
				fb.AppendNull()
				continue
			}
			switch fb := fb.(type) {
			case *array.Date32Builder:
				d, err := time.Parse("2006-01-02", cell)
				require.NoError(t, err)
				fb.Append(arrow.Date32FromTime(d))
			case *array.ListBuilder:
				fb.Append(true)
				vb := fb.ValueBuilder().(*array.StringBuilder)
				for _, v := range splitList(cell) {
					vb.Append(v)
				}
			case *array.BooleanBuilder:
				v, err := strconv.ParseBool(cell)
				require.NoError(t, err)
				fb.Append(v)
			case *array.Float64Builder:
				v, err := strconv.ParseFloat(cell, 64)
				require.NoError(t, err)
				fb.Append(v)
			case *array.StringBuilder:
				fb.Append(cell)
			}
		}
	}
	return b.NewRecordBatch()
}

func splitList(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ';' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}

// encode writes rec in format f: IPC in batches of 10,000 rows, Parquet in
// row groups of 20,000.
func encode(t *testing.T, f format, rec arrow.RecordBatch) []byte {
	t.Helper()
	var buf bytes.Buffer
	var slices []arrow.RecordBatch
	for lo := int64(0); ; lo += 10_000 {
		hi := min(lo+10_000, rec.NumRows())
		slices = append(slices, rec.NewSlice(lo, hi))
		if hi == rec.NumRows() {
			break
		}
	}
	defer func() {
		for _, s := range slices {
			s.Release()
		}
	}()
	switch f {
	case formatIPCStream, formatIPCFile:
		type writer interface {
			Write(arrow.RecordBatch) error
			Close() error
		}
		var w writer = ipc.NewWriter(&buf, ipc.WithSchema(rec.Schema()))
		if f == formatIPCFile {
			fw, err := ipc.NewFileWriter(&buf, ipc.WithSchema(rec.Schema()))
			require.NoError(t, err)
			w = fw
		}
		for _, s := range slices {
			require.NoError(t, w.Write(s))
		}
		require.NoError(t, w.Close())
	case formatParquet:
		w, err := pqarrow.NewFileWriter(rec.Schema(), &buf,
			parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy), parquet.WithMaxRowGroupLength(20_000)),
			pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
		require.NoError(t, err)
		for _, s := range slices {
			require.NoError(t, w.WriteBuffered(s))
		}
		require.NoError(t, w.Close())
	default:
		t.Fatalf("encode: format %v", f)
	}
	return buf.Bytes()
}

// encodeCohort encodes each table of c in the format given for it.
func encodeCohort(t *testing.T, c *cohort, formats [3]format) [3][]byte {
	var out [3][]byte
	for i, tb := range c.tables {
		rec := record(t, tb)
		out[i] = encode(t, formats[i], rec)
		rec.Release()
	}
	return out
}

// part is one part of a multipart body.
type part struct {
	name string
	data []byte
}

// multipartBody returns the content type and body of parts.
func multipartBody(t *testing.T, parts ...part) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename=%q`, p.name, p.name+".bin"))
		h.Set("Content-Type", "application/octet-stream")
		pw, err := w.CreatePart(h)
		require.NoError(t, err)
		_, err = pw.Write(p.data)
		require.NoError(t, err)
	}
	require.NoError(t, w.Close())
	return w.FormDataContentType(), buf.Bytes()
}

func tableParts(data [3][]byte) []part {
	return []part{{"members", data[0]}, {"enrollment", data[1]}, {"events", data[2]}}
}

// query is an evaluation's query string and the in-process options it
// stands for.
type query struct {
	raw      string
	measures []*dsl.Measure
	year     int
	strict   bool
	race     dsl.RaceRule
}

// expectation is what the server must answer for a valid request: the
// report as json.Marshal encodes it, and the reconciliation with files
// named by their table.
type expectation struct {
	report         []byte
	reconciliation eval.Reconciliation
}

// inProcess evaluates q over c's CSV files with eval.LoadDir and
// eval.Evaluate, as a program embedding the library would.
func inProcess(t *testing.T, c *cohort, q query) *expectation {
	t.Helper()
	ctx := context.Background()
	req := dsl.RequirementsOf(q.measures...)
	opts := []eval.Option{eval.WithRaceRule(q.race), eval.WithWorkers(3)}
	if q.year != 0 {
		req = dsl.RequirementsOver(metric.CalendarYear(q.year), q.measures...)
		opts = append(opts, eval.WithPeriod(metric.CalendarYear(q.year)))
	}
	data, err := eval.LoadDir(ctx, c.dir, eval.WithStrict(q.strict), eval.WithRequirements(req))
	require.NoError(t, err)
	res, err := eval.Evaluate(ctx, data, q.measures, opts...)
	require.NoError(t, err)
	b, err := json.Marshal(res.Report)
	require.NoError(t, err)
	rec := data.Reconciliation
	for i := range rec.Files {
		rec.Files[i].File = rec.Files[i].Table
	}
	return &expectation{report: b, reconciliation: rec}
}
