// Command beam evaluates measures over member shards with Apache Beam:
// each shard (a directory of members, enrollment and events files for a
// disjoint set of members, as eval.Partition and examples/shard write it)
// is loaded and evaluated by a worker, and the partial results are
// combined with metric.Report.Merge into the report of the whole cohort,
// byte for byte the report one process gives over the same data.
//
// It is its own Go module, so that the core library does not depend on
// Beam. Run it locally on Beam's prism runner (in process):
//
//	cd examples/beam
//	go run . -shards SHARDS -out DIR [-measures all] [-measure-dir DIR]
//	    [-valuesets DIR] [-year 2025] [-workers N] [-strict] [-stage]
//
// where SHARDS holds the shard directories and the manifest
// (_partition.json) that examples/shard -data writes. It writes
// report.json and rates.csv into DIR.
//
// Data not partitioned by member (Parquet or Arrow IPC files) takes the row
// path: files are read by row group in parallel, each row keyed by a hash
// of member_id into one of -buckets groups, grouped with GroupByKey and
// each group evaluated like a shard:
//
//	go run . -data DIR -buckets 16 -out DIR
//
// Beam's own flags choose the runner (-runner prism, the default; -runner
// direct; -runner universal with -endpoint HOST:PORT for a portable job
// server such as Flink's or Spark's) and its options. SCALING.md at the
// repository root has the plan beyond one machine.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/metrics"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local"
	beamlog "github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/direct"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"

	"github.com/caremetrics/caremetrics/eval"
)

// options are the command's flags.
type options struct {
	shards, data, out          string
	buckets                    int
	list, measureDir, valueSet string
	year, workers              int
	strict, stage, verbose     bool
}

func main() {
	var o options
	flag.StringVar(&o.shards, "shards", "", "directory of member shards with their manifest, as examples/shard -data writes it (the shard path)")
	flag.StringVar(&o.data, "data", "", "data directory of Parquet or Arrow IPC files not partitioned by member (the row path)")
	flag.IntVar(&o.buckets, "buckets", 16, "row path: number of member-hash groups evaluated in parallel")
	flag.StringVar(&o.out, "out", "", "directory for report.json and rates.csv")
	flag.StringVar(&o.list, "measures", "all", "comma-separated measure ids, or all")
	flag.StringVar(&o.measureDir, "measure-dir", "", "directory of your own measure YAML files, shipped to the workers inside the pipeline (default: the shipped measures)")
	flag.StringVar(&o.valueSet, "valuesets", "", "directory of value-set files replacing shipped sets of the same name, shipped to the workers inside the pipeline; a URL (gs://...) is read by each worker instead")
	flag.IntVar(&o.year, "year", 0, "measurement year (default: each measure's own period)")
	flag.IntVar(&o.workers, "workers", 0, "parallel evaluation goroutines per partition (default GOMAXPROCS)")
	flag.BoolVar(&o.strict, "strict", true, "fail when any row is set aside (e.g. events of unknown members); -strict=false reports them and goes on")
	flag.BoolVar(&o.verbose, "v", false, "print the runner's progress messages")
	flag.BoolVar(&o.stage, "stage", false, "copy each shard into a worker-local temporary directory before loading (always done for paths with a scheme)")
	flag.Parse()
	if !o.verbose {
		// prism reports every job state change at level info; Init sets
		// the logger up with this level.
		beamlog.LogLevel = "warn"
	}
	// In a worker process (a runner starting this binary with -worker),
	// Init runs the SDK harness and does not return.
	beam.Init()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	start := time.Now()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "beam:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "wrote %s in %s\n", o.out, time.Since(start).Round(time.Millisecond))
}

// run builds the pipeline of o and runs it on the runner named by Beam's
// -runner flag (prism when empty).
func run(ctx context.Context, o options) error {
	c, err := newConfig(ctx, o)
	if err != nil {
		return err
	}
	p, s := beam.NewPipelineWithRoot()
	if err := build(s, c); err != nil {
		return err
	}
	runner := *runners.Runner
	if runner == "" {
		runner = "prism"
	}
	pr, err := beam.Run(ctx, runner, p)
	if err != nil {
		return err
	}
	if pr != nil {
		summarize(pr.Metrics())
	}
	return nil
}

// summarize prints the pipeline's counters: partitions, members, events
// and the time spent in partitions (loading and evaluating).
func summarize(m metrics.Results) {
	q := m.AllMetrics()
	var partitions, members, events, shuffled int64
	for _, c := range q.Counters() {
		switch c.Namespace() + "/" + c.Name() {
		case "caremetrics/partitions":
			partitions += c.Result()
		case "caremetrics/members":
			members += c.Result()
		case "caremetrics/events":
			events += c.Result()
		case "caremetrics/shuffled_bytes":
			shuffled += c.Result()
		}
	}
	var d metrics.DistributionValue
	for _, r := range q.Distributions() {
		if r.Namespace() == "caremetrics" && r.Name() == "partition_ms" {
			v := r.Result()
			d.Count, d.Sum, d.Max = d.Count+v.Count, d.Sum+v.Sum, max(d.Max, v.Max)
		}
	}
	if partitions == 0 {
		return
	}
	fmt.Fprintf(os.Stderr, "evaluated %d members, %d events in %d partitions; in partitions %d ms (longest %d ms)\n",
		members, events, partitions, d.Sum, d.Max)
	if shuffled > 0 {
		fmt.Fprintf(os.Stderr, "row chunks shuffled: %d bytes\n", shuffled)
	}
}

// newConfig checks the options and reads what travels with the pipeline:
// the shard list, and the measures' sources, which it compiles once here so
// that a measure error is reported before anything runs.
func newConfig(ctx context.Context, o options) (config, error) {
	if o.out == "" || (o.shards == "") == (o.data == "") {
		return config{}, errors.New("want -out and one of -shards or -data (see -h)")
	}
	if o.year != 0 && (o.year < 1900 || o.year > 2200) {
		return config{}, fmt.Errorf("-year %d: want a year between 1900 and 2200", o.year)
	}
	c := config{Data: o.data, Buckets: o.buckets, Out: o.out, Workers: o.workers, Strict: o.strict, Stage: o.stage}
	c.Spec.Year = o.year
	if o.list != "" && o.list != "all" {
		for _, id := range strings.Split(o.list, ",") {
			if id = strings.TrimSpace(id); id != "" {
				c.Spec.IDs = append(c.Spec.IDs, id)
			}
		}
	}
	var err error
	if o.measureDir != "" {
		if c.Spec.Files, err = readTree(o.measureDir); err != nil {
			return config{}, err
		}
	}
	if strings.Contains(o.valueSet, "://") {
		c.Spec.ValueSetsURL = o.valueSet
	} else if o.valueSet != "" {
		if c.Spec.ValueSets, err = readTree(o.valueSet); err != nil {
			return config{}, err
		}
	}
	if o.shards != "" {
		if c.Shards, err = eval.ShardDirs(o.shards); err != nil {
			return config{}, err
		}
		c.Spec.Attrs, err = attributes(ctx, c.Shards[0])
	} else if _, err = listTables(o.data, false); err == nil {
		c.Spec.Attrs, err = attributes(ctx, o.data)
	}
	if err != nil {
		return config{}, err
	}
	if _, err := c.Spec.compile(ctx); err != nil {
		return config{}, err
	}
	return c, nil
}
