package dsl

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caremetrics/caremetrics/metric"
)

// TestMemberMonths counts months as of their anchor day, at the day
// before, of and after it, at period edges and in short months.
func TestMemberMonths(t *testing.T) {
	year := []Span{{Start: d("2025-01-01"), End: d("2025-12-31"), Benefits: Medical}}
	cases := []struct {
		name     string
		spans    []Span
		from, to string
		benefit  Benefits
		day      int64
		want     int64
	}{
		{"whole year", year, "2025-01-01", "2025-12-31", Medical, 15, 12},
		{"any benefit", year, "2025-01-01", "2025-12-31", 0, 15, 12},
		{"benefit not held", year, "2025-01-01", "2025-12-31", Dental, 15, 0},
		{"enrolled from the 15th", []Span{{Start: d("2025-03-15"), End: d("2025-12-31")}}, "2025-01-01", "2025-12-31", 0, 15, 10},
		{"enrolled from the 16th", []Span{{Start: d("2025-03-16"), End: d("2025-12-31")}}, "2025-01-01", "2025-12-31", 0, 15, 9},
		{"enrolled to the 14th", []Span{{Start: d("2025-01-01"), End: d("2025-03-14")}}, "2025-01-01", "2025-12-31", 0, 15, 2},
		{"enrolled to the 15th", []Span{{Start: d("2025-01-01"), End: d("2025-03-15")}}, "2025-01-01", "2025-12-31", 0, 15, 3},
		{"period from the 16th", year, "2025-01-16", "2025-12-31", 0, 15, 11},
		{"period to the 14th", year, "2025-01-01", "2025-12-14", 0, 15, 11},
		{"day 31 falls on Feb 28", []Span{{Start: d("2025-02-28"), End: d("2025-02-28")}}, "2025-01-01", "2025-12-31", 0, 31, 1},
		{"day 31 falls on Feb 29 in a leap year", []Span{{Start: d("2024-02-29"), End: d("2024-02-29")}}, "2024-01-01", "2024-12-31", 0, 31, 1},
		{"first of the month", []Span{{Start: d("2025-01-02"), End: d("2025-12-31")}}, "2025-01-01", "2025-12-31", 0, 1, 11},
		{"two spans in one month count once", []Span{{Start: d("2025-01-01"), End: d("2025-01-15")}, {Start: d("2025-01-15"), End: d("2025-01-31")}}, "2025-01-01", "2025-12-31", 0, 15, 1},
		{"period across years", year, "2024-07-01", "2025-06-30", 0, 15, 6},
		{"day 31 across a year end and a leap February", []Span{{Start: d("2023-01-01"), End: d("2024-12-31")}}, "2023-11-01", "2024-03-31", 0, 31, 5},
		{"day 31 in a leap February from the 29th", []Span{{Start: d("2024-02-29"), End: d("2024-12-31")}}, "2024-02-01", "2024-04-30", 0, 31, 3},
		{"enrolled only before the period", []Span{{Start: d("2024-01-01"), End: d("2024-12-31")}}, "2025-01-01", "2025-12-31", 0, 15, 0},
		{"enrolled only after the period", []Span{{Start: d("2026-01-01"), End: d("2026-12-31")}}, "2025-01-01", "2025-12-31", 0, 15, 0},
		{"empty period", year, "2025-06-30", "2025-06-01", 0, 15, 0},
		{"day out of range", year, "2025-01-01", "2025-12-31", 0, 0, 0},
		{"absent date", year, "2025-01-01", metric.NoDate.String(), 0, 15, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			to := int64(metric.NoDate)
			if c.to != metric.NoDate.String() {
				to = int64(d(c.to))
			}
			assert.Equal(t, c.want, memberMonths(c.spans, c.benefit, int64(d(c.from)), to, c.day))
		})
	}
}

const episodeMeasure = `
id: interp
title: Interpreted visits
basis: episode
period: {start: 2025-01-01, end: 2025-12-31}
valuesets: [vs.yaml]
episodes: between(events("Visit"), period_start, period_end)
define:
  interpreter: code("HCPCS", "T1013")
  interpreted: exists(sameClaim(interpreter, episode)) || exists(between(interpreter, episode_date, episode_date))
  adult: ageOn(episode_date) >= 2
groups:
  all:
    initial_population: "true"
    denominator: "true"
    numerator: interpreted
  adults:
    initial_population: adult
    denominator: "true"
    numerator: interpreted
stratifiers:
  quarter: 'episode_date < date("2025-04-01") ? "q1" : "later"'
`

