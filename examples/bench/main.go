// Command bench times caremetrics end to end - process start to rates
// written - on a cohort directory, and optionally the peer DuckDB program
// (shared/peer, cmd/duckdb-measures) on the same files.
//
//	go run ./examples/bench -data DIR [-repeat 3] [-peer PATH]
//	go run ./examples/bench -generate 200000 [-format parquet] [-seed 1] [-data DIR]
//
// Every measured run is a fresh child process (this binary re-executed with
// a hidden -child flag), so that first-touch page faults, heap growth and
// runtime start-up count exactly as they do in the peer's whole-process
// figures. A child compiles every shipped measure with all its
// stratifiers, reads and indexes the data they need (eval.LoadDir with
// eval.WithRequirements), evaluates them
// (eval.Evaluate) and writes rates.csv (Report.WriteRatesCSV); it reports
// the time of each phase, and the parent adds the whole-process wall time
// and peak RSS (getrusage ru_maxrss of the child).
//
// With -peer the parent alternates our runs and the peer's
// (PATH -dir DIR -year Y -threads T -load view -quiet -results FILE: SQL
// straight over the Parquet files, the peer's fastest path), -repeat times
// each, and prints median wall times, the largest peak RSS of each engine,
// the ratios ours/peer, and the overall rates of both side by side.
//
// Flags:
//
//	-data DIR        cohort directory: members, enrollment and events as
//	                 .parquet, .arrow or .csv (the peer reads Parquet only)
//	-generate N      first write a cohort of N members with internal/synth
//	                 into -data (or a temporary directory, removed at exit)
//	-format F        file format of -generate: parquet, arrow or csv
//	-seed S          seed of -generate
//	-year Y          measurement year (generation, evaluation period, peer)
//	-out DIR         where rates.csv (and the peer's peer-rates.csv) go;
//	                 default a temporary directory, removed at exit
//	-workers N       evaluation workers (default GOMAXPROCS)
//	-repeat N        measured runs of each engine (default 1)
//	-peer PATH       the peer's duckdb-measures binary
//	-peer-threads T  DuckDB threads (default 2)
//	-requirements    load with the measures' data requirements (default
//	                 true, as examples/evaluate does); -requirements=false
//	                 loads every row and column
//	-cpuprofile F    CPU profile of our first run
//	-memprofile F    allocation profile of our first run, written at its end
//
// Before the first run the data files are read once, so that both engines
// start with them in the page cache. Reproduce the figures in BENCHMARKS.md
// with the commands given there.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
)

type config struct {
	data, out       string
	generate        int
	format          string
	seed            uint64
	year            int
	workers, repeat int
	peer            string
	peerThreads     int
	cpuProfile      string
	memProfile      string
	requirements    bool
	measures        string
	child           bool
}

func main() {
	var c config
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.StringVar(&c.data, "data", "", "cohort directory (members, enrollment, events files)")
	fs.IntVar(&c.generate, "generate", 0, "generate a cohort of this many members first (into -data or a temporary directory)")
	fs.StringVar(&c.format, "format", "parquet", "file format of -generate: parquet, arrow or csv")
	fs.Uint64Var(&c.seed, "seed", 1, "random seed of -generate")
	fs.IntVar(&c.year, "year", 2025, "measurement year")
	fs.StringVar(&c.out, "out", "", "directory for rates.csv and peer-rates.csv (default: a temporary directory)")
	fs.IntVar(&c.workers, "workers", 0, "evaluation workers (default GOMAXPROCS)")
	fs.IntVar(&c.repeat, "repeat", 1, "measured runs of each engine, each in a fresh process")
	fs.StringVar(&c.peer, "peer", "", "path of the peer's duckdb-measures binary, run on the same files")
	fs.IntVar(&c.peerThreads, "peer-threads", 2, "DuckDB threads of the peer")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of our first run to this file")
	fs.StringVar(&c.memProfile, "memprofile", "", "write an allocation profile of our first run to this file")
	fs.StringVar(&c.measures, "measures", "all", "measures to run: all (every shipped measure, the benchmark's definition) or comma-separated ids, e.g. cis,cms117,cms2,cms74,dental,dsf to compare with earlier figures")
	fs.BoolVar(&c.requirements, "requirements", true, "load only the rows and columns the measures need (eval.WithRequirements); false loads everything")
	fs.BoolVar(&c.child, "child", false, "internal: perform one measured run in this process")
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintln(w, "usage: bench -data DIR | -generate N [flags]\n\nexample: go run ./examples/bench -generate 100000 -repeat 3\n\nflags:")
		fs.VisitAll(func(f *flag.Flag) {
			if f.Name == "child" {
				return
			}
			name, usage := flag.UnquoteUsage(f)
			fmt.Fprintf(w, "  -%s %s\n    \t%s", f.Name, name, usage)
			if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" {
				fmt.Fprintf(w, " (default %s)", f.DefValue)
			}
			fmt.Fprintln(w)
		})
	}
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(2)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "bench: unexpected arguments %s\n", strings.Join(fs.Args(), " "))
		os.Exit(2)
	}
	var err error
	switch {
	case c.child && c.generate > 0:
		err = childGenerate(c)
	case c.child:
		err = childRun(c)
	default:
		err = parentRun(c)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}
