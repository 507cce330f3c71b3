package dsl

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/caremetrics/caremetrics/metric"
)

// evset is a set of a member's events: ascending indexes into the
// member's event slice, which is sorted by date, so sets are date-ordered.
type evset []int32

// RaceRule chooses how members listing several races are stratified.
type RaceRule uint8

const (
	// RaceAloneOrInCombination counts a member in every race listed, and
	// also in "multiracial" when more than one is listed (the OMB "alone or
	// in combination" tabulation).
	RaceAloneOrInCombination RaceRule = iota
	// RaceSingle counts each member once: the one race listed, or
	// "multiracial" when more than one is listed.
	RaceSingle
)

// Cohort is what binding needs to know of the data: its code table,
// sources and extra member attributes. Package eval fills it.
type Cohort struct {
	// Systems and Codes give the (system, code) of each CodeID.
	Systems, Codes []string
	// Sources gives the text of each Event.Source.
	Sources []string
	// Attributes are the extra member columns, by name.
	Attributes []Attribute
}

// Bound is a measure bound to one cohort: value sets resolved to bitmaps
// over the cohort's code ids, attributes and sources located. Immutable and
// safe for concurrent use.
type Bound struct {
	m *Measure
	// cohort names codes and sources in explanations.
	cohort *Cohort
	// setCodes lists the cohort's code ids in each of the measure's code
	// sets, ascending.
	setCodes [][]CodeID
	attrs    []*Attribute
	sources  []int16
	ncodes   int
}

type literalCode struct{ system, code string }

// Bind resolves the measure against a cohort: value-set membership is
// decided once per distinct code here, never per event. It returns
// warnings for value sets none of whose code systems occurs in the data,
// and an error
// when an attribute the measure uses is missing or of another kind.
func (m *Measure) Bind(c *Cohort) (*Bound, []metric.Warning, error) {
	b := &Bound{m: m, cohort: c, ncodes: len(c.Codes)}
	var warns []metric.Warning
	dataSystems := map[string]bool{}
	for _, sys := range c.Systems {
		dataSystems[sys] = true
	}
	// A set whose codes merely do not occur is normal (nobody had
	// anaphylaxis); a set none of whose code systems occurs in the data
	// means the data or the value sets are not what the measure expects.
	vsCodes := make([][]CodeID, 0, len(m.valueSets))
	for _, v := range m.valueSets {
		var ids []CodeID
		for id := range c.Codes {
			if v.Contains(c.Systems[id], c.Codes[id]) {
				ids = append(ids, CodeID(id))
			}
		}
		systems := v.Systems()
		if !slices.ContainsFunc(systems, func(s string) bool { return dataSystems[s] }) {
			warns = append(warns, metric.Warning{Measure: m.id, Code: "valueset-system-absent",
				Message: fmt.Sprintf("value set %q (%s) uses code systems %s, none of which occurs in the data", v.Name, v.Pos, strings.Join(systems, ", "))})
		}
		vsCodes = append(vsCodes, ids)
	}
	index := map[literalCode]CodeID{}
	for id := range c.Codes {
		index[literalCode{c.Systems[id], c.Codes[id]}] = CodeID(id)
	}
	litCodes := make([]CodeID, 0, len(m.codes))
	for _, lc := range m.codes {
		id, ok := index[lc]
		if !ok {
			id = -1
			if !dataSystems[lc.system] {
				warns = append(warns, metric.Warning{Measure: m.id, Code: "code-system-absent",
					Message: fmt.Sprintf("code %s %s: no %s code occurs in the data", lc.system, lc.code, lc.system)})
			}
		}
		litCodes = append(litCodes, id)
	}
	for _, refs := range m.codeSets {
		var ids []CodeID
		for _, ref := range refs {
			switch {
			case !ref.lit:
				ids = append(ids, vsCodes[ref.i]...)
			case litCodes[ref.i] >= 0:
				ids = append(ids, litCodes[ref.i])
			}
		}
		slices.Sort(ids)
		b.setCodes = append(b.setCodes, slices.Compact(ids))
	}
	for _, name := range m.attrs {
		i := slices.IndexFunc(c.Attributes, func(a Attribute) bool { return a.Name == name })
		if i < 0 {
			return nil, nil, fmt.Errorf("measure %s: the members data has no column %q", m.id, name)
		}
		b.attrs = append(b.attrs, &c.Attributes[i])
	}
	for _, s := range m.sources {
		b.sources = append(b.sources, int16(slices.Index(c.Sources, s)))
	}
	return b, warns, nil
}

