package synth

// Screening for unhealthy alcohol and drug use (SBIRT, measures/sbirt.yaml)
// at the office visits of members 12 and over: instrument results (AUDIT,
// AUDIT-C, DAST-10, single questions) and claim codes (H0049, G0442, 96160
// with a screening diagnosis, 99408/G0396 screening with intervention), and
// for positive screens a brief intervention or referral on the day, within
// 2 days, later, or never; prior-year dependence diagnoses that exclude.
// Values sit on both sides of each instrument's threshold.
//
// Rates aimed at (public figures): OHA's 2014 SBIRT benchmark was 13% of
// members screened from claims alone, rising as EHR screening spread
// (oregon.gov SBIRT measure page); 75-85% of patients screen negative
// (Massachusetts SBIRT toolkit) and 14.8% of adolescent primary care
// patients screened positive on the CRAFFT (Knight et al., Arch Pediatr
// Adolesc Med 2007). Targets here: about 35-40% of eligible members
// screened, 15-20% of them positive, about half of those with a timely
// brief intervention.

// tagSBIRT seeds the SBIRT stream ("SBIRT").
const tagSBIRT = 0x5342495254

// LOINC codes of substance use screening instruments and SBIRT codes.
const (
	loincAUDIT       = "75624-7"
	loincAUDITC      = "75626-2"
	loincDAST10      = "82667-7"
	loincDrinks5     = "88037-7" // 5+ drinks in a day, times in the past year
	loincDrinks4     = "75889-6" // 4+ drinks in a day
	loincDrugUse     = "96843-8" // illegal drug use, past year
	loincRxMisuse    = "96844-6" // non-medical prescription use, past year
	cptHRA           = "96160"
	hcpcsDrugScreen  = "H0049"
	hcpcsAlcScreen   = "G0442"
	hcpcsBriefInterv = "H0050"
)

var (
	screenDx      = newTable(w[string]{"Z1389", 60}, w[string]{"Z139", 25}, w[string]{"Z1339", 15})
	sbiCodes      = newTable(w[[2]string]{[2]string{sysCPT, "99408"}, 55}, w[[2]string]{[2]string{sysCPT, "99409"}, 10}, w[[2]string]{[2]string{sysHCPCS, "G0396"}, 20}, w[[2]string]{[2]string{sysHCPCS, "G2011"}, 15})
	briefCodes    = newTable(w[[2]string]{[2]string{sysHCPCS, hcpcsBriefInterv}, 45}, w[[2]string]{[2]string{sysHCPCS, "G0443"}, 25}, w[[2]string]{[2]string{sysCPT, "99408"}, 20}, w[[2]string]{[2]string{sysHCPCS, "G0397"}, 10})
	referralCodes = newTable(w[string]{"H0001", 50}, w[string]{"H0022", 20}, w[string]{"H0015", 15}, w[string]{"T1012", 15})
	dependenceDx  = newTable(w[string]{"F1020", 50}, w[string]{"F1120", 15}, w[string]{"F1220", 20}, w[string]{"F1520", 10}, w[string]{"F1021", 5})
)

// isOfficeVisit reports whether a CPT code is an office E/M (99202-99205,
// 99211-99215) or preventive (99381-99387, 99391-99397) visit.
func isOfficeVisit(code string) bool {
	if len(code) != 5 || code[:3] != "992" && code[:3] != "993" {
		return false
	}
	switch p, k := code[:4], code[4]; p {
	case "9920":
		return k >= '2' && k <= '5'
	case "9921":
		return k >= '1' && k <= '5'
	case "9938", "9939":
		return k >= '1' && k <= '7'
	}
	return false
}

// sbirt writes substance use screens at the office visits of members 12
// and over, interventions after positive screens, and dependence diagnoses.
func (g *gen) sbirt() {
	g.r.reseed(g.seed, tagSBIRT, uint64(g.idx))
	c := g.cal
	if ageOn(g.m.Birth, c.priorJan1) < 11 {
		return
	}
	r := g.r
	// Substance use: 0 none or low risk, 1 risky use, 2 likely disorder.
	risk := 0
	if x := r.Float64(); x > 0.93 {
		risk = 2
	} else if x > 0.77 {
		risk = 1
	}
	if risk == 2 && r.p(0.35) {
		// A dependence diagnosis in the prior year: excluded from the measure.
		cl := g.claim('C')
		d := r.day(c.priorJan1, c.jan1-1)
		if r.p(0.04) {
			d = c.jan1 // in the year instead: not an exclusion
		}
		g.add(d, noDay, sysCPT, oneOf(r, "99213", "99214"), srcClaim, cl)
		g.add(d, noDay, sysICD, dependenceDx.pick(r), srcClaim, cl)
	}

	type visit struct {
		d     day
		claim string
	}
	var visits []visit
	for _, e := range g.eventsSoFar() {
		if e.System == sysCPT && isOfficeVisit(e.Code) && e.Date >= c.priorJan1 && e.Date <= c.dec31 {
			visits = append(visits, visit{e.Date, e.ClaimID})
		}
	}
	screened := false
	for _, v := range visits {
		if g.ageAt(v.d) < 12 {
			continue
		}
		p := 0.30
		if screened {
			p = 0.12 // rescreening the same year is less common
		}
		if !r.p(p) {
			continue
		}
		screened = true
		if g.substanceScreen(v.d, v.claim, risk) {
			g.briefIntervention(v.d, v.claim)
		}
	}
}

