package dsl

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"

	"github.com/caremetrics/caremetrics/metric"
)

// Trace explains one unit of a measure (a member, or one episode of an
// episode measure): the value of every define, the populations the unit is
// in, and the events behind each. It is built by Runner.Explain and holds
// only the member's id, never other demographics.
type Trace struct {
	Measure string `json:"measure"`
	Member  string `json:"member_id"`
	// Episode is the unit's episode, for an episode measure.
	Episode *TraceEvent `json:"episode,omitempty"`
	// NoEpisodes is set for an episode measure's member without any
	// episode, who counts in no population; only the defines that do not
	// depend on an episode are traced then.
	NoEpisodes bool           `json:"no_episodes,omitempty"`
	Period     metric.Period  `json:"period"`
	Defines    []DefineTrace  `json:"defines"`
	Groups     []GroupTrace   `json:"groups"`
	Strata     []StratumTrace `json:"strata,omitempty"`
	// Unloaded notes the rows of the measure's code sets that the data
	// was loaded without (Requirements.Windows): a define showing such a
	// set shows only its rows within the window, the only ones any result
	// reads.
	Unloaded []string `json:"unloaded,omitempty"`
}

// DefineTrace is a define's value for the unit. For a set of events the
// value is the number of events and Events lists them; for any other
// value Events lists the events of the sets it uses directly: what made
// it true, or, when empty, the fact that none did.
type DefineTrace struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Value string `json:"value"`
	// Uses names the defines (and current-episode names) the expression
	// refers to.
	Uses   []string     `json:"uses,omitempty"`
	Events []TraceEvent `json:"events"`
	Error  string       `json:"error,omitempty"`
}

// TraceEvent is one event row as an explanation shows it.
type TraceEvent struct {
	Date metric.Date `json:"date"`
	// End is nil when the row has no end date.
	End    *metric.Date `json:"end,omitempty"`
	System string       `json:"system"`
	Code   string       `json:"code"`
	// Value is the numeric value, nil when the row has none.
	Value  *float64 `json:"value,omitempty"`
	Source string   `json:"source,omitempty"`
}

// GroupTrace is the unit's membership in one group, population by
// population, with each population's expression.
type GroupTrace struct {
	ID          string            `json:"id"`
	Populations []PopulationTrace `json:"populations"`
}

// PopulationTrace says whether the unit is in a population once the
// engine's nesting is applied (Counted), and the expression that decided.
type PopulationTrace struct {
	Population metric.Population `json:"population"`
	Expr       string            `json:"expr"`
	Counted    bool              `json:"counted"`
	// Uses and Events are as in DefineTrace: the defines the expression
	// names and the events of the sets among them.
	Uses   []string     `json:"uses,omitempty"`
	Events []TraceEvent `json:"events,omitempty"`
	// Value is the unit's value in a ratio group's denominator or
	// numerator (member months, visits).
	Value *int64 `json:"value,omitempty"`
}

// StratumTrace is the unit's values of one plain stratifier.
type StratumTrace struct {
	Stratifier string   `json:"stratifier"`
	Values     []string `json:"values"`
}

// Explain traces the current unit, after Run (or Select). It evaluates
// every define, including those no population needed, so it costs more
// than Run; use it for single members. A define that fails at run time
// carries its error, and the trace is still returned.
func (r *Runner) Explain() *Trace {
	m := r.b.m
	t := &Trace{Measure: m.id, Member: r.member.ID, Period: r.period}
	if i := r.Episode(); i >= 0 {
		ev := r.traceEvent(int32(i))
		t.Episode = &ev
	}
	t.NoEpisodes = m.basis == "episode" && r.nunits == 0
	sets := map[string][]int32{}
	evidence := func(uses []string) []TraceEvent {
		var evs []int32
		for _, u := range uses {
			evs = mergeSorted(evs, sets[u])
		}
		out := make([]TraceEvent, 0, len(evs))
		for _, i := range evs {
			out = append(out, r.traceEvent(i))
		}
		return out
	}
	for _, d := range m.defines {
		if d.typ == kInvalid || (t.NoEpisodes && d.episodic) {
			continue
		}
		r.err = nil
		dt := DefineTrace{Name: d.name, Type: d.typ.String(), Uses: m.uses(d.deps)}
		var evs []int32
		switch d.typ {
		case kEvents:
			evs = slices.Clone(d.fn.e(r))
			sets[d.name] = evs
			dt.Value = strconv.Itoa(len(evs))
		default:
			dt.Value = r.format(d.fn)
		}
		if d.typ == kEvents {
			dt.Events = make([]TraceEvent, 0, len(evs))
			for _, i := range evs {
				dt.Events = append(dt.Events, r.traceEvent(i))
			}
		} else {
			dt.Events = evidence(dt.Uses)
		}
		if r.err != nil {
			dt.Error = r.err.Error()
		}
		t.Defines = append(t.Defines, dt)
	}
	r.err = nil
	for gi, g := range m.groups {
		gt := GroupTrace{ID: g.id}
		ms := r.Memberships[gi]
		for _, p := range metric.Populations {
			if g.src[p] == "" {
				continue
			}
			pt := PopulationTrace{Population: p, Expr: g.src[p], Counted: ms.Has(p), Uses: m.uses(identifiers(g.src[p]))}
			pt.Events = evidence(pt.Uses)
			if r.Ratios != nil && (p == metric.Denominator || p == metric.Numerator) {
				v := r.Ratios[gi].Denominator
				if p == metric.Numerator {
					v = r.Ratios[gi].Numerator
				}
				pt.Value = &v
			}
			gt.Populations = append(gt.Populations, pt)
		}
		t.Groups = append(t.Groups, gt)
	}
	for i, st := range m.strats {
		if st.cross != nil || t.NoEpisodes {
			continue
		}
		vals, err := r.Stratum(i)
		if err != nil {
			vals = []string{"error: " + err.Error()}
		}
		t.Strata = append(t.Strata, StratumTrace{Stratifier: st.id, Values: slices.Clone(vals)})
	}
	return t
}

