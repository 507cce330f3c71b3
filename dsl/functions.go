package dsl

import (
	"math"
	"reflect"
	"slices"
	"strconv"

	"github.com/expr-lang/expr/ast"

	"github.com/caremetrics/caremetrics/metric"
)

// function is one entry of the expression library: its signature for
// expr's type checker, and a builder that turns checked arguments into a
// closure. literal lists argument positions that must be literals and are
// read from the syntax tree instead of compiled.
type function struct {
	sig     any
	literal []int
	build   func(c *checker, n *ast.CallNode, args []compiled) compiled
	// columns are the optional events columns the function reads.
	columns Column
	// rows is how Events arguments reach the result (claimscope.go).
	rows rowFlow
	// window, when set, bounds the dates of the rows of the result,
	// which the first argument's rows reach (datewindow.go).
	window func(args []compiled) dayRange
	// byIdentity says the other arguments are read only for the rows
	// they share with the first (except): their rows matter only within
	// its dates, and only where a row of the result would, so they pass
	// on with the result's (rows: flowAll), as if they could be in it.
	byIdentity bool
}

var functions map[string]function

func init() {
	functions = map[string]function{
		// Dates.
		"date": {sig: new(func(string) int), literal: []int{0}, build: func(c *checker, n *ast.CallNode, _ []compiled) compiled {
			d, ok := c.dateLiteral(n.Arguments[0])
			if !ok {
				return compiled{}
			}
			return constInt(int64(d))
		}},
		"addDays": {sig: new(func(int, int) int), build: func(_ *checker, _ *ast.CallNode, a []compiled) compiled {
			d, k := a[0].i, a[1].i
			return compiled{k: kInt, days: shiftDays(a[0].days, a[1].days, 1, 1, metric.Date.AddDays), i: func(r *Runner) int64 {
				return dateOp(d(r), func(x metric.Date) metric.Date { return x.AddDays(int(k(r))) })
			}}
		}},
		"addMonths": {sig: new(func(int, int) int), build: func(_ *checker, _ *ast.CallNode, a []compiled) compiled {
			d, k := a[0].i, a[1].i
			return compiled{k: kInt, days: shiftDays(a[0].days, a[1].days, 28, 31, metric.Date.AddMonths), i: func(r *Runner) int64 {
				return dateOp(d(r), func(x metric.Date) metric.Date { return x.AddMonths(clampInt(k(r))) })
			}}
		}},
		"addYears": {sig: new(func(int, int) int), build: func(_ *checker, _ *ast.CallNode, a []compiled) compiled {
			d, k := a[0].i, a[1].i
			return compiled{k: kInt, days: shiftDays(a[0].days, a[1].days, 365, 366, metric.Date.AddYears), i: func(r *Runner) int64 {
				return dateOp(d(r), func(x metric.Date) metric.Date { return x.AddYears(clampInt(k(r))) })
			}}
		}},
		"birthday": {sig: new(func(int) int), build: func(_ *checker, _ *ast.CallNode, a []compiled) compiled {
			k := a[0].i
			return compiled{k: kInt, i: func(r *Runner) int64 { return r.memberDate(birthday, k(r)) }}
		}},
		"ageOn": {sig: new(func(int) int), build: func(_ *checker, _ *ast.CallNode, a []compiled) compiled {
			d := a[0].i
			return compiled{k: kInt, i: func(r *Runner) int64 { return r.memberDate(monthsOld, d(r)) / 12 }}
		}},
		"ageInMonthsOn": {sig: new(func(int) int), build: func(_ *checker, _ *ast.CallNode, a []compiled) compiled {
			d := a[0].i
			return compiled{k: kInt, i: func(r *Runner) int64 { return r.memberDate(monthsOld, d(r)) }}
		}},
		"daysBetween": {sig: new(func(int, int) int), build: func(_ *checker, _ *ast.CallNode, a []compiled) compiled {
			x, y := a[0].i, a[1].i
			return compiled{k: kInt, i: func(r *Runner) int64 { return y(r) - x(r) }}
		}},
		"year": {sig: new(func(int) int), build: func(_ *checker, _ *ast.CallNode, a []compiled) compiled {
			d := a[0].i
			return compiled{k: kInt, i: func(r *Runner) int64 {
				v := d(r)
				if !validDate(v) {
					return 0
				}
				y, _, _ := metric.Date(v).YMD()
				return int64(y)
			}}
		}},

		// Event sets.
		"events": {sig: new(func(string) Events), literal: []int{0}, build: func(c *checker, n *ast.CallNode, _ []compiled) compiled {
			vs, ok := c.valueSet(n.Arguments[0])
			if !ok {
				return compiled{}
			}
			return c.codeSet([]codeRef{{i: vs}})
		}},
		"code": {sig: new(func(string, string) Events), literal: []int{0, 1}, build: func(c *checker, n *ast.CallNode, _ []compiled) compiled {
			sysName, ok1 := c.literalString(n.Arguments[0], "a code system")
			code, ok2 := c.literalString(n.Arguments[1], "a code")
			if !ok1 || !ok2 {
				return compiled{}
			}
			sys, known := NormalizeSystem(sysName)
			if !known {
				return c.errAt(n.Arguments[0], ErrInvalid, "unknown code system %q", sysName)
			}
			lc := literalCode{sys, NormalizeCode(sys, code)}
			k := slices.Index(c.m.codes, lc)
			if k < 0 {
				k = len(c.m.codes)
				c.m.codes = append(c.m.codes, lc)
			}
			return c.codeSet([]codeRef{{lit: true, i: k}})
		}},
		"union": {sig: new(func(Events, Events, ...Events) Events), rows: flowAll, build: func(c *checker, _ *ast.CallNode, a []compiled) compiled {
			var refs []codeRef
			for _, x := range a {
				if x.codes == nil {
					refs = nil
					break
				}
				refs = append(refs, x.codes...)
			}
			if refs != nil {
				return c.codeSet(refs)
			}
			fns := make([]func(*Runner) evset, len(a))
			for i := range a {
				fns[i] = a[i].e
			}
			return compiled{k: kEvents, e: func(r *Runner) evset {
				acc := fns[0](r)
				for _, f := range fns[1:] {
					acc = r.merge(acc, f(r))
				}
				return acc
			}}
		}},
		"except": {sig: new(func(Events, Events) Events), rows: flowAll, byIdentity: true, build: func(_ *checker, _ *ast.CallNode, a []compiled) compiled {
			x, y := a[0].e, a[1].e
			return compiled{k: kEvents, e: func(r *Runner) evset {
				p := x(r)
				if len(p) == 0 {
					return p // nothing to take from: y is not computed
				}
				q := y(r)
				if len(q) == 0 {
					return p
				}
				start := len(r.arena)
				j := 0
				for _, i := range p {
					for j < len(q) && q[j] < i {
						j++
					}
					if j == len(q) || q[j] != i {
						r.arena = append(r.arena, i)
					}
				}
				return r.endSet(start)
			}}
		}},
		// The kept rows' dates are at most to (a row never ends before
		// it starts: the loaders refuse such rows), and at least from for
		// between and during.
		"between": filterRange(0, true, nil), // the date run is the result
		"during":  filterRange(ColumnEndDate, true, func(e *Event, from, to metric.Date) bool { return e.Date >= from && endOf(e) <= to }),
		"overlaps": filterRange(ColumnEndDate, false, func(e *Event, from, to metric.Date) bool {
			return e.Date <= to && endOf(e) >= from
		}),
		"prevalentDuring": filterRange(ColumnEndDate, false, func(e *Event, from, to metric.Date) bool {
			return e.Date <= to && (e.End == metric.NoDate || e.End >= from)
		}),
		"endsBetween": filterRange(ColumnEndDate, false, func(e *Event, from, to metric.Date) bool { end := endOf(e); return end >= from && end <= to }),
		"hasValue": {sig: new(func(Events) Events), columns: ColumnValue, rows: flowFirst, build: func(_ *checker, _ *ast.CallNode, a []compiled) compiled {
			x := a[0].e
			return compiled{k: kEvents, e: func(r *Runner) evset {
				return r.filter(x(r), func(e *Event) bool { return !math.IsNaN(e.Value) })
			}}
		}},
		"valueAtLeast": filterValue(func(v, lo, _ float64) bool { return v >= lo }, 1),
		"valueAbove":   filterValue(func(v, lo, _ float64) bool { return v > lo }, 1),
		"valueBelow":   filterValue(func(v, hi, _ float64) bool { return v < hi }, 1),
		"valueAtMost":  filterValue(func(v, hi, _ float64) bool { return v <= hi }, 1),
		"valueBetween": filterValue(func(v, lo, hi float64) bool { return v >= lo && v <= hi }, 2),
		"fromSource": {sig: new(func(Events, string) Events), literal: []int{1}, columns: ColumnSource, rows: flowFirst, build: func(c *checker, n *ast.CallNode, a []compiled) compiled {
			src, ok := c.literalString(n.Arguments[1], "a source")
			if !ok {
				return compiled{}
			}
			k := slices.Index(c.m.sources, src)
			if k < 0 {
				k = len(c.m.sources)
				c.m.sources = append(c.m.sources, src)
			}
			x := a[0].e
			return compiled{k: kEvents, e: func(r *Runner) evset {
				id := r.b.sources[k]
				return r.filter(x(r), func(e *Event) bool { return id >= 0 && e.Source == id })
			}}
		}},
		"withinDays": {sig: new(func(Events, Events, int, int) Events), rows: flowFirst, window: withinDaysWindow, build: func(_ *checker, _ *ast.CallNode, a []compiled) compiled {
			x, y, lo, hi := a[0].e, a[1].e, a[2].i, a[3].i
			return compiled{k: kEvents, e: func(r *Runner) evset {
				p := x(r)
				if len(p) == 0 {
					return p
				}
				q, l, h := y(r), lo(r), hi(r)
				if len(q) == 0 {
					return nil
				}
				return r.filter(p, func(e *Event) bool {
					if !r.tick(len(q)) {
						return false
					}
					for _, j := range q {
						if d := int64(e.Date) - int64(r.events[j].Date); d >= l && d <= h {
							return true
						}
					}
					return false
				})
			}}
		}},
		"sameClaim": {sig: new(func(Events, Events) Events), columns: ColumnClaimID, rows: flowClaim, build: func(_ *checker, _ *ast.CallNode, a []compiled) compiled {
			x, y := a[0].e, a[1].e
			return compiled{k: kEvents, e: func(r *Runner) evset {
				p := x(r)
				if len(p) == 0 {
					return p
				}
				q := y(r)
				if len(q) == 0 {
					return nil
				}
				return r.filter(p, func(e *Event) bool {
					if e.Claim == 0 || !r.tick(len(q)) {
						return false
					}
					for _, j := range q {
						if r.events[j].Claim == e.Claim {
							return true
						}
					}
					return false
				})
			}}
		}},
		asEventsFn: {sig: new(func(any) Events), rows: flowFirst, build: func(c *checker, n *ast.CallNode, a []compiled) compiled {
			if a[0].k != kEvents {
				return c.errAt(n, ErrType, "filter needs Events, not %s", a[0].k)
			}
			return a[0]
		}},
		"onePerDay": {sig: new(func(Events) Events), build: func(_ *checker, _ *ast.CallNode, a []compiled) compiled {
			x := a[0].e
			return compiled{k: kEvents, e: func(r *Runner) evset {
				p := x(r)
				start := len(r.arena)
				for k, i := range p {
					// Sets are in date order: the first of each date stays.
					if k == 0 || r.events[i].Date != r.events[p[k-1]].Date {
						r.arena = append(r.arena, i)
					}
				}
				if len(r.arena)-start == len(p) {
					r.arena = r.arena[:start]
					return p
				}
				return r.endSet(start)
			}}
		}},
		"onePerClaim": {sig: new(func(Events) Events), columns: ColumnClaimID, build: func(_ *checker, _ *ast.CallNode, a []compiled) compiled {
			x := a[0].e
			return compiled{k: kEvents, e: func(r *Runner) evset {
				p := x(r)
				start := len(r.arena)
			next:
				for _, i := range p {
					if c := r.events[i].Claim; c != 0 {
						if !r.tick(len(r.arena) - start) {
							break
						}
						for _, j := range r.arena[start:] {
							if r.events[j].Claim == c {
								continue next
							}
						}
					}
					r.arena = append(r.arena, i)
				}
				if len(r.arena)-start == len(p) {
					r.arena = r.arena[:start]
					return p
				}
				return r.endSet(start)
			}}
		}},
		"earliest": {sig: new(func(Events) Events), build: func(_ *checker, _ *ast.CallNode, a []compiled) compiled {
			x := a[0].e
			return compiled{k: kEvents, e: func(r *Runner) evset {
				p := x(r)
				if len(p) == 0 {
					return p
				}
				d := r.events[p[0]].Date
				n := 1
				for n < len(p) && r.events[p[n]].Date == d {
					n++
				}
				return p[:n:n]
			}}
		}},
		"latest": {sig: new(func(Events) Events), build: func(_ *checker, _ *ast.CallNode, a []compiled) compiled {
			x := a[0].e
			return compiled{k: kEvents, e: func(r *Runner) evset {
				p := x(r)
				if len(p) == 0 {
					return p
				}
				d := r.events[p[len(p)-1]].Date
				n := len(p) - 1
				for n > 0 && r.events[p[n-1]].Date == d {
					n--
				}
				return p[n:]
			}}
		}},
		"exists": {sig: new(func(Events) bool), build: func(_ *checker, _ *ast.CallNode, a []compiled) compiled {
			x := a[0].e
			return compiled{k: kBool, b: func(r *Runner) bool { return len(x(r)) > 0 }}
		}},
		"countEvents": {sig: new(func(Events) int), build: func(_ *checker, _ *ast.CallNode, a []compiled) compiled {
			x := a[0].e
			return compiled{k: kInt, i: func(r *Runner) int64 { return int64(len(x(r))) }}
		}},
		"countDates": {sig: new(func(Events) int), build: func(_ *checker, _ *ast.CallNode, a []compiled) compiled {
			x := a[0].e
			return compiled{k: kInt, i: func(r *Runner) int64 { return int64(r.distinctDates(x(r), math.MaxInt)) }}
		}},
		"nthDate": {sig: new(func(Events, int) int), build: func(_ *checker, _ *ast.CallNode, a []compiled) compiled {
			x, k := a[0].e, a[1].i
			// A date of one of x's rows, or NoDate.
			return compiled{k: kInt, days: rangeDays(rowsWindow(a[0].rows), nil), i: func(r *Runner) int64 {
				n := k(r)
				if n < 1 {
					return int64(metric.NoDate)
				}
				p := x(r)
				count := 0
				for i, j := range p {
					if i == 0 || r.events[j].Date != r.events[p[i-1]].Date {
						count++
						if int64(count) == n {
							return int64(r.events[j].Date)
						}
					}
				}
				return int64(metric.NoDate)
			}}
		}},
		"firstDate": {sig: new(func(Events) int), build: func(_ *checker, _ *ast.CallNode, a []compiled) compiled {
			x := a[0].e
			// A date of one of x's rows, or NoDate, after every date.
			return compiled{k: kInt, days: rangeDays(rowsWindow(a[0].rows), nil), i: func(r *Runner) int64 {
				if p := x(r); len(p) > 0 {
					return int64(r.events[p[0]].Date)
				}
				return int64(metric.NoDate)
			}}
		}},
		"lastDate": {sig: new(func(Events) int), build: func(_ *checker, _ *ast.CallNode, a []compiled) compiled {
			x := a[0].e
			// A date of one of x's rows, or MinDate, before every date.
			return compiled{k: kInt, days: rangeDays(nil, rowsWindow(a[0].rows)), i: func(r *Runner) int64 {
				if p := x(r); len(p) > 0 {
					return int64(r.events[p[len(p)-1]].Date)
				}
				return int64(metric.MinDate)
			}}
		}},
		"maxValue": aggValue(func(best, v float64) bool { return v > best }),
		"minValue": aggValue(func(best, v float64) bool { return v < best }),

		// Enrollment.
		"enrolled": {sig: new(func(int, int, string, int, int) bool), literal: []int{2}, build: func(c *checker, n *ast.CallNode, a []compiled) compiled {
			want, ok := c.benefit(n.Arguments[2])
			if !ok {
				return compiled{}
			}
			from, to, gaps, gapDays := a[0].i, a[1].i, a[3].i, a[4].i
			return compiled{k: kBool, b: func(r *Runner) bool {
				return continuous(r.spans, want, from(r), to(r), gaps(r), gapDays(r))
			}}
		}},
		"enrolledOn": {sig: new(func(int, string) bool), literal: []int{1}, build: func(c *checker, n *ast.CallNode, a []compiled) compiled {
			want, ok := c.benefit(n.Arguments[1])
			if !ok {
				return compiled{}
			}
			d := a[0].i
			return compiled{k: kBool, b: func(r *Runner) bool { return enrolledOn(r.spans, want, d(r)) }}
		}},

		"memberMonths": {sig: new(func(int, int, string, int) int), literal: []int{2}, build: func(c *checker, n *ast.CallNode, a []compiled) compiled {
			want, ok := c.benefit(n.Arguments[2])
			if !ok {
				return compiled{}
			}
			from, to, day := a[0].i, a[1].i, a[3].i
			return compiled{k: kInt, i: func(r *Runner) int64 {
				return memberMonths(r.spans, want, from(r), to(r), day(r))
			}}
		}},

		// Lists of strings, for multi-valued strata such as the domains of
		// need a member screened positive for.
		"labelIf": {sig: new(func(bool, string) []string), build: func(_ *checker, _ *ast.CallNode, a []compiled) compiled {
			cond, label := a[0].b, a[1].s
			return compiled{k: kList, l: func(r *Runner) []string {
				if !cond(r) {
					return nil
				}
				return r.list(label(r))
			}}
		}},
		"concat": {sig: new(func([]string, ...[]string) []string), build: func(_ *checker, _ *ast.CallNode, a []compiled) compiled {
			fns := make([]func(*Runner) []string, len(a))
			for i := range a {
				fns[i] = a[i].l
			}
			return compiled{k: kList, l: func(r *Runner) []string {
				// The parts first: building them may append to the arena.
				var buf [8][]string
				parts := buf[:0]
				for _, f := range fns {
					parts = append(parts, f(r))
				}
				start := len(r.listArena)
				for _, p := range parts {
					r.listArena = append(r.listArena, p...)
				}
				return r.listArena[start:len(r.listArena):len(r.listArena)]
			}}
		}},
		"orElse": {sig: new(func([]string, string) []string), build: func(_ *checker, _ *ast.CallNode, a []compiled) compiled {
			list, fallback := a[0].l, a[1].s
			return compiled{k: kList, l: func(r *Runner) []string {
				if l := list(r); len(l) > 0 {
					return l
				}
				return r.list(fallback(r))
			}}
		}},

		// Strata.
		"raceCategories": {sig: new(func() []string), build: func(_ *checker, _ *ast.CallNode, _ []compiled) compiled {
			return compiled{k: kList, member: "raceCategories()", l: func(r *Runner) []string {
				r.raceBuf = raceStrata(r.raceBuf[:0], r.member.Race, r.race)
				return r.raceBuf
			}}
		}},
		"category": {sig: new(func(string) string), literal: []int{0}, build: func(c *checker, n *ast.CallNode, _ []compiled) compiled {
			return c.category(n.Arguments[0])
		}},
		"ageBand": {sig: new(func(int, ...string) string), literal: []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, build: func(c *checker, n *ast.CallNode, a []compiled) compiled {
			bands, labels, ok := c.ageBands(n.Arguments[1:])
			if !ok {
				return compiled{}
			}
			age := a[0].i
			return compiled{k: kString, s: func(r *Runner) string {
				v := age(r)
				for i, b := range bands {
					if v >= b[0] && v <= b[1] {
						return labels[i]
					}
				}
				return "other"
			}}
		}},
	}
}

