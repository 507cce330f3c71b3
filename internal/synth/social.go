package synth

import "slices"

// Interpreter need recorded at visits, interpreter services billed by
// agencies, and social needs: screenings for food, housing and
// transportation needs (instrument answers as LOINC rows), needs coded as
// ICD-10-CM Z59 diagnoses, and referrals and services for them.
//
// Rates aimed for: about 30% of members screened for all three domains in
// the year (OHA's SDOH measure is new; clinics screen at a minority of
// visits), about a third of screened members with at least one need, food
// insecurity the most common (the pattern published screening programs
// such as the CMS Accountable Health Communities Model report), and a
// referral within 30 days for about half of the needs. Visits of members
// who need an interpreter get one about 70% of the time (60% on the visit
// claim from interpreter(), more from interpreter agencies' own claims).

// tagSocial seeds the stream of social(), so its draws depend on no other
// generator and add nothing to their streams.
const tagSocial = 0x50c1a15d07

// Interpreter need (US Core / LOINC 54588-9) and yes/no answers.
const (
	loincInterpreterNeeded = "54588-9"
	loincYes               = "LA33-6"
	loincNo                = "LA32-8"
)

// Social needs instruments and items (LOINC).
const (
	loincAHCPanel       = "96777-8" // AHC HRSN screening tool
	loincPRAPAREPanel   = "93025-5" // PRAPARE
	loincHVSPanel       = "88121-9" // Hunger Vital Sign
	loincFoodWorried    = "88122-7"
	loincFoodDidntLast  = "88123-5"
	loincFoodRisk       = "88124-3"
	loincMaterialNeeds  = "93031-3" // PRAPARE: unable to get food, clothing, utilities, ...
	loincHousingStatus  = "71802-3"
	loincHousingWorry   = "93033-9" // PRAPARE: worried about losing your housing
	loincTransportation = "93030-5"

	laOftenTrue     = "LA28397-0"
	laSometimesTrue = "LA6729-3"
	laNeverTrue     = "LA28398-8"
	laRefused       = "LA15775-2" // don't know / refused
	laAtRisk        = "LA19952-3"
	laNoRisk        = "LA19983-8"
	laFood          = "LA30125-1" // PRAPARE material needs: food
	laUtilities     = "LA30124-4"
	laSteadyPlace   = "LA31993-1" // AHC housing status
	laWorriedLosing = "LA31994-9"
	laNoSteadyPlace = "LA31995-6"
	laHaveHousing   = "LA30190-5" // PRAPARE housing status
	laNoHousing     = "LA30191-3"
	laTransMedical  = "LA30133-5" // PRAPARE transportation: kept me from medical appointments
	laTransOther    = "LA30134-3" // ... from non-medical meetings, work, things I need

	hcpcsSDOHAssessment = "G0136"
)

var (
	zFood      = newTable(w[string]{"Z5941", 90}, w[string]{"Z5948", 10})
	zHousing   = newTable(w[string]{"Z5900", 15}, w[string]{"Z5901", 20}, w[string]{"Z5902", 15}, w[string]{"Z59811", 25}, w[string]{"Z59812", 10}, w[string]{"Z59819", 15})
	zTransport = newTable(w[string]{"Z5982", 1})

	// Referrals and services per domain: system and code.
	foodReferrals      = newTable(w[[2]string]{[2]string{sysSNOMD, "467771000124109"}, 40}, w[[2]string]{[2]string{sysSNOMD, "467681000124101"}, 10}, w[[2]string]{[2]string{sysHCPCS, "S5170"}, 50})
	housingReferrals   = newTable(w[[2]string]{[2]string{sysHCPCS, "H0044"}, 40}, w[[2]string]{[2]string{sysHCPCS, "H0043"}, 30}, w[[2]string]{[2]string{sysHCPCS, "T2038"}, 30})
	transportReferrals = newTable(w[[2]string]{[2]string{sysHCPCS, "T2003"}, 50}, w[[2]string]{[2]string{sysHCPCS, "A0100"}, 30}, w[[2]string]{[2]string{sysHCPCS, "A0120"}, 20})
	// Days from a positive screen to its referral: the day, the 30-day edge,
	// within the window, just late, or late.
	referralDelay = newTable(w[[2]int]{[2]int{0, 0}, 15}, w[[2]int]{[2]int{30, 30}, 5}, w[[2]int]{[2]int{1, 29}, 68},
		w[[2]int]{[2]int{31, 31}, 4}, w[[2]int]{[2]int{32, 60}, 8})
	generalReferrals = newTable(w[[2]string]{[2]string{sysSNOMD, "308440001"}, 50}, w[[2]string]{[2]string{sysSNOMD, "410606002"}, 30}, w[[2]string]{[2]string{sysHCPCS, "G0019"}, 20})
)