// TestEpisodes evaluates one population per episode: the member of
// newFixture turns 2 on 2025-06-14, so episode-dependent defines must
// change between episodes while the rest stay per member.
func TestEpisodes(t *testing.T) {
	m, err := Compile("interp.yaml", []byte(episodeMeasure), testFS())
	require.NoError(t, err)
	assert.Equal(t, "episode", m.Basis())
	f := newFixture()
	f.ev("2025-06-13 CPT 99213 claim=c2")   // the day before the birthday, no interpreter
	f.ev("2025-06-14 CPT 99214 claim=c3")   // the birthday, interpreter on the same claim
	f.ev("2025-06-14 HCPCS T1013 claim=c3") //
	f.ev("2025-06-15 CPT 99215 claim=c4")   // the day after, interpreter the same day on another claim
	f.ev("2025-06-15 HCPCS T1013 claim=c5") //
	f.ev("2026-01-01 CPT 99213 claim=c6")   // outside the period: not an episode
	r, err := runFixture(t, m, f)
	require.NoError(t, err)
	require.Equal(t, 4, r.Units()) // 2025-03-10 (newFixture), 06-13, 06-14, 06-15

	type unit struct {
		date       string
		all, adult metric.Membership
		quarter    string
	}
	ip, den, num := metric.InitialPopulation, metric.Denominator, metric.Numerator
	in := func(ps ...metric.Population) metric.Membership {
		var ms metric.Membership
		for _, p := range ps {
			ms = ms.With(p)
		}
		return ms
	}
	want := []unit{
		{"2025-03-10", in(ip, den), 0, "q1"},
		{"2025-06-13", in(ip, den), 0, "later"},
		{"2025-06-14", in(ip, den, num), in(ip, den, num), "later"},
		{"2025-06-15", in(ip, den, num), in(ip, den, num), "later"},
	}
	for u, w := range want {
		if u > 0 {
			require.NoError(t, r.Select(u))
		}
		assert.Equal(t, w.date, f.events[r.Episode()].Date.String(), "unit %d", u)
		assert.Equal(t, w.all, r.Memberships[0], "unit %d all", u)
		assert.Equal(t, w.adult, r.Memberships[1], "unit %d adults", u)
		q, err := r.Stratum(0)
		require.NoError(t, err)
		assert.Equal(t, []string{w.quarter}, q, "unit %d", u)
	}
	assert.Error(t, r.Select(4))

	// A member without episodes has no units and counts nothing.
	empty := &fixture{member: f.member}
	r, err = runFixture(t, m, empty)
	require.NoError(t, err)
	assert.Equal(t, 0, r.Units())
}

const ratioMeasure = `
id: edu
title: ED visits per 1,000 member months
scoring: ratio
multiplier: 1000
improvement: decrease
period: {start: 2025-01-01, end: 2025-12-31}
valuesets: [vs.yaml]
define:
  months: memberMonths(period_start, period_end, "medical", 15)
  visits: countDates(between(events("Visit"), period_start, period_end))
groups:
  total:
    initial_population: months > 0
    denominator: months
    denominator_exclusions: member_id == "excluded"
    numerator: visits
`

// TestRatio checks a ratio group's values: member months in the
// denominator, visit days in the numerator, none for an excluded member.
func TestRatio(t *testing.T) {
	m, err := Compile("edu.yaml", []byte(ratioMeasure), testFS())
	require.NoError(t, err)
	assert.Equal(t, "ratio", m.Scoring())
	assert.Equal(t, int64(1000), m.Multiplier())
	assert.Equal(t, "decrease", m.Improvement())
	cases := []struct {
		name   string
		id     string
		spans  []Span
		want   RatioValues
		member metric.Membership
	}{
		// newFixture: medical Jan 1-Jun 30 and Aug 15-Dec 31 2025 -> Jan-Jun, Aug-Dec = 11
		// months; one visit day (2025-03-10).
		{"enrolled", "m1", nil, RatioValues{Denominator: 11, Numerator: 1}, metric.NewMembership(true, true, false, true, false)},
		{"excluded", "excluded", nil, RatioValues{Denominator: 11}, metric.NewMembership(true, true, true, false, false)},
		{"not enrolled on any 15th", "m1", []Span{{Start: d("2025-03-16"), End: d("2025-04-14"), Benefits: Medical}}, RatioValues{}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture()
			f.member.ID = c.id
			if c.spans != nil {
				f.spans = c.spans
			}
			r, err := runFixture(t, m, f)
			require.NoError(t, err)
			assert.Equal(t, c.want, r.Ratios[0])
			assert.Equal(t, c.member, r.Memberships[0])
		})
	}
}
