package synth

// add appends an event of the current member unless it falls outside the
// data: after Jan 31 of the next year, after death, before birth, or (for
// anything but registry rows) before the claims window opens.
func (g *gen) add(d, end day, sys, code, src, claim string) *Event {
	if d > g.cal.last || d < g.m.Birth || (g.m.Death != noDay && d > g.m.Death) {
		return nil
	}
	if src != srcRegistry && d < g.cal.priorJan1 {
		return nil
	}
	g.out.Events = append(g.out.Events, Event{MemberID: g.m.ID, Date: d, End: end, System: sys, Code: code, Source: src, ClaimID: claim})
	return &g.out.Events[len(g.out.Events)-1]
}

func (g *gen) addValue(d day, sys, code string, v float64, src, claim string) {
	if e := g.add(d, noDay, sys, code, src, claim); e != nil {
		e.Value, e.HasValue = v, true
	}
}

func (g *gen) ageAt(d day) int { return ageOn(g.m.Birth, d) }

func (g *gen) events() {
	g.childhood()
	g.laterVaccines()
	g.visits()
	g.dental()
	g.emergency()
	g.conditions()
	g.adolescentVaccines()
	g.sbirt()
	g.admissions()
	g.social()
}

// Well-child visit slots: target age in days (slots from 10 on are
// birthdays and are handled apart).
var wellSlots = []int{0, 4, 30, 61, 122, 183, 274, 365, 456, 548, 730, 913}

const (
	sBirth = iota
	s5d
	s1m
	s2m
	s4m
	s6m
	s9m
	s12m
	s15m
	s18m
	s24m
	s30m
	s3y    // then s4y, s5y, s6y
	nSlots = s3y + 4
)

// claimOn returns the claim id of the visit on d, creating one if needed.
func (g *gen) claimOn(d day) string {
	for _, vc := range g.visitClaim {
		if vc.d == d {
			return vc.claim
		}
	}
	c := g.claim('C')
	g.visitClaim = append(g.visitClaim, dayClaim{d, c})
	return c
}

// dose records one vaccine administration: mostly a registry CVX row,
// sometimes only a claim CPT row, sometimes both on the same day, or the
// registry row twice from two sources.
func (g *gen) dose(d day, v vax) {
	r := g.r
	if d < g.cal.priorJan1 {
		g.add(d, noDay, sysCVX, v.cvx, srcRegistry, "")
		return
	}
	x := r.Float64()
	switch {
	case x < 0.62 || (x < 0.75 && v.cpt == ""):
		g.add(d, noDay, sysCVX, v.cvx, srcRegistry, "")
	case x < 0.75:
		g.add(d, noDay, sysCPT, v.cpt, srcClaim, g.claimOn(d))
	case x < 0.97 && v.cpt != "":
		g.add(d, noDay, sysCVX, v.cvx, srcRegistry, "")
		g.add(d, noDay, sysCPT, v.cpt, srcClaim, g.claimOn(d))
	default:
		g.add(d, noDay, sysCVX, v.cvx, srcRegistry, "")
		g.add(d, noDay, sysCVX, v.cvx, srcEHR, g.claimOn(d))
	}
}

