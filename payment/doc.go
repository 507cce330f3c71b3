// Package payment computes value-based payments from measure rates: an
// Oregon-style quality incentive pool with Minnesota-method improvement
// targets and a challenge pool, and shared savings and shared risk on a
// global budget. Every figure comes with the rule that produced it and its
// arithmetic, written out so that a finance analyst can check it by hand.
//
// A Program (ParseProgram, LoadProgram) holds all parameters, from a YAML
// file; Program.Evaluate applies it to one organisation's rates of this
// year and of the baseline year (metric.ReadRatesCSV reads the rates.csv
// that examples/evaluate writes), its member months and its costs;
// Program.Allocate distributes one pool across several organisations by
// member months; MemberMonths counts member months from enrollment spans.
//
// # The rules
//
// A measure is met by the benchmark (rate ≥ benchmark) or by the
// organisation's improvement target (rate ≥ target). The target is
// computed from the baseline, the prior year's rate, by the Minnesota
// method:
//
//	target = baseline + max(gap_closure × (benchmark − baseline), floor)
//
// with gap_closure 10% and floor 3 percentage points unless the program
// says otherwise. An inverse measure (lower is better, such as emergency
// visits per 1,000 member months) mirrors it: target = baseline −
// max(gap_closure × (baseline − benchmark), floor), met at rate ≤ target
// or ≤ benchmark. There is no target when the baseline already meets the
// benchmark or is undefined, and a measure whose eligible denominator,
// this year's or the baseline's, is below the program's min_denominator
// can be met only by the benchmark. A measure with no eligible members
// this year is NotEligible and not met.
//
// The quality pool is a share (rate) of the year's capitation payments. A
// met measure earns its weight in points (1 unless the program says
// otherwise). With method thresholds the organisation earns the share of
// the highest threshold its points reach (N of M measures when weights are
// 1); with method proportional it earns points met / points possible.
// What it does not earn goes to the challenge pool, which Allocate splits
// equally among the challenge measures and each portion among the
// organisations that met that measure, by member months.
//
// Shared savings: budget = PMPM × member months; savings = budget −
// actual total cost of care. Savings are shared only when they reach the
// minimum savings rate (MSR) × budget; the shareable savings are those
// above that minimum (msr_basis above_msr, the default) or all of them
// (first_dollar). The organisation keeps sharing_rate of them, scaled by
// the quality score (points met / points possible): not at all (quality
// method none), all or nothing at min_score (gate), or in proportion to
// the score, none below min_score (linear); then capped at cap × budget.
// A loss is the payer's up to corridor × budget; the organisation owes
// risk_rate of the loss beyond the corridor, capped at risk_cap × budget.
// Quality does not scale losses.
//
// # Units and exactness
//
// Money is Cents, an integer; rates, targets and shares are Ratio, an
// exact rational, so comparisons at a benchmark or target have no
// tolerance: 63 / 100 meets a target of 63.0 and 6299 / 10000 does not.
// Rates come from the counts of rates.csv (numerator over denominator −
// exclusions − exceptions), not from its printed 6-decimal rate. A
// product of money and a rate is rounded to the cent, half away from zero
// ($0.005 is $0.01), at each step the result lists, and the step says so
// and gives the exact product. Splits of money (Allocate) are whole cents
// by the largest-remainder method, so the parts add up exactly.
//
// In a program, rates of money (the pool rate, the MSR, sharing and risk
// rates, caps, the corridor, threshold shares, min_score) are fractions
// from 0 to 1, written 0.0425 or 4.25%. A measure's benchmark and floor
// are in the measure's unit: percent by default (73.4 means 73.4%, and
// the floor is in percentage points), or fraction, per_1000, per_10000
// or per_100000 for ratio measures whose rate is not a percentage; the
// program-wide floor is in percentage points, so a per_1000 measure states
// its own. With decimals: N, rates (this year's and the baseline) and the
// target are rounded to N decimals in the unit, half away from zero,
// before the rules compare them, as published rates and targets are.
//
// # Member months
//
// MemberMonths counts, per member, the months of the measurement year in
// which a member is enrolled on the 15th (OnDay15, the default), on the
// 1st (OnFirstDay) or on any day (AnyDay), from plain enrollment spans;
// examples/incentive takes the spans from eval.Data, or the count from a
// flag. Capitation payments default to the program's PMPM × member
// months; a caller with the actual payments supplies them.
//
// # Sources
//
// The rules follow the public description of Oregon's CCO Quality
// Incentive Program; the facts, not the text, are taken from:
//
//   - Oregon Health Authority, CCO Metrics Benchmark Selection Tool
//     (https://www.oregon.gov/oha/HPA/ANALYTICS/Pages/MSC-Benchmark-Selection-Tool.aspx):
//     the baseline is the CCO's most recent rate; a CCO meets a measure by
//     the benchmark, the same for all CCOs, or by its own improvement
//     target; CCOs already close to the benchmark get no improvement
//     target.
//   - Oregon Metrics and Scoring Committee, meeting of October 22, 2012
//     (https://sambuz.com/doc/agenda-items-4-and-5-of-metrics-and-scoring-committee-ppt-presentation-445498):
//     improvement targets by the Minnesota method with a 3-point floor,
//     the default here.
//   - Oregon Health Authority, CCO Quality Pool Methodology, February 7,
//     2014
//     (https://pdfslide.us/documents/cco-quality-pool-methodology-february-7-2014-lori-coyner-accountability-and.html):
//     the pool is a percentage (2% in 2013) of CCO payments for the year;
//     funds not earned in the first stage go to a challenge pool.
//   - Oregon Health Authority, 2017 CCO Metrics Report release
//     (https://www.oregon.gov/oha/ERD/Pages/CCOsContinueQualityAccessGains.aspx)
//     and its summary at State of Reform
//     (https://stateofreform.com/featured/2018/07/2017-cco-metrics-report-shows-improvements/):
//     a 4.25% pool, full payment for meeting 12 of 16 measures, and the
//     challenge pool of left-over funds paid for challenge measures.
//
// Shared savings and risk follow the common accountable-care design
// (minimum savings rate, sharing rate, quality scaling, cap, risk
// corridor); every parameter is the program's.
//
// # Errors
//
// ParseProgram reports every error of a program file at once, as a
// dsl.ErrorList whose entries carry file:line:col, the YAML path and a
// dsl.ErrorCode; unknown keys say "did you mean". Evaluate refuses, with
// the file, measure and group, a program measure missing from either rates
// file, never skipping it.
//
// # Concurrency
//
// Programs and results are not modified after they are returned and are
// safe for concurrent use; the functions are pure and fast.
package payment
