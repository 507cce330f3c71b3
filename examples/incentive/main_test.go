package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caremetrics/caremetrics/eval"
	"github.com/caremetrics/caremetrics/measures"
	"github.com/caremetrics/caremetrics/metric"
	"github.com/caremetrics/caremetrics/payment"
)

var update = flag.Bool("update", false, "rewrite golden files")

var sample = filepath.Join("..", "..", "testdata", "sample")

// sampleRates evaluates the shipped measures on the sample cohort for a
// year, as go run ./examples/evaluate -year Y does, and writes rates.csv.
func sampleRates(t *testing.T, year int) string {
	t.Helper()
	ctx := context.Background()
	ms, err := measures.Load(nil)
	require.NoError(t, err)
	data, err := eval.LoadDir(ctx, sample)
	require.NoError(t, err)
	res, err := eval.Evaluate(ctx, data, ms, eval.WithPeriod(metric.CalendarYear(year)))
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "rates.csv")
	f, err := os.Create(path)
	require.NoError(t, err)
	require.NoError(t, res.Report.WriteRatesCSV(f))
	require.NoError(t, f.Close())
	return path
}

// TestSampleCohortGolden runs the README's command on the sample cohort
// and pins its output (go test ./examples/incentive -update rewrites it;
// review the diff).
func TestSampleCohortGolden(t *testing.T) {
	cfg := config{program: "program.yaml", rates: sampleRates(t, 2025), baseline: sampleRates(t, 2024),
		data: sample, monthRule: "day15", actualCost: "17980000", format: "text"}
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), cfg, &out))
	golden := filepath.Join("testdata", "sample.txt")
	if *update {
		require.NoError(t, os.WriteFile(golden, out.Bytes(), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	assert.Equal(t, string(want), out.String())
}

// JSON output of the payment package's worked example, member months
// from the flag.
func TestJSONOutput(t *testing.T) {
	td := filepath.Join("..", "..", "payment", "testdata")
	cfg := config{program: filepath.Join(td, "program.yaml"), rates: filepath.Join(td, "rates-2025.csv"), baseline: filepath.Join(td, "rates-2024.csv"),
		memberMonths: 12000, actualCost: "5,184,000.00", cco: "Worked Example CCO", format: "json"}
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), cfg, &out))
	var res struct {
		CCO          string `json:"cco"`
		MemberMonths int64  `json:"member_months"`
		Pool         struct {
			Earned json.Number `json:"earned"`
		} `json:"quality_pool"`
		SharedSavings struct {
			Final json.Number `json:"final"`
		} `json:"shared_savings"`
		Measures []struct {
			Status string `json:"status"`
		} `json:"measures"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &res))
	assert.Equal(t, "Worked Example CCO", res.CCO)
	assert.Equal(t, int64(12000), res.MemberMonths)
	assert.Equal(t, "172125.00", res.Pool.Earned.String())
	assert.Equal(t, "43200.00", res.SharedSavings.Final.String())
	assert.Equal(t, "met-by-improvement", res.Measures[0].Status)
}

// -plan counts only that plan's spans, and -capitation replaces PMPM ×
// member months in the pool.
func TestPlanAndCapitation(t *testing.T) {
	td := filepath.Join("..", "..", "payment", "testdata")
	cfg := config{program: filepath.Join(td, "program.yaml"), rates: filepath.Join(td, "rates-2025.csv"), baseline: filepath.Join(td, "rates-2024.csv"),
		data: sample, plan: "CCO-01", monthRule: "day15", actualCost: "0", capitation: "1000000.00", format: "json"}
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), cfg, &out))
	var res payment.Result
	var raw map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(out.Bytes(), &raw))
	require.NoError(t, json.Unmarshal(raw["member_months"], &res.MemberMonths))
	assert.Positive(t, res.MemberMonths)
	assert.Less(t, res.MemberMonths, int64(30581), "CCO-01 is a part of the sample")
	assert.Contains(t, string(raw["cco"]), "CCO-01")
	assert.Contains(t, string(raw["quality_pool"]), `"capitation": 1000000.00`)
}

func TestRunErrors(t *testing.T) {
	td := filepath.Join("..", "..", "payment", "testdata")
	ok := config{program: filepath.Join(td, "program.yaml"), rates: filepath.Join(td, "rates-2025.csv"), baseline: filepath.Join(td, "rates-2024.csv"),
		memberMonths: 100, actualCost: "1", monthRule: "day15", format: "text"}
	for _, tc := range []struct {
		name string
		edit func(c *config)
		want string
	}{
		{"no program", func(c *config) { c.program = "" }, "-program, -rates and -baseline are required"},
		{"both member months sources", func(c *config) { c.data = sample }, "one of the two"},
		{"no member months", func(c *config) { c.memberMonths = 0 }, "one of the two"},
		{"bad format", func(c *config) { c.format = "xml" }, `-format "xml"`},
		{"bad money", func(c *config) { c.actualCost = "12.345" }, "-actual-cost"},
		{"negative money", func(c *config) { c.capitation = "-5" }, "-capitation -5: want 0 or more"},
		{"no actual cost", func(c *config) { c.actualCost = "" }, "supply the year's actual total cost of care"},
		{"bad rates file", func(c *config) { c.rates = filepath.Join(td, "program.yaml") }, "program.yaml: line 1"},
		{"a program measure not in the rates", func(c *config) { c.program = "program.yaml" }, `rates-2025.csv: no rows for measure "cis" (asked for at program.yaml:`},
		{"bad month rule", func(c *config) { c.memberMonths, c.data, c.monthRule = 0, sample, "mid" }, "-month-rule"},
		{"unknown plan", func(c *config) { c.memberMonths, c.data, c.plan = 0, sample, "CCO-99" }, `-plan "CCO-99"`},
		{"bad program", func(c *config) { c.program = filepath.Join(td, "errors", "pool.yaml") }, "pool.yaml:1:7: year"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.edit(&c)
			err := run(context.Background(), c, &bytes.Buffer{})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
