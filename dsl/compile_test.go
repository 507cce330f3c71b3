package dsl

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestCompileErrors compiles every measure in testdata/dsl/errors and
// compares all reported errors, with positions, to the .golden file beside
// it. Run with -update to rewrite the goldens, then review the diff.
func TestCompileErrors(t *testing.T) {
	dir := filepath.Join("..", "testdata", "dsl", "errors")
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	require.NoError(t, err)
	fsys := os.DirFS(dir)
	n := 0
	for _, f := range files {
		name := filepath.Base(f)
		if strings.HasPrefix(name, "vs_") || strings.HasPrefix(name, "lib_") {
			continue
		}
		n++
		t.Run(name, func(t *testing.T) {
			_, err := CompileFS(fsys, name)
			require.Error(t, err)
			var list ErrorList
			require.True(t, errors.As(err, &list), "want an ErrorList, got %T", err)
			for _, e := range list {
				assert.NotEmpty(t, e.Code, "error without a code: %v", e)
				assert.NotZero(t, e.Pos.Line, "error without a line: %v", e)
			}
			golden := strings.TrimSuffix(f, ".yaml") + ".golden"
			got := err.Error() + "\n"
			if *update {
				require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err)
			assert.Equal(t, string(want), got)
		})
	}
	require.Greater(t, n, 5)
}
