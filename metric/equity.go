package metric

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// This file computes equity statistics for the strata of a stratifier:
// each stratum's rate with a Wilson score interval, its difference and
// ratio against a reference (a stratum or the group's overall rate) with
// intervals and a two-sided test, and summary indices of disparity.
//
// The normal distribution comes from the standard library, math.Erfc for
// tail probabilities and math.Erfinv (Wichura's AS241 approximation) for
// the critical value of a confidence level, so that package metric keeps
// no dependencies. The tests check every statistic against scipy and
// statsmodels and against published worked examples
// (testdata/equity/README.md names the sources).

// DefaultConfidence is the confidence level of intervals when
// EquityOptions.Confidence is zero.
const DefaultConfidence = 0.95

// ErrEquityOptions is wrapped by the errors Disparities and Report.Equity
// return for invalid options.
var ErrEquityOptions = errors.New("metric: invalid equity options")

// ReferenceKind chooses how the reference of a stratifier's comparisons
// is found.
type ReferenceKind uint8

const (
	// ReferenceLargest is the stratum with the largest denominator (the
	// rate's divisor), ties broken by the lowest label. It is the default.
	ReferenceLargest ReferenceKind = iota
	// ReferenceBest is the stratum with the best rate: the highest, or
	// the lowest when Reference.LowerIsBetter, ties broken by the lowest
	// label.
	ReferenceBest
	// ReferenceNamed is the stratum whose values are Reference.Values.
	ReferenceNamed
	// ReferenceOverall is the group's overall rate; no stratum is the
	// reference, and every stratum is compared with the members of the
	// group outside it (see Comparison).
	ReferenceOverall
)

var referenceKindNames = [...]string{"largest", "best", "named", "overall"}

// String returns the kind's text form: largest, best, named or overall.
func (k ReferenceKind) String() string {
	if int(k) < len(referenceKindNames) {
		return referenceKindNames[k]
	}
	return "ReferenceKind(" + strconv.Itoa(int(k)) + ")"
}

// MarshalText implements encoding.TextMarshaler.
func (k ReferenceKind) MarshalText() ([]byte, error) {
	if int(k) >= len(referenceKindNames) {
		return nil, fmt.Errorf("%w: unknown reference kind %d", ErrEquityOptions, k)
	}
	return []byte(k.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *ReferenceKind) UnmarshalText(b []byte) error {
	i := slices.Index(referenceKindNames[:], string(b))
	if i < 0 {
		return fmt.Errorf("%w: unknown reference kind %q", ErrEquityOptions, b)
	}
	*k = ReferenceKind(i)
	return nil
}

// Reference says which rate the strata of a stratifier are compared with.
// The zero value is the stratum with the largest denominator.
type Reference struct {
	Kind ReferenceKind `json:"kind"`
	// Values names the stratum of ReferenceNamed, one value per component
	// of the stratifier.
	Values []string `json:"values,omitempty"`
	// LowerIsBetter marks an inverse measure (a lower rate is better),
	// for ReferenceBest.
	LowerIsBetter bool `json:"lower_is_better,omitempty"`
}

// EquityOptions configure Disparities and Report.Equity. The zero value
// gives 95% intervals and the largest stratum as the reference.
type EquityOptions struct {
	// Confidence is the confidence level of every interval, in (0, 1);
	// zero means DefaultConfidence.
	Confidence float64
	// Reference applies to every stratifier not in ByStratifier.
	Reference Reference
	// ByStratifier overrides Reference for the stratifiers with these ids,
	// such as {"race": {Kind: ReferenceNamed, Values: []string{"white"}}}.
	ByStratifier map[string]Reference
	// MinReferenceDenominator keeps strata with a smaller denominator from
	// being chosen as the largest or best reference, so that a stratum of
	// one member at 100% is not "best". A named reference is used
	// whatever its size.
	MinReferenceDenominator int64
}

func (o EquityOptions) confidence() (float64, error) {
	c := o.Confidence
	if c == 0 {
		return DefaultConfidence, nil
	}
	if !(c > 0 && c < 1) {
		return 0, fmt.Errorf("%w: confidence %v is not in (0, 1)", ErrEquityOptions, c)
	}
	return c, nil
}

func (o EquityOptions) reference(stratifier string) Reference {
	if r, ok := o.ByStratifier[stratifier]; ok {
		return r
	}
	return o.Reference
}

func (r Reference) validate() error {
	switch r.Kind {
	case ReferenceLargest, ReferenceBest, ReferenceOverall:
		return nil
	case ReferenceNamed:
		if len(r.Values) == 0 {
			return fmt.Errorf("%w: a named reference needs its stratum values", ErrEquityOptions)
		}
		return nil
	}
	return fmt.Errorf("%w: unknown reference kind %d", ErrEquityOptions, r.Kind)
}

// Stat is a statistic that may be undefined, such as a ratio against a
// reference rate of 0. It encodes as a JSON number with 10 significant
// digits, or null when undefined, so NaN and infinities never reach JSON.
type Stat struct {
	Value   float64
	Defined bool
}

func stat(v float64) Stat {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return Stat{}
	}
	return Stat{Value: v, Defined: true}
}

