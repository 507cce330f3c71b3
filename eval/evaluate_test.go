package eval

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caremetrics/caremetrics/dsl"
	"github.com/caremetrics/caremetrics/metric"
)

const engineMeasure = `
id: engine
title: Engine test
period: {start: 2025-01-01, end: 2025-12-31}
valuesets: [vs.yaml]
define:
  age: ageOn(period_end)
  visits: between(events("Visit"), period_start, period_end)
groups:
  visit:
    initial_population: age >= 2
    denominator: enrolled(period_start, period_end, "medical", 1, 45)
    denominator_exclusions: death_date <= period_end
    numerator: exists(visits)
    denominator_exceptions: exists(code("SNOMEDCT", "183932001"))
  two_visits:
    initial_population: age >= 2
    denominator: "true"
    numerator: countDates(visits) >= 2
stratifiers:
  race: raceCategories()
  sex: category("sex")
  race_x_sex:
    cross: [race, sex]
  age_band:
    expr: ageBand(age, "2-17", "18+")
    groups: [visit]
`

const engineValueSets = `
valuesets:
  - name: Visit
    codes: {CPT: ["99202-99215"]}
`

func compileEngineMeasure(t testing.TB) *dsl.Measure {
	t.Helper()
	m, err := dsl.Compile("engine.yaml", []byte(engineMeasure), fstest.MapFS{"vs.yaml": {Data: []byte(engineValueSets)}})
	require.NoError(t, err)
	return m
}

// synthetic builds a deterministic cohort directly, without the loader.
func synthetic(n int, seed uint64) *Data {
	rng := rand.New(rand.NewPCG(seed, 1))
	d := &Data{}
	visit := d.Codes.Intern("CPT", "99213")
	other := d.Codes.Intern("CPT", "90700")
	reason := d.Codes.Intern("SNOMEDCT", "183932001")
	races := [][]string{nil, {"white"}, {"black"}, {"asian", "white"}, {"aian"}}
	sexes := []string{"F", "M", "", "X"}
	base := metric.MustParseDate("2025-01-01")
	for i := range n {
		m := Member{ID: fmt.Sprintf("M%06d", i), BirthDate: base.AddDays(-rng.IntN(80 * 365)), DeathDate: metric.NoDate,
			Sex: sexes[rng.IntN(len(sexes))], Race: races[rng.IntN(len(races))]}
		if rng.IntN(20) == 0 {
			m.DeathDate = base.AddDays(rng.IntN(400))
		}
		m.EventsStart = int32(len(d.Events))
		for range rng.IntN(6) {
			code := []CodeID{visit, visit, other, reason}[rng.IntN(4)]
			d.Events = append(d.Events, Event{Date: base.AddDays(rng.IntN(500) - 60), End: metric.NoDate, Code: code, Source: -1, Value: math.NaN()})
		}
		evs := d.Events[m.EventsStart:]
		sort.Slice(evs, func(a, b int) bool { return evs[a].Date < evs[b].Date })
		m.EventsEnd = int32(len(d.Events))
		m.SpansStart = int32(len(d.Spans))
		start := base.AddDays(rng.IntN(90) - 30)
		d.Spans = append(d.Spans, Span{Start: start, End: start.AddDays(200 + rng.IntN(300)), Benefits: Medical})
		m.SpansEnd = int32(len(d.Spans))
		d.Members = append(d.Members, m)
	}
	return d
}

func reportJSON(t testing.TB, r *metric.Report) string {
	t.Helper()
	b, err := json.MarshalIndent(r, "", " ")
	require.NoError(t, err)
	return string(b)
}

func TestEvaluateIdenticalAtAnyWorkerCount(t *testing.T) {
	m := compileEngineMeasure(t)
	data := synthetic(5000, 7)
	var want string
	for _, workers := range []int{1, 2, 3, 8} {
		res, err := Evaluate(context.Background(), data, []*dsl.Measure{m}, WithWorkers(workers))
		require.NoError(t, err)
		got := reportJSON(t, res.Report)
		if want == "" {
			want = got
			continue
		}
		assert.Equal(t, want, got, "workers=%d", workers)
	}
}

