package conformance_test

import (
	"path/filepath"
	"testing"

	"github.com/caremetrics/caremetrics/eval/conformance"
	"github.com/caremetrics/caremetrics/measures"
)

// TestShippedMeasures runs the boundary cases written for the shipped
// measures (testdata/conformance/<measure>/<case set>/).
func TestShippedMeasures(t *testing.T) {
	ms, err := measures.Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	conformance.Run(t, filepath.Join("..", "..", "testdata", "conformance"), ms)
}
