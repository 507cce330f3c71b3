package synth

// Adolescent immunizations for the IMA measure (measures/ima.yaml):
// members turning 13 in the year get the history laterVaccines leaves out
// (it writes only doses from the prior year on), with the measure's edges:
// doses on either side of the 10th, 9th and 13th birthdays, MenB products
// that must not count, Td instead of Tdap, HPV doses 145, 146 and more days
// apart or three close together, and anaphylaxis after a dose.
//
// Rates aimed at (public figures): Medicaid adolescents lag the NIS-Teen
// 2022 national coverage of 13-17 year olds (Tdap 89.9%, MenACWY 88.6%, HPV
// up to date 62.6%; Pingali et al., MMWR 2023;72:912-19); Oregon Medicaid's
// IMA Combination 1 was 62% in the FFY2016 Child Core Set (medicaid.gov
// scorecard) and state Medicaid Combination 2 rates near 30% (Vermont
// Medicaid 29.1%). Targets here: meningococcal and Tdap near 75%, HPV by
// the 13th birthday near 35%.

// tagAdolescent seeds the adolescent immunization stream ("IMA").
const tagAdolescent = 0x494d41

var (
	vMenveo    = vax{"136", "90734"} // MenACWY-CRM
	vMenQuadfi = vax{"203", "90619"} // MenACWY-TT
	vMenB4C    = vax{"163", "90620"} // Bexsero: serogroup B, does not count
	vMenBFHbp  = vax{"162", "90621"} // Trumenba: serogroup B, does not count
	vTd        = vax{"113", "90714"} // Td: not Tdap
)

const icdVaccineAnaphylaxis = "T8052XA"

// eventsSoFar returns the events generated so far for the current member
// (they are the tail of the batch). The slice is only valid until the next
// add.
func (g *gen) eventsSoFar() []Event {
	evs := g.out.Events
	k := len(evs)
	for k > 0 && evs[k-1].MemberID == g.m.ID {
		k--
	}
	return evs[k:]
}

// isDose reports whether e records a dose of v.
func isDose(e *Event, v vax) bool {
	return (e.System == sysCVX && e.Code == v.cvx) || (e.System == sysCPT && e.Code == v.cpt && v.cpt != "")
}

// adolescentVaccines writes the adolescent immunization history of members
// turning 13 in the year.
func (g *gen) adolescentVaccines() {
	g.r.reseed(g.seed, tagAdolescent, uint64(g.idx))
	if g.age != 13 {
		return
	}
	r := g.r
	b := g.m.Birth
	bd9, bd10, bd11, bd13 := addYears(b, 9), addYears(b, 10), addYears(b, 11), addYears(b, 13)

	// What laterVaccines already wrote.
	var hasTdap, hasMen bool
	var hpv []day
	for _, e := range g.eventsSoFar() {
		switch {
		case isDose(&e, vTdap):
			hasTdap = true
		case isDose(&e, vMenACWY):
			hasMen = true
		case isDose(&e, vHPV):
			if len(hpv) == 0 || hpv[len(hpv)-1] != e.Date {
				hpv = append(hpv, e.Date)
			}
		}
	}
	adherent := g.adherence == 0 || (g.adherence == 1 && r.p(0.7))

	// The 11-12 year visit, with an edge now and then.
	visit := bd11 + day(r.in(0, 500))
	switch x := r.Float64(); {
	case x < 0.02:
		visit = bd10 - 1 // the day before the 10th birthday: too early
	case x < 0.04:
		visit = bd10
	case x < 0.06:
		visit = bd13 + day(r.in(1, 20)) // just after the 13th birthday
	case x < 0.08:
		visit = bd13
	}
	if !hasTdap && !hasMen && adherent && r.p(0.86) {
		switch {
		case r.p(0.03):
			g.dose(visit, vTd)
		default:
			g.dose(visit, vTdap)
		}
		switch x := r.Float64(); {
		case x < 0.04:
			g.dose(visit, oneOf(r, vMenB4C, vMenBFHbp)) // MenB instead: not counted
		case x < 0.10:
			// no meningococcal vaccine
		case x < 0.35:
			g.dose(visit, vMenQuadfi)
		case x < 0.60:
			g.dose(visit, vMenveo)
		default:
			g.dose(visit, vMenACWY)
		}
		if r.p(0.05) {
			g.dose(visit+day(r.in(0, 60)), oneOf(r, vMenB4C, vMenBFHbp))
		}
		if r.p(0.004) {
			g.anaphylaxisAfter(visit)
		}
		if len(hpv) == 0 && r.p(0.68) {
			hpv = g.hpvSeries(visit, bd13)
		}
	}

	// HPV started earlier (from the 9th birthday) or completed late.
	switch {
	case len(hpv) == 0 && adherent && r.p(0.08):
		start := bd9 + day(r.in(-3, 600))
		g.hpvSeries(start, bd13)
	case len(hpv) == 1 && r.p(0.45):
		gap := hpvGap(r)
		g.dose(hpv[0]+day(gap), vHPV)
	}
}

// hpvGap draws the days between two HPV doses, with the 146-day rule's
// edges well represented.
func hpvGap(r *rng) int {
	switch x := r.Float64(); {
	case x < 0.05:
		return 145
	case x < 0.10:
		return 146
	case x < 0.18:
		return r.in(90, 144)
	case x < 0.75:
		return r.in(147, 365)
	}
	return r.in(366, 700)
}

// hpvSeries writes an HPV series from d: one dose only, two doses, or three
// close together; doses after limit+60 are not given. It returns the dates.
func (g *gen) hpvSeries(d, limit day) []day {
	r := g.r
	ds := []day{d}
	switch x := r.Float64(); {
	case x < 0.30:
		// one dose only
	case x < 0.90:
		ds = append(ds, d+day(hpvGap(r)))
	default:
		ds = append(ds, d+day(r.in(28, 60)), d+day(r.in(120, 200)))
	}
	vs := oneOf(r, vHPV, vHPV, vHPV, vax{"62", "90649"}, vax{"137", ""})
	for _, x := range ds {
		if x > limit+60 {
			break
		}
		g.dose(x, vs)
	}
	if r.p(0.004) {
		g.anaphylaxisAfter(d)
	}
	return ds
}

// anaphylaxisAfter records anaphylaxis due to vaccination on the day of the
// dose on d or the next day, as a claim diagnosis, sometimes 2 days later
// (not attributed to the dose).
func (g *gen) anaphylaxisAfter(d day) {
	off := day(g.r.in(0, 1))
	if g.r.p(0.2) {
		off = 2
	}
	cl := g.claim('C')
	g.add(d+off, noDay, sysCPT, oneOf(g.r, "99283", "99284"), srcClaim, cl)
	g.add(d+off, noDay, sysICD, icdVaccineAnaphylaxis, srcClaim, cl)
}
