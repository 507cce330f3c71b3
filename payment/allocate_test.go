package payment

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSplitLargestRemainder(t *testing.T) {
	for _, tc := range []struct {
		name    string
		total   Cents
		weights []int64
		keys    []string
		want    []Cents
	}{
		// 100 / 3 = 33.33…: 33 each, the cent left goes to the tie's
		// smallest key, A.
		{"equal thirds", 100, []int64{1, 1, 1}, []string{"B", "A", "C"}, []Cents{33, 34, 33}},
		// 100 × 2/3 = 66.67 and 100 × 1/3 = 33.33: the larger remainder
		// (0.67) takes the cent.
		{"largest remainder first", 100, []int64{2, 1}, []string{"A", "B"}, []Cents{67, 33}},
		// 10 × 5/6 = 8.33 and 10 × 1/6 = 1.67: B's remainder is larger.
		{"the smaller part can win the cent", 10, []int64{5, 1}, []string{"A", "B"}, []Cents{8, 2}},
		{"a zero weight gets nothing", 5, []int64{0, 3, 3}, []string{"A", "B", "C"}, []Cents{0, 3, 2}},
		{"nothing to split", 0, []int64{1, 2}, []string{"A", "B"}, []Cents{0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, split(tc.total, tc.weights, tc.keys))
		})
	}
}

// The parts always add up to the whole and each is within a cent of its
// exact share.
func TestSplitAddsUp(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		n := 1 + rng.IntN(12)
		weights := make([]int64, n)
		keys := make([]string, n)
		var w int64
		for i := range weights {
			weights[i] = rng.Int64N(1_000_000)
			keys[i] = string(rune('a' + i))
			w += weights[i]
		}
		if w == 0 {
			continue
		}
		total := Cents(rng.Int64N(1 << 40))
		parts := split(total, weights, keys)
		var sum Cents
		for i, p := range parts {
			sum += p
			exact := RatioOf(int64(total), 1).mul(RatioOf(weights[i], w))
			d := RatioOf(int64(p), 1).sub(exact)
			assert.True(t, d.Cmp(RatioOf(-1, 1)) > 0, "part %d below its share by a cent or more", i)
			assert.True(t, d.Cmp(one) < 0, "part %d above its share by a cent or more", i)
		}
		require.Equal(t, total, sum)
	}
}

// result builds an organisation's result as Evaluate would leave it for
// Allocate.
func result(p *Program, cco string, months int64, capitation Cents, share Ratio, challengeMet ...string) *Result {
	return &Result{Program: p.Name, Year: p.Year, CCO: cco, MemberMonths: months, Measures: make([]MeasureResult, len(p.Measures)),
		Pool: PoolResult{Capitation: capitation, Share: share, ChallengeMet: challengeMet}}
}

func allocationProgram(t *testing.T) *Program {
	return programOf(t, "",
		"{id: m1, group: g, benchmark: 50, challenge: true}",
		"{id: m2, group: g, benchmark: 50, challenge: true}",
		"{id: m3, group: g, benchmark: 50}")
}

