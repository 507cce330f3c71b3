// Command evaluate runs measures over a directory of member data and writes
// the rates (and, on request, member-level detail) into an output
// directory.
//
//	go run ./examples/evaluate -data DIR -out DIR [-year 2025] [-measures cis,dental|all]
//	    [-measure-dir DIR] [-valuesets DIR] [-workers N] [-members] [-race single]
//	    [-fhir [-fhir-subjects] [-fhir-base URL]]
//
// -data holds members, enrollment and events files (.csv, .parquet or
// .arrow). It writes rates.csv and report.json, with -members
// members.csv, and with -fhir one FHIR R4 MeasureReport per measure,
// measurereport-<measure>.json (subject-lists with -fhir-subjects). Errors
// go to stderr with a non-zero exit.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/caremetrics/caremetrics/dsl"
	"github.com/caremetrics/caremetrics/eval"
	"github.com/caremetrics/caremetrics/examples/internal/cli"
	"github.com/caremetrics/caremetrics/fhir"
	"github.com/caremetrics/caremetrics/metric"
)

func main() {
	fs := flag.NewFlagSet("evaluate", flag.ContinueOnError)
	dataDir := fs.String("data", "", "directory with members, enrollment and events files (required)")
	out := fs.String("out", "", "directory for rates.csv, report.json and members.csv (required)")
	year := fs.Int("year", 0, "measurement year (default: each measure's own period, 2025 for the shipped ones)")
	list := fs.String("measures", "all", "comma-separated measure ids, or all")
	measureDir := fs.String("measure-dir", "", "directory of your own measure YAML files (default: the shipped measures)")
	valueSets := fs.String("valuesets", "", "directory of value-set files (YAML or CSV) replacing shipped sets of the same name")
	workers := fs.Int("workers", 0, "parallel workers (default GOMAXPROCS)")
	members := fs.Bool("members", false, "also write members.csv with each member's populations")
	membersFormat := fs.String("members-format", "csv", "formats of the member detail with -members, comma-separated: csv (members.csv), jsonl (members.jsonl), parquet (members.parquet)")
	race := fs.String("race", "combination", "race stratification: combination (alone or in combination) or single")
	strict := fs.Bool("strict", true, "fail when any row is set aside (e.g. events of unknown members); -strict=false reports them in report.json's reconciliation and goes on")
	gaps := fs.Bool("gaps", false, "also write gaps.csv and gaps.json: each initial-population member's status (open, closed, excluded, not_applicable) and, when open, the unmet criteria in words and the last day to close the gap")
	withEquity := fs.Bool("equity", false, "also write equity.csv and equity.json: per stratum the rate with its 95% Wilson interval, the difference and ratio against a reference stratum with intervals and a two-sided test, and per stratifier the index of disparity")
	reference := fs.String("reference", "largest", "equity reference stratum: largest, best or overall, and stratifier=value pairs naming it for some stratifiers (example: largest,race=white)")
	suppress := fs.Int64("suppress", 0, "also write published-rates.csv and published.json with small-cell suppression: counts below this threshold (CMS policy: 11) and every cell that would reveal one are suppressed; equity statistics of suppressed strata are withheld; 0 = no published output")
	quiet := fs.Bool("quiet", false, "no progress bar (it is drawn only when stderr is a terminal)")
	fhirOut := fs.Bool("fhir", false, "also write measurereport-<measure>.json per measure: a FHIR R4 MeasureReport (type summary)")
	fhirSubjects := fs.Bool("fhir-subjects", false, "write the MeasureReports as subject-lists naming the members of every population (implies -fhir)")
	fhirBase := fs.String("fhir-base", fhir.DefaultMeasureBase, "base of the measures' canonical URLs in the MeasureReports")
	explain := fs.String("explain", "", "explain one member instead of evaluating all: print why the member is (not) in each population, with every define's value and events, and write explain-<member>.json into -out when given (example: -explain M000123)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: evaluate -data DIR -out DIR [flags]\n\nexample: go run ./examples/evaluate -data testdata/sample -out /tmp/out -members\n\nflags:")
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
	err := run(ctx, runConfig{data: *dataDir, out: *out, year: *year, list: *list, measureDir: *measureDir, valueSets: *valueSets,
		workers: *workers, members: *members, race: *race, strict: *strict, explain: *explain, gaps: *gaps, membersFormat: *membersFormat, quiet: *quiet,
		equity: *withEquity, reference: *reference, suppress: *suppress,
		fhir: fhirFlags{on: *fhirOut || *fhirSubjects, subjects: *fhirSubjects, base: *fhirBase, date: time.Now()}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "evaluate:", err)
		os.Exit(1)
	}
}

