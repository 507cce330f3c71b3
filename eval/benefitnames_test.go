package eval

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestBenefitNames checks the names past the compared few too, short
// and long, and that an absent name is absent on either side.
func TestBenefitNames(t *testing.T) {
	var b benefitNames
	names := make([][]byte, 3*maxBenefitNames)
	for i := range names {
		names[i] = fmt.Appendf(nil, "benefit_with_a_long_name_%d", i)
		if i%2 == 0 {
			names[i] = fmt.Appendf(nil, "b%d", i)
		}
	}
	for i, n := range names {
		_, ok := b.get(n)
		assert.False(t, ok, "%s before put", n)
		b.put(n, int32(i))
	}
	for i, n := range names {
		v, ok := b.get(n)
		assert.True(t, ok, "%s", n)
		assert.Equal(t, int32(i), v, "%s", n)
	}
	_, ok := b.get([]byte("medical"))
	assert.False(t, ok)
}
