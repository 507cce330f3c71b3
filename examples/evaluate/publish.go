package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/caremetrics/caremetrics/examples/internal/cli"
	"github.com/caremetrics/caremetrics/metric"
)

// equity computes the equity statistics of the proportion measures, each
// with its own direction (for "best" of an inverse measure). Ratio
// measures are left out: Wilson intervals and tests of proportions do not
// apply to visits per member month.
func equity(r *metric.Report, rule cli.ReferenceRule) (*metric.ReportEquity, error) {
	if err := rule.Check(r); err != nil {
		return nil, err
	}
	out := &metric.ReportEquity{}
	for _, m := range r.Measures {
		if m.Scoring != "proportion" {
			continue
		}
		opt := metric.EquityOptions{ByStratifier: map[string]metric.Reference{}}
		for _, g := range m.Groups {
			for si := range g.Stratifiers {
				st := &g.Stratifiers[si]
				opt.ByStratifier[st.ID] = rule.For(st, m.LowerIsBetter())
			}
		}
		one := &metric.Report{Measures: []metric.MeasureResult{m}}
		e, err := one.Equity(opt)
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
