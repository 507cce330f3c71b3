package dsl

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caremetrics/caremetrics/metric"
)

// windowsText writes windows as "Set From..To" lines, in the order of the
// requirements.
func windowsText(r Requirements) []string {
	var out []string
	for _, w := range r.Windows {
		for _, c := range w.Rows {
			name := c.Code[0] + ":" + c.Code[1]
			if c.ValueSet != nil {
				name = c.ValueSet.Name
			}
			out = append(out, name+" "+w.Window.String())
		}
	}
	return out
}

func TestDateWindows(t *testing.T) {
	for _, tc := range []struct {
		name, defines string
		want          []string
	}{
		{"between the period", `  n: exists(between(events("Visit"), period_start, period_end))`,
			[]string{"Visit 2025-01-01 .. 2025-12-31"}},
		{"read whole", `  n: exists(events("Visit"))`, nil},
		{"read whole by one use", `  n: exists(between(events("Visit"), period_start, period_end)) || exists(earliest(events("Visit")))`, nil},
		{"a year back, exactly", `  n: exists(between(events("Visit"), addYears(period_start, -1), addDays(period_end, -30)))`,
			[]string{"Visit 2024-01-01 .. 2025-12-01"}},
		{"months", `  n: exists(between(events("Visit"), addMonths(period_start, -6), addMonths(period_end, 2)))`,
			[]string{"Visit 2024-07-01 .. 2026-02-28"}},
		{"arithmetic and literals", `  n: exists(between(events("Visit"), period_start - 10, date("2025-06-30") + 1))`,
			[]string{"Visit 2024-12-22 .. 2025-07-01"}},
		{"only an upper bound", `  n: exists(overlaps(events("Visit"), period_start, period_end))`,
			[]string{"Visit any date .. 2025-12-31"}},
		{"a member's own dates bound nothing", `  n: exists(between(events("Visit"), birth_date, addYears(birth_date, 2)))`, nil},
		{"a member's date on one side", `  n: exists(between(events("Visit"), birth_date, period_end))`,
			[]string{"Visit any date .. 2025-12-31"}},
		{"nested filters intersect", `  n: exists(between(between(events("Visit"), period_start, period_end), addDays(period_start, 100), addYears(period_end, 5)))`,
			[]string{"Visit 2025-04-11 .. 2025-12-31"}},
		{"two uses make a hull", `  n: exists(between(events("Visit"), period_start, addDays(period_start, 10))) && exists(between(events("Visit"), addDays(period_end, -5), period_end))`,
			[]string{"Visit 2025-01-01 .. 2025-12-31"}},
		{"defines carry bounds", "  lookback: addDays(period_end, -90)\n  visits: events(\"Visit\")\n  n: exists(between(visits, lookback, period_end))",
			[]string{"Visit 2025-10-02 .. 2025-12-31"}},
		{"conditional bounds", `  n: 'exists(between(events("Visit"), sex == "F" ? period_start : addDays(period_start, -10), period_end))'`,
			[]string{"Visit 2024-12-22 .. 2025-12-31"}},
		{"withinDays of a bounded anchor", `  n: exists(withinDays(events("PHQ9"), earliest(between(events("Visit"), period_start, addDays(period_end, -30))), 0, 30))`,
			[]string{"Visit 2025-01-01 .. 2025-12-01", "PHQ9 2025-01-01 .. 2025-12-31"}},
		{"the first date of bounded rows, or none (after every date)", `  n: exists(between(events("PHQ9"), firstDate(between(events("Visit"), period_start, period_end)), addDays(firstDate(between(events("Visit"), period_start, period_end)), 30)))`,
			[]string{"Visit 2025-01-01 .. 2025-12-31", "PHQ9 2025-01-01 .. any date"}},
		{"the last date of bounded rows, or none (before every date)", `  n: exists(between(events("PHQ9"), addDays(lastDate(between(events("Visit"), period_start, period_end)), -30), lastDate(between(events("Visit"), period_start, period_end))))`,
			[]string{"PHQ9 any date .. 2025-12-31", "Visit 2025-01-01 .. 2025-12-31"}},
		{"withinDays of an unbounded anchor", `  n: exists(withinDays(events("PHQ9"), events("Visit"), 0, 30))`, nil},
		{"except reads its second argument within the first's dates", `  n: exists(except(between(events("Visit"), period_start, period_end), events("Depression")))`,
			[]string{"Visit 2025-01-01 .. 2025-12-31", "Depression 2025-01-01 .. 2025-12-31"}},
		{"except's second argument matters only where its result does", `  n: exists(between(except(events("Visit"), events("Depression")), period_start, period_end))`,
			[]string{"Visit 2025-01-01 .. 2025-12-31", "Depression 2025-01-01 .. 2025-12-31"}},
		{"except's second argument read whole where its result is", `  n: exists(except(events("Visit"), events("Depression")))`, nil},
		{"sameClaim keeps the bounds of the rows passed on", `  n: exists(between(sameClaim(events("Visit"), events("Depression")), period_start, period_end))`,
			[]string{"Visit 2025-01-01 .. 2025-12-31"}},
		{"an empty range needs no row", `  n: exists(between(events("Visit"), period_end, period_start))`,
			[]string{"Visit 2025-12-31 .. 2025-01-01"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := measureWith(t, tc.defines)
			assert.Equal(t, tc.want, windowsText(m.Requirements()))
		})
	}
}

