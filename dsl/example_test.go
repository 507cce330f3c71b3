package dsl_test

import (
	"errors"
	"fmt"
	"testing/fstest"

	"github.com/caremetrics/caremetrics/dsl"
)

// Compile errors carry positions inside the YAML file, down to the token
// inside an expression, and every error is reported at once.
func ExampleCompile_errors() {
	src := `id: demo
title: Demo
period: {start: 2025-01-01, end: 2025-12-31}
valuesets: [vs.yaml]
define:
  age: ageOn(period_end)
groups:
  g:
    initial_population: agee >= 2
    denominator: "true"
    numerator: exists(events("Dental Preventve"))
`
	fsys := fstest.MapFS{"vs.yaml": {Data: []byte("valuesets:\n  - name: Dental Preventive\n    codes: {CDT: [\"D1000-D1999\"]}\n")}}
	_, err := dsl.Compile("demo.yaml", []byte(src), fsys)
	var list dsl.ErrorList
	if errors.As(err, &list) {
		for _, e := range list {
			fmt.Println(e.Code, e)
		}
	}
	// Output:
	// unknown-name demo.yaml:9:25: groups.g.initial_population: unknown name agee (did you mean age?)
	// unknown-valueset demo.yaml:11:30: groups.g.numerator: unknown value set "Dental Preventve" (did you mean "Dental Preventive"?)
}
