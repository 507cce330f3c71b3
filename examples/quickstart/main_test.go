package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestQuickstartGolden pins the rates of every shipped measure on the
// bundled sample cohort. A change here is a change in results: review the
// diff (go test ./examples/quickstart -update) before accepting it.
func TestQuickstartGolden(t *testing.T) {
	root := filepath.Join("..", "..")
	var buf bytes.Buffer
	require.NoError(t, run(&buf, filepath.Join(root, "testdata", "sample"), true))
	golden := filepath.Join(root, "testdata", "golden", "quickstart.txt")
	if *update {
		require.NoError(t, os.WriteFile(golden, buf.Bytes(), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	assert.Equal(t, string(want), buf.String())
}
