package dsl

import (
	"math"
	"slices"

	"github.com/caremetrics/caremetrics/metric"
)

// Date windows narrow a measure's data requirements by date, as an eCQM's
// data requirements give each data element's date range. Most shipped
// measures read their visit, diagnosis and screening sets only through
// between(X, period_start, period_end) and the like, while the data holds
// years of history: at the peer's synthetic cohort, half of the events
// that the value sets keep are dated before the measurement year. The
// compiler bounds every int value that is a date computed from the
// period (period_start, period_end, date("..."), addDays, addMonths and
// addYears of those by constants, defines of them), and every Events
// value's rows by the date filters they passed (between, during,
// overlaps, withinDays of bounded anchors, ...); the uses recorded by
// consume (claimscope.go) then carry those bounds, and a code set every
// use of which is bounded is read only within the hull of the bounds.
//
// The analysis is conservative, as the claim scopes' is, with one
// difference: a define's own value, which Explain shows, is not a use
// here (consumeShown). visits: events("Visit"), read only through
// between(visits, ...), is windowed; a trace of such data shows the
// define's rows within the window and lists what was left out
// (Trace.Unloaded), since the rows outside change no result. The bounds
// are functions of the measurement period, so that requirements can be
// stated for any period (RequirementsFor) and checked against the one a
// measure is evaluated over.

// dayRange bounds an int value (a date as days since 1970-01-01, or a
// number of days) given the measurement period: the value lies in lo..hi
// inclusive. math.MinInt64 and math.MaxInt64 mean no bound on that side;
// a nil dayRange bounds nothing.
type dayRange func(p metric.Period) (lo, hi int64)

const (
	openLo int64 = math.MinInt64
	openHi int64 = math.MaxInt64
	// maxShift is the largest shift, in days, that the analysis bounds;
	// beyond it a value is unbounded (no measure reaches so far).
	maxShift = 100_000
	// maxBound is the largest magnitude of a bound the analysis shifts:
	// date arithmetic passes values beyond a million days through
	// unchanged (dateOp), which a bound this far inside still holds.
	maxBound = 500_000
)

func exactDays(v int64) dayRange { return func(metric.Period) (int64, int64) { return v, v } }

var (
	periodStartDays dayRange = func(p metric.Period) (int64, int64) { return int64(p.Start), int64(p.Start) }
	periodEndDays   dayRange = func(p metric.Period) (int64, int64) { return int64(p.End), int64(p.End) }
)

// validDay reports whether v is a real date far from the sentinels, where
// date arithmetic neither clamps nor passes the value through.
func validDay(v int64) bool { return v > -maxBound && v < maxBound }

// shiftDays bounds d + k days, or d + k months (a month 28..31 days) or
// years (365..366) when k counts those; nil when either is unbounded.
// When both are exact, as period-relative dates are once the period is
// known, add gives the exact result.
func shiftDays(d, k dayRange, minPer, maxPer int64, add func(metric.Date, int) metric.Date) dayRange {
	if d == nil || k == nil {
		return nil
	}
	return func(p metric.Period) (int64, int64) {
		dl, dh := d(p)
		kl, kh := k(p)
		if kl < -maxShift || kh > maxShift {
			return openLo, openHi
		}
		if dl == dh && kl == kh && validDay(dl) {
			v := int64(add(metric.Date(dl), int(kl)))
			return v, v
		}
		lo, hi := kl*minPer, kh*maxPer
		if kl < 0 {
			lo = kl * maxPer
		}
		if kh < 0 {
			hi = kh * minPer
		}
		if lo < -maxShift || hi > maxShift {
			return openLo, openHi
		}
		// Each side on its own: a sentinel (a first date of no event)
		// opens its side only.
		l, h := openLo, openHi
		if validDay(dl) {
			l = dl + lo
		}
		if validDay(dh) {
			h = dh + hi
		}
		return l, h
	}
}

// negateDays bounds -d.
func negateDays(d dayRange) dayRange {
	if d == nil {
		return nil
	}
	return func(p metric.Period) (int64, int64) {
		lo, hi := d(p)
		l, h := openLo, openHi
		if validDay(hi) {
			l = -hi
		}
		if validDay(lo) {
			h = -lo
		}
		return l, h
	}
}