// childhood writes the well-child visits and the immunization history of
// children aged 6 or less at the end of the year, from birth.
func (g *gen) childhood() {
	r, c := g.r, g.cal
	if g.age > 6 {
		return
	}
	birth := g.m.Birth
	bd1, bd2 := addYears(birth, 1), addYears(birth, 2)
	present, jit := 0.995, 14
	switch g.adherence {
	case 1:
		present, jit = 0.9, 45
	case 2:
		present, jit = 0.55, 120
	}
	var slot [nSlots]day
	for k := range slot {
		var t day
		switch {
		case k == sBirth:
			slot[k] = birth + day(r.in(0, 2))
			continue
		case k == s12m:
			t = bd1
		case k == s24m:
			t = bd2
		case k >= s3y:
			t = addYears(birth, 3+k-s3y)
		default:
			t = birth + day(wellSlots[k])
		}
		if r.p(present) {
			slot[k] = t + day(r.in(0, jit))
		} else {
			slot[k] = noDay
		}
	}
	// Edge cases: 2-month doses before 42 days of age; the 12-month visit
	// a few days before the 1st birthday.
	if slot[s2m] != noDay && r.p(0.04) {
		slot[s2m] = birth + day(r.in(35, 41))
	}
	if slot[s12m] != noDay && r.p(0.03) {
		slot[s12m] = bd1 - day(r.in(1, 6))
	}

	// Well-child visit claims.
	for k := s5d; k < nSlots; k++ {
		d := slot[k]
		if d == noDay || d < c.priorJan1 || d > c.last || (!g.covered(d) && r.p(0.85)) {
			continue
		}
		g.outpatient(d, true)
	}

	pd := 0.995
	switch g.adherence {
	case 1:
		pd = 0.95
	case 2:
		pd = 0.8
	}
	give := func(k int, v vax) {
		if d := slot[k]; d != noDay && r.p(pd) {
			g.dose(d, v)
		}
	}

	// Hepatitis B at birth, sometimes only as the birth-stay procedure.
	birthDose := r.p(0.9)
	if birth >= c.priorJan1 && r.p(0.25) {
		d := birth + day(r.in(0, 6))
		if r.p(0.1) {
			d = birth + day(r.in(8, 12))
		}
		g.add(d, noDay, sysPCS, pcsNewbornHepB, srcClaim, g.claim('C'))
		if r.p(0.35) {
			birthDose = false
		}
	}
	if birthDose {
		g.dose(slot[sBirth], oneOf(r, vHepB, vHepB, vHepB, vHepB, vHepB, vHepB, vHepB, vHepB, vHepB, vHepB, vHepB, vHepB, vHepB, vHepB, vHepB, vHepB, vHepB, vHepB, vHepB45, vHepB44))
	}

	dtap := vDTaP
	if r.p(0.3) {
		dtap = vDTaP106
	} else if r.p(0.05) {
		dtap = vDTaP107
	}
	hib := vHibActHIB
	if r.p(0.4) {
		hib = vHibPedvax
	}
	ipv := vIPV
	if r.p(0.05) {
		ipv = vIPV89
	}
	lateDTaP4 := r.p(0.03)
	dtap4 := func() {
		if lateDTaP4 {
			g.dose(bd2+1, dtap)
			return
		}
		k := s15m
		if r.p(0.4) {
			k = s18m
		}
		if r.p(0.05) && hib == vHibActHIB {
			give(k, vDTaPHib)
			return
		}
		give(k, dtap)
	}
	hibDoses := func(k2, k4, k6, kb int) {
		if hib == vHibPedvax && r.p(0.2) {
			give(k2, vHibHepB)
			give(k4, vHibHepB)
			give(s12m, vHibHepB)
			return
		}
		give(k2, hib)
		give(k4, hib)
		if hib == vHibActHIB && k6 >= 0 {
			give(k6, hib)
		}
		give(kb, hib)
	}
	x := r.Float64()
	switch {
	case x < 0.35: // Pediarix
		give(s2m, vPediarix)
		give(s4m, vPediarix)
		give(s6m, vPediarix)
		dtap4()
		hibDoses(s2m, s4m, s6m, s12m)
	case x < 0.65: // Pentacel
		give(s2m, vPentacel)
		give(s4m, vPentacel)
		give(s6m, vPentacel)
		if lateDTaP4 {
			g.dose(bd2+1, vPentacel)
		} else {
			give(s15m, vPentacel)
		}
		give(s1m, vHepB)
		give(s6m, vHepB)
	case x < 0.75: // Vaxelis
		give(s2m, vVaxelis)
		give(s4m, vVaxelis)
		give(s6m, vVaxelis)
		dtap4()
		give(oneOf(r, s12m, s15m), hib)
	default: // single antigens
		give(s2m, dtap)
		give(s4m, dtap)
		give(s6m, dtap)
		dtap4()
		give(s2m, ipv)
		give(s4m, ipv)
		give(oneOf(r, s6m, s6m, s9m, s12m, s18m), ipv)
		hibDoses(s2m, s4m, s6m, s15m)
		give(s1m, vHepB)
		give(s6m, vHepB)
	}

	// Pneumococcal conjugate.
	pcv := vPCV13
	if y := r.Float64(); y < 0.35 {
		pcv = vPCV15
	} else if y < 0.45 {
		pcv = vPCV
	}
	give(s2m, pcv)
	give(s4m, pcv)
	give(s6m, pcv)
	give(oneOf(r, s12m, s15m), pcv)

	// Rotavirus: 2-dose or 3-dose series.
	if y := r.Float64(); y < 0.55 {
		give(s2m, vRV1)
		give(s4m, vRV1)
	} else {
		rv := vRV5
		if y > 0.9 {
			rv = vRV122
		}
		give(s2m, rv)
		give(s4m, rv)
		give(s6m, rv)
	}

	// Measles, mumps, rubella and varicella: separate or MMRV.
	if r.p(0.15) {
		give(s12m, vMMRV)
	} else {
		give(s12m, vMMR)
		if r.p(0.95) {
			give(s12m, vVZV)
		} else {
			give(s15m, vVZV)
		}
	}
	k4y := s3y + 1 + r.IntN(3)
	if r.p(0.2) {
		give(k4y, vMMRV)
	} else {
		give(k4y, vMMR)
		give(k4y, vVZV)
	}
	if r.p(0.6) {
		give(k4y, vKinrix)
	} else {
		give(k4y, dtap)
		give(k4y, ipv)
	}

	// Hepatitis A.
	hepa := vHepA
	if r.p(0.1) {
		hepa = vHepA85
	}
	give(s12m, hepa)
	give(oneOf(r, s18m, s24m), hepa)

	// Influenza, every season from 6 months of age.
	pf := []float64{0.6, 0.35, 0.1}[g.adherence]
	had := false
	by, _, _ := civil(birth)
	for s := by; s <= c.year; s++ {
		lo := max(mkDay(s, 9, 15), birth+183)
		hi := mkDay(s+1, 2, 28)
		if lo > hi || !r.p(pf) {
			continue
		}
		d := r.day(lo, hi)
		g.dose(d, g.fluFor(d))
		if !had && r.p(0.75) {
			d2 := d + day(r.in(28, 45))
			g.dose(d2, g.fluFor(d2))
		}
		had = true
	}
	if g.age == 2 && r.p(0.03) {
		// Live attenuated influenza on the 2nd birthday itself.
		g.dose(bd2, vLAIV)
	}
}

