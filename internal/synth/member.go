package synth

import (
	"math"
	"slices"
	"strconv"
)

const (
	tagMember  = 1
	tagShuffle = 2
	never      = day(math.MaxInt32) // dentalFrom of members who never have dental
)

type seg struct{ s, e day }

// gen generates members; one per worker, reused across members.
type gen struct {
	cal  calendar
	seed uint64
	idW  int // digits of member numbers
	r    *rng

	// current member
	idx        int
	m          Member
	age        int // on Dec 31 of the year
	cov        []seg
	dentalFrom day
	adherence  int // children: 0 full, 1 partial, 2 low
	mood       int // 0 well, 1 mild, 2 depressed
	claimSeq   int
	visitClaim []dayClaim // claim ids of well-child visits, by date

	out *Batch
}

type dayClaim struct {
	d     day
	claim string
}

func newGen(cal calendar, seed uint64, members int) *gen {
	idW := max(7, len(strconv.Itoa(members)))
	return &gen{cal: cal, seed: seed, idW: idW, r: newRNG()}
}

func (g *gen) pad(prefix byte, n int, width int) []byte {
	b := make([]byte, 0, width+6)
	b = append(b, prefix)
	s := strconv.Itoa(n)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

// claim returns a new claim id of the current member.
func (g *gen) claim(prefix byte) string {
	g.claimSeq++
	b := g.pad(prefix, g.idx+1, g.idW)
	b = append(b, '-')
	s := strconv.Itoa(g.claimSeq)
	for i := len(s); i < 3; i++ {
		b = append(b, '0')
	}
	return string(append(b, s...))
}

// run generates members [lo, hi) into a new batch.
func (g *gen) run(lo, hi int) *Batch {
	n := hi - lo
	c := &Batch{
		Members:    make([]Member, 0, n),
		Enrollment: make([]Span, 0, n*4),
		Events:     make([]Event, 0, n*24),
	}
	c.Stats.BySystem = map[string]int{}
	g.out = c
	for i := lo; i < hi; i++ {
		g.member(i)
	}
	c.Stats.Members = len(c.Members)
	c.Stats.Enrollment = len(c.Enrollment)
	c.Stats.Events = len(c.Events)
	for i := range c.Events {
		c.Stats.BySystem[c.Events[i].System]++
	}
	g.out = nil
	return c
}

func (g *gen) member(i int) {
	g.r.reseed(g.seed, tagMember, uint64(i))
	g.idx = i
	g.claimSeq = 0
	g.visitClaim = g.visitClaim[:0]
	g.cov = g.cov[:0]
	g.m = Member{ID: string(g.pad('M', i+1, g.idW)), Death: noDay}
	g.demographics()
	g.coverage()
	g.spans()
	first := len(g.out.Events)
	g.events()
	// Each member's events in date order; ties keep generation order.
	evs := g.out.Events[first:]
	slices.SortStableFunc(evs, func(a, b Event) int { return int(a.Date) - int(b.Date) })
	g.out.Members = append(g.out.Members, g.m)

	st := &g.out.Stats
	if g.age == 2 {
		st.CIS++
	}
	if g.age >= 1 && g.age <= 5 {
		st.Dental1to5++
	} else if g.age >= 6 && g.age <= 14 {
		st.Dental6to14++
	}
	if ageOn(g.m.Birth, g.cal.jan1) >= 12 {
		st.DSF12++
	}
	if g.m.Death != noDay {
		st.Deaths++
	}
	if len(g.cov) == 0 {
		st.NoEnrollment++
	}
}

// Age bands on Dec 31 of the measurement year. Age 2 (the CIS cohort) and
// the dental ages are oversampled so that small cohorts still have
// non-trivial denominators.
type band struct{ lo, hi int }

var ageBands = newTable(
	w[band]{band{0, 0}, 3}, w[band]{band{1, 1}, 3}, w[band]{band{2, 2}, 6},
	w[band]{band{3, 5}, 8}, w[band]{band{6, 11}, 13}, w[band]{band{12, 14}, 7},
	w[band]{band{15, 17}, 5}, w[band]{band{18, 39}, 24}, w[band]{band{40, 64}, 21},
	w[band]{band{65, 90}, 10},
)

func (g *gen) demographics() {
	r, c := g.r, g.cal
	b := ageBands.pick(r)
	g.age = r.in(b.lo, b.hi)
	by := c.year - g.age
	g.m.Birth = r.day(mkDay(by, 1, 1), mkDay(by, 12, 31))

	// Death: older members more often; a few children of the CIS cohort.
	pd := 0.004
	switch {
	case g.age >= 65:
		pd = 0.05
	case g.age >= 40:
		pd = 0.015
	case g.age == 2:
		pd = 0.025
	}
	if r.p(pd) {
		lo := c.jan1
		if r.p(0.25) {
			lo = c.priorJan1
		}
		lo = max(lo, g.m.Birth+1)
		hi := c.dec31
		if lo < c.jan1 {
			hi = c.jan1 - 1
		}
		g.m.Death = r.day(lo, max(lo, hi))
	}

	g.m.Sex = sexes.pick(r)
	lang := languages.pick(r)
	g.m.Language = lang

	// Ethnicity follows language.
	eth := r.Float64()
	switch {
	case lang == "es" && eth < 0.85, lang != "es" && eth < 0.10:
		g.m.Ethnicity = "hispanic"
	case lang == "es" && eth < 0.93, lang != "es" && eth < 0.88:
		g.m.Ethnicity = "non_hispanic"
	case lang == "es" && eth < 0.98, lang != "es" && eth < 0.95:
		g.m.Ethnicity = "unknown"
	}

	// Race: null 4%, empty list 3%, several races 3.5%.
	x := r.Float64()
	switch {
	case x < 0.04:
		g.m.RaceNull = true
	case x < 0.07:
		g.m.Race = []string{}
	case x < 0.105:
		n := 2
		if r.p(0.2) {
			n = 3
		}
		for len(g.m.Race) < n {
			v := races.pick(r)
			if !slices.Contains(g.m.Race, v) {
				g.m.Race = append(g.m.Race, v)
			}
		}
	default:
		var v string
		switch {
		case (lang == "vi" || lang == "zh") && r.p(0.9):
			v = "asian"
		case lang == "so" && r.p(0.9):
			v = "black"
		case lang == "ru" && r.p(0.9):
			v = "white"
		case g.m.Ethnicity == "hispanic" && r.p(0.4):
			v = "other"
		default:
			v = races.pick(r)
		}
		g.m.Race = []string{v}
	}

	// Interpreter need follows language.
	y := r.Float64()
	switch {
	case lang == "":
		g.m.Interpreter = int8(oneOf(r, -1, -1, 0))
	case lang == "en":
		g.m.Interpreter = tri(y, 0.005, 0.955)
	default:
		g.m.Interpreter = tri(y, 0.65, 0.95)
	}
	pDis := 0.06
	if g.age >= 65 {
		pDis = 0.30
	} else if g.age >= 18 {
		pDis = 0.15
	}
	g.m.Disability = tri(r.Float64(), pDis, 0.93)
	g.m.County = counties.pick(r)

	g.adherence = 0
	if x := r.Float64(); x > 0.85 {
		g.adherence = 2
	} else if x > 0.60 {
		g.adherence = 1
	}
	g.mood = 0
	if x := r.Float64(); x > 0.87 {
		g.mood = 2
	} else if x > 0.78 {
		g.mood = 1
	}
}

// tri maps a uniform draw to true below pTrue, false below pFalse, else null.
func tri(u, pTrue, pFalse float64) int8 {
	switch {
	case u < pTrue:
		return 1
	case u < pFalse:
		return 0
	}
	return -1
}

// gapLen draws the length in days of an enrollment gap, with the edges of
// the 45-day rule well represented.
func (g *gen) gapLen() int {
	x := g.r.Float64()
	switch {
	case x < 0.12:
		return 45
	case x < 0.20:
		return 46
	case x < 0.30:
		return 30
	case x < 0.38:
		return 60
	case x < 0.68:
		return g.r.in(1, 44)
	}
	return g.r.in(47, 200)
}

// punch removes days [a, a+n-1] from the coverage if they fall inside one
// segment with at least a day of coverage on both sides.
func (g *gen) punch(a day, n int) {
	b := a + day(n) - 1
	for i, s := range g.cov {
		if a > s.s && b < s.e {
			g.cov = slices.Insert(g.cov, i+1, seg{b + 1, s.e})
			g.cov[i].e = a - 1
			return
		}
	}
}

// coverage draws the member's medical coverage as disjoint sorted segments,
// and the date dental coverage starts.
func (g *gen) coverage() {
	r, c := g.r, g.cal
	birth := g.m.Birth
	start := max(birth, c.extract)
	if birth >= c.extract && r.p(0.2) {
		start = birth + day(r.in(1, 60))
	}
	end := c.far
	cis := g.age == 2
	switch {
	case !cis && r.p(0.01):
		// never enrolled
	case cis:
		g.cisCoverage(start)
	default:
		if r.p(0.13) {
			// Joined later.
			d := r.day(start, c.dec31-30)
			if ms := monthStart(d); ms >= start {
				start = ms
			} else {
				start = monthEnd(d) + 1
			}
		}
		if r.p(0.14) && start+60 < c.far-30 {
			end = monthEnd(r.day(start+60, c.far-30))
		}
		g.cov = append(g.cov, seg{start, end})
		n := 0
		if r.p(0.17) {
			n++
		}
		if r.p(0.05) {
			n++
		}
		dentalAge := g.age >= 1 && g.age <= 14
		if dentalAge && r.p(0.08) {
			n++
		}
		for range n {
			l := g.gapLen()
			lo, hi := start+20, end-20-day(l)
			if r.p(0.5) || dentalAge {
				// Most gaps in the measurement year.
				lo, hi = max(lo, c.jan1+1), min(hi, c.dec31-day(l)-1)
			}
			if hi > lo {
				g.punch(r.day(lo, hi), l)
			}
		}
	}
	if g.m.Death != noDay && len(g.cov) > 0 {
		// Coverage ends with the month of death.
		end := monthEnd(g.m.Death)
		for len(g.cov) > 0 && g.cov[len(g.cov)-1].s > end {
			g.cov = g.cov[:len(g.cov)-1]
		}
		if n := len(g.cov); n > 0 && g.cov[n-1].e > end {
			g.cov[n-1].e = end
		}
	}

	// Dental: most always, some gain it partway, some never.
	x := r.Float64()
	switch {
	case x < 0.85:
		g.dentalFrom = noDay
	case x < 0.92 && len(g.cov) > 0:
		lo := g.cov[0].s + 1
		if r.p(0.5) {
			lo = max(lo, c.jan1)
		}
		g.dentalFrom = monthStart(r.day(lo, max(lo, c.dec31-20)))
		if g.dentalFrom <= g.cov[0].s {
			g.dentalFrom = monthEnd(g.cov[0].s) + 1
		}
	default:
		g.dentalFrom = never
	}
}

// cisCoverage draws coverage for a child turning 2 in the year, with the
// continuous enrollment edge cases over [1st birthday, 2nd birthday - 1].
func (g *gen) cisCoverage(start day) {
	r := g.r
	bd1 := addYears(g.m.Birth, 1)
	bd2 := addYears(g.m.Birth, 2)
	end := g.cal.far
	x := r.Float64()
	gapIn := func(n int) {
		a := r.day(bd1+10, bd2-1-day(n)-10)
		g.punch(a, n)
	}
	switch {
	case x < 0.66:
		g.cov = append(g.cov, seg{start, end})
	case x < 0.74:
		g.cov = append(g.cov, seg{start, end})
		gapIn(30)
	case x < 0.79:
		g.cov = append(g.cov, seg{start, end})
		gapIn(45)
	case x < 0.84:
		g.cov = append(g.cov, seg{start, end})
		gapIn(46)
	case x < 0.90:
		g.cov = append(g.cov, seg{start, end})
		gapIn(60)
	case x < 0.93:
		// Two short gaps: fails.
		g.cov = append(g.cov, seg{start, end})
		g.punch(bd1+day(r.in(20, 120)), 20)
		g.punch(bd1+day(r.in(200, 300)), 15)
	case x < 0.97:
		// Enrolled after the 1st birthday: the gap opens the window.
		g.cov = append(g.cov, seg{bd1 + day(oneOf(r, 20, 45, 46, 90)), end})
	default:
		// Disenrolled before the 2nd birthday.
		g.cov = append(g.cov, seg{start, bd2 - day(r.in(10, 100))})
	}
}

// spans cuts the coverage into enrollment rows: annual renewals, plan
// changes and the start of dental give adjacent spans; a few overlap or nest.
func (g *gen) spans() {
	r, c := g.r, g.cal
	if len(g.cov) == 0 {
		return
	}
	base := benMedical
	if r.p(0.96) {
		base |= benPharmacy
	}
	if r.p(0.92) {
		base |= benMentalHealth
	}
	if r.p(0.70) {
		base |= benChemDep
	}
	plan := plans.pick(r)
	if r.p(0.015) {
		plan = ""
	}
	var cuts []day
	if r.p(0.75) {
		cuts = append(cuts, c.priorJan1, c.jan1)
	}
	if r.p(0.4) {
		cuts = append(cuts, mkDay(c.year+1, 1, 1))
	}
	if g.dentalFrom != noDay && g.dentalFrom != never {
		cuts = append(cuts, g.dentalFrom)
	}
	change := never
	plan2 := plan
	if r.p(0.1) {
		first, last := g.cov[0].s, g.cov[len(g.cov)-1].e
		change = monthStart(r.day(first+31, max(first+31, last)))
		cuts = append(cuts, change)
		plan2 = plans.pick(r)
	}
	slices.Sort(cuts)
	first := len(g.out.Enrollment)
	for _, s := range g.cov {
		a := s.s
		for _, cut := range cuts {
			if cut > a && cut <= s.e {
				g.addSpan(a, cut-1, base, plan, plan2, change)
				a = cut
			}
		}
		g.addSpan(a, s.e, base, plan, plan2, change)
	}
	sp := g.out.Enrollment[first:]
	if len(sp) > 1 && r.p(0.06) {
		// Overlap: a span runs past the start of the next adjacent one.
		k := r.IntN(len(sp) - 1)
		if sp[k].End+1 == sp[k+1].Start {
			sp[k].End = min(sp[k+1].End, sp[k].End+day(r.in(1, 31)))
		}
	}
	if r.p(0.02) {
		// A nested duplicate with medical only.
		k := r.IntN(len(sp))
		if s := sp[k]; s.End-s.Start > 40 {
			g.out.Enrollment = append(g.out.Enrollment, Span{MemberID: g.m.ID, Start: s.Start + day(r.in(1, 10)), End: s.End - day(r.in(1, 10)), Benefits: benMedical, Plan: s.Plan})
		}
	}
}

func (g *gen) addSpan(a, b day, base uint8, plan, plan2 string, change day) {
	ben := base
	if a >= g.dentalFrom {
		ben |= benDental
	}
	p := plan
	if a >= change {
		p = plan2
	}
	g.out.Enrollment = append(g.out.Enrollment, Span{MemberID: g.m.ID, Start: a, End: b, Benefits: ben, Plan: p})
}

// covered reports whether d is in the member's medical coverage.
func (g *gen) covered(d day) bool {
	for _, s := range g.cov {
		if d >= s.s && d <= s.e {
			return true
		}
	}
	return false
}

// dentalCovered reports whether d has dental coverage.
func (g *gen) dentalCovered(d day) bool { return d >= g.dentalFrom && g.covered(d) }
