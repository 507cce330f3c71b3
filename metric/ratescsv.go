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

// rateTolerance is how far the rate field of rates.csv may lie from the
// rate of the counts: WriteRatesCSV prints 6 decimals, so at most half a
// unit of the sixth decimal, plus a margin for the float64 arithmetic.
func rateTolerance(want float64) float64 { return 5e-7 + 1e-12*math.Max(1, math.Abs(want)) }

// ReadRatesCSV reads a rates.csv file as WriteRatesCSV writes it and
// rebuilds the report: measures and groups in file order, an overall row
// per group before its strata, a cross stratum's values split at "|". The
// header must be RatesCSVHeader exactly. Counts must be non-negative
// integers, and a non-empty rate must agree with the counts to within
// half a unit of its sixth decimal (an empty rate exactly when the
// eligible denominator is zero), so a file whose counts and rates disagree
// is refused rather than half-believed. A repeated row is an error.
//
// A ratio measure's rates are scaled by its multiplier (11.485954 ED
// visits per 1,000 member months for 350 visits in 30,472 member months).
// The file does not name multipliers, so each measure's is inferred from
// its row with the largest rate, as the whole number nearest to rate ×
// eligible denominator / numerator, and every row of the measure must
// agree with it; a measure with no positive rate has multiplier 1. The
// report's MeasureResult.Multiplier is set when it is more than 1.
//
// The report's rates are recomputed from the counts (Finalize), so they
// are exact to float64; measure titles, versions, scoring, improvement
// notations and periods are not in the file and stay empty.
func ReadRatesCSV(r io.Reader) (*Report, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // checked here, so that a wrong header says so
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
	var rows []ratesRow
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
		row, err := parseRatesRow(rec, line, seen)
		if err != nil {
			return nil, err
		}
		rows = append(rows, row)
	}
	mult := multipliers(rows)
	rep := &Report{}
	for _, row := range rows {
		if err := checkRate(row, mult[row.measure]); err != nil {
			return nil, &RatesCSVError{Line: row.line, Column: "rate", Msg: err.Error()}
		}
		if err := addRatesRow(rep, row, mult[row.measure].n); err != nil {
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

// ratesRow is one data row of rates.csv, parsed.
type ratesRow struct {
	line                       int
	measure, group, stratifier string
	stratum                    string
	counts                     Counts
	rate                       string // the field as written
	value                      float64
}

// parseRatesRow checks a row's fields, except the rate against the counts.
func parseRatesRow(rec []string, line int, seen map[string]int) (ratesRow, error) {
	row := ratesRow{line: line, measure: rec[0], group: rec[1], stratifier: rec[2], stratum: rec[3], rate: rec[9]}
	if row.measure == "" || row.group == "" {
		return row, &RatesCSVError{Line: line, Msg: "empty measure or group"}
	}
	if (row.stratifier == "") != (row.stratum == "") {
		return row, &RatesCSVError{Line: line, Msg: fmt.Sprintf("stratifier %q with stratum %q: both empty (overall row) or both set", row.stratifier, row.stratum)}
	}
	key := strings.Join(rec[:4], "\x00")
	if prev, dup := seen[key]; dup {
		return row, &RatesCSVError{Line: line, Msg: fmt.Sprintf("repeats line %d (%s)", prev, strings.TrimSpace(strings.Join(rec[:4], " ")))}
	}
	seen[key] = line
	c := &row.counts
	for i, p := range []*int64{&c.InitialPopulation, &c.Denominator, &c.DenominatorExclusion, &c.DenominatorException, &c.Numerator} {
		v, err := strconv.ParseInt(rec[4+i], 10, 64)
		if err != nil || v < 0 {
			return row, &RatesCSVError{Line: line, Column: RatesCSVHeader[4+i], Msg: fmt.Sprintf("%q: want a non-negative integer", rec[4+i])}
		}
		*p = v
	}
	if row.rate != "" {
		v, err := strconv.ParseFloat(row.rate, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return row, &RatesCSVError{Line: line, Column: "rate", Msg: fmt.Sprintf("%q: want a non-negative decimal number or an empty field", row.rate)}
		}
		row.value = v
	}
	return row, nil
}

// multiplier is a measure's inferred multiplier and the line it came from.
type multiplier struct {
	n    int64
	line int
}

// multipliers infers each measure's multiplier from its row with the
// largest rate.
func multipliers(rows []ratesRow) map[string]multiplier {
	best := map[string]ratesRow{}
	for _, r := range rows {
		if b, ok := best[r.measure]; r.counts.Numerator > 0 && r.value > 0 && (!ok || r.value > b.value) {
			best[r.measure] = r
		}
	}
	out := map[string]multiplier{}
	for m, r := range best {
		c := r.counts
		d := c.Denominator - c.DenominatorExclusion - c.DenominatorException
		n := int64(math.Round(r.value * float64(d) / float64(c.Numerator)))
		out[m] = multiplier{max(n, 1), r.line}
	}
	return out
}

// checkRate checks a row's rate field against its counts.
func checkRate(row ratesRow, mult multiplier) error {
	c := row.counts
	want := c.RatePer(mult.n)
	if row.rate == "" {
		if want.Defined {
			return fmt.Errorf("empty, but the counts give %s", want)
		}
		return nil
	}
	if !want.Defined {
		return fmt.Errorf("%s, but the eligible denominator is 0 (the rate is undefined)", row.rate)
	}
	if math.Abs(row.value-want.Value) > rateTolerance(want.Value) {
		d := c.Denominator - c.DenominatorExclusion - c.DenominatorException
		if mult.n > 1 {
			return fmt.Errorf("%s disagrees with numerator %d × %d / eligible denominator %d = %s (the measure's multiplier %d, from line %d)", row.rate, c.Numerator, mult.n, d, want, mult.n, mult.line)
		}
		return fmt.Errorf("%s disagrees with numerator %d / eligible denominator %d = %s", row.rate, c.Numerator, d, want)
	}
	return nil
}

// addRatesRow adds a checked row to rep.
func addRatesRow(rep *Report, row ratesRow, mult int64) error {
	mr := rep.Measure(row.measure)
	if mr == nil {
		rep.Measures = append(rep.Measures, MeasureResult{ID: row.measure})
		mr = &rep.Measures[len(rep.Measures)-1]
		if mult > 1 {
			mr.Multiplier = mult
		}
	}
	gr := mr.Group(row.group)
	if row.stratifier == "" {
		if gr != nil {
			return &RatesCSVError{Line: row.line, Msg: fmt.Sprintf("overall row of %s %s after its strata", row.measure, row.group)}
		}
		mr.Groups = append(mr.Groups, Group{ID: row.group, Counts: row.counts})
		return nil
	}
	if gr == nil {
		return &RatesCSVError{Line: row.line, Msg: fmt.Sprintf("stratum of %s %s before its overall row", row.measure, row.group)}
	}
	sf := gr.Stratifier(row.stratifier)
	if sf == nil {
		gr.Stratifiers = append(gr.Stratifiers, Stratifier{ID: row.stratifier})
		sf = &gr.Stratifiers[len(gr.Stratifiers)-1]
	}
	sf.Strata = append(sf.Strata, Stratum{Values: strings.Split(row.stratum, "|"), Counts: row.counts})
	return nil
}
