package eval_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caremetrics/caremetrics/dsl"
	"github.com/caremetrics/caremetrics/eval"
	"github.com/caremetrics/caremetrics/internal/synth"
	"github.com/caremetrics/caremetrics/measures"
	"github.com/caremetrics/caremetrics/metric"
)

// shardCohort writes a synthetic cohort of n members as CSV and Parquet
// into dir/csv and dir/parquet. The CSV copy gets a second events file
// with other columns (an extra one, optional ones left out) holding rows
// of members that are not in the members table, so that partitioning must
// keep several schemas apart and carry set-aside rows along.
func shardCohort(t *testing.T, n int) (csvDir, parquetDir string) {
	t.Helper()
	dir := t.TempDir()
	cfg := synth.Config{Members: n, Seed: 1, Year: 2025}
	csvDir, parquetDir = filepath.Join(dir, "csv"), filepath.Join(dir, "parquet")
	_, err := synth.WriteDir(cfg, csvDir, []string{synth.CSV}, 0)
	require.NoError(t, err)
	_, err = synth.WriteDir(cfg, parquetDir, []string{synth.Parquet}, 4096)
	require.NoError(t, err)
	var b strings.Builder
	b.WriteString("member_id,date,system,code,note\n")
	for i := range 40 {
		fmt.Fprintf(&b, "X%04d,2025-03-%02d,CPT,99213,orphan %d\n", i, 1+i%28, i)
		fmt.Fprintf(&b, "M%07d,2025-04-%02d,CPT,99213,\n", 1+i*97, 1+i%28)
	}
	require.NoError(t, os.WriteFile(filepath.Join(csvDir, "events-extra.csv"), []byte(b.String()), 0o644))
	return csvDir, parquetDir
}

func reportJSON(t *testing.T, r *metric.Report) []byte {
	t.Helper()
	b, err := json.MarshalIndent(r, "", " ")
	require.NoError(t, err)
	return b
}

// countStrata returns the number of strata in r, to make sure the
// comparison covers some.
func countStrata(r *metric.Report) int {
	n := 0
	for _, m := range r.Measures {
		for _, g := range m.Groups {
			for _, s := range g.Stratifiers {
				n += len(s.Strata)
			}
		}
	}
	return n
}

func tableRows(files []eval.FileCount) map[string]int64 {
	out := map[string]int64{}
	for _, f := range files {
		out[f.Table] += f.Rows
	}
	return out
}

