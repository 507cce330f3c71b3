package eval

import (
	"bytes"
	"context"
	"encoding/csv"
	"strconv"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caremetrics/caremetrics/dsl"
	"github.com/caremetrics/caremetrics/metric"
)

const shapesMeasures = `
-- visits.yaml --
id: visits
title: Visits followed by a reason code within 30 days (episode)
basis: episode
period: {start: 2025-01-01, end: 2025-12-31}
valuesets: [vs.yaml]
episodes: between(events("Visit"), period_start, period_end)
define:
  reasons: code("SNOMEDCT", "183932001")
groups:
  same_day:
    initial_population: "true"
    denominator: death_date > episode_date
    numerator: exists(withinDays(reasons, episode, 0, 30))
stratifiers:
  sex: category("sex")
  half: 'episode_date < date("2025-07-01") ? "h1" : "h2"'
-- rate.yaml --
id: rate
title: Visit days per 1,000 member months (ratio)
scoring: ratio
multiplier: 1000
improvement: decrease
period: {start: 2025-01-01, end: 2025-12-31}
valuesets: [vs.yaml]
define:
  months: memberMonths(period_start, period_end, "medical", 15)
groups:
  total:
    initial_population: months > 0
    denominator: months
    denominator_exclusions: death_date <= period_end
    numerator: countDates(between(events("Visit"), period_start, period_end))
stratifiers:
  sex: category("sex")
`

func compileShapes(t *testing.T) []*dsl.Measure {
	t.Helper()
	fsys := fstest.MapFS{"vs.yaml": {Data: []byte(engineValueSets)}}
	var out []*dsl.Measure
	for _, name := range []string{"visits.yaml", "rate.yaml"} {
		fsys[name] = &fstest.MapFile{Data: []byte(section(shapesMeasures, name))}
		m, err := dsl.CompileFS(fsys, name)
		require.NoError(t, err)
		out = append(out, m)
	}
	return out
}

// section returns the text after "-- name --" up to the next such line.
func section(s, name string) string {
	lines := bytes.Split([]byte(s), []byte("\n"))
	var out []byte
	in := false
	for _, l := range lines {
		if bytes.HasPrefix(l, []byte("-- ")) {
			in = string(l) == "-- "+name+" --"
			continue
		}
		if in {
			out = append(out, l...)
			out = append(out, '\n')
		}
	}
	return string(out)
}

