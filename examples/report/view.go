package main

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/caremetrics/caremetrics/dsl"
	"github.com/caremetrics/caremetrics/examples/internal/cli"
	"github.com/caremetrics/caremetrics/metric"
)

// options configure build.
type options struct {
	title, source string
	// threshold is the small-cell threshold of metric.Suppress; 0 turns
	// suppression off.
	threshold int64
	// sums are the sums between rows the measures declare, which
	// suppression protects.
	sums       []*dsl.Measure
	reference  cli.ReferenceRule
	benchmarks benchmarks
}

// page is everything the template shows, every number already formatted.
type page struct {
	Title, Source string
	Periods       string
	Suppression   string
	Threshold     int64
	Reference     string
	Confidence    string
	HasRatio      bool
	Measures      []*measureView
	Warnings      []string
	// Charts counts the <svg> elements: one overview per measure and one
	// per stratifier of each group.
	Charts int
}

type measureView struct {
	ID, Title, Version, Anchor string
	Period                     string
	Scoring, Basis             string
	Ratio                      bool
	Direction                  string
	Units                      string // of rates: "%" or "per 1,000"
	CountNoun                  string // what the numerator and denominator count
	NumNoun, DenNoun           string
	Overview                   *chart
	Groups                     []*groupView
	HasBenchmark               bool
}

type groupView struct {
	ID, Title, Anchor      string
	Numerator, Denominator string
	Rate, CI               string
	Suppressed             string
	Benchmark, Status      string
	Stratifiers            []*stratifierView
}

type stratifierView struct {
	ID, Label, Anchor string
	Group             string // the group's title
	Chart             *chart
	Rows              []stratumRow
	Reference         string
	Summary           string
	Notes             []string
}

type stratumRow struct {
	Label                  string
	Numerator, Denominator string
	Rate, CI               string
	Difference, Ratio, P   string
	DifferenceCI, RatioCI  string // "" when undefined
	Reference              bool
	Suppressed             string
	Significant            bool
}

// cells is one published row with the numbers the page may show.
type cells struct {
	num, den   int64
	published  bool   // numerator and denominator both shown, so the rate too
	numShown   bool   // the numerator alone may be shown
	denShown   bool   // the denominator alone may be shown
	suppressed string // why not, in words
}

// build turns a report into the page: it suppresses small cells, computes
// the equity statistics from the published strata only (statistics of a
// hidden stratum, or indices that include it, would reveal it), and lays
// out the charts.
func build(r *metric.Report, opt options) (*page, error) {
	if err := opt.reference.Check(r); err != nil {
		return nil, err
	}
	pub, err := publish(r, opt.threshold, opt.sums)
	if err != nil {
		return nil, err
	}
	p := &page{
		Title: opt.title, Source: opt.source, Threshold: opt.threshold,
		Reference:  opt.reference.Describe(),
		Confidence: fmt.Sprintf("%g%%", 100*metric.DefaultConfidence),
	}
	if opt.threshold > 0 {
		p.Suppression = fmt.Sprintf("counts from 1 to %d, and counts from which one could be derived, are suppressed (threshold %d)", opt.threshold-1, opt.threshold)
	} else {
		p.Suppression = "off: every count is shown (not for publication)"
	}
	var periods []string
	for mi := range r.Measures {
		m := &r.Measures[mi]
		if per := m.Period.String(); !slices.Contains(periods, per) {
			periods = append(periods, per)
		}
		mv, err := buildMeasure(m, &pub.Measures[mi], opt)
		if err != nil {
			return nil, err
		}
		p.HasRatio = p.HasRatio || mv.Ratio
		p.Charts++
		for _, g := range mv.Groups {
			p.Charts += len(g.Stratifiers)
		}
		p.Measures = append(p.Measures, mv)
	}
	p.Periods = strings.Join(periods, ", ")
	for _, w := range r.Warnings {
		p.Warnings = append(p.Warnings, w.String())
	}
	return p, nil
}

