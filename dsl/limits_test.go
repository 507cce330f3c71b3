package dsl

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func limitsMeasure(defines string) string {
	return "id: t\ntitle: T\nperiod: {start: 2025-01-01, end: 2025-12-31}\nvaluesets: [vs.yaml]\ndefine:\n" + defines +
		"groups:\n  g: {initial_population: \"true\", denominator: \"true\", numerator: v}\n"
}

// TestLimitsAtCompile rejects an oversized expression and an overlong
// chain of defines, and accepts them under raised limits.
func TestLimitsAtCompile(t *testing.T) {
	big := "  v: " + strings.TrimSuffix(strings.Repeat("true && ", 1200), " && ") + "\n"
	var chain strings.Builder
	chain.WriteString("  d0: \"true\"\n")
	for i := 1; i <= 250; i++ {
		fmt.Fprintf(&chain, "  d%d: d%d\n", i, i-1)
	}
	chain.WriteString("  v: d250\n")
	for _, tc := range []struct {
		name, defines string
		raised        Limits
		want          string
	}{
		{"expression size", big, Limits{MaxNodes: 10000}, "t.yaml:6:6: define.v: expression has more than 2000 nodes (dsl.Limits.MaxNodes)"},
		{"define depth", chain.String(), Limits{MaxDefineDepth: 300}, "define d200 sits on a chain of 201 defines, more than 200 (dsl.Limits.MaxDefineDepth)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile("t.yaml", []byte(limitsMeasure(tc.defines)), testFS())
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			_, err = Compile("t.yaml", []byte(limitsMeasure(tc.defines)), testFS(), WithLimits(tc.raised))
			assert.NoError(t, err)
		})
	}
}

// TestLimitsAtRun fails a member whose sets outgrow the memory budget,
// and stops an evaluation whose context is done, naming measure and
// member.
func TestLimitsAtRun(t *testing.T) {
	f := newFixture()
	for i := range 600 {
		f.ev(fmt.Sprintf("2025-%02d-%02d CPT 99213 claim=c%d", 1+i%12, 1+i%28, i))
	}
	src := limitsMeasure(`  visits: events("Visit")
  copied: except(visits, sameClaim(visits, code("ICD10CM", "F329")))
  v: |
    countEvents(copied) > 0 && any(visits, {count(visits, {#.date > 0}) > 1000})
`)
	t.Run("memory", func(t *testing.T) {
		m, err := Compile("t.yaml", []byte(src), testFS(), WithLimits(Limits{MaxSetElements: 100}))
		require.NoError(t, err)
		_, err = runFixture(t, m, f)
		var re *RuntimeError
		require.ErrorAs(t, err, &re)
		assert.Equal(t, "t", re.Measure)
		assert.Equal(t, "m1", re.Member)
		assert.Contains(t, re.Msg, "memory budget of 100 set elements")
	})
	t.Run("context", func(t *testing.T) {
		m, err := Compile("t.yaml", []byte(src), testFS())
		require.NoError(t, err)
		c := &Cohort{}
		for _, sc := range f.codes {
			c.Systems, c.Codes = append(c.Systems, sc[0]), append(c.Codes, sc[1])
		}
		b, _, err := m.Bind(c)
		require.NoError(t, err)
		r := b.NewRunner(RaceAloneOrInCombination)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		r.SetContext(ctx)
		err = r.Run(m.Period(), 0, &f.member, f.events, f.spans)
		require.Error(t, err)
		assert.True(t, errors.Is(err, context.Canceled), "%v", err)
		assert.Contains(t, err.Error(), "measure t, member m1: evaluation stopped: context canceled")
	})
}