// TestEpisodeAndRatioMatchDirectCount recomputes an episode measure and a
// ratio measure with plain Go, overall and by sex, and checks members.csv.
func TestEpisodeAndRatioMatchDirectCount(t *testing.T) {
	ms := compileShapes(t)
	data := synthetic(3000, 13)
	res, err := Evaluate(context.Background(), data, ms, WithMemberDetail())
	require.NoError(t, err)
	period := ms[0].Period()

	var visits, rate metric.Counts
	visitsBySex := map[string]*metric.Counts{}
	perMember := map[string][2]metric.Counts{}
	for i := range data.Members {
		mem := &data.Members[i]
		sex := mem.Sex
		if sex == "" {
			sex = "unknown"
		}
		if visitsBySex[sex] == nil {
			visitsBySex[sex] = &metric.Counts{}
		}
		var mine [2]metric.Counts
		events := data.MemberEvents(i)
		var reasons []metric.Date
		visitDays := map[metric.Date]bool{}
		for _, e := range events {
			if data.Codes.Values[e.Code] == "183932001" {
				reasons = append(reasons, e.Date)
			}
		}
		followed := func(d metric.Date) bool {
			for _, r := range reasons {
				if r >= d && r <= d+30 {
					return true
				}
			}
			return false
		}
		for _, e := range events {
			if data.Codes.Values[e.Code] != "99213" || !period.Contains(e.Date) {
				continue
			}
			visitDays[e.Date] = true
			ep := metric.NewMembership(true, mem.DeathDate > e.Date, false, mem.DeathDate > e.Date && followed(e.Date), false)
			visits.Add(ep)
			visitsBySex[sex].Add(ep)
			mine[0].Add(ep)
		}
		months := int64(0)
		for m := 1; m <= 12; m++ {
			day := metric.DateOf(2025, time.Month(m), 15)
			for _, s := range data.MemberSpans(i) {
				if s.Benefits&Medical != 0 && s.Start <= day && s.End >= day {
					months++
					break
				}
			}
		}
		if months > 0 {
			excl := mem.DeathDate <= period.End
			num := int64(len(visitDays))
			rm := metric.NewMembership(true, true, excl, !excl && num > 0, false)
			rate.AddRatio(rm, months, num)
			mine[1].AddRatio(rm, months, num)
		}
		perMember[mem.ID] = mine
	}
	got := res.Report.Measure("visits")
	assert.Equal(t, "episode", got.Basis)
	assert.Equal(t, visits, got.Group("same_day").Counts)
	assert.Greater(t, visits.InitialPopulation, int64(len(data.Members)/2))
	assert.Greater(t, visits.Numerator, int64(50))
	for sex, c := range visitsBySex {
		if c.InitialPopulation > 0 {
			assert.Equal(t, *c, got.Group("same_day").Stratifier("sex").Stratum(sex).Counts, sex)
		}
	}
	h1 := got.Group("same_day").Stratifier("half").Stratum("h1")
	h2 := got.Group("same_day").Stratifier("half").Stratum("h2")
	assert.Equal(t, visits.InitialPopulation, h1.InitialPopulation+h2.InitialPopulation, "each episode in one half")

	r := res.Report.Measure("rate")
	assert.Equal(t, "decrease", r.Improvement)
	assert.Equal(t, int64(1000), r.Multiplier)
	assert.Equal(t, rate, r.Group("total").Counts)
	assert.Greater(t, rate.DenominatorExclusion, int64(0))
	want := float64(rate.Numerator) * 1000 / float64(rate.Denominator-rate.DenominatorExclusion)
	assert.InDelta(t, want, r.Group("total").Rate.Value, 1e-9)

	var buf bytes.Buffer
	require.NoError(t, res.WriteMembersCSV(&buf))
	rows, err := csv.NewReader(&buf).ReadAll()
	require.NoError(t, err)
	seen, most := 0, int64(0)
	for _, row := range rows[1:] {
		k := map[string]int{"visits": 0, "rate": 1}[row[1]]
		c := perMember[row[0]][k]
		for i, p := range metric.Populations {
			n, err := strconv.ParseInt(row[3+i], 10, 64)
			require.NoError(t, err)
			assert.Equal(t, c.Get(p), n, "member %s measure %s %s", row[0], row[1], p)
			if row[1] == "visits" {
				most = max(most, n)
			}
		}
		seen++
	}
	assert.Greater(t, seen, 1000)
	assert.Greater(t, most, int64(1), "some member counts several episodes")
}

// TestShapesMergeAndWorkers checks that episode and ratio results do not
// depend on the worker count and that shards merge into the whole.
func TestShapesMergeAndWorkers(t *testing.T) {
	ms := compileShapes(t)
	a, b := synthetic(1500, 21), synthetic(1700, 22)
	whole := concatData(a, b)
	var want string
	for _, w := range []int{1, 2, 5} {
		res, err := Evaluate(context.Background(), whole, ms, WithWorkers(w))
		require.NoError(t, err)
		got := reportJSON(t, res.Report)
		if want == "" {
			want = got
		}
		assert.Equal(t, want, got, "workers=%d", w)
	}
	merged := &metric.Report{}
	for _, part := range []*Data{b, a} {
		res, err := Evaluate(context.Background(), part, ms)
		require.NoError(t, err)
		require.NoError(t, merged.Merge(res.Report))
	}
	assert.Equal(t, want, reportJSON(t, merged))
}

// concatData appends b's members to a's; synthetic interns the same codes
// in the same order, so code ids agree.
func concatData(a, b *Data) *Data {
	out := &Data{Codes: a.Codes}
	out.Members = append(out.Members, a.Members...)
	out.Events = append(out.Events, a.Events...)
	out.Spans = append(out.Spans, a.Spans...)
	ne, ns := int32(len(a.Events)), int32(len(a.Spans))
	for _, m := range b.Members {
		m.EventsStart, m.EventsEnd = m.EventsStart+ne, m.EventsEnd+ne
		m.SpansStart, m.SpansEnd = m.SpansStart+ns, m.SpansEnd+ns
		out.Members = append(out.Members, m)
	}
	out.Events = append(out.Events, b.Events...)
	out.Spans = append(out.Spans, b.Spans...)
	return out
}
