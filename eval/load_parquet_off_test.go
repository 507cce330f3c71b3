//go:build !parquet

package eval

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParquetNotBuilt(t *testing.T) {
	_, err := LoadFiles(context.Background(), Files{Members: []string{"members.parquet"}})
	assert.EqualError(t, err, "members.parquet: Parquet support is not built in (build with -tags parquet)")
}