// TestPartitionMergeEqualsWhole partitions a cohort into 1, 3 and 7 shards,
// from CSV and from Parquet, and checks that merging the shards' reports
// gives the whole cohort's report byte for byte (every group and stratum,
// and the warnings), that the shards partition the rows, and that every
// member is in exactly its hash shard.
func TestPartitionMergeEqualsWhole(t *testing.T) {
	ctx := context.Background()
	ms, err := measures.Load(nil)
	require.NoError(t, err)
	csvDir, parquetDir := shardCohort(t, shardTestMembers)
	for _, in := range []struct {
		name, dir string
		opts      []eval.PartitionOption
		shards    []int
	}{
		{"csv", csvDir, nil, []int{1, 3, 7}},
		{"parquet", parquetDir, nil, []int{1, 3, 7}},
		{"parquet-to-arrow", parquetDir, []eval.PartitionOption{eval.WithShardFormat("arrow"), eval.WithShardRows(1000)}, []int{3}},
	} {
		whole, err := eval.LoadDir(ctx, in.dir)
		require.NoError(t, err)
		wholeRes, err := eval.Evaluate(ctx, whole, ms)
		require.NoError(t, err)
		want := reportJSON(t, wholeRes.Report)
		require.Greater(t, countStrata(wholeRes.Report), 50)
		if in.name == "csv" {
			require.Len(t, whole.Reconciliation.SetAside, 1, "the orphan events are set aside")
		}
		wantIDs := make([]string, len(whole.Members))
		for i, m := range whole.Members {
			wantIDs[i] = m.ID
		}

		for _, n := range in.shards {
			t.Run(fmt.Sprintf("%s/shards=%d", in.name, n), func(t *testing.T) {
				out := filepath.Join(t.TempDir(), "shards")
				part, err := eval.PartitionDir(ctx, in.dir, out, n, in.opts...)
				require.NoError(t, err)
				require.Len(t, part.Shards, n)
				dirs, err := eval.ShardDirs(out)
				require.NoError(t, err)
				require.Equal(t, part.Dirs(), dirs)

				// Rows written per table add up to the rows read.
				read := tableRows(part.Inputs)
				assert.Equal(t, tableRows(whole.Reconciliation.Files), read)
				var written [3]int64
				for _, s := range part.Shards {
					written[0] += s.Members
					written[1] += s.Enrollment
					written[2] += s.Events
				}
				assert.Equal(t, [3]int64{read["members"], read["enrollment"], read["events"]}, written)

				// Merging the shards' reports by hand gives the whole.
				var merged metric.Report
				var ids []string
				var loaded []eval.FileCount
				var events, spans int
				got, err := eval.EvaluateShards(ctx, dirs, ms, eval.WithShardEval(eval.WithWorkers(2)),
					eval.WithShardDone(func(d eval.ShardDone) error {
						assert.Equal(t, dirs[d.Index], d.Dir)
						for _, m := range d.Data.Members {
							assert.Equal(t, d.Index, eval.ShardOf(m.ID, n), m.ID)
							ids = append(ids, m.ID)
						}
						loaded = append(loaded, d.Data.Reconciliation.Files...)
						events += len(d.Data.Events)
						spans += len(d.Data.Spans)
						return merged.Merge(d.Result.Report)
					}))
				require.NoError(t, err)

				// Every member is in exactly one shard; the shards' files
				// hold every row, and the same rows are used.
				slices.Sort(ids)
				assert.Equal(t, wantIDs, ids)
				assert.Equal(t, read, tableRows(loaded))
				assert.Equal(t, len(whole.Events), events)
				assert.Equal(t, len(whole.Spans), spans)

				assert.Equal(t, string(want), string(reportJSON(t, got)), "EvaluateShards differs from the whole")
				wantMeasures, _ := json.Marshal(wholeRes.Report.Measures)
				gotMeasures, _ := json.Marshal(merged.Measures)
				assert.Equal(t, string(wantMeasures), string(gotMeasures), "metric.Report.Merge of the shards differs from the whole")
			})
		}
	}
}

// TestPartitionDeterministic partitions the same input twice and expects
// byte-identical shard files.
func TestPartitionDeterministic(t *testing.T) {
	ctx := context.Background()
	csvDir, parquetDir := shardCohort(t, shardTestMembers/4)
	for _, in := range []string{csvDir, parquetDir} {
		a, b := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
		pa, err := eval.PartitionDir(ctx, in, a, 4, eval.WithShardRows(500))
		require.NoError(t, err)
		_, err = eval.PartitionDir(ctx, in, b, 4, eval.WithShardRows(500))
		require.NoError(t, err)
		files := 0
		for _, s := range pa.Shards {
			for _, f := range s.Files {
				x, err := os.ReadFile(filepath.Join(s.Dir, f))
				require.NoError(t, err)
				y, err := os.ReadFile(filepath.Join(b, filepath.Base(s.Dir), f))
				require.NoError(t, err)
				assert.True(t, bytes.Equal(x, y), "%s/%s differs between runs", filepath.Base(s.Dir), f)
				files++
			}
		}
		assert.Greater(t, files, 4*3-1)
		ma, err := os.ReadFile(filepath.Join(a, eval.ManifestName))
		require.NoError(t, err)
		mb, err := os.ReadFile(filepath.Join(b, eval.ManifestName))
		require.NoError(t, err)
		assert.Equal(t, string(ma), string(mb))
	}
}

