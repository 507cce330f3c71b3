package metric

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Counts holds the number of members (or episodes) counted in each
// population. For a ratio measure (scoring "ratio"), Denominator,
// DenominatorExclusion and Numerator instead sum the units' values (such
// as member months and visits; see AddRatio), so that Rate has one formula
// for both scorings. The zero value is empty and ready to use.
type Counts struct {
	InitialPopulation    int64 `json:"initial_population"`
	Denominator          int64 `json:"denominator"`
	DenominatorExclusion int64 `json:"denominator_exclusions"`
	DenominatorException int64 `json:"denominator_exceptions"`
	Numerator            int64 `json:"numerator"`
}

// Add counts one unit with membership m.
func (c *Counts) Add(m Membership) {
	c.AddN(m, 1)
}

// AddN counts n units with membership m.
func (c *Counts) AddN(m Membership, n int64) {
	if m.Has(InitialPopulation) {
		c.InitialPopulation += n
	}
	if m.Has(Denominator) {
		c.Denominator += n
	}
	if m.Has(DenominatorExclusion) {
		c.DenominatorExclusion += n
	}
	if m.Has(DenominatorException) {
		c.DenominatorException += n
	}
	if m.Has(Numerator) {
		c.Numerator += n
	}
}

// AddRatio counts one unit of a ratio measure with membership m, whose
// denominator value is den (e.g. member months) and numerator value num
// (e.g. visits). An excluded unit's den is added to both Denominator and
// DenominatorExclusion and its num is not counted, so that Rate, which
// subtracts exclusions, leaves it out on both sides.
func (c *Counts) AddRatio(m Membership, den, num int64) {
	if m.Has(InitialPopulation) {
		c.InitialPopulation++
	}
	if !m.Has(Denominator) {
		return
	}
	c.Denominator += den
	if m.Has(DenominatorExclusion) {
		c.DenominatorExclusion += den
		return
	}
	if m.Has(Numerator) {
		c.Numerator += num
	}
}

// Merge adds the counts of a disjoint set of units.
func (c *Counts) Merge(o Counts) {
	c.InitialPopulation += o.InitialPopulation
	c.Denominator += o.Denominator
	c.DenominatorExclusion += o.DenominatorExclusion
	c.DenominatorException += o.DenominatorException
	c.Numerator += o.Numerator
}

// Get returns the count of population p.
func (c Counts) Get(p Population) int64 {
	switch p {
	case InitialPopulation:
		return c.InitialPopulation
	case Denominator:
		return c.Denominator
	case DenominatorExclusion:
		return c.DenominatorExclusion
	case DenominatorException:
		return c.DenominatorException
	case Numerator:
		return c.Numerator
	}
	return 0
}

// Rate returns numerator / (denominator − exclusions − exceptions).
func (c Counts) Rate() Rate { return c.RatePer(1) }

// RatePer returns the rate scaled by multiplier, as a ratio measure
// reports visits per 1,000 member months with multiplier 1000.
func (c Counts) RatePer(multiplier int64) Rate {
	d := c.Denominator - c.DenominatorExclusion - c.DenominatorException
	if d <= 0 {
		return Rate{}
	}
	return Rate{Value: float64(c.Numerator) * float64(max(multiplier, 1)) / float64(d), Defined: true}
}

// Rate is a proportion (or a ratio) that may be undefined (no eligible units). It
// encodes as a JSON number, or null when undefined, and prints as "" when
// undefined so that a missing rate never reads as 0.
type Rate struct {
	Value   float64
	Defined bool
}

// String formats the rate with up to 6 decimals, or "" when undefined.
func (r Rate) String() string {
	if !r.Defined {
		return ""
	}
	return strconv.FormatFloat(r.Value, 'f', 6, 64)
}

