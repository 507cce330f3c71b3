// Package cli holds what the example commands share: loading measures
// from flags and writing output files so that an interrupted run never
// leaves a half-written file that looks complete.
package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/caremetrics/caremetrics/dsl"
	"github.com/caremetrics/caremetrics/eval"
	"github.com/caremetrics/caremetrics/measures"
	"github.com/caremetrics/caremetrics/metric"
)

// LoadMeasures compiles the measures named in list ("all" or "" for every
// one, else comma-separated ids) from measureDir, or from the shipped set
// when measureDir is empty; valueSetDir, when set, replaces value sets of
// the same name (a licensed directory). attrs declares the data's extra
// member columns so that expressions may use them.
func LoadMeasures(list, measureDir, valueSetDir string, attrs map[string]dsl.AttrKind) ([]*dsl.Measure, error) {
	opts := []dsl.Option{dsl.WithAttributes(attrs)}
	if valueSetDir != "" {
		sets, err := dsl.LoadValueSetsDir(valueSetDir)
		if err != nil {
			return nil, err
		}
		opts = append(opts, dsl.WithValueSets(sets...))
	}
	var ids []string
	if list != "" && list != "all" {
		for _, id := range strings.Split(list, ",") {
			if id = strings.TrimSpace(id); id != "" {
				ids = append(ids, id)
			}
		}
	}
	if measureDir != "" {
		return measures.LoadDir(measureDir, ids, opts...)
	}
	return measures.Load(ids, opts...)
}

// YearPeriod returns the evaluation option of the -year flag: the calendar
// year as measurement period, or no option for 0 (each measure's own
// period).
func YearPeriod(year int) ([]eval.Option, error) {
	if year == 0 {
		return nil, nil
	}
	if year < 1900 || year > 2200 {
		return nil, fmt.Errorf("-year %d: want a year between 1900 and 2200", year)
	}
	return []eval.Option{eval.WithPeriod(metric.CalendarYear(year))}, nil
}

// Requirements returns the data requirements of ms evaluated with the
// -year flag: over the calendar year, or each over its own period for 0.
// The date windows follow the period, so data loaded for one year cannot
// be evaluated over another (eval.Evaluate says so).
func Requirements(ms []*dsl.Measure, year int) dsl.Requirements {
	if year == 0 {
		return dsl.RequirementsOf(ms...)
	}
	return dsl.RequirementsOver(metric.CalendarYear(year), ms...)
}

// WriteFile writes name in dir through a temporary file renamed into
// place once complete.
func WriteFile(dir, name string, write func(f *os.File) error) error {
	tmp, err := os.CreateTemp(dir, "."+name+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, name))
}
