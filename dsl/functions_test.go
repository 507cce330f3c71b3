package dsl

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caremetrics/caremetrics/metric"
)

const testValueSets = `
valuesets:
  - name: DTaP
    oid: 1.2.3
    codes: {CVX: ["20", "106", "110"], CPT: ["90700"]}
  - name: PHQ9
    codes: {LOINC: ["44261-6"]}
  - name: Visit
    codes: {CPT: ["99202-99215"]}
  - name: Depression
    codes: {ICD10CM: ["F32*", "F33.1"]}
`

func testFS() fstest.MapFS { return fstest.MapFS{"vs.yaml": {Data: []byte(testValueSets)}} }

// fixture is one member with events and spans, as the loader would give
// them: events sorted by date.
type fixture struct {
	member Member
	events []Event
	spans  []Span
	codes  [][2]string
}

func d(s string) metric.Date { return metric.MustParseDate(s) }

func (f *fixture) code(system, code string) CodeID {
	for i, c := range f.codes {
		if c == [2]string{system, code} {
			return CodeID(i)
		}
	}
	f.codes = append(f.codes, [2]string{system, code})
	return CodeID(len(f.codes) - 1)
}

// ev adds an event: "2025-01-02 CVX 20", optional value, end and claim via
// extra fields "v=12", "end=2025-01-03", "claim=c1".
func (f *fixture) ev(spec string) {
	parts := strings.Fields(spec)
	e := Event{Date: d(parts[0]), End: metric.NoDate, Code: f.code(parts[1], parts[2]), Source: -1, Value: math.NaN()}
	for _, p := range parts[3:] {
		k, v, _ := strings.Cut(p, "=")
		switch k {
		case "v":
			fmt.Sscan(v, &e.Value)
		case "end":
			e.End = d(v)
		case "claim":
			e.Claim = ClaimKey(v)
		}
	}
	f.events = append(f.events, e)
}

func newFixture() *fixture {
	f := &fixture{member: Member{ID: "m1", BirthDate: d("2023-06-14"), DeathDate: metric.NoDate, Sex: "F", Race: []string{"white", "asian"}, Disability: True}}
	f.ev("2023-07-20 CVX 20")
	f.ev("2023-07-25 CVX 110")
	f.ev("2023-07-25 CPT 90700")
	f.ev("2023-09-01 CVX 106")
	f.ev("2025-03-01 LOINC 44261-6 v=9")
	f.ev("2025-03-10 CPT 99213 claim=c1")
	f.ev("2025-03-10 ICD10CM F329 claim=c1")
	f.ev("2025-03-12 ICD10CM F331 end=2025-04-01")
	f.ev("2025-06-14 LOINC 44261-6 v=10")
	f.spans = []Span{
		{Start: d("2024-06-14"), End: d("2024-12-31"), Benefits: Medical},
		{Start: d("2025-01-01"), End: d("2025-06-30"), Benefits: Medical | Dental},
		{Start: d("2025-08-15"), End: d("2025-12-31"), Benefits: Medical | Dental},
	}
	return f
}

// fixtureRunner binds m to a cohort of the fixture's codes.
func fixtureRunner(t *testing.T, m *Measure, f *fixture) *Runner {
	t.Helper()
	c := &Cohort{}
	for _, sc := range f.codes {
		c.Systems = append(c.Systems, sc[0])
		c.Codes = append(c.Codes, sc[1])
	}
	b, _, err := m.Bind(c)
	require.NoError(t, err)
	return b.NewRunner(RaceAloneOrInCombination)
}

// runFixture binds m to a cohort of the fixture's codes and runs it for
// the fixture member.
func runFixture(t *testing.T, m *Measure, f *fixture) (*Runner, error) {
	t.Helper()
	r := fixtureRunner(t, m, f)
	return r, r.Run(m.Period(), 0, &f.member, f.events, f.spans)
}