// MarshalJSON implements json.Marshaler.
func (r Rate) MarshalJSON() ([]byte, error) {
	if !r.Defined {
		return []byte("null"), nil
	}
	return []byte(r.String()), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (r *Rate) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*r = Rate{}
		return nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	*r = Rate{Value: v, Defined: err == nil}
	return err
}

// Period is an inclusive range of days.
type Period struct {
	Start Date `json:"start"`
	End   Date `json:"end"`
}

// CalendarYear returns the period January 1 to December 31 of year y.
func CalendarYear(y int) Period {
	return Period{Start: DateOf(y, time.January, 1), End: DateOf(y, time.December, 31)}
}

// Contains reports whether d lies in the period, both ends included.
func (p Period) Contains(d Date) bool { return d >= p.Start && d <= p.End }

// String formats the period as "start..end".
func (p Period) String() string { return p.Start.String() + ".." + p.End.String() }

// Stratum is one category of a stratifier with its counts. Values has one
// entry per component of the stratifier (two for race × language).
type Stratum struct {
	Values []string `json:"values"`
	Counts
	Rate Rate `json:"rate"`
}

// Label joins the values with " × " for display.
func (s Stratum) Label() string { return strings.Join(s.Values, " × ") }

// Stratifier is a breakdown of a group's counts. A member may fall in more
// than one stratum when a stratifier is multi-valued (race, alone or in
// combination), so strata need not sum to the total.
type Stratifier struct {
	ID         string    `json:"id"`
	Components []string  `json:"components,omitempty"`
	Strata     []Stratum `json:"strata"`
}

// Group is one rate of a measure, such as CIS "dtap".
type Group struct {
	ID    string `json:"id"`
	Title string `json:"title,omitempty"`
	Counts
	Rate        Rate         `json:"rate"`
	Stratifiers []Stratifier `json:"stratifiers,omitempty"`
}

// MeasureResult is the result of one measure.
type MeasureResult struct {
	ID      string `json:"id"`
	Title   string `json:"title,omitempty"`
	Version string `json:"version,omitempty"`
	// Scoring is "proportion" or "ratio".
	Scoring string `json:"scoring"`
	// Basis is what one unit counted is: "member" (the default when
	// empty) or "episode" (a visit, a discharge, a screening).
	Basis string `json:"basis,omitempty"`
	// Improvement is "increase" (the default when empty) or "decrease"
	// for an inverse measure, where a lower rate is better.
	Improvement string `json:"improvement_notation,omitempty"`
	// Multiplier scales a ratio measure's rates (1000 for "per 1,000
	// member months"); 0 means 1.
	Multiplier int64   `json:"multiplier,omitempty"`
	Period     Period  `json:"period"`
	Groups     []Group `json:"groups"`
}

// LowerIsBetter reports whether the measure is inverse.
func (m *MeasureResult) LowerIsBetter() bool { return m.Improvement == "decrease" }

