package conformance_test

import (
	"path/filepath"
	"testing"

	"github.com/caremetrics/caremetrics/eval/conformance"
	"github.com/caremetrics/caremetrics/measures"
)

// ecqmIDs maps the measure ids of the public eCQM test decks to the
// shipped measures that implement them.
var ecqmIDs = map[string]string{
	"CMS117FHIR-0.1.000": "cms117",
	"CMS2FHIR-0.2.000":   "cms2",
	"CMS74FHIR-0.0.002":  "cms74",
}

// TestPublicECQMDecks runs the public eCQM test cases translated to
// canonical data in ../shared/conformance, when that folder is present.
// The cases are third-party data and stay out of this repository.
func TestPublicECQMDecks(t *testing.T) {
	ms, err := measures.Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join("..", "..", "..", "shared", "conformance")
	conformance.Run(t, root, ms, conformance.WithMeasureIDs(ecqmIDs))
}
