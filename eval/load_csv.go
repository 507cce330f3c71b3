package eval

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// csvBatchRows is the number of CSV rows converted at a time: enough to
// amortise binding, small enough that the cells stay in cache.
const csvBatchRows = 4096

func csvFileSource(t tableKind, path string) source {
	return csvSource(t, path, func() (io.ReadCloser, error) { return os.Open(path) })
}

func csvSource(t tableKind, name string, open func() (io.ReadCloser, error)) source {
	return source{table: t, name: name, read: func(ctx context.Context, _ *loadConfig, p part) (int64, error) {
		r, err := open()
		if err != nil {
			return 0, err
		}
		defer r.Close()
		return readCSV(ctx, t, name, r, p)
	}}
}

// readCSV reads a CSV file with a header line, every cell as text: CSV
// carries no types, and guessing them would turn CVX "03" into 3.
func readCSV(ctx context.Context, t tableKind, name string, r io.Reader, p part) (int64, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	if b, _ := br.Peek(3); string(b) == "\xef\xbb\xbf" {
		_, _ = br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1 // checked here, to report it as a DataError
	dataErr := func(row int64, format string, args ...any) error {
		return &DataError{File: name, Table: t.String(), Row: row, RowGroup: -1, Msg: fmt.Sprintf(format, args...)}
	}
	parseErr := func(row int64, err error) error {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return dataErr(row, "%v (line %d, column %d)", pe.Err, pe.Line, pe.Column)
		}
		return err
	}
	head, err := cr.Read()
	if err == io.EOF {
		return 0, dataErr(0, "empty file: no header")
	}
	if err != nil {
		return 0, parseErr(0, err)
	}
	fields := make([]field, len(head))
	for i, h := range head {
		fields[i] = field{name: strings.TrimSpace(h)}
	}
	if err := p.begin(fields); err != nil {
		return 0, err
	}
	cols := make([][]string, len(fields))
	for j := range cols {
		cols[j] = make([]string, 0, csvBatchRows)
	}
	var rows int64
	flush := func() error {
		n := len(cols[0])
		if n == 0 {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := p.add(&batch{n: n, first: rows - int64(n) + 1, text: cols}); err != nil {
			return err
		}
		for j := range cols {
			cols[j] = cols[j][:0]
		}
		return nil
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return rows, parseErr(rows+1, err)
		}
		rows++
		if len(rec) != len(fields) {
			return rows, dataErr(rows, "%d fields, want %d as in the header", len(rec), len(fields))
		}
		for j, s := range rec {
			cols[j] = append(cols[j], s)
		}
		if len(cols[0]) == csvBatchRows {
			if err := flush(); err != nil {
				return rows, err
			}
		}
	}
	return rows, flush()
}
