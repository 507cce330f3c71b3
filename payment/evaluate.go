package payment

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/caremetrics/caremetrics/metric"
)

// Inputs are one organisation's figures for a program year.
type Inputs struct {
	// CCO names the organisation in results (and in Allocate).
	CCO string
	// Rates are this year's rates, Baseline the prior year's; RatesFile
	// and BaselineFile name their files in errors.
	Rates, Baseline         *metric.Report
	RatesFile, BaselineFile string
	// MemberMonths is the organisation's member months in the year (see
	// MemberMonths); it must be more than 0.
	MemberMonths int64
	// Capitation is the year's capitation payments; 0 means the program's
	// PMPM × MemberMonths.
	Capitation Cents
	// ActualCost is the year's actual total cost of care, required when
	// the program has shared savings.
	ActualCost *Cents
}

// Result is the outcome of a program for one organisation and year: every
// figure with the rule that produced it.
type Result struct {
	// Program, Year, CCO and MemberMonths say whose result it is.
	Program      string `json:"program"`
	Year         int    `json:"year"`
	CCO          string `json:"cco,omitempty"`
	MemberMonths int64  `json:"member_months"`
	// Measures are in program order.
	Measures []MeasureResult `json:"measures"`
	// Quality is the quality score: points met over points possible.
	Quality QualityScore `json:"quality"`
	// Pool is the quality pool.
	Pool PoolResult `json:"quality_pool"`
	// SharedSavings is nil when the program has none.
	SharedSavings *SavingsResult `json:"shared_savings,omitempty"`
}

// QualityScore counts the measures met.
type QualityScore struct {
	// MeasuresMet of Measures; PointsMet of Points (their weights).
	MeasuresMet int   `json:"measures_met"`
	Measures    int   `json:"measures"`
	PointsMet   Ratio `json:"points_met"`
	Points      Ratio `json:"points"`
	// Score is PointsMet / Points.
	Score Ratio `json:"score"`
}

// PoolResult is the organisation's quality pool: what it could earn, the
// share it earned, and what it leaves to the challenge pool.
type PoolResult struct {
	// Capitation is the year's capitation payments, and CapitationBasis
	// how they were found.
	Capitation      Cents  `json:"capitation"`
	CapitationBasis string `json:"capitation_basis"`
	// Rate is the pool's share of capitation; Pool = Rate × Capitation.
	Rate Ratio `json:"rate"`
	Pool Cents `json:"pool"`
	// Method is the program's earn method.
	Method EarnMethod `json:"method"`
	// Threshold is the highest threshold reached (EarnThresholds), nil
	// when none is.
	Threshold *Threshold `json:"threshold,omitempty"`
	// Share of the pool earned; Earned = Share × Pool.
	Share  Ratio `json:"share"`
	Earned Cents `json:"earned"`
	// Unearned = Pool − Earned, left to the challenge pool.
	Unearned Cents `json:"unearned"`
	// ChallengeMeasures lists the program's challenge measures (id/group),
	// ChallengeMet those the organisation met.
	ChallengeMeasures []string `json:"challenge_measures,omitempty"`
	ChallengeMet      []string `json:"challenge_met,omitempty"`
	// Steps write out the arithmetic, one line a step.
	Steps []string `json:"steps"`
}

