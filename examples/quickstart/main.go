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
		fmt.Fprintf(out, "\n%s: %s (version %s), period %s\n", m.ID, m.Title, m.Version, m.Period)
		type line struct {
			label string
			c     metric.Counts
		}
		var lines []line
		for _, g := range m.Groups {
			lines = append(lines, line{g.ID, g.Counts})
			if !withStrata {
				continue
			}
			for _, s := range g.Stratifiers {
				for _, st := range s.Strata {
					lines = append(lines, line{"  " + s.ID + "=" + strings.Join(st.Values, "|"), st.Counts})
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
				l.c.DenominatorExclusion, l.c.DenominatorException, l.c.Numerator, rate(l.c))
		}
	}
	return nil
}

func rate(c metric.Counts) string {
	if r := c.Rate(); r.Defined {
		return fmt.Sprintf("%.1f%%", 100*r.Value)
	}
	return "undefined"
}
