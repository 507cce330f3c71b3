package eval

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// readerSource reads an in-memory RecordReader, which stays the caller's.
func readerSource(t tableKind, name string, rr array.RecordReader) source {
	return source{table: t, name: name, read: func(ctx context.Context, _ *loadConfig, p part) (int64, error) {
		return readRecords(ctx, t, name, rr, p, nil, 0)
	}}
}

// ipcSource reads an Arrow IPC file, or an IPC stream: the two are told
// apart by the file format's magic bytes, not by the extension, because
// .arrow and .feather are used for both.
func ipcSource(t tableKind, path string) source {
	return source{table: t, name: path, read: func(ctx context.Context, cfg *loadConfig, p part) (rows int64, err error) {
		f, err := os.Open(path)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		// arrow-go panics on some corrupt flatbuffers, and
		// boundedAllocator on a buffer no file this size could hold.
		defer func() {
			if r := recover(); r != nil {
				rows, err = 0, &DataError{File: path, Table: t.String(), RowGroup: -1, Msg: fmt.Sprintf("invalid Arrow IPC data: corrupt data: %v", r)}
			}
		}()
		br, closeReader, err := openIPC(f, cfg.mem)
		if err != nil {
			if errors.Is(err, errEmptyIPC) {
				return 0, &DataError{File: path, Table: t.String(), RowGroup: -1, Msg: "empty file: no schema"}
			}
			return 0, &DataError{File: path, Table: t.String(), RowGroup: -1, Msg: fmt.Sprintf("invalid Arrow IPC data: %v", err), err: err}
		}
		defer closeReader()
		return readRecords(ctx, t, path, br, p, nil, 0)
	}}
}

var errEmptyIPC = errors.New("empty file: no schema")

// openIPC opens an Arrow IPC file or stream, told apart by the file
// format's magic bytes, after checking its schema (CheckIPCSchema). The
// caller calls closeReader when done.
func openIPC(f *os.File, mem memory.Allocator) (_ batchReader, closeReader func(), err error) {
	var magic [6]byte
	n, _ := io.ReadFull(f, magic[:])
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, nil, err
	}
	if n == 0 {
		return nil, nil, errEmptyIPC
	}
	isFile := bytes.Equal(magic[:n], []byte("ARROW1"))
	info, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if err := CheckIPCSchema(f, info.Size(), isFile); err != nil {
		return nil, nil, err
	}
	mem = newBoundedAllocator(mem, info.Size())
	if isFile {
		fr, err := ipc.NewFileReader(f, ipc.WithAllocator(mem))
		if err != nil {
			return nil, nil, err
		}
		return &fileRecords{fr: fr}, func() { fr.Close() }, nil
	}
	sr, err := ipc.NewReader(f, ipc.WithAllocator(mem))
	if err != nil {
		return nil, nil, err
	}
	return sr, sr.Release, nil
}

// batchReader is the part of array.RecordReader that readRecords uses.
type batchReader interface {
	Schema() *arrow.Schema
	Next() bool
	RecordBatch() arrow.RecordBatch
	Err() error
}

// fileRecords iterates over the batches of an IPC file.
type fileRecords struct {
	fr  *ipc.FileReader
	rec arrow.RecordBatch
	err error
}

func (r *fileRecords) Schema() *arrow.Schema          { return r.fr.Schema() }
func (r *fileRecords) RecordBatch() arrow.RecordBatch { return r.rec }
func (r *fileRecords) Err() error                     { return r.err }

func (r *fileRecords) Next() bool {
	rec, err := r.fr.Read()
	if err != nil {
		if !errors.Is(err, io.EOF) {
			r.err = err
		}
		r.rec = nil
		return false
	}
	r.rec = rec
	return true
}

// readRecords feeds the batches of rr to p. A batch is only used until the
// next call of Next, which releases it. rowGroup, when not nil, adds the
// Parquet row group to errors about a row.
func readRecords(ctx context.Context, t tableKind, name string, rr batchReader, p part, rowGroup func(row int64) int, offset int64) (int64, error) {
	schema := rr.Schema()
	if schema == nil {
		return 0, &DataError{File: name, Table: t.String(), RowGroup: -1, Msg: "no schema"}
	}
	fields := make([]field, schema.NumFields())
	for i, f := range schema.Fields() {
		fields[i] = field{name: f.Name, typ: f.Type}
	}
	if err := p.begin(fields); err != nil {
		return 0, err
	}
	if s, ok := p.(interface{ setRowGroups(func(int64) int, int64) }); ok {
		s.setRowGroups(rowGroup, offset)
	}
	var rows int64
	for rr.Next() {
		if err := ctx.Err(); err != nil {
			return rows, err
		}
		rec := rr.RecordBatch()
		if !rec.Schema().Equal(schema) {
			return rows, &DataError{File: name, Table: t.String(), Row: offset + rows + 1, RowGroup: -1, Msg: "batch schema differs from the schema of the source"}
		}
		b := batch{n: int(rec.NumRows()), first: offset + rows + 1, rec: rec}
		if err := p.add(&b); err != nil {
			var de *DataError
			if rowGroup != nil && errors.As(err, &de) && de.Row > 0 {
				de.RowGroup = rowGroup(de.Row)
			}
			return rows, err
		}
		rows += rec.NumRows()
	}
	if err := rr.Err(); err != nil {
		return rows, &DataError{File: name, Table: t.String(), RowGroup: -1, Msg: fmt.Sprintf("reading batches: %v", err), err: err, decoding: true}
	}
	return rows, nil
}