// social writes the member's interpreter-need observations and agency
// interpreter claims, then the social needs screenings, Z59 diagnoses and
// referrals.
func (g *gen) social() {
	g.r.reseed(g.seed, tagSocial, uint64(g.idx))
	visits := g.visitClaims()
	g.languageNeed(visits)
	g.socialNeeds(visits)
}

// isVisitAnchor reports whether a code anchors an outpatient visit (office,
// preventive, home, telehealth, behavioural health or dental evaluation).
func isVisitAnchor(sys, code string) bool {
	switch sys {
	case sysCPT:
		switch {
		case code >= "99202" && code <= "99215", code >= "99341" && code <= "99350", code >= "99381" && code <= "99397",
			code >= "98000" && code <= "98015", code >= "98966" && code <= "98968":
			return len(code) == 5
		}
		return slices.Contains([]string{"90791", "90792", "90832", "90834", "90837", "90839", "90846", "90847", "90849", "90853"}, code)
	case sysCDT:
		return slices.Contains([]string{"D0120", "D0140", "D0145", "D0150", "D0160", "D0170", "D0180"}, code)
	}
	return false
}

// visitClaims lists the current member's outpatient visits (one per claim),
// in date order, with whether the claim already bills an interpreter.
func (g *gen) visitClaims() []visitClaim {
	evs := g.eventsSoFar()
	interp := map[string]bool{}
	for i := range evs {
		if evs[i].Code == hcpcsInterpreter && evs[i].System == sysHCPCS {
			interp[evs[i].ClaimID] = true
		}
	}
	var out []visitClaim
	seen := map[string]bool{}
	for i := range evs {
		e := &evs[i]
		if e.ClaimID == "" || seen[e.ClaimID] || !isVisitAnchor(e.System, e.Code) {
			continue
		}
		seen[e.ClaimID] = true
		out = append(out, visitClaim{e.Date, e.ClaimID, interp[e.ClaimID]})
	}
	slices.SortStableFunc(out, func(a, b visitClaim) int { return int(a.d) - int(b.d) })
	return out
}

type visitClaim struct {
	d           day
	claim       string
	interpreted bool
}

// languageNeed records interpreter need at a visit for half the members
// whose record leaves it null although they prefer a language other than
// English, and a "no longer needed" answer for a few who needed one; from
// then on, and for members who need one, interpreter agencies bill T1013 on
// their own claims for some of the visits that have none on the visit claim.
func (g *gen) languageNeed(visits []visitClaim) {
	r := g.r
	if len(visits) == 0 {
		return
	}
	needFrom, needTo := noDay, noDay
	lang := g.m.Language
	switch {
	case g.m.Interpreter == -1 && lang != "" && lang != "en" && r.p(0.5):
		v := visits[r.IntN(len(visits))]
		g.yesNo(v.d, loincInterpreterNeeded, true, srcEHR)
		needFrom, needTo = v.d, g.cal.last
	case g.m.Interpreter == 1:
		needFrom, needTo = g.cal.priorJan1, g.cal.last
		if r.p(0.03) {
			v := visits[r.IntN(len(visits))]
			g.yesNo(v.d, loincInterpreterNeeded, false, srcEHR)
			needTo = v.d - 1
		}
	}
	if needFrom == noDay {
		return
	}
	p := 0.25
	if g.m.Interpreter == -1 {
		p = 0.6
	}
	for _, v := range visits {
		if v.interpreted || v.d < needFrom || v.d > needTo || !r.p(p) {
			continue
		}
		g.add(v.d, noDay, sysHCPCS, hcpcsInterpreter, srcClaim, g.claim('I'))
	}
}

