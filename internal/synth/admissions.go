package synth

// Emergency department use beyond emergency(): repeat ED visits (some for
// mental health or substance use, some billed as critical care with place of
// service 23 and no ED E/M code) and the inpatient stays that follow some ED
// visits. emergency() alone gives about 14 ED visits per 1,000 member months;
// Medicaid programs report about 40 (Vermont Medicaid, HEDIS AMB ED visits,
// MY2022: 41.4 per 1,000 member months), so admissions() adds repeat visits
// to reach the mid 30s, and admits about 12% of ED visits (national ED
// survey data such as CDC NHAMCS put admissions at around a tenth of ED
// visits).

// tagAdmissions seeds the stream of admissions(), so its draws depend on no
// other generator and add nothing to their streams.
const tagAdmissions = 0xad315510e5

// Inpatient and ED codes written by admissions().
const (
	posInpatient    = "21"
	posInpatientPsy = "51"
	posED           = "23"
	cptCriticalCare = "99291"
	cptPsychEval    = "90791"
)

var (
	// Principal diagnoses of mental health and substance use ED visits.
	dxEDMentalHealth = newTable(
		w[string]{"F329", 18}, w[string]{"F419", 14}, w[string]{"F411", 6}, w[string]{"F10129", 14},
		w[string]{"F1020", 6}, w[string]{"F1120", 8}, w[string]{"F1510", 5}, w[string]{"F209", 6},
		w[string]{"F4310", 6}, w[string]{"F319", 5}, w[string]{"F919", 4}, w[string]{"F99", 2})
	// Diagnoses of critical care in the ED.
	dxCritical = newTable(w[string]{"I214", 25}, w[string]{"J9601", 20}, w[string]{"A419", 25}, w[string]{"I469", 10}, w[string]{"E1010", 20})
	// Days from the ED visit to an admission billed on its own claim.
	admitDelay = newTable(w[int]{0, 70}, w[int]{1, 22}, w[int]{2, 8})
	// Admission E/M codes (initial hospital inpatient care).
	cptAdmit = newTable(w[string]{"99222", 45}, w[string]{"99223", 55})
)

// admissions writes the member's repeat ED visits, then admits some of all
// the member's ED visits.
func (g *gen) admissions() {
	g.r.reseed(g.seed, tagAdmissions, uint64(g.idx))
	g.repeatED()
	g.admitFromED()
}

// repeatED writes extra ED visits in the prior and measurement years for a
// minority of members: about 20% of members a year, two visits on average.
func (g *gen) repeatED() {
	r, c := g.r, g.cal
	p := 0.2
	switch {
	case g.age < 18:
		p = 0.16
	case g.age >= 65:
		p = 0.18
	}
	if g.mood == 2 {
		p += 0.08 // mental health crises
	}
	for y := c.year - 1; y <= c.year; y++ {
		if !r.p(p) {
			continue
		}
		for range 1 + r.count(1.0) {
			d := r.day(max(mkDay(y, 1, 1), g.m.Birth), mkDay(y, 12, 31))
			if !g.covered(d) && r.p(0.8) {
				continue
			}
			end := d
			if r.p(0.25) {
				end = d + 1
			}
			cl := g.claim('C')
			x := r.Float64()
			mh := 0.08
			if g.mood == 2 {
				mh = 0.35
			}
			switch {
			case x < mh && g.ageAt(d) >= 10:
				// Mental health or substance use: the principal diagnosis is
				// F01-F99; some have a psychiatric evaluation in the ED, a few
				// an injury or symptom code as well.
				g.add(d, end, sysCPT, emED.pick(r), srcClaim, cl)
				g.add(d, end, sysPOS, posED, srcClaim, cl)
				g.add(d, end, sysICD, dxEDMentalHealth.pick(r), srcClaim, cl)
				switch z := r.Float64(); {
				case z < 0.2:
					g.add(d, end, sysCPT, cptPsychEval, srcClaim, cl)
				case z < 0.35:
					g.add(d, end, sysICD, dxED.pick(r), srcClaim, cl)
				case z < 0.45:
					g.add(d, end, sysICD, "F17210", srcClaim, cl) // nicotine dependence, also F
				}
			case x < mh+0.05:
				// Critical care billed instead of an ED E/M: CPT 99291 with POS 23.
				g.add(d, end, sysCPT, cptCriticalCare, srcClaim, cl)
				g.add(d, end, sysPOS, posED, srcClaim, cl)
				g.add(d, end, sysICD, dxCritical.pick(r), srcClaim, cl)
			default:
				g.add(d, end, sysCPT, emED.pick(r), srcClaim, cl)
				g.add(d, end, sysPOS, posED, srcClaim, cl)
				g.add(d, end, sysICD, dxED.pick(r), srcClaim, cl)
				if r.p(0.3) {
					g.add(d, end, sysICD, g.dx(g.ageAt(d)), srcClaim, cl)
				}
			}
			g.interpreter(d, cl)
		}
	}
}

// edVisit is an ED claim of the current member.
type edVisit struct {
	d        day
	claim    string
	dx       string
	mh, crit bool
}

// edVisits lists the current member's ED claims (an ED E/M code, or
// critical care with POS 23) with their first diagnosis.
func (g *gen) edVisits() []edVisit {
	var out []edVisit
	idx := map[string]int{}
	pos23 := map[string]bool{}
	evs := g.eventsSoFar()
	for i := range evs {
		e := &evs[i]
		if e.System == sysPOS && e.Code == posED {
			pos23[e.ClaimID] = true
		}
	}
	for i := range evs {
		e := &evs[i]
		if e.System != sysCPT || !(isEDCode(e.Code) || (e.Code == cptCriticalCare && pos23[e.ClaimID])) {
			continue
		}
		if _, ok := idx[e.ClaimID]; !ok {
			idx[e.ClaimID] = len(out)
			out = append(out, edVisit{d: e.Date, claim: e.ClaimID, crit: e.Code == cptCriticalCare})
		}
	}
	for i := range evs {
		e := &evs[i]
		if k, ok := idx[e.ClaimID]; ok && e.System == sysICD && out[k].dx == "" {
			out[k].dx = e.Code
			out[k].mh = e.Code[0] == 'F'
		}
	}
	return out
}

func isEDCode(code string) bool { return code >= "99281" && code <= "99285" && len(code) == 5 }

// admitFromED admits about 12% of the member's ED visits (a third of
// critical care visits): the stay is on the ED claim for some, otherwise its
// own claim admitted the same day, the next day, or now and then two days
// later (which is not an admission from that ED visit).
func (g *gen) admitFromED() {
	r := g.r
	for _, v := range g.edVisits() {
		p := 0.09
		switch {
		case v.crit:
			p = 0.35
		case v.mh:
			p = 0.15
		case g.ageAt(v.d) >= 65:
			p = 0.18
		}
		if !r.p(p) {
			continue
		}
		admit, cl := v.d, v.claim
		if !r.p(0.4) {
			cl = g.claim('C')
			admit += day(admitDelay.pick(r))
		}
		discharge := admit + day(r.in(1, 6))
		pos := posInpatient
		if v.mh && r.p(0.6) {
			pos = posInpatientPsy
		}
		g.add(admit, discharge, sysPOS, pos, srcClaim, cl)
		g.add(admit, discharge, sysCPT, cptAdmit.pick(r), srcClaim, cl)
		if cl != v.claim && v.dx != "" {
			g.add(admit, discharge, sysICD, v.dx, srcClaim, cl)
		}
	}
}