// TestEvaluateMatchesDirectCount recomputes the counts member by member
// with plain Go and checks the engine's aggregation, nesting and strata.
func TestEvaluateMatchesDirectCount(t *testing.T) {
	m := compileEngineMeasure(t)
	data := synthetic(3000, 11)
	res, err := Evaluate(context.Background(), data, []*dsl.Measure{m}, WithMemberDetail())
	require.NoError(t, err)
	period := m.Period()
	var want metric.Counts
	bySex := map[string]*metric.Counts{}
	for i := range data.Members {
		mem := &data.Members[i]
		ip := mem.BirthDate.YearsUntil(period.End) >= 2
		den := continuousByHand(data.MemberSpans(i), period)
		excl := mem.DeathDate <= period.End
		numer, exc := false, false
		for _, e := range data.MemberEvents(i) {
			if data.Codes.Values[e.Code] == "99213" && period.Contains(e.Date) {
				numer = true
			}
			if data.Codes.Values[e.Code] == "183932001" {
				exc = true
			}
		}
		ms := metric.NewMembership(ip, den, excl, numer, exc)
		want.Add(ms)
		if ip {
			sex := mem.Sex
			if sex == "" {
				sex = "unknown"
			}
			if bySex[sex] == nil {
				bySex[sex] = &metric.Counts{}
			}
			bySex[sex].Add(ms)
		}
	}
	g := res.Report.Measure("engine").Group("visit")
	assert.Equal(t, want, g.Counts)
	assert.Greater(t, want.Numerator, int64(100))
	assert.Greater(t, want.DenominatorExclusion, int64(10))
	assert.Greater(t, want.DenominatorException, int64(10))
	for sex, c := range bySex {
		st := g.Stratifier("sex").Stratum(sex)
		require.NotNil(t, st, sex)
		assert.Equal(t, *c, st.Counts, sex)
	}
	// A member listing two races counts in both and in multiracial.
	race := g.Stratifier("race")
	var sum int64
	for _, st := range race.Strata {
		sum += st.InitialPopulation
	}
	assert.Greater(t, sum, g.InitialPopulation)
	assert.NotNil(t, race.Stratum("multiracial"))
	assert.Equal(t, []string{"race", "sex"}, g.Stratifier("race_x_sex").Components)
	assert.NotNil(t, g.Stratifier("race_x_sex").Stratum("white", "F"))
	// age_band applies to the visit group only.
	assert.Nil(t, res.Report.Measure("engine").Group("two_visits").Stratifier("age_band"))

	var buf bytes.Buffer
	require.NoError(t, res.WriteMembersCSV(&buf))
	assert.Contains(t, buf.String(), "member_id,measure,group,initial_population,denominator,denominator_exclusion,denominator_exception,numerator\n")
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec := res.MemberRecord(mem)
	defer rec.Release()
	assert.Equal(t, int64(bytes.Count(buf.Bytes(), []byte("\n"))-1), rec.NumRows())
}

func continuousByHand(spans []Span, p metric.Period) bool {
	covered := map[metric.Date]bool{}
	for _, s := range spans {
		if s.Benefits&Medical == 0 {
			continue
		}
		for d := s.Start; d <= s.End; d++ {
			covered[d] = true
		}
	}
	gaps, longest, run := 0, 0, 0
	for d := p.Start; d <= p.End+1; d++ {
		if d <= p.End && !covered[d] {
			run++
			continue
		}
		if run > 0 {
			gaps++
			longest = max(longest, run)
			run = 0
		}
	}
	return gaps <= 1 && longest <= 45
}

func TestEvaluateCancelled(t *testing.T) {
	m := compileEngineMeasure(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Evaluate(ctx, synthetic(2000, 1), []*dsl.Measure{m})
	require.ErrorIs(t, err, context.Canceled)
}

// No measures is an empty report, not a failure (a service may post a
// selection that matches none).
func TestEvaluateNoMeasures(t *testing.T) {
	res, err := Evaluate(context.Background(), synthetic(2000, 1), nil)
	require.NoError(t, err)
	require.Empty(t, res.Report.Measures)
}

func TestEvaluateRejectsDuplicateMeasures(t *testing.T) {
	m := compileEngineMeasure(t)
	_, err := Evaluate(context.Background(), synthetic(10, 1), []*dsl.Measure{m, m})
	require.EqualError(t, err, `engine.yaml:2:5: id: measure "engine" is given twice (first engine.yaml:2:5)`)
}

func TestEvaluateWarnsOnUnmatchedValueSet(t *testing.T) {
	m := compileEngineMeasure(t)
	d := &Data{}
	d.Codes.Intern("CVX", "20")
	d.Members = []Member{{ID: "a", BirthDate: metric.MustParseDate("2000-01-01"), DeathDate: metric.NoDate}}
	res, err := Evaluate(context.Background(), d, []*dsl.Measure{m})
	require.NoError(t, err)
	require.Len(t, res.Report.Warnings, 2)
	assert.Equal(t, "code-system-absent", res.Report.Warnings[0].Code)
	assert.Equal(t, "valueset-system-absent", res.Report.Warnings[1].Code)
	assert.Contains(t, res.Report.Warnings[1].Message, `value set "Visit" (vs.yaml:3:5) uses code systems CPT, none of which occurs in the data`)
}

func BenchmarkEvaluate(b *testing.B) {
	m := compileEngineMeasure(b)
	for _, n := range []int{10_000, 100_000} {
		data := synthetic(n, 3)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Evaluate(context.Background(), data, []*dsl.Measure{m}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "members/s")
		})
	}
}

// TestEvaluateProgress reports every member once, ending at the total.
func TestEvaluateProgress(t *testing.T) {
	data := synthetic(3000, 9)
	var mu sync.Mutex
	most, calls := 0, 0
	_, err := Evaluate(context.Background(), data, []*dsl.Measure{compileEngineMeasure(t)}, WithWorkers(3),
		WithProgress(func(done, total int) {
			mu.Lock()
			defer mu.Unlock()
			assert.Equal(t, 3000, total)
			most = max(most, done)
			calls++
		}))
	require.NoError(t, err)
	assert.Equal(t, 3000, most)
	assert.Equal(t, (3000+chunkSize-1)/chunkSize, calls)
}
