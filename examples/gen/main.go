// Command gen writes a deterministic synthetic Medicaid cohort in the
// canonical member data model (shared/data-model.md): members, enrollment
// and events, as CSV, Parquet and/or Arrow IPC files.
//
// The bundled sample in testdata/sample was made with
//
//	go run ./examples/gen -members 3000 -seed 1 -year 2025 -format csv -out testdata/sample
//
// Flags:
//
//	-members N   number of members (ids M0000001, M0000002, ...)
//	-seed S      random seed
//	-year Y      measurement year; events run from Jan 1 Y-1 (registry
//	             immunizations from birth) to Jan 31 Y+1, enrollment from
//	             Jan 1 Y-2; spans of members still enrolled end Dec 31 Y+1
//	-format F    csv, parquet, arrow (Arrow IPC file), a comma list, or all
//	-out DIR     output directory; writes members.EXT, enrollment.EXT, events.EXT
//	-workers N   generator goroutines (default GOMAXPROCS)
//	-batch N     rows per Arrow record batch and Parquet row group
//	-shuffle     permute rows within each block of 2048 members
//	-q           no summary on stderr
//
// The cohort is made by package internal/synth, which documents its shape;
// the output is byte-identical for the same flags whatever -workers is, and
// memory stays bounded (members are generated in blocks of 2048 and written
// as they come), so -members 1000000 streams to disk.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"maps"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/caremetrics/caremetrics/internal/synth"
)

// The cohort itself is made by package internal/synth; this command parses
// flags, writes the files and prints a summary.

// chunkMembers is the number of consecutive members generated together
// (synth.BlockMembers); -shuffle permutes rows inside a chunk.
const chunkMembers = synth.BlockMembers

type config struct {
	members int
	seed    uint64
	year    int
	out     string
	formats []string // csv, parquet, arrow
	workers int
	batch   int // rows per Arrow record batch and Parquet row group
	shuffle bool
}

// run generates the cohort of cfg and writes it in every format.
func run(cfg config) (synth.Stats, error) {
	if cfg.members < 0 {
		return synth.Stats{}, fmt.Errorf("-members must be >= 0")
	}
	return synth.WriteDir(synth.Config{
		Members: cfg.members,
		Seed:    cfg.seed,
		Year:    cfg.year,
		Workers: max(1, cfg.workers),
		Shuffle: cfg.shuffle,
	}, cfg.out, cfg.formats, cfg.batch)
}

func main() {
	var cfg config
	var format string
	var quiet bool
	flag.IntVar(&cfg.members, "members", 3000, "number of members")
	flag.Uint64Var(&cfg.seed, "seed", 1, "random seed")
	flag.IntVar(&cfg.year, "year", 2025, "measurement year")
	flag.StringVar(&format, "format", "csv", "csv, parquet, arrow, a comma list, or all")
	flag.StringVar(&cfg.out, "out", "", "output directory (required)")
	flag.IntVar(&cfg.workers, "workers", runtime.GOMAXPROCS(0), "generator goroutines")
	flag.IntVar(&cfg.batch, "batch", 1<<20, "rows per Arrow record batch and Parquet row group")
	flag.BoolVar(&cfg.shuffle, "shuffle", false, "permute rows within each block of members")
	flag.BoolVar(&quiet, "q", false, "no summary on stderr")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("gen: ")
	if cfg.out == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	var err error
	if cfg.formats, err = parseFormats(format); err != nil {
		log.Fatal(err)
	}
	t0 := time.Now()
	st, err := run(cfg)
	if err != nil {
		log.Fatal(err)
	}
	if !quiet {
		summary(os.Stderr, cfg, st, time.Since(t0))
	}
}

// parseFormats reads the -format list.
func parseFormats(s string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		var fs []string
		switch f {
		case "all":
			fs = []string{"csv", "parquet", "arrow"}
		case "csv", "parquet", "arrow":
			fs = []string{f}
		case "ipc":
			fs = []string{"arrow"}
		default:
			return nil, fmt.Errorf("unknown format %q (want csv, parquet, arrow or all)", f)
		}
		for _, f := range fs {
			if !seen[f] {
				seen[f] = true
				out = append(out, f)
			}
		}
	}
	return out, nil
}

func summary(w io.Writer, cfg config, st synth.Stats, took time.Duration) {
	fmt.Fprintf(w, "wrote %s to %s in %.1fs\n", strings.Join(cfg.formats, ","), cfg.out, took.Seconds())
	fmt.Fprintf(w, "rows: members %d, enrollment %d, events %d (%.1f per member)\n",
		st.Members, st.Enrollment, st.Events, float64(st.Events)/float64(max(1, st.Members)))
	fmt.Fprintf(w, "cohorts (year %d): turning 2 (CIS) %d; dental ages 1-5 %d, 6-14 %d; 12+ on Jan 1 (DSF) %d\n",
		cfg.year, st.CIS, st.Dental1to5, st.Dental6to14, st.DSF12)
	fmt.Fprintf(w, "members with a death date %d, without enrollment %d\n", st.Deaths, st.NoEnrollment)
	fmt.Fprint(w, "events by system:")
	for _, k := range slices.Sorted(maps.Keys(st.BySystem)) {
		fmt.Fprintf(w, " %s %d", k, st.BySystem[k])
	}
	fmt.Fprintln(w)
}