// rangeDays bounds a value at least as large as lo's bound and at most as
// large as hi's (either may be nil: that side is open).
func rangeDays(lo, hi dayRange) dayRange {
	if lo == nil && hi == nil {
		return nil
	}
	return func(p metric.Period) (int64, int64) {
		l, h := openLo, openHi
		if lo != nil {
			l, _ = lo(p)
		}
		if hi != nil {
			_, h = hi(p)
		}
		return l, h
	}
}

// intersectDays bounds a value within both a and b.
func intersectDays(a, b dayRange) dayRange {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	return func(p metric.Period) (int64, int64) {
		al, ah := a(p)
		bl, bh := b(p)
		return max(al, bl), min(ah, bh)
	}
}

// hullDays bounds a value within one of ds; nil when one is unbounded or
// there are none.
func hullDays(ds []dayRange) dayRange {
	if len(ds) == 0 || slices.ContainsFunc(ds, func(d dayRange) bool { return d == nil }) {
		return nil
	}
	ds = slices.Clone(ds)
	return func(p metric.Period) (int64, int64) {
		lo, hi := openHi, openLo
		for _, d := range ds {
			l, h := d(p)
			lo, hi = min(lo, l), max(hi, h)
		}
		return lo, hi
	}
}

// rowsWindow bounds the dates of rows: nil when some row may come from
// anywhere (an unbounded item, rows of unknown origin).
func rowsWindow(rows []rowItem) dayRange {
	ws := make([]dayRange, 0, len(rows))
	for _, it := range rows {
		if it.ref == unknownRef {
			return nil
		}
		ws = append(ws, it.win)
	}
	return hullDays(ws)
}

// episodeWindow bounds the current episode's date by the rows of the
// measure's episodes expression. The defines that read the episode are
// compiled before that expression, so the bound looks it up only when
// the requirements are resolved.
func (m *Measure) episodeWindow(p metric.Period) (int64, int64) {
	if m.episodes.k != kEvents {
		return openLo, openHi
	}
	w := rowsWindow(m.episodes.rows)
	if w == nil {
		return openLo, openHi
	}
	return w(p)
}

// narrowRows returns rows with every item's window intersected with w.
func narrowRows(rows []rowItem, w dayRange) []rowItem {
	if w == nil {
		return rows
	}
	out := make([]rowItem, len(rows))
	for i, it := range rows {
		out[i] = it
		out[i].win = intersectDays(it.win, w)
	}
	return out
}

// useWindow records that the rows of it are read within its window.
func (c *checker) useWindow(it rowItem) {
	if c.m.windowUses == nil {
		c.m.windowUses, c.m.unwindowed = map[codeRef][]dayRange{}, map[codeRef]bool{}
	}
	if it.win == nil {
		c.m.unwindowed[it.ref] = true
		return
	}
	c.m.windowUses[it.ref] = append(c.m.windowUses[it.ref], it.win)
}

// dateWindows returns, for period p, the date window of each code set the
// measure reads only within one.
func (m *Measure) dateWindows(p metric.Period) map[CodeRef]Window {
	out := map[CodeRef]Window{}
	for ref, uses := range m.windowUses {
		if m.unwindowed[ref] {
			continue
		}
		lo, hi := hullDays(uses)(p)
		w := Window{From: clampWindow(lo), To: clampWindow(hi)}
		if w.From == metric.MinDate && w.To == metric.NoDate {
			continue
		}
		out[m.codeRef(ref)] = w
	}
	return out
}

func clampWindow(v int64) metric.Date {
	return metric.Date(max(min(v, int64(metric.NoDate)), int64(metric.MinDate)))
}

// Window is a range of event dates, From..To inclusive; metric.MinDate and
// metric.NoDate stand for no bound. A window whose To is before its From
// holds no date: the measures read none of the set's rows.
type Window struct {
	From, To metric.Date
}

// All is the window that holds every date.
var All = Window{From: metric.MinDate, To: metric.NoDate}

// Contains reports whether date d falls in the window.
func (w Window) Contains(d metric.Date) bool { return d >= w.From && d <= w.To }

