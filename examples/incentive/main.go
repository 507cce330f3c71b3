// Command incentive computes an organisation's quality-pool earnings and
// shared savings for a year from a program file, this year's rates and
// the baseline year's rates (both rates.csv as examples/evaluate writes
// them).
//
//	go run ./examples/incentive -program FILE -rates FILE -baseline FILE
//	    (-data DIR [-plan NAME] [-month-rule day15] | -member-months N)
//	    [-actual-cost DOLLARS] [-capitation DOLLARS] [-pmpm DOLLARS]
//	    [-cco NAME] [-format text|json]
//
// Member months come from the enrollment table of -data (counted over the
// program's year by -month-rule, only spans of -plan when given), or
// directly from -member-months. The actual total cost of care is the
// caller's (-actual-cost), required when the program has shared savings.
// The result goes to stdout; errors to stderr with a non-zero exit.
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

	"github.com/caremetrics/caremetrics/dsl"
	"github.com/caremetrics/caremetrics/eval"
	"github.com/caremetrics/caremetrics/metric"
	"github.com/caremetrics/caremetrics/payment"
)

type config struct {
	program, rates, baseline string
	data, plan, monthRule    string
	memberMonths             int64
	actualCost, capitation   string
	pmpm, cco, format        string
}

func main() {
	fs := flag.NewFlagSet("incentive", flag.ContinueOnError)
	var c config
	fs.StringVar(&c.program, "program", "", "program YAML: measures, benchmarks, quality pool, shared savings (required)")
	fs.StringVar(&c.rates, "rates", "", "this year's rates.csv (required)")
	fs.StringVar(&c.baseline, "baseline", "", "the baseline year's rates.csv (required)")
	fs.StringVar(&c.data, "data", "", "member data directory whose enrollment gives the member months")
	fs.StringVar(&c.plan, "plan", "", "with -data: count only enrollment spans of this plan")
	fs.StringVar(&c.monthRule, "month-rule", "day15", "with -data: a member counts for a month when enrolled on its 15th (day15), its 1st (first_day) or any day (any_day)")
	fs.Int64Var(&c.memberMonths, "member-months", 0, "member months of the year, instead of -data")
	fs.StringVar(&c.actualCost, "actual-cost", "", "actual total cost of care of the year, in dollars (required for shared savings)")
	fs.StringVar(&c.capitation, "capitation", "", "the year's capitation payments in dollars (default: the program's PMPM × member months)")
	fs.StringVar(&c.pmpm, "pmpm", "", "capitation per member month in dollars, replacing the program's")
	fs.StringVar(&c.cco, "cco", "", "the organisation's name in the result (default: -plan)")
	fs.StringVar(&c.format, "format", "text", "output: text (every step written out) or json")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: incentive -program FILE -rates FILE -baseline FILE (-data DIR | -member-months N) [flags]\n\nflags:")
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
	if err := run(ctx, c, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "incentive:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c config, out io.Writer) error {
	if c.program == "" || c.rates == "" || c.baseline == "" {
		return errors.New("-program, -rates and -baseline are required (see -h)")
	}
	if (c.data == "") == (c.memberMonths == 0) {
		return errors.New("give the member months by -data DIR (its enrollment) or by -member-months N, one of the two")
	}
	if c.format != "text" && c.format != "json" {
		return fmt.Errorf("-format %q: want text or json", c.format)
	}
	prog, err := payment.LoadProgram(c.program)
	if err != nil {
		return err
	}
	in := payment.Inputs{CCO: c.cco, RatesFile: c.rates, BaselineFile: c.baseline, MemberMonths: c.memberMonths}
	if in.CCO == "" {
		in.CCO = c.plan
	}
	if c.pmpm != "" {
		if prog.PMPM, err = dollars("-pmpm", c.pmpm); err != nil {
			return err
		}
	}
	if c.capitation != "" {
		if in.Capitation, err = dollars("-capitation", c.capitation); err != nil {
			return err
		}
	}
	if c.actualCost != "" {
		cost, err := dollars("-actual-cost", c.actualCost)
		if err != nil {
			return err
		}
		in.ActualCost = &cost
	}
	if in.Rates, err = readRates(c.rates); err != nil {
		return err
	}
	if in.Baseline, err = readRates(c.baseline); err != nil {
		return err
	}
	if c.data != "" {
		if in.MemberMonths, err = memberMonths(ctx, c, prog.Year); err != nil {
			return err
		}
	}
	res, err := prog.Evaluate(in)
	if err != nil {
		return err
	}
	if c.format == "json" {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false) // "rate >= target" reads as written
		return enc.Encode(res)
	}
	return res.WriteText(out)
}

func dollars(flag, s string) (payment.Cents, error) {
	c, err := payment.ParseCents(s)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", flag, err)
	}
	if c < 0 {
		return 0, fmt.Errorf("%s %s: want 0 or more", flag, s)
	}
	return c, nil
}

func readRates(path string) (*metric.Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rep, err := metric.ReadRatesCSV(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rep, nil
}

// memberMonths counts the member months of the program's year from the
// enrollment of c.data. Without -plan no measure's requirements are
// needed, so the load keeps no events and skips the plan column.
func memberMonths(ctx context.Context, c config, year int) (int64, error) {
	rule, err := payment.ParseMonthRule(c.monthRule)
	if err != nil {
		return 0, fmt.Errorf("-month-rule: %w", err)
	}
	var opts []eval.LoadOption
	if c.plan == "" {
		opts = append(opts, eval.WithRequirements(dsl.Requirements{}))
	}
	data, err := eval.LoadDir(ctx, c.data, opts...)
	if err != nil {
		return 0, err
	}
	plan := int32(-1)
	if c.plan != "" {
		for i, p := range data.Plans {
			if p == c.plan {
				plan = int32(i)
			}
		}
		if plan < 0 {
			return 0, fmt.Errorf("-plan %q: no enrollment span of %s names it (plans: %v)", c.plan, c.data, data.Plans)
		}
	}
	var spans []payment.Span
	for _, m := range data.Members {
		for _, s := range data.Spans[m.SpansStart:m.SpansEnd] {
			if plan < 0 || s.Plan == plan {
				spans = append(spans, payment.Span{Member: m.ID, Start: s.Start, End: s.End})
			}
		}
	}
	return payment.MemberMonths(spans, metric.CalendarYear(year), rule)
}
