package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caremetrics/caremetrics/eval"
	"github.com/caremetrics/caremetrics/measures"
)

// TestShardRunsEqualWhole partitions the bundled sample, evaluates all
// shards, then two halves merged by hand, and compares both rates.csv
// with the rates of the whole sample.
func TestShardRunsEqualWhole(t *testing.T) {
	ctx := context.Background()
	data := filepath.Join("..", "..", "testdata", "sample")
	tmp := t.TempDir()
	shards := filepath.Join(tmp, "shards")
	require.NoError(t, run(ctx, config{data: data, out: shards, shards: 4, format: "parquet", rows: 1000, evaluate: true, list: "all"}))

	whole, err := eval.LoadDir(ctx, data)
	require.NoError(t, err)
	ms, err := measures.Load(nil)
	require.NoError(t, err)
	res, err := eval.Evaluate(ctx, whole, ms)
	require.NoError(t, err)
	wantPath := filepath.Join(tmp, "whole.csv")
	f, err := os.Create(wantPath)
	require.NoError(t, err)
	require.NoError(t, res.Report.WriteRatesCSV(f))
	require.NoError(t, f.Close())
	want := readFile(t, wantPath)

	assert.Equal(t, want, readFile(t, filepath.Join(shards, "rates.csv")))

	a, b, ab := filepath.Join(tmp, "a"), filepath.Join(tmp, "b"), filepath.Join(tmp, "ab")
	require.NoError(t, run(ctx, config{out: shards, results: a, evaluate: true, only: "0-1", list: "all"}))
	require.NoError(t, run(ctx, config{out: shards, results: b, evaluate: true, only: "2-3", list: "all"}))
	require.NoError(t, run(ctx, config{merge: filepath.Join(a, "report.json") + "," + filepath.Join(b, "report.json"), results: ab}))
	assert.Equal(t, want, readFile(t, filepath.Join(ab, "rates.csv")))
}

func TestRunRejectsBadFlags(t *testing.T) {
	ctx := context.Background()
	assert.ErrorContains(t, run(ctx, config{}), "-out and one of -data or -evaluate are required")
	out := t.TempDir()
	require.NoError(t, run(ctx, config{data: filepath.Join("..", "..", "testdata", "sample"), out: filepath.Join(out, "s"), shards: 2, format: "parquet", rows: 1000}))
	assert.ErrorContains(t, run(ctx, config{out: filepath.Join(out, "s"), evaluate: true, only: "1-2", list: "all"}), "-only \"1-2\"")
	assert.ErrorContains(t, run(ctx, config{out: out, evaluate: true, list: "all"}), "is not a partition")
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	require.NoError(t, err)
	return string(b)
}
