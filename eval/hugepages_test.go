package eval

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Populating pages is advice: it never changes what memory holds, inside
// or beside the slice.
func TestPrefaultKeepsContents(t *testing.T) {
	for _, n := range []int{0, 1, 1000, 1 << 17} {
		backing := make([]int64, n+2)
		for i := range backing {
			backing[i] = int64(i)*7 + 1
		}
		populate(backing[1 : n+1])
		for i, v := range backing {
			if v != int64(i)*7+1 {
				assert.Failf(t, "changed", "n=%d: element %d is %d", n, i, v)
				break
			}
		}
	}
	// Fresh memory stays zero.
	fresh := make([]Member, 1<<17)
	prefault(fresh)
	for i := range fresh {
		if !reflect.ValueOf(fresh[i]).IsZero() {
			t.Fatalf("fresh member %d is not zero", i)
		}
	}
}
