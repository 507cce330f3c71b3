package dsl

import "slices"

// Claim scopes narrow a measure's data requirements below its value sets.
// ed_util reads every ICD-10-CM diagnosis, but only through
// sameClaim(ed_rows, events("...Diagnoses")): a diagnosis on a claim with
// no ED row can change no result, and loading it cost most of the events
// of the shipped measures. The compiler tracks, for every Events value,
// which code sets its rows can come from and on what condition (rowItem);
// every place that reads a value other than by passing its rows on
// records a use; a code set read only through sameClaim is scoped to the
// claims of the other argument's code sets.
//
// The analysis is conservative: a use it cannot see through (earliest,
// onePerDay, withinDays' second argument, counting, a define's own value
// as Explain shows it, ...) needs every row of the set, so a scoped set
// is one whose every row that is left out provably never reaches any
// expression's value.

// rowItem says that an Events value can hold rows of ref; when on is set,
// only rows on a claim that also carries a row of one of on.
type rowItem struct {
	ref codeRef
	on  []codeRef
	// win bounds the rows' dates (datewindow.go); nil bounds nothing.
	win dayRange
}

// The two refs that name no code set: the current episode, whose rows the
// episodes expression has required already, and rows of unknown origin,
// which no analysis can narrow.
var (
	episodeRef = codeRef{i: -1}
	unknownRef = codeRef{i: -2}
)

// rowFlow is how a function's Events arguments reach its result.
type rowFlow uint8

const (
	// flowConsume: the function reads its arguments as a whole; rows of
	// its result, if Events, come from any argument.
	flowConsume rowFlow = iota
	// flowFirst: the first argument's rows pass to the result, each kept
	// or not on its own; the other arguments are read as a whole.
	flowFirst
	// flowAll: every argument's rows pass to the result (union).
	flowAll
	// flowClaim: sameClaim.
	flowClaim
)

// passes reports whether argument i flows into the result rather than
// being read.
func (f rowFlow) passes(i int) bool {
	return f == flowAll || f == flowClaim || f == flowFirst && i == 0
}

// consume records that v is read as a whole: every row it can hold
// matters, on the conditions its items carry.
func (c *checker) consume(v compiled) { c.consumeRows(v, true) }

// consumeShown records that v is a define's value, which Explain shows:
// for claim scopes every row it can hold matters, as for consume, but no
// date window is recorded, since the rows outside the windows of the
// define's other uses change no result (a trace of data loaded with
// windows says so; see datewindow.go).
func (c *checker) consumeShown(v compiled) { c.consumeRows(v, false) }

func (c *checker) consumeRows(v compiled, windows bool) {
	if v.k != kEvents {
		return
	}
	for _, it := range v.rows {
		if it.ref == episodeRef || it.ref == unknownRef {
			continue
		}
		if windows {
			c.useWindow(it)
		}
		if c.m.freeRefs == nil {
			c.m.freeRefs, c.m.scopedRefs = map[codeRef]bool{}, map[codeRef][]codeRef{}
		}
		if it.on == nil {
			c.m.freeRefs[it.ref] = true
			continue
		}
		s := c.m.scopedRefs[it.ref]
		for _, a := range it.on {
			if !slices.Contains(s, a) {
				s = append(s, a)
			}
		}
		c.m.scopedRefs[it.ref] = s
	}
}

// resultRows are the rows of a call's Events result: the passing
// arguments' for flowFirst and flowAll, every Events argument's for
// flowConsume (those were consumed when compiled), and rows of unknown
// origin when no argument is Events.
func resultRows(flow rowFlow, args []compiled) []rowItem {
	var rows []rowItem
	for i, a := range args {
		if a.k == kEvents && (flow == flowConsume || flow.passes(i)) {
			rows = append(rows, a.rows...)
		}
	}
	if rows == nil {
		rows = []rowItem{{ref: unknownRef}}
	}
	return rows
}

// sameClaimRows handles sameClaim(p, q): q is read only for rows on p's
// claims, and p's rows pass on only where q has a row on their claim. An
// item already narrowed keeps its condition: either one is necessary, and
// one suffices to prune.
func (c *checker) sameClaimRows(p, q compiled) []rowItem {
	scope := func(rows []rowItem, anchors []codeRef) []rowItem {
		out := make([]rowItem, len(rows))
		for i, it := range rows {
			out[i] = it
			if it.on == nil && !slices.Contains(anchors, unknownRef) {
				out[i].on = anchors
			}
		}
		return out
	}
	c.consume(compiled{k: kEvents, rows: scope(q.rows, rowRefs(p.rows))})
	return scope(p.rows, rowRefs(q.rows))
}

