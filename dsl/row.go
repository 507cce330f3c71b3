package dsl

import (
	"math"

	"github.com/caremetrics/caremetrics/metric"
)

// The row types below are the per-member view that compiled expressions
// evaluate over. They are plain structs, not Arrow, so that dsl stays free of
// storage concerns; package eval builds them once from Arrow data and hands
// slices of them to the compiled measure without copying.

// Member is one member's demographic row.
type Member struct {
	ID        string
	BirthDate metric.Date
	// DeathDate is metric.NoDate when the member has none.
	DeathDate metric.Date
	// Sex, Ethnicity and Language are "" when null.
	Sex, Ethnicity, Language string
	// Race lists the member's race categories, lower case, in the order
	// given; empty when null or empty.
	Race              []string
	InterpreterNeeded Tristate
	Disability        Tristate

	// EventsStart..EventsEnd and SpansStart..SpansEnd locate the member's
	// rows in the cohort's event and span slices.
	EventsStart, EventsEnd int32
	SpansStart, SpansEnd   int32
}

// Tristate is a nullable boolean.
type Tristate int8

// The values of a Tristate.
const (
	Null Tristate = iota
	False
	True
)

// String returns "true", "false" or "" for null.
func (t Tristate) String() string {
	switch t {
	case True:
		return "true"
	case False:
		return "false"
	}
	return ""
}

// Event is one row of the events table.
type Event struct {
	Date metric.Date
	// End is metric.NoDate when the row has no end date.
	End metric.Date
	// Code indexes the cohort's code table.
	Code CodeID
	// Source indexes the cohort's sources, or is -1 when null.
	Source int16
	// Claim is ClaimKey of the row's claim_id, 0 when it has none.
	Claim uint64
	// Value is NaN when null; use HasValue.
	Value float64
}

// ClaimKey is the key of a claim id: a 64-bit FNV-1a hash, never 0.
// Expressions only ask whether two rows of one member share a claim, so a
// hash serves: it needs no table of the (often tens of millions of) claim
// ids, and two different claims of one member collide with probability
// about k²/2⁶⁵ for k claims, below 10⁻¹⁵ even for thousands of claims.
func ClaimKey(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	if h == 0 {
		h = 1
	}
	return h
}

// HasValue reports whether the event carries a numeric value.
func (e *Event) HasValue() bool { return !math.IsNaN(e.Value) }

// CodeID is an interned (system, code) pair.
type CodeID int32

// Span is one enrollment row: covered days Start..End inclusive.
//
// A Span holds no pointers, so that the collector never scans the
// (millions of) spans of a cohort.
type Span struct {
	Start, End metric.Date
	Benefits   Benefits
	// Plan indexes the cohort's plan names, or is -1 when null (or when
	// the data was loaded for measures, which never read plans).
	Plan int32
}

// Benefits is a set of enrollment benefits.
type Benefits uint16

// The benefits of the canonical data model.
const (
	Medical Benefits = 1 << iota
	Dental
	MentalHealth
	ChemicalDependency
	Pharmacy
)

var benefitNames = []string{"medical", "dental", "mental_health", "chemical_dependency", "pharmacy"}

// ParseBenefit returns the benefit named s (as written in the data model).
func ParseBenefit(s string) (Benefits, bool) {
	for i, n := range benefitNames {
		if s == n {
			return 1 << i, true
		}
	}
	return 0, false
}

// String lists the benefits separated by ";", as CSV writes them.
func (b Benefits) String() string {
	out := ""
	for i, n := range benefitNames {
		if b&(1<<i) != 0 {
			if out != "" {
				out += ";"
			}
			out += n
		}
	}
	return out
}

// AttrKind is the type of a member attribute as seen by expressions.
type AttrKind uint8

// The kinds of member attribute.
const (
	AttrString AttrKind = iota
	AttrFloat
	AttrInt
	AttrBool
	AttrDate
	AttrStrings
)

// Attribute is an extra column of the members table. Exactly one of the
// value slices matching Kind is set, indexed like the cohort's members.
// Nulls are "" for strings, NaN for floats, 0 for ints, false for bools,
// metric.NoDate for dates and nil for lists.
type Attribute struct {
	Name    string
	Kind    AttrKind
	Strings []string
	Floats  []float64
	Ints    []int64
	Bools   []bool
	Dates   []metric.Date
	Lists   [][]string
}