// String formats the statistic with 10 significant digits, or "" when
// undefined.
func (s Stat) String() string {
	if !s.Defined {
		return ""
	}
	return strconv.FormatFloat(s.Value, 'g', 10, 64)
}

// MarshalJSON implements json.Marshaler.
func (s Stat) MarshalJSON() ([]byte, error) {
	if !s.Defined {
		return []byte("null"), nil
	}
	return []byte(s.String()), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (s *Stat) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*s = Stat{}
		return nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	*s = Stat{Value: v, Defined: err == nil}
	return err
}

// Interval is a confidence interval that may be undefined. It encodes as
// {"low": x, "high": y}, or null when undefined.
type Interval struct {
	Low, High float64
	Defined   bool
}

func interval(lo, hi float64) Interval {
	if math.IsNaN(lo) || math.IsNaN(hi) || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return Interval{}
	}
	return Interval{Low: lo, High: hi, Defined: true}
}

type intervalJSON struct {
	Low  Stat `json:"low"`
	High Stat `json:"high"`
}

// MarshalJSON implements json.Marshaler.
func (iv Interval) MarshalJSON() ([]byte, error) {
	if !iv.Defined {
		return []byte("null"), nil
	}
	return json.Marshal(intervalJSON{stat(iv.Low), stat(iv.High)})
}

// UnmarshalJSON implements json.Unmarshaler.
func (iv *Interval) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*iv = Interval{}
		return nil
	}
	var j intervalJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*iv = Interval{Low: j.Low.Value, High: j.High.Value, Defined: j.Low.Defined && j.High.Defined}
	return nil
}

// Estimate is a rate with its counts and its Wilson score interval.
// Denominator is the rate's divisor: the population's denominator less
// exclusions and exceptions (see Counts.Rate).
type Estimate struct {
	Numerator   int64    `json:"numerator"`
	Denominator int64    `json:"denominator"`
	Rate        Rate     `json:"rate"`
	Interval    Interval `json:"interval"`
}

// Comparison compares one stratum's rate p with the reference rate q.
//
// Difference is p − q with Newcombe's hybrid score interval (Newcombe
// 1998, method 10: the square-and-add combination of the two Wilson
// intervals, which unlike the Wald interval stays inside [−1, 1] and
// behaves at rates of 0 and 1). Ratio is p / q with the Katz log interval
// exp(ln(p/q) ± z·sqrt(1/x − 1/n + 1/y − 1/m)), undefined when either
// numerator is 0. Z and P are the two-sided z-test of p = q with the
// pooled standard error sqrt(r(1−r)(1/n + 1/m)), r the pooled rate;
// undefined when r is 0 or 1 (no variation to test).
//
// Against ReferenceOverall the overall rate contains the stratum, so the
// interval and test come from comparing the stratum with the rest of the
// group (its counts less the stratum's): p − q = (1 − w)(p − p_rest) with
// w = n / N, so the difference interval is Newcombe's for p − p_rest scaled
// by 1 − w, the test is the same test, and the ratio interval is Katz's for
// p / p_rest mapped through ρ ↦ ρ / (wρ + 1 − w), which is increasing.
type Comparison struct {
	Difference         Stat     `json:"difference"`
	DifferenceInterval Interval `json:"difference_interval"`
	Ratio              Stat     `json:"ratio"`
	RatioInterval      Interval `json:"ratio_interval"`
	Z                  Stat     `json:"z"`
	P                  Stat     `json:"p"`
}