func rowRefs(rows []rowItem) []codeRef {
	var refs []codeRef
	for _, it := range rows {
		if !slices.Contains(refs, it.ref) {
			refs = append(refs, it.ref)
		}
	}
	return refs
}

// claimScopes returns the measure's scoped code sets and their anchors,
// in the order of the measure's value sets, then literal codes.
func (m *Measure) claimScopes() map[CodeRef][]CodeRef {
	var episode []codeRef
	if m.episodes.k == kEvents {
		episode = rowRefs(m.episodes.rows)
	}
	out := map[CodeRef][]CodeRef{}
	for ref, anchors := range m.scopedRefs {
		if m.freeRefs[ref] {
			continue
		}
		var named []CodeRef
		ok := true
		for _, a := range anchors {
			as := []codeRef{a}
			if a == episodeRef {
				as = episode
			}
			for _, x := range as {
				if x == unknownRef || x == episodeRef {
					ok = false
				}
				if ok && !slices.Contains(named, m.codeRef(x)) {
					named = append(named, m.codeRef(x))
				}
			}
		}
		if ok && len(named) > 0 {
			out[m.codeRef(ref)] = named
		}
	}
	return out
}

func (m *Measure) codeRef(r codeRef) CodeRef {
	if r.lit {
		lc := m.codes[r.i]
		return CodeRef{Code: [2]string{lc.system, lc.code}}
	}
	return CodeRef{ValueSet: m.valueSets[r.i]}
}

// CodeRef names one code set of a measure: a value set, or, when ValueSet
// is nil, one literal code as code() wrote it, normalised.
type CodeRef struct {
	ValueSet *ValueSet
	Code     [2]string
}

// Contains reports whether the normalised (system, code) is in the set.
func (c CodeRef) Contains(system, code string) bool {
	if c.ValueSet != nil {
		return c.ValueSet.Contains(system, code)
	}
	return c.Code == [2]string{system, code}
}

// String names the set as a message would.
func (c CodeRef) String() string {
	if c.ValueSet != nil {
		return "value set " + c.ValueSet.Name
	}
	return "code " + c.Code[0] + " " + c.Code[1]
}

// ClaimScope narrows the rows a loader must keep of some code sets: the
// measures read Rows only through sameClaim, so a row of them matters only
// when its claim also carries a row of one of Anchors (a row of any
// Anchors code in the data, kept or not; one dated outside its code's
// window may be left out, as it reaches no sameClaim), and never when it
// has no claim id.
type ClaimScope struct {
	Rows    []CodeRef
	Anchors []CodeRef
}

// MaxClaimScopes is how many distinct anchor lists Requirements keeps;
// the rows of any further scope are required whole. Loaders test a row's
// scopes as one 64-bit mask.
const MaxClaimScopes = 64

// refs lists the code sets of r in order: value sets, then literal codes.
func (r *Requirements) refs() []CodeRef {
	out := make([]CodeRef, 0, len(r.ValueSets)+len(r.Codes))
	for _, v := range r.ValueSets {
		out = append(out, CodeRef{ValueSet: v})
	}
	for _, c := range r.Codes {
		out = append(out, CodeRef{Code: c})
	}
	return out
}

func (r *Requirements) uses(c CodeRef) bool {
	if c.ValueSet != nil {
		return slices.Contains(r.ValueSets, c.ValueSet)
	}
	return slices.Contains(r.Codes, c.Code)
}

func (r *Requirements) scopeMap() map[CodeRef][]CodeRef {
	out := map[CodeRef][]CodeRef{}
	for _, s := range r.ClaimScopes {
		for _, c := range s.Rows {
			out[c] = s.Anchors
		}
	}
	return out
}

// setScopes stores scoped as ClaimScopes, one per distinct anchor list,
// each in the order of r's code sets, so that equal inputs give equal
// requirements.
func (r *Requirements) setScopes(scoped map[CodeRef][]CodeRef) {
	refs := r.refs()
	r.ClaimScopes = nil
	for _, c := range refs {
		anchors, ok := scoped[c]
		if !ok {
			continue
		}
		anchors = inOrder(refs, anchors)
		i := slices.IndexFunc(r.ClaimScopes, func(s ClaimScope) bool { return slices.Equal(s.Anchors, anchors) })
		switch {
		case i >= 0:
			r.ClaimScopes[i].Rows = append(r.ClaimScopes[i].Rows, c)
		case len(r.ClaimScopes) < MaxClaimScopes:
			r.ClaimScopes = append(r.ClaimScopes, ClaimScope{Rows: []CodeRef{c}, Anchors: anchors})
		}
	}
}

