package eval_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caremetrics/caremetrics/dsl"
	"github.com/caremetrics/caremetrics/eval"
	"github.com/caremetrics/caremetrics/measures"
)

// Loading only what the measures need must not change any result.
func TestRequirementsPruneWithoutChangingResults(t *testing.T) {
	ctx := context.Background()
	ms, err := measures.Load(nil)
	require.NoError(t, err)
	full, err := eval.LoadDir(ctx, "../testdata/sample")
	require.NoError(t, err)
	pruned, err := eval.LoadDir(ctx, "../testdata/sample", eval.WithRequirements(dsl.RequirementsOf(ms...)))
	require.NoError(t, err)
	// Rows of no value set, rows dated outside the measures' windows, and
	// rows that claim scopes rule out (ed_util's diagnoses off ED claims,
	// among others).
	require.Len(t, pruned.Reconciliation.Unneeded, 3)
	var unneeded int64
	for _, u := range pruned.Reconciliation.Unneeded {
		assert.Greater(t, u.Rows, int64(0), u.Reason)
		unneeded += u.Rows
	}
	assert.Equal(t, int64(len(full.Events)), int64(len(pruned.Events))+unneeded, "every row is kept or counted")

	a, err := eval.Evaluate(ctx, full, ms, eval.WithMemberDetail())
	require.NoError(t, err)
	b, err := eval.Evaluate(ctx, pruned, ms, eval.WithMemberDetail())
	require.NoError(t, err)
	ja, _ := json.Marshal(a.Report)
	jb, _ := json.Marshal(b.Report)
	assert.JSONEq(t, string(ja), string(jb))

	// Data loaded for dental alone cannot evaluate cis.
	dental, err := measures.Load([]string{"dental"})
	require.NoError(t, err)
	small, err := eval.LoadDir(ctx, "../testdata/sample", eval.WithRequirements(dsl.RequirementsOf(dental...)))
	require.NoError(t, err)
	_, err = eval.Evaluate(ctx, small, ms)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "which the data was not loaded for")
	_, err = eval.Evaluate(ctx, small, dental)
	require.NoError(t, err)
}
