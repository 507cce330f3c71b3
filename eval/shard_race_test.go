//go:build race

package eval_test

// shardTestMembers is the size of the cohort of the shard tests; smaller
// under the race detector, which slows Parquet encoding tenfold.
const shardTestMembers = 1000