func TestDateWindowsFollowThePeriod(t *testing.T) {
	m := measureWith(t, `  n: exists(between(events("Visit"), addYears(period_start, -1), period_end))`)
	r2024 := m.RequirementsFor(metric.CalendarYear(2024))
	assert.Equal(t, []string{"Visit 2023-01-01 .. 2024-12-31"}, windowsText(r2024))
	assert.Equal(t, windowsText(RequirementsOver(metric.CalendarYear(2024), m)), windowsText(r2024))

	r2025 := m.Requirements()
	ok, missing := r2025.Covers(r2024)
	assert.False(t, ok, "data loaded for 2025 lacks 2023's rows")
	assert.Equal(t, "the rows of value set Visit dated outside 2024-01-01 .. 2025-12-31", missing)
	ok, _ = r2025.Covers(r2025)
	assert.True(t, ok)
	whole := RequirementsOf(measureWith(t, `  n: exists(events("Visit"))`))
	ok, _ = whole.Covers(r2024)
	assert.True(t, ok, "data with every row serves any period")
	ok, missing = r2025.Covers(whole)
	assert.False(t, ok)
	assert.Contains(t, missing, "value set Visit")

	assert.Equal(t, []string{"rows of value set Visit dated outside 2024-01-01 .. 2025-12-31"}, r2025.Unloaded(r2024))
	assert.Empty(t, r2025.Unloaded(RequirementsOf(measureWith(t, `  n: exists(events("PHQ9"))`))))
}

func TestDateWindowsMerge(t *testing.T) {
	in2025 := measureWith(t, `  n: exists(between(events("Visit"), period_start, period_end))`)
	prior := measureWith(t, `  n: exists(between(events("Visit"), addYears(period_start, -1), addYears(period_end, -1))) && exists(events("PHQ9"))`)
	whole := measureWith(t, `  n: exists(events("Visit"))`)
	assert.Equal(t, []string{"Visit 2024-01-01 .. 2025-12-31"}, windowsText(RequirementsOf(in2025, prior)))
	assert.Equal(t, windowsText(RequirementsOf(in2025, prior)), windowsText(RequirementsOf(prior, in2025)), "in either order")
	assert.Empty(t, windowsText(RequirementsOf(in2025, whole)), "read whole by one measure, Visit is needed whole")
	assert.Empty(t, windowsText(RequirementsOf(whole, in2025)))

	// A code's rows matter within the window of any set holding it.
	r := RequirementsOf(in2025)
	assert.Equal(t, Window{From: metric.DateOf(2025, 1, 1), To: metric.DateOf(2025, 12, 31)}, r.Rule("CPT", "99213").Window)
	assert.Equal(t, All, r.Rule("LOINC", "44261-6").Window, "a code in no set")
	both := measureWith(t, `  n: exists(between(events("Visit"), period_start, period_end)) && exists(code("CPT", "99213"))`)
	rb := RequirementsOf(both)
	assert.Equal(t, All, rb.Rule("CPT", "99213").Window, "also read whole as a literal code")
}

func TestWindowBoundaries(t *testing.T) {
	w := Window{From: metric.DateOf(2025, 1, 1), To: metric.DateOf(2025, 12, 31)}
	for _, tc := range []struct {
		d    metric.Date
		want bool
	}{
		{metric.DateOf(2024, 12, 31), false},
		{metric.DateOf(2025, 1, 1), true},
		{metric.DateOf(2025, 1, 2), true},
		{metric.DateOf(2025, 12, 30), true},
		{metric.DateOf(2025, 12, 31), true},
		{metric.DateOf(2026, 1, 1), false},
	} {
		assert.Equal(t, tc.want, w.Contains(tc.d), tc.d.String())
	}
	assert.True(t, All.Contains(metric.MinDate+1))
	assert.True(t, All.Contains(metric.NoDate-1))
	empty := Window{From: w.To, To: w.From}
	assert.False(t, empty.Contains(metric.DateOf(2025, 6, 1)))
	assert.True(t, empty.Within(w))
	assert.Equal(t, w, empty.Hull(w))
	assert.Equal(t, w, w.Hull(empty))
}