// yesNo writes a yes/no observation: the answer as value 1/0, or as a LOINC
// answer code row of the same resource.
func (g *gen) yesNo(d day, loinc string, yes bool, src string) {
	id := g.claim('V')
	if g.r.p(0.5) {
		v := 0.0
		if yes {
			v = 1
		}
		g.addValue(d, sysLOINC, loinc, v, src, id)
		return
	}
	ans := loincNo
	if yes {
		ans = loincYes
	}
	g.add(d, noDay, sysLOINC, loinc, src, id)
	g.add(d, noDay, sysLOINC, ans, src, id)
}

// item writes one answered item: its code and its answer code, one
// resource; no answer row when ans is "".
func (g *gen) item(d day, loinc, ans string) {
	id := g.claim('V')
	g.add(d, noDay, sysLOINC, loinc, srcEHR, id)
	if ans != "" {
		g.add(d, noDay, sysLOINC, ans, srcEHR, id)
	}
}

// socialNeeds screens some members in the measurement year with the AHC
// HRSN tool, PRAPARE, the Hunger Vital Sign alone, or a G0136 claim line
// alone, codes some needs as Z59 diagnoses, and refers about half of the
// needs found.
func (g *gen) socialNeeds(visits []visitClaim) {
	r, c := g.r, g.cal
	var food, housing, transport bool
	if r.p(0.35) {
		food, housing, transport = r.p(0.6), r.p(0.4), r.p(0.35)
	}
	var year []visitClaim
	for _, v := range visits {
		if v.d >= c.jan1 && v.d <= c.dec31 {
			year = append(year, v)
		}
	}
	var d day
	claim := ""
	switch {
	case len(year) > 0 && r.p(0.4):
		v := year[r.IntN(len(year))]
		d, claim = v.d, v.claim
	case r.p(0.06):
		// CCO outreach by phone, outside a visit.
		d = r.day(c.jan1, c.dec31)
		if !g.covered(d) {
			return
		}
	default:
		// Not screened; a few needs are still coded at a visit.
		if len(year) > 0 && (food || housing || transport) && r.p(0.08) {
			v := year[r.IntN(len(year))]
			g.needs(v.d, v.claim, food, housing, transport, 1, 0.4)
		}
		return
	}
	x := r.Float64()
	switch {
	case x < 0.42 || (x >= 0.85 && x < 0.93 && claim == ""):
		g.ahc(d, food, housing, transport, true)
	case x < 0.72:
		g.prapare(d, food, housing, transport)
	case x < 0.85:
		g.hungerVitalSign(d, food)
		housing, transport = false, false // not asked
	case x < 0.93:
		g.add(d, noDay, sysHCPCS, hcpcsSDOHAssessment, srcClaim, claim)
		food, housing, transport = false, false, false // results not coded
	default:
		g.ahc(d, food, housing, transport, false) // transportation item skipped
		transport = false
	}
	if claim != "" && x < 0.85 && r.p(0.25) {
		g.add(d, noDay, sysHCPCS, hcpcsSDOHAssessment, srcClaim, claim)
	}
	zClaim := claim
	if zClaim == "" {
		zClaim = g.claim('C')
		if food || housing || transport {
			g.add(d, noDay, sysCPT, oneOf(r, "98966", "98967"), srcClaim, zClaim) // telephone assessment
		}
	}
	g.needs(d, zClaim, food, housing, transport, 0.2, 0.55)
}

