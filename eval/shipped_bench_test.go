package eval_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"github.com/caremetrics/caremetrics/dsl"
	"github.com/caremetrics/caremetrics/eval"
	"github.com/caremetrics/caremetrics/internal/synth"
	"github.com/caremetrics/caremetrics/measures"
)

// Benchmarks of the shipped measures over synthetic cohorts made in-process
// by internal/synth (the examples/gen cohort: seed 1, year 2025). Cohorts
// are built before the timed loop and kept for the rest of the run.
//
//	go test -run '^$' -bench Shipped -benchtime 3x ./eval

// shippedCohorts caches the loaded cohorts by size; benchmarks run one at
// a time, so it needs no lock.
var shippedCohorts = map[int]*eval.Data{}

func shippedConfig(members int) synth.Config {
	return synth.Config{Members: members, Seed: 1, Year: 2025}
}

// shippedCohort returns the cohort of n members, loaded from in-memory
// Arrow records.
func shippedCohort(b *testing.B, n int) *eval.Data {
	b.Helper()
	if d, ok := shippedCohorts[n]; ok {
		return d
	}
	tab, err := synth.GenerateArrow(shippedConfig(n), nil, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer tab.Release()
	d, err := fromTables(tab)
	if err != nil {
		b.Fatal(err)
	}
	if len(d.Members) != n || len(d.Events) != tab.Stats.Events {
		b.Fatalf("loaded %d members, %d events; generated %d, %d", len(d.Members), len(d.Events), n, tab.Stats.Events)
	}
	shippedCohorts[n] = d
	return d
}

func fromTables(tab *synth.Tables) (*eval.Data, error) {
	m, e, v, err := tab.Readers()
	if err != nil {
		return nil, err
	}
	defer m.Release()
	defer e.Release()
	defer v.Release()
	return eval.FromArrow(context.Background(), m, e, v, eval.WithStrict(true))
}

// BenchmarkShippedEvaluate evaluates every shipped measure over cohorts of
// 10,000 and 100,000 members, with 1 worker and with one per core
// (members/s per core is the first's figure; the ratio of the two is the
// scaling).
func BenchmarkShippedEvaluate(b *testing.B) {
	ms, err := measures.Load(nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{10_000, 100_000} {
		data := shippedCohort(b, n)
		for _, workers := range slices.Compact([]int{1, runtime.GOMAXPROCS(0)}) {
			b.Run(fmt.Sprintf("members=%d/workers=%d", n, workers), func(b *testing.B) {
				ctx := context.Background()
				b.ReportAllocs()
				var res *eval.Result
				for b.Loop() {
					if res, err = eval.Evaluate(ctx, data, ms, eval.WithWorkers(workers)); err != nil {
						b.Fatal(err)
					}
				}
				if res == nil || len(res.Report.Measures) != len(ms) {
					b.Fatal("incomplete report")
				}
				reportRates(b, len(data.Members), len(data.Events))
			})
		}
	}
}

// BenchmarkShippedMeasure evaluates each shipped measure alone over the
// 100,000-member cohort with 1 worker: the members/s of each show where
// evaluation time goes.
func BenchmarkShippedMeasure(b *testing.B) {
	ms, err := measures.Load(nil)
	if err != nil {
		b.Fatal(err)
	}
	data := shippedCohort(b, 100_000)
	for _, m := range ms {
		b.Run(m.ID(), func(b *testing.B) {
			ctx := context.Background()
			one := []*dsl.Measure{m}
			for b.Loop() {
				if _, err := eval.Evaluate(ctx, data, one, eval.WithWorkers(1)); err != nil {
					b.Fatal(err)
				}
			}
			reportRates(b, len(data.Members), len(data.Events))
		})
	}
}

// reportRates reports members/s and events/s over the timed iterations.
func reportRates(b *testing.B, members, events int) {
	s := b.Elapsed().Seconds()
	b.ReportMetric(float64(members)*float64(b.N)/s, "members/s")
	b.ReportMetric(float64(events)*float64(b.N)/s, "events/s")
}

const loadMembers = 10_000

// benchLoadDir writes the 10,000-member cohort in format to a temporary
// directory once, then times eval.LoadDir over it.
func benchLoadDir(b *testing.B, format string, opts ...eval.LoadOption) {
	dir := b.TempDir()
	st, err := synth.WriteDir(shippedConfig(loadMembers), dir, []string{format}, 0)
	if err != nil {
		b.Fatal(err)
	}
	var size int64
	for _, f := range []string{"members", "enrollment", "events"} {
		fi, err := os.Stat(filepath.Join(dir, f+"."+format))
		if err != nil {
			b.Fatal(err)
		}
		size += fi.Size()
	}
	ctx := context.Background()
	b.SetBytes(size)
	b.ReportAllocs()
	var d *eval.Data
	for b.Loop() {
		if d, err = eval.LoadDir(ctx, dir, append([]eval.LoadOption{eval.WithStrict(true)}, opts...)...); err != nil {
			b.Fatal(err)
		}
	}
	var unneeded int64
	for _, u := range d.Reconciliation.Unneeded {
		unneeded += u.Rows
	}
	if len(d.Members) != st.Members || int64(len(d.Events))+unneeded != int64(st.Events) {
		b.Fatalf("loaded %d members, %d events; wrote %d, %d", len(d.Members), len(d.Events), st.Members, st.Events)
	}
	reportRates(b, st.Members, st.Events)
}

// BenchmarkShippedLoadCSV loads the 10,000-member cohort from CSV files.
func BenchmarkShippedLoadCSV(b *testing.B) { benchLoadDir(b, synth.CSV) }

// BenchmarkShippedLoadParquet loads the 10,000-member cohort from Parquet
// files.
func BenchmarkShippedLoadParquet(b *testing.B) { benchLoadDir(b, synth.Parquet) }

// BenchmarkShippedLoadParquetForMeasures loads the same Parquet files with
// the shipped measures' requirements: only the rows and columns they need.
func BenchmarkShippedLoadParquetForMeasures(b *testing.B) {
	ms, err := measures.Load(nil)
	if err != nil {
		b.Fatal(err)
	}
	benchLoadDir(b, synth.Parquet, eval.WithRequirements(dsl.RequirementsOf(ms...)))
}

// BenchmarkShippedLoadArrow loads the 10,000-member cohort from in-memory
// Arrow records (eval.FromArrow).
func BenchmarkShippedLoadArrow(b *testing.B) {
	tab, err := synth.GenerateArrow(shippedConfig(loadMembers), nil, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer tab.Release()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := fromTables(tab); err != nil {
			b.Fatal(err)
		}
	}
	reportRates(b, tab.Stats.Members, tab.Stats.Events)
}
