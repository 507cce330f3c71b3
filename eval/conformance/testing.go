package conformance

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/caremetrics/caremetrics/dsl"
)

// Run checks every case set under root as a subtest of t, named by its
// path below root, and fails each with all its mismatches. A missing root
// skips the test with a message, so suites can point at optional decks.
func Run(t *testing.T, root string, measures []*dsl.Measure, opts ...Option) {
	t.Helper()
	if _, err := os.Stat(root); os.IsNotExist(err) {
		t.Skipf("no conformance cases at %s", root)
	}
	dirs, err := Discover(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		t.Fatalf("no case sets (directories with %s) under %s", ExpectedFile, root)
	}
	for _, dir := range dirs {
		name, _ := filepath.Rel(root, dir)
		t.Run(filepath.ToSlash(name), func(t *testing.T) {
			mismatches, err := Check(context.Background(), dir, measures, opts...)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range mismatches {
				t.Error(m.String())
			}
		})
	}
}
