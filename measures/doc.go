// Package measures ships the caremetrics measures and their value sets,
// embedded with go:embed, and loads them with package dsl.
//
// The shipped measures, for measurement year 2025 by default:
//
//   - cis: Childhood Immunization Status (HEDIS CIS-E style)
//   - dental: Preventive Dental or Oral Health Services (Oregon CCO incentive measure style)
//   - dsf: Depression Screening and Follow-Up for Adolescents and Adults (HEDIS DSF-E style)
//
// Each measure is one YAML file (<id>.yaml) beside a valuesets/ directory;
// MEASURES.md documents the format. The value sets are example code lists
// from public code tables, not NCQA's licensed value sets; pass the licensed
// ones with dsl.WithValueSets (see dsl.LoadValueSetsDir) to replace every set
// of the same name.
//
// LoadDir loads a user's own measure directory laid out the same way.
package measures
