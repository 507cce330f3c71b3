package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// This file is the adapter from a request's parts, held in memory, to the
// array.RecordReaders of eval.FromArrow. The library reads Parquet and
// Arrow IPC only from files named by path (eval.LoadFiles), so the server
// decodes in-memory Parquet with pqarrow itself; see the README section
// for what the library could offer instead.

// format is a part's data format, told by its magic bytes.
type format uint8

const (
	formatUnknown format = iota
	formatParquet
	formatIPCStream
	formatIPCFile
)

func (f format) String() string {
	return [...]string{"unknown", "Parquet", "Arrow IPC stream", "Arrow IPC file"}[f]
}

// detect tells a part's format: "PAR1" opens a Parquet file, "ARROW1" an
// Arrow IPC file, and the continuation marker 0xFFFFFFFF an Arrow IPC
// stream's first message.
func detect(b []byte) format {
	switch {
	case bytes.HasPrefix(b, []byte("PAR1")):
		return formatParquet
	case bytes.HasPrefix(b, []byte("ARROW1")):
		return formatIPCFile
	case len(b) >= 4 && binary.LittleEndian.Uint32(b) == 0xFFFFFFFF:
		return formatIPCStream
	}
	return formatUnknown
}

// decodeError is a part that cannot be decoded: 400.
type decodeError struct {
	part, msg string
}

func (e *decodeError) Error() string { return "part " + e.part + ": " + e.msg }

// rowLimitError is a request with more rows than -max-rows: 413.
type rowLimitError struct{ limit int64 }

func (e *rowLimitError) Error() string {
	return fmt.Sprintf("more than %d rows over members, enrollment and events (the server's limit)", e.limit)
}

// budgetError is a part whose decoding needs more Arrow memory at once than
// -max-decode-mem: 413. part is empty when raised by the allocator and set
// by the reader that recovers it.
type budgetError struct {
	part  string
	limit int64
}

func (e *budgetError) Error() string {
	return fmt.Sprintf("part %s: decoding needs more than %d bytes of memory at once (the server's limit)", e.part, e.limit)
}

// rowBudget counts the rows of one request over its parts.
type rowBudget struct {
	limit int64
	n     atomic.Int64
}

func (b *rowBudget) add(n int64) error {
	if b.n.Add(n) > b.limit {
		return &rowLimitError{limit: b.limit}
	}
	return nil
}

// budgetAllocator is the Arrow allocator of one request: it fails an
// allocation that would take the request's Arrow memory in use over limit,
// before it is made, so that a part declaring huge sizes (a compressed
// buffer of terabytes) is refused rather than crashing the process. It
// fails by panicking with a *budgetError, which the readers recover: Arrow
// allocators have no error return. Safe for concurrent use.
type budgetAllocator struct {
	inner memory.Allocator
	limit int64
	used  atomic.Int64
}

func (a *budgetAllocator) take(n int64) {
	if a.used.Add(n) > a.limit {
		a.used.Add(-n)
		panic(&budgetError{limit: a.limit})
	}
}

func (a *budgetAllocator) Allocate(size int) []byte {
	a.take(int64(size))
	return a.inner.Allocate(size)
}

func (a *budgetAllocator) Reallocate(size int, b []byte) []byte {
	a.take(int64(size - len(b)))
	return a.inner.Reallocate(size, b)
}

func (a *budgetAllocator) Free(b []byte) {
	a.used.Add(-int64(len(b)))
	a.inner.Free(b)
}

// parquetBatchRows is the batch size the library reads Parquet with.
const parquetBatchRows = 64 << 10

// openPart returns a reader of the part's table, which the caller
// releases. Parquet row counts are checked against rows from the footer
// before any page is read; IPC batches are counted as they are read.
func openPart(ctx context.Context, name string, b []byte, mem memory.Allocator, rows *rowBudget) (rr array.RecordReader, err error) {
	f := detect(b)
	defer func() {
		if p := recover(); p != nil {
			rr, err = nil, panicError(name, f, p)
		}
	}()
	if err := checkIPCSchema(b, f); err != nil { // the library's check, on the part's bytes
		return nil, &decodeError{part: name, msg: fmt.Sprintf("invalid %s: %v", f, err)}
	}
	switch f {
	case formatParquet:
		return openParquet(ctx, name, b, mem, rows)
	case formatIPCStream:
		sr, err := ipc.NewReader(bytes.NewReader(b), ipcOptions(b, mem)...)
		if err != nil {
			return nil, &decodeError{part: name, msg: "invalid Arrow IPC stream: " + scrub(err.Error())}
		}
		return &guarded{part: name, format: f, inner: sr, rows: rows}, nil
	case formatIPCFile:
		fr, err := ipc.NewFileReader(bytes.NewReader(b), ipcOptions(b, mem)...)
		if err != nil {
			return nil, &decodeError{part: name, msg: "invalid Arrow IPC file: " + scrub(err.Error())}
		}
		return &guarded{part: name, format: f, inner: &fileRecords{fr: fr}, rows: rows}, nil
	}
	return nil, &httpError{status: 415, msg: unknownFormat(name, b)}
}