// Hull returns the smallest window holding both w and o.
func (w Window) Hull(o Window) Window {
	if w.To < w.From {
		return o
	}
	if o.To < o.From {
		return w
	}
	return Window{From: min(w.From, o.From), To: max(w.To, o.To)}
}

// Within reports whether every date of w falls in o.
func (w Window) Within(o Window) bool {
	return w.To < w.From || w.From >= o.From && w.To <= o.To
}

// String gives the window as a message would.
func (w Window) String() string {
	from, to := "any date", "any date"
	if w.From != metric.MinDate {
		from = w.From.String()
	}
	if w.To != metric.NoDate {
		to = w.To.String()
	}
	return from + " .. " + to
}

// DateWindow narrows the rows a loader must keep of some code sets: the
// measures read Rows only through date filters, so a row of them matters
// only when its date falls in Window.
type DateWindow struct {
	Rows   []CodeRef
	Window Window
}

func (r *Requirements) windowMap() map[CodeRef]Window {
	out := map[CodeRef]Window{}
	for _, w := range r.Windows {
		for _, c := range w.Rows {
			out[c] = w.Window
		}
	}
	return out
}

// setWindows stores windows as Windows, one per distinct window, each in
// the order of r's code sets, so that equal inputs give equal
// requirements.
func (r *Requirements) setWindows(windows map[CodeRef]Window) {
	r.Windows = nil
	for _, c := range r.refs() {
		w, ok := windows[c]
		if !ok {
			continue
		}
		i := slices.IndexFunc(r.Windows, func(d DateWindow) bool { return d.Window == w })
		if i < 0 {
			i = len(r.Windows)
			r.Windows = append(r.Windows, DateWindow{Window: w})
		}
		r.Windows[i].Rows = append(r.Windows[i].Rows, c)
	}
	slices.SortStableFunc(r.Windows, func(a, b DateWindow) int {
		if a.Window.From != b.Window.From {
			return int(a.Window.From) - int(b.Window.From)
		}
		return int(a.Window.To) - int(b.Window.To)
	})
}

// mergeWindows is Add's rule for windows: a code set stays windowed only
// if every side that uses it windows it, to the hull of their windows.
func (r *Requirements) mergeWindows(o *Requirements) map[CodeRef]Window {
	rw, ow := r.windowMap(), o.windowMap()
	merged := map[CodeRef]Window{}
	for c, a := range rw {
		if !o.uses(c) {
			merged[c] = a
		} else if b, ok := ow[c]; ok {
			merged[c] = a.Hull(b)
		}
	}
	for c, b := range ow {
		if !r.uses(c) {
			merged[c] = b
		}
	}
	return merged
}

// Unloaded describes the rows that data loaded for r lacks of the code
// sets o uses, for a trace (Trace.Unloaded).
func (r *Requirements) Unloaded(o Requirements) []string {
	var out []string
	for _, d := range r.Windows {
		for _, c := range d.Rows {
			if o.uses(c) {
				out = append(out, "rows of "+c.String()+" dated outside "+d.Window.String())
			}
		}
	}
	return out
}

// coversWindows reports whether data loaded for r holds every row o may
// read of the code sets r windows.
func (r *Requirements) coversWindows(o *Requirements) (bool, string) {
	ow := o.windowMap()
	for _, d := range r.Windows {
		for _, c := range d.Rows {
			if !o.uses(c) {
				continue
			}
			if w, ok := ow[c]; !ok || !w.Within(d.Window) {
				return false, "the rows of " + c.String() + " dated outside " + d.Window.String()
			}
		}
	}
	return true, ""
}

// withinDaysWindow bounds the rows withinDays(p, q, lo, hi) keeps: each is
// lo..hi days from a row of q.
func withinDaysWindow(a []compiled) dayRange {
	q, lo, hi := rowsWindow(a[1].rows), a[2].days, a[3].days
	if q == nil || lo == nil || hi == nil {
		return nil
	}
	return func(p metric.Period) (int64, int64) {
		ql, qh := q(p)
		l, _ := lo(p)
		_, h := hi(p)
		if !validDay(ql) || !validDay(qh) || l < -maxShift || h > maxShift {
			return openLo, openHi
		}
		return ql + l, qh + h
	}
}
