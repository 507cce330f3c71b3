package metric

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// RatesCSVError is a problem in a rates.csv file read by ReadRatesCSV: the
// 1-based line and, when one field is at fault, its column name.
type RatesCSVError struct {
	Line   int
	Column string
	Msg    string
}

// Error formats the error as "line N: column: message".
func (e *RatesCSVError) Error() string {
	if e.Column == "" {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return fmt.Sprintf("line %d: %s: %s", e.Line, e.Column, e.Msg)
}

// rateTolerance is how far the rate field of rates.csv may lie from
// numerator / (denominator − exclusions − exceptions): WriteRatesCSV prints
// 6 decimals, so at most half a unit of the sixth decimal, plus a margin
// for the float64 division.
const rateTolerance = 5e-7 + 1e-12

// ReadRatesCSV reads a rates.csv file as WriteRatesCSV writes it and
// rebuilds the report: measures and groups in file order, an overall row
// per group before its strata, a cross stratum's values split at "|". The
// header must be RatesCSVHeader exactly. Counts must be non-negative
// integers, and a non-empty rate must agree with the counts to within
// half a unit of its sixth decimal (an empty rate exactly when the
// eligible denominator is zero), so a file whose counts and rates disagree
// is refused rather than half-believed. A repeated row is an error.
//
// The report's rates are recomputed from the counts (Finalize), so they
// are exact to float64; measure titles, versions, scoring and periods are
// not in the file and stay empty.
func ReadRatesCSV(r io.Reader) (*Report, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // checked here, so that a wrong header says so
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, &RatesCSVError{Line: 1, Msg: "empty file: want the header " + strings.Join(RatesCSVHeader, ",")}
	}
	if err != nil {
		return nil, csvErr(err)
	}
	if !slices.Equal(header, RatesCSVHeader) {
		return nil, &RatesCSVError{Line: 1, Msg: fmt.Sprintf("header %q: want %s", strings.Join(header, ","), strings.Join(RatesCSVHeader, ","))}
	}
	rep := &Report{}
	seen := map[string]int{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvErr(err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(RatesCSVHeader) {
			return nil, &RatesCSVError{Line: line, Msg: fmt.Sprintf("%d fields: want %d (%s)", len(rec), len(RatesCSVHeader), strings.Join(RatesCSVHeader, ","))}
		}
		if err := addRatesRow(rep, rec, line, seen); err != nil {
			return nil, err
		}
	}
	rep.Finalize()
	return rep, nil
}

func csvErr(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &RatesCSVError{Line: pe.Line, Msg: pe.Err.Error()}
	}
	return err
}

// addRatesRow adds one data row to rep.
func addRatesRow(rep *Report, rec []string, line int, seen map[string]int) error {
	m, g, s, st := rec[0], rec[1], rec[2], rec[3]
	if m == "" || g == "" {
		return &RatesCSVError{Line: line, Msg: "empty measure or group"}
	}
	if (s == "") != (st == "") {
		return &RatesCSVError{Line: line, Msg: fmt.Sprintf("stratifier %q with stratum %q: both empty (overall row) or both set", s, st)}
	}
	key := strings.Join(rec[:4], "\x00")
	if prev, dup := seen[key]; dup {
		return &RatesCSVError{Line: line, Msg: fmt.Sprintf("repeats line %d (%s %s %s %s)", prev, m, g, s, st)}
	}
	seen[key] = line
	var c Counts
	for i, p := range []*int64{&c.InitialPopulation, &c.Denominator, &c.DenominatorExclusion, &c.DenominatorException, &c.Numerator} {
		v, err := strconv.ParseInt(rec[4+i], 10, 64)
		if err != nil || v < 0 {
			return &RatesCSVError{Line: line, Column: RatesCSVHeader[4+i], Msg: fmt.Sprintf("%q: want a non-negative integer", rec[4+i])}
		}
		*p = v
	}
	if err := checkRate(rec[9], c); err != nil {
		return &RatesCSVError{Line: line, Column: "rate", Msg: err.Error()}
	}
	mr := rep.Measure(m)
	if mr == nil {
		rep.Measures = append(rep.Measures, MeasureResult{ID: m})
		mr = &rep.Measures[len(rep.Measures)-1]
	}
	gr := mr.Group(g)
	if s == "" {
		if gr != nil {
			return &RatesCSVError{Line: line, Msg: fmt.Sprintf("overall row of %s %s after its strata", m, g)}
		}
		mr.Groups = append(mr.Groups, Group{ID: g, Counts: c})
		return nil
	}
	if gr == nil {
		return &RatesCSVError{Line: line, Msg: fmt.Sprintf("stratum of %s %s before its overall row", m, g)}
	}
	sf := gr.Stratifier(s)
	if sf == nil {
		gr.Stratifiers = append(gr.Stratifiers, Stratifier{ID: s})
		sf = &gr.Stratifiers[len(gr.Stratifiers)-1]
	}
	sf.Strata = append(sf.Strata, Stratum{Values: strings.Split(st, "|"), Counts: c})
	return nil
}

// checkRate checks the rate field against the counts.
func checkRate(field string, c Counts) error {
	want := c.Rate()
	if field == "" {
		if want.Defined {
			return fmt.Errorf("empty, but the counts give %s", want)
		}
		return nil
	}
	v, err := strconv.ParseFloat(field, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("%q: want a decimal number or an empty field", field)
	}
	if !want.Defined {
		return fmt.Errorf("%s, but the eligible denominator is 0 (the rate is undefined)", field)
	}
	if math.Abs(v-want.Value) > rateTolerance {
		return fmt.Errorf("%s disagrees with numerator %d / eligible denominator %d = %s", field, c.Numerator, c.Denominator-c.DenominatorExclusion-c.DenominatorException, want)
	}
	return nil
}
