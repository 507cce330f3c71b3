//go:build !race

package eval_test

// shardTestMembers is the size of the cohort of the shard tests.
const shardTestMembers = 5000
