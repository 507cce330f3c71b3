package measures_test

import (
	"testing"

	"github.com/caremetrics/caremetrics/measures"
)

// BenchmarkLoad compiles every shipped measure, as each run of the
// examples does before it reads any data.
func BenchmarkLoad(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := measures.Load(nil); err != nil {
			b.Fatal(err)
		}
	}
}
