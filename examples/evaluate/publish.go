package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/caremetrics/caremetrics/dsl"
	"github.com/caremetrics/caremetrics/examples/internal/cli"
	"github.com/caremetrics/caremetrics/metric"
)

// parseReference reads -reference: largest, best or overall for every
// stratifier, optionally followed by stratifier=value pairs naming the
// reference stratum of those stratifiers ("largest,race=white").
func parseReference(s string) (metric.EquityOptions, error) {
	var opt metric.EquityOptions
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if strat, value, ok := strings.Cut(part, "="); ok {
			if strat == "" || value == "" {
				return opt, fmt.Errorf("-reference %q: want stratifier=value", part)
			}
			if opt.ByStratifier == nil {
				opt.ByStratifier = map[string]metric.Reference{}
			}
			opt.ByStratifier[strat] = metric.Reference{Kind: metric.ReferenceNamed, Values: strings.Split(value, "|")}
			continue
		}
		switch part {
		case "", "largest":
			opt.Reference.Kind = metric.ReferenceLargest
		case "best":
			opt.Reference.Kind = metric.ReferenceBest
		case "overall":
			opt.Reference.Kind = metric.ReferenceOverall
		default:
			return opt, fmt.Errorf("-reference %q: want largest, best, overall or stratifier=value", part)
		}
	}
	return opt, nil
}

// equity computes the equity statistics of the proportion measures, each
// with its own direction (for "best" of an inverse measure). Ratio
// measures are left out: Wilson intervals and tests of proportions do not
// apply to visits per member month.
func equity(r *metric.Report, opt metric.EquityOptions) (*metric.ReportEquity, error) {
	out := &metric.ReportEquity{}
	for _, m := range r.Measures {
		if m.Scoring != "proportion" {
			continue
		}
		o := opt
		o.Reference.LowerIsBetter = m.LowerIsBetter()
		if o.ByStratifier != nil {
			o.ByStratifier = map[string]metric.Reference{}
			for k, v := range opt.ByStratifier {
				v.LowerIsBetter = m.LowerIsBetter()
				o.ByStratifier[k] = v
			}
		}
		one := &metric.Report{Measures: []metric.MeasureResult{m}}
		e, err := one.Equity(o)
		if err != nil {
			return nil, err
		}
		out.Confidence = e.Confidence
		out.Measures = append(out.Measures, e.Measures...)
		out.Warnings = append(out.Warnings, e.Warnings...)
	}
	return out, nil
}

// suppressedStratum names a stratum whose equity statistics are withheld
// because its published counts are suppressed.
type suppressedStratum struct {
	Measure    string   `json:"measure"`
	Group      string   `json:"group"`
	Stratifier string   `json:"stratifier"`
	Values     []string `json:"values"`
}

// publishedEquity is equity.json with suppression: the statistics of a
// suppressed stratum would reveal its counts, so they are removed and the
// stratum listed.
type publishedEquity struct {
	*metric.ReportEquity
	Threshold  int64               `json:"suppression_threshold,omitempty"`
	Suppressed []suppressedStratum `json:"suppressed_strata,omitempty"`
}

// maskEquity removes from e the strata whose numerator or denominator pub
// suppresses.
func maskEquity(e *metric.ReportEquity, pub *metric.PublishedReport) publishedEquity {
	out := publishedEquity{ReportEquity: e, Threshold: pub.Threshold}
	hidden := map[string]bool{}
	for _, m := range pub.Measures {
		for _, g := range m.Groups {
			for _, s := range g.Stratifiers {
				for _, st := range s.Strata {
					if st.Numerator.Suppressed != metric.NotSuppressed || st.Denominator.Suppressed != metric.NotSuppressed {
						hidden[strings.Join(append([]string{m.ID, g.ID, s.ID}, st.Values...), "\x00")] = true
					}
				}
			}
		}
	}
	for mi := range e.Measures {
		m := &e.Measures[mi]
		for gi := range m.Groups {
			g := &m.Groups[gi]
			for si := range g.Stratifiers {
				s := &g.Stratifiers[si]
				s.Strata = slices.DeleteFunc(s.Strata, func(st metric.StratumEquity) bool {
					if !hidden[strings.Join(append([]string{m.ID, g.ID, s.Stratifier}, st.Values...), "\x00")] {
						return false
					}
					out.Suppressed = append(out.Suppressed, suppressedStratum{m.ID, g.ID, s.Stratifier, st.Values})
					return true
				})
			}
		}
	}
	return out
}