// unknownFormat says what a part in no known format looks like, without
// quoting it.
func unknownFormat(name string, b []byte) string {
	hint := ""
	switch {
	case len(b) >= 4 && string(b[:4]) == "ARRO":
		hint = " (a truncated Arrow IPC file?)"
	case bytes.HasPrefix(b, []byte("member_id")) || bytes.HasPrefix(b, []byte("\xef\xbb\xbfmember_id")):
		hint = " (it looks like CSV; convert it to Parquet or Arrow IPC)"
	}
	return fmt.Sprintf("part %s: unknown format%s: want Parquet (starting with \"PAR1\"), an Arrow IPC stream (0xFFFFFFFF) or an Arrow IPC file (\"ARROW1\")", name, hint)
}

// ipcOptions bound an IPC message's declared sizes by the part's size.
func ipcOptions(b []byte, mem memory.Allocator) []ipc.Option {
	n := int64(len(b))
	return []ipc.Option{ipc.WithAllocator(mem), ipc.WithMetadataSizeLimit(min(n, 64<<20)), ipc.WithBodySizeLimit(n)}
}

func openParquet(ctx context.Context, name string, b []byte, mem memory.Allocator, rows *rowBudget) (array.RecordReader, error) {
	if len(b) < 12 || !bytes.HasSuffix(b, []byte("PAR1")) {
		return nil, &decodeError{part: name, msg: "truncated Parquet file: no footer"}
	}
	pf, err := file.NewParquetReader(bytes.NewReader(b), file.WithReadProps(parquet.NewReaderProperties(mem)))
	if err != nil {
		return nil, &decodeError{part: name, msg: "invalid Parquet file: " + scrub(err.Error())}
	}
	if err := rows.add(pf.NumRows()); err != nil {
		pf.Close()
		return nil, err
	}
	props := pqarrow.ArrowReadProperties{BatchSize: parquetBatchRows}
	if name == "events" {
		// As the library does: low-cardinality text columns come back as
		// dictionaries, mapped once per entry instead of once per row.
		sc := pf.MetaData().Schema
		for i := range sc.NumColumns() {
			switch sc.Column(i).Name() {
			case "system", "code", "source":
				props.SetReadDict(i, true)
			}
		}
	}
	fail := func(err error) (array.RecordReader, error) {
		pf.Close()
		return nil, &decodeError{part: name, msg: "invalid Parquet file: " + scrub(err.Error())}
	}
	fr, err := pqarrow.NewFileReader(pf, props, mem)
	if err != nil {
		return fail(err)
	}
	rr, err := fr.GetRecordReader(ctx, nil, nil)
	if err != nil {
		return fail(err)
	}
	return &guarded{part: name, format: formatParquet, inner: rr, closer: pf}, nil
}

// panicError turns a decoder's panic into an error: the allocator's
// budget, or data so corrupt that the decoder gave up.
func panicError(part string, f format, p any) error {
	if be, ok := p.(*budgetError); ok {
		return &budgetError{part: part, limit: be.limit}
	}
	return &decodeError{part: part, msg: fmt.Sprintf("corrupt %s data: %s", f, scrub(fmt.Sprint(p)))}
}

// guarded is the reader handed to eval.FromArrow: it turns a decoder's
// panic into the reader's error (FromArrow reads on its own goroutines,
// where a panic would end the process), counts IPC rows against the
// request's budget, and names the part in decoding errors.
type guarded struct {
	part   string
	format format
	inner  array.RecordReader
	closer io.Closer  // the Parquet file, or nil
	rows   *rowBudget // nil when counted from the Parquet footer
	err    error
	refs   atomic.Int64
}

func (g *guarded) Schema() *arrow.Schema { return g.inner.Schema() }

func (g *guarded) Next() (ok bool) {
	if g.err != nil {
		return false
	}
	defer func() {
		if p := recover(); p != nil {
			g.err, ok = panicError(g.part, g.format, p), false
		}
	}()
	if !g.inner.Next() {
		return false
	}
	if g.rows != nil {
		if err := g.rows.add(g.inner.RecordBatch().NumRows()); err != nil {
			g.err = err
			return false
		}
	}
	return true
}

func (g *guarded) RecordBatch() arrow.RecordBatch { return g.inner.RecordBatch() }

// Record is RecordBatch, for the deprecated method of array.RecordReader.
func (g *guarded) Record() arrow.RecordBatch { return g.inner.RecordBatch() }

func (g *guarded) Err() error {
	if g.err != nil {
		return g.err
	}
	if err := g.inner.Err(); err != nil {
		var be *budgetError
		if errors.As(err, &be) {
			return err
		}
		return &decodeError{part: g.part, msg: fmt.Sprintf("invalid %s data: %s", g.format, scrub(err.Error()))}
	}
	return nil
}

func (g *guarded) Retain() { g.refs.Add(1) }

// Release releases the decoder and closes the Parquet file when the last
// reference goes.
func (g *guarded) Release() {
	if g.refs.Add(-1) != -1 {
		return // still referenced, or released already
	}
	defer func() { _ = recover() }() // a decoder that panicked may not release cleanly
	g.inner.Release()
	if g.closer != nil {
		g.closer.Close()
	}
}

// fileRecords reads the batches of an Arrow IPC file in order.
type fileRecords struct {
	fr  *ipc.FileReader
	rec arrow.RecordBatch
	err error
}

func (r *fileRecords) Schema() *arrow.Schema          { return r.fr.Schema() }
func (r *fileRecords) RecordBatch() arrow.RecordBatch { return r.rec }
func (r *fileRecords) Record() arrow.RecordBatch      { return r.rec }
func (r *fileRecords) Err() error                     { return r.err }
func (r *fileRecords) Retain()                        {}
func (r *fileRecords) Release()                       { r.fr.Close() }

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