// publish suppresses small cells with metric.Suppress, protecting the
// sums the measures declare, or, for threshold 0, publishes every count.
func publish(r *metric.Report, threshold int64, sums []*dsl.Measure) (*metric.PublishedReport, error) {
	if threshold > 0 {
		return metric.Suppress(r, cli.SuppressionOptions(sums, r, threshold))
	}
	row := func(c metric.Counts) metric.Cells {
		n := c.Denominator - c.DenominatorExclusion - c.DenominatorException
		return metric.Cells{Numerator: metric.Cell{Value: c.Numerator}, Denominator: metric.Cell{Value: n}, Rate: metric.RateCell{Value: c.Rate()}}
	}
	out := &metric.PublishedReport{}
	for _, m := range r.Measures {
		pm := metric.PublishedMeasure{ID: m.ID, Title: m.Title, Version: m.Version, Scoring: m.Scoring, Period: m.Period}
		for _, g := range m.Groups {
			pg := metric.PublishedGroup{ID: g.ID, Title: g.Title, Cells: row(g.Counts)}
			for _, st := range g.Stratifiers {
				ps := metric.PublishedStratifier{ID: st.ID, Components: st.Components}
				for _, s := range st.Strata {
					ps.Strata = append(ps.Strata, metric.PublishedStratum{Values: s.Values, Cells: row(s.Counts)})
				}
				pg.Stratifiers = append(pg.Stratifiers, ps)
			}
			pm.Groups = append(pm.Groups, pg)
		}
		out.Measures = append(out.Measures, pm)
	}
	return out, nil
}

// cellsOf reads a published row.
func cellsOf(c metric.Cells, threshold int64) cells {
	out := cells{
		num: c.Numerator.Value, den: c.Denominator.Value,
		numShown: c.Numerator.Suppressed == metric.NotSuppressed,
		denShown: c.Denominator.Suppressed == metric.NotSuppressed,
	}
	out.published = out.numShown && out.denShown && c.Rate.Suppressed == metric.NotSuppressed
	if out.published {
		return out
	}
	switch {
	case c.Denominator.Suppressed == metric.SuppressedSmall:
		out.suppressed = fmt.Sprintf("suppressed (n < %d)", threshold)
	case c.Numerator.Suppressed == metric.SuppressedSmall:
		out.suppressed = fmt.Sprintf("suppressed (numerator < %d)", threshold)
	case c.Numerator.Suppressed == metric.SuppressedSmallComplement:
		out.suppressed = fmt.Sprintf("suppressed (n − numerator < %d)", threshold)
	case c.Numerator.Suppressed == metric.SuppressedComplementary || c.Denominator.Suppressed == metric.SuppressedComplementary:
		out.suppressed = "suppressed (complementary: protects another cell)"
	default:
		out.suppressed = "suppressed"
	}
	return out
}

// rate returns the published rate in the measure's units.
func (c cells) rate(ratio bool, mult int64) (float64, bool) {
	if !c.published || c.den <= 0 {
		return 0, false
	}
	v := float64(c.num) / float64(c.den)
	if ratio {
		v *= float64(max(mult, 1))
	}
	return v, true
}

// zCritical is the two-sided normal critical value of the page's
// confidence level, Φ⁻¹((1 + c) / 2) = √2·erf⁻¹(c).
var zCritical = math.Sqrt2 * math.Erfinv(metric.DefaultConfidence)

// wilson returns the Wilson interval of a published proportion.
func (c cells) wilson() (lo, hi float64, ok bool) {
	if !c.published || c.den <= 0 {
		return 0, 0, false
	}
	lo, hi = metric.Wilson(c.num, c.den, zCritical)
	return lo, hi, true
}

