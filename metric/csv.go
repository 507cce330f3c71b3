package metric

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"
)

// RatesCSVHeader is the header of WriteRatesCSV.
var RatesCSVHeader = []string{"measure", "group", "stratifier", "stratum", "initial_population", "denominator", "denominator_exclusions", "denominator_exceptions", "numerator", "rate"}

// WriteRatesCSV writes rates.csv: per measure and group an overall row
// (empty stratifier and stratum), then a row per stratum of each
// stratifier. A cross stratum's values are joined with "|". An undefined
// rate is an empty field, never 0.
func (r *Report) WriteRatesCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(RatesCSVHeader); err != nil {
		return err
	}
	row := func(m, g, s, st string, c Counts, rate Rate) error {
		return cw.Write([]string{m, g, s, st,
			strconv.FormatInt(c.InitialPopulation, 10), strconv.FormatInt(c.Denominator, 10),
			strconv.FormatInt(c.DenominatorExclusion, 10), strconv.FormatInt(c.DenominatorException, 10),
			strconv.FormatInt(c.Numerator, 10), rate.String()})
	}
	for _, m := range r.Measures {
		for _, g := range m.Groups {
			if err := row(m.ID, g.ID, "", "", g.Counts, g.Rate); err != nil {
				return err
			}
			for _, s := range g.Stratifiers {
				for _, st := range s.Strata {
					if err := row(m.ID, g.ID, s.ID, strings.Join(st.Values, "|"), st.Counts, st.Rate); err != nil {
						return err
					}
				}
			}
		}
	}
	cw.Flush()
	return cw.Error()
}
