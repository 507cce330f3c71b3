// Command quickstart runs every shipped measure on the bundled sample
// cohort (testdata/sample) and prints the rates with their strata.
//
//	go run ./examples/quickstart [-data testdata/sample] [-strata=false]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/caremetrics/caremetrics/eval"
	"github.com/caremetrics/caremetrics/examples/internal/cli"
	"github.com/caremetrics/caremetrics/metric"
)

func main() {
	data := flag.String("data", "testdata/sample", "directory with members, enrollment and events files")
	strata := flag.Bool("strata", true, "print every stratum under each rate")
	flag.Parse()
	if err := run(os.Stdout, *data, *strata); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(out io.Writer, dir string, withStrata bool) error {
	ctx := context.Background()
	data, err := eval.LoadDir(ctx, dir)
	if err != nil {
		return err
	}
	ms, err := cli.LoadMeasures("all", "", "", data.AttributeKinds())
	if err != nil {
		return err
	}
	res, err := eval.Evaluate(ctx, data, ms)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "caremetrics quickstart: %d members, %d enrollment spans, %d events from %s\n", len(data.Members), len(data.Spans), len(data.Events), dir)
	for _, w := range res.Report.Warnings {
		fmt.Fprintln(out, "warning:", w)
	}
	for _, m := range res.Report.Measures {
		fmt.Fprintf(out, "\n%s: %s (version %s), period %s%s\n", m.ID, m.Title, m.Version, m.Period, shape(&m))
		type line struct {
			label string
			c     metric.Counts
			rate  metric.Rate
		}
		var lines []line
		for _, g := range m.Groups {
			lines = append(lines, line{g.ID, g.Counts, g.Rate})
			if !withStrata {
				continue
			}
			for _, s := range g.Stratifiers {
				for _, st := range s.Strata {
					lines = append(lines, line{"  " + s.ID + "=" + strings.Join(st.Values, "|"), st.Counts, st.Rate})
				}
			}
		}
		width := len("group / stratum")
		for _, l := range lines {
			width = max(width, len(l.label))
		}
		fmt.Fprintf(out, "  %-*s %10s %10s %10s %10s %10s %9s\n", width, "group / stratum", "init.pop", "denom", "excl", "except", "numer", "rate")
		for _, l := range lines {
			fmt.Fprintf(out, "  %-*s %10d %10d %10d %10d %10d %9s\n", width, l.label, l.c.InitialPopulation, l.c.Denominator,
				l.c.DenominatorExclusion, l.c.DenominatorException, l.c.Numerator, rate(&m, l.rate))
		}
	}
	return nil
}

// rate prints a proportion as a percentage and a ratio as it is scaled
// (visits per 1,000 member months).
func rate(m *metric.MeasureResult, r metric.Rate) string {
	switch {
	case !r.Defined:
		return "undefined"
	case m.Scoring == "ratio":
		return fmt.Sprintf("%.2f", r.Value)
	}
	return fmt.Sprintf("%.1f%%", 100*r.Value)
}

// shape names what a measure's counts count when it is not members in a
// proportion, so the columns read correctly.
func shape(m *metric.MeasureResult) string {
	var notes []string
	if m.Basis == "episode" {
		notes = append(notes, "counts episodes")
	}
	if m.Scoring == "ratio" {
		notes = append(notes, fmt.Sprintf("ratio per %d: denominator and numerator are sums", max(m.Multiplier, 1)))
	}
	if m.LowerIsBetter() {
		notes = append(notes, "lower is better")
	}
	if len(notes) == 0 {
		return ""
	}
	return " [" + strings.Join(notes, "; ") + "]"
}