type runConfig struct {
	data, out        string
	year             int
	list, measureDir string
	valueSets        string
	workers          int
	members          bool
	race             string
	strict           bool
	explain          string // a member id
	gaps             bool
	membersFormat    string
	quiet            bool
	fhir             fhirFlags
	equity           bool
	reference        string
	suppress         int64
}

// load reads the data and compiles the measures. The shipped measures
// read no extra member column, so they are compiled first and the data is
// loaded with their requirements (only the rows and columns they need).
// A user's own measures may use any extra column, so for them the data is
// loaded whole first and the measures compiled against its columns.
func load(ctx context.Context, c runConfig) (*eval.Data, []*dsl.Measure, error) {
	if c.measureDir == "" {
		ms, err := cli.LoadMeasures(c.list, "", c.valueSets, nil)
		if err != nil {
			return nil, nil, err
		}
		data, err := eval.LoadDir(ctx, c.data, eval.WithStrict(c.strict), eval.WithRequirements(cli.Requirements(ms, c.year)))
		return data, ms, err
	}
	data, err := eval.LoadDir(ctx, c.data, eval.WithStrict(c.strict))
	if err != nil {
		return nil, nil, err
	}
	ms, err := cli.LoadMeasures(c.list, c.measureDir, c.valueSets, data.AttributeKinds())
	return data, ms, err
}

func run(ctx context.Context, c runConfig) error {
	if c.data == "" || (c.out == "" && c.explain == "") {
		return errors.New("-data and -out are required (see -h)")
	}
	var opts []eval.Option
	switch c.race {
	case "combination":
	case "single":
		opts = append(opts, eval.WithRaceRule(dsl.RaceSingle))
	default:
		return fmt.Errorf("-race %q: want combination or single", c.race)
	}
	if _, err := memberFormats(c.membersFormat); err != nil {
		return err
	}
	reference := c.reference
	if reference == "" {
		reference = "largest"
	}
	rule, err := cli.ParseReference(reference)
	if err != nil {
		return err
	}
	if c.suppress < 0 {
		return fmt.Errorf("-suppress %d: want a threshold of 1 or more, or 0 for none", c.suppress)
	}
	period, err := cli.YearPeriod(c.year)
	if err != nil {
		return err
	}
	opts = append(opts, period...)
	opts = append(opts, eval.WithWorkers(c.workers))
	if c.members || c.fhir.subjects {
		opts = append(opts, eval.WithMemberDetail())
	}
	if c.gaps {
		opts = append(opts, eval.WithGaps())
	}
	start := time.Now()
	progress := cli.NewProgress(c.quiet || c.explain != "")
	data, ms, err := load(ctx, c)
	if err != nil {
		progress.Done()
		return err
	}
	if c.explain != "" {
		return explainMember(ctx, c, data, ms, opts)
	}
	progress.Loaded(len(data.Members))
	res, err := eval.Evaluate(ctx, data, ms, append(opts, eval.WithProgress(progress.Evaluated))...)
	progress.Done()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		return err
	}
	if err := cli.WriteFile(c.out, "rates.csv", func(f *os.File) error { return res.Report.WriteRatesCSV(f) }); err != nil {
		return err
	}
	if err := cli.WriteFile(c.out, "report.json", func(f *os.File) error {
		enc := json.NewEncoder(f)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			*metric.Report
			Reconciliation eval.Reconciliation `json:"reconciliation"`
		}{res.Report, data.Reconciliation})
	}); err != nil {
		return err
	}
	if c.members {
		if err := writeMembers(c, res); err != nil {
			return err
		}
	}
	if c.gaps {
		if err := cli.WriteFile(c.out, "gaps.csv", func(f *os.File) error { return res.WriteGapsCSV(f) }); err != nil {
			return err
		}
		if err := cli.WriteFile(c.out, "gaps.json", func(f *os.File) error { return res.WriteGapsJSON(f) }); err != nil {
			return err
		}
	}
	if c.fhir.on {
		if err := writeFHIR(c, res, ms); err != nil {
			return err
		}
	}
	if err := publish(c, ms, res.Report, rule); err != nil {
		return err
	}
	for _, w := range res.Report.Warnings {
		fmt.Fprintln(os.Stderr, "warning:", w)
	}
	fmt.Fprintf(os.Stderr, "evaluated %d measures over %d members in %s; wrote %s\n", len(ms), len(data.Members), time.Since(start).Round(time.Millisecond), c.out)
	return nil
}

