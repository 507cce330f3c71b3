package eval

import (
	"fmt"
	"slices"
	"strings"

	"github.com/caremetrics/caremetrics/dsl"
)

// Data is a cohort grouped by member and ready for evaluation: the three
// canonical tables (members, enrollment, events) indexed once, for every
// measure together. Codes and sources are interned into small integers and
// claim ids hashed (dsl.ClaimKey), so the evaluator compares integers, not
// strings.
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
	// Sources interns event sources; Event.Source indexes it.
	Sources []string
	// Plans interns enrollment plan names in sorted order; Span.Plan
	// indexes it. Data loaded for measures (WithRequirements) holds no
	// plans: measures do not read them.
	Plans []string
	// Attributes are the members table's columns beyond the canonical
	// ones, one value per member, usable in measure expressions by name.
	Attributes []Attribute
	// Reconciliation accounts for every row read.
	Reconciliation Reconciliation

	// requirements, when the data was loaded for some measures only.
	requirements *dsl.Requirements
}

// The row types are defined by package dsl, which evaluates over them; the
// aliases let callers of eval name them without importing dsl.
type (
	Member    = dsl.Member
	Tristate  = dsl.Tristate
	Event     = dsl.Event
	Span      = dsl.Span
	Benefits  = dsl.Benefits
	CodeID    = dsl.CodeID
	AttrKind  = dsl.AttrKind
	Attribute = dsl.Attribute
)

// Values of Tristate, Benefits and AttrKind, re-exported from dsl.
const (
	Null               = dsl.Null
	False              = dsl.False
	True               = dsl.True
	Medical            = dsl.Medical
	Dental             = dsl.Dental
	MentalHealth       = dsl.MentalHealth
	ChemicalDependency = dsl.ChemicalDependency
	Pharmacy           = dsl.Pharmacy
	AttrString         = dsl.AttrString
	AttrFloat          = dsl.AttrFloat
	AttrInt            = dsl.AttrInt
	AttrBool           = dsl.AttrBool
	AttrDate           = dsl.AttrDate
	AttrStrings        = dsl.AttrStrings
)

// ParseBenefit returns the benefit named s (as written in the data model).
func ParseBenefit(s string) (Benefits, bool) { return dsl.ParseBenefit(s) }

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

// Reconciliation accounts for every row read: per table and file, the rows
// read and used, and the rows set aside with the reason.
type Reconciliation struct {
	Files []FileCount `json:"files"`
	// SetAside counts rows not used, by table and reason, e.g. events whose
	// member_id is not in the members table.
	SetAside []SetAside `json:"set_aside,omitempty"`
	// Unneeded counts valid rows not kept because no measure the data was
	// loaded for could use them (see WithRequirements).
	Unneeded []SetAside `json:"unneeded,omitempty"`
	// Used counts the rows kept, by table.
	Used []TableCount `json:"used"`
}

// TableCount is a number of rows of one table.
type TableCount struct {
	Table string `json:"table"`
	Rows  int64  `json:"rows"`
}

// Check verifies that every row read is accounted for: per table, the
// rows read from its files equal the rows used plus those set aside and
// those not needed. Loading checks it, so a row is never dropped
// silently; it is exported for reports assembled by hand (merged shards).
func (r *Reconciliation) Check() error {
	read, accounted := map[string]int64{}, map[string]int64{}
	for _, f := range r.Files {
		read[f.Table] += f.Rows
	}
	for _, u := range r.Used {
		accounted[u.Table] += u.Rows
	}
	for _, s := range append(slices.Clone(r.SetAside), r.Unneeded...) {
		accounted[s.Table] += s.Rows
	}
	var errs []string
	for _, t := range tableNames {
		if read[t] != accounted[t] {
			errs = append(errs, fmt.Sprintf("%s: %d rows read, %d used, set aside or not needed", t, read[t], accounted[t]))
		}
	}
	if errs != nil {
		return fmt.Errorf("eval: rows unaccounted for: %s", strings.Join(errs, "; "))
	}
	return nil
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

// AttributeKinds returns the kind of every extra member attribute, for
// dsl.WithAttributes: measures compiled with it may use those columns by
// name.
func (d *Data) AttributeKinds() map[string]AttrKind {
	out := make(map[string]AttrKind, len(d.Attributes))
	for _, a := range d.Attributes {
		out[a.Name] = a.Kind
	}
	return out
}
