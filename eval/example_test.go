package eval_test

import (
	"context"
	"fmt"
	"log"

	"github.com/caremetrics/caremetrics/eval"
	"github.com/caremetrics/caremetrics/measures"
)

// Evaluate the shipped preventive dental measure on the bundled sample
// cohort and print each rate with its counts.
func ExampleEvaluate() {
	ctx := context.Background()
	ms, err := measures.Load([]string{"dental"})
	if err != nil {
		log.Fatal(err)
	}
	data, err := eval.LoadDir(ctx, "../testdata/sample")
	if err != nil {
		log.Fatal(err)
	}
	res, err := eval.Evaluate(ctx, data, ms)
	if err != nil {
		log.Fatal(err)
	}
	for _, g := range res.Report.Measure("dental").Groups {
		fmt.Printf("%s: %d of %d (%s)\n", g.ID, g.Numerator, g.Denominator, g.Rate)
	}
	// Output:
	// age_1_5: 234 of 341 (0.686217)
	// age_6_14: 180 of 376 (0.478723)
	// total: 414 of 717 (0.577406)
}