// evalDefine compiles a one-define measure and returns the define's value
// for the fixture member.
func evalDefine(t *testing.T, f *fixture, expr string) any {
	t.Helper()
	src := fmt.Sprintf("id: t\ntitle: T\nperiod: {start: 2025-01-01, end: 2025-12-31}\nvaluesets: [vs.yaml]\ndefine:\n  v: |\n    %s\ngroups:\n  g: {initial_population: \"true\", denominator: \"true\", numerator: \"true\"}\n", expr)
	m, err := Compile("t.yaml", []byte(src), testFS())
	require.NoError(t, err)
	r, err := runFixture(t, m, f)
	require.NoError(t, err)
	fn := m.defines[0].fn
	switch fn.k {
	case kBool:
		return fn.b(r)
	case kInt:
		return fn.i(r)
	case kFloat:
		return fn.f(r)
	case kString:
		return fn.s(r)
	case kList:
		return append([]string(nil), fn.l(r)...)
	case kEvents:
		var dates []string
		for _, i := range fn.e(r) {
			dates = append(dates, f.events[i].Date.String())
		}
		return dates
	}
	return nil
}

func TestFunctions(t *testing.T) {
	day := func(s string) int64 { return int64(d(s)) }
	for _, tc := range []struct {
		expr string
		want any
	}{
		{`date("2025-06-14")`, day("2025-06-14")},
		{`exists(filter(events("DTaP"), {#.date > birth_date + 40}))`, true},
		{`countDates(filter(events("DTaP"), {#.date >= date("2023-07-25")}))`, int64(2)},
		{`union(filter(events("DTaP"), {#.date < date("2023-07-21")}), between(events("DTaP"), date("2023-09-01"), date("2023-09-01")))`, []string{"2023-07-20", "2023-09-01"}},
		{`onePerDay(events("DTaP"))`, []string{"2023-07-20", "2023-07-25", "2023-09-01"}},
		{`onePerDay(events("Visit"))`, []string{"2025-03-10"}},
		{`onePerClaim(union(events("Visit"), events("Depression")))`, []string{"2025-03-10", "2025-03-12"}},
		{`countEvents(onePerClaim(events("DTaP")))`, int64(4)},
		{`labelIf(sex == "F", "female")`, []string{"female"}},
		{`labelIf(sex == "M", "male")`, []string(nil)},
		{`concat(labelIf(true, "a"), labelIf(false, "b"), labelIf(true, "c"))`, []string{"a", "c"}},
		{`orElse(concat(labelIf(false, "a"), labelIf(false, "b")), "none")`, []string{"none"}},
		{`orElse(labelIf(exists(events("PHQ9")), "screened"), "none")`, []string{"screened"}},
		{`birthday(2)`, day("2025-06-14")},
		{`birthday(2) - 1`, day("2025-06-13")},
		{`addDays(birth_date, 42)`, day("2023-07-26")},
		{`addMonths(date("2025-01-31"), 1)`, day("2025-02-28")},
		{`addYears(date("2024-02-29"), 1)`, day("2025-02-28")},
		{`ageOn(date("2025-06-13"))`, int64(1)},
		{`ageOn(date("2025-06-14"))`, int64(2)},
		{`ageInMonthsOn(date("2025-06-13"))`, int64(23)},
		{`daysBetween(date("2025-01-01"), date("2025-12-31"))`, int64(364)},
		{`year(period_end)`, int64(2025)},
		{`events("DTaP")`, []string{"2023-07-20", "2023-07-25", "2023-07-25", "2023-09-01"}},
		{`countEvents(events("DTaP"))`, int64(4)},
		{`countDates(events("DTaP"))`, int64(3)},
		{`countDates(between(events("DTaP"), addDays(birth_date, 42), birthday(2)))`, int64(1)},
		{`countDates(between(events("DTaP"), addDays(birth_date, 41), birthday(2)))`, int64(2)},
		{`countDates(between(events("DTaP"), addDays(birth_date, 37), birthday(2)))`, int64(2)},
		{`countDates(between(events("DTaP"), addDays(birth_date, 36), birthday(2)))`, int64(3)},
		{`nthDate(events("DTaP"), 2)`, day("2023-07-25")},
		{`nthDate(events("DTaP"), 4) > period_end`, true},
		{`firstDate(events("DTaP"))`, day("2023-07-20")},
		{`lastDate(events("DTaP"))`, day("2023-09-01")},
		{`firstDate(events("Visit")) > period_end`, false},
		{`exists(code("CPT", "99213"))`, true},
		{`exists(code("CPT", "99214"))`, false},
		{`events("Visit")`, []string{"2025-03-10"}},
		{`events("Depression")`, []string{"2025-03-10", "2025-03-12"}},
		{`union(events("Visit"), events("Depression"))`, []string{"2025-03-10", "2025-03-10", "2025-03-12"}},
		{`valueAtLeast(events("PHQ9"), 10)`, []string{"2025-06-14"}},
		{`valueAbove(events("PHQ9"), 9)`, []string{"2025-06-14"}},
		{`valueBelow(events("PHQ9"), 10)`, []string{"2025-03-01"}},
		{`union(events("Visit"), code("CPT", "99213"))`, []string{"2025-03-10"}},
		{`union(events("Visit"), events("Visit"))`, []string{"2025-03-10"}},
		{`union(events("PHQ9"), between(events("DTaP"), date("2023-07-25"), date("2023-07-25")))`, []string{"2023-07-25", "2023-07-25", "2025-03-01", "2025-06-14"}},
		{`union(events("Visit"), events("Depression"), events("PHQ9"))`, []string{"2025-03-01", "2025-03-10", "2025-03-10", "2025-03-12", "2025-06-14"}},
		{`except(events("DTaP"), between(events("DTaP"), date("2023-07-25"), date("2023-07-25")))`, []string{"2023-07-20", "2023-09-01"}},
		{`valueAtMost(events("PHQ9"), 9.5)`, []string{"2025-03-01"}},
		{`valueBetween(events("PHQ9"), 9, 10)`, []string{"2025-03-01", "2025-06-14"}},
		{`hasValue(events("PHQ9"))`, []string{"2025-03-01", "2025-06-14"}},
		{`maxValue(events("PHQ9"))`, 10.0},
		{`minValue(events("PHQ9"))`, 9.0},
		{`maxValue(events("Visit")) >= 0`, false},
		{`sameClaim(events("Depression"), events("Visit"))`, []string{"2025-03-10"}},
		{`withinDays(events("Depression"), events("PHQ9"), 0, 9)`, []string{"2025-03-10"}},
		{`withinDays(events("Depression"), events("PHQ9"), 0, 11)`, []string{"2025-03-10", "2025-03-12"}},
		{`withinDays(events("PHQ9"), events("Visit"), -9, -9)`, []string{"2025-03-01"}},
		// An empty first set gives an empty result, an empty second set
		// the first set (except) or nothing (sameClaim, withinDays).
		{`except(code("CPT", "99214"), events("Visit"))`, []string(nil)},
		{`except(events("Visit"), code("CPT", "99214"))`, []string{"2025-03-10"}},
		{`sameClaim(code("CPT", "99214"), events("Depression"))`, []string(nil)},
		{`sameClaim(events("Depression"), code("CPT", "99214"))`, []string(nil)},
		{`withinDays(code("CPT", "99214"), events("PHQ9"), -400, 400)`, []string(nil)},
		{`withinDays(events("PHQ9"), code("CPT", "99214"), -400, 400)`, []string(nil)},
		{`earliest(events("DTaP"))`, []string{"2023-07-20"}},
		{`latest(union(events("Visit"), events("Depression")))`, []string{"2025-03-12"}},
		{`during(events("Depression"), date("2025-03-12"), date("2025-03-31"))`, []string(nil)},
		{`during(events("Depression"), date("2025-03-10"), date("2025-04-01"))`, []string{"2025-03-10", "2025-03-12"}},
		{`overlaps(events("Depression"), date("2025-04-01"), date("2025-12-31"))`, []string{"2025-03-12"}},
		{`overlaps(events("Depression"), date("2025-04-02"), date("2025-12-31"))`, []string(nil)},
		{`prevalentDuring(events("Visit"), date("2025-03-11"), date("2025-12-31"))`, []string{"2025-03-10"}}, // no end: still prevalent
		{`prevalentDuring(events("Depression"), date("2025-04-02"), date("2025-12-31"))`, []string{"2025-03-10"}},
		{`endsBetween(events("Depression"), date("2025-04-01"), date("2025-04-01"))`, []string{"2025-03-12"}},
		// continuous enrollment: coverage 2024-06-14..2025-06-30, 2025-08-15..2025-12-31
		{`enrolled(date("2024-06-14"), date("2025-06-13"), "medical", 0, 0)`, true},
		{`enrolled(date("2024-06-13"), date("2025-06-13"), "medical", 0, 45)`, false},
		{`enrolled(date("2024-06-13"), date("2025-06-13"), "medical", 1, 1)`, true},
		{`enrolled(period_start, period_end, "medical", 1, 45)`, true},  // gap Jul 1..Aug 14 = 45 days
		{`enrolled(period_start, period_end, "medical", 1, 44)`, false}, // 45-day gap is too long for 44
		{`enrolled(period_start, period_end, "dental", 1, 45)`, true},
		{`enrolled(date("2024-12-01"), period_end, "dental", 1, 45)`, false}, // a second gap in Dec 2024
		{`enrolled(date("2024-12-01"), period_end, "dental", 2, 45)`, true},
		{`enrolled(period_start, date("2026-01-01"), "", 1, 45)`, false}, // uncovered Jan 1 is a second gap
		{`enrolledOn(date("2025-07-01"), "medical")`, false},
		{`enrolledOn(date("2025-06-30"), "dental")`, true},
		{`enrolledOn(date("2024-12-31"), "dental")`, false},
		{`raceCategories()`, []string{"white", "asian", "multiracial"}},
		{`category("disability")`, "yes"},
		{`category("language")`, "unknown"},
		{`ageBand(ageOn(period_end), "0-1", "2-5", "65+")`, "2-5"},
		{`ageBand(70, "0-1", "2-5", "65+")`, "65+"},
		{`ageBand(7, "0-1", "2-5", "65+")`, "other"},
		{`"white" in race && !("black" in race)`, true},
		{`sex in ["F", "X"] ? "f" : "other"`, "f"},
		{`death_date <= period_end`, false},
		{`10 / 4`, 2.5},
		// predicates: # is the current event
		{`any(events("Visit"), {exists(between(events("PHQ9"), #.date - 9, #.date))})`, true},
		{`any(events("Visit"), {exists(between(events("PHQ9"), #.date - 8, #.date))})`, false},
		{`all(events("PHQ9"), {#.value >= 9})`, true},
		{`none(events("PHQ9"), {#.value > 10})`, true},
		{`one(events("PHQ9"), {#.value == 10})`, true},
		{`count(events("DTaP"), {#.date >= addDays(birth_date, 41)})`, int64(3)},
		{`filter(events("Depression"), {#.end > #.date})`, []string{"2025-03-12"}},
		{`filter(events("Depression"), {#.end == #.date})`, []string{"2025-03-10"}},
		{`any(events("Visit"), {any(events("Depression"), {#.date >= period_start})})`, true},
		{`any(events("Visit"), {let d = #.date; any(events("Depression"), {#.date > d})})`, true},
		{`any(events("Visit"), {let d = #.date; any(events("Depression"), {#.date > d + 2})})`, false},
		{`let n = countDates(events("DTaP")); n * 2`, int64(6)},
		{`any(events("Visit"), {let s = latest(between(events("PHQ9"), #.date - 14, #.date)); maxValue(s) < 10})`, true},
		{`7 % 3 + 2 * 3 - 1`, int64(6)},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			if tc.want == nil {
				return
			}
			assert.Equal(t, tc.want, evalDefine(t, newFixture(), tc.expr))
		})
	}
}