// explainMember prints the member's traces as text on stdout and, with
// -out, writes them as JSON.
func explainMember(ctx context.Context, c runConfig, data *eval.Data, ms []*dsl.Measure, opts []eval.Option) error {
	traces, err := eval.Explain(ctx, data, ms, c.explain, opts...)
	if err != nil {
		return err
	}
	for i, t := range traces {
		if i > 0 {
			fmt.Println()
		}
		if err := t.WriteText(os.Stdout); err != nil {
			return err
		}
	}
	if c.out == "" {
		return nil
	}
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		return err
	}
	name := "explain-" + safeFileName(c.explain) + ".json"
	return cli.WriteFile(c.out, name, func(f *os.File) error {
		enc := json.NewEncoder(f)
		enc.SetIndent("", "  ")
		return enc.Encode(traces)
	})
}

// safeFileName keeps letters, digits, '-', '_' and '.' of a member id, so
// that an id cannot name a path outside -out.
func safeFileName(id string) string {
	b := []byte(id)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || (c == '.' && i > 0)) {
			b[i] = '_'
		}
	}
	return string(b)
}

// memberFormats parses -members-format.
func memberFormats(list string) ([]string, error) {
	if list == "" {
		return []string{"csv"}, nil
	}
	var out []string
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		switch f {
		case "csv", "jsonl", "parquet":
			out = append(out, f)
		default:
			return nil, fmt.Errorf("-members-format %q: want csv, jsonl or parquet", f)
		}
	}
	return out, nil
}

// writeMembers writes the member detail in each format asked for.
func writeMembers(c runConfig, res *eval.Result) error {
	formats, err := memberFormats(c.membersFormat)
	if err != nil {
		return err
	}
	for _, f := range formats {
		var write func(*os.File) error
		switch f {
		case "csv":
			write = func(w *os.File) error { return res.WriteMembersCSV(w) }
		case "jsonl":
			write = func(w *os.File) error { return res.WriteMembersJSONL(w) }
		case "parquet":
			write = func(w *os.File) error { return res.WriteMembersParquet(w, memory.DefaultAllocator) }
		}
		if err := cli.WriteFile(c.out, "members."+f, write); err != nil {
			return err
		}
	}
	return nil
}

// publish writes the equity statistics and the suppressed output asked
// for.
func publish(c runConfig, ms []*dsl.Measure, report *metric.Report, rule cli.ReferenceRule) error {
	var pub *metric.PublishedReport
	if c.suppress > 0 {
		var err error
		if pub, err = metric.Suppress(report, cli.SuppressionOptions(ms, report, c.suppress)); err != nil {
			return err
		}
		if err := writeJSON(c.out, "published.json", pub); err != nil {
			return err
		}
		if err := writePublishedRates(c.out, pub); err != nil {
			return err
		}
	}
	if !c.equity {
		return nil
	}
	e, err := equity(report, rule)
	if err != nil {
		return err
	}
	for _, w := range e.Warnings {
		fmt.Fprintln(os.Stderr, "warning:", w)
	}
	if pub == nil {
		if err := writeJSON(c.out, "equity.json", e); err != nil {
			return err
		}
		return writeEquityCSV(c.out, e)
	}
	masked := maskEquity(e, pub)
	if err := writeJSON(c.out, "equity.json", masked); err != nil {
		return err
	}
	return writeEquityCSV(c.out, masked.ReportEquity)
}
