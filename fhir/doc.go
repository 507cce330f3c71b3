// Package fhir writes measure results as FHIR R4 MeasureReport resources
// (http://hl7.org/fhir/R4/measurereport.html) in JSON: summary reports
// from a metric.Report, and subject-list reports that also name the
// members of every population.
//
//	reports, err := fhir.FromReport(res.Report, fhir.WithDate(time.Now()))
//	for _, r := range reports {
//		err = r.WriteJSON(w)
//	}
//
// The resources are plain Go structs encoded with encoding/json; they
// carry only the R4 elements written here.
//
// # Mapping
//
// One MeasureReport per measure, status "complete", type "summary" (or
// "subject-list" with WithSubjects):
//
//   - id: the measure id made a FHIR id (characters other than letters,
//     digits, '-' and '.' become '-': visit_rate is "visit-rate").
//   - measure: the canonical URL MeasureURL(base, id, version), by default
//     https://caremetrics.example/Measure/<id>|<version>; WithMeasureBase
//     sets the base. caremetrics publishes no Measure resources, so the
//     URL names the measure without resolving to one.
//   - date: when the report was made, only with WithDate (no hidden
//     clock: the same results always give the same bytes).
//   - reporter: with WithReporter.
//   - period: the measurement period as FHIR dates.
//   - improvementNotation: increase or decrease, from
//     http://terminology.hl7.org/CodeSystem/measure-improvement-notation.
//   - extension: the scoring (proportion or ratio, from
//     http://terminology.hl7.org/CodeSystem/measure-scoring) in the Da
//     Vinci DEQM Measure Scoring extension (ScoringExtension, whose context
//     is MeasureReport): R4 keeps the scoring on the Measure only.
//   - text: a narrative (status "additional") with the measure's title and
//     what its counts count, which R4 says on the Measure only (below).
//   - group: one per group of the measure: id the group id, code.text its
//     title (or id); population one per population with its code from
//     http://terminology.hl7.org/CodeSystem/measure-population and count;
//     measureScore the rate as a Quantity; stratifier one per stratifier,
//     code.text its id, each stratum with value.text its value (or, for a
//     cross stratifier, one component per crossed stratifier, code.text
//     the component's stratifier id and value.text its value), its
//     populations and measureScore. An empty value is written "(empty)",
//     since FHIR strings may not be empty.
//
// A rate that is undefined (nothing left in the denominator) has no
// measureScore: never 0. A defined rate of 0 is written as 0.
//
// # Proportion, ratio and episode measures
//
// A proportion measure's populations are initial-population, denominator,
// denominator-exclusion, denominator-exception and numerator, the
// denominator count including the excluded and excepted units as in FHIR,
// and measureScore is numerator / (denominator − exclusion − exception), a
// number from 0 to 1 without unit.
//
// A ratio measure (scoring "ratio") has no denominator exception (R4 ratio
// measures have none). Its initial-population counts members, but its
// denominator, denominator-exclusion and numerator counts are sums of the
// members' values, such as member months and visits (see
// metric.Counts.AddRatio), and measureScore is numerator × multiplier /
// (denominator − exclusion), with unit "per 1000" for a multiplier of
// 1000. The scoring extension and the narrative say so.
//
// An episode measure (basis "episode") counts episodes (a visit, a
// discharge), not members. FHIR states this on the Measure
// (Measure.group's population basis, the CQFM populationBasis extension,
// whose context is Measure, not MeasureReport), so the report's counts
// are the episodes, as an R4 evaluation of an Encounter-based measure
// counts encounters, and the narrative says that they are episodes.
//
// # Subject lists
//
// With WithSubjects, built by NewSubjects from an evaluation with
// eval.WithMemberDetail, every population with a count above 0 has a
// subjectResults reference ("#g1-numerator", "#g1-s2-k3-denominator":
// group, stratifier and stratum by position from 1) to a contained List
// (status current, mode snapshot) of its members in member id order, each
// as "Patient/<member_id>", or as a Patient reference by identifier value
// when the member id is no valid FHIR id. R4 describes subjectResults as a
// List of individual MeasureReports; like the HL7 reference evaluator
// (cqframework clinical-reasoning) for measures whose population basis is
// the subject, these Lists reference the Patients themselves. For an
// episode measure a member is listed when any of its episodes is in the
// population, so a list may be shorter than the count, and strata carry
// no lists, since one member's episodes may fall in different strata.
// For a ratio measure the lists name the members whose values the counts
// sum.
//
// # Validation
//
// The tests validate every report written (the golden files, and every
// shipped measure on the sample cohort) against HL7's R4 JSON schema, cut
// down to what MeasureReport and List use (fhir/fhirtest/schema), with
// github.com/santhosh-tekuri/jsonschema/v6, and against the R4 rules the
// schema cannot express (required elements, mrp-2, dom-3, references).
//
// # Concurrency
//
// New and FromReport may be called concurrently; a Subjects is immutable
// once made. A MeasureReport is plain data, owned by the caller.
package fhir