func buildMeasure(m *metric.MeasureResult, pm *metric.PublishedMeasure, opt options) (*measureView, error) {
	ratio := m.Scoring == "ratio"
	mult := max(m.Multiplier, 1)
	mv := &measureView{
		ID: m.ID, Title: m.Title, Version: m.Version, Anchor: anchor("m", m.ID),
		Period: m.Period.String(), Scoring: m.Scoring, Ratio: ratio,
		Direction: "higher is better", Basis: "member", CountNoun: "members",
		NumNoun: "numerator", DenNoun: "denominator", Units: "%",
	}
	if m.Basis == "episode" {
		mv.Basis, mv.CountNoun = "episode", "episodes"
	}
	if m.LowerIsBetter() {
		mv.Direction = "lower is better"
	}
	if ratio {
		mv.Units = "rate"
		if t := multiplierText(mult); t != "" {
			mv.Units = "rate " + t
		}
	}
	axisLabel := func() string {
		l := "rate (%)"
		if ratio {
			l = mv.Units
		}
		if m.LowerIsBetter() {
			l += " — lower is better"
		}
		return l
	}()

	// The overview: each group's rate and interval, and its benchmark.
	var pts []point
	var vals []float64
	for gi := range m.Groups {
		g, pg := &m.Groups[gi], &pm.Groups[gi]
		c := cellsOf(pg.Cells, opt.threshold)
		gv := &groupView{ID: g.ID, Title: g.Title, Anchor: anchor("m", m.ID, "g", g.ID), Suppressed: c.suppressed,
			Numerator: "—", Denominator: "—", Rate: "—", CI: "—"}
		if gv.Title == "" {
			gv.Title = g.ID
		}
		if c.numShown {
			gv.Numerator = countText(c.num)
		}
		if c.denShown {
			gv.Denominator = countText(c.den)
		}
		pt := point{label: chartLabel(gv.Title, g.ID), class: "ns", note: c.suppressed}
		rate, ok := c.rate(ratio, mult)
		if ok {
			gv.Rate = rateText(rate, ratio, mult)
			pt.rate, pt.defined = rate, true
			vals = append(vals, rate)
			pt.title = fmt.Sprintf("%s: %s", gv.Title, gv.Rate)
			if lo, hi, ok := c.wilson(); ok && !ratio {
				gv.CI = intervalText(lo, hi)
				pt.lo, pt.hi, pt.ci = lo, hi, true
				vals = append(vals, lo, hi)
				pt.title += fmt.Sprintf(" (%s CI %s)", "95%", gv.CI)
			}
		} else if c.published {
			pt.note = "no eligible " + mv.CountNoun
			pt.title = gv.Title + ": no eligible " + mv.CountNoun
		} else {
			pt.title = gv.Title + ": " + c.suppressed
		}
		if bm, ok := opt.benchmarks[benchmarkKey{m.ID, g.ID}]; ok {
			mv.HasBenchmark = true
			gv.Benchmark = rateText(bm, ratio, mult)
			pt.mark, pt.markAt, pt.markTitle = true, bm, fmt.Sprintf("%s benchmark: %s", gv.Title, gv.Benchmark)
			vals = append(vals, bm)
			if ok {
				met := rate >= bm
				if m.LowerIsBetter() {
					met = rate <= bm
				}
				gv.Status = map[bool]string{true: "meets", false: "does not meet"}[met]
				pt.title += ", benchmark " + gv.Benchmark + " (" + gv.Status + ")"
			}
		}
		pts = append(pts, pt)
		mv.Groups = append(mv.Groups, gv)
	}
	a := niceAxis(vals, !ratio)
	var labels []string
	for _, pt := range pts {
		labels = append(labels, pt.label)
	}
	a.left = labelsLeft(labels)
	desc := fmt.Sprintf("%s of %s, %s", plural(len(m.Groups), "group", "groups"), m.ID, mv.Direction)
	if !ratio {
		desc += ", each with its 95% Wilson interval"
	}
	if mv.HasBenchmark {
		desc += "; a short vertical mark is a group's benchmark"
	}
	mv.Overview = layout(anchor("chart", m.ID), fmt.Sprintf("%s: rate of each group", titleOr(m)), desc+".", axisLabel, a, pts, nil)

	for gi := range m.Groups {
		if err := buildStrata(m, &m.Groups[gi], &pm.Groups[gi], mv, mv.Groups[gi], opt, axisLabel); err != nil {
			return nil, err
		}
	}
	return mv, nil
}

