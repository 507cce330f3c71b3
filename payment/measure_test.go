package payment

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caremetrics/caremetrics/metric"
)

// programOf parses a program with the given measure lines, a proportional
// pool and the program-wide improvement settings in improvement.
func programOf(t *testing.T, improvement string, measures ...string) *Program {
	t.Helper()
	src := "year: 2025\ncapitation: {pmpm: 450.00}\n"
	if improvement != "" {
		src += "improvement: " + improvement + "\n"
	}
	src += "measures:\n"
	for _, m := range measures {
		src += "  - " + m + "\n"
	}
	src += "quality_pool: {rate: 4%, method: proportional}\n"
	p, err := ParseProgram("test.yaml", []byte(src))
	require.NoError(t, err, src)
	return p
}

// counts is a rates.csv row's counts with no exclusions: numerator over
// denominator.
func counts(num, den int64) metric.Counts {
	return metric.Counts{InitialPopulation: den, Denominator: den, Numerator: num}
}

func TestMinnesotaWorkedExamples(t *testing.T) {
	const (
		percent = "{id: m, group: g, benchmark: 70}"
		inverse = "{id: ed, group: visits, unit: per_1000, inverse: true, benchmark: 40, floor: 2}"
	)
	for _, tc := range []struct {
		name        string
		improvement string // program-wide improvement settings
		measure     string
		cur, base   metric.Counts
		status      Status
		target      string // Target.Compared, "" for no target
		reason      string // a part of Reason
	}{
		// baseline 60/100 = 60%; gap 70 − 60 = 10; 10% × 10 = 1 < floor 3,
		// so target = 60 + 3 = 63. 63/100 = 63% meets it exactly.
		{"at the target exactly", "", percent, counts(63, 100), counts(60, 100), MetByImprovement, "63",
			"met by improvement: 63% >= target 63% (benchmark 70% not reached)"},
		// 6299/10000 = 62.99% < 63: exact comparison, no tolerance.
		{"a hair below the target", "", percent, counts(6299, 10000), counts(60, 100), NotMet, "63",
			"not met: 62.99% < benchmark 70% and 62.99% < target 63%"},
		// baseline 40%; gap 80 − 40 = 40; 10% × 40 = 4 > floor 3, so the
		// target is 40 + 4 = 44.
		{"the gap's tenth beats the floor", "", "{id: m, group: g, benchmark: 80}", counts(44, 100), counts(40, 100), MetByImprovement, "44", "target 44%"},
		// 70/100 = 70% >= 70: the benchmark, whatever the target.
		{"at the benchmark", "", percent, counts(70, 100), counts(60, 100), MetByBenchmark, "63", "met by benchmark: 70% >= 70%"},
		// baseline 72% already meets 70: no target; 69% misses the benchmark.
		{"baseline already meets the benchmark", "", percent, counts(69, 100), counts(72, 100), NotMet, "",
			"no improvement target: the baseline 72% already meets the benchmark"},
		// Inverse, per 1,000: baseline 50/1000 × 1000 = 50; gap 50 − 40 =
		// 10; 10% × 10 = 1 < floor 2, so target = 50 − 2 = 48; 48 <= 48.
		{"inverse at the target", "", inverse, counts(48, 1000), counts(50, 1000), MetByImprovement, "48",
			"met by improvement: 48 per 1,000 <= target 48 per 1,000"},
		// 481/10000 × 1000 = 48.1 > 48.
		{"inverse just above the target", "", inverse, counts(481, 10000), counts(50, 1000), NotMet, "48",
			"not met: 48.1 per 1,000 > benchmark 40 per 1,000 and 48.1 per 1,000 > target 48 per 1,000"},
		// 39 <= 40.
		{"inverse under the benchmark", "", inverse, counts(39, 1000), counts(50, 1000), MetByBenchmark, "48", "met by benchmark: 39 per 1,000 <= 40 per 1,000"},
		// baseline 90; gap 90 − 40 = 50; 10% × 50 = 5 > 2: target 90 − 5 = 85.
		{"inverse with a wide gap", "", inverse, counts(85, 1000), counts(90, 1000), MetByImprovement, "85", "target 85 per 1,000"},
		// inverse baseline 38 <= 40 already meets it: no target.
		{"inverse baseline under the benchmark", "", inverse, counts(41, 1000), counts(38, 1000), NotMet, "", "already meets"},
		// decimals 1, floor 2, benchmark 82.5: baseline 60; gap 22.5;
		// 10% × 22.5 = 2.25 > 2: target 62.25, rounded half away from zero
		// to 62.3. The rate 6225/10000 = 62.25 also rounds to 62.3: met.
		{"a half rounds up to meet the target", "{floor: 2, decimals: 1}", "{id: m, group: g, benchmark: 82.5}",
			counts(6225, 10000), counts(60, 100), MetByImprovement, "62.3", "met by improvement: 62.3% >= target 62.3%"},
		// 62.24 rounds to 62.2 < 62.3.
		{"just under the half rounds down", "{floor: 2, decimals: 1}", "{id: m, group: g, benchmark: 82.5}",
			counts(6224, 10000), counts(60, 100), NotMet, "62.3", "not met: 62.2% < benchmark 82.5% and 62.2% < target 62.3%"},
		// decimals 1: baseline 2/3 = 66.666…% is 66.7 before the target is
		// computed; gap 80 − 66.7 = 13.3; 1.33 < 3: target 69.7.
		{"the baseline is rounded before the target", "{decimals: 1}", "{id: m, group: g, benchmark: 80}",
			counts(697, 1000), counts(2, 3), MetByImprovement, "69.7", "target 69.7%"},
		// min_denominator 30: 16/25 = 64% >= 63 but 25 eligible members
		// are too few to meet it by improvement.
		{"this year's denominator below the minimum", "{min_denominator: 30}", percent, counts(16, 25), counts(60, 100), NotMet, "63",
			"cannot be met by improvement: this year's denominator 25 is below the minimum 30"},
		{"the baseline's denominator below the minimum", "{min_denominator: 30}", percent, counts(64, 100), counts(12, 20), NotMet, "63",
			"the baseline denominator 20 is below the minimum 30"},
		// 20/25 = 80% >= 70: a small denominator still meets the benchmark.
		{"small denominators meet the benchmark", "{min_denominator: 30}", percent, counts(20, 25), counts(12, 20), MetByBenchmark, "63", "met by benchmark"},
		{"no eligible members this year", "", percent, counts(0, 0), counts(60, 100), NotEligible, "63", "not eligible"},
		{"undefined baseline", "", percent, counts(65, 100), counts(0, 0), NotMet, "", "the baseline rate is undefined"},
		// unit fraction: the floor of 3 points is 0.03; target 0.6 + 0.03.
		{"fraction unit", "", "{id: m, group: g, unit: fraction, benchmark: 0.7}", counts(63, 100), counts(60, 100), MetByImprovement, "0.63", "target 0.63"},
		// A measure's own gap closure and floor: 20% × (90 − 50) = 8 > 5.
		{"a measure's own gap closure and floor", "", "{id: m, group: g, benchmark: 90, gap_closure: 20%, floor: 5}", counts(58, 100), counts(50, 100), MetByImprovement, "58", "target 58%"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := programOf(t, tc.improvement, tc.measure)
			r := evaluateMeasure(&p.Measures[0], tc.cur, tc.base)
			assert.Equal(t, tc.status, r.Status, r.Reason)
			assert.Contains(t, r.Reason, tc.reason)
			if tc.target == "" {
				assert.Nil(t, r.Target)
				return
			}
			require.NotNil(t, r.Target, r.Reason)
			assert.Equal(t, tc.target, r.Target.Compared.String())
		})
	}
}