// fluFor picks an influenza vaccine suitable for the age on d.
func (g *gen) fluFor(d day) vax {
	a := g.ageAt(d)
	switch {
	case a >= 2 && a < 50 && g.r.p(0.15):
		return oneOf(g.r, vLAIV, vLAIV, vLAIV, vLAIV11)
	case a < 18:
		return fluChild.pick(g.r)
	}
	return fluAdult.pick(g.r)
}

// laterVaccines writes in-window vaccines of members older than 6:
// influenza, and Tdap, HPV and MenACWY at 11-12.
func (g *gen) laterVaccines() {
	r, c := g.r, g.cal
	if g.age <= 6 {
		return
	}
	pf := 0.3
	if g.age < 18 {
		pf = 0.35
	} else if g.age >= 65 {
		pf = 0.5
	}
	for s := c.year - 1; s <= c.year; s++ {
		if r.p(pf) {
			d := r.day(mkDay(s, 9, 10), mkDay(s, 12, 20))
			g.dose(d, g.fluFor(d))
		}
	}
	if g.age >= 11 && g.age <= 14 && r.p(0.65) {
		d := addYears(g.m.Birth, 11) + day(r.in(0, 400))
		if d >= c.priorJan1 {
			g.dose(d, vTdap)
			g.dose(d, vMenACWY)
			if r.p(0.7) {
				g.dose(d, vHPV)
				if r.p(0.6) {
					g.dose(d+day(r.in(180, 365)), vHPV)
				}
			}
		}
	}
}