// chartLabel is a group's title on a chart, or its id when the title is
// too long for a row label (the table beside has the title).
func chartLabel(title, id string) string {
	if len([]rune(title)) > 22 {
		return id
	}
	return title
}

func titleOr(m *metric.MeasureResult) string {
	if m.Title != "" {
		return m.Title
	}
	return m.ID
}

// stratumStats holds one published stratum's statistics.
type stratumStats struct {
	c       cells
	eq      *metric.StratumEquity
	lo, hi  float64
	ci      bool
	rate    float64
	defined bool
}

// buildStrata lays out the stratifiers of one group, all on one axis so
// that their charts compare at a glance.
func buildStrata(m *metric.MeasureResult, g *metric.Group, pg *metric.PublishedGroup, mv *measureView, gv *groupView, opt options, axisLabel string) error {
	ratio := mv.Ratio
	mult := max(m.Multiplier, 1)
	total := cellsOf(pg.Cells, opt.threshold)
	overall, overallOK := total.rate(ratio, mult)
	bm, hasBM := opt.benchmarks[benchmarkKey{m.ID, g.ID}]

	type built struct {
		view   *stratifierView
		stats  []stratumStats
		refVal float64
		refOK  bool
		eq     *metric.StratifierEquity
	}
	var all []built
	vals := []float64{}
	if overallOK {
		vals = append(vals, overall)
	}
	if hasBM {
		vals = append(vals, bm)
	}
	for si := range g.Stratifiers {
		st, ps := &g.Stratifiers[si], &pg.Stratifiers[si]
		label := st.ID
		if len(st.Components) > 1 {
			label = strings.Join(st.Components, " × ")
		}
		sv := &stratifierView{ID: st.ID, Label: label, Group: gv.Title, Anchor: anchor("m", m.ID, "g", g.ID, "s", st.ID)}
		b := built{view: sv}
		// The published strata, as counts Disparities can read: the
		// rate's divisor as the denominator.
		published := metric.Stratifier{ID: st.ID, Components: st.Components}
		for k := range ps.Strata {
			c := cellsOf(ps.Strata[k].Cells, opt.threshold)
			s := stratumStats{c: c}
			if s.rate, s.defined = c.rate(ratio, mult); s.defined {
				vals = append(vals, s.rate)
				if !ratio {
					s.lo, s.hi, s.ci = c.wilson()
					vals = append(vals, s.lo, s.hi)
				}
			}
			if c.published {
				published.Strata = append(published.Strata, metric.Stratum{Values: ps.Strata[k].Values, Counts: metric.Counts{Denominator: c.den, Numerator: c.num}})
			}
			b.stats = append(b.stats, s)
		}
		ref := opt.reference.For(st, m.LowerIsBetter())
		var totalCounts metric.Counts
		if total.published {
			totalCounts = metric.Counts{Denominator: total.den, Numerator: total.num}
		}
		switch {
		case ref.Kind == metric.ReferenceOverall && !total.published:
			sv.Notes = append(sv.Notes, "The group's overall rate is suppressed, so the strata are not compared with it.")
		default:
			eq, err := metric.Disparities(totalCounts, &published, metric.EquityOptions{Reference: ref})
			if err != nil {
				sv.Notes = append(sv.Notes, "No comparisons: "+err.Error()+".")
				break
			}
			b.eq = &eq
			for k := range b.stats {
				b.stats[k].eq = eq.Stratum(ps.Strata[k].Values...)
			}
			if eq.ReferenceRate.Defined {
				b.refVal, b.refOK = eq.ReferenceRate.Value, true
				if ratio {
					b.refVal *= float64(mult)
				}
				vals = append(vals, b.refVal)
			}
		}
		sv.Reference = referenceText(st, ref, b.eq, ps, ratio, mult, opt.threshold)
		all = append(all, b)
	}
	a := niceAxis(vals, !ratio)
	var labels []string
	for _, st := range g.Stratifiers {
		for _, s := range st.Strata {
			labels = append(labels, s.Label())
		}
	}
	a.left = labelsLeft(labels)

	for si, b := range all {
		st, ps, sv := &g.Stratifiers[si], &pg.Stratifiers[si], b.view
		var pts []point
		suppressed := 0
		for k, s := range b.stats {
			label := strings.Join(ps.Strata[k].Values, " × ")
			row := stratumRow{Label: label, Numerator: "—", Denominator: "—", Rate: "—", CI: "—", Difference: "—", Ratio: "—", P: "—", Suppressed: s.c.suppressed}
			if s.c.numShown {
				row.Numerator = countText(s.c.num)
			}
			if s.c.denShown {
				row.Denominator = countText(s.c.den)
			}
			pt := point{label: label, class: "ns", note: s.c.suppressed}
			switch {
			case s.c.suppressed != "":
				suppressed++
				pt.title = label + ": " + s.c.suppressed
			case !s.defined:
				pt.note = "no eligible " + mv.CountNoun
				pt.title = label + ": no eligible " + mv.CountNoun
			default:
				row.Rate = rateText(s.rate, ratio, mult)
				pt.rate, pt.defined = s.rate, true
				pt.title = label + ": " + row.Rate
				if s.ci {
					row.CI = intervalText(s.lo, s.hi)
					pt.lo, pt.hi, pt.ci = s.lo, s.hi, true
					pt.title += " (95% CI " + row.CI + ")"
				}
			}
			if e := s.eq; e != nil {
				if e.Reference {
					row.Reference, pt.class = true, "ref"
					pt.title += ", the reference"
				}
				if cmp := e.Comparison; cmp != nil {
					fillComparison(&row, cmp, ratio, mult)
					if row.Significant {
						pt.class = "sig"
					}
					if row.Difference != "—" {
						pt.title += ", difference " + row.Difference
					}
					if row.P != "—" {
						pt.title += ", p " + row.P
					}
				}
			}
			sv.Rows = append(sv.Rows, row)
			pts = append(pts, pt)
		}
		var lines []vline
		if b.refOK && (b.eq == nil || b.eq.Reference.Kind != metric.ReferenceOverall) {
			lines = append(lines, vline{at: b.refVal, class: "reference", label: "reference " + strings.Join(b.eq.ReferenceValues, " × ") + " " + rateText(b.refVal, ratio, mult)})
		}
		if overallOK {
			l := "overall " + rateText(overall, ratio, mult)
			if b.eq != nil && b.eq.Reference.Kind == metric.ReferenceOverall {
				l += " (the reference)"
			}
			lines = append(lines, vline{at: overall, class: "overall", label: l})
		}
		if hasBM {
			lines = append(lines, vline{at: bm, class: "benchmark", label: "benchmark " + rateText(bm, ratio, mult)})
		}
		if b.eq != nil {
			sv.Summary = summaryText(b.eq, ratio)
		}
		title := fmt.Sprintf("%s, %s, by %s", m.ID, gv.Title, sv.Label)
		desc := "Dot plot of " + plural(len(pts), "stratum", "strata")
		if !ratio {
			desc += " with 95% Wilson intervals"
		}
		if suppressed > 0 {
			desc += fmt.Sprintf("; %d suppressed", suppressed)
		}
		for _, l := range lines {
			desc += "; " + l.label
		}
		sv.Chart = layout(anchor("chart", m.ID, g.ID, st.ID), title, desc+".", axisLabel, a, pts, lines)
		gv.Stratifiers = append(gv.Stratifiers, sv)
	}
	return nil
}

