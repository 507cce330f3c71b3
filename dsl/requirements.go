package dsl

import (
	"slices"

	"github.com/caremetrics/caremetrics/metric"
)

// Column is an optional events column that expressions may read.
type Column uint8

// The optional events columns; member_id, date, system and code are
// always needed.
const (
	ColumnEndDate Column = 1 << iota
	ColumnValue
	ColumnClaimID
	ColumnSource
)

// Requirements are the data a set of measures needs, like an eCQM's data
// requirements: the codes they look at (value sets and literal codes),
// the optional events columns they read, and the extra member attributes
// they use. A loader may drop every other event row and column, and the
// rows that ClaimScopes and Windows rule out (see Rule).
type Requirements struct {
	ValueSets  []*ValueSet
	Codes      [][2]string // literal (system, code) pairs, normalised
	Columns    Column
	Attributes []string
	// ClaimScopes are code sets among the above that the measures read
	// only on the claims of other code sets.
	ClaimScopes []ClaimScope
	// Windows are code sets among the above that the measures read only
	// within a range of dates, sorted by window.
	Windows []DateWindow
	// Claims are the code sets among the above whose rows' claim ids the
	// measures read (through sameClaim and onePerClaim); a loader may
	// leave the claim id of any other row unset. Nil with ColumnClaimID
	// set means every row's claim id.
	Claims []CodeRef
}

// Requirements returns what the measure needs of the data over its
// default measurement period.
func (m *Measure) Requirements() Requirements { return m.RequirementsFor(m.period) }

// RequirementsFor returns what the measure needs of the data when it is
// evaluated over period p: the date windows follow the period.
func (m *Measure) RequirementsFor(p metric.Period) Requirements {
	r := Requirements{ValueSets: slices.Clone(m.valueSets), Columns: m.columns, Attributes: slices.Clone(m.attrs)}
	for _, c := range m.codes {
		r.Codes = append(r.Codes, [2]string{c.system, c.code})
	}
	r.setScopes(m.claimScopes())
	r.setWindows(m.dateWindows(p))
	if r.Columns&ColumnClaimID != 0 {
		r.Claims = m.claimReads()
	}
	return r
}

// RequirementsOf merges the requirements of several measures, each over
// its default measurement period.
func RequirementsOf(ms ...*Measure) Requirements {
	var r Requirements
	for _, m := range ms {
		r.Add(m.Requirements())
	}
	return r
}

// RequirementsOver merges the requirements of several measures evaluated
// over period p (eval.WithPeriod).
func RequirementsOver(p metric.Period, ms ...*Measure) Requirements {
	var r Requirements
	for _, m := range ms {
		r.Add(m.RequirementsFor(p))
	}
	return r
}

// Add merges o into r.
func (r *Requirements) Add(o Requirements) {
	scopes, windows, claims := r.mergeScopes(&o), r.mergeWindows(&o), r.mergeClaims(&o)
	for _, v := range o.ValueSets {
		if !slices.Contains(r.ValueSets, v) {
			r.ValueSets = append(r.ValueSets, v)
		}
	}
	for _, c := range o.Codes {
		if !slices.Contains(r.Codes, c) {
			r.Codes = append(r.Codes, c)
		}
	}
	for _, a := range o.Attributes {
		if !slices.Contains(r.Attributes, a) {
			r.Attributes = append(r.Attributes, a)
		}
	}
	r.Columns |= o.Columns
	r.setScopes(scopes)
	r.setWindows(windows)
	r.Claims = nil
	if claims != nil {
		r.Claims = inOrder(r.refs(), claims)
	}
}

// Needs reports whether an event with this normalised (system, code) can
// matter to the measures.
func (r *Requirements) Needs(system, code string) bool {
	if slices.Contains(r.Codes, [2]string{system, code}) {
		return true
	}
	for _, v := range r.ValueSets {
		if v.Contains(system, code) {
			return true
		}
	}
	return false
}

// Covers reports whether data loaded for r holds everything o needs, and
// if not, what is missing.
func (r *Requirements) Covers(o Requirements) (bool, string) {
	for _, v := range o.ValueSets {
		if !slices.Contains(r.ValueSets, v) {
			return false, "value set " + v.Name
		}
	}
	for _, c := range o.Codes {
		if !r.Needs(c[0], c[1]) {
			return false, "code " + c[0] + " " + c[1]
		}
	}
	if o.Columns&^r.Columns != 0 {
		return false, "an events column"
	}
	if ok, missing := r.coversWindows(&o); !ok {
		return false, missing
	}
	if ok, missing := r.coversClaims(&o); !ok {
		return false, missing
	}
	return r.coversScopes(&o)
}

// Systems returns the code systems the requirements look at, sorted: rows
// of any other system can never matter.
func (r *Requirements) Systems() []string {
	var out []string
	for _, v := range r.ValueSets {
		for _, s := range v.Systems() {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	for _, c := range r.Codes {
		if !slices.Contains(out, c[0]) {
			out = append(out, c[0])
		}
	}
	slices.Sort(out)
	return out
}
