// Command shard runs measures over a cohort larger than memory: it splits
// the cohort into member shards on disk, evaluates the shards one after
// another and merges their reports, which equal the report of the whole
// cohort.
//
// Partition a data directory (members, enrollment and events files, as
// for examples/evaluate) into N shards, by a hash of member_id:
//
//	go run ./examples/shard -data DIR -out SHARDS -shards 16
//
// This writes SHARDS/shard-0000 ... SHARDS/shard-0015, each a data directory
// of its members (Parquet, or -format arrow; CSV input stays CSV), and
// SHARDS/_partition.json with the rows of each shard. Memory is bounded by
// -shards times -rows buffered rows, whatever the size of the cohort.
//
// Evaluate the shards one at a time, memory bounded by the largest shard,
// and write rates.csv and report.json into -results (default SHARDS):
//
//	go run ./examples/shard -out SHARDS -evaluate [-results DIR] [-only 0-7]
//	    [-measures all] [-year 2025] [-workers N] [-strict]
//
// Both steps run in one command when -data and -evaluate are given. -only
// evaluates a range of shards, so that a run can be split by hand across
// processes or machines; -merge then adds up their reports:
//
//	go run ./examples/shard -out SHARDS -evaluate -only 0-7 -results /tmp/a
//	go run ./examples/shard -out SHARDS -evaluate -only 8-15 -results /tmp/b
//	go run ./examples/shard -merge /tmp/a/report.json,/tmp/b/report.json -results /tmp/ab
//
// Reports merged with -merge carry the warnings of every part (the
// counts are exact); EvaluateShards merges warnings as the whole run would
// give them. Errors go to stderr with a non-zero exit.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/caremetrics/caremetrics/dsl"
	"github.com/caremetrics/caremetrics/eval"
	"github.com/caremetrics/caremetrics/examples/internal/cli"
	"github.com/caremetrics/caremetrics/metric"
)

type config struct {
	data, out, results string
	shards             int
	format             string
	rows               int
	evaluate           bool
	only               string
	merge              string
	list, measureDir   string
	valueSets          string
	year, workers      int
	strict             bool
}

func main() {
	fs := flag.NewFlagSet("shard", flag.ContinueOnError)
	var c config
	fs.StringVar(&c.data, "data", "", "data directory to partition (members, enrollment and events files)")
	fs.StringVar(&c.out, "out", "", "directory of the shards (written by -data, read by -evaluate)")
	fs.IntVar(&c.shards, "shards", 16, "number of shards")
	fs.StringVar(&c.format, "format", "parquet", "shard file format for Parquet and Arrow input: parquet or arrow")
	fs.IntVar(&c.rows, "rows", 64<<10, "rows buffered per shard before writing (one row group)")
	fs.BoolVar(&c.evaluate, "evaluate", false, "evaluate the shards in -out and merge their reports")
	fs.StringVar(&c.results, "results", "", "directory for rates.csv and report.json (default -out)")
	fs.StringVar(&c.only, "only", "", "evaluate only shards FROM-TO (e.g. 0-7), for a run split by hand")
	fs.StringVar(&c.merge, "merge", "", "comma-separated report.json files to merge into -results")
	fs.StringVar(&c.list, "measures", "all", "comma-separated measure ids, or all")
	fs.StringVar(&c.measureDir, "measure-dir", "", "directory of your own measure YAML files (default: the shipped measures)")
	fs.StringVar(&c.valueSets, "valuesets", "", "directory of value-set files replacing shipped sets of the same name")
	fs.IntVar(&c.year, "year", 0, "measurement year (default: each measure's own period)")
	fs.IntVar(&c.workers, "workers", 0, "parallel workers per shard (default GOMAXPROCS)")
	fs.BoolVar(&c.strict, "strict", true, "fail when any row is set aside (e.g. events of unknown members); -strict=false reports them and goes on")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: shard -data DIR -out SHARDS [-shards N] [-evaluate]\n       shard -out SHARDS -evaluate [-only FROM-TO] [-results DIR]\n       shard -merge A/report.json,B/report.json -results DIR\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, "shard:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c config) error {
	if c.results == "" {
		c.results = c.out
	}
	if c.merge != "" {
		if c.results == "" {
			return errors.New("-merge needs -results")
		}
		return merge(strings.Split(c.merge, ","), c.results)
	}
	if c.out == "" || (c.data == "" && !c.evaluate) {
		return errors.New("-out and one of -data or -evaluate are required (see -h)")
	}
	if c.data != "" {
		start := time.Now()
		p, err := eval.PartitionDir(ctx, c.data, c.out, c.shards, eval.WithShardFormat(c.format), eval.WithShardRows(c.rows))
		if err != nil {
			return err
		}
		var m, e, v int64
		for _, s := range p.Shards {
			m, e, v = m+s.Members, e+s.Enrollment, v+s.Events
		}
		fmt.Fprintf(os.Stderr, "partitioned %d members, %d enrollment and %d events rows into %d shards in %s; wrote %s\n",
			m, e, v, len(p.Shards), time.Since(start).Round(time.Millisecond), c.out)
	}
	if c.evaluate {
		return evaluate(ctx, c)
	}
	return nil
}

