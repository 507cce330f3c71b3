package eval

import (
	"math"

	"github.com/caremetrics/caremetrics/metric"
)

// Data is a cohort grouped by member and ready for evaluation: the three
// canonical tables (members, enrollment, events) indexed once, for every
// measure together. Codes, code systems, claim ids and sources are interned
// into small integers so the evaluator compares integers, not strings.
//
// A Data is immutable once built and safe for concurrent use.
type Data struct {
	// Members are sorted by ID; member ids are unique.
	Members []Member
	// Events hold every member's events, member after member in Members
	// order, each member's sorted by date then code.
	Events []Event
	// Spans hold every member's enrollment spans in Members order, each
	// member's sorted by start date.
	Spans []Span
	// Codes interns the (system, code) pairs that occur in Events.
	Codes CodeTable
	// Claims interns claim ids; Event.Claim indexes it.
	Claims []string
	// Sources interns event sources; Event.Source indexes it.
	Sources []string
	// Attributes are the members table's columns beyond the canonical
	// ones, one value per member, usable in measure expressions by name.
	Attributes []Attribute
	// Reconciliation accounts for every row read.
	Reconciliation Reconciliation
}

// Member is one row of the members table plus the ranges of its events and
// spans in Data.Events and Data.Spans.
type Member struct {
	ID        string
	BirthDate metric.Date
	// DeathDate is metric.NoDate when the member has none.
	DeathDate metric.Date
	// Sex, Ethnicity and Language are "" when null.
	Sex, Ethnicity, Language string
	// Race lists the member's race categories, in the order given; empty
	// when null or empty.
	Race              []string
	InterpreterNeeded Tristate
	Disability        Tristate

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
	// Code indexes Data.Codes.
	Code CodeID
	// Claim indexes Data.Claims, or is -1 when the row has no claim id.
	Claim int32
	// Source indexes Data.Sources, or is -1 when null.
	Source int16
	// Value is NaN when null; use HasValue.
	Value float64
}

// HasValue reports whether the event carries a numeric value.
func (e *Event) HasValue() bool { return !math.IsNaN(e.Value) }

// Span is one enrollment row: covered days Start..End inclusive.
type Span struct {
	Start, End metric.Date
	Benefits   Benefits
	// Plan is "" when null.
	Plan string
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

// CodeID is an interned (system, code) pair.
type CodeID int32

// CodeTable interns (system, code) pairs. Codes are stored normalised
// (see dsl.NormalizeCode), so the same code written two ways is one id.
type CodeTable struct {
	Systems []string // system of each code id
	Values  []string // code of each code id
	index   map[codeKey]CodeID
}

type codeKey struct{ system, code string }

// Intern returns the id of (system, code), adding it when new. Both must be
// normalised already.
func (t *CodeTable) Intern(system, code string) CodeID {
	if t.index == nil {
		t.index = make(map[codeKey]CodeID)
	}
	k := codeKey{system, code}
	if id, ok := t.index[k]; ok {
		return id
	}
	id := CodeID(len(t.Values))
	t.index[k] = id
	t.Systems = append(t.Systems, system)
	t.Values = append(t.Values, code)
	return id
}

// Lookup returns the id of (system, code) and whether it occurs.
func (t *CodeTable) Lookup(system, code string) (CodeID, bool) {
	id, ok := t.index[codeKey{system, code}]
	return id, ok
}

// Len returns the number of distinct codes.
func (t *CodeTable) Len() int { return len(t.Values) }

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
// value slices matching Kind is set, indexed like Data.Members. Nulls are
// "" for strings, NaN for floats, 0 for ints, false for bools and
// metric.NoDate for dates.
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

// Reconciliation accounts for every row read: per table and file, the rows
// read and used, and the rows set aside with the reason.
type Reconciliation struct {
	Files []FileCount `json:"files"`
	// SetAside counts rows not used, by table and reason, e.g. events whose
	// member_id is not in the members table.
	SetAside []SetAside `json:"set_aside,omitempty"`
}

// FileCount is the number of rows read from one file (or in-memory
// reader) of one table.
type FileCount struct {
	Table string `json:"table"`
	File  string `json:"file"`
	Rows  int64  `json:"rows"`
}

// SetAside counts rows of a table not used for one reason, with up to a few
// example member ids (never other member data).
type SetAside struct {
	Table    string   `json:"table"`
	Reason   string   `json:"reason"`
	Rows     int64    `json:"rows"`
	Examples []string `json:"examples,omitempty"`
}

// MemberEvents returns the events of member i.
func (d *Data) MemberEvents(i int) []Event {
	m := &d.Members[i]
	return d.Events[m.EventsStart:m.EventsEnd]
}

// MemberSpans returns the enrollment spans of member i.
func (d *Data) MemberSpans(i int) []Span {
	m := &d.Members[i]
	return d.Spans[m.SpansStart:m.SpansEnd]
}
