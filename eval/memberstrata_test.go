package eval_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caremetrics/caremetrics/dsl"
	"github.com/caremetrics/caremetrics/eval"
	"github.com/caremetrics/caremetrics/internal/synth"
	"github.com/caremetrics/caremetrics/measures"
)

// memberCategory matches a stratifier that is a member category alone.
var memberCategory = regexp.MustCompile(`^(  [a-z_]+: )(raceCategories\(\)|category\("[a-z_]+"\))$`)

// wrapMemberStrata writes the shipped measures to a directory with every
// stratifier that is a member category alone wrapped in a list function,
// which gives the same values but is not recognised as one, so that
// Evaluate counts it member by member; it returns the directory and how
// many stratifiers it wrapped.
func wrapMemberStrata(t *testing.T) (string, int) {
	t.Helper()
	dir := t.TempDir()
	wrapped := 0
	err := fs.WalkDir(measures.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(measures.FS, path)
		if err != nil {
			return err
		}
		if !strings.Contains(path, "/") && strings.HasSuffix(path, ".yaml") {
			lines := strings.Split(string(b), "\n")
			in := false
			for i, l := range lines {
				switch {
				case l == "stratifiers:":
					in = true
				case l != "" && !strings.HasPrefix(l, " ") && !strings.HasPrefix(l, "#"):
					in = false
				case in:
					if m := memberCategory.FindStringSubmatch(l); m != nil {
						expr := "concat(" + m[2] + ")"
						if strings.HasPrefix(m[2], "category") {
							expr = "labelIf(true, " + m[2] + ")"
						}
						lines[i] = m[1] + "'" + expr + "'"
						wrapped++
					}
				}
			}
			b = []byte(strings.Join(lines, "\n"))
		}
		out := filepath.Join(dir, path)
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		return os.WriteFile(out, b, 0o644)
	})
	require.NoError(t, err)
	return dir, wrapped
}

// TestMemberStrataCountedByClass checks that the stratifiers counted once
// per member class (race, ethnicity, language, sex, disability) give the
// report and member detail that counting them member by member gives, for
// every shipped measure (proportions, a ratio, an episode measure, crosses
// and stratifiers of some groups only), at one worker and several.
func TestMemberStrataCountedByClass(t *testing.T) {
	ctx := context.Background()
	byClass, err := measures.Load(nil)
	require.NoError(t, err)
	dir, wrapped := wrapMemberStrata(t)
	require.GreaterOrEqual(t, wrapped, 4*len(byClass), "each shipped measure has member strata")
	byMember, err := measures.LoadDir(dir, nil)
	require.NoError(t, err)
	for i, m := range byMember {
		for s := range m.StratifierIDs() {
			require.Empty(t, m.StratifierMember(s), "%s: wrapped stratifier %s still counted by class", m.ID(), m.StratifierIDs()[s])
		}
		require.NotEmpty(t, byClass[i].StratifierMember(0)+byClass[i].StratifierMember(1), "%s counts nothing by class", m.ID())
	}

	tab, err := synth.GenerateArrow(synth.Config{Members: 3000, Seed: 5, Year: 2025}, nil, 0)
	require.NoError(t, err)
	defer tab.Release()
	mr, er, vr, err := tab.Readers()
	require.NoError(t, err)
	defer mr.Release()
	defer er.Release()
	defer vr.Release()
	data, err := eval.FromArrow(ctx, mr, er, vr)
	require.NoError(t, err)

	run := func(ms []*dsl.Measure, workers int) (string, string) {
		res, err := eval.Evaluate(ctx, data, ms, eval.WithWorkers(workers), eval.WithMemberDetail())
		require.NoError(t, err)
		rep, err := json.Marshal(res.Report)
		require.NoError(t, err)
		var members bytes.Buffer
		require.NoError(t, res.WriteMembersCSV(&members))
		return string(rep), members.String()
	}
	for _, workers := range []int{1, 3} {
		wantReport, wantMembers := run(byMember, workers)
		gotReport, gotMembers := run(byClass, workers)
		assert.JSONEq(t, wantReport, gotReport, "workers=%d", workers)
		assert.Equal(t, wantMembers, gotMembers, "workers=%d", workers)
	}
}
