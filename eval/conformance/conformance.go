// Package conformance checks measures against test cases written as data:
// member data in the canonical CSV (or Parquet, Arrow) layout plus the
// expected population membership of each member.
//
// A case set is a directory holding members, enrollment and events files
// and an expected.csv; cases live under ROOT/<measure>/<case set>/. The
// runner evaluates the measures on the case set and reports every
// mismatch with the member, group, population, expected and actual value.
// Users run it on their own measures exactly as the shipped measures' tests
// do.
//
// expected.csv has a header with member_id, a measure column (measure or
// measure_id), an optional group column, and 0/1 columns
// initial_population, denominator, denominator_exclusion, numerator and
// optionally denominator_exception (0/1 for a member measure; counts of
// episodes, or member months and visits, for episode and ratio measures);
// a note column is carried into mismatches. Flags are final counted membership: a member outside the
// initial population has all zeros, an excluded member keeps denominator 1
// with numerator 0.
package conformance

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/caremetrics/caremetrics/dsl"
	"github.com/caremetrics/caremetrics/eval"
	"github.com/caremetrics/caremetrics/metric"
)

// ExpectedFile is the name of the expectations file of a case set.
const ExpectedFile = "expected.csv"

// Expectation is one asserted row of expected.csv.
type Expectation struct {
	Line     int
	MemberID string
	Measure  string
	// Group is "" when the file has no group column: the measure's only
	// group (or its first) is meant.
	Group string
	// Flags are 0/1 per population in metric.Populations order (for an
	// episode measure the member's number of episodes, for a ratio
	// measure its values: see eval.MemberRow.Counts); -1 where the file
	// has no column for the population.
	Flags [5]int
	Note  string
}

// Mismatch is one population whose computed membership differs from the
// expectation.
type Mismatch struct {
	Dir        string
	MemberID   string
	Measure    string
	Group      string
	Population metric.Population
	Expected   int
	Actual     int
	Note       string
}

// String formats the mismatch on one line.
func (m Mismatch) String() string {
	s := fmt.Sprintf("%s: member %s, %s/%s, %s: expected %d, got %d", m.Dir, m.MemberID, m.Measure, m.Group, m.Population, m.Expected, m.Actual)
	if m.Note != "" {
		s += " (" + m.Note + ")"
	}
	return s
}

// Option configures Check.
type Option func(*options)

type options struct {
	ids  map[string]string
	eval []eval.Option
}

// WithMeasureIDs maps measure ids as written in expected.csv (such as an
// eCQM's "CMS117FHIR-0.1.000") to the ids of the compiled measures.
func WithMeasureIDs(ids map[string]string) Option {
	return func(o *options) { o.ids = ids }
}

// WithEvalOptions passes options to eval.Evaluate (a period, say).
func WithEvalOptions(opts ...eval.Option) Option {
	return func(o *options) { o.eval = append(o.eval, opts...) }
}

// Discover returns every directory under root that holds an expected.csv,
// sorted.
func Discover(root string) ([]string, error) {
	var dirs []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && d.Name() == ExpectedFile {
			dirs = append(dirs, filepath.Dir(path))
		}
		return nil
	})
	slices.Sort(dirs)
	return dirs, err
}

// ReadExpected parses an expected.csv.
func ReadExpected(path string) ([]Expectation, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: no header: %w", path, err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))] = i
	}
	if _, ok := col["measure"]; !ok {
		if i, ok := col["measure_id"]; ok {
			col["measure"] = i
		}
	}
	for _, need := range []string{"member_id", "measure", "initial_population"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("%s:1: header has no %s column", path, need)
		}
	}
	popCols := []string{"initial_population", "denominator", "denominator_exclusion", "denominator_exception", "numerator"}
	var out []Expectation
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		line, _ := r.FieldPos(0)
		e := Expectation{Line: line, MemberID: rec[col["member_id"]], Measure: rec[col["measure"]]}
		if i, ok := col["group"]; ok {
			e.Group = rec[i]
		}
		if i, ok := col["note"]; ok {
			e.Note = rec[i]
		}
		for p, name := range popCols {
			e.Flags[p] = -1
			i, ok := col[name]
			if !ok {
				continue
			}
			n, err := strconv.Atoi(strings.TrimSpace(rec[i]))
			if err != nil || n < 0 {
				return nil, fmt.Errorf("%s:%d: column %s: want 0, 1 or a count, got %q", path, line, name, rec[i])
			}
			e.Flags[p] = n
		}
		out = append(out, e)
	}
	return out, nil
}

// Check evaluates measures on the case set in dir and compares the result
// with dir/expected.csv. Members absent from expected.csv are not checked.
// An expectation that names an unknown measure, group or member is an
// error, not a silent pass.
func Check(ctx context.Context, dir string, measures []*dsl.Measure, opts ...Option) ([]Mismatch, error) {
	var o options
	for _, op := range opts {
		op(&o)
	}
	want, err := ReadExpected(filepath.Join(dir, ExpectedFile))
	if err != nil {
		return nil, err
	}
	data, err := eval.LoadDir(ctx, dir)
	if err != nil {
		return nil, err
	}
	// Evaluate only the measures the expectations name.
	byID := map[string]*dsl.Measure{}
	for _, m := range measures {
		byID[m.ID()] = m
	}
	var use []*dsl.Measure
	for i := range want {
		id := want[i].Measure
		if mapped, ok := o.ids[id]; ok {
			id = mapped
		}
		m, ok := byID[id]
		if !ok {
			return nil, fmt.Errorf("%s/%s:%d: unknown measure %q", dir, ExpectedFile, want[i].Line, want[i].Measure)
		}
		want[i].Measure = id
		if want[i].Group == "" {
			want[i].Group = m.GroupIDs()[0]
		} else if !slices.Contains(m.GroupIDs(), want[i].Group) {
			return nil, fmt.Errorf("%s/%s:%d: measure %s has no group %q", dir, ExpectedFile, want[i].Line, id, want[i].Group)
		}
		if !slices.Contains(use, m) {
			use = append(use, m)
		}
	}
	res, err := eval.Evaluate(ctx, data, use, append(o.eval, eval.WithMemberDetail())...)
	if err != nil {
		return nil, err
	}
	type key struct{ member, measure, group string }
	got := map[key]metric.Counts{}
	members := map[string]bool{}
	res.Members(func(row eval.MemberRow) bool {
		got[key{row.MemberID, row.Measure, row.Group}] = row.Counts
		members[row.MemberID] = true
		return true
	})
	var out []Mismatch
	var errs []error
	for _, e := range want {
		if !members[e.MemberID] {
			errs = append(errs, fmt.Errorf("%s/%s:%d: member %s is not in the case's members", dir, ExpectedFile, e.Line, e.MemberID))
			continue
		}
		counts := got[key{e.MemberID, e.Measure, e.Group}]
		for p, pop := range metric.Populations {
			actual := int(counts.Get(pop))
			if e.Flags[p] >= 0 && e.Flags[p] != actual {
				out = append(out, Mismatch{Dir: dir, MemberID: e.MemberID, Measure: e.Measure, Group: e.Group, Population: pop, Expected: e.Flags[p], Actual: actual, Note: e.Note})
			}
		}
	}
	return out, errors.Join(errs...)
}