func constInt(v int64) compiled {
	return compiled{k: kInt, days: exactDays(v), i: func(*Runner) int64 { return v }}
}

func validDate(v int64) bool { return v > int64(metric.MinDate) && v < int64(metric.NoDate) }

// dateOp applies f to a real date and passes the absent-date sentinels
// through unchanged, so arithmetic on "no date" stays "no date".
func dateOp(v int64, f func(metric.Date) metric.Date) int64 {
	if !validDate(v) || v < -1e6 || v > 1e6 {
		return v
	}
	return int64(f(metric.Date(v)))
}

func clampInt(v int64) int {
	return int(max(min(v, 100000), -100000))
}

func monthsBetween(birth metric.Date, on int64) int64 {
	if !validDate(on) || on < -1e6 || on > 1e6 {
		return -1
	}
	return int64(birth.MonthsUntil(metric.Date(on)))
}

func endOf(e *Event) metric.Date {
	if e.End == metric.NoDate {
		return e.Date
	}
	return e.End
}

// merge returns the union of two sets, in index (so date) order. Sets are
// read-only, so when one is empty (most are, in a union of a dozen
// screening instruments) the other is returned as it is.
func (r *Runner) merge(p, q evset) evset {
	switch {
	case len(p) == 0:
		return q
	case len(q) == 0:
		return p
	}
	start := len(r.arena)
	i, j := 0, 0
	for i < len(p) || j < len(q) {
		switch {
		case j == len(q) || (i < len(p) && p[i] < q[j]):
			r.arena = append(r.arena, p[i])
			i++
		case i == len(p) || q[j] < p[i]:
			r.arena = append(r.arena, q[j])
			j++
		default:
			r.arena = append(r.arena, p[i])
			i++
			j++
		}
	}
	return r.endSet(start)
}

