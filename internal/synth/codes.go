package synth

// Code systems and sources as written in events.
const (
	sysCVX   = "CVX"
	sysCPT   = "CPT"
	sysHCPCS = "HCPCS"
	sysCDT   = "CDT"
	sysICD   = "ICD10CM"
	sysPCS   = "ICD10PCS"
	sysLOINC = "LOINC"
	sysSNOMD = "SNOMEDCT"
	sysPOS   = "POS"
	sysRx    = "RXNORM"

	srcClaim     = "claim"
	srcEncounter = "encounter"
	srcRegistry  = "registry"
	srcLab       = "lab"
	srcEHR       = "ehr"
)

// Benefits, in the order they are listed in enrollment.benefits.
const (
	benMedical uint8 = 1 << iota
	benDental
	benMentalHealth
	benChemDep
	benPharmacy
)

var benefitNames = []string{"medical", "dental", "mental_health", "chemical_dependency", "pharmacy"}

// vax is one vaccine product: its CVX code (leading zeros kept) and the CPT
// administration code billed for it, if any.
type vax struct{ cvx, cpt string }

var (
	// DTaP and DTaP combinations.
	vDTaP      = vax{"20", "90700"}
	vDTaP106   = vax{"106", "90700"}
	vDTaP107   = vax{"107", ""} // unspecified formulation
	vDTaPHib   = vax{"50", "90721"}
	vPediarix  = vax{"110", "90723"} // DTaP-HepB-IPV
	vPentacel  = vax{"120", "90698"} // DTaP-Hib-IPV
	vVaxelis   = vax{"146", "90697"} // DTaP-IPV-Hib-HepB
	vKinrix    = vax{"130", "90696"} // DTaP-IPV, 4-6 years
	vTdap      = vax{"115", "90715"} // adolescents; not DTaP
	vIPV       = vax{"10", "90713"}
	vIPV89     = vax{"89", ""}
	vHibActHIB = vax{"48", "90648"} // 4-dose
	vHibPedvax = vax{"49", "90647"} // 3-dose
	vHibHepB   = vax{"51", "90748"}
	vHepB      = vax{"08", "90744"}
	vHepB44    = vax{"44", ""}
	vHepB45    = vax{"45", ""}
	vMMR       = vax{"03", "90707"}
	vMMRV      = vax{"94", "90710"}
	vVZV       = vax{"21", "90716"}
	vPCV13     = vax{"133", "90670"}
	vPCV15     = vax{"215", "90671"}
	vPCV       = vax{"152", ""}
	vHepA      = vax{"83", "90633"}
	vHepA85    = vax{"85", ""}
	vRV1       = vax{"119", "90681"} // 2-dose
	vRV5       = vax{"116", "90680"} // 3-dose
	vRV122     = vax{"122", ""}      // 3-dose, unspecified
	vHPV       = vax{"165", "90651"}
	vMenACWY   = vax{"114", "90734"}

	// Influenza. LAIV (111, 149) only from age 2.
	vFlu140 = vax{"140", "90686"}
	vFlu141 = vax{"141", "90688"}
	vFlu150 = vax{"150", "90686"}
	vFlu155 = vax{"155", "90682"}
	vFlu158 = vax{"158", "90688"}
	vFlu161 = vax{"161", "90685"}
	vLAIV   = vax{"149", "90672"}
	vLAIV11 = vax{"111", ""}
)

var (
	fluChild = newTable(w[vax]{vFlu161, 30}, w[vax]{vFlu140, 25}, w[vax]{vFlu150, 25}, w[vax]{vFlu158, 10}, w[vax]{vFlu141, 10})
	fluAdult = newTable(w[vax]{vFlu140, 30}, w[vax]{vFlu150, 25}, w[vax]{vFlu158, 20}, w[vax]{vFlu141, 10}, w[vax]{vFlu155, 15})
)

// Newborn hepatitis B vaccination in the birth stay.
const pcsNewbornHepB = "3E0234Z"