// The bounds of shifted dates that are not exact (a range of dates, or of
// shifts) hold every date the shift can give.
func TestShiftDaysBounds(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name           string
		minPer, maxPer int64
		add            func(metric.Date, int) metric.Date
	}{
		{"days", 1, 1, metric.Date.AddDays},
		{"months", 28, 31, metric.Date.AddMonths},
		{"years", 365, 366, metric.Date.AddYears},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for range 20000 {
				d := metric.DateOf(1990, 1, 1).AddDays(rng.IntN(365 * 50))
				spread := int64(rng.IntN(40))
				k := int64(rng.IntN(121) - 60)
				// A range of two dates is not exact: the bounds widen.
				base := hullDays([]dayRange{exactDays(int64(d)), exactDays(int64(d) + spread)})
				lo, hi := shiftDays(base, exactDays(k), tc.minPer, tc.maxPer, tc.add)(metric.CalendarYear(2025))
				for _, x := range []int64{int64(d), int64(d) + spread} {
					got := int64(tc.add(metric.Date(x), int(k)))
					if got < lo || got > hi {
						t.Fatalf("%s %+d: %s not in %s .. %s", metric.Date(x), k, metric.Date(got), metric.Date(lo), metric.Date(hi))
					}
				}
			}
		})
	}
	lo, hi := shiftDays(exactDays(int64(metric.DateOf(2024, 2, 29))), exactDays(1), 365, 366, metric.Date.AddYears)(metric.CalendarYear(2025))
	assert.Equal(t, [2]int64{int64(metric.DateOf(2025, 2, 28)), int64(metric.DateOf(2025, 2, 28))}, [2]int64{lo, hi}, "exact dates shift exactly")
	lo, hi = shiftDays(exactDays(int64(metric.NoDate)), exactDays(1), 1, 1, metric.Date.AddDays)(metric.CalendarYear(2025))
	assert.Equal(t, [2]int64{openLo, openHi}, [2]int64{lo, hi}, "no bound on the sentinels")
}

// Every row a measure counts lies in its window: a member with one visit,
// run on every date around the window.
func TestDateWindowsKeepEveryRowThatMatters(t *testing.T) {
	m := measureWith(t, "  lookback: addMonths(period_start, -3)\n  n: exists(between(events(\"Visit\"), lookback, addDays(period_end, -15)))")
	req := m.Requirements()
	w := req.Rule("CPT", "99213").Window
	require.Equal(t, Window{From: metric.DateOf(2024, 10, 1), To: metric.DateOf(2025, 12, 16)}, w)
	for day := w.From - 3; day <= w.To+3; day++ {
		f := &fixture{member: Member{ID: "m1", BirthDate: d("2000-01-01"), DeathDate: metric.NoDate}}
		f.ev(day.String() + " CPT 99213")
		r, err := runFixture(t, m, f)
		require.NoError(t, err)
		counted := r.Memberships[0].Has(metric.Numerator)
		require.Equal(t, w.Contains(day), counted, "a visit on %s", day)
	}
}

// The current episode's rows lie within the rows of the episodes
// expression, so what is read only against the episode is windowed too.
func TestDateWindowsOfEpisodes(t *testing.T) {
	m, err := Compile("e.yaml", []byte(`id: e
title: E
basis: episode
period: {start: 2025-01-01, end: 2025-12-31}
valuesets: [vs.yaml]
episodes: between(events("Visit"), period_start, period_end)
define:
  screened: exists(withinDays(events("PHQ9"), episode, 0, 14))
  diagnosed: exists(except(episode, events("Depression")))
  recent: exists(between(events("DTaP"), addDays(episode_date, -7), episode_date))
groups:
  g: {initial_population: "true", denominator: "true", numerator: screened && diagnosed && recent}
`), testFS(), WithValueSets(sharedValueSets...))
	require.NoError(t, err)
	assert.Equal(t, []string{"DTaP 2024-12-25 .. 2025-12-31", "Depression 2025-01-01 .. 2025-12-31", "Visit 2025-01-01 .. 2025-12-31", "PHQ9 2025-01-01 .. 2026-01-14"},
		windowsText(m.Requirements()))
}
