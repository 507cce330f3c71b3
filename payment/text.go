package payment

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// WriteText writes the result for a reader checking it by hand: each
// measure with its rates, benchmark, target arithmetic and the rule that
// decided it; then the quality score, the quality pool and shared savings,
// step by step.
func (r *Result) WriteText(w io.Writer) error {
	b := bufio.NewWriter(w)
	fmt.Fprintf(b, "%s, measurement year %d\n", r.Program, r.Year)
	if r.CCO != "" {
		fmt.Fprintf(b, "organisation: %s\n", r.CCO)
	}
	fmt.Fprintf(b, "member months: %s\n\nmeasures\n", groupDigits(r.MemberMonths))
	for i := range r.Measures {
		m := &r.Measures[i]
		title := ""
		if m.Title != "" {
			title = " — " + m.Title
		}
		var tags []string
		tags = append(tags, m.Unit.String())
		if m.Inverse {
			tags = append(tags, "inverse: lower is better")
		}
		tags = append(tags, "weight "+m.Weight.String())
		if m.Challenge {
			tags = append(tags, "challenge")
		}
		fmt.Fprintf(b, "  %s%s (%s)\n", m.Key(), title, strings.Join(tags, ", "))
		fmt.Fprintf(b, "    rate:      %s\n", showObserved(m, m.Rate))
		fmt.Fprintf(b, "    baseline:  %s\n", showObserved(m, m.Baseline))
		fmt.Fprintf(b, "    benchmark: %s%s\n", m.Benchmark, m.Unit.suffix())
		if m.Target != nil {
			fmt.Fprintf(b, "    target:    %s\n", m.Target.Arithmetic)
		}
		fmt.Fprintf(b, "    %s\n", m.Reason)
	}
	q := r.Quality
	fmt.Fprintf(b, "\nquality score: %d of %d measures met, %s of %s points = %s\n", q.MeasuresMet, q.Measures, q.PointsMet, q.Points, q.Score.Percent())
	fmt.Fprintf(b, "\nquality pool\n")
	writeSteps(b, r.Pool.Steps)
	if s := r.SharedSavings; s != nil {
		fmt.Fprintf(b, "\nshared savings and risk\n")
		writeSteps(b, s.Steps)
	}
	return b.Flush()
}

// WriteText writes the allocation step by step, then a table of each
// organisation's figures.
func (a *Allocation) WriteText(w io.Writer) error {
	b := bufio.NewWriter(w)
	fmt.Fprintf(b, "%s, measurement year %d: allocation across %d organisations, %s member months\n", a.Program, a.Year, len(a.CCOs), groupDigits(a.MemberMonths))
	writeSteps(b, a.Steps)
	fmt.Fprintf(b, "\n  %-16s %12s %16s %8s %16s %16s %16s\n", "organisation", "member months", "maximum", "share", "earned", "challenge", "total")
	for _, c := range a.CCOs {
		fmt.Fprintf(b, "  %-16s %12s %16s %8s %16s %16s %16s\n", c.CCO, groupDigits(c.MemberMonths), c.Max, c.Share.Percent(), c.Earned, c.Challenge, c.Total)
	}
	fmt.Fprintf(b, "  undistributed: %s\n", a.Undistributed)
	return b.Flush()
}

func writeSteps(b *bufio.Writer, steps []string) {
	for _, s := range steps {
		fmt.Fprintf(b, "  %s\n", s)
	}
}

// showObserved writes a year's rate as "numerator / denominator = value",
// with the compared value when the measure rounds.
func showObserved(m *MeasureResult, o Observed) string {
	if !o.Defined {
		return fmt.Sprintf("%d / %d: undefined", o.Numerator, o.Denominator)
	}
	v := o.Value.String()
	op := "="
	if strings.HasPrefix(v, "≈") {
		op, v = "≈", strings.TrimPrefix(v, "≈")
	}
	scale := ""
	if s := m.Unit.Scale(); s != 1 {
		scale = " × " + groupDigits(s)
	}
	out := fmt.Sprintf("%d / %d%s %s %s%s", o.Numerator, o.Denominator, scale, op, v, m.Unit.suffix())
	if m.Decimals >= 0 {
		out += fmt.Sprintf(", rounded to %s: %s%s", plural(m.Decimals, "decimal"), o.Compared.Decimal(m.Decimals), m.Unit.suffix())
	}
	return out
}
