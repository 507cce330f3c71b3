package eval

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestQuoteCell(t *testing.T) {
	assert.Equal(t, `"M\xe91"`, quoteCell("M\xe91"))
	s40 := strings.Repeat("a", 40)
	assert.Equal(t, `"`+s40+`"`, quoteCell(s40))
	assert.Equal(t, `"`+s40+`..." (41 bytes)`, quoteCell(s40+"b"))
	// A cut inside a character backs up to its start.
	s39 := strings.Repeat("a", 39)
	assert.Equal(t, `"`+s39+`..." (43 bytes)`, quoteCell(s39+"éé"))
	assert.Equal(t, `"`+s39+`\t..." (42 bytes)`, quoteCell(s39+"\t\t\t"))
}
