package eval

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caremetrics/caremetrics/dsl"
	"github.com/caremetrics/caremetrics/metric"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestExplainAgreesWithEvaluate checks, member by member, that the
// populations an explanation reports counted are those Evaluate counted,
// and that an episode measure explains each episode.
func TestExplainAgreesWithEvaluate(t *testing.T) {
	ms := append([]*dsl.Measure{compileEngineMeasure(t)}, compileShapes(t)...)
	data := synthetic(300, 5)
	res, err := Evaluate(context.Background(), data, ms, WithMemberDetail())
	require.NoError(t, err)
	want := map[[3]string]metric.Counts{}
	res.Members(func(row MemberRow) bool {
		want[[3]string{row.MemberID, row.Measure, row.Group}] = row.Counts
		return true
	})
	for i := range data.Members {
		id := data.Members[i].ID
		traces, err := Explain(context.Background(), data, ms, id)
		require.NoError(t, err)
		got := map[[3]string]metric.Counts{}
		for _, tr := range traces {
			require.Equal(t, id, tr.Member)
			for _, g := range tr.Groups {
				k := [3]string{id, tr.Measure, g.ID}
				c := got[k]
				var ms metric.Membership
				var den, num int64
				for _, p := range g.Populations {
					if p.Counted {
						ms = ms.With(p.Population)
					}
					if p.Value != nil && p.Population == metric.Denominator {
						den = *p.Value
					}
					if p.Value != nil && p.Population == metric.Numerator {
						num = *p.Value
					}
				}
				if tr.Measure == "rate" {
					c.AddRatio(ms, den, num)
				} else {
					c.Add(ms)
				}
				got[k] = c
			}
		}
		for k, c := range got {
			assert.Equal(t, want[k], c, "%v", k)
		}
		for k, c := range want {
			if k[0] == id {
				assert.Equal(t, c, got[k], "%v", k)
			}
		}
	}
	_, err = Explain(context.Background(), data, ms, "nobody")
	assert.ErrorContains(t, err, `no member "nobody"`)
}

// TestExplainGolden pins the text and JSON of one member's explanation.
// Run with -update to rewrite the goldens, then review the diff.
func TestExplainGolden(t *testing.T) {
	ms := append([]*dsl.Measure{compileEngineMeasure(t)}, compileShapes(t)...)
	data := synthetic(50, 3)
	// The member with the most events (the first of them), for a full trace.
	var id string
	most := -1
	for i := range data.Members {
		if n := len(data.MemberEvents(i)); n > most {
			id, most = data.Members[i].ID, n
		}
	}
	traces, err := Explain(context.Background(), data, ms, id)
	require.NoError(t, err)
	var text bytes.Buffer
	for _, tr := range traces {
		require.NoError(t, tr.WriteText(&text))
		text.WriteString("\n")
	}
	js, err := json.MarshalIndent(traces, "", "  ")
	require.NoError(t, err)
	for name, got := range map[string][]byte{"explain.txt": text.Bytes(), "explain.json": append(js, '\n')} {
		path := filepath.Join("..", "testdata", "golden", name)
		if *update {
			require.NoError(t, os.WriteFile(path, got, 0o644))
		}
		want, err := os.ReadFile(path)
		require.NoError(t, err)
		assert.Equal(t, string(want), string(got), name)
	}
}
