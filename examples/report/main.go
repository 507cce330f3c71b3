// Command report writes one self-contained HTML file of quality measure
// results with equity stratification: per measure, each group's rate and
// 95% confidence interval against an optional benchmark, and per
// stratifier a dot plot of the strata's rates with their intervals, the
// reference stratum's rate, the overall rate and the benchmark, beside a
// table of the numbers. Small cells are suppressed for publication.
//
//	go run ./examples/report -data testdata/sample -out /tmp/report.html
//	go run ./examples/report -report /tmp/out/report.json -benchmarks benchmarks.csv -out report.html
//
// The page loads nothing from the network and needs no JavaScript: the
// charts are inline SVG drawn by an html/template from coordinates
// computed here (chart.go), each with a <title> and a table of its
// numbers. The output depends only on the input, so the same data gives
// the same bytes.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/caremetrics/caremetrics/dsl"
	"github.com/caremetrics/caremetrics/eval"
	"github.com/caremetrics/caremetrics/examples/internal/cli"
	"github.com/caremetrics/caremetrics/measures"
	"github.com/caremetrics/caremetrics/metric"
)

const usageText = `usage: report (-data DIR | -report FILE) -out FILE [flags]

Writes one self-contained HTML report (inline SVG charts, no scripts, no
network fetches) of each measure's rates and their equity strata.

examples:
  go run ./examples/report -data testdata/sample -out /tmp/report.html
  go run ./examples/report -data testdata/sample -measures cis,dental -benchmarks benchmarks.csv \
      -reference race=white,best -out /tmp/report.html

flags:
`

type config struct {
	data, report string
	list         string
	year         int
	out          string
	benchmarks   string
	suppress     int64
	reference    string
	title        string
	quiet        bool
}

func main() {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	var c config
	fs.StringVar(&c.data, "data", "", "directory with members, enrollment and events files (.csv, .parquet or .arrow) to evaluate the shipped measures on")
	fs.StringVar(&c.report, "report", "", "instead of -data, a report.json written by examples/evaluate")
	fs.StringVar(&c.list, "measures", "all", "comma-separated measure ids, or all (with -data)")
	fs.IntVar(&c.year, "year", 0, "measurement year (default: each measure's own period, 2025 for the shipped ones; with -data)")
	fs.StringVar(&c.out, "out", "", "HTML file to write (required; - for stdout)")
	fs.StringVar(&c.benchmarks, "benchmarks", "", "optional CSV or YAML file of benchmarks, rows of measure,group,benchmark in the report's units: a fraction for a proportion (0.60), the scaled rate for a ratio measure (45 per 1,000)")
	fs.Int64Var(&c.suppress, "suppress", metric.DefaultThreshold, "small-cell threshold: counts from 1 to N-1, and counts that would reveal one, are not shown (0 = no suppression)")
	fs.StringVar(&c.reference, "reference", "largest", "reference of the strata's comparisons: largest (denominator), best (rate), overall (the group's rate), or a stratum NAME (e.g. white; other stratifiers use the largest), or STRATIFIER=NAME pairs with an optional default, e.g. race=white,language=en,best")
	fs.StringVar(&c.title, "title", "Quality measures report", "title of the page")
	fs.BoolVar(&c.quiet, "quiet", false, "no progress bar while evaluating (one is drawn only when stderr is a terminal) and no summary line")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usageText)
		fs.PrintDefaults()
	}
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(2)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "report: unexpected argument %q (see -h)\n", fs.Arg(0))
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, c, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

// run checks the flags, builds the report and writes it.
func run(ctx context.Context, c config, stdout, stderr io.Writer) error {
	switch {
	case c.out == "":
		return errors.New("-out is required (see -h)")
	case c.data == "" && c.report == "":
		return errors.New("-data or -report is required (see -h)")
	case c.data != "" && c.report != "":
		return errors.New("-data and -report exclude each other")
	case c.report != "" && (c.year != 0 || (c.list != "" && c.list != "all")):
		return errors.New("-year and -measures apply to -data; a -report has its measures and period already")
	case c.suppress < 0:
		return fmt.Errorf("-suppress %d: want 0 (off) or a threshold such as 11", c.suppress)
	}
	ref, err := cli.ParseReference(c.reference)
	if err != nil {
		return err
	}
	var r *metric.Report
	source := c.report
	if c.data != "" {
		source = c.data
		if r, err = evaluate(ctx, c); err != nil {
			return err
		}
	} else if r, err = readReport(c.report); err != nil {
		return err
	}
	var bm benchmarks
	if c.benchmarks != "" {
		var ignored []string
		if bm, ignored, err = readBenchmarks(c.benchmarks, r); err != nil {
			return err
		}
		for _, w := range ignored {
			fmt.Fprintln(stderr, "report: warning:", w)
		}
	}
	p, err := build(r, options{title: c.title, source: source, threshold: c.suppress, sums: declaringSums(r), reference: ref, benchmarks: bm})
	if err != nil {
		return err
	}
	write := func(w io.Writer) error { return render(w, p) }
	if c.out == "-" {
		return write(stdout)
	}
	dir, name := filepath.Split(c.out)
	if dir == "" {
		dir = "."
	}
	if err := cli.WriteFile(dir, name, func(f *os.File) error { return write(f) }); err != nil {
		return err
	}
	// A page to share: readable by others, as os.Create would make it
	// (the temporary file behind WriteFile is private).
	if err := os.Chmod(c.out, 0o644); err != nil {
		return err
	}
	if !c.quiet {
		fmt.Fprintf(stderr, "report: %d measures, %d charts; wrote %s\n", len(p.Measures), p.Charts, c.out)
	}
	return nil
}

// evaluate runs the shipped measures over the data directory, loading only
// the rows and columns they need, as examples/evaluate does.
func evaluate(ctx context.Context, c config) (*metric.Report, error) {
	ms, err := cli.LoadMeasures(c.list, "", "", nil)
	if err != nil {
		return nil, err
	}
	opts, err := cli.YearPeriod(c.year)
	if err != nil {
		return nil, err
	}
	progress := cli.NewProgress(c.quiet)
	data, err := eval.LoadDir(ctx, c.data, eval.WithRequirements(cli.Requirements(ms, c.year)))
	if err != nil {
		progress.Done()
		return nil, err
	}
	progress.Loaded(len(data.Members))
	res, err := eval.Evaluate(ctx, data, ms, append(opts, eval.WithProgress(progress.Evaluated))...)
	progress.Done()
	if err != nil {
		return nil, err
	}
	return res.Report, nil
}

// readReport reads a report.json of examples/evaluate (its reconciliation
// is ignored).
func readReport(path string) (*metric.Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r metric.Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(r.Measures) == 0 {
		return nil, fmt.Errorf("%s: no measures", path)
	}
	for i := range r.Measures {
		if s := r.Measures[i].Scoring; s != "proportion" && s != "ratio" {
			return nil, fmt.Errorf("%s: measure %q: scoring %q: want proportion or ratio", path, r.Measures[i].ID, s)
		}
	}
	r.Finalize()
	return &r, nil
}

// declaringSums returns the shipped measures of the report, whose YAML
// declares the sums between rows that suppression must protect (dental's
// age groups add up to its total). A report of other measures declares
// none.
func declaringSums(r *metric.Report) []*dsl.Measure {
	all, err := measures.Load(nil)
	if err != nil {
		return nil // the shipped measures are embedded: cannot fail in a built binary
	}
	var out []*dsl.Measure
	for _, m := range all {
		if r.Measure(m.ID()) != nil {
			out = append(out, m)
		}
	}
	return out
}