func TestShardOf(t *testing.T) {
	// FNV-1a 64 of "M0000001" is fixed; the value pins the function so
	// that shards written by one version are read alike by the next.
	assert.Equal(t, 0, eval.ShardOf("M0000001", 1))
	counts := make([]int, 7)
	for i := range 7000 {
		counts[eval.ShardOf(fmt.Sprintf("M%07d", i), 7)]++
	}
	for s, c := range counts {
		assert.InDelta(t, 1000, c, 150, "shard %d", s)
	}
}

func TestPartitionErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
		return p
	}
	members := write("members.csv", "member_id,birth_date\nM1,2000-01-01\nM2,2000-01-01\n")
	events := write("events.csv", "member_id,date,system,code\nM1,2025-01-01,CPT,99213\n ,2025-01-02,CPT,99213\n")
	out := filepath.Join(t.TempDir(), "out")
	_, err := eval.Partition(ctx, eval.Files{Members: []string{members}, Events: []string{events}}, out, 2)
	var de *eval.DataError
	require.True(t, errors.As(err, &de), "%v", err)
	assert.Equal(t, events, de.File)
	assert.Equal(t, int64(2), de.Row)
	assert.Equal(t, "member_id", de.Column)
	assert.Equal(t, events+": row 2: column member_id: null value in required column", err.Error())
	_, err = os.Stat(filepath.Join(out, "shard-0000"))
	assert.True(t, os.IsNotExist(err), "shards are removed on error")

	noID := write("enrollment.csv", "start_date,end_date\n")
	_, err = eval.Partition(ctx, eval.Files{Members: []string{members}, Enrollment: []string{noID}}, out, 2)
	assert.EqualError(t, err, noID+": column member_id: missing required column")

	_, err = eval.Partition(ctx, eval.Files{Members: []string{write("members.txt", "")}}, out, 2)
	assert.ErrorContains(t, err, "unsupported file extension")

	// The input's own bytes are checked as the loader checks them, so that
	// the error names the input, not a shard written from it.
	for _, tc := range []struct{ name, text, want string }{
		{"utf16", "\xff\xfem\x00e\x00", ": UTF-16 text: want UTF-8"},
		{"bad bytes", "member_id,date,system,code\nM1,2025-01-01,CVX,0\xff3\n", ": row 1: column code: invalid UTF-8 \"0\\xff3\""},
		{"long id", "member_id,date,system,code\nM1,2025-01-01,CVX,03\n" + strings.Repeat("M", 5000) + ",2025-01-01,CVX,03\n", ": row 2: column member_id: a member id of 5000 bytes (at most 4096)"},
		{"bad header", "member_id,da\xffte\n", `: column name "da\xffte": invalid UTF-8`},
	} {
		bad := write(tc.name+".csv", tc.text)
		_, err = eval.Partition(ctx, eval.Files{Members: []string{members}, Events: []string{bad}}, out, 2)
		assert.EqualError(t, err, bad+tc.want, tc.name)
	}

	_, err = eval.Partition(ctx, eval.Files{Members: []string{members}}, out, 0)
	assert.ErrorContains(t, err, "0 shards")

	// Members only: enrollment and events may be absent, as for LoadFiles.
	p, err := eval.Partition(ctx, eval.Files{Members: []string{members}}, out, 2)
	require.NoError(t, err)
	assert.Equal(t, int64(2), p.Shards[0].Members+p.Shards[1].Members)
	_, err = eval.Partition(ctx, eval.Files{Members: []string{members}}, out, 2)
	assert.ErrorContains(t, err, "not empty")
	m, err := dsl.Compile("m.yaml", []byte(`
id: m
title: M
period: {start: 2025-01-01, end: 2025-12-31}
groups:
  all:
    initial_population: "true"
    denominator: "true"
    numerator: "false"
`), nil)
	require.NoError(t, err)
	rep, err := eval.EvaluateShards(ctx, p.Dirs(), []*dsl.Measure{m})
	require.NoError(t, err)
	assert.Equal(t, int64(2), rep.Measures[0].Groups[0].InitialPopulation)

	_, err = eval.EvaluateShards(ctx, nil, []*dsl.Measure{m})
	assert.Error(t, err)
}