// StratumEquity is one stratum's rate, interval and comparison with the
// reference.
type StratumEquity struct {
	Values []string `json:"values"`
	Estimate
	// Reference marks the reference stratum, which has no Comparison.
	Reference bool `json:"reference,omitempty"`
	// Comparison is nil for the reference stratum, for a stratum whose
	// rate is undefined, and when the reference rate is undefined.
	Comparison *Comparison `json:"comparison,omitempty"`
}

// Label joins the values with " × " for display.
func (s StratumEquity) Label() string { return strings.Join(s.Values, " × ") }

// StratifierEquity holds the equity statistics of one stratifier of a
// group. Strata are sorted by value.
//
// IndexOfDisparity is Pearcy and Keppel's Index of Disparity (Pearcy JN,
// Keppel KG. A summary measure of health disparity. Public Health Rep.
// 2002;117(3):273-280): the mean absolute deviation of the compared
// strata's rates from the reference rate, as a percentage of the reference
// rate, 100 · (Σ|r_i − R| / n) / R. The compared strata are those with a
// defined rate other than the reference stratum (every one against
// ReferenceOverall); the index is undefined when there are none or R is 0.
// WeightedIndexOfDisparity weights each deviation by the stratum's share
// of the compared strata's denominators, 100 · Σ w_i|r_i − R| / R (as in
// Harper and Lynch's NCI monograph "Methods for Measuring Cancer
// Disparities", 2005). Both measure relative disparity, and Keppel and
// Pearcy advise that relative measures depend on whether rates are of
// favourable or adverse events: they are computed on the rates as given.
//
// BetweenGroupVariance is the absolute, population-weighted measure of the
// same monograph, Σ w_j (r_j − μ)², over every stratum with a defined rate,
// w_j = n_j / Σ n_k its share of the denominators and μ = Σ w_j r_j; for
// strata that partition the group μ is the overall rate. It does not
// depend on the reference.
type StratifierEquity struct {
	Stratifier string   `json:"stratifier"`
	Components []string `json:"components,omitempty"`
	Confidence float64  `json:"confidence"`
	// Reference is the rule that chose the reference.
	Reference Reference `json:"reference"`
	// ReferenceValues are the values of the reference stratum; nil against
	// ReferenceOverall or when no reference was found.
	ReferenceValues []string `json:"reference_values,omitempty"`
	// ReferenceRate is the rate the strata are compared with; undefined
	// when no reference was found or its rate is undefined.
	ReferenceRate Rate `json:"reference_rate"`
	// Overall is the group's own rate.
	Overall                  Estimate        `json:"overall"`
	Strata                   []StratumEquity `json:"strata"`
	IndexOfDisparity         Stat            `json:"index_of_disparity"`
	WeightedIndexOfDisparity Stat            `json:"weighted_index_of_disparity"`
	BetweenGroupVariance     Stat            `json:"between_group_variance"`
}

// Stratum returns the statistics of the stratum with the given values, or
// nil.
func (s *StratifierEquity) Stratum(values ...string) *StratumEquity {
	for i := range s.Strata {
		if slices.Equal(s.Strata[i].Values, values) {
			return &s.Strata[i]
		}
	}
	return nil
}

// eligible returns the rate's numerator and divisor of c.
func eligible(c Counts) (x, n int64) {
	return c.Numerator, c.Denominator - c.DenominatorExclusion - c.DenominatorException
}

func estimate(c Counts, z float64) Estimate {
	x, n := eligible(c)
	e := Estimate{Numerator: x, Denominator: n, Rate: c.Rate()}
	if n > 0 {
		lo, hi := Wilson(x, n, z)
		e.Interval = interval(lo, hi)
	}
	return e
}

