// Package synth generates a deterministic synthetic Medicaid cohort in the
// canonical member data model (shared/data-model.md): members, enrollment
// and events. It is the engine of the examples/gen command and lets tests
// and benchmarks build cohorts in-process:
//
//   - Generate streams the rows as Go structs, one Batch per block of
//     BlockMembers members, in member order;
//   - GenerateArrow builds in-memory Arrow record batches (Tables), whose
//     Readers feed eval.FromArrow;
//   - WriteDir writes CSV, Parquet and/or Arrow IPC files.
//
// Determinism: every member draws from its own PCG stream (math/rand/v2),
// seeded from (seed, member index) only, and blocks of members are handed
// on in member order, so the rows and the bytes written are the same for
// the same Config whatever Config.Workers is. Config.Shuffle uses one
// stream per block, seeded from (seed, block index). Memory stays bounded
// in Generate and WriteDir: members are generated in blocks and passed on
// as they come, a few blocks per worker in flight.
//
// The cohort is shaped for the shipped measures: children turning 2 in the
// year (CIS) with full, partial and low immunization adherence, combination
// vaccines, CPT-only and duplicate records, early doses and enrollment gaps
// of 30, 45, 46 and 60 days; children 1-14 with and without dental coverage
// and with evaluation-only visits; members 12 and over with PHQ-9, PHQ-A and
// PHQ-2 screens, follow-ups on both sides of 30 days and prior depression or
// bipolar diagnoses. Age 2 and the dental ages are oversampled.
package synth