func TestRaceRules(t *testing.T) {
	for _, tc := range []struct {
		races []string
		rule  RaceRule
		want  []string
	}{
		{nil, RaceAloneOrInCombination, []string{"unknown"}},
		{[]string{"black"}, RaceAloneOrInCombination, []string{"black"}},
		{[]string{"black", "white", "black"}, RaceAloneOrInCombination, []string{"black", "white", "multiracial"}},
		{[]string{"black", "white"}, RaceSingle, []string{"multiracial"}},
		{[]string{"black", "black"}, RaceSingle, []string{"black"}},
		{[]string{""}, RaceSingle, []string{"unknown"}},
	} {
		assert.Equal(t, tc.want, raceStrata(nil, tc.races, tc.rule), "%v %v", tc.races, tc.rule)
	}
}

// TestNewRunnersShareIndex runs two measures sharing one event index over
// members in turn, one of them twice, each measure asking for value sets
// the other does not, and checks every result against a lone runner.
func TestNewRunnersShareIndex(t *testing.T) {
	f := newFixture()
	later := &fixture{member: f.member, codes: f.codes}
	later.member.ID = "m2"
	later.ev("2025-02-01 CVX 20")
	later.ev("2025-03-10 CPT 99213")
	later.ev("2025-04-01 LOINC 44261-6 v=12")
	f.codes = later.codes
	c := &Cohort{}
	for _, sc := range f.codes {
		c.Systems = append(c.Systems, sc[0])
		c.Codes = append(c.Codes, sc[1])
	}
	measure := func(num string) *Bound {
		src := "id: t\ntitle: T\nperiod: {start: 2025-01-01, end: 2025-12-31}\nvaluesets: [vs.yaml]\n" +
			"groups:\n  g: {initial_population: \"true\", denominator: \"true\", numerator: '" + num + "'}\n"
		m, err := Compile("t.yaml", []byte(src), testFS())
		require.NoError(t, err)
		b, _, err := m.Bind(c)
		require.NoError(t, err)
		return b
	}
	bounds := []*Bound{
		measure(`countEvents(union(events("DTaP"), events("Visit"))) == 5`),
		measure(`maxValue(events("PHQ9")) == 12 && countEvents(events("Visit")) == 1 && !exists(code("CPT", "99214"))`),
	}
	// the numerator of each measure, for f and for later
	want := map[*fixture][]bool{f: {true, false}, later: {false, true}}
	rs := NewRunners(bounds, RaceAloneOrInCombination)
	for _, m := range []*fixture{f, later, later, f} {
		rs.Member(0, &m.member, m.events, m.spans)
		for i, b := range bounds {
			alone := b.NewRunner(RaceAloneOrInCombination)
			require.NoError(t, alone.Run(b.m.Period(), 0, &m.member, m.events, m.spans))
			shared, err := rs.Run(i, b.m.Period())
			require.NoError(t, err)
			assert.Equal(t, want[m][i], alone.Memberships[0].Has(metric.Numerator), "member %s, measure %d", m.member.ID, i)
			assert.Equal(t, alone.Memberships, shared.Memberships, "member %s, measure %d", m.member.ID, i)
		}
	}
}