// outpatient writes one office visit claim on d: E/M code, diagnoses, place
// of service, interpreter, and for members 12 and over sometimes a
// depression screen. It returns the claim id.
func (g *gen) outpatient(d day, preventive bool) string {
	r := g.r
	a := g.ageAt(d)
	cl := g.claimOn(d)
	var cpt string
	switch {
	case preventive:
		cpt = preventiveCPT(a, r.p(0.1))
	case r.p(0.08):
		cpt = emNew.pick(r)
	default:
		cpt = emEstablished.pick(r)
	}
	g.add(d, noDay, sysCPT, cpt, srcClaim, cl)
	switch {
	case preventive && a < 18:
		g.add(d, noDay, sysICD, oneOf(r, "Z00129", "Z00129", "Z00129", "Z00121"), srcClaim, cl)
		if r.p(0.2) {
			g.add(d, noDay, sysICD, dxChild.pick(r), srcClaim, cl)
		}
		if a >= 1 && a <= 5 && r.p(0.3) {
			g.add(d, noDay, sysCPT, cptFluorideVarnish, srcClaim, cl)
		}
	case preventive:
		g.add(d, noDay, sysICD, oneOf(r, "Z0000", "Z0000", "Z0001"), srcClaim, cl)
	default:
		g.add(d, noDay, sysICD, g.dx(a), srcClaim, cl)
		if r.p(0.25) {
			g.add(d, noDay, sysICD, g.dx(a), srcClaim, cl)
		}
	}
	if x := r.Float64(); x < 0.2 {
		g.add(d, noDay, sysPOS, "11", srcClaim, cl)
	} else if x < 0.24 {
		g.add(d, noDay, sysPOS, oneOf(r, "02", "10"), srcClaim, cl)
	}
	g.interpreter(d, cl)
	if a >= 12 && d >= g.cal.priorJan1 && d <= g.cal.dec31 {
		ps := 0.3
		if preventive {
			ps = 0.5
		}
		if r.p(ps) {
			g.screen(d, a < 18)
		}
	}
	return cl
}

func (g *gen) dx(age int) string {
	switch {
	case age < 4:
		// No ADHD, anxiety or obesity codes for toddlers.
		switch c := dxChild.pick(g.r); c {
		case "F909", "F419", "E669":
			return "J069"
		default:
			return c
		}
	case age < 18:
		return dxChild.pick(g.r)
	case age < 65:
		return dxAdult.pick(g.r)
	}
	return dxElder.pick(g.r)
}

func (g *gen) interpreter(d day, cl string) {
	if g.m.Interpreter == 1 && g.r.p(0.6) {
		g.add(d, noDay, sysHCPCS, hcpcsInterpreter, srcClaim, cl)
	}
}

// visits writes office visits in the prior and measurement years.
func (g *gen) visits() {
	r, c := g.r, g.cal
	for y := c.year - 1; y <= c.year; y++ {
		jan1, dec31 := mkDay(y, 1, 1), mkDay(y, 12, 31)
		a := ageOn(g.m.Birth, dec31)
		if a < 0 {
			continue
		}
		mean, pPrev := 1.3, 0.35
		switch {
		case a <= 6:
			mean, pPrev = 1.4, 0 // well visits come from childhood()
		case a < 18:
			mean, pPrev = 1.0, 0.6
		case a >= 65:
			mean, pPrev = 1.4, 0.4
		}
		n := r.count(mean)
		for i := 0; i <= n; i++ {
			prev := i == n
			if prev && !r.p(pPrev) {
				continue
			}
			d := r.day(max(jan1, g.m.Birth), dec31)
			if !g.covered(d) && r.p(0.85) {
				continue
			}
			g.outpatient(d, prev)
		}
	}
}

// screen writes a depression screen at a visit on d and, when positive,
// maybe a follow-up.
func (g *gen) screen(d day, adolescent bool) {
	r := g.r
	src := srcEHR
	if r.p(0.15) {
		src = srcEncounter
	}
	vid := g.claim('V')
	positive := false
	x := r.Float64()
	pPHQ2 := 0.30
	if adolescent {
		pPHQ2 = 0.10
	}
	switch {
	case x < 0.02:
		// Not done: only the reason.
		g.add(d, noDay, sysSNOMD, snomedDeclined, src, vid)
		return
	case x < 0.07:
		// Coded result: observation plus finding.
		code := loincAdultScreen
		if adolescent {
			code = loincAdolScreen
		}
		positive = (g.mood == 2 && r.p(0.85)) || (g.mood == 1 && r.p(0.2))
		g.add(d, noDay, sysLOINC, code, src, vid)
		res := snomedNegative
		if positive {
			res = snomedPositive
		}
		g.add(d, noDay, sysSNOMD, res, src, vid)
	case x < 0.07+pPHQ2:
		v := g.phq2()
		g.addValue(d, sysLOINC, loincPHQ2, float64(v), src, vid)
		positive = v >= 3
		if positive && r.p(0.7) {
			v9 := g.phq9()
			g.addValue(d, sysLOINC, loincPHQ9, float64(v9), src, vid)
			positive = v9 >= 10
		}
	default:
		code := loincPHQ9
		if (adolescent && r.p(0.5)) || (g.ageAt(d) <= 19 && r.p(0.3)) {
			// PHQ-A, sometimes just after the 18th birthday.
			code = loincPHQA
		}
		if r.p(0.02) {
			g.add(d, noDay, sysLOINC, code, src, vid) // result missing
			return
		}
		v := g.phq9()
		g.addValue(d, sysLOINC, code, float64(v), src, vid)
		positive = v >= 10
	}
	if positive {
		g.followUp(d)
	}
}

