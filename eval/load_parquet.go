package eval

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"sort"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/caremetrics/caremetrics/dsl"
)

// parquetBatchRows is the number of rows per batch read from Parquet.
const parquetBatchRows = 64 << 10

// parquetSources splits a Parquet file into sources of consecutive row
// groups, one per core, so that converting rows (interning ids, checking
// values), not only decoding columns, runs in parallel on large files.
// Each source becomes its own part; build merges parts in order, so the
// result does not depend on the split.
func parquetSources(t tableKind, path string) ([]source, error) {
	groups, err := parquetRowGroups(path)
	if err != nil || len(groups) < 2 {
		// A file that cannot be opened fails in its source, with the
		// usual error.
		return []source{parquetSource(t, path, nil, 0)}, nil
	}
	k := min(runtime.GOMAXPROCS(0), len(groups))
	var out []source
	var offset int64
	for i := range k {
		lo, hi := i*len(groups)/k, (i+1)*len(groups)/k
		var rgs []int
		var rows int64
		for g := lo; g < hi; g++ {
			rgs = append(rgs, g)
			rows += groups[g]
		}
		out = append(out, parquetSource(t, path, rgs, offset))
		offset += rows
	}
	return out, nil
}

// parquetRowGroups returns the row count of each row group of a file.
func parquetRowGroups(path string) ([]int64, error) {
	md, err := parquetMetadata(path)
	if err != nil {
		return nil, err
	}
	out := make([]int64, md.NumRowGroups())
	for i := range out {
		out[i] = md.RowGroup(i).NumRows()
	}
	return out, nil
}

// parquetMetadata reads the footer of a Parquet file; a footer so
// corrupt that the reader panics is an error too.
func parquetMetadata(path string) (_ *metadata.FileMetaData, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("corrupt footer: %v", r)
		}
	}()
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	pf, err := file.NewParquetReader(f)
	if err != nil {
		return nil, err
	}
	defer pf.Close()
	return pf.MetaData(), nil
}

// parquetSource reads the row groups rgs (nil: all) of a Parquet file in
// batches, only the columns the table needs (all of them for members,
// whose extra columns are attributes); offset is the number of rows in the
// file before the first of rgs, for row numbers in errors.
func parquetSource(t tableKind, path string, rgs []int, offset int64) source {
	return source{table: t, name: path, read: func(ctx context.Context, cfg *loadConfig, p part) (rows int64, err error) {
		f, err := os.Open(path)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		fail := func(err error) (int64, error) {
			return 0, &DataError{File: path, Table: t.String(), RowGroup: -1, Msg: fmt.Sprintf("invalid Parquet file: %v", err), err: err}
		}
		var leaves []int // the columns read, nil for all
		// arrow-go panics on some corrupt footers and pages.
		stage := "footer"
		defer func() {
			if r := recover(); r != nil {
				perr := fmt.Errorf("corrupt %s: %v", stage, r)
				if stage == "data" {
					rows, err = 0, corruptParquet(t, path, -1, rgs, leaves, perr)
				} else {
					rows, err = fail(perr)
				}
			}
		}()
		pf, err := file.NewParquetReader(f, file.WithReadProps(parquet.NewReaderProperties(cfg.mem)))
		if err != nil {
			return fail(err)
		}
		stage = "data"
		defer pf.Close()
		// Not Parallel: pqarrow's column goroutines would be out of reach
		// of the recover that turns a panic on a corrupt page into an
		// error, and row groups are sources of their own already, read on
		// every core.
		props := pqarrow.ArrowReadProperties{BatchSize: parquetBatchRows}
		if t == tEvents {
			// Low-cardinality text columns come back as dictionaries: the
			// loader maps each dictionary entry once instead of each row.
			// Member and claim ids stay plain: their dictionaries are as
			// large as the data, and reading them as such measured slower.
			sc := pf.MetaData().Schema
			for i := 0; i < sc.NumColumns(); i++ {
				switch sc.Column(i).Name() {
				case "system", "code", "source":
					props.SetReadDict(i, true)
				}
			}
		}
		if err := checkStoredArrowSchema(pf.MetaData()); err != nil {
			return fail(err)
		}
		fr, err := pqarrow.NewFileReader(pf, props, cfg.mem)
		if err != nil {
			return fail(err)
		}
		if t != tMembers {
			specs := spanSpecs
			if t == tEvents {
				specs = eventSpecs
			}
			for _, sf := range fr.Manifest.Fields {
				for _, s := range specs {
					if sf.Field.Name == s.name && columnNeeded(t, cfg.req, s.name) {
						leaves = appendLeaves(leaves, sf)
					}
				}
			}
			if len(leaves) == 0 {
				// No column of the table: let begin name the first missing one.
				return 0, p.begin(nil)
			}
		}
		// Row group of each row, for errors.
		md := pf.MetaData()
		rowGroup := rowGroupOf(md)
		if r, ok := p.(interface{ reserve(int64) }); ok {
			var n int64
			for g := range md.NumRowGroups() {
				if rgs == nil || slices.Contains(rgs, g) {
					n += md.RowGroup(g).NumRows()
				}
			}
			r.reserve(n)
		}
		rr, err := fr.GetRecordReader(ctx, leaves, rgs)
		if err != nil {
			return fail(err)
		}
		defer rr.Release()
		rows, err = readRecords(ctx, t, path, rr, p, rowGroup, offset)
		if de := (*DataError)(nil); errors.As(err, &de) && de.decoding {
			// pqarrow says what failed to decode, not where.
			return rows, corruptParquet(t, path, -1, rgs, leaves, de.err)
		}
		return rows, err
	}}
}