// Oregon counties, roughly by Medicaid population.
var counties = newTable(
	w[string]{"Multnomah", 22}, w[string]{"Washington", 12}, w[string]{"Clackamas", 9},
	w[string]{"Lane", 10}, w[string]{"Marion", 11}, w[string]{"Jackson", 7},
	w[string]{"Deschutes", 4}, w[string]{"Linn", 4}, w[string]{"Douglas", 3.5},
	w[string]{"Josephine", 3}, w[string]{"Yamhill", 2.5}, w[string]{"Polk", 2},
	w[string]{"Umatilla", 2.2}, w[string]{"Klamath", 2}, w[string]{"Coos", 1.8},
	w[string]{"Benton", 1.5}, w[string]{"Lincoln", 1.2}, w[string]{"Malheur", 1.2},
	w[string]{"Columbia", 1}, w[string]{"Clatsop", 0.9}, w[string]{"Jefferson", 0.6},
	w[string]{"Tillamook", 0.5}, w[string]{"Union", 0.5}, w[string]{"Crook", 0.5},
	w[string]{"Curry", 0.4}, w[string]{"Hood River", 0.4}, w[string]{"Wasco", 0.5},
	w[string]{"Baker", 0.3}, w[string]{"Morrow", 0.2}, w[string]{"Lake", 0.15},
	w[string]{"Harney", 0.1}, w[string]{"Grant", 0.1}, w[string]{"Wallowa", 0.1},
	w[string]{"Gilliam", 0.03}, w[string]{"Sherman", 0.03}, w[string]{"Wheeler", 0.02},
	w[string]{"", 0.8},
)

// Plans (CCO ids).
var plans = newTable(
	w[string]{"CCO-01", 20}, w[string]{"CCO-02", 16}, w[string]{"CCO-03", 14}, w[string]{"CCO-04", 12},
	w[string]{"CCO-05", 10}, w[string]{"CCO-06", 9}, w[string]{"CCO-07", 8}, w[string]{"CCO-08", 6},
	w[string]{"FFS", 5},
)

var (
	languages = newTable(
		w[string]{"en", 80}, w[string]{"es", 9}, w[string]{"vi", 2.9}, w[string]{"zh", 2.9},
		w[string]{"ru", 1.25}, w[string]{"so", 1.25}, w[string]{"ar", 1.25}, w[string]{"", 1.45})
	sexes = newTable(w[string]{"F", 49}, w[string]{"M", 48.5}, w[string]{"X", 1}, w[string]{"U", 1}, w[string]{"", 0.5})
	races = newTable(
		w[string]{"white", 68}, w[string]{"black", 8}, w[string]{"asian", 7}, w[string]{"aian", 4},
		w[string]{"nhpi", 1.5}, w[string]{"other", 11.5})
)

// Evaluation and management.
var (
	emNew         = newTable(w[string]{"99202", 15}, w[string]{"99203", 40}, w[string]{"99204", 30}, w[string]{"99205", 15})
	emEstablished = newTable(w[string]{"99211", 4}, w[string]{"99212", 16}, w[string]{"99213", 45}, w[string]{"99214", 30}, w[string]{"99215", 5})
	emED          = newTable(w[string]{"99281", 5}, w[string]{"99282", 15}, w[string]{"99283", 35}, w[string]{"99284", 30}, w[string]{"99285", 15})
)

// preventiveCPT returns the preventive visit code for an age in years.
func preventiveCPT(age int, newPatient bool) string {
	var k int
	switch {
	case age < 1:
		k = 1
	case age <= 4:
		k = 2
	case age <= 11:
		k = 3
	case age <= 17:
		k = 4
	case age <= 39:
		k = 5
	case age <= 64:
		k = 6
	default:
		k = 7
	}
	if newPatient {
		return "9938" + string(rune('0'+k))
	}
	return "9939" + string(rune('0'+k))
}