// Measure returns the measure that was bound.
func (b *Bound) Measure() *Measure { return b.m }

// Runner evaluates a bound measure one member at a time, reusing its
// scratch memory. It is not safe for concurrent use: give each goroutine
// its own.
type Runner struct {
	b  *Bound
	sh *shared
	// setSlot gives the index slot of each code set of the measure, -1
	// before its first use.
	setSlot []int32
	period  metric.Period
	member  *Member
	index   int
	events  []Event
	spans   []Span
	race    RaceRule

	arena []int32
	// listArena holds the lists of strings built for the member.
	listArena []string
	// gen grows at each member and each episode; memberGen is gen at the
	// member's start (see memoize).
	gen, memberGen uint64
	defGen         []uint64
	// units are an episode measure's episodes for the member (a copy:
	// the arena grows while episodes are evaluated); episodeSet holds
	// the current one.
	units      []int32
	nunits     int
	episodeSet [1]int32
	bools      []bool
	ints       []int64
	floats     []float64
	strs       []string
	evs        []evset
	lists      [][]string
	err        *RuntimeError
	raceBuf    []string
	// cur holds the current event (#) of each enclosing predicate.
	cur []int32
	// ctx stops a long evaluation; steps counts work since the last look
	// at it (see tick).
	ctx   context.Context
	steps int

	// Memberships holds, after Run or Select, the unit's membership in
	// each group.
	Memberships []metric.Membership
	// Ratios holds, for a ratio measure, the unit's values in each
	// group (nil for a proportion measure).
	Ratios   []RatioValues
	strata   [][]string
	strataOK []bool
	// memberStrat holds MemberStratum's value of a string stratifier.
	memberStrat []string
}

// NewRunner returns a Runner for b.
func (b *Bound) NewRunner(race RaceRule) *Runner {
	return newRunner(b, race, newShared(b.ncodes))
}

// Runners evaluates several bound measures one member at a time, sharing
// the work that does not depend on the measure, such as sorting the
// member's events into value sets, which a Runner per measure would do
// once per measure. It is not safe for concurrent use: give each
// goroutine its own.
type Runners struct {
	runners []*Runner
	sh      *shared
	member  *Member
	index   int
	events  []Event
	spans   []Span
}

// NewRunners returns Runners for bounds, which must be bound to one
// cohort.
func NewRunners(bounds []*Bound, race RaceRule) *Runners {
	ncodes := 0
	if len(bounds) > 0 {
		ncodes = bounds[0].ncodes
	}
	// Even without measures, Member must have its shared state to reset.
	rs := &Runners{runners: make([]*Runner, len(bounds)), sh: newShared(ncodes)}
	for i, b := range bounds {
		if b.ncodes != len(rs.sh.index.byCode) {
			panic("dsl: NewRunners of measures bound to different cohorts")
		}
		rs.runners[i] = newRunner(b, race, rs.sh)
	}
	return rs
}

// Member starts the next member, with the arguments of Runner.Run. The
// results of every runner stay valid until the next Member.
func (rs *Runners) Member(index int, m *Member, events []Event, spans []Span) {
	rs.sh.reset()
	rs.index, rs.member, rs.events, rs.spans = index, m, events, spans
}

// Run evaluates measure i (of the bounds given to NewRunners) for the
// current member, and returns its runner for the results.
func (rs *Runners) Run(i int, period metric.Period) (*Runner, error) {
	r := rs.runners[i]
	return r, r.run(period, rs.index, rs.member, rs.events, rs.spans)
}

func newRunner(b *Bound, race RaceRule, sh *shared) *Runner {
	n := b.m.nslots
	return &Runner{
		b: b, race: race, sh: sh,
		defGen: make([]uint64, n), bools: make([]bool, n), ints: make([]int64, n), floats: make([]float64, n),
		strs: make([]string, n), evs: make([]evset, n), lists: make([][]string, n),
		setSlot:     slices.Repeat([]int32{-1}, len(b.m.codeSets)),
		Memberships: make([]metric.Membership, len(b.m.groups)),
		strata:      make([][]string, len(b.m.strats)),
		strataOK:    make([]bool, len(b.m.strats)),
		Ratios:      ratios(b.m),
	}
}

