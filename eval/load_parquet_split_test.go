package eval

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caremetrics/caremetrics/dsl"
	"github.com/caremetrics/caremetrics/internal/synth"
	"github.com/caremetrics/caremetrics/measures"
)

func TestDirectTasks(t *testing.T) {
	const w = directRows
	for _, tc := range []struct {
		name    string
		groups  [][]int64 // rows of each file's row groups
		workers int
		want    []directTask
	}{
		{"even: one group each", [][]int64{{5 * w, 5 * w}}, 2, []directTask{
			{0, 0, 0, 5 * w}, {0, 1, 0, 5 * w}}},
		{"one worker", [][]int64{{5 * w}}, 1, []directTask{{0, 0, 0, 5 * w}}},
		{"one group, two workers: halves of whole windows", [][]int64{{5*w + 7}}, 2, []directTask{
			{0, 0, 0, 3 * w}, {0, 0, 3 * w, 2*w + 7}}},
		{"the last group alone is split", [][]int64{{4 * w, 4 * w}, {4*w - 1}}, 2, []directTask{
			{0, 0, 0, 4 * w}, {0, 1, 0, 4 * w}, {1, 0, 0, 2 * w}, {1, 0, 2 * w, 2*w - 1}}},
		{"two groups, three workers", [][]int64{{3 * w, 3 * w}}, 3, []directTask{
			{0, 0, 0, w}, {0, 0, w, w}, {0, 0, 2 * w, w}, {0, 1, 0, w}, {0, 1, w, w}, {0, 1, 2 * w, w}}},
		{"too small to split", [][]int64{{2*w - 1}}, 2, []directTask{{0, 0, 0, 2*w - 1}}},
		{"no rows", [][]int64{{}}, 2, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var files []*directFile
			for _, g := range tc.groups {
				files = append(files, &directFile{groupRows: g})
			}
			assert.Equal(t, tc.want, directTasks(files, tc.workers))
		})
	}
}

// rewriteParquet writes the table of Parquet file src to dst with props.
func rewriteParquet(t *testing.T, src, dst string, props ...parquet.WriterProperty) {
	t.Helper()
	in, err := os.Open(src)
	require.NoError(t, err)
	defer in.Close()
	tbl, err := pqarrow.ReadTable(context.Background(), in, nil, pqarrow.ArrowReadProperties{}, nil)
	require.NoError(t, err)
	defer tbl.Release()
	out, err := os.Create(dst)
	require.NoError(t, err)
	defer out.Close()
	wp := parquet.NewWriterProperties(append([]parquet.WriterProperty{parquet.WithMaxRowGroupLength(1 << 30), parquet.WithCompression(compress.Codecs.Snappy)}, props...)...)
	require.NoError(t, pqarrow.WriteTable(tbl, out, 1<<30, wp, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema())))
}

// A row group split among workers (see directTasks) loads as the pqarrow
// path loads it: every part starts its columns at its first row, through
// pages skipped whole and a page skipped in part, in each page layout
// and with arrow-go's reader for encodings columnPages does not decode.
func TestDirectEventsSplitGroups(t *testing.T) {
	dir := t.TempDir()
	_, err := synth.WriteDir(synth.Config{Members: 1500, Seed: 11, Year: 2025}, dir, []string{synth.Parquet}, 1<<20)
	require.NoError(t, err)
	src := filepath.Join(dir, "events.parquet")
	ms, err := measures.Load(nil)
	require.NoError(t, err)
	req := dsl.RequirementsOf(ms...)
	for _, layout := range []struct {
		name  string
		props []parquet.WriterProperty
	}{
		{"dictionary, small pages", []parquet.WriterProperty{parquet.WithDataPageSize(4 << 10)}},
		{"version 2 plain pages", []parquet.WriterProperty{parquet.WithDataPageVersion(parquet.DataPageV2), parquet.WithDictionaryDefault(false), parquet.WithDataPageSize(4 << 10)}},
		{"dictionary falling back to plain", []parquet.WriterProperty{parquet.WithDictionaryPageSizeLimit(64), parquet.WithDataPageSize(1 << 10)}},
		{"delta text", []parquet.WriterProperty{parquet.WithDictionaryDefault(false), parquet.WithEncoding(parquet.Encodings.DeltaByteArray), parquet.WithEncodingFor("date", parquet.Encodings.Plain), parquet.WithEncodingFor("end_date", parquet.Encodings.Plain), parquet.WithEncodingFor("value", parquet.Encodings.Plain)}},
	} {
		path := filepath.Join(t.TempDir(), "events.parquet")
		rewriteParquet(t, src, path, layout.props...)
		df, ok := openDirect(tEvents, path)
		require.True(t, ok)
		require.Len(t, df.groupRows, 1, "the test wants one row group")
		files := Files{Members: []string{filepath.Join(dir, "members.parquet")}, Enrollment: []string{filepath.Join(dir, "enrollment.parquet")}, Events: []string{path}}
		for _, workers := range []int{2, 3} {
			require.Len(t, directTasks([]*directFile{df}, workers), workers, "the group must split")
			for _, opts := range [][]LoadOption{nil, {WithRequirements(req)}} {
				name := layout.name + ", " + strings.Repeat("|", workers)
				if opts != nil {
					name += ", requirements"
				}
				t.Run(name, func(t *testing.T) {
					defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(workers))
					direct, viaArrow, errD, errA := loadBothWays(t, files, opts...)
					require.NoError(t, errD)
					require.NoError(t, errA)
					require.NotEmpty(t, direct.Events)
					assertSameData(t, viaArrow, direct)
				})
			}
		}
	}
}