// needs codes each need as a Z59 diagnosis on the claim with probability pz,
// and refers each with probability pr: on the day, within 30 days, or late.
func (g *gen) needs(d day, claim string, food, housing, transport bool, pz, pr float64) {
	r := g.r
	for k, has := range [3]bool{food, housing, transport} {
		if !has {
			continue
		}
		if r.p(pz) {
			g.add(d, noDay, sysICD, [3]*choices[string]{zFood, zHousing, zTransport}[k].pick(r), srcClaim, claim)
		}
		if !r.p(pr) {
			continue
		}
		span := referralDelay.pick(r)
		off := r.in(span[0], span[1])
		ref := generalReferrals.pick(r)
		if r.p(0.6) {
			ref = [3]*choices[[2]string]{foodReferrals, housingReferrals, transportReferrals}[k].pick(r)
		}
		src, id := srcEHR, g.claim('V')
		if ref[0] == sysHCPCS {
			src, id = srcClaim, g.claim('C')
		}
		g.add(d+day(off), noDay, ref[0], ref[1], src, id)
	}
}

// ahc writes an AHC HRSN screen: two food items, housing status and (unless
// skipped) transportation.
func (g *gen) ahc(d day, food, housing, transport, askTransport bool) {
	r := g.r
	g.item(d, loincAHCPanel, "")
	g.foodItems(d, food)
	ans := laSteadyPlace
	if housing {
		ans = oneOf(r, laWorriedLosing, laWorriedLosing, laWorriedLosing, laNoSteadyPlace)
	}
	g.item(d, loincHousingStatus, ans)
	if askTransport {
		g.yesNo(d, loincTransportation, transport, srcEHR)
	}
}

// foodItems writes the two Hunger Vital Sign items; a positive household
// answers "often" or "sometimes true" to at least the first.
func (g *gen) foodItems(d day, food bool) {
	r := g.r
	pos := func() string { return oneOf(r, laOftenTrue, laSometimesTrue, laSometimesTrue) }
	first, second := laNeverTrue, laNeverTrue
	switch {
	case food:
		first = pos()
		if r.p(0.7) {
			second = pos()
		}
	case r.p(0.04):
		first, second = laRefused, laRefused // declined: not a screen
	}
	g.item(d, loincFoodWorried, first)
	g.item(d, loincFoodDidntLast, second)
}

// hungerVitalSign writes the Hunger Vital Sign alone (food only), with the
// risk result for half.
func (g *gen) hungerVitalSign(d day, food bool) {
	g.item(d, loincHVSPanel, "")
	g.foodItems(d, food)
	if g.r.p(0.5) {
		ans := laNoRisk
		if food {
			ans = laAtRisk
		}
		g.item(d, loincFoodRisk, ans)
	}
}

// prapare writes the PRAPARE items for the three domains; its material
// needs item has no answer row when nothing was needed.
func (g *gen) prapare(d day, food, housing, transport bool) {
	r := g.r
	g.item(d, loincPRAPAREPanel, "")
	id := g.claim('V')
	g.add(d, noDay, sysLOINC, loincMaterialNeeds, srcEHR, id)
	if food {
		g.add(d, noDay, sysLOINC, laFood, srcEHR, id)
	}
	if r.p(0.12) {
		g.add(d, noDay, sysLOINC, laUtilities, srcEHR, id)
	}
	status := laHaveHousing
	if housing && r.p(0.25) {
		status = laNoHousing
	}
	g.item(d, loincHousingStatus, status)
	g.yesNo(d, loincHousingWorry, housing, srcEHR)
	ans := loincNo
	if transport {
		ans = oneOf(r, laTransMedical, laTransOther)
	}
	g.item(d, loincTransportation, ans)
}