// filter returns the events of p that keep accepts; p itself, uncopied,
// when it accepts them all, as a window over the period often does.
func (r *Runner) filter(p evset, keep func(*Event) bool) evset {
	n := 0
	for n < len(p) && keep(&r.events[p[n]]) {
		n++
	}
	if n == len(p) {
		return p
	}
	start := len(r.arena)
	r.arena = append(r.arena, p[:n]...)
	for _, i := range p[n+1:] {
		if keep(&r.events[i]) {
			r.arena = append(r.arena, i)
		}
	}
	return r.endSet(start)
}

func (r *Runner) distinctDates(p evset, limit int) int {
	n := 0
	for i, j := range p {
		if i == 0 || r.events[j].Date != r.events[p[i-1]].Date {
			n++
			if n >= limit {
				return n
			}
		}
	}
	return n
}

// filterRange is a function of an event set and a window from..to whose
// rows are dated at most to and, with fromBounds, at least from; keep,
// when not nil, tests what else a row needs.
func filterRange(cols Column, fromBounds bool, keep func(e *Event, from, to metric.Date) bool) function {
	window := func(a []compiled) dayRange {
		if fromBounds {
			return rangeDays(a[1].days, a[2].days)
		}
		return rangeDays(nil, a[2].days)
	}
	return function{sig: new(func(Events, int, int) Events), columns: cols, rows: flowFirst, window: window, build: func(_ *checker, _ *ast.CallNode, a []compiled) compiled {
		x, lo, hi := a[0].e, a[1].i, a[2].i
		return compiled{k: kEvents, e: func(r *Runner) evset {
			// Most members have no events of most sets: the bounds, often
			// date arithmetic on the member's birthday, are not computed
			// for an empty set.
			xs := x(r)
			if len(xs) == 0 {
				return xs
			}
			from, to := clampDate(lo(r)), clampDate(hi(r))
			first := metric.MinDate
			if fromBounds {
				first = from
			}
			xs = r.dateRun(xs, first, to)
			if keep == nil || len(xs) == 0 {
				return xs
			}
			return r.filter(xs, func(e *Event) bool { return keep(e, from, to) })
		}}
	}}
}