// Diagnosis noise (ICD-10-CM without the dot).
var (
	dxChild = newTable(
		w[string]{"J069", 20}, w[string]{"H6690", 12}, w[string]{"J029", 8}, w[string]{"R509", 8},
		w[string]{"J45909", 6}, w[string]{"L309", 5}, w[string]{"B349", 6}, w[string]{"R109", 4},
		w[string]{"K5900", 4}, w[string]{"F909", 4}, w[string]{"F419", 2}, w[string]{"E669", 3},
		w[string]{"J209", 4}, w[string]{"R051", 4}, w[string]{"L209", 3}, w[string]{"S0990XA", 2})
	dxAdult = newTable(
		w[string]{"I10", 14}, w[string]{"E119", 10}, w[string]{"E785", 8}, w[string]{"M545", 9},
		w[string]{"J069", 6}, w[string]{"K219", 5}, w[string]{"F419", 6}, w[string]{"F411", 3},
		w[string]{"E669", 5}, w[string]{"G43909", 3}, w[string]{"N390", 3}, w[string]{"R519", 3},
		w[string]{"F17210", 5}, w[string]{"M25561", 3}, w[string]{"J45909", 3}, w[string]{"Z720", 2},
		w[string]{"F1010", 2}, w[string]{"E039", 3}, w[string]{"R079", 2}, w[string]{"F909", 1})
	dxElder = newTable(
		w[string]{"I10", 20}, w[string]{"E119", 14}, w[string]{"E785", 12}, w[string]{"I4891", 4},
		w[string]{"N183", 5}, w[string]{"J449", 6}, w[string]{"M1990", 5}, w[string]{"I509", 4},
		w[string]{"E039", 4}, w[string]{"G309", 2}, w[string]{"R296", 2}, w[string]{"H2513", 3},
		w[string]{"K219", 4}, w[string]{"M545", 4})
	dxED = newTable(
		w[string]{"S93401A", 8}, w[string]{"S0990XA", 6}, w[string]{"S6290XA", 4}, w[string]{"R079", 8},
		w[string]{"R109", 10}, w[string]{"J069", 8}, w[string]{"N390", 5}, w[string]{"R519", 5},
		w[string]{"K529", 4}, w[string]{"L03115", 3}, w[string]{"T7840XA", 2}, w[string]{"R55", 3},
		w[string]{"F329", 1}, w[string]{"F10129", 2}, w[string]{"R4585", 1})
)

// Depression screening (LOINC) and results (SNOMED CT).
const (
	loincPHQ9          = "44261-6"
	loincPHQA          = "89204-2"
	loincPHQ2          = "55758-7"
	loincAdultScreen   = "73831-0"
	loincAdolScreen    = "73832-8"
	snomedPositive     = "428181000124104"
	snomedNegative     = "428171000124102"
	snomedDeclined     = "720834000"
	hcpcsInterpreter   = "T1013"
	hcpcsHospice       = "T2042"
	cptFluorideVarnish = "99188"
)

var (
	depressionDx = newTable(w[string]{"F329", 45}, w[string]{"F32A", 25}, w[string]{"F331", 15}, w[string]{"F321", 10}, w[string]{"F339", 5})
	priorDepDx   = newTable(w[string]{"F329", 35}, w[string]{"F331", 25}, w[string]{"F339", 15}, w[string]{"F341", 10}, w[string]{"F32A", 15})
	bipolarDx    = newTable(w[string]{"F3110", 25}, w[string]{"F3130", 25}, w[string]{"F319", 35}, w[string]{"F3181", 15})
	// Antidepressant fills (RxNorm clinical drugs).
	antidepressants = newTable(w[string]{"310385", 30}, w[string]{"312938", 35}, w[string]{"349332", 20}, w[string]{"200371", 15})
	// Follow-up CPT codes for a positive screen.
	followupCPT = newTable(w[string]{"90791", 40}, w[string]{"90832", 15}, w[string]{"90834", 20}, w[string]{"90837", 5}, w[string]{"99484", 10}, w[string]{"99492", 10})
	// Immunodeficiency and other CIS exclusions.
	cisExclusionDx = newTable(w[string]{"D810", 1}, w[string]{"D811", 1}, w[string]{"D819", 1}, w[string]{"B20", 3}, w[string]{"C9100", 3}, w[string]{"K561", 3})
	// History of illness and anaphylaxis due to vaccination.
	historyDx = newTable(w[string]{"B019", 35}, w[string]{"B059", 12}, w[string]{"B269", 8}, w[string]{"B069", 8}, w[string]{"B169", 12}, w[string]{"T8052XA", 25})
	// Anaphylaxis due to a vaccine, by antigen (SNOMED CT), as recorded in EHR problem lists.
	anaphylaxisSNOMED = newTable(
		w[string]{"428291000124105", 3}, w[string]{"471331000124109", 2}, w[string]{"433621000124101", 1},
		w[string]{"428321000124101", 1}, w[string]{"471341000124104", 1}, w[string]{"471141000124102", 1},
		w[string]{"428331000124103", 1})
)

// Hospice assessment: LOINC 45755-6, value 1 (yes) or 0 (no).
const loincHospice = "45755-6"