// Disparities computes the equity statistics of stratifier s of a group
// whose overall counts are total. It returns an error wrapping
// ErrEquityOptions for invalid options, and for ReferenceOverall when a
// stratum's counts exceed the total. A named reference absent from s, or
// a reference whose rate is undefined, is no error: the result then has
// no comparisons and undefined indices of disparity.
//
// Disparities is safe for concurrent use; it does not modify s.
func Disparities(total Counts, s *Stratifier, opt EquityOptions) (StratifierEquity, error) {
	conf, err := opt.confidence()
	if err != nil {
		return StratifierEquity{}, err
	}
	ref := opt.reference(s.ID)
	if err := ref.validate(); err != nil {
		return StratifierEquity{}, fmt.Errorf("stratifier %q: %w", s.ID, err)
	}
	z := zCritical(conf)
	out := StratifierEquity{
		Stratifier: s.ID,
		Components: slices.Clone(s.Components),
		Confidence: conf,
		Reference:  Reference{Kind: ref.Kind, Values: slices.Clone(ref.Values), LowerIsBetter: ref.LowerIsBetter},
		Overall:    estimate(total, z),
		Strata:     make([]StratumEquity, 0, len(s.Strata)),
	}
	counts := make([]Counts, 0, len(s.Strata))
	for _, st := range s.Strata {
		out.Strata = append(out.Strata, StratumEquity{Values: slices.Clone(st.Values), Estimate: estimate(st.Counts, z)})
		counts = append(counts, st.Counts)
	}
	order := make([]int, len(out.Strata))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return slices.Compare(out.Strata[a].Values, out.Strata[b].Values) })
	sorted := make([]StratumEquity, len(order))
	sortedCounts := make([]Counts, len(order))
	for i, k := range order {
		sorted[i], sortedCounts[i] = out.Strata[k], counts[k]
	}
	out.Strata, counts = sorted, sortedCounts

	refIdx := -1
	switch ref.Kind {
	case ReferenceOverall:
		out.ReferenceRate = out.Overall.Rate
		tx, tn := out.Overall.Numerator, out.Overall.Denominator
		for _, st := range out.Strata {
			if st.Numerator > tx || st.Denominator > tn || st.Denominator-st.Numerator > tn-tx {
				return StratifierEquity{}, fmt.Errorf("%w: stratifier %q: stratum %q (%d of %d) is not part of the total (%d of %d)",
					ErrEquityOptions, s.ID, st.Label(), st.Numerator, st.Denominator, tx, tn)
			}
		}
	default:
		refIdx = chooseReference(out.Strata, ref, opt.MinReferenceDenominator)
		if refIdx >= 0 {
			out.Strata[refIdx].Reference = true
			out.ReferenceValues = slices.Clone(out.Strata[refIdx].Values)
			out.ReferenceRate = out.Strata[refIdx].Rate
		}
	}

	if out.ReferenceRate.Defined {
		for i := range out.Strata {
			st := &out.Strata[i]
			if i == refIdx || !st.Rate.Defined {
				continue
			}
			var c Comparison
			if ref.Kind == ReferenceOverall {
				c = compareWithOverall(st.Estimate, out.Overall, z)
			} else {
				r := out.Strata[refIdx].Estimate
				c = compare(st.Numerator, st.Denominator, r.Numerator, r.Denominator, z)
			}
			st.Comparison = &c
		}
	}
	out.IndexOfDisparity, out.WeightedIndexOfDisparity = indexOfDisparity(out.Strata, refIdx, out.ReferenceRate)
	out.BetweenGroupVariance = betweenGroupVariance(out.Strata)
	return out, nil
}

// chooseReference returns the index of the reference stratum among strata
// sorted by value, or -1. Only strata with a defined rate and a
// denominator of at least minDen qualify, except a named one.
func chooseReference(strata []StratumEquity, ref Reference, minDen int64) int {
	best := -1
	for i, st := range strata {
		if ref.Kind == ReferenceNamed {
			if slices.Equal(st.Values, ref.Values) {
				return i
			}
			continue
		}
		if !st.Rate.Defined || st.Denominator < minDen {
			continue
		}
		if best < 0 {
			best = i
			continue
		}
		b := strata[best]
		// Strata are sorted by value, so keeping the first on ties
		// breaks them by the lowest label.
		switch ref.Kind {
		case ReferenceLargest:
			if st.Denominator > b.Denominator {
				best = i
			}
		case ReferenceBest:
			if (!ref.LowerIsBetter && st.Rate.Value > b.Rate.Value) || (ref.LowerIsBetter && st.Rate.Value < b.Rate.Value) {
				best = i
			}
		}
	}
	return best
}

// compare compares x/n with the reference y/m; both divisors are positive.
func compare(x, n, y, m int64, z float64) Comparison {
	p, q := float64(x)/float64(n), float64(y)/float64(m)
	var c Comparison
	c.Difference = stat(p - q)
	lo, hi := NewcombeDifference(x, n, y, m, z)
	c.DifferenceInterval = interval(lo, hi)
	if q > 0 {
		c.Ratio = stat(p / q)
		if x > 0 {
			lo, hi := KatzRatio(x, n, y, m, z)
			c.RatioInterval = interval(lo, hi)
		}
	}
	if zs, ok := PooledZ(x, n, y, m); ok {
		c.Z = stat(zs)
		c.P = stat(TwoSidedP(zs))
	}
	return c
}