// uses keeps the names among names that are defines of m or the current
// episode's.
func (m *Measure) uses(names []string) []string {
	var out []string
	for _, n := range names {
		if _, ok := episodeNames[n]; ok || slices.ContainsFunc(m.defines, func(x *define) bool { return x.name == n }) {
			out = append(out, n)
		}
	}
	return out
}

// identifiers lists the names an expression uses, in order of first use.
func identifiers(src string) []string {
	tree, err := parser.Parse(src)
	if err != nil {
		return nil
	}
	var names []string
	ast.Walk(&tree.Node, identVisitor(func(name string) {
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}))
	return names
}

func mergeSorted(a, b []int32) []int32 {
	out := append(slices.Clone(a), b...)
	slices.Sort(out)
	return slices.Compact(out)
}

func (r *Runner) traceEvent(i int32) TraceEvent {
	e := &r.events[i]
	c := r.b.cohort
	te := TraceEvent{Date: e.Date, System: c.Systems[e.Code], Code: c.Codes[e.Code]}
	if e.End != metric.NoDate {
		end := e.End
		te.End = &end
	}
	if !math.IsNaN(e.Value) {
		v := e.Value
		te.Value = &v
	}
	if e.Source >= 0 && int(e.Source) < len(c.Sources) {
		te.Source = c.Sources[e.Source]
	}
	return te
}

// format renders a define's value; ints that are dates print as dates.
func (r *Runner) format(fn compiled) string {
	switch fn.k {
	case kBool:
		return strconv.FormatBool(fn.b(r))
	case kInt:
		return formatInt(fn.i(r))
	case kFloat:
		return strconv.FormatFloat(fn.f(r), 'g', -1, 64)
	case kString:
		return strconv.Quote(fn.s(r))
	case kList:
		return "[" + strings.Join(fn.l(r), ", ") + "]"
	}
	return ""
}

// formatInt shows an int as it was most likely meant. Dates are day
// numbers in expressions, so an int of a plausible date (1900-2200, and
// not a small count, which would be a day in 1967-1972) is shown with the
// date beside it; the absent-date sentinels are named.
func formatInt(v int64) string {
	switch {
	case v == int64(metric.NoDate):
		return "no date (after every date)"
	case v == int64(metric.MinDate):
		return "no date (before every date)"
	case v >= int64(metric.DateOf(1900, 1, 1)) && v <= int64(metric.DateOf(2200, 1, 1)) && (v >= 1000 || v <= -1000):
		return fmt.Sprintf("%d (%s)", v, metric.Date(v))
	}
	return strconv.FormatInt(v, 10)
}

// WriteText writes the trace for people: the populations first, then
// every define with its events.
func (t *Trace) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "measure %s, member %s, period %s\n", t.Measure, t.Member, t.Period)
	if t.Episode != nil {
		fmt.Fprintf(&b, "episode: %s\n", t.Episode)
	}
	if t.NoEpisodes {
		b.WriteString("no episodes: the member counts in no population\n")
	}
	for _, g := range t.Groups {
		fmt.Fprintf(&b, "group %s\n", g.ID)
		for _, p := range g.Populations {
			mark := "no "
			if p.Counted {
				mark = "yes"
			}
			val := ""
			if p.Value != nil {
				val = fmt.Sprintf(" = %d", *p.Value)
			}
			fmt.Fprintf(&b, "  %-24s %s%s  <- %s\n", p.Population, mark, val, oneLine(p.Expr))
			for _, e := range p.Events {
				fmt.Fprintf(&b, "      %s\n", e)
			}
		}
	}
	for _, s := range t.Strata {
		fmt.Fprintf(&b, "stratum %s: %s\n", s.Stratifier, strings.Join(s.Values, ", "))
	}
	b.WriteString("defines\n")
	for _, d := range t.Defines {
		fmt.Fprintf(&b, "  %s (%s) = %s", d.Name, d.Type, d.Value)
		if d.Error != "" {
			fmt.Fprintf(&b, "  [error: %s]", d.Error)
		}
		b.WriteString("\n")
		switch {
		case len(d.Events) > 0:
			for _, e := range d.Events {
				fmt.Fprintf(&b, "      %s\n", e)
			}
		case d.Type == kEvents.String() || len(d.Uses) > 0:
			b.WriteString("      (no events)\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// String formats the event as "date[..end] system code [= value] [source]".
func (e TraceEvent) String() string {
	s := e.Date.String()
	if e.End != nil {
		s += ".." + e.End.String()
	}
	s += " " + e.System + " " + e.Code
	if e.Value != nil {
		s += " = " + strconv.FormatFloat(*e.Value, 'g', -1, 64)
	}
	if e.Source != "" {
		s += " [" + e.Source + "]"
	}
	return s
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