// Evaluate applies the program to one organisation's rates, member months
// and costs. Every measure of the program must have an overall row in
// both rates files; missing rows are all reported, with the file, the
// measure and group, and the program line that asks for them.
//
// Money is rounded to the cent, half away from zero, at each step the
// result lists; rates, targets and shares are exact.
func (p *Program) Evaluate(in Inputs) (*Result, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	if in.MemberMonths <= 0 {
		return nil, fmt.Errorf("payment: member months %d: want more than 0", in.MemberMonths)
	}
	if in.Rates == nil || in.Baseline == nil {
		return nil, errors.New("payment: Evaluate needs this year's rates and the baseline year's")
	}
	if p.SharedSavings != nil && in.ActualCost == nil {
		return nil, fmt.Errorf("payment: program %q has shared savings: supply the year's actual total cost of care", p.Name)
	}
	res := &Result{Program: p.Name, Year: p.Year, CCO: in.CCO, MemberMonths: in.MemberMonths}
	var errs []error
	for i := range p.Measures {
		m := &p.Measures[i]
		cur, err1 := overall(in.Rates, in.RatesFile, "this year's", m)
		base, err2 := overall(in.Baseline, in.BaselineFile, "the baseline", m)
		if err1 != nil || err2 != nil {
			errs = append(errs, err1, err2)
			continue
		}
		res.Measures = append(res.Measures, evaluateMeasure(m, cur, base))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	res.Quality = p.score(res.Measures)
	var err error
	if res.Pool, err = p.pool(in, res); err != nil {
		return nil, err
	}
	if p.SharedSavings != nil {
		s, err := p.SharedSavings.apply(p.PMPM, in.MemberMonths, *in.ActualCost, res.Quality.Score)
		if err != nil {
			return nil, err
		}
		res.SharedSavings = s
	}
	return res, nil
}

// overall returns the counts of the overall row of m in rep.
func overall(rep *metric.Report, file, which string, m *MeasureRule) (metric.Counts, error) {
	if file == "" {
		file = which + " rates"
	}
	mr := rep.Measure(m.ID)
	if mr == nil {
		ids := make([]string, len(rep.Measures))
		for i := range rep.Measures {
			ids[i] = rep.Measures[i].ID
		}
		return metric.Counts{}, fmt.Errorf("%s: no rows for measure %q (asked for at %s)%s", file, m.ID, m.Pos, hint(m.ID, ids, "measures"))
	}
	g := mr.Group(m.Group)
	if g == nil {
		ids := make([]string, len(mr.Groups))
		for i := range mr.Groups {
			ids[i] = mr.Groups[i].ID
		}
		return metric.Counts{}, fmt.Errorf("%s: no row for measure %q group %q (asked for at %s)%s", file, m.ID, m.Group, m.Pos, hint(m.Group, ids, "groups of "+m.ID))
	}
	if mr.Multiplier > 1 && mr.Multiplier != m.Unit.Scale() {
		return metric.Counts{}, fmt.Errorf("%s: measure %q is a ratio per %s, but the program (%s) gives it unit %s (× %s): want a unit of the same scale", file, m.ID, groupDigits(mr.Multiplier), m.Pos, m.Unit, groupDigits(m.Unit.Scale()))
	}
	return g.Counts, nil
}

func hint(s string, have []string, what string) string {
	if near := nearest(s, have); near != "" {
		return fmt.Sprintf("; did you mean %q?", near)
	}
	if len(have) == 0 {
		return "; the file has no " + what
	}
	return fmt.Sprintf("; the file's %s: %s", what, strings.Join(have, ", "))
}

func (p *Program) score(ms []MeasureResult) QualityScore {
	q := QualityScore{Measures: len(ms), Points: p.pointsTotal()}
	for i := range ms {
		if ms[i].Status.Met() {
			q.MeasuresMet++
			q.PointsMet = q.PointsMet.add(ms[i].Weight)
		}
	}
	q.Score = q.PointsMet.quo(q.Points)
	return q
}

// share returns the share of the pool that points earn under the rule,
// with the threshold reached, and the step that explains it.
func (r *PoolRule) share(q QualityScore) (Ratio, *Threshold, string) {
	if r.Method == EarnProportional {
		return q.Score, nil, fmt.Sprintf("share earned (proportional): %s of %s points = %s", q.PointsMet, q.Points, q.Score.Percent())
	}
	var reached *Threshold
	for i := range r.Thresholds {
		if q.PointsMet.Cmp(r.Thresholds[i].Points) >= 0 {
			reached = &r.Thresholds[i]
		}
	}
	if reached == nil {
		lowest := "none"
		if len(r.Thresholds) > 0 {
			lowest = r.Thresholds[0].Points.String()
		}
		return Ratio{}, nil, fmt.Sprintf("share earned (thresholds): %s points reach no threshold (the lowest is %s points) = 0%%", q.PointsMet, lowest)
	}
	t := *reached
	return t.Share, &t, fmt.Sprintf("share earned (thresholds): %s points reach the threshold of %s points = %s", q.PointsMet, t.Points, t.Share.Percent())
}

func (p *Program) pool(in Inputs, res *Result) (PoolResult, error) {
	r := PoolResult{Rate: p.Pool.Rate, Method: p.Pool.Method, Capitation: in.Capitation}
	switch {
	case in.Capitation < 0:
		return r, fmt.Errorf("payment: capitation %s: want 0 or more", in.Capitation)
	case in.Capitation > 0:
		r.CapitationBasis = "supplied"
	case p.PMPM > 0:
		c, err := centsOf(p.PMPM.ratio().mulInt(in.MemberMonths))
		if err != nil {
			return r, err
		}
		r.Capitation = c
		r.CapitationBasis = fmt.Sprintf("PMPM %s × %s member months", p.PMPM, groupDigits(in.MemberMonths))
	default:
		return r, fmt.Errorf("payment: program %q has no PMPM: supply the year's capitation payments", p.Name)
	}
	var err error
	if r.Pool, err = r.Capitation.Times(r.Rate); err != nil {
		return r, err
	}
	q := res.Quality
	var step string
	r.Share, r.Threshold, step = p.Pool.share(q)
	if r.Earned, err = r.Pool.Times(r.Share); err != nil {
		return r, err
	}
	r.Unearned = r.Pool - r.Earned
	r.Steps = []string{
		fmt.Sprintf("capitation payments: %s = %s", r.CapitationBasis, r.Capitation),
		fmt.Sprintf("quality pool: %s × %s = %s%s", r.Rate.Percent(), r.Capitation, r.Pool, roundNote(r.Capitation, r.Rate)),
		fmt.Sprintf("measures met: %d of %d, %s of %s points", q.MeasuresMet, q.Measures, q.PointsMet, q.Points),
		step,
		fmt.Sprintf("earned: %s × %s = %s%s", r.Share.Percent(), r.Pool, r.Earned, roundNote(r.Pool, r.Share)),
		fmt.Sprintf("unearned, to the challenge pool: %s − %s = %s", r.Pool, r.Earned, r.Unearned),
	}
	for i := range res.Measures {
		m := &res.Measures[i]
		if m.Challenge {
			r.ChallengeMeasures = append(r.ChallengeMeasures, m.Key())
			if m.Status.Met() {
				r.ChallengeMet = append(r.ChallengeMet, m.Key())
			}
		}
	}
	if len(r.ChallengeMeasures) > 0 {
		met := "none"
		if len(r.ChallengeMet) > 0 {
			met = strings.Join(r.ChallengeMet, ", ")
		}
		r.Steps = append(r.Steps, fmt.Sprintf("challenge measures met: %s (%d of %d); the challenge pool is shared across organisations (Allocate)", met, len(r.ChallengeMet), len(r.ChallengeMeasures)))
	}
	return r, nil
}

// roundNote says when c × r was rounded to the cent, with the exact
// product in dollars.
func roundNote(c Cents, r Ratio) string {
	x := c.ratio().mul(r)
	if x.exactPlaces() == 0 {
		return ""
	}
	exact := x.mul(RatioOf(1, 100)).String()
	approx := strings.HasPrefix(exact, "≈")
	exact = strings.TrimPrefix(exact, "≈")
	sign := ""
	if strings.HasPrefix(exact, "-") {
		sign, exact = "-", exact[1:]
	}
	whole, frac, _ := strings.Cut(exact, ".")
	w, _ := strconv.ParseInt(whole, 10, 64) // whole dollars of an amount in cents: it fits
	out := sign + "$" + groupDigits(w) + "." + frac
	if approx {
		out = "≈" + out
	}
	return " (" + out + " rounded half away from zero to the cent)"
}

// groupDigits writes n with thousands separators.
func groupDigits(n int64) string {
	s := Cents(n * 100).String()
	s = strings.TrimPrefix(strings.TrimPrefix(s, "-"), "$")
	s = strings.TrimSuffix(s, ".00")
	if n < 0 {
		return "-" + s
	}
	return s
}

// challengeMet reports whether the result met the challenge measure key.
func (r *Result) challengeMet(key string) bool { return slices.Contains(r.Pool.ChallengeMet, key) }