// dateRun returns the events of p dated first..last. A set is in date
// order, so they are a run of it, taken without a copy; the functions of
// date windows narrow to it before testing what else they test.
func (r *Runner) dateRun(p evset, first, last metric.Date) evset {
	i := 0
	for i < len(p) && r.events[p[i]].Date < first {
		i++
	}
	j := len(p)
	for j > i && r.events[p[j-1]].Date > last {
		j--
	}
	return p[i:j:j]
}

func clampDate(v int64) metric.Date {
	return metric.Date(max(min(v, int64(metric.NoDate)), int64(metric.MinDate)))
}

func filterValue(keep func(v, a, b float64) bool, nargs int) function {
	sig := any(new(func(Events, float64) Events))
	if nargs == 2 {
		sig = new(func(Events, float64, float64) Events)
	}
	return function{sig: sig, columns: ColumnValue, rows: flowFirst, build: func(_ *checker, _ *ast.CallNode, a []compiled) compiled {
		x, lo := a[0].e, a[1].asFloat()
		hi := func(*Runner) float64 { return 0 }
		if nargs == 2 {
			hi = a[2].asFloat()
		}
		return compiled{k: kEvents, e: func(r *Runner) evset {
			xs := x(r)
			if len(xs) == 0 {
				return xs // the bounds are not computed, as in filterRange
			}
			l, h := lo(r), hi(r)
			return r.filter(xs, func(e *Event) bool { return !math.IsNaN(e.Value) && keep(e.Value, l, h) })
		}}
	}}
}

