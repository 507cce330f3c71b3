package payment

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caremetrics/caremetrics/metric"
)

var update = flag.Bool("update", false, "rewrite golden files")

func readRates(t *testing.T, path string) *metric.Report {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	rep, err := metric.ReadRatesCSV(f)
	require.NoError(t, err)
	return rep
}

// workedExample evaluates testdata/program.yaml on testdata's rates with
// 12,000 member months and an actual cost of $5,184,000.00.
func workedExample(t *testing.T) *Result {
	t.Helper()
	p, err := LoadProgram(filepath.Join("testdata", "program.yaml"))
	require.NoError(t, err)
	cost := Cents(518400000)
	res, err := p.Evaluate(Inputs{
		CCO:          "Worked Example CCO",
		Rates:        readRates(t, filepath.Join("testdata", "rates-2025.csv")),
		Baseline:     readRates(t, filepath.Join("testdata", "rates-2024.csv")),
		RatesFile:    "rates-2025.csv",
		BaselineFile: "rates-2024.csv",
		MemberMonths: 12000,
		ActualCost:   &cost,
	})
	require.NoError(t, err)
	return res
}

// TestEvaluateWorkedExample checks every figure of the worked example
// against the arithmetic done by hand.
func TestEvaluateWorkedExample(t *testing.T) {
	res := workedExample(t)
	var statuses []Status
	for _, m := range res.Measures {
		statuses = append(statuses, m.Status)
	}
	// a: 63 / (110 − 10) = 63%; baseline 60%; target 60 + max(10% × 10 =
	//    1, 3) = 63: met by improvement, 1 point.
	// b: 81% >= 80: met by benchmark, 2 points.
	// ed: 481/10000 × 1000 = 48.1 per 1,000 (inverse); baseline 50;
	//    target 50 − max(10% × 10 = 1, 2) = 48; 48.1 > 48: not met.
	// c: 62.25% at 1 decimal is 62.3; target 60 + max(10% × 22.5 = 2.25,
	//    2) = 62.25, at 1 decimal 62.3: met by improvement, 1 point.
	assert.Equal(t, []Status{MetByImprovement, MetByBenchmark, NotMet, MetByImprovement}, statuses)
	// 4 of 5 points: the threshold of 3 points, 75%; score 4/5 = 80%.
	q := res.Quality
	assert.Equal(t, []string{"3", "4", "4", "5", "0.8"}, []string{fmt.Sprint(q.MeasuresMet), fmt.Sprint(q.Measures), q.PointsMet.String(), q.Points.String(), q.Score.String()})
	pool := res.Pool
	// capitation $450.00 × 12,000 = $5,400,000.00; pool 4.25% =
	// $229,500.00; earned 75% = $172,125.00; unearned $57,375.00.
	assert.Equal(t, []Cents{540000000, 22950000, 17212500, 5737500}, []Cents{pool.Capitation, pool.Pool, pool.Earned, pool.Unearned})
	assert.Equal(t, "0.75", pool.Share.String())
	assert.Equal(t, []string{"b/rate"}, pool.ChallengeMet)
	// savings $5,400,000 − $5,184,000 = $216,000; MSR 2% = $108,000;
	// above it $108,000; 50% = $54,000; × score 80% = $43,200; the cap
	// 10% = $540,000 is not reached.
	s := res.SharedSavings
	require.NotNil(t, s)
	require.NotNil(t, s.Gain)
	assert.Equal(t, []Cents{540000000, 21600000, 10800000, 10800000, 5400000, 4320000, 4320000},
		[]Cents{s.Budget, s.Savings, s.Gain.MinimumSavings, s.Gain.Shareable, s.Gain.Shared, s.Gain.Scaled, s.Final})
}

// The text and JSON renderings are golden files; go test -update
// rewrites them.
func TestWorkedExampleGolden(t *testing.T) {
	res := workedExample(t)
	var text bytes.Buffer
	require.NoError(t, res.WriteText(&text))
	var js bytes.Buffer
	enc := json.NewEncoder(&js)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	require.NoError(t, enc.Encode(res))
	for name, got := range map[string][]byte{"worked-example.txt": text.Bytes(), "worked-example.json": js.Bytes()} {
		path := filepath.Join("testdata", "golden", name)
		if *update {
			require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
			require.NoError(t, os.WriteFile(path, got, 0o644))
		}
		want, err := os.ReadFile(path)
		require.NoError(t, err, "run go test ./payment -update to create it")
		assert.Equal(t, string(want), string(got), name)
	}
}

