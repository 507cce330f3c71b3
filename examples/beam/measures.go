package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/caremetrics/caremetrics/dsl"
	"github.com/caremetrics/caremetrics/eval"
	"github.com/caremetrics/caremetrics/measures"
	"github.com/caremetrics/caremetrics/metric"
)

// measureSpec is how compiled measures travel to the workers: a compiled
// dsl.Measure is an immutable Go value that cannot be serialized, so the
// pipeline carries what it was compiled from and every worker compiles it
// once, in its DoFn's Setup.
//
// With no Files the measures are the shipped ones, embedded in the worker
// binary (package measures, go:embed): nothing travels but their ids. Files
// holds a user's measure directory (measure YAML, value sets, libraries),
// read at pipeline construction and shipped inside the DoFn, so that
// workers need no access to the launcher's disk. ValueSets holds a
// value-set directory (a licensed one) the same way; ValueSetsURL instead
// names one on storage every worker reads (gs://..., any scheme of Beam's
// filesystem registered in the binary), fetched once per DoFn instance in
// Setup: for value sets too large to travel inside the pipeline graph.
// Attrs declares the data's extra member columns, read at construction
// from the first shard.
type measureSpec struct {
	IDs          []string                `json:"ids,omitempty"`
	Files        map[string][]byte       `json:"files,omitempty"`
	ValueSets    map[string][]byte       `json:"value_sets,omitempty"`
	ValueSetsURL string                  `json:"value_sets_url,omitempty"`
	Attrs        map[string]dsl.AttrKind `json:"attrs,omitempty"`
	// Year, when not 0, evaluates every measure over that calendar year
	// instead of its own period.
	Year int `json:"year,omitempty"`
}

// compile compiles the measures of the spec. Files and ValueSets are
// written to temporary directories and loaded as measures.LoadDir and
// dsl.LoadValueSetsDir load them, so that a measure compiles on a worker
// exactly as it does on the launcher, with the same errors.
func (s *measureSpec) compile(ctx context.Context) ([]*dsl.Measure, error) {
	opts := []dsl.Option{dsl.WithAttributes(s.Attrs)}
	if len(s.ValueSets) > 0 || s.ValueSetsURL != "" {
		var dir string
		var err error
		if s.ValueSetsURL != "" {
			dir, err = stage(ctx, s.ValueSetsURL)
		} else {
			dir, err = writeTree(s.ValueSets)
		}
		if err != nil {
			return nil, fmt.Errorf("value sets: %w", err)
		}
		defer os.RemoveAll(dir)
		sets, err := dsl.LoadValueSetsDir(dir)
		if err != nil {
			return nil, err
		}
		opts = append(opts, dsl.WithValueSets(sets...))
	}
	if len(s.Files) == 0 {
		return measures.Load(s.IDs, opts...)
	}
	dir, err := writeTree(s.Files)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	return measures.LoadDir(dir, s.IDs, opts...)
}

// requirements returns the data requirements of ms evaluated as the spec
// says: the date windows follow the period.
func (s *measureSpec) requirements(ms []*dsl.Measure) dsl.Requirements {
	if s.Year == 0 {
		return dsl.RequirementsOf(ms...)
	}
	return dsl.RequirementsOver(metric.CalendarYear(s.Year), ms...)
}

// evalOptions returns the evaluation options of the spec.
func (s *measureSpec) evalOptions(workers int) []eval.Option {
	opts := []eval.Option{eval.WithWorkers(workers)}
	if s.Year != 0 {
		opts = append(opts, eval.WithPeriod(metric.CalendarYear(s.Year)))
	}
	return opts
}

// readTree reads every regular file under dir, by slash-separated path
// relative to dir.
func readTree(dir string) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		out[filepath.ToSlash(rel)] = b
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no files", dir)
	}
	return out, nil
}

// writeTree writes files (as readTree returns them) into a new temporary
// directory and returns it.
func writeTree(files map[string][]byte) (string, error) {
	dir, err := os.MkdirTemp("", "caremetrics-measures-")
	if err != nil {
		return "", err
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !filepath.IsLocal(filepath.FromSlash(name)) {
			os.RemoveAll(dir)
			return "", fmt.Errorf("measure file %q: not a path inside the directory", name)
		}
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			os.RemoveAll(dir)
			return "", err
		}
		if err := os.WriteFile(p, files[name], 0o644); err != nil {
			os.RemoveAll(dir)
			return "", err
		}
	}
	return dir, nil
}