func aggValue(better func(best, v float64) bool) function {
	return function{sig: new(func(Events) float64), columns: ColumnValue, build: func(_ *checker, _ *ast.CallNode, a []compiled) compiled {
		x := a[0].e
		return compiled{k: kFloat, f: func(r *Runner) float64 {
			best := math.NaN()
			for _, i := range x(r) {
				v := r.events[i].Value
				if !math.IsNaN(v) && (math.IsNaN(best) || better(best, v)) {
					best = v
				}
			}
			return best
		}}
	}}
}

// continuous applies the HEDIS continuous-enrollment rule over from..to:
// spans carrying every benefit in want (0 = any) are merged, and each
// maximal run of uncovered days (before the first span, between spans,
// after the last) is a gap; at most maxGaps gaps of at most maxGapDays
// days each are allowed.
func continuous(spans []Span, want Benefits, from, to, maxGaps, maxGapDays int64) bool {
	if from > to {
		return true
	}
	cursor := from // first day not yet known to be covered
	gaps := int64(0)
	gap := func(days int64) bool {
		gaps++
		return gaps <= maxGaps && days <= maxGapDays
	}
	for i := range spans {
		s := &spans[i]
		if s.Benefits&want != want || int64(s.End) < cursor {
			continue
		}
		start := int64(s.Start)
		if start > to {
			break
		}
		if start > cursor {
			if !gap(start - cursor) {
				return false
			}
		}
		if int64(s.End)+1 > cursor {
			cursor = int64(s.End) + 1
		}
		if cursor > to {
			return true
		}
	}
	if cursor <= to {
		return gap(to - cursor + 1)
	}
	return true
}

