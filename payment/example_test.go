package payment_test

import (
	"fmt"
	"log"
	"strings"

	"github.com/caremetrics/caremetrics/metric"
	"github.com/caremetrics/caremetrics/payment"
)

const exampleProgram = `
name: Example program
year: 2025
capitation: {pmpm: 500.00}
measures:
  - {id: cis, group: combo3, benchmark: 60}
  - {id: ed, group: visits, unit: per_1000, inverse: true, benchmark: 40, floor: 2}
quality_pool: {rate: 4%, method: proportional}
`

func rates(rows string) *metric.Report {
	rep, err := metric.ReadRatesCSV(strings.NewReader(strings.Join(metric.RatesCSVHeader, ",") + "\n" + rows))
	if err != nil {
		log.Fatal(err)
	}
	return rep
}

// Evaluate one organisation: each measure's rule, then the pool.
func ExampleProgram_Evaluate() {
	prog, err := payment.ParseProgram("example.yaml", []byte(exampleProgram))
	if err != nil {
		log.Fatal(err)
	}
	res, err := prog.Evaluate(payment.Inputs{
		Rates:        rates("cis,combo3,,,150,150,6,0,72,0.500000\ned,visits,,,2000,2000,0,0,97,0.048500\n"),
		Baseline:     rates("cis,combo3,,,140,140,0,0,63,0.450000\ned,visits,,,2000,2000,0,0,100,0.050000\n"),
		MemberMonths: 2000,
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range res.Measures {
		fmt.Println(m.Key(), m.Status)
		fmt.Println("  target:", m.Target.Arithmetic)
		fmt.Println(" ", m.Reason)
	}
	for _, s := range res.Pool.Steps {
		fmt.Println(s)
	}
	// Output:
	// cis/combo3 met-by-improvement
	//   target: baseline 45% + max(10% × (benchmark 60% − baseline 45%) = 1.5, floor 3 points) = 48%
	//   met by improvement: 50% >= target 48% (benchmark 60% not reached)
	// ed/visits not-met
	//   target: baseline 50 per 1,000 − max(10% × (baseline 50 per 1,000 − benchmark 40 per 1,000) = 1, floor 2 per 1,000) = 48 per 1,000
	//   not met: 48.5 per 1,000 > benchmark 40 per 1,000 and 48.5 per 1,000 > target 48 per 1,000
	// capitation payments: PMPM $500.00 × 2,000 member months = $1,000,000.00
	// quality pool: 4% × $1,000,000.00 = $40,000.00
	// measures met: 1 of 2, 1 of 2 points
	// share earned (proportional): 1 of 2 points = 50%
	// earned: 50% × $40,000.00 = $20,000.00
	// unearned, to the challenge pool: $40,000.00 − $20,000.00 = $20,000.00
}

// Allocate one pool across organisations by member months; what they do
// not earn goes to the challenge pool.
func ExampleProgram_Allocate() {
	prog, err := payment.ParseProgram("example.yaml", []byte(`
name: Example program
year: 2025
capitation: {pmpm: 500.00}
measures:
  - {id: cis, group: combo3, benchmark: 60, challenge: true}
quality_pool: {rate: 4%, method: proportional}
`))
	if err != nil {
		log.Fatal(err)
	}
	var results []*payment.Result
	for _, cco := range []struct {
		name   string
		row    string
		months int64
	}{
		{"North", "cis,combo3,,,100,100,0,0,61,0.610000\n", 3000}, // meets the benchmark
		{"South", "cis,combo3,,,100,100,0,0,40,0.400000\n", 1000}, // does not
	} {
		r, err := prog.Evaluate(payment.Inputs{CCO: cco.name, Rates: rates(cco.row), Baseline: rates(cco.row), MemberMonths: cco.months})
		if err != nil {
			log.Fatal(err)
		}
		results = append(results, r)
	}
	a, err := prog.Allocate(results)
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range a.Steps {
		fmt.Println(s)
	}
	// Output:
	// quality pool: 4% × capitation $2,000,000.00 = $80,000.00
	// North: maximum $80,000.00 × 3,000 / 4,000 member months = $60,000.00; earned 100% × $60,000.00 = $60,000.00; unearned $0.00
	// South: maximum $80,000.00 × 1,000 / 4,000 member months = $20,000.00; earned 0% × $20,000.00 = $0.00; unearned $20,000.00
	// challenge pool: $80,000.00 − earned $60,000.00 = $20,000.00
	// challenge cis/combo3: portion $20,000.00 among North by 3,000 member months: North $20,000.00
}