func appendLeaves(dst []int, f pqarrow.SchemaField) []int {
	if f.IsLeaf() {
		return append(dst, f.ColIndex)
	}
	for _, c := range f.Children {
		dst = appendLeaves(dst, c)
	}
	return dst
}

// columnNeeded reports whether the measures the data is loaded for read
// column name of table t; without requirements every column is read.
// Measures never read an enrollment span's plan.
func columnNeeded(t tableKind, req *dsl.Requirements, name string) bool {
	if req == nil {
		return true
	}
	switch t {
	case tEnrollment:
		return name != "plan"
	case tEvents:
		switch name {
		case "end_date":
			return req.Columns&dsl.ColumnEndDate != 0
		case "value":
			return req.Columns&dsl.ColumnValue != 0
		case "claim_id":
			return req.Columns&dsl.ColumnClaimID != 0
		case "source":
			return req.Columns&dsl.ColumnSource != 0
		}
	}
	return true
}

// rowGroupOf returns the function giving the 0-based row group of a
// 1-based row of the file, for errors.
func rowGroupOf(md *metadata.FileMetaData) func(row int64) int {
	ends := make([]int64, md.NumRowGroups())
	var n int64
	for i := range ends {
		n += md.RowGroup(i).NumRows()
		ends[i] = n
	}
	return func(row int64) int {
		return sort.Search(len(ends), func(i int) bool { return ends[i] >= row })
	}
}

// locateCorruption finds the first column chunk, in row group then column
// order, among row groups groups (nil: all) and leaf columns leaves (nil:
// all) of a Parquet file, that fails to decode, and returns its row group,
// its top-level column and the failure. pqarrow's record reader says what
// failed but not where, and the direct readers fail wherever their
// interleaved decoding first trips: both report what this finds, so that
// either names the same chunk. Run only once a read has failed, it
// decodes the chunks again; ok is false when none fails.
func locateCorruption(path string, groups, leaves []int) (group int, column string, failure error, ok bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", nil, false
	}
	defer f.Close()
	var pf *file.Reader
	func() {
		defer func() { _ = recover() }()
		pf, err = file.NewParquetReader(f)
	}()
	if pf == nil || err != nil {
		return 0, "", nil, false
	}
	defer pf.Close()
	if groups == nil {
		for g := range pf.NumRowGroups() {
			groups = append(groups, g)
		}
	}
	if leaves == nil {
		for c := range pf.MetaData().Schema.NumColumns() {
			leaves = append(leaves, c)
		}
	} else {
		leaves = slices.Sorted(slices.Values(leaves))
	}
	for _, g := range groups {
		for _, c := range leaves {
			if err := drainChunk(pf, g, c); err != nil {
				return g, pf.MetaData().Schema.Column(c).ColumnPath()[0], err, true
			}
		}
	}
	return 0, "", nil, false
}

// drainChunk decodes column chunk c of row group g, discarding the values.
func drainChunk(pf *file.Reader, g, c int) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("corrupt data: %v", r)
		}
	}()
	cr, err := pf.RowGroup(g).Column(c)
	if err != nil {
		return err
	}
	defer closeChunks(cr)
	switch r := cr.(type) {
	case *file.ByteArrayColumnChunkReader:
		err = drain[parquet.ByteArray](r)
	case *file.FixedLenByteArrayColumnChunkReader:
		err = drain[parquet.FixedLenByteArray](r)
	case *file.Int32ColumnChunkReader:
		err = drain[int32](r)
	case *file.Int64ColumnChunkReader:
		err = drain[int64](r)
	case *file.Int96ColumnChunkReader:
		err = drain[parquet.Int96](r)
	case *file.Float32ColumnChunkReader:
		err = drain[float32](r)
	case *file.Float64ColumnChunkReader:
		err = drain[float64](r)
	case *file.BooleanColumnChunkReader:
		err = drain[bool](r)
	}
	if err == nil {
		err = cr.Err()
	}
	return err
}

func drain[T any](r pageReader[T]) error {
	const n = 4096
	vals, defs, reps := make([]T, n), make([]int16, n), make([]int16, n)
	for r.HasNext() {
		if _, _, err := r.ReadBatchInPage(n, vals, defs, reps); err != nil {
			return err
		}
	}
	return nil
}

// corruptParquet is the error of a Parquet file that failed to decode
// with err: the chunk that fails, if locateCorruption finds one, else err
// in row group group (-1: unknown).
func corruptParquet(t tableKind, path string, group int, groups, leaves []int, err error) *DataError {
	if g, col, cerr, ok := locateCorruption(path, groups, leaves); ok {
		return &DataError{File: path, Table: t.String(), RowGroup: g, Column: col, Msg: fmt.Sprintf("invalid Parquet file: %v", cerr), err: cerr}
	}
	return &DataError{File: path, Table: t.String(), RowGroup: group, Msg: fmt.Sprintf("invalid Parquet file: %v", err), err: err}
}
