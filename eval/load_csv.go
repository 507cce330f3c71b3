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
	"unicode/utf8"
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

// maxKey is the most bytes a cell of a key column (keyNouns) may have.
const maxKey = 4096

// keyNouns names the values of each table's key columns: ids and codes,
// which are interned and compared, and which no real data makes longer
// than maxKey bytes.
var keyNouns = [...]map[string]string{
	tMembers:    {"member_id": "member id"},
	tEnrollment: {"member_id": "member id", "plan": "plan"},
	tEvents:     {"member_id": "member id", "system": "system", "code": "code", "claim_id": "claim id", "source": "source"},
}

// csvSpecs are the canonical columns of each table.
var csvSpecs = [...][]colSpec{tMembers: memberSpecs, tEnrollment: spanSpecs, tEvents: eventSpecs}

// readCSV reads a CSV file with a header line, every cell as text: CSV
// carries no types, and guessing them would turn CVX "03" into 3. Cells
// of text columns must be UTF-8 (those of dates, numbers and booleans
// fail to parse if not), and those of key columns at most maxKey bytes.
func readCSV(ctx context.Context, t tableKind, name string, r io.Reader, p part) (int64, error) {
	dataErr := func(row, line int64, col, format string, args ...any) *DataError {
		return &DataError{File: name, Table: t.String(), Row: row, Line: line, Column: col, RowGroup: -1, Msg: fmt.Sprintf(format, args...)}
	}
	cr, cells, msg := openCSV(t, r)
	if msg != "" {
		return 0, dataErr(0, 0, "", "%s", msg)
	}
	parseErr := func(row int64, err error) error {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return dataErr(row, int64(pe.StartLine), "", "%v (line %d, column %d)", pe.Err, pe.Line, pe.Column)
		}
		return err
	}
	head, err := cr.Read()
	if err == io.EOF {
		return 0, dataErr(0, 0, "", "empty file: no header")
	}
	if err != nil {
		return 0, parseErr(0, err)
	}
	if msg := cells.header(head); msg != "" {
		return 0, dataErr(0, 0, "", "%s", msg)
	}
	fields := make([]field, len(head))
	for i := range head {
		fields[i] = field{name: cells.names[i]}
	}
	if err := p.begin(fields); err != nil {
		return 0, err
	}
	cols := make([][]string, len(fields))
	for j := range cols {
		cols[j] = make([]string, 0, csvBatchRows)
	}
	// lines holds the line of each row of the batch, for the errors of
	// the part.
	lines := make([]int64, 0, csvBatchRows)
	var rows, flushed int64
	flush := func() error {
		n := len(lines)
		if n == 0 {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		first := flushed + 1
		if err := p.add(&batch{n: n, first: first, text: cols}); err != nil {
			var de *DataError
			if errors.As(err, &de) && de.File == name && de.Line == 0 && de.Row >= first && de.Row < first+int64(n) {
				de.Line = lines[de.Row-first]
			}
			return err
		}
		flushed += int64(n)
		for j := range cols {
			cols[j] = cols[j][:0]
		}
		lines = lines[:0]
		return nil
	}
	// fail returns the error of a row, unless a row before it in the
	// batch has one: the first error in the file is the one reported.
	fail := func(err error) (int64, error) {
		if ferr := flush(); ferr != nil {
			return rows, ferr
		}
		return rows, err
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fail(parseErr(rows+1, err))
		}
		rows++
		line, _ := cr.FieldPos(0)
		if len(rec) != len(fields) {
			return fail(dataErr(rows, int64(line), "", "%d fields, want %d as in the header", len(rec), len(fields)))
		}
		if j, msg := cells.check(rec); msg != "" {
			return fail(dataErr(rows, int64(line), fields[j].name, "%s", msg))
		}
		for j, s := range rec {
			cols[j] = append(cols[j], s)
		}
		lines = append(lines, int64(line))
		if len(lines) == csvBatchRows {
			if err := flush(); err != nil {
				return rows, err
			}
		}
	}
	return rows, flush()
}