// compareWithOverall compares stratum s with the overall rate o that
// contains it, through the rest of the group (see Comparison).
func compareWithOverall(s, o Estimate, z float64) Comparison {
	p, q := s.Rate.Value, o.Rate.Value
	var c Comparison
	c.Difference = stat(p - q)
	if q > 0 {
		c.Ratio = stat(p / q)
	}
	ry, rm := o.Numerator-s.Numerator, o.Denominator-s.Denominator
	if rm == 0 {
		// The stratum is the whole group: p = q exactly.
		c.DifferenceInterval = interval(0, 0)
		if q > 0 {
			c.RatioInterval = interval(1, 1)
		}
		return c
	}
	rest := compare(s.Numerator, s.Denominator, ry, rm, z)
	w := float64(s.Denominator) / float64(o.Denominator)
	if rest.DifferenceInterval.Defined {
		c.DifferenceInterval = interval((1-w)*rest.DifferenceInterval.Low, (1-w)*rest.DifferenceInterval.High)
	}
	if q > 0 && s.Numerator > 0 {
		if rest.RatioInterval.Defined {
			f := func(rho float64) float64 { return rho / (w*rho + 1 - w) }
			c.RatioInterval = interval(f(rest.RatioInterval.Low), f(rest.RatioInterval.High))
		}
	}
	c.Z, c.P = rest.Z, rest.P
	return c
}

func indexOfDisparity(strata []StratumEquity, refIdx int, ref Rate) (id, weighted Stat) {
	if !ref.Defined || ref.Value <= 0 {
		return Stat{}, Stat{}
	}
	var sum, wsum float64
	var n int
	var den int64
	for i, st := range strata {
		if i == refIdx || !st.Rate.Defined {
			continue
		}
		d := math.Abs(st.Rate.Value - ref.Value)
		sum += d
		wsum += float64(st.Denominator) * d
		den += st.Denominator
		n++
	}
	if n == 0 {
		return Stat{}, Stat{}
	}
	return stat(100 * sum / float64(n) / ref.Value), stat(100 * wsum / float64(den) / ref.Value)
}

func betweenGroupVariance(strata []StratumEquity) Stat {
	var x, n int64
	for _, st := range strata {
		if st.Rate.Defined {
			x += st.Numerator
			n += st.Denominator
		}
	}
	if n == 0 {
		return Stat{}
	}
	var mu float64
	for _, st := range strata {
		if st.Rate.Defined {
			mu += float64(st.Denominator) / float64(n) * st.Rate.Value
		}
	}
	var v float64
	for _, st := range strata {
		if st.Rate.Defined {
			d := st.Rate.Value - mu
			v += float64(st.Denominator) / float64(n) * d * d
		}
	}
	return stat(v)
}

// zCritical returns the two-sided critical value of the standard normal
// distribution at confidence level conf: Φ⁻¹((1 + conf) / 2) = √2·erf⁻¹(conf).
func zCritical(conf float64) float64 { return math.Sqrt2 * math.Erfinv(conf) }

// TwoSidedP returns the two-sided p-value of a standard normal statistic
// z, 2·(1 − Φ(|z|)) = erfc(|z|/√2), accurate far into the tail.
func TwoSidedP(z float64) float64 { return math.Erfc(math.Abs(z) / math.Sqrt2) }

// Wilson returns the Wilson score interval of the proportion x/n for the
// two-sided critical value z (1.959964 for 95%), clamped to [0, 1]; n must
// be positive.
func Wilson(x, n int64, z float64) (lo, hi float64) {
	fn := float64(n)
	p := float64(x) / fn
	z2 := z * z
	d := 1 + z2/fn
	center := (p + z2/(2*fn)) / d
	half := z * math.Sqrt(p*(1-p)/fn+z2/(4*fn*fn)) / d
	lo, hi = center-half, center+half
	if x == 0 || lo < 0 {
		lo = 0
	}
	if x == n || hi > 1 {
		hi = 1
	}
	return lo, hi
}