// fillComparison formats a stratum's comparison with the reference; a
// ratio measure's rates have no interval or test (see the page's notes).
func fillComparison(row *stratumRow, cmp *metric.Comparison, ratio bool, mult int64) {
	if cmp.Difference.Defined {
		if ratio {
			row.Difference = signed(cmp.Difference.Value*float64(mult), 1)
		} else {
			row.Difference = signed(100*cmp.Difference.Value, 1) + " pp"
			if iv := cmp.DifferenceInterval; iv.Defined {
				row.DifferenceCI = signed(100*iv.Low, 1) + " to " + signed(100*iv.High, 1)
			}
		}
	}
	if cmp.Ratio.Defined {
		row.Ratio = fmt.Sprintf("%.2f", cmp.Ratio.Value)
		if iv := cmp.RatioInterval; iv.Defined && !ratio {
			row.RatioCI = fmt.Sprintf("%.2f–%.2f", iv.Low, iv.High)
		}
	}
	if cmp.P.Defined && !ratio {
		row.P = pText(cmp.P.Value)
		row.Significant = cmp.P.Value < 0.05
	}
}

// referenceText says what the stratifier's strata were compared with.
func referenceText(st *metric.Stratifier, ref metric.Reference, eq *metric.StratifierEquity, ps *metric.PublishedStratifier, ratio bool, mult int64, threshold int64) string {
	if eq == nil {
		return "none"
	}
	rate := func() string {
		v := eq.ReferenceRate.Value
		if ratio {
			v *= float64(mult)
		}
		return rateText(v, ratio, mult)
	}
	switch {
	case ref.Kind == metric.ReferenceOverall:
		if !eq.ReferenceRate.Defined {
			return "the group's overall rate, which is undefined"
		}
		return "the group's overall rate, " + rate() + " (each stratum against the rest of the group)"
	case eq.ReferenceValues != nil && eq.ReferenceRate.Defined:
		how := map[metric.ReferenceKind]string{
			metric.ReferenceLargest: "the largest published denominator",
			metric.ReferenceBest:    "the best published rate",
			metric.ReferenceNamed:   "named",
		}[ref.Kind]
		return fmt.Sprintf("%s (%s), %s", strings.Join(eq.ReferenceValues, " × "), how, rate())
	case ref.Kind == metric.ReferenceNamed:
		name := strings.Join(ref.Values, " × ")
		if st.Stratum(ref.Values...) == nil {
			return "none: this group has no stratum " + name
		}
		for _, s := range ps.Strata {
			if slices.Equal(s.Values, ref.Values) && threshold > 0 && (s.Rate.Suppressed != metric.NotSuppressed) {
				return "none: the stratum " + name + " is suppressed"
			}
		}
		return "none: the stratum " + name + " has no rate"
	}
	return "none: no published stratum has a rate"
}