// mergeScopes is Add's rule for scopes: a code set stays scoped only if
// every side that uses it scopes it, to the union of their anchors.
func (r *Requirements) mergeScopes(o *Requirements) map[CodeRef][]CodeRef {
	rs, os := r.scopeMap(), o.scopeMap()
	merged := map[CodeRef][]CodeRef{}
	for c, a := range rs {
		if !o.uses(c) {
			merged[c] = a
		} else if b, ok := os[c]; ok {
			merged[c] = unionRefs(a, b)
		}
	}
	for c, b := range os {
		if !r.uses(c) {
			merged[c] = b
		}
	}
	return merged
}

// inOrder returns the code sets of cs in the order of refs.
func inOrder(refs, cs []CodeRef) []CodeRef {
	var out []CodeRef
	for _, c := range refs {
		if slices.Contains(cs, c) {
			out = append(out, c)
		}
	}
	return out
}

func unionRefs(a, b []CodeRef) []CodeRef {
	out := slices.Clone(a)
	for _, c := range b {
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// RowRule tells a loader when a row of the normalised (system, code)
// matters. Only when its date falls in Window; then, if Always, whatever
// its claim. Otherwise, when its claim id is set and the claim carries a
// row anchoring one of the scopes in On (bit k for ClaimScopes[k]).
// Anchors has bit k set when the code anchors ClaimScopes[k]. A code with
// neither Always nor On is not needed.
type RowRule struct {
	Always      bool
	On, Anchors uint64
	Window      Window
	// Claim is set when the measures read the row's claim id: its code
	// is in Requirements.Claims or in a claim scope. A loader may leave
	// the claim id of any other row unset.
	Claim bool
}

// Scoped reports whether the row matters only on a claim that anchors one
// of the scopes in On; a loader keeps the other rows it reads whole.
func (r RowRule) Scoped() bool { return !r.Always && r.On != 0 }

// Rule returns the row rule of the normalised (system, code). A loader
// asking for many codes should use Rules.
func (r *Requirements) Rule(system, code string) RowRule { return r.Rules().Rule(system, code) }

// Rules returns r's rules ready for many codes.
func (r *Requirements) Rules() *RowRules {
	rr := &RowRules{scopes: r.ClaimScopes, windows: r.windowMap(), refs: r.refs(), claims: r.Claims, allClaims: r.readsAllClaims()}
	scoped := map[CodeRef]bool{}
	for _, s := range r.ClaimScopes {
		for _, c := range s.Rows {
			scoped[c] = true
		}
	}
	for _, c := range r.refs() {
		if !scoped[c] {
			rr.free = append(rr.free, c)
		}
	}
	return rr
}

// RowRules answers Rule for one Requirements.
type RowRules struct {
	scopes  []ClaimScope
	free    []CodeRef
	refs    []CodeRef
	windows map[CodeRef]Window
	// claims are the sets whose claim ids are read, unless allClaims.
	claims    []CodeRef
	allClaims bool
}

// Rule returns the row rule of the normalised (system, code).
func (rr *RowRules) Rule(system, code string) RowRule {
	var rule RowRule
	for k, s := range rr.scopes {
		for _, c := range s.Rows {
			if c.Contains(system, code) {
				rule.On |= 1 << k
			}
		}
		for _, c := range s.Anchors {
			if c.Contains(system, code) {
				rule.Anchors |= 1 << k
			}
		}
	}
	for _, c := range rr.free {
		if c.Contains(system, code) {
			rule.Always = true
			break
		}
	}
	// Scopes compare claims, so their rows' and anchors' claim ids are
	// read, even in Requirements made by hand whose Claims leave them out.
	rule.Claim = rr.allClaims || rule.On|rule.Anchors != 0
	for _, c := range rr.claims {
		if rule.Claim {
			break
		}
		rule.Claim = c.Contains(system, code)
	}
	// The code's rows matter within the window of any set holding it
	// (a code in no set is not needed: Always and On say so).
	rule.Window = All
	found := false
	for _, c := range rr.refs {
		if !c.Contains(system, code) {
			continue
		}
		w, ok := rr.windows[c]
		if !ok {
			w = All
		}
		if !found {
			rule.Window, found = w, true
		} else {
			rule.Window = rule.Window.Hull(w)
		}
	}
	return rule
}

// coversScopes reports whether data loaded for r holds every row o may
// read of the code sets r scopes.
func (r *Requirements) coversScopes(o *Requirements) (bool, string) {
	os := o.scopeMap()
	for c, a := range r.scopeMap() {
		if !o.uses(c) {
			continue
		}
		b, ok := os[c]
		if !ok {
			return false, "the rows of " + c.String() + " outside its claim scope"
		}
		for _, x := range b {
			if !slices.Contains(a, x) {
				return false, "the rows of " + c.String() + " on claims with " + x.String()
			}
		}
	}
	return true, ""
}