// A program measure missing from a rates file is an error naming the
// file, the measure and group, and the program line; all are reported.
func TestEvaluateMissingRows(t *testing.T) {
	p, err := LoadProgram(filepath.Join("testdata", "program.yaml"))
	require.NoError(t, err)
	cur, err := metric.ReadRatesCSV(strings.NewReader(strings.Join(metric.RatesCSVHeader, ",") + "\n" +
		"a,rate,,,100,100,0,0,60,0.6\nb,rates,,,100,100,0,0,60,0.6\nc,rate,,,100,100,0,0,60,0.6\n"))
	require.NoError(t, err)
	cost := Cents(1)
	_, err = p.Evaluate(Inputs{Rates: cur, Baseline: readRates(t, filepath.Join("testdata", "rates-2024.csv")), RatesFile: "now.csv", BaselineFile: "then.csv", MemberMonths: 1, ActualCost: &cost})
	require.Error(t, err)
	msg := err.Error()
	assert.Contains(t, msg, `now.csv: no row for measure "b" group "rate" (asked for at testdata/program.yaml:12:5); did you mean "rates"?`)
	assert.Contains(t, msg, `now.csv: no rows for measure "ed" (asked for at testdata/program.yaml:13:5); the file's measures: a, b, c`)
	assert.NotContains(t, msg, "then.csv")
}

func TestEvaluateInputErrors(t *testing.T) {
	p, err := LoadProgram(filepath.Join("testdata", "program.yaml"))
	require.NoError(t, err)
	rates := readRates(t, filepath.Join("testdata", "rates-2025.csv"))
	cost := Cents(1)
	for _, tc := range []struct {
		name string
		in   Inputs
		want string
	}{
		{"no member months", Inputs{Rates: rates, Baseline: rates, ActualCost: &cost}, "member months 0"},
		{"no baseline", Inputs{Rates: rates, MemberMonths: 1, ActualCost: &cost}, "baseline"},
		{"no actual cost", Inputs{Rates: rates, Baseline: rates, MemberMonths: 1}, "supply the year's actual total cost of care"},
		{"negative capitation", Inputs{Rates: rates, Baseline: rates, MemberMonths: 1, ActualCost: &cost, Capitation: -1}, "capitation -$0.01"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := p.Evaluate(tc.in)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

// Supplied capitation replaces PMPM × member months in the pool (the
// budget of shared savings stays PMPM × member months).
func TestEvaluateSuppliedCapitation(t *testing.T) {
	p := programOf(t, "", "{id: a, group: rate, benchmark: 50}")
	rates := readRates(t, filepath.Join("testdata", "rates-2025.csv"))
	res, err := p.Evaluate(Inputs{Rates: rates, Baseline: rates, MemberMonths: 10, Capitation: 1000001})
	require.NoError(t, err)
	// 4% × $10,000.01 = $400.0004 → $400.00; all measures met: 100%.
	assert.Equal(t, Cents(40000), res.Pool.Pool)
	assert.Equal(t, "supplied", res.Pool.CapitationBasis)
	assert.Contains(t, res.Pool.Steps[1], "($400.0004 rounded half away from zero to the cent)")
}

// Weights: proportional earning pays points met / points possible.
func TestEvaluateProportionalWeights(t *testing.T) {
	p := programOf(t, "", "{id: a, group: rate, benchmark: 50, weight: 2}", "{id: b, group: rate, benchmark: 90, weight: 1.5}", "{id: c, group: rate, benchmark: 50, weight: 0.5}")
	rates := readRates(t, filepath.Join("testdata", "rates-2025.csv"))
	res, err := p.Evaluate(Inputs{Rates: rates, Baseline: rates, MemberMonths: 1000})
	require.NoError(t, err)
	// a (63% >= 50) and c (62.25% >= 50) are met: 2 + 0.5 = 2.5 of 4
	// points = 62.5%; b (81% < 90, no improvement from 81%) is not.
	// Pool 4% × $450,000.00 = $18,000.00; earned 62.5% = $11,250.00.
	assert.Equal(t, "0.625", res.Pool.Share.String())
	assert.Equal(t, Cents(1125000), res.Pool.Earned)
	assert.Equal(t, "share earned (proportional): 2.5 of 4 points = 62.5%", res.Pool.Steps[3])
}

// A ratio measure's multiplier in the rates file must match the program's
// unit: ED visits per 1,000 member months cannot be read as a percent.
func TestEvaluateUnitMatchesMultiplier(t *testing.T) {
	rates, err := metric.ReadRatesCSV(strings.NewReader(strings.Join(metric.RatesCSVHeader, ",") + "\n" +
		"ed_util,total,,,2769,30581,109,0,350,11.485954\n"))
	require.NoError(t, err)
	p := programOf(t, "", "{id: ed_util, group: total, inverse: true, benchmark: 10}")
	_, err = p.Evaluate(Inputs{Rates: rates, Baseline: rates, RatesFile: "rates.csv", MemberMonths: 1})
	assert.ErrorContains(t, err, `rates.csv: measure "ed_util" is a ratio per 1,000, but the program (test.yaml:4:5) gives it unit percent (× 100)`)

	// With unit per_1000: 350 × 1000 / 30472 ≈ 11.49 > 10, and the
	// baseline equal to it gives a target of 11.485954… − 2 (floor).
	p = programOf(t, "", "{id: ed_util, group: total, unit: per_1000, inverse: true, benchmark: 10, floor: 2}")
	res, err := p.Evaluate(Inputs{Rates: rates, Baseline: rates, MemberMonths: 1})
	require.NoError(t, err)
	assert.Equal(t, NotMet, res.Measures[0].Status)
	assert.Equal(t, "≈11.485954", res.Measures[0].Rate.Value.String())
}
