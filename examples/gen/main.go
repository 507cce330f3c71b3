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
// Determinism: every member draws from its own PCG stream (math/rand/v2),
// seeded from (seed, member index) only, and blocks of members are written
// in member order, so the output is byte-identical for the same flags
// whatever -workers is. -shuffle uses one stream per block, seeded from
// (seed, block index). Memory stays bounded: members are generated in
// blocks and written as they come, a few blocks per worker in flight, so
// -members 1000000 streams to disk.
//
// The cohort is shaped for the shipped measures: children turning 2 in the
// year (CIS) with full, partial and low immunization adherence, combination
// vaccines, CPT-only and duplicate records, early doses and enrollment gaps
// of 30, 45, 46 and 60 days; children 1-14 with and without dental coverage
// and with evaluation-only visits; members 12 and over with PHQ-9, PHQ-A and
// PHQ-2 screens, follow-ups on both sides of 30 days and prior depression or
// bipolar diagnoses. Age 2 and the dental ages are oversampled.
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
)

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

func summary(w io.Writer, cfg config, st stats, took time.Duration) {
	fmt.Fprintf(w, "wrote %s to %s in %.1fs\n", strings.Join(cfg.formats, ","), cfg.out, took.Seconds())
	fmt.Fprintf(w, "rows: members %d, enrollment %d, events %d (%.1f per member)\n",
		st.members, st.enrollment, st.events, float64(st.events)/float64(max(1, st.members)))
	fmt.Fprintf(w, "cohorts (year %d): turning 2 (CIS) %d; dental ages 1-5 %d, 6-14 %d; 12+ on Jan 1 (DSF) %d\n",
		cfg.year, st.cis, st.dental1to5, st.dental6to14, st.dsf12)
	fmt.Fprintf(w, "members with a death date %d, without enrollment %d\n", st.deaths, st.noEnrollment)
	fmt.Fprint(w, "events by system:")
	for _, k := range slices.Sorted(maps.Keys(st.bySystem)) {
		fmt.Fprintf(w, " %s %d", k, st.bySystem[k])
	}
	fmt.Fprintln(w)
}
