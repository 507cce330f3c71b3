package payment

import (
	"fmt"
	"strings"

	"github.com/caremetrics/caremetrics/metric"
)

// Status is the outcome of one incentive measure.
type Status uint8

// The statuses of a measure.
const (
	// NotMet: the rate reaches neither the benchmark nor an improvement
	// target.
	NotMet Status = iota
	// MetByBenchmark: the rate is at or better than the benchmark.
	MetByBenchmark
	// MetByImprovement: the rate misses the benchmark but is at or better
	// than the organisation's improvement target.
	MetByImprovement
	// NotEligible: the rate is undefined (no eligible members this year);
	// the measure is not met.
	NotEligible
)

var statusNames = []string{"not-met", "met-by-benchmark", "met-by-improvement", "not-eligible"}

// String returns the status's text form, such as "met-by-improvement".
func (s Status) String() string { return statusNames[s] }

// MarshalText implements encoding.TextMarshaler.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Met reports whether the measure earns its points.
func (s Status) Met() bool { return s == MetByBenchmark || s == MetByImprovement }

// Observed is one year's rate of a measure, from the overall row of a
// rates file.
type Observed struct {
	// Numerator and Denominator are the counts behind the rate; the
	// denominator is the eligible one (denominator − exclusions −
	// exceptions).
	Numerator   int64 `json:"numerator"`
	Denominator int64 `json:"denominator"`
	// Defined is false when the eligible denominator is 0.
	Defined bool `json:"defined"`
	// Value is numerator / denominator in the measure's unit, exact.
	Value Ratio `json:"value"`
	// Compared is the value the rules compare: Value rounded to the
	// measure's decimals, or Value itself.
	Compared Ratio `json:"compared"`
}

// Target is an improvement target by the Minnesota method, with each term
// of its arithmetic.
type Target struct {
	// Gap is how far the baseline lies from the benchmark (benchmark −
	// baseline, or baseline − benchmark for an inverse measure).
	Gap        Ratio `json:"gap"`
	GapClosure Ratio `json:"gap_closure"`
	// Step is GapClosure × Gap.
	Step  Ratio `json:"step"`
	Floor Ratio `json:"floor"`
	// Improvement is max(Step, Floor).
	Improvement Ratio `json:"improvement"`
	// Value is baseline + Improvement (baseline − Improvement when
	// inverse), exact.
	Value Ratio `json:"value"`
	// Compared is Value rounded to the measure's decimals, or Value.
	Compared Ratio `json:"compared"`
	// Arithmetic writes the computation out in one line.
	Arithmetic string `json:"arithmetic"`
}

// MeasureResult is the outcome of one incentive measure and why.
type MeasureResult struct {
	// ID, Group, Title, Unit, Inverse, Weight, Challenge and Decimals
	// are the program's, from its MeasureRule.
	ID        string `json:"id"`
	Group     string `json:"group"`
	Title     string `json:"title,omitempty"`
	Unit      Unit   `json:"unit"`
	Inverse   bool   `json:"inverse"`
	Weight    Ratio  `json:"weight"`
	Challenge bool   `json:"challenge"`
	// Decimals is the rounding of compared values, -1 for none.
	Decimals int `json:"decimals"`
	// Rate is this year's rate; Baseline the prior year's.
	Rate     Observed `json:"rate"`
	Baseline Observed `json:"baseline"`
	// Benchmark is the rule's benchmark, in Unit.
	Benchmark Ratio `json:"benchmark"`
	// Target is nil when there is none (the baseline meets the benchmark
	// or is undefined).
	Target *Target `json:"target,omitempty"`
	// Status is the outcome.
	Status Status `json:"status"`
	// Reason states the rule that decided Status, with the figures.
	Reason string `json:"reason"`
}

// Key returns "id/group".
func (r *MeasureResult) Key() string { return r.ID + "/" + r.Group }

func observe(m *MeasureRule, c metric.Counts) Observed {
	o := Observed{Numerator: c.Numerator, Denominator: c.Denominator - c.DenominatorExclusion - c.DenominatorException}
	if o.Denominator > 0 {
		o.Defined = true
		o.Value = RatioOf(o.Numerator, o.Denominator).mulInt(m.Unit.Scale())
		o.Compared = m.round(o.Value)
	}
	return o
}

// round applies the measure's decimals.
func (m *MeasureRule) round(x Ratio) Ratio {
	if m.Decimals < 0 {
		return x
	}
	return x.Round(m.Decimals)
}

// atLeast reports whether a is as good as b or better: a ≥ b, or a ≤ b
// for an inverse measure.
func (m *MeasureRule) atLeast(a, b Ratio) bool {
	if m.Inverse {
		return a.Cmp(b) <= 0
	}
	return a.Cmp(b) >= 0
}