func evaluate(ctx context.Context, c config) error {
	start := time.Now()
	dirs, err := eval.ShardDirs(c.out)
	if err != nil {
		return err
	}
	if c.only != "" {
		lo, hi, ok := strings.Cut(c.only, "-")
		from, err1 := strconv.Atoi(lo)
		to, err2 := strconv.Atoi(hi)
		if !ok || err1 != nil || err2 != nil || from < 0 || to < from || to >= len(dirs) {
			return fmt.Errorf("-only %q: want FROM-TO with 0 <= FROM <= TO < %d", c.only, len(dirs))
		}
		dirs = dirs[from : to+1]
	}
	// Measures are compiled against the data's extra member columns, read
	// from the first shard's members table (every shard has the same
	// columns).
	attrs, err := attributeKinds(ctx, dirs[0])
	if err != nil {
		return err
	}
	ms, err := cli.LoadMeasures(c.list, c.measureDir, c.valueSets, attrs)
	if err != nil {
		return err
	}
	opts, err := cli.YearPeriod(c.year)
	if err != nil {
		return err
	}
	opts = append(opts, eval.WithWorkers(c.workers))
	var members int
	rep, err := eval.EvaluateShards(ctx, dirs, ms, eval.WithShardLoad(eval.WithStrict(c.strict)), eval.WithShardEval(opts...),
		eval.WithShardDone(func(d eval.ShardDone) error {
			members += len(d.Data.Members)
			fmt.Fprintf(os.Stderr, "shard %s: %d members, %d events (%s)\n", d.Dir, len(d.Data.Members), len(d.Data.Events), time.Since(start).Round(time.Millisecond))
			return nil
		}))
	if err != nil {
		return err
	}
	if err := write(rep, c.results); err != nil {
		return err
	}
	for _, w := range rep.Warnings {
		fmt.Fprintln(os.Stderr, "warning:", w)
	}
	fmt.Fprintf(os.Stderr, "evaluated %d measures over %d members in %d shards in %s; wrote %s\n",
		len(ms), members, len(dirs), time.Since(start).Round(time.Millisecond), c.results)
	return nil
}

// attributeKinds returns the extra member columns of a shard, loading its
// members files only (members.EXT and members-N.EXT, as Partition writes
// them).
func attributeKinds(ctx context.Context, dir string) (map[string]dsl.AttrKind, error) {
	names, err := filepath.Glob(filepath.Join(dir, "members*.*"))
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s: no members file", dir)
	}
	d, err := eval.LoadFiles(ctx, eval.Files{Members: names})
	if err != nil {
		return nil, err
	}
	return d.AttributeKinds(), nil
}

// merge adds up reports of disjoint shards written by -evaluate.
func merge(files []string, out string) error {
	total := &metric.Report{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var r metric.Report
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		if err := total.Merge(&r); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
	}
	return write(total, out)
}

func write(rep *metric.Report, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := cli.WriteFile(dir, "rates.csv", func(f *os.File) error { return rep.WriteRatesCSV(f) }); err != nil {
		return err
	}
	return cli.WriteFile(dir, "report.json", func(f *os.File) error {
		enc := json.NewEncoder(f)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	})
}
