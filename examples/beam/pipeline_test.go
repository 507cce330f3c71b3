package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/csv"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/memfs"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/caremetrics/caremetrics/dsl"
	"github.com/caremetrics/caremetrics/eval"
	"github.com/caremetrics/caremetrics/measures"
	"github.com/caremetrics/caremetrics/metric"
)

// TestMain runs the pipelines on prism, in process (beam.Init starts
// the loopback worker).
func TestMain(m *testing.M) { ptest.MainWithDefault(m, "prism") }

var sample = filepath.Join("..", "..", "testdata", "sample")

// wholeReport evaluates every shipped measure over the data directory in
// one process and returns report.json and rates.csv as the examples write
// them.
func wholeReport(t *testing.T, dir string, opts ...dsl.Option) (report, rates []byte) {
	t.Helper()
	ctx := context.Background()
	ms, err := measures.Load(nil, opts...)
	if err != nil {
		t.Fatal(err)
	}
	data, err := eval.LoadDir(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	res, err := eval.Evaluate(ctx, data, ms)
	if err != nil {
		t.Fatal(err)
	}
	return encodeOrFail(t, res.Report)
}

func encodeOrFail(t *testing.T, rep *metric.Report) (report, rates []byte) {
	t.Helper()
	report, err := encodeReport(rep)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := rep.WriteRatesCSV(&b); err != nil {
		t.Fatal(err)
	}
	return report, b.Bytes()
}

// TestPipelineEqualsWhole splits the sample cohort, converted to Parquet,
// into 4 member shards, runs the shard path on prism, and the row path on
// the unpartitioned Parquet files, and compares both reports byte for byte
// with the report of one eval.Evaluate over the whole sample.
func TestPipelineEqualsWhole(t *testing.T) {
	ctx := context.Background()
	tmp := t.TempDir()
	pq := filepath.Join(tmp, "parquet")
	sampleToParquet(t, sample, pq, nil)
	shards := filepath.Join(tmp, "shards")
	if _, err := eval.PartitionDir(ctx, pq, shards, 4, eval.WithShardRows(1000)); err != nil {
		t.Fatal(err)
	}
	wantReport, wantRates := wholeReport(t, sample)
	if !bytes.Contains(wantReport, []byte(`"numerator": `)) {
		t.Fatalf("the whole report has no counts:\n%.300s", wantReport)
	}

	for _, tc := range []struct {
		name string
		o    options
	}{
		{"shards", options{shards: shards}},
		{"shards-staged", options{shards: shards, stage: true}},
		{"rows", options{data: pq, buckets: 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.out = filepath.Join(tmp, "out-"+tc.name)
			tc.o.list = "all"
			if err := run(ctx, tc.o); err != nil {
				t.Fatal(err)
			}
			sameBytes(t, "report.json", wantReport, readFile(t, filepath.Join(tc.o.out, "report.json")))
			sameBytes(t, "rates.csv", wantRates, readFile(t, filepath.Join(tc.o.out, "rates.csv")))
		})
	}

	// Value sets replacing shipped sets by name (here the shipped files
	// themselves: sets of one name in several files then become one):
	// shipped inside the pipeline, or read from storage by each worker.
	vsDir := filepath.Join("..", "..", "measures", "valuesets")
	sets, err := dsl.LoadValueSetsDir(vsDir)
	if err != nil {
		t.Fatal(err)
	}
	wantReport, wantRates = wholeReport(t, sample, dsl.WithValueSets(sets...))
	t.Run("valuesets", func(t *testing.T) {
		o := options{shards: shards, valueSet: vsDir, list: "all", out: filepath.Join(tmp, "out-valuesets")}
		if err := run(ctx, o); err != nil {
			t.Fatal(err)
		}
		sameBytes(t, "report.json", wantReport, readFile(t, filepath.Join(o.out, "report.json")))
	})
	// Shards, value sets and output on storage that workers reach through
	// Beam's filesystem (memfs:// here, gs:// on a cluster): shards are
	// staged to a local directory, the value sets are fetched in Setup.
	t.Run("storage", func(t *testing.T) {
		dirs, err := eval.ShardDirs(shards)
		if err != nil {
			t.Fatal(err)
		}
		c := config{Out: "memfs://out", Spec: measureSpec{ValueSetsURL: "memfs://valuesets", Attrs: mustAttrs(t, dirs[0])}}
		for i, d := range dirs {
			c.Shards = append(c.Shards, fmt.Sprintf("memfs://shards/%d", i))
			copyToMemfs(t, d, c.Shards[i])
		}
		copyToMemfs(t, vsDir, "memfs://valuesets")
		p, s := beam.NewPipelineWithRoot()
		if err := build(s, c); err != nil {
			t.Fatal(err)
		}
		if err := ptest.Run(p); err != nil {
			t.Fatal(err)
		}
		sameBytes(t, "report.json", wantReport, readMemfs(t, "memfs://out/report.json"))
		sameBytes(t, "rates.csv", wantRates, readMemfs(t, "memfs://out/rates.csv"))
	})
}

func copyToMemfs(t *testing.T, dir, url string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !e.IsDir() {
			memfs.Write(url+"/"+e.Name(), readFile(t, filepath.Join(dir, e.Name())))
		}
	}
}