func ratios(m *Measure) []RatioValues {
	if m.scoring != "ratio" {
		return nil
	}
	return make([]RatioValues, len(m.groups))
}

// RatioValues are a unit's values in a ratio measure's group: what it adds
// to the denominator (e.g. member months) and to the numerator (e.g.
// visits), both 0 outside the population.
type RatioValues struct{ Denominator, Numerator int64 }

// RuntimeError is an error raised while evaluating one member, such as an
// integer modulo by zero. It names the measure, member and expression.
type RuntimeError struct {
	Measure string
	Member  string
	Pos     Pos
	Msg     string
	// Err is the cause, such as the context's error when an evaluation
	// was stopped; nil otherwise.
	Err error
}

// Unwrap returns the cause.
func (e *RuntimeError) Unwrap() error { return e.Err }

// Error formats the error as "file:line:col: measure M, member X: message".
func (e *RuntimeError) Error() string {
	return fmt.Sprintf("%s: measure %s, member %s: %s", e.Pos, e.Measure, e.Member, e.Msg)
}

func (r *Runner) fail(pos Pos, msg string) {
	if r.err == nil {
		r.err = &RuntimeError{Measure: r.b.m.id, Member: r.member.ID, Pos: pos, Msg: msg}
	}
}

// Run evaluates every group for one member: index is the member's position
// in the cohort (for attributes), events and spans its rows, sorted as
// package eval sorts them. Results are in Memberships (and Ratios) and
// Stratum until the next Run or Select. A member measure has one unit,
// the member; an episode measure has one per episode (see Units), of
// which Run evaluates the first.
func (r *Runner) Run(period metric.Period, index int, m *Member, events []Event, spans []Span) error {
	r.sh.reset()
	return r.run(period, index, m, events, spans)
}

func (r *Runner) run(period metric.Period, index int, m *Member, events []Event, spans []Span) error {
	r.gen++
	r.memberGen = r.gen
	r.arena = r.arena[:0]
	clear(r.listArena) // let the member's strings go
	r.listArena = r.listArena[:0]
	r.period, r.index, r.member, r.events, r.spans = period, index, m, events, spans
	r.err = nil
	r.cur = r.cur[:0]
	r.nunits = 1
	if r.b.m.basis == "episode" {
		r.units = append(r.units[:0], r.b.m.episodes.e(r)...)
		r.nunits = len(r.units)
		if r.err != nil {
			return r.err
		}
		if r.nunits == 0 {
			clear(r.Memberships)
			clear(r.Ratios)
			clear(r.strataOK)
			return nil
		}
		r.episodeSet[0] = r.units[0]
	}
	return r.evaluate()
}

// Units returns the number of units of the current member: 1 for a member
// measure, the number of episodes for an episode measure.
func (r *Runner) Units() int { return r.nunits }

// Select evaluates unit u (0 <= u < Units) of the current member, after
// Run. Defines that do not depend on the episode are not computed again.
func (r *Runner) Select(u int) error {
	if u < 0 || u >= r.nunits {
		return fmt.Errorf("dsl: measure %s: unit %d of %d", r.b.m.id, u, r.nunits)
	}
	if r.b.m.basis != "episode" {
		return nil
	}
	r.gen++
	r.episodeSet[0] = r.units[u]
	r.cur = r.cur[:0]
	return r.evaluate()
}

// Episode returns the current episode's index in the member's events, or
// -1 for a member measure.
func (r *Runner) Episode() int {
	if r.b.m.basis != "episode" || r.nunits == 0 {
		return -1
	}
	return int(r.episodeSet[0])
}

