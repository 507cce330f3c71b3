//go:build race

package eval

// Under the race detector, which slows evaluation several times, the
// cancellation test runs on fewer members and allows more time.
const (
	cancelTestMembers = 100_000
	cancelTestLatency = 1000 // ms
)