// substanceScreen writes one screen at the visit on d (claim cl) and
// reports whether it was positive (and not already billed with its
// intervention).
func (g *gen) substanceScreen(d day, cl string, risk int) bool {
	r := g.r
	adolescent := g.ageAt(d) < 18
	male := g.m.Sex == "M"
	vid := g.claim('V')
	value := func(code string, v int) { g.addValue(d, sysLOINC, code, float64(v), srcEHR, vid) }
	x := r.Float64()
	if adolescent {
		x = 0.30 + 0.70*x // no AUDIT, AUDIT-C or DAST-10 for adolescents here
	}
	switch {
	case x < 0.22: // AUDIT-C; positive at >= 4 men, >= 3 otherwise
		thr := 3
		if male {
			thr = 4
		}
		var v int
		switch risk {
		case 0:
			v = r.in(0, thr-1)
			if r.p(0.04) {
				v = thr // at the threshold
			}
		case 1:
			v = r.in(thr, thr+4)
		default:
			v = r.in(thr+1, 12)
		}
		value(loincAUDITC, v)
		return v >= thr
	case x < 0.27: // AUDIT; positive at >= 8
		v := r.in(0, 7)
		switch {
		case risk == 1:
			v = r.in(8, 15)
		case risk == 2:
			v = r.in(16, 35)
		case r.p(0.05):
			v = 8
		}
		value(loincAUDIT, v)
		return v >= 8
	case x < 0.30: // DAST-10; positive at >= 3
		v := 0
		switch {
		case risk == 1:
			v = r.in(1, 5)
		case risk == 2:
			v = r.in(3, 9)
		case r.p(0.15):
			v = r.in(1, 2)
		}
		value(loincDAST10, v)
		return v >= 3
	case x < 0.55: // single questions (TAPS-1 style), alcohol and drugs
		alc, drug := 0, 0
		if risk > 0 {
			if r.p(0.75) {
				alc = r.in(1, 12)
			}
			if r.p(0.4) || (risk == 2 && alc == 0) {
				drug = r.in(1, 24)
			}
		}
		alcCode := loincDrinks5
		if !male {
			alcCode = loincDrinks4
		}
		value(alcCode, alc)
		drugCode := loincDrugUse
		if r.p(0.2) {
			drugCode = loincRxMisuse
		}
		if r.p(0.03) {
			g.add(d, noDay, sysLOINC, drugCode, srcEHR, vid) // result missing
		} else {
			value(drugCode, drug)
		}
		return alc >= 1 || drug >= 1
	case x < 0.72: // CPT 96160 on the visit claim with a screening diagnosis (e.g. a CRAFFT)
		g.add(d, noDay, sysCPT, cptHRA, srcClaim, cl)
		if r.p(0.08) {
			g.add(d, noDay, sysICD, "Z1331", srcClaim, cl) // a depression screen instead: not SBIRT
			return false
		}
		g.add(d, noDay, sysICD, screenDx.pick(r), srcClaim, cl)
		return risk > 0 && r.p(0.6)
	case x < 0.92: // H0049, or G0442 for adults
		code := hcpcsDrugScreen
		if !adolescent && r.p(0.35) {
			code = hcpcsAlcScreen
		}
		g.add(d, noDay, sysHCPCS, code, srcClaim, cl)
		return risk > 0 && r.p(0.6)
	default: // screening and brief intervention billed together (positive screens only)
		if risk == 0 {
			g.add(d, noDay, sysHCPCS, hcpcsDrugScreen, srcClaim, cl)
			return false
		}
		s := sbiCodes.pick(r)
		g.add(d, noDay, s[0], s[1], srcClaim, cl)
		return false
	}
}

// briefIntervention follows a positive screen on d: a brief intervention or
// referral the same day, within 2 days, 3-10 days later, or never.
func (g *gen) briefIntervention(d day, cl string) {
	r := g.r
	var off int
	switch x := r.Float64(); {
	case x < 0.34:
		off = 0
	case x < 0.40:
		off = 1
	case x < 0.45:
		off = 2
	case x < 0.52:
		off = r.in(3, 10)
	case x < 0.55:
		off = -1 // recorded the day before: does not follow the screen
	default:
		return
	}
	claim := cl
	if off != 0 {
		claim = g.claim('C')
	}
	if r.p(0.15) {
		g.add(d+day(off), noDay, sysHCPCS, referralCodes.pick(r), srcClaim, g.claim('C'))
		return
	}
	b := briefCodes.pick(r)
	g.add(d+day(off), noDay, b[0], b[1], srcClaim, claim)
}