// Warning is a non-fatal finding that travels beside results, such as a
// value set that matched no code in the data.
type Warning struct {
	Measure string `json:"measure,omitempty"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// String formats the warning as one line.
func (w Warning) String() string {
	if w.Measure == "" {
		return w.Code + ": " + w.Message
	}
	return w.Measure + ": " + w.Code + ": " + w.Message
}

// Report is the result of evaluating a set of measures over one cohort.
// Measures keep the order in which they were requested; groups the order
// of their definition; strata are sorted by value.
type Report struct {
	Measures []MeasureResult `json:"measures"`
	Warnings []Warning       `json:"warnings,omitempty"`
}

// Measure returns the result of the measure with the given id, or nil.
func (r *Report) Measure(id string) *MeasureResult {
	for i := range r.Measures {
		if r.Measures[i].ID == id {
			return &r.Measures[i]
		}
	}
	return nil
}

// Group returns the group with the given id, or nil.
func (m *MeasureResult) Group(id string) *Group {
	for i := range m.Groups {
		if m.Groups[i].ID == id {
			return &m.Groups[i]
		}
	}
	return nil
}

// Stratifier returns the stratifier with the given id, or nil.
func (g *Group) Stratifier(id string) *Stratifier {
	for i := range g.Stratifiers {
		if g.Stratifiers[i].ID == id {
			return &g.Stratifiers[i]
		}
	}
	return nil
}

// Stratum returns the stratum with the given values, or nil.
func (s *Stratifier) Stratum(values ...string) *Stratum {
	for i := range s.Strata {
		if slices.Equal(s.Strata[i].Values, values) {
			return &s.Strata[i]
		}
	}
	return nil
}

// Finalize computes every rate and sorts strata; call it after filling
// counts by hand. Evaluation and Merge return finalized reports.
func (r *Report) Finalize() {
	for mi := range r.Measures {
		mult := r.Measures[mi].Multiplier
		for gi := range r.Measures[mi].Groups {
			g := &r.Measures[mi].Groups[gi]
			g.Rate = g.Counts.RatePer(mult)
			for si := range g.Stratifiers {
				st := &g.Stratifiers[si]
				slices.SortFunc(st.Strata, func(a, b Stratum) int { return slices.Compare(a.Values, b.Values) })
				for k := range st.Strata {
					st.Strata[k].Rate = st.Strata[k].Counts.RatePer(mult)
				}
			}
		}
	}
	slices.SortFunc(r.Warnings, func(a, b Warning) int { return strings.Compare(a.String(), b.String()) })
	r.Warnings = slices.Compact(r.Warnings)
}

// Merge adds the counts of o, the report of a disjoint set of members
// evaluated with the same measures and period, into r. Shards merged in any
// order give exactly the report of the whole cohort.
func (r *Report) Merge(o *Report) error {
	if len(r.Measures) == 0 {
		r.Measures = cloneMeasures(o.Measures)
		r.Warnings = append(r.Warnings, o.Warnings...)
		r.Finalize()
		return nil
	}
	if len(o.Measures) != len(r.Measures) {
		return fmt.Errorf("metric: merge: reports have %d and %d measures", len(r.Measures), len(o.Measures))
	}
	for mi := range o.Measures {
		a, b := &r.Measures[mi], &o.Measures[mi]
		if a.ID != b.ID || a.Period != b.Period || len(a.Groups) != len(b.Groups) || a.Scoring != b.Scoring || a.Basis != b.Basis || a.Multiplier != b.Multiplier {
			return fmt.Errorf("metric: merge: measure %q (%s) does not match %q (%s)", a.ID, a.Period, b.ID, b.Period)
		}
		for gi := range b.Groups {
			ga, gb := &a.Groups[gi], &b.Groups[gi]
			if ga.ID != gb.ID || len(ga.Stratifiers) != len(gb.Stratifiers) {
				return fmt.Errorf("metric: merge: measure %q: group %q does not match %q", a.ID, ga.ID, gb.ID)
			}
			ga.Counts.Merge(gb.Counts)
			for si := range gb.Stratifiers {
				sa, sb := &ga.Stratifiers[si], &gb.Stratifiers[si]
				if sa.ID != sb.ID {
					return fmt.Errorf("metric: merge: measure %q group %q: stratifier %q does not match %q", a.ID, ga.ID, sa.ID, sb.ID)
				}
				for _, s := range sb.Strata {
					if t := sa.Stratum(s.Values...); t != nil {
						t.Counts.Merge(s.Counts)
					} else {
						sa.Strata = append(sa.Strata, Stratum{Values: slices.Clone(s.Values), Counts: s.Counts})
					}
				}
			}
		}
	}
	r.Warnings = append(r.Warnings, o.Warnings...)
	r.Finalize()
	return nil
}

func cloneMeasures(ms []MeasureResult) []MeasureResult {
	b, _ := json.Marshal(ms)
	var out []MeasureResult
	_ = json.Unmarshal(b, &out)
	return out
}