func (g *gen) phq9() int {
	r := g.r
	switch g.mood {
	case 0:
		if r.p(0.85) {
			return r.in(0, 4)
		}
		return r.in(5, 9)
	case 1:
		switch x := r.Float64(); {
		case x < 0.3:
			return 9
		case x < 0.4:
			return 10
		}
		return r.in(5, 9)
	}
	switch x := r.Float64(); {
	case x < 0.12:
		return 10
	case x < 0.72:
		return r.in(10, 19)
	}
	return r.in(20, 27)
}

func (g *gen) phq2() int {
	r := g.r
	switch g.mood {
	case 0:
		if r.p(0.05) {
			return 3
		}
		return r.in(0, 2)
	case 1:
		return r.in(1, 3)
	}
	return r.in(3, 6)
}

// followUp writes the follow-up of a positive screen on d: within 30 days
// for about half, at 31-75 days for some, never for the rest.
func (g *gen) followUp(d day) {
	r := g.r
	var off int
	switch x := r.Float64(); {
	case x < 0.55:
		switch y := r.Float64(); {
		case y < 0.15:
			off = 0
		case y < 0.25:
			off = 30
		default:
			off = r.in(1, 29)
		}
	case x < 0.67:
		if r.p(0.25) {
			off = 31
		} else {
			off = r.in(32, 75)
		}
	default:
		return
	}
	f := d + day(off)
	switch x := r.Float64(); {
	case x < 0.65:
		cl := g.claim('C')
		g.add(f, noDay, sysCPT, followupCPT.pick(r), srcClaim, cl)
		g.add(f, noDay, sysICD, depressionDx.pick(r), srcClaim, cl)
		g.interpreter(f, cl)
	case x < 0.85:
		cl := g.claim('C')
		g.add(f, noDay, sysCPT, oneOf(r, "99213", "99213", "99214"), srcClaim, cl)
		g.add(f, noDay, sysICD, depressionDx.pick(r), srcClaim, cl)
		g.interpreter(f, cl)
	default:
		g.fill(f)
	}
	if r.p(0.3) {
		g.fill(f + day(r.in(0, 20)))
	}
}

// fill writes a pharmacy claim for an antidepressant.
func (g *gen) fill(d day) {
	g.add(d, noDay, sysRx, antidepressants.pick(g.r), srcClaim, g.claim('R'))
}

// dental writes dental visits: evaluation only, treatment only, or a
// preventive visit with cleaning, fluoride and sealants.
func (g *gen) dental() {
	r, c := g.r, g.cal
	for y := c.year - 1; y <= c.year; y++ {
		dec31 := mkDay(y, 12, 31)
		a := ageOn(g.m.Birth, dec31)
		var p float64
		switch {
		case a < 1:
			p = 0.03
		case a <= 5:
			p = 0.5
		case a <= 14:
			p = 0.62
		case a <= 20:
			p = 0.45
		default:
			p = 0.28
		}
		if !r.p(p) {
			continue
		}
		n := 1
		if r.p(0.35) {
			n = 2
		}
		for range n {
			d := r.day(max(mkDay(y, 1, 1), g.m.Birth+180), dec31)
			if !g.dentalCovered(d) && r.p(0.95) {
				continue
			}
			g.dentalVisit(d)
		}
	}
}

