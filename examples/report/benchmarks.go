package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/caremetrics/caremetrics/metric"
)

// benchmarks maps a measure's group to its benchmark, in the report's
// units: a fraction for a proportion, the scaled rate for a ratio measure.
type benchmarks map[benchmarkKey]float64

type benchmarkKey struct{ measure, group string }

// benchmarkRow is one row of a benchmarks file, with its line.
type benchmarkRow struct {
	line                  int
	measure, group, value string
}

// readBenchmarks reads a CSV (header measure,group,benchmark) or YAML (a
// list of {measure, group, benchmark}) file of benchmarks and checks each
// against the report: the group must exist and the value be in the
// measure's units. A row of a measure that is not in the report (not
// requested with -measures) is left out, with a warning in the second
// result. Errors name the file and line.
func readBenchmarks(path string, r *metric.Report) (benchmarks, []string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	var rows []benchmarkRow
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		rows, err = benchmarkCSV(string(b))
	case ".yaml", ".yml":
		rows, err = benchmarkYAML(b)
	default:
		return nil, nil, fmt.Errorf("-benchmarks %s: want a .csv, .yaml or .yml file", path)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s:%w", path, err)
	}
	out := benchmarks{}
	lines := map[benchmarkKey]int{}
	var ignored []string
	for _, row := range rows {
		at := fmt.Sprintf("%s:%d", path, row.line)
		m := r.Measure(row.measure)
		if m == nil {
			ignored = append(ignored, fmt.Sprintf("%s: measure %q is not in the report; row ignored", at, row.measure))
			continue
		}
		if m.Group(row.group) == nil {
			ids := make([]string, len(m.Groups))
			for i, g := range m.Groups {
				ids[i] = g.ID
			}
			return nil, nil, fmt.Errorf("%s: measure %s has no group %q (it has %s)", at, m.ID, row.group, strings.Join(ids, ", "))
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(row.value), "%")), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, nil, fmt.Errorf("%s: benchmark %q is not a number", at, row.value)
		}
		if strings.HasSuffix(strings.TrimSpace(row.value), "%") {
			return nil, nil, fmt.Errorf("%s: benchmark %q: write rates in the report's units, without %% (a proportion as a fraction: 0.6 for 60%%)", at, row.value)
		}
		if m.Scoring == "ratio" {
			if v < 0 {
				return nil, nil, fmt.Errorf("%s: benchmark %v of ratio measure %s is negative", at, v, m.ID)
			}
		} else if v < 0 || v > 1 {
			return nil, nil, fmt.Errorf("%s: benchmark %v of proportion %s/%s: want a fraction from 0 to 1 (0.6 for 60%%)", at, v, m.ID, row.group)
		}
		k := benchmarkKey{row.measure, row.group}
		if prev, dup := lines[k]; dup {
			return nil, nil, fmt.Errorf("%s: measure %s group %s already has a benchmark on line %d", at, m.ID, row.group, prev)
		}
		lines[k] = row.line
		out[k] = v
	}
	return out, ignored, nil
}

// benchmarkCSV reads the rows of a CSV file; errors start with the line.
func benchmarkCSV(text string) ([]benchmarkRow, error) {
	cr := csv.NewReader(strings.NewReader(text))
	cr.Comment = '#'
	cr.FieldsPerRecord = 3
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("1: empty file; want the header measure,group,benchmark")
		}
		return nil, csvError(err)
	}
	for i, want := range []string{"measure", "group", "benchmark"} {
		if !strings.EqualFold(strings.TrimSpace(header[i]), want) {
			line, _ := cr.FieldPos(0)
			return nil, fmt.Errorf("%d: header %q: want measure,group,benchmark", line, strings.Join(header, ","))
		}
	}
	var rows []benchmarkRow
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return nil, csvError(err)
		}
		line, _ := cr.FieldPos(0)
		rows = append(rows, benchmarkRow{line: line, measure: strings.TrimSpace(rec[0]), group: strings.TrimSpace(rec[1]), value: rec[2]})
	}
}

func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("%d: %v", pe.Line, pe.Err)
	}
	return fmt.Errorf(" %w", err)
}

// benchmarkYAML reads a YAML list of mappings with the keys measure,
// group and benchmark; errors start with the line.
func benchmarkYAML(b []byte) ([]benchmarkRow, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf(" %w", err)
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	seq := doc.Content[0]
	if seq.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("%d: want a list of {measure, group, benchmark}", seq.Line)
	}
	var rows []benchmarkRow
	for _, item := range seq.Content {
		if item.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("%d: want a mapping {measure, group, benchmark}", item.Line)
		}
		row := benchmarkRow{line: item.Line}
		seen := map[string]bool{}
		for i := 0; i+1 < len(item.Content); i += 2 {
			k, v := item.Content[i], item.Content[i+1]
			if v.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("%d: %s: want a single value", v.Line, k.Value)
			}
			switch k.Value {
			case "measure":
				row.measure = v.Value
			case "group":
				row.group = v.Value
			case "benchmark":
				row.value = v.Value
			default:
				return nil, fmt.Errorf("%d: unknown key %q (want measure, group, benchmark)", k.Line, k.Value)
			}
			seen[k.Value] = true
		}
		for _, key := range []string{"measure", "group", "benchmark"} {
			if !seen[key] {
				return nil, fmt.Errorf("%d: missing %s", item.Line, key)
			}
		}
		rows = append(rows, row)
	}
	return rows, nil
}
