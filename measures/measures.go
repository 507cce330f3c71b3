package measures

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"runtime"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/caremetrics/caremetrics/dsl"
)

// FS holds the shipped measure files (*.yaml, one measure each, named after
// its id), their value sets (valuesets/*) and shared libraries (lib/*).
//
//go:embed *.yaml valuesets/* lib/*
var FS embed.FS

// IDs returns the ids of the shipped measures, sorted.
func IDs() []string {
	ids, err := measureIDs(FS)
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return ids
}

// Load compiles the shipped measures with the given ids, in IDs order. No
// ids, or the single id "all", selects every shipped measure. An unknown id
// is an error naming the known ones; compile errors of several measures are
// joined with errors.Join.
func Load(ids []string, opts ...dsl.Option) ([]*dsl.Measure, error) {
	return load(FS, ids, opts)
}

// LoadDir compiles measures from a user's directory laid out like the
// shipped one: one <id>.yaml (or .yml) per measure at the top of dir, value
// sets at the paths the measures name (relative to dir, inside it). ids
// select measures as in Load.
func LoadDir(dir string, ids []string, opts ...dsl.Option) ([]*dsl.Measure, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("measures: %w", err)
	}
	return load(os.DirFS(dir), ids, opts)
}

// measureIDs lists the measure files at the top of fsys by id (file name
// without extension), sorted.
func measureIDs(fsys fs.FS) ([]string, error) {
	files, err := measureFiles(fsys)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(files))
	for id := range files {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, nil
}

// measureFiles maps each measure id to its file name at the top of fsys.
func measureFiles(fsys fs.FS) (map[string]string, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("measures: %w", err)
	}
	files := map[string]string{}
	for _, e := range entries {
		ext := path.Ext(e.Name())
		if e.IsDir() || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		id := strings.TrimSuffix(e.Name(), ext)
		if prev, ok := files[id]; ok {
			return nil, fmt.Errorf("measures: %s and %s both define measure %q", prev, e.Name(), id)
		}
		files[id] = e.Name()
	}
	return files, nil
}

func load(fsys fs.FS, ids []string, opts []dsl.Option) ([]*dsl.Measure, error) {
	files, err := measureFiles(fsys)
	if err != nil {
		return nil, err
	}
	known := make([]string, 0, len(files))
	for id := range files {
		known = append(known, id)
	}
	slices.Sort(known)

	selected := known
	if len(ids) > 0 && !(len(ids) == 1 && ids[0] == "all") {
		want := map[string]bool{}
		var unknown []string
		for _, id := range ids {
			id = strings.TrimSpace(id)
			if _, ok := files[id]; !ok {
				unknown = append(unknown, fmt.Sprintf("%q", id))
				continue
			}
			want[id] = true
		}
		if len(unknown) > 0 {
			return nil, fmt.Errorf("measures: unknown measure %s (known: %s)", strings.Join(unknown, ", "), strings.Join(known, ", "))
		}
		selected = nil
		for _, id := range known {
			if want[id] {
				selected = append(selected, id)
			}
		}
	}

	// Compiled side by side (a tenth of a second for the shipped set,
	// before any data can be read), reported in order.
	compiled := make([]*dsl.Measure, len(selected))
	compileErrs := make([]error, len(selected))
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, id := range selected {
		g.Go(func() error {
			compiled[i], compileErrs[i] = dsl.CompileFS(fsys, files[id], opts...)
			return nil
		})
	}
	_ = g.Wait()
	out := make([]*dsl.Measure, 0, len(selected))
	var errs []error
	for i, id := range selected {
		m, err := compiled[i], compileErrs[i]
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if m.ID() != id {
			if other, ok := files[m.ID()]; ok {
				errs = append(errs, fmt.Errorf("%s: id: measure %q is already defined in %s (name the file after its id: %s)", m.IDPos(), m.ID(), other, other))
			} else {
				errs = append(errs, fmt.Errorf("%s: id: %s declares id %q; name the file after its id", m.IDPos(), files[id], m.ID()))
			}
			continue
		}
		out = append(out, m)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}
