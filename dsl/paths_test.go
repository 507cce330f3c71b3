package dsl

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestValueSetLinks follows a symbolic link that stays in the measure's
// directory and refuses one that leads out of it.
func TestValueSetLinks(t *testing.T) {
	outside := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(outside, "secret.yaml"), []byte(testValueSets), 0o644))
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "sets"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sets", "vs.yaml"), []byte(testValueSets), 0o644))
	require.NoError(t, os.Symlink("sets/vs.yaml", filepath.Join(dir, "inside.yaml")))
	require.NoError(t, os.Symlink(filepath.Join(outside, "secret.yaml"), filepath.Join(dir, "absolute.yaml")))
	require.NoError(t, os.Symlink("../"+filepath.Base(outside)+"/secret.yaml", filepath.Join(dir, "relative.yaml")))
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "linkdir")))
	measure := func(vs string) []byte {
		return []byte("id: t\ntitle: T\nperiod: {start: 2025-01-01, end: 2025-12-31}\nvaluesets: [" + vs + "]\n" +
			"groups:\n  g: {initial_population: \"true\", denominator: \"true\", numerator: 'exists(events(\"Visit\"))'}\n")
	}
	fsys := os.DirFS(dir)
	for _, tc := range []struct{ vs, want string }{
		{"sets/vs.yaml", ""},
		{"inside.yaml", ""},
		{"absolute.yaml", `t.yaml:4:13: valuesets: cannot read value-set file "absolute.yaml": absolute.yaml: a symbolic link leads outside the measure directory (to ` + filepath.Join(outside, "secret.yaml") + ")"},
		{"relative.yaml", `t.yaml:4:13: valuesets: cannot read value-set file "relative.yaml": relative.yaml: a symbolic link leads outside the measure directory`},
		{"linkdir/secret.yaml", `t.yaml:4:13: valuesets: cannot read value-set file "linkdir/secret.yaml": linkdir: a symbolic link leads outside the measure directory (to ` + outside + ")"},
	} {
		_, err := Compile("t.yaml", measure(tc.vs), fsys)
		if tc.want == "" {
			assert.NoError(t, err, tc.vs)
			continue
		}
		require.Error(t, err, tc.vs)
		first, _, _ := strings.Cut(err.Error(), "\n") // then: unknown value set "Visit"
		assert.Equal(t, tc.want, first, tc.vs)
	}
}