// The target's arithmetic is written out term by term.
func TestTargetArithmetic(t *testing.T) {
	p := programOf(t, "{floor: 2, decimals: 1}", "{id: m, group: g, benchmark: 82.5}")
	r := evaluateMeasure(&p.Measures[0], counts(6225, 10000), counts(60, 100))
	assert.Equal(t, "baseline 60.0% + max(10% × (benchmark 82.5% − baseline 60.0%) = 2.25, floor 2 points) = 62.25%, rounded to 1 decimal: 62.3%", r.Target.Arithmetic)
	assert.Equal(t, "2.25", r.Target.Step.String())
	assert.Equal(t, "22.5", r.Target.Gap.String())

	p = programOf(t, "", "{id: ed, group: visits, unit: per_1000, inverse: true, benchmark: 40, floor: 2}")
	r = evaluateMeasure(&p.Measures[0], counts(48, 1000), counts(50, 1000))
	assert.Equal(t, "baseline 50 per 1,000 − max(10% × (baseline 50 per 1,000 − benchmark 40 per 1,000) = 1, floor 2 per 1,000) = 48 per 1,000", r.Target.Arithmetic)
}

// Rates come from the counts, with exclusions and exceptions taken out of
// the denominator.
func TestRateFromCounts(t *testing.T) {
	p := programOf(t, "", "{id: cis, group: combo3, benchmark: 60}")
	// 72 / (156 − 12) = 72/144 = 50%.
	cur := metric.Counts{InitialPopulation: 156, Denominator: 156, DenominatorExclusion: 12, Numerator: 72}
	// 29 / (70 − 4 − 3) = 29/63 ≈ 46.03%.
	base := metric.Counts{InitialPopulation: 70, Denominator: 70, DenominatorExclusion: 4, DenominatorException: 3, Numerator: 29}
	r := evaluateMeasure(&p.Measures[0], cur, base)
	assert.Equal(t, Observed{Numerator: 72, Denominator: 144, Defined: true, Value: RatioOf(50, 1), Compared: RatioOf(50, 1)}, r.Rate)
	assert.Equal(t, int64(63), r.Baseline.Denominator)
	assert.Equal(t, "≈46.031746", r.Baseline.Value.String())
	// 46.031746… + 3 = 49.031746… < 50: met by improvement.
	assert.Equal(t, MetByImprovement, r.Status)
}

func TestStatusText(t *testing.T) {
	var names []string
	for s := NotMet; s <= NotEligible; s++ {
		b, err := s.MarshalText()
		require.NoError(t, err)
		names = append(names, string(b))
	}
	assert.Equal(t, "not-met met-by-benchmark met-by-improvement not-eligible", strings.Join(names, " "))
	assert.True(t, MetByImprovement.Met())
	assert.False(t, NotEligible.Met())
	assert.Equal(t, "per_1000", fmt.Sprint(UnitPer1000))
}