// NewcombeDifference returns Newcombe's hybrid score interval (method 10
// of Newcombe 1998, Stat Med 17:873-890) for the difference x/n − y/m;
// both divisors must be positive.
func NewcombeDifference(x, n, y, m int64, z float64) (lo, hi float64) {
	p, q := float64(x)/float64(n), float64(y)/float64(m)
	l1, u1 := Wilson(x, n, z)
	l2, u2 := Wilson(y, m, z)
	d := p - q
	lo = d - math.Sqrt((p-l1)*(p-l1)+(u2-q)*(u2-q))
	hi = d + math.Sqrt((u1-p)*(u1-p)+(q-l2)*(q-l2))
	return max(lo, -1), min(hi, 1)
}

// KatzRatio returns the Katz log interval for the ratio (x/n) / (y/m);
// both numerators and divisors must be positive.
func KatzRatio(x, n, y, m int64, z float64) (lo, hi float64) {
	r := (float64(x) / float64(n)) / (float64(y) / float64(m))
	se := math.Sqrt(max(0, 1/float64(x)-1/float64(n)+1/float64(y)-1/float64(m)))
	return r * math.Exp(-z*se), r * math.Exp(z*se)
}

// PooledZ returns the z statistic of the two-sided test of x/n = y/m with
// the pooled standard error, and false when it is undefined (a divisor is
// not positive, or the pooled rate is 0 or 1).
func PooledZ(x, n, y, m int64) (float64, bool) {
	if n <= 0 || m <= 0 {
		return 0, false
	}
	r := float64(x+y) / float64(n+m)
	se := math.Sqrt(r * (1 - r) * (1/float64(n) + 1/float64(m)))
	if !(se > 0) {
		return 0, false
	}
	return (float64(x)/float64(n) - float64(y)/float64(m)) / se, true
}

// ReportEquity holds the equity statistics of every stratifier of every
// group of a report, in the report's order.
type ReportEquity struct {
	Confidence float64         `json:"confidence"`
	Measures   []MeasureEquity `json:"measures"`
	// Warnings name stratifiers without a usable reference (code
	// "equity-no-reference").
	Warnings []Warning `json:"warnings,omitempty"`
}

// MeasureEquity holds the equity statistics of one measure.
type MeasureEquity struct {
	ID     string        `json:"id"`
	Groups []GroupEquity `json:"groups"`
}

// GroupEquity holds the equity statistics of one group's stratifiers.
type GroupEquity struct {
	ID          string             `json:"id"`
	Stratifiers []StratifierEquity `json:"stratifiers"`
}

// Equity computes Disparities for every stratifier of every group of r.
// It returns an error wrapping ErrEquityOptions for invalid options; a
// stratifier without a usable reference gets a warning instead. Equity
// does not modify r and is safe for concurrent use with other readers.
//
// The statistics are of the unsuppressed counts: publishing them for a
// stratum that Suppress hides would reveal it.
func (r *Report) Equity(opt EquityOptions) (*ReportEquity, error) {
	conf, err := opt.confidence()
	if err != nil {
		return nil, err
	}
	out := &ReportEquity{Confidence: conf, Measures: make([]MeasureEquity, 0, len(r.Measures))}
	for _, m := range r.Measures {
		me := MeasureEquity{ID: m.ID, Groups: make([]GroupEquity, 0, len(m.Groups))}
		for _, g := range m.Groups {
			ge := GroupEquity{ID: g.ID, Stratifiers: make([]StratifierEquity, 0, len(g.Stratifiers))}
			for si := range g.Stratifiers {
				se, err := Disparities(g.Counts, &g.Stratifiers[si], opt)
				if err != nil {
					return nil, fmt.Errorf("measure %q group %q: %w", m.ID, g.ID, err)
				}
				if !se.ReferenceRate.Defined && len(se.Strata) > 0 {
					msg := fmt.Sprintf("group %s stratifier %s: ", g.ID, se.Stratifier)
					switch {
					case se.Reference.Kind == ReferenceNamed && se.ReferenceValues == nil:
						msg += fmt.Sprintf("no stratum %q to compare with", strings.Join(se.Reference.Values, " × "))
					default:
						msg += "the reference rate is undefined"
					}
					out.Warnings = append(out.Warnings, Warning{Measure: m.ID, Code: "equity-no-reference", Message: msg})
				}
				ge.Stratifiers = append(ge.Stratifiers, se)
			}
			me.Groups = append(me.Groups, ge)
		}
		out.Measures = append(out.Measures, me)
	}
	return out, nil
}