// A part's row numbers count from the group's first row: the bad cell and
// the unknown member of the second part are named at their rows.
func TestDirectEventsSplitGroupErrors(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	mem := checkedAllocator(t)
	const header = "member_id,date,end_date,system,code,value,source,claim_id\n"
	const good = "M1,2024-01-01,,CVX,03,,registry,C1\n"
	const n = 3 * directRows
	rows := func(at int, bad string) string {
		var b strings.Builder
		b.WriteString(header)
		for i := 1; i <= n; i++ {
			if i == at {
				b.WriteString(bad)
			} else {
				b.WriteString(good)
			}
		}
		return b.String()
	}
	nullable := nullableSchema(eventsSchema)
	write := func(t *testing.T, text string) string {
		path := filepath.Join(t.TempDir(), "events.parquet")
		recs := records(t, mem, nullable, text, n)
		writeParquet(t, mem, path, nullable, recs, n)
		(&cohortRecords{events: recs}).release()
		df, ok := openDirect(tEvents, path)
		require.True(t, ok)
		require.Len(t, directTasks([]*directFile{df}, 2), 2)
		return path
	}
	members := filepath.Join(cohortDir, "members.csv")

	t.Run("bad cell", func(t *testing.T) {
		at := n - 5 // in the second part
		path := write(t, rows(at, "M1,2024-01-01,,CVX,,,,\n"))
		_, _, errD, errA := loadBothWays(t, Files{Members: []string{members}, Events: []string{path}}, WithAllocator(mem))
		require.Error(t, errA)
		assert.EqualError(t, errD, path+": row group 0, row "+strconv.Itoa(at)+": column code: null value in required column")
		assert.Equal(t, errA.Error(), errD.Error())
	})
	t.Run("unknown member", func(t *testing.T) {
		at := n - 5
		path := write(t, rows(at, "X9,2024-01-01,,CVX,03,,,\n"))
		files := Files{Members: []string{members}, Events: []string{path}}
		direct, viaArrow, errD, errA := loadBothWays(t, files, WithAllocator(mem))
		require.NoError(t, errD)
		require.NoError(t, errA)
		assertSameData(t, viaArrow, direct)
		_, err := LoadFiles(context.Background(), files, WithAllocator(mem), WithStrict(true))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "row "+strconv.Itoa(at))
	})
}

// Systems, codes and sources are resolved once per dictionary entry: an
// entry of the code dictionary read under two systems resolves under
// each, and a bad entry is reported at its first row.
func TestDirectEventsCodeDictionaries(t *testing.T) {
	mem := checkedAllocator(t)
	nullable := nullableSchema(eventsSchema)
	const header = "member_id,date,end_date,system,code,value,source,claim_id\n"
	members := filepath.Join(cohortDir, "members.csv")
	write := func(t *testing.T, text string, groupRows int64) string {
		path := filepath.Join(t.TempDir(), "events.parquet")
		recs := records(t, mem, nullable, text, 1000)
		writeParquet(t, mem, path, nullable, recs, groupRows)
		(&cohortRecords{events: recs}).release()
		return path
	}
	t.Run("one code in two systems", func(t *testing.T) {
		var b strings.Builder
		b.WriteString(header)
		for i := range 3000 {
			system := []string{"CVX", "CPT", "LOINC"}[i%3]
			fmt.Fprintf(&b, "M%d,2024-01-%02d,,%s,%d,,,\n", 1+i%2, 1+i%28, system, 3+i%5)
		}
		path := write(t, b.String(), 2000)
		direct, viaArrow, errD, errA := loadBothWays(t, Files{Members: []string{members}, Events: []string{path}}, WithAllocator(mem))
		require.NoError(t, errD)
		require.NoError(t, errA)
		assertSameData(t, viaArrow, direct)
		assert.Len(t, direct.Codes.Values, 15, "5 codes in each of 3 systems")
	})
	for _, tc := range []struct{ name, bad, want string }{
		{"blank code", "M1,2024-02-01,,CVX,  ,,,\n", "column code: null value in required column"},
		{"blank system", "M1,2024-02-01,,  ,03,,,\n", "column system: null value in required column"},
		{"source too long", "M1,2024-02-01,,CVX,03,," + strings.Repeat("s", maxKey+1) + ",\n", fmt.Sprintf("column source: a source of %d bytes (at most %d)", maxKey+1, maxKey)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			b.WriteString(header)
			for i := range 100 {
				if i == 40 || i == 70 {
					b.WriteString(tc.bad)
					continue
				}
				b.WriteString("M1,2024-01-01,,CVX,03,,registry,\n")
			}
			path := write(t, b.String(), 1000)
			_, _, errD, errA := loadBothWays(t, Files{Members: []string{members}, Events: []string{path}}, WithAllocator(mem))
			require.Error(t, errA)
			assert.EqualError(t, errD, path+": row group 0, row 41: "+tc.want)
			assert.Equal(t, errA.Error(), errD.Error())
		})
	}
}