// ops returns the comparison that meets and the one that misses.
func (m *MeasureRule) ops() (meets, misses string) {
	if m.Inverse {
		return "<=", ">"
	}
	return ">=", "<"
}

// show writes a value in the measure's unit, at its decimals when it has
// them.
func (m *MeasureRule) show(x Ratio) string {
	if m.Decimals >= 0 {
		return x.Decimal(m.Decimals) + m.Unit.suffix()
	}
	return x.String() + m.Unit.suffix()
}

// evaluateMeasure applies the measure's rules to this year's and the
// baseline year's counts.
func evaluateMeasure(m *MeasureRule, cur, base metric.Counts) MeasureResult {
	r := MeasureResult{ID: m.ID, Group: m.Group, Title: m.Title, Unit: m.Unit, Inverse: m.Inverse,
		Weight: m.Weight, Challenge: m.Challenge, Decimals: m.Decimals, Benchmark: m.Benchmark,
		Rate: observe(m, cur), Baseline: observe(m, base)}
	meets, misses := m.ops()
	var why string // why the measure cannot be met by improvement
	switch {
	case !r.Baseline.Defined:
		why = "no improvement target: the baseline rate is undefined (no eligible members)"
	case m.atLeast(r.Baseline.Compared, m.Benchmark):
		why = fmt.Sprintf("no improvement target: the baseline %s already meets the benchmark", m.show(r.Baseline.Compared))
	default:
		r.Target = minnesota(m, r.Baseline.Compared)
		switch {
		case r.Rate.Defined && r.Rate.Denominator < m.MinDenominator:
			why = fmt.Sprintf("cannot be met by improvement: this year's denominator %d is below the minimum %d", r.Rate.Denominator, m.MinDenominator)
		case r.Baseline.Denominator < m.MinDenominator:
			why = fmt.Sprintf("cannot be met by improvement: the baseline denominator %d is below the minimum %d", r.Baseline.Denominator, m.MinDenominator)
		}
	}
	rate := m.show(r.Rate.Compared)
	bench := m.show(m.Benchmark)
	switch {
	case !r.Rate.Defined:
		r.Status = NotEligible
		r.Reason = "not eligible: no eligible members this year (the rate is undefined)"
	case m.atLeast(r.Rate.Compared, m.Benchmark):
		r.Status = MetByBenchmark
		r.Reason = fmt.Sprintf("met by benchmark: %s %s %s", rate, meets, bench)
	case r.Target != nil && why == "" && m.atLeast(r.Rate.Compared, r.Target.Compared):
		r.Status = MetByImprovement
		r.Reason = fmt.Sprintf("met by improvement: %s %s target %s (benchmark %s not reached)", rate, meets, m.show(r.Target.Compared), bench)
	default:
		r.Status = NotMet
		r.Reason = fmt.Sprintf("not met: %s %s benchmark %s", rate, misses, bench)
		if why == "" {
			r.Reason += fmt.Sprintf(" and %s %s target %s", rate, misses, m.show(r.Target.Compared))
		} else {
			r.Reason += "; " + why
		}
	}
	return r
}

// minnesota computes the improvement target from the baseline by the
// Minnesota method: close GapClosure of the gap to the benchmark, but by
// no less than Floor.
func minnesota(m *MeasureRule, baseline Ratio) *Target {
	t := &Target{GapClosure: m.GapClosure, Floor: m.Floor}
	sign := "+"
	base, bench := m.show(baseline), m.show(m.Benchmark)
	gap := fmt.Sprintf("(benchmark %s − baseline %s)", bench, base)
	if m.Inverse {
		t.Gap = baseline.sub(m.Benchmark)
		sign = "−"
		gap = fmt.Sprintf("(baseline %s − benchmark %s)", base, bench)
	} else {
		t.Gap = m.Benchmark.sub(baseline)
	}
	t.Step = t.GapClosure.mul(t.Gap)
	t.Improvement = maxRatio(t.Step, t.Floor)
	if m.Inverse {
		t.Value = baseline.sub(t.Improvement)
	} else {
		t.Value = baseline.add(t.Improvement)
	}
	t.Compared = m.round(t.Value)
	var b strings.Builder
	fmt.Fprintf(&b, "baseline %s %s max(%s × %s = %s, floor %s%s) = %s%s", base, sign, t.GapClosure.Percent(), gap, t.Step, t.Floor, m.Unit.points(), t.Value, m.Unit.suffix())
	if m.Decimals >= 0 {
		fmt.Fprintf(&b, ", rounded to %s: %s", plural(m.Decimals, "decimal"), m.show(t.Compared))
	}
	t.Arithmetic = b.String()
	return t
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
