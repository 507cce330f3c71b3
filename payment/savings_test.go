package payment

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// savingsRule parses a shared_savings section.
func savingsRule(t *testing.T, section string) *SavingsRule {
	t.Helper()
	src := "year: 2025\ncapitation: {pmpm: 450.00}\nmeasures: [{id: m, group: g, benchmark: 50}]\nquality_pool: {rate: 4%, method: proportional}\nshared_savings: " + section + "\n"
	p, err := ParseProgram("test.yaml", []byte(src))
	require.NoError(t, err, src)
	return p.SharedSavings
}

func TestSharedSavingsWorkedExamples(t *testing.T) {
	const base = "minimum_savings_rate: 2%, sharing_rate: 50%, cap: 10%, corridor: 2%, risk_rate: 40%, risk_cap: 5%"
	// Every case has the budget $450.00 PMPM × 12,000 member months =
	// $5,400,000.00; the minimum savings and the corridor are 2% of it,
	// $108,000.00; the cap 10%, $540,000.00; the risk cap 5%, $270,000.00.
	for _, tc := range []struct {
		name   string
		rule   string
		actual Cents
		score  Ratio
		final  Cents
		step   string // a line of Steps
	}{
		// savings 5,400,000 − 5,184,000 = 216,000 (4%) ≥ 108,000; above
		// the MSR 108,000; 50% → 54,000; × score 3/4 → 40,500.
		{"linear quality above the MSR", "{" + base + ", quality: {method: linear}}", 518400000, RatioOf(3, 4), 4050000,
			"after quality: 75% × $54,000.00 = $40,500.00"},
		// first dollar: 216,000 × 50% = 108,000 × 3/4 = 81,000.
		{"first dollar", "{" + base + ", msr_basis: first_dollar, quality: {method: linear}}", 518400000, RatioOf(3, 4), 8100000,
			"shareable savings (from the first dollar): $216,000.00"},
		// savings 100,000 < 108,000: nothing shared.
		{"savings short of the MSR", "{" + base + "}", 530000000, RatioOf(1, 1), 0,
			"savings $100,000.00 fall short: no shared savings"},
		// savings exactly 108,000 reach the MSR; above it nothing is left.
		{"savings exactly at the MSR, above_msr", "{" + base + "}", 529200000, RatioOf(1, 1), 0,
			"savings $108,000.00 reach it"},
		// first dollar at the MSR: 108,000 × 50% = 54,000.
		{"savings exactly at the MSR, first dollar", "{" + base + ", msr_basis: first_dollar}", 529200000, RatioOf(1, 1), 5400000,
			"organisation's share: 50% × $108,000.00 = $54,000.00"},
		// gate at 80%: score 75% fails, all or nothing.
		{"quality gate failed", "{" + base + ", quality: {method: gate, min_score: 80%}}", 518400000, RatioOf(3, 4), 0,
			"quality gate: score 75% < 80%, so none of it is kept"},
		{"quality gate passed", "{" + base + ", quality: {method: gate, min_score: 75%}}", 518400000, RatioOf(3, 4), 5400000,
			"quality gate: score 75% ≥ 75%, so all of it is kept"},
		// linear with a floor: 75% < 80% pays nothing.
		{"linear below its minimum score", "{" + base + ", quality: {method: linear, min_score: 80%}}", 518400000, RatioOf(3, 4), 0,
			"factor 0%"},
		// cap 0.5% × 5,400,000 = 27,000 < 40,500.
		{"the cap binds", "{minimum_savings_rate: 2%, sharing_rate: 50%, cap: 0.5%, quality: {method: linear}}", 518400000, RatioOf(3, 4), 2700000,
			"cap: 0.5% × $5,400,000.00 = $27,000.00; $40,500.00 is capped at it"},
		// loss 5,616,000 − 5,400,000 = 216,000; beyond the corridor
		// 108,000; 40% → 43,200 owed (the risk cap 270,000 is not reached).
		{"a loss beyond the corridor", "{" + base + "}", 561600000, RatioOf(1, 1), -4320000,
			"organisation's share of the excess: 40% × $108,000.00 = $43,200.00"},
		// loss 100,000 within the corridor 108,000.
		{"a loss within the corridor", "{" + base + "}", 550000000, RatioOf(1, 1), 0,
			"the loss $100,000.00 lies within it"},
		// risk cap 0.5% = 27,000 < 43,200.
		{"the risk cap binds", "{minimum_savings_rate: 2%, sharing_rate: 50%, corridor: 2%, risk_rate: 40%, risk_cap: 0.5%}", 561600000, RatioOf(1, 1), -2700000,
			"risk cap: 0.5% × $5,400,000.00 = $27,000.00; $43,200.00 is capped at it"},
		// no corridor, no risk rate: losses are all the payer's.
		{"no risk sharing", "{minimum_savings_rate: 2%, sharing_rate: 50%}", 561600000, RatioOf(1, 1), 0,
			"loss beyond it"},
		{"no savings, no loss", "{" + base + "}", 540000000, RatioOf(1, 1), 0,
			"the actual cost equals the budget"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := savingsRule(t, tc.rule).apply(45000, 12000, tc.actual, tc.score)
			require.NoError(t, err)
			assert.Equal(t, Cents(540000000), r.Budget)
			assert.Equal(t, tc.final, r.Final, strings.Join(r.Steps, "\n"))
			assert.Contains(t, strings.Join(r.Steps, "\n"), tc.step)
		})
	}
}

// Rounding at each step, half away from zero.
func TestSharedSavingsRounding(t *testing.T) {
	rule := savingsRule(t, "{minimum_savings_rate: 1%, sharing_rate: 50%, quality: {method: linear}}")
	// budget $333.33 × 7 = $2,333.31; actual $2,000.01; savings $333.30.
	// MSR 1% × 2,333.31 = 23.3331 → $23.33; shareable 333.30 − 23.33 =
	// $309.97; 50% → 154.985 → $154.99 (the half cent away from zero);
	// × 2/3 = 103.32666… → $103.33.
	r, err := rule.apply(33333, 7, 200001, RatioOf(2, 3))
	require.NoError(t, err)
	g := r.Gain
	require.NotNil(t, g)
	assert.Equal(t, []Cents{233331, 33330, 2333, 30997, 15499, 10333, 10333},
		[]Cents{r.Budget, r.Savings, g.MinimumSavings, g.Shareable, g.Shared, g.Scaled, r.Final})
	steps := strings.Join(r.Steps, "\n")
	assert.Contains(t, steps, "minimum savings: 1% × $2,333.31 = $23.33 ($23.3331 rounded half away from zero to the cent)")
	assert.Contains(t, steps, "50% × $309.97 = $154.99 ($154.985 rounded half away from zero to the cent)")
	assert.Contains(t, steps, "≈66.666667% × $154.99 = $103.33 (≈$103.326667 rounded half away from zero to the cent)")
}

func TestSharedSavingsRejectsNegativeCost(t *testing.T) {
	_, err := savingsRule(t, "{minimum_savings_rate: 1%, sharing_rate: 50%}").apply(45000, 12, -1, one)
	assert.ErrorContains(t, err, "actual total cost of care -$0.01")
}