// evaluate computes the current unit's populations in every group,
// nested as eCQMs nest them.
func (r *Runner) evaluate() error {
	clear(r.strataOK)
	if gate := r.b.m.gate; gate != nil && !gate(r) {
		clear(r.Memberships)
		clear(r.Ratios)
		if r.err != nil {
			return r.err
		}
		return nil
	}
	for gi, g := range r.b.m.groups {
		ip := g.pops[metric.InitialPopulation](r)
		var den, excl, numer, exc bool
		var dv, nv int64
		if g.den != nil {
			if ip {
				dv = r.ratioValue(g.den, metric.Denominator)
			}
			den = dv > 0
		} else {
			den = ip && g.pops[metric.Denominator](r)
		}
		excl = den && g.pops[metric.DenominatorExclusion] != nil && g.pops[metric.DenominatorExclusion](r)
		if g.num != nil {
			if den && !excl {
				nv = r.ratioValue(g.num, metric.Numerator)
			}
			numer = nv > 0
		} else {
			numer = den && !excl && g.pops[metric.Numerator](r)
		}
		exc = den && !excl && !numer && g.pops[metric.DenominatorException] != nil && g.pops[metric.DenominatorException](r)
		r.Memberships[gi] = metric.NewMembership(ip, den, excl, numer, exc)
		if r.Ratios != nil {
			r.Ratios[gi] = RatioValues{Denominator: dv, Numerator: nv}
		}
		if r.err != nil {
			return r.err
		}
	}
	return nil
}

// ratioValue is a ratio group's value of the unit, which cannot be
// negative.
func (r *Runner) ratioValue(value func(*Runner) int64, pop metric.Population) int64 {
	v := value(r)
	if v < 0 {
		r.fail(Pos{File: r.b.m.file}, fmt.Sprintf("%s value %d is negative", pop, v))
		return 0
	}
	return v
}

// Stratum returns the member's values for plain (non-cross) stratifier i,
// computed on first use after Run. The slice is valid until the next Run.
func (r *Runner) Stratum(i int) ([]string, error) {
	if r.strataOK[i] {
		return r.strata[i], nil
	}
	st := r.b.m.strats[i]
	switch st.fn.k {
	case kString:
		r.strata[i] = append(r.strata[i][:0], st.fn.s(r))
	case kList:
		r.strata[i] = st.fn.l(r)
	default:
		r.strata[i] = r.strata[i][:0]
	}
	r.strataOK[i] = true
	if r.err != nil {
		return nil, r.err
	}
	return r.strata[i], nil
}

// StratifierMember returns a key of stratifier i when its values are one
// of the member's categories alone (raceCategories(), category(name)), and
// "" otherwise. Stratifiers of any measures with one key give a member the
// same values, so a caller can compute them once per member (see
// Runners.MemberStratum) instead of once per measure.
func (m *Measure) StratifierMember(i int) string { return m.strats[i].fn.member }

// MemberStratum returns the current member's values of stratifier s of
// measure i, which must have a StratifierMember key, without running the
// measure. The slice is valid until the next call or Run of measure i.
func (rs *Runners) MemberStratum(i, s int) ([]string, error) {
	r := rs.runners[i]
	st := r.b.m.strats[s]
	if st.fn.member == "" {
		return nil, fmt.Errorf("dsl: measure %s: stratifier %s depends on more than the member's categories", r.b.m.id, st.id)
	}
	// A member category reads the member and its attributes, nothing else
	// that Run sets.
	r.member, r.index = rs.member, rs.index
	if st.fn.k == kList {
		return st.fn.l(r), nil
	}
	r.memberStrat = append(r.memberStrat[:0], st.fn.s(r))
	return r.memberStrat, nil
}

// StratifierCross returns the component stratifiers of stratifier i, or
// nil when it is not a cross.
func (m *Measure) StratifierCross(i int) []int { return m.strats[i].cross }

// StratifierApplies reports whether stratifier i breaks down group g.
func (m *Measure) StratifierApplies(i, g int) bool {
	return m.strats[i].groups == nil || m.strats[i].groups[g]
}

// codeSet returns the member's events in code set i of the measure.
func (r *Runner) codeSet(i int) evset {
	s := r.setSlot[i]
	if s < 0 {
		s = r.sh.index.slot(r.b.setCodes[i], r.events)
		r.setSlot[i] = s
	}
	return r.sh.index.set(s, r.events)
}

// endSet returns the set appended to the arena since start; an empty set
// when the arena outgrows the memory budget, which fails the member.
func (r *Runner) endSet(start int) evset {
	if r.overBudget() {
		r.arena = r.arena[:start]
		return nil
	}
	return evset(r.arena[start:len(r.arena):len(r.arena)])
}