// list returns a one-string list from the runner's list arena, which is
// reset for each member, so that building strata does not allocate.
func (r *Runner) list(s string) []string {
	r.listArena = append(r.listArena, s)
	n := len(r.listArena)
	return r.listArena[n-1 : n : n]
}

// enrolledOn reports whether a span with every benefit in want covers day.
func enrolledOn(spans []Span, want Benefits, day int64) bool {
	for i := range spans {
		s := &spans[i]
		if s.Benefits&want == want && int64(s.Start) <= day && int64(s.End) >= day {
			return true
		}
	}
	return false
}

// memberMonths counts the months whose anchor day (day of the month,
// the last day in shorter months) lies in from..to and on which the member
// is enrolled with every benefit in want. HEDIS counts member months as of
// one chosen day each month (commonly the 1st or the 15th), the same day
// throughout, so that a member switching plans mid-month counts once.
func memberMonths(spans []Span, want Benefits, from, to, day int64) int64 {
	if !validDate(from) || !validDate(to) || from > to || day < 1 || day > 31 || to-from > 400*366 {
		return 0
	}
	if !slices.ContainsFunc(spans, func(s Span) bool {
		return s.Benefits&want == want && int64(s.Start) <= to && int64(s.End) >= from
	}) {
		return 0 // most members of a period's cohort are enrolled in it; the rest cost one look
	}
	// Month by month, each anchor from the first of its month, so that
	// no date is converted inside the loop: this runs for every member.
	y, m, _ := metric.Date(from).YMD()
	first := int64(metric.DateOf(y, m, 1))
	var n int64
	for {
		days := metric.DaysIn(y, m)
		anchor := first + int64(min(int(day), days)) - 1
		if anchor > to {
			return n
		}
		if anchor >= from && enrolledOn(spans, want, anchor) {
			n++
		}
		first += int64(days)
		if m++; m > 12 {
			y, m = y+1, 1
		}
	}
}