// openCSV opens r as CSV text of table t: past a byte-order mark, refused
// (msg) when UTF-16, and with its bytes watched for invalid UTF-8. Every
// reader of CSV input uses it, the partitioner of shards as well, so
// that bad bytes are reported in the file that holds them.
func openCSV(t tableKind, r io.Reader) (*csv.Reader, *csvCells, string) {
	// The cells are checked one by one only once w has seen bytes that
	// are not UTF-8: checking the file in 64 KiB blocks costs a fraction
	// of checking millions of short cells.
	w := &utf8Watch{r: r}
	br := bufio.NewReaderSize(w, 1<<16)
	switch b, _ := br.Peek(3); {
	case string(b) == "\xef\xbb\xbf":
		_, _ = br.Discard(3)
	case len(b) >= 2 && (b[0] == 0xff && b[1] == 0xfe || b[0] == 0xfe && b[1] == 0xff):
		return nil, nil, "UTF-16 text: want UTF-8"
	}
	cr := csv.NewReader(br)
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1 // checked by the callers, to report it as a DataError
	return cr, &csvCells{table: t, watch: w}, ""
}

// csvCells checks the cells of a CSV file: text columns' cells are UTF-8
// (those of dates, numbers and booleans fail to parse if not), and key
// columns' at most maxKey bytes.
type csvCells struct {
	table tableKind
	watch *utf8Watch
	// names, keys and text are each column's trimmed name, the noun of
	// its values if a key column, and whether it holds text.
	names, keys []string
	text        []bool
}

// header takes the columns of the header line, or returns what is wrong
// with it.
func (c *csvCells) header(head []string) string {
	c.names, c.keys, c.text = make([]string, len(head)), make([]string, len(head)), make([]bool, len(head))
	for i, h := range head {
		if c.watch.bad && !utf8.ValidString(h) {
			return fmt.Sprintf("column name %s: invalid UTF-8", quoteCell(h))
		}
		c.names[i] = strings.TrimSpace(h)
		c.keys[i] = keyNouns[c.table][c.names[i]]
		s := specIndex(csvSpecs[c.table], c.names[i])
		c.text[i] = s < 0 || csvSpecs[c.table][s].kind == kText || csvSpecs[c.table][s].kind == kList
	}
	return ""
}

// check returns the first bad cell of a row (as many cells as the
// header) and what is wrong with it, or "" when none is.
func (c *csvCells) check(rec []string) (int, string) {
	long := false
	for _, s := range rec {
		long = long || len(s) > maxKey
	}
	if !long && !c.watch.bad {
		return 0, ""
	}
	for j, s := range rec {
		if c.keys[j] != "" {
			if msg := keyProblem(c.keys[j], s); msg != "" {
				return j, msg
			}
		} else if c.text[j] && !utf8.ValidString(s) {
			return j, fmt.Sprintf("invalid UTF-8 %s", quoteCell(s))
		}
	}
	return 0, ""
}

// keyProblem says what is wrong with s as the value of a key column
// (keyNouns: ids and codes, which are interned, compared and shown), ""
// when nothing: a key is UTF-8 of at most maxKey bytes. CSV checks every
// cell (csvCells); the other readers check keys as they intern them.
func keyProblem(noun, s string) string {
	if len(s) > maxKey {
		return fmt.Sprintf("a %s of %d bytes (at most %d)", noun, len(s), maxKey)
	}
	if !utf8.ValidString(s) {
		return fmt.Sprintf("invalid UTF-8 %s", quoteCell(s))
	}
	return ""
}

// utf8Watch passes on the bytes of r, setting bad once they are not all
// UTF-8 (at the latest when the bytes are read, so before any cell that
// holds them is parsed).
type utf8Watch struct {
	r   io.Reader
	bad bool
	// part is the start of a character that the last read cut, n bytes.
	part [utf8.UTFMax]byte
	n    int
}

func (w *utf8Watch) Read(b []byte) (int, error) {
	n, err := w.r.Read(b)
	if !w.bad {
		w.check(b[:n], err != nil)
	}
	return n, err
}

func (w *utf8Watch) check(b []byte, end bool) {
	for w.n > 0 && len(b) > 0 && !utf8.FullRune(w.part[:w.n]) {
		w.part[w.n] = b[0]
		w.n++
		b = b[1:]
	}
	if w.n > 0 && utf8.FullRune(w.part[:w.n]) {
		w.bad = !utf8.Valid(w.part[:w.n])
		w.n = 0
	}
	// Keep a character cut at the end of b for the next read.
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax+1; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				w.n = copy(w.part[:], b[i:])
				b = b[:i]
			}
			break
		}
	}
	w.bad = w.bad || !utf8.Valid(b) || end && w.n > 0
}