// suppression gathers the sums the measures declare between their rows.
func suppression(ms []*dsl.Measure, threshold int64) metric.SuppressionOptions {
	opt := metric.SuppressionOptions{Threshold: threshold}
	for _, m := range ms {
		opt.GroupSums = append(opt.GroupSums, m.GroupSums()...)
		opt.Relations = append(opt.Relations, m.Relations()...)
	}
	return opt
}

func writeJSON(dir, name string, v any) error {
	return cli.WriteFile(dir, name, func(f *os.File) error {
		enc := json.NewEncoder(f)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	})
}

// equityCSVHeader is the header of equity.csv.
var equityCSVHeader = []string{"measure", "group", "stratifier", "stratum", "numerator", "denominator", "rate", "ci_low", "ci_high",
	"reference", "difference", "difference_low", "difference_high", "ratio", "ratio_low", "ratio_high", "p_value"}

// writeEquityCSV writes one row per stratum; undefined statistics are
// empty fields.
func writeEquityCSV(dir string, e *metric.ReportEquity) error {
	return cli.WriteFile(dir, "equity.csv", func(f *os.File) error {
		w := csv.NewWriter(f)
		if err := w.Write(equityCSVHeader); err != nil {
			return err
		}
		for _, m := range e.Measures {
			for _, g := range m.Groups {
				for _, s := range g.Stratifiers {
					for _, st := range s.Strata {
						row := []string{m.ID, g.ID, s.Stratifier, strings.Join(st.Values, "|"),
							strconv.FormatInt(st.Numerator, 10), strconv.FormatInt(st.Denominator, 10), st.Rate.String(),
							low(st.Interval), high(st.Interval), "", "", "", "", "", "", "", ""}
						if st.Reference {
							row[9] = "reference"
						}
						if c := st.Comparison; c != nil {
							copy(row[10:], []string{c.Difference.String(), low(c.DifferenceInterval), high(c.DifferenceInterval),
								c.Ratio.String(), low(c.RatioInterval), high(c.RatioInterval), c.P.String()})
						}
						if err := w.Write(row); err != nil {
							return err
						}
					}
				}
			}
		}
		w.Flush()
		return w.Error()
	})
}

// publishedRatesHeader is the header of published-rates.csv.
var publishedRatesHeader = []string{"measure", "group", "stratifier", "stratum", "numerator", "denominator", "rate", "suppressed"}

// writePublishedRates writes the suppressed rates: a suppressed cell is an
// empty field, and the suppressed column gives the reasons.
func writePublishedRates(dir string, pub *metric.PublishedReport) error {
	return cli.WriteFile(dir, "published-rates.csv", func(f *os.File) error {
		w := csv.NewWriter(f)
		if err := w.Write(publishedRatesHeader); err != nil {
			return err
		}
		row := func(m, g, s, st string, c metric.Cells) error {
			var reasons []string
			cell := func(name string, x metric.Cell) string {
				if x.Suppressed != metric.NotSuppressed {
					reasons = append(reasons, name+": "+x.Suppressed.String())
					return ""
				}
				return strconv.FormatInt(x.Value, 10)
			}
			num, den := cell("numerator", c.Numerator), cell("denominator", c.Denominator)
			rate := c.Rate.Value.String()
			if c.Rate.Suppressed != metric.NotSuppressed {
				rate = ""
			}
			return w.Write([]string{m, g, s, st, num, den, rate, strings.Join(reasons, "; ")})
		}
		for _, m := range pub.Measures {
			for _, g := range m.Groups {
				if err := row(m.ID, g.ID, "", "", g.Cells); err != nil {
					return err
				}
				for _, s := range g.Stratifiers {
					for _, st := range s.Strata {
						if err := row(m.ID, g.ID, s.ID, strings.Join(st.Values, "|"), st.Cells); err != nil {
							return err
						}
					}
				}
			}
		}
		w.Flush()
		return w.Error()
	})
}

// low and high print an interval's ends, empty when it is undefined.
func low(iv metric.Interval) string  { return bound(iv, iv.Low) }
func high(iv metric.Interval) string { return bound(iv, iv.High) }

func bound(iv metric.Interval, v float64) string {
	if !iv.Defined {
		return ""
	}
	return strconv.FormatFloat(v, 'g', 10, 64)
}