func readMemfs(t *testing.T, url string) []byte {
	t.Helper()
	ctx := context.Background()
	r, err := memfs.New(ctx).OpenRead(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMergeOrderIndependent evaluates 7 shards of the sample with rows set
// aside in several shards (events and spans of members in no members
// file), then merges their partials in shuffled orders and tree shapes as
// a runner's combiner lifting would: every order gives the whole run's
// report.json, warnings included.
func TestMergeOrderIndependent(t *testing.T) {
	ctx := context.Background()
	tmp := t.TempDir()
	pq := filepath.Join(tmp, "parquet")
	sampleToParquet(t, sample, pq, map[string]string{
		"enrollment": "X0000001,2025-01-01,2025-12-31,medical,CCO-01\nX0000002,2025-01-01,2025-12-31,dental,CCO-01\n",
		"events":     "X0000001,2025-03-01,,CVX,08,,claim,\nX0000003,2025-04-01,,CVX,10,,claim,\nX0000004,2025-05-01,,CPT,99213,,claim,\nX0000005,2025-06-01,,CVX,08,,claim,\n",
	})
	shards := filepath.Join(tmp, "shards")
	if _, err := eval.PartitionDir(ctx, pq, shards, 7, eval.WithShardRows(500)); err != nil {
		t.Fatal(err)
	}
	dirs, err := eval.ShardDirs(shards)
	if err != nil {
		t.Fatal(err)
	}
	wantReport, _ := wholeReport(t, pq)
	if !bytes.Contains(wantReport, []byte(`"rows-set-aside"`)) {
		t.Fatalf("the whole report sets no rows aside:\n%s", wantReport)
	}

	fn := &evalShardFn{Spec: measureSpec{Attrs: mustAttrs(t, dirs[0])}}
	if err := fn.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	var parts [][]byte
	for _, d := range dirs {
		b, err := fn.evaluate(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, b)
	}

	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 20 {
		order := rng.Perm(len(parts))
		// Accumulators of random runs of inputs, merged in random order.
		var accs []*partial
		for i := 0; i < len(order); {
			n := 1 + rng.IntN(3)
			acc := mergeFn{}.CreateAccumulator()
			for ; n > 0 && i < len(order); n, i = n-1, i+1 {
				if acc, err = (mergeFn{}).AddInput(acc, parts[order[i]]); err != nil {
					t.Fatal(err)
				}
			}
			// Accumulators cross the wire between workers.
			accs = append(accs, roundTrip(t, acc))
		}
		accs = append(accs, mergeFn{}.CreateAccumulator()) // an empty one
		rng.Shuffle(len(accs), func(i, j int) { accs[i], accs[j] = accs[j], accs[i] })
		for len(accs) > 1 {
			i := rng.IntN(len(accs) - 1)
			m, err := mergeFn{}.MergeAccumulators(accs[i], accs[i+1])
			if err != nil {
				t.Fatal(err)
			}
			accs = append(accs[:i], append([]*partial{m}, accs[i+2:]...)...)
		}
		got, err := mergeFn{}.ExtractOutput(accs[0])
		if err != nil {
			t.Fatal(err)
		}
		sameBytes(t, fmt.Sprintf("report.json (round %d, order %v)", round, order), wantReport, got)
	}
}

func TestNewConfigRejects(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		o    options
		want string
	}{
		{options{}, "want -out and one of -shards or -data"},
		{options{out: "x", shards: "a", data: "b"}, "want -out and one of -shards or -data"},
		{options{out: "x", shards: t.TempDir()}, "is not a partition"},
		{options{out: "x", data: sample}, "the row path reads Parquet and Arrow IPC files"},
		{options{out: "x", data: sample, year: 1200}, "-year 1200"},
	} {
		_, err := newConfig(ctx, tc.o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("newConfig(%+v) = %v, want an error containing %q", tc.o, err, tc.want)
		}
	}
}

func TestMeasureSpecShipsFiles(t *testing.T) {
	dir := t.TempDir()
	src := `id: tiny
title: Tiny
version: "1"
scoring: proportion
period: {start: 2025-01-01, end: 2025-12-31}
define:
  age: ageOn(period_end)
groups:
  all:
    initial_population: age >= 0
    denominator: "true"
    numerator: age >= 18
`
	if err := os.WriteFile(filepath.Join(dir, "tiny.yaml"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	files, err := readTree(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := measureSpec{Files: files}
	// The spec is what Beam serializes into the pipeline: JSON.
	b, err := json.Marshal(&s)
	if err != nil {
		t.Fatal(err)
	}
	var back measureSpec
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	ms, err := back.compile(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].ID() != "tiny" {
		t.Fatalf("compiled %d measures, want tiny", len(ms))
	}
	if _, err := (&measureSpec{Files: map[string][]byte{"../x.yaml": nil}}).compile(context.Background()); err == nil {
		t.Error("a file outside the directory compiled")
	}
}

func mustAttrs(t *testing.T, dir string) map[string]dsl.AttrKind {
	t.Helper()
	a, err := attributes(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func roundTrip(t *testing.T, p *partial) *partial {
	t.Helper()
	b, err := encodePartial(p)
	if err != nil {
		t.Fatal(err)
	}
	q, err := decodePartial(b)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func sameBytes(t *testing.T, what string, want, got []byte) {
	t.Helper()
	if bytes.Equal(want, got) {
		return
	}
	wl, gl := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
	for i := range max(len(wl), len(gl)) {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			t.Fatalf("%s differs from the whole run's at line %d:\nwant %q\ngot  %q", what, i+1, w, g)
		}
	}
	t.Fatalf("%s differs from the whole run's", what)
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sampleToParquet writes the CSV tables of dir as Parquet files into out,
// in the canonical layout (dates as DATE, numbers as doubles, booleans,
// race and benefits as lists of strings), with the CSV rows of extra
// appended to its table.
func sampleToParquet(t *testing.T, dir, out string, extra map[string]string) {
	t.Helper()
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, table := range tables {
		src := readFile(t, filepath.Join(dir, table+".csv"))
		src = append(src, extra[table]...)
		header := strings.Split(strings.TrimSpace(strings.SplitN(string(src), "\n", 2)[0]), ",")
		types := map[string]arrow.DataType{}
		for _, h := range header {
			switch h {
			case "birth_date", "death_date", "start_date", "end_date", "date":
				types[h] = arrow.FixedWidthTypes.Date32
			case "value":
				types[h] = arrow.PrimitiveTypes.Float64
			case "interpreter_needed", "disability":
				types[h] = arrow.FixedWidthTypes.Boolean
			default:
				types[h] = arrow.BinaryTypes.String
			}
		}
		fields := make([]arrow.Field, len(header))
		for i, h := range header {
			fields[i] = arrow.Field{Name: h, Type: types[h], Nullable: true}
		}
		r := csv.NewReader(bytes.NewReader(src), arrow.NewSchema(fields, nil), csv.WithHeader(true),
			csv.WithNullReader(true, ""), csv.WithChunk(1000))
		var recs []arrow.RecordBatch
		for r.Next() {
			recs = append(recs, listColumns(t, r.RecordBatch()))
		}
		if err := r.Err(); err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		r.Release()
		f, err := os.Create(filepath.Join(out, table+".parquet"))
		if err != nil {
			t.Fatal(err)
		}
		w, err := pqarrow.NewFileWriter(recs[0].Schema(), f,
			parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy), parquet.WithMaxRowGroupLength(1500)),
			pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range recs {
			if err := w.Write(rec); err != nil {
				t.Fatal(err)
			}
			rec.Release()
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// listColumns returns rec with its race and benefits columns (";"-joined
// text) as lists of strings.
func listColumns(t *testing.T, rec arrow.RecordBatch) arrow.RecordBatch {
	t.Helper()
	mem := memory.DefaultAllocator
	fields := rec.Schema().Fields()
	cols := make([]arrow.Array, len(fields))
	for i, f := range fields {
		col := rec.Column(i)
		if f.Name != "race" && f.Name != "benefits" {
			col.Retain()
			cols[i] = col
			continue
		}
		s := col.(*array.String)
		b := array.NewListBuilder(mem, arrow.BinaryTypes.String)
		vb := b.ValueBuilder().(*array.StringBuilder)
		for k := range s.Len() {
			if s.IsNull(k) {
				b.AppendNull()
				continue
			}
			b.Append(true)
			for _, v := range strings.Split(s.Value(k), ";") {
				vb.Append(v)
			}
		}
		cols[i] = b.NewArray()
		b.Release()
		fields[i] = arrow.Field{Name: f.Name, Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true}
	}
	out := array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, rec.NumRows())
	for _, c := range cols {
		c.Release()
	}
	return out
}

// BenchmarkMerge merges the partial of one shard of the sample, as JSON,
// into an accumulator: the combiner's cost per partition.
func BenchmarkMerge(b *testing.B) {
	ctx := context.Background()
	tmp := b.TempDir()
	if _, err := eval.PartitionDir(ctx, sample, tmp, 2); err != nil {
		b.Fatal(err)
	}
	dirs, err := eval.ShardDirs(tmp)
	if err != nil {
		b.Fatal(err)
	}
	attrs, err := attributes(ctx, dirs[0])
	if err != nil {
		b.Fatal(err)
	}
	fn := &evalShardFn{Spec: measureSpec{Attrs: attrs}}
	if err := fn.Setup(ctx); err != nil {
		b.Fatal(err)
	}
	part, err := fn.evaluate(ctx, dirs[0])
	if err != nil {
		b.Fatal(err)
	}
	acc, err := mergeFn{}.AddInput(mergeFn{}.CreateAccumulator(), part)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(part)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := (mergeFn{}).AddInput(acc, part); err != nil {
			b.Fatal(err)
		}
	}
}
