package fhir_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/caremetrics/caremetrics/eval"
	"github.com/caremetrics/caremetrics/fhir"
	"github.com/caremetrics/caremetrics/measures"
	"github.com/caremetrics/caremetrics/metric"
)

// A summary report of counts filled by hand; the Spanish-language stratum
// has no eligible member, so it has no measureScore.
func Example() {
	rep := &metric.Report{Measures: []metric.MeasureResult{{
		ID: "dental", Version: "2025.1", Scoring: "proportion", Period: metric.CalendarYear(2025),
		Groups: []metric.Group{{
			ID: "total", Counts: metric.Counts{InitialPopulation: 120, Denominator: 100, Numerator: 64},
			Stratifiers: []metric.Stratifier{{ID: "language", Strata: []metric.Stratum{
				{Values: []string{"en"}, Counts: metric.Counts{InitialPopulation: 100, Denominator: 100, Numerator: 64}},
				{Values: []string{"es"}, Counts: metric.Counts{InitialPopulation: 20}},
			}}},
		}},
	}}}
	rep.Finalize()
	reports, err := fhir.FromReport(rep, fhir.WithDate(time.Date(2026, 1, 31, 12, 0, 0, 0, time.UTC)))
	if err != nil {
		log.Fatal(err)
	}
	r := reports[0]
	fmt.Println(r.Type, r.Measure, r.Date)
	g := r.Group[0]
	fmt.Println(g.ID, g.MeasureScore.Value)
	for _, s := range g.Stratifier[0].Stratum {
		score := "undefined"
		if s.MeasureScore != nil {
			score = s.MeasureScore.Value.String()
		}
		fmt.Println(s.Value.Text, s.Population[1].Code.Coding[0].Code, s.Population[1].Count, score)
	}
	// Output:
	// summary https://caremetrics.example/Measure/dental|2025.1 2026-01-31T12:00:00Z
	// total 0.64
	// en denominator 100 0.64
	// es denominator 0 undefined
}

// A subject-list report names the members of each population in
// contained Lists.
func ExampleNewSubjects() {
	ctx := context.Background()
	ms, err := measures.LoadDir("testdata/measures", []string{"visits"})
	if err != nil {
		log.Fatal(err)
	}
	data, err := eval.LoadDir(ctx, "testdata/cohort")
	if err != nil {
		log.Fatal(err)
	}
	res, err := eval.Evaluate(ctx, data, ms, eval.WithMemberDetail())
	if err != nil {
		log.Fatal(err)
	}
	subjects, err := fhir.NewSubjects(res, ms)
	if err != nil {
		log.Fatal(err)
	}
	r, err := fhir.New(res.Report.Measure("visits"), fhir.WithSubjects(subjects))
	if err != nil {
		log.Fatal(err)
	}
	numerator := r.Group[0].Population[4]
	fmt.Println(r.Type, numerator.Code.Coding[0].Code, numerator.Count, numerator.SubjectResults.Reference)
	for _, l := range r.Contained {
		if "#"+l.ID == numerator.SubjectResults.Reference {
			for _, e := range l.Entry {
				if e.Item.Identifier != nil {
					fmt.Println(e.Item.Type, "identifier", e.Item.Identifier.Value)
				} else {
					fmt.Println(e.Item.Reference)
				}
			}
		}
	}
	// Output:
	// subject-list numerator 3 #g1-numerator
	// Patient/m01
	// Patient/m02
	// Patient identifier m_07
}