func (c *checker) benefit(n ast.Node) (Benefits, bool) {
	s, ok := c.literalString(n, "a benefit")
	if !ok {
		return 0, false
	}
	if s == "" {
		return 0, true
	}
	b, ok := ParseBenefit(s)
	if !ok {
		c.errAt(n, ErrInvalid, "unknown benefit %q (want one of medical, dental, mental_health, chemical_dependency, pharmacy, or \"\" for any)", s)
		return 0, false
	}
	return b, true
}

func raceStrata(buf, races []string, rule RaceRule) []string {
	for _, r := range races {
		if r != "" && !slices.Contains(buf, r) {
			buf = append(buf, r)
		}
	}
	switch {
	case len(buf) == 0:
		return append(buf, "unknown")
	case len(buf) == 1:
		return buf
	case rule == RaceSingle:
		return append(buf[:0], "multiracial")
	}
	return append(buf, "multiracial")
}

func tristateCategory(t Tristate) string {
	switch t {
	case True:
		return "yes"
	case False:
		return "no"
	}
	return "unknown"
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// category turns an attribute into a stratum value.
func (c *checker) category(arg ast.Node) compiled {
	name, ok := c.literalString(arg, "an attribute name")
	if !ok {
		return compiled{}
	}
	key := "category(" + strconv.Quote(name) + ")"
	str := func(f func(r *Runner) string) compiled { return compiled{k: kString, s: f, member: key} }
	switch name {
	case "sex":
		return str(func(r *Runner) string { return orUnknown(r.member.Sex) })
	case "ethnicity":
		return str(func(r *Runner) string { return orUnknown(r.member.Ethnicity) })
	case "language":
		return str(func(r *Runner) string { return orUnknown(r.member.Language) })
	case "interpreter_needed":
		return str(func(r *Runner) string { return tristateCategory(r.member.InterpreterNeeded) })
	case "disability":
		return str(func(r *Runner) string { return tristateCategory(r.member.Disability) })
	case "race":
		return c.errAt(arg, ErrInvalid, "race is a list: use raceCategories()")
	case "member_id", "birth_date", "death_date", "period_start", "period_end":
		return c.errAt(arg, ErrInvalid, "%s is not a category", name)
	}
	ak, ok := c.attrs[name]
	if !ok {
		return c.errAt(arg, ErrUnknownName, "unknown attribute %q", name)
	}
	i := c.attrIndex(name)
	switch ak {
	case AttrString:
		return str(func(r *Runner) string { return orUnknown(r.b.attrs[i].Strings[r.index]) })
	case AttrBool:
		return str(func(r *Runner) string {
			if r.b.attrs[i].Bools[r.index] {
				return "yes"
			}
			return "no"
		})
	case AttrInt:
		return str(func(r *Runner) string { return strconv.FormatInt(r.b.attrs[i].Ints[r.index], 10) })
	case AttrFloat:
		return str(func(r *Runner) string {
			v := r.b.attrs[i].Floats[r.index]
			if math.IsNaN(v) {
				return "unknown"
			}
			return strconv.FormatFloat(v, 'g', -1, 64)
		})
	case AttrDate:
		return str(func(r *Runner) string { return orUnknown(r.b.attrs[i].Dates[r.index].String()) })
	}
	return c.errAt(arg, ErrInvalid, "attribute %q is a list: use it directly as a stratifier", name)
}

func (c *checker) call(n *ast.CallNode) compiled {
	id, ok := n.Callee.(*ast.IdentifierNode)
	if !ok {
		return c.errAt(n, ErrUnsupported, "only named functions can be called")
	}
	f, ok := functions[id.Value]
	if !ok {
		return c.errAt(n, ErrUnknownName, "unknown function %s", id.Value)
	}
	c.m.columns |= f.columns
	sig := reflect.TypeOf(f.sig).Elem()
	// expr checks arity, but builders index their arguments: never trust
	// a tree that slipped past it.
	if want, got := sig.NumIn(), len(n.Arguments); (sig.IsVariadic() && got < want-1) || (!sig.IsVariadic() && got != want) {
		return c.errAt(n, ErrType, "%s takes %d arguments, not %d", id.Value, want, got)
	}
	args := make([]compiled, len(n.Arguments))
	bad := false
	for i, a := range n.Arguments {
		if slices.Contains(f.literal, i) {
			continue
		}
		if f.rows.passes(i) {
			args[i] = c.flow(a)
		} else {
			args[i] = c.compile(a)
		}
		if !args[i].ok() {
			bad = true
			continue
		}
		var want reflect.Type
		if sig.IsVariadic() && i >= sig.NumIn()-1 {
			want = sig.In(sig.NumIn() - 1).Elem()
		} else if i < sig.NumIn() {
			want = sig.In(i)
		}
		wk := kindOf(want)
		if got := args[i].k; wk != kInvalid && got != wk && !(wk == kFloat && got == kInt) {
			c.errAt(a, ErrType, "argument %d of %s must be %s, not %s", i+1, id.Value, wk, got)
			bad = true
		}
	}
	if bad {
		return compiled{}
	}
	if f.byIdentity {
		w := rowsWindow(args[0].rows)
		for i := 1; i < len(args); i++ {
			args[i].rows = narrowRows(args[i].rows, w)
		}
	}
	if f.columns&ColumnClaimID != 0 {
		for _, a := range args {
			c.readClaims(a)
		}
	}
	out := f.build(c, n, args)
	if out.k == kEvents && out.rows == nil {
		if f.rows == flowClaim {
			out.rows = c.sameClaimRows(args[0], args[1])
		} else {
			out.rows = resultRows(f.rows, args)
		}
		if f.window != nil {
			out.rows = narrowRows(out.rows, f.window(args))
		}
	}
	return out
}
