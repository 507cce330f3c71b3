package eval

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caremetrics/caremetrics/dsl"
)

// TestReconciliationAddsUp loads the sample cohort whole and for one
// measure's requirements, and checks that every row read is used, set
// aside or not needed, table by table.
func TestReconciliationAddsUp(t *testing.T) {
	dir := filepath.Join("..", "testdata", "sample")
	m := compileEngineMeasure(t)
	for _, opts := range [][]LoadOption{nil, {WithRequirements(dsl.RequirementsOf(m))}} {
		d, err := LoadDir(context.Background(), dir, opts...)
		require.NoError(t, err)
		rec := d.Reconciliation
		require.NoError(t, rec.Check())
		read := map[string]int64{}
		for _, f := range rec.Files {
			read[f.Table] += f.Rows
		}
		assert.Equal(t, int64(3000), read["members"])
		used := map[string]int64{}
		for _, u := range rec.Used {
			used[u.Table] = u.Rows
		}
		assert.Equal(t, int64(len(d.Members)), used["members"])
		assert.Equal(t, int64(len(d.Events)), used["events"])
		if opts == nil {
			assert.Equal(t, read["events"], used["events"], "everything kept")
			assert.Empty(t, rec.Unneeded)
		} else {
			assert.Less(t, used["events"], read["events"], "rows of no value set are not kept")
			assert.NotEmpty(t, rec.Unneeded)
		}

		// A row lost on the way is caught.
		rec.Used = append(rec.Used[:0:0], rec.Used...)
		rec.Used[2].Rows--
		assert.ErrorContains(t, rec.Check(), "events: ")
	}
}