// summaryText formats the stratifier's indices of disparity.
func summaryText(eq *metric.StratifierEquity, ratio bool) string {
	var parts []string
	if eq.IndexOfDisparity.Defined {
		parts = append(parts, fmt.Sprintf("index of disparity %.1f%%", eq.IndexOfDisparity.Value))
	}
	if eq.WeightedIndexOfDisparity.Defined {
		parts = append(parts, fmt.Sprintf("weighted %.1f%%", eq.WeightedIndexOfDisparity.Value))
	}
	if eq.BetweenGroupVariance.Defined && !ratio && len(eq.Strata) > 1 {
		parts = append(parts, fmt.Sprintf("between-group variance %.2f pp²", 1e4*eq.BetweenGroupVariance.Value))
	}
	if len(parts) == 0 {
		return ""
	}
	return strings.ToUpper(parts[0][:1]) + strings.Join(parts, "; ")[1:] + " (of the published strata)."
}

// plural formats a count of things: "1 group", "2 groups".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// anchor joins parts into an HTML id of letters, digits, - and _.
func anchor(parts ...string) string {
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			b.WriteByte('-')
		}
		for _, r := range strings.ToLower(p) {
			switch {
			case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_':
				b.WriteRune(r)
			default:
				b.WriteByte('_')
			}
		}
	}
	return b.String()
}
