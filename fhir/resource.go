package fhir

import (
	"encoding/json"
	"io"
)

// The code systems and extension this package writes.
const (
	// PopulationSystem is the R4 code system of measure population types.
	PopulationSystem = "http://terminology.hl7.org/CodeSystem/measure-population"
	// ImprovementSystem is the R4 code system of improvement notations.
	ImprovementSystem = "http://terminology.hl7.org/CodeSystem/measure-improvement-notation"
	// ScoringSystem is the R4 code system of measure scorings.
	ScoringSystem = "http://terminology.hl7.org/CodeSystem/measure-scoring"
	// ScoringExtension is the Da Vinci DEQM Measure Scoring extension
	// (DEQMMeasureScoringExtension, context MeasureReport), which states on
	// the report the scoring that R4 keeps on the Measure only.
	ScoringExtension = "http://hl7.org/fhir/us/davinci-deqm/StructureDefinition/extension-measureScoring"
)

// MeasureReport is the R4 MeasureReport resource, limited to the elements
// this package writes. Fields are in the order of the R4 element
// definitions, so that the JSON reads like the specification.
type MeasureReport struct {
	// ResourceType is always "MeasureReport".
	ResourceType string     `json:"resourceType"`
	ID           string     `json:"id,omitempty"`
	Text         *Narrative `json:"text,omitempty"`
	// Contained holds the subject lists of a subject-list report.
	Contained []*List     `json:"contained,omitempty"`
	Extension []Extension `json:"extension,omitempty"`
	// Status is "complete".
	Status string `json:"status"`
	// Type is "summary" or "subject-list".
	Type string `json:"type"`
	// Measure is the canonical URL of the measure, with "|version".
	Measure string `json:"measure"`
	// Date is when the report was made (a FHIR dateTime), empty unless
	// given with WithDate.
	Date                string           `json:"date,omitempty"`
	Reporter            *Reference       `json:"reporter,omitempty"`
	Period              Period           `json:"period"`
	ImprovementNotation *CodeableConcept `json:"improvementNotation,omitempty"`
	Group               []Group          `json:"group,omitempty"`
}

// Group is MeasureReport.group: one rate of the measure.
type Group struct {
	ID           string           `json:"id,omitempty"`
	Code         *CodeableConcept `json:"code,omitempty"`
	Population   []Population     `json:"population,omitempty"`
	MeasureScore *Quantity        `json:"measureScore,omitempty"`
	Stratifier   []Stratifier     `json:"stratifier,omitempty"`
}

// Population is MeasureReport.group.population and, with the same
// elements, MeasureReport.group.stratifier.stratum.population.
type Population struct {
	Code  *CodeableConcept `json:"code,omitempty"`
	Count int64            `json:"count"`
	// SubjectResults references a contained List ("#id") of the members
	// in the population, in subject-list reports.
	SubjectResults *Reference `json:"subjectResults,omitempty"`
}

// Stratifier is MeasureReport.group.stratifier.
type Stratifier struct {
	Code    []CodeableConcept `json:"code,omitempty"`
	Stratum []Stratum         `json:"stratum,omitempty"`
}

// Stratum is MeasureReport.group.stratifier.stratum. It has a Value, or
// for a cross stratifier one Component per crossed stratifier (R4
// invariant mrp-2: never both).
type Stratum struct {
	Value        *CodeableConcept `json:"value,omitempty"`
	Component    []Component      `json:"component,omitempty"`
	Population   []Population     `json:"population,omitempty"`
	MeasureScore *Quantity        `json:"measureScore,omitempty"`
}

// Component is MeasureReport.group.stratifier.stratum.component.
type Component struct {
	Code  CodeableConcept `json:"code"`
	Value CodeableConcept `json:"value"`
}

// CodeableConcept is the R4 CodeableConcept data type.
type CodeableConcept struct {
	Coding []Coding `json:"coding,omitempty"`
	Text   string   `json:"text,omitempty"`
}

// Coding is the R4 Coding data type.
type Coding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
}

// Quantity is the R4 Quantity data type. Value is a JSON number.
type Quantity struct {
	Value json.Number `json:"value"`
	Unit  string      `json:"unit,omitempty"`
}

// Period is the R4 Period data type; Start and End are FHIR dates
// (YYYY-MM-DD).
type Period struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// Reference is the R4 Reference data type: a literal reference
// ("Patient/M0000001", "#g1-numerator"), or a logical one by Identifier.
type Reference struct {
	Reference  string      `json:"reference,omitempty"`
	Type       string      `json:"type,omitempty"`
	Identifier *Identifier `json:"identifier,omitempty"`
	Display    string      `json:"display,omitempty"`
}

// Identifier is the R4 Identifier data type.
type Identifier struct {
	System string `json:"system,omitempty"`
	Value  string `json:"value,omitempty"`
}

// Extension is the R4 Extension element, limited to a CodeableConcept
// value.
type Extension struct {
	URL                  string           `json:"url"`
	ValueCodeableConcept *CodeableConcept `json:"valueCodeableConcept,omitempty"`
}

// Narrative is the R4 Narrative data type: Div is an XHTML <div>.
type Narrative struct {
	Status string `json:"status"`
	Div    string `json:"div"`
}

// List is the R4 List resource, as contained in a subject-list report: a
// snapshot of the members of one population.
type List struct {
	// ResourceType is always "List".
	ResourceType string      `json:"resourceType"`
	ID           string      `json:"id"`
	Status       string      `json:"status"`
	Mode         string      `json:"mode"`
	Entry        []ListEntry `json:"entry,omitempty"`
}

// ListEntry is List.entry.
type ListEntry struct {
	Item Reference `json:"item"`
}

// WriteJSON writes the report as indented JSON with a final newline,
// without escaping <, > and & (the narrative's XHTML stays readable).
func (r *MeasureReport) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}
