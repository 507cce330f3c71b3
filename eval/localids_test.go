package eval

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// localIDs numbers ids in order of first appearance, through growth of its
// table and its run cache.
func TestLocalIDs(t *testing.T) {
	l := newLocalIDs()
	const n = 50_000
	for round := range 3 {
		for i := range n {
			s := fmt.Sprintf("M%07d", (i*7919)%n)
			id := l.id(s)
			if round == 0 && i < n {
				require.Equal(t, int32(i), id, s)
			}
			require.Equal(t, s, l.s[id])
			assert.Equal(t, id, l.id(s), "run cache")
		}
	}
	assert.Len(t, l.s, n)
	assert.LessOrEqual(t, 2*len(l.s), len(l.slots), "table at most half full")
	assert.Equal(t, int32(n), l.id("new"))
	assert.Equal(t, int32(0), l.id(fmt.Sprintf("M%07d", 0)))
}