// A filter's bounds are computed only for a set that has events: most
// members have none of most sets, and the bounds are often date arithmetic.
// Like && and ||, this is lazy: a bound that would fail fails only where it
// is needed.
func TestFilterBoundsAreLazy(t *testing.T) {
	src := "id: t\ntitle: T\nperiod: {start: 2025-01-01, end: 2025-12-31}\nvaluesets: [vs.yaml]\ndefine:\n" +
		"  zero: countEvents(events(\"Visit\"))\n" +
		"  v: exists(between(events(\"PHQ9\"), period_start + 1 % zero, period_end)) || exists(valueAtLeast(events(\"PHQ9\"), 1 % zero))\n" +
		"groups:\n  g: {initial_population: \"true\", denominator: \"true\", numerator: v}\n"
	m, err := Compile("t.yaml", []byte(src), testFS())
	require.NoError(t, err)
	for _, tc := range []struct {
		events string
		fails  bool
	}{{"", false}, {"2025-03-01 LOINC 44261-6 v=12", true}} {
		f := &fixture{member: Member{ID: "m1", BirthDate: d("1990-01-01"), DeathDate: metric.NoDate}}
		f.code("LOINC", "44261-6")
		if tc.events != "" {
			f.ev(tc.events)
		}
		_, err := runFixture(t, m, f)
		if tc.fails {
			assert.ErrorContains(t, err, "integer modulo by zero")
		} else {
			assert.NoError(t, err)
		}
	}
}
