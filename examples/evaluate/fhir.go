package main

import (
	"os"
	"time"

	"github.com/caremetrics/caremetrics/dsl"
	"github.com/caremetrics/caremetrics/eval"
	"github.com/caremetrics/caremetrics/examples/internal/cli"
	"github.com/caremetrics/caremetrics/fhir"
)

// fhirFlags are the -fhir flags.
type fhirFlags struct {
	// on writes the MeasureReports; subjects makes them subject-lists.
	on, subjects bool
	// base is the base of the measures' canonical URLs (default
	// fhir.DefaultMeasureBase).
	base string
	// date is the reports' date; zero leaves it out.
	date time.Time
}

// writeFHIR writes measurereport-<measure>.json for every measure of res.
func writeFHIR(c runConfig, res *eval.Result, ms []*dsl.Measure) error {
	opts := []fhir.Option{fhir.WithDate(c.fhir.date), fhir.WithMeasureBase(c.fhir.base)}
	if c.fhir.subjects {
		s, err := fhir.NewSubjects(res, ms)
		if err != nil {
			return err
		}
		opts = append(opts, fhir.WithSubjects(s))
	}
	reports, err := fhir.FromReport(res.Report, opts...)
	if err != nil {
		return err
	}
	for i, r := range reports {
		name := "measurereport-" + safeFileName(res.Report.Measures[i].ID) + ".json"
		if err := cli.WriteFile(c.out, name, func(f *os.File) error { return r.WriteJSON(f) }); err != nil {
			return err
		}
	}
	return nil
}