func TestAllocateWorkedExample(t *testing.T) {
	p := allocationProgram(t) // pool rate 4%
	// Capitation at $500 PMPM: A 12,000 months $6,000,000; B 8,000
	// months $4,000,000; C 5,000 months $2,500,000; together $12,500,000,
	// so the pool is 4% of it, $500,000.
	results := []*Result{
		result(p, "A", 12000, 600000000, one, "m1/g"),
		result(p, "B", 8000, 400000000, RatioOf(3, 4), "m1/g"),
		result(p, "C", 5000, 250000000, RatioOf(1, 2)),
	}
	a, err := p.Allocate(results)
	require.NoError(t, err)
	assert.Equal(t, Cents(50000000), a.Pool)
	assert.Equal(t, int64(25000), a.MemberMonths)
	// Maximums by member months: A 500,000 × 12/25 = 240,000; B × 8/25 =
	// 160,000; C × 5/25 = 100,000. Earned: A 100% 240,000; B 75% 120,000;
	// C 50% 50,000; unearned 40,000 + 50,000 = the challenge pool 90,000,
	// split between the two challenge measures, 45,000 each. m1 was met
	// by A and B (20,000 months): A 45,000 × 12/20 = 27,000, B 18,000.
	// Nobody met m2: its 45,000 stays undistributed.
	want := []CCOShare{
		{CCO: "A", MemberMonths: 12000, Max: 24000000, Share: one, Earned: 24000000, Challenge: 2700000, Total: 26700000},
		{CCO: "B", MemberMonths: 8000, Max: 16000000, Share: RatioOf(3, 4), Earned: 12000000, Unearned: 4000000, Challenge: 1800000, Total: 13800000},
		{CCO: "C", MemberMonths: 5000, Max: 10000000, Share: RatioOf(1, 2), Earned: 5000000, Unearned: 5000000, Total: 5000000},
	}
	for i := range want {
		assert.Equal(t, want[i].Total, a.CCOs[i].Total, want[i].CCO)
		assert.Zero(t, want[i].Share.Cmp(a.CCOs[i].Share))
		want[i].Share = a.CCOs[i].Share
	}
	assert.Equal(t, want, a.CCOs)
	assert.Equal(t, Cents(9000000), a.ChallengePool)
	assert.Equal(t, Cents(4500000), a.Undistributed)
	assert.Equal(t, []string{"A", "B"}, a.Challenge[0].Qualifying)
	// Everything is accounted for: earned + challenge awards + undistributed = pool.
	var paid Cents
	for _, c := range a.CCOs {
		paid += c.Total
	}
	assert.Equal(t, a.Pool, paid+a.Undistributed)
	steps := strings.Join(a.Steps, "\n")
	assert.Contains(t, steps, "quality pool: 4% × capitation $12,500,000.00 = $500,000.00")
	assert.Contains(t, steps, "challenge m2/g: portion $45,000.00; no organisation met it")

	var text strings.Builder
	require.NoError(t, a.WriteText(&text))
	assert.Contains(t, text.String(), "undistributed: $45,000.00")
}

// The order of the results changes nothing but the order of the rows.
func TestAllocateOrderIndependent(t *testing.T) {
	p := allocationProgram(t)
	results := []*Result{
		result(p, "A", 1, 33333, one, "m1/g", "m2/g"),
		result(p, "B", 1, 33333, RatioOf(1, 3), "m2/g"),
		result(p, "C", 1, 33334, RatioOf(2, 3), "m1/g"),
	}
	a, err := p.Allocate(results)
	require.NoError(t, err)
	reversed := slices.Clone(results)
	slices.Reverse(reversed)
	b, err := p.Allocate(reversed)
	require.NoError(t, err)
	got := slices.Clone(b.CCOs)
	slices.Reverse(got)
	for i := range got {
		assert.Equal(t, a.CCOs[i].Total, got[i].Total, a.CCOs[i].CCO)
		assert.Equal(t, a.CCOs[i].Max, got[i].Max, a.CCOs[i].CCO)
	}
	// Pool 4% × $1,000.00 = $40.00, three equal members: 13.33… each, A
	// (the smallest name) takes the odd cent.
	assert.Equal(t, []Cents{1334, 1333, 1333}, []Cents{a.CCOs[0].Max, a.CCOs[1].Max, a.CCOs[2].Max})
}

func TestAllocateErrors(t *testing.T) {
	p := allocationProgram(t)
	other := programOf(t, "", "{id: x, group: g, benchmark: 1}")
	other.Name = "other"
	for _, tc := range []struct {
		name    string
		results []*Result
		want    string
	}{
		{"none", nil, "at least one"},
		{"unnamed", []*Result{result(p, "", 1, 1, one)}, "names no organisation"},
		{"twice", []*Result{result(p, "A", 1, 1, one), result(p, "A", 1, 1, one)}, `"A" is given twice`},
		{"no member months", []*Result{result(p, "A", 0, 1, one)}, "0 member months"},
		{"another program", []*Result{result(other, "A", 1, 1, one)}, `of program "other"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := p.Allocate(tc.results)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}
