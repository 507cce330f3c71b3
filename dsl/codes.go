package dsl

import "strings"

// CodeSystems lists the code systems of the canonical data model, by the
// names data and value sets use.
var CodeSystems = []string{"CVX", "CPT", "HCPCS", "CDT", "ICD10CM", "ICD10PCS", "LOINC", "SNOMEDCT", "NDC", "POS", "RXNORM"}

// systemAliases maps names used by VSAC and NCQA exports to canonical ones.
var systemAliases = map[string]string{
	"ICD-10-CM": "ICD10CM", "ICD10": "ICD10CM", "ICD-10-PCS": "ICD10PCS",
	"SNOMED": "SNOMEDCT", "SNOMED CT": "SNOMEDCT", "SNOMED-CT": "SNOMEDCT", "SNOMED CT US EDITION": "SNOMEDCT", "SNOMEDCTUS": "SNOMEDCT",
	"RXNORM": "RXNORM", "RX NORM": "RXNORM", "HCPCS LEVEL II": "HCPCS", "HCPCS-II": "HCPCS", "HCPCSII": "HCPCS",
	"CPT-4": "CPT", "CPT4": "CPT", "HL7 CVX": "CVX", "NDC11": "NDC",
	"HTTP://HL7.ORG/FHIR/SID/CVX": "CVX", "HTTP://WWW.AMA-ASSN.ORG/GO/CPT": "CPT", "HTTP://LOINC.ORG": "LOINC",
	"HTTP://SNOMED.INFO/SCT": "SNOMEDCT", "HTTP://HL7.ORG/FHIR/SID/ICD-10-CM": "ICD10CM",
	"HTTP://WWW.CMS.GOV/MEDICARE/CODING/ICD10": "ICD10PCS", "HTTP://WWW.NLM.NIH.GOV/RESEARCH/UMLS/RXNORM": "RXNORM",
	"HTTPS://WWW.CMS.GOV/MEDICARE/CODING/HCPCSRELEASECODESETS": "HCPCS", "HTTP://WWW.ADA.ORG/CDT": "CDT",
	"HTTP://HL7.ORG/FHIR/SID/NDC": "NDC",
}

// NormalizeSystem returns the canonical name of a code system (upper case,
// common aliases and FHIR system URIs mapped) and whether it is one of
// CodeSystems.
func NormalizeSystem(s string) (string, bool) {
	u := strings.ToUpper(strings.TrimSpace(s))
	if a, ok := systemAliases[u]; ok {
		u = a
	}
	for _, k := range CodeSystems {
		if u == k {
			return u, true
		}
	}
	return u, false
}

// NormalizeCode returns code as stored and compared: trimmed, upper case,
// and for ICD-10 without the dot. Leading zeros are kept: CVX "03" (MMR)
// and "3" are different strings in the CVX table.
func NormalizeCode(system, code string) string {
	c := strings.TrimSpace(code)
	if needsUpper(c) {
		c = strings.ToUpper(c)
	}
	if (system == "ICD10CM" || system == "ICD10PCS") && strings.IndexByte(c, '.') >= 0 {
		c = strings.ReplaceAll(c, ".", "")
	}
	return c
}

func needsUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 'a' && s[i] <= 'z' || s[i] >= 0x80 {
			return true
		}
	}
	return false
}
