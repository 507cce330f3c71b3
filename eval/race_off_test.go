//go:build !race

package eval

// The cancellation test's cohort and the latency it allows, as issue 7
// asks: a cancelled evaluation stops within 100 ms on 1M members.
const (
	cancelTestMembers = 1_000_000
	cancelTestLatency = 100 // ms
)
