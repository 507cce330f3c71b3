// Package metric holds the results of measure evaluation: populations,
// counts, rates, strata and whole reports, with a stable JSON encoding.
//
// It depends on the standard library only, so services that merely consume
// results need none of the evaluation machinery.
//
// # Semantics
//
// Counts follow eCQM proportion semantics: a member is counted in the
// denominator only when in the initial population, in a denominator exclusion
// only when in the denominator, in the numerator only when in the denominator
// and not excluded, and in a denominator exception only when in the
// denominator, not excluded and not in the numerator. The rate is
// numerator / (denominator − exclusions − exceptions); when that divisor is
// zero the rate is undefined, never 0.
//
// # Merging
//
// Counts are integers, so the results of disjoint member shards combine
// exactly with [Report.Merge].
package metric