func (g *gen) dentalVisit(d day) {
	r := g.r
	a := g.ageAt(d)
	cl := g.claim('C')
	cdt := func(code string) { g.add(d, noDay, sysCDT, code, srcClaim, cl) }
	eval := "D0120"
	if a < 3 {
		eval = "D0145"
	} else if r.p(0.15) {
		eval = "D0150"
	}
	switch x := r.Float64(); {
	case x < 0.12:
		cdt(eval)
	case x < 0.18:
		cdt("D0140")
		cdt(oneOf(r, "D2391", "D2330", "D7140", "D2140"))
	default:
		if r.p(0.8) {
			cdt(eval)
		}
		if r.p(0.9) {
			if a < 14 {
				cdt("D1120")
			} else {
				cdt("D1110")
			}
		}
		switch {
		case a < 19 && r.p(0.55):
			cdt("D1206")
		case r.p(0.15):
			cdt("D1208")
		}
		if a >= 6 && a <= 14 && r.p(0.25) {
			cdt("D1351")
		}
		if r.p(0.4) {
			cdt(oneOf(r, "D0274", "D0272"))
		}
		if r.p(0.05) {
			cdt("D1330")
		}
		if a <= 14 && r.p(0.02) {
			cdt("D1354")
		}
	}
	g.interpreter(d, cl)
}

// emergency writes emergency department visits, with end_date and POS 23.
func (g *gen) emergency() {
	r, c := g.r, g.cal
	p := 0.12
	if g.age < 18 {
		p = 0.10
	} else if g.age >= 65 {
		p = 0.18
	}
	for y := c.year - 1; y <= c.year; y++ {
		if !r.p(p) {
			continue
		}
		n := 1
		if r.p(0.2) {
			n = 2
		}
		for range n {
			d := r.day(max(mkDay(y, 1, 1), g.m.Birth), mkDay(y, 12, 31))
			end := d
			if r.p(0.25) {
				end = d + 1
			}
			cl := g.claim('C')
			g.add(d, end, sysCPT, emED.pick(r), srcClaim, cl)
			g.add(d, end, sysPOS, "23", srcClaim, cl)
			g.add(d, end, sysICD, dxED.pick(r), srcClaim, cl)
			if r.p(0.3) {
				g.add(d, end, sysICD, g.dx(g.ageAt(d)), srcClaim, cl)
			}
			g.interpreter(d, cl)
		}
	}
}

// conditions writes exclusion-relevant diagnoses: CIS exclusions and
// history of illness, prior depression and bipolar disorder, hospice.
func (g *gen) conditions() {
	r, c := g.r, g.cal
	dxVisit := func(d day, code string) {
		cl := g.claim('C')
		g.add(d, noDay, sysCPT, oneOf(r, "99213", "99214"), srcClaim, cl)
		g.add(d, noDay, sysICD, code, srcClaim, cl)
	}
	hospice := func() {
		d := r.day(c.jan1, c.dec31-10)
		cl := g.claim('C')
		for k := range r.in(1, 3) {
			g.add(d+day(30*k), d+day(30*k+29), sysHCPCS, hcpcsHospice, srcClaim, cl)
		}
	}
	if g.age == 2 {
		bd1, bd2 := addYears(g.m.Birth, 1), addYears(g.m.Birth, 2)
		switch x := r.Float64(); {
		case x < 0.015:
			hospice()
		case x < 0.09:
			dxVisit(r.day(max(g.m.Birth+30, c.priorJan1), bd2), cisExclusionDx.pick(r))
		}
		if r.p(0.05) {
			dxVisit(r.day(bd1-200, bd2), historyDx.pick(r))
		}
		if r.p(0.015) {
			// Anaphylaxis on the problem list: one row per coding.
			d := r.day(g.m.Birth+60, bd2)
			id := g.claim('V')
			g.add(d, noDay, sysSNOMD, anaphylaxisSNOMED.pick(r), srcEHR, id)
			g.add(d, noDay, sysICD, "T8052XA", srcEHR, id)
		}
	}
	if g.age >= 65 {
		switch x := r.Float64(); {
		case x < 0.015:
			hospice()
		case x < 0.025:
			// Hospice assessment answered yes (1) or no (0).
			g.addValue(r.day(c.jan1, c.dec31), sysLOINC, loincHospice, float64(r.IntN(2)), srcEHR, g.claim('V'))
		}
	}
	if ageOn(g.m.Birth, c.priorJan1) >= 12 {
		if r.p(0.02) {
			dxVisit(r.day(c.priorJan1, c.dec31), bipolarDx.pick(r))
		}
		if r.p(0.06) {
			for range r.in(1, 3) {
				dxVisit(r.day(c.priorJan1, c.jan1-1), priorDepDx.pick(r))
			}
			for range r.in(1, 4) {
				g.fill(r.day(c.priorJan1, c.dec31))
			}
		}
	}
}
