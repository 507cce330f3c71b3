package dsl

import (
	"context"
	"fmt"
)

// Limits bound what one measure may cost, for measure files from
// untrusted hands: an expression's size and the chain of defines at
// compile time, and the memory of one member's evaluation at run time.
// Time is bounded by the context given to the runners (Runner.SetContext):
// a measure still running when it is done stops with an error naming the
// measure and member. Zero fields take the defaults.
type Limits struct {
	// MaxNodes caps the syntax-tree nodes of one expression (expr's node
	// budget). Default 2,000: the largest shipped expression has about
	// 150.
	MaxNodes int
	// MaxDefineDepth caps the longest chain of defines using defines.
	// Default 200.
	MaxDefineDepth int
	// MaxSetElements caps the event indexes one member's evaluation of one
	// measure may hold in its sets at once (4 bytes each). Default 16M
	// (64 MiB).
	MaxSetElements int
}

// The default limits.
const (
	DefaultMaxNodes       = 2000
	DefaultMaxDefineDepth = 200
	DefaultMaxSetElements = 16 << 20
)

func (l Limits) withDefaults() Limits {
	if l.MaxNodes <= 0 {
		l.MaxNodes = DefaultMaxNodes
	}
	if l.MaxDefineDepth <= 0 {
		l.MaxDefineDepth = DefaultMaxDefineDepth
	}
	if l.MaxSetElements <= 0 {
		l.MaxSetElements = DefaultMaxSetElements
	}
	return l
}

// WithLimits sets the limits of compilation and evaluation.
func WithLimits(l Limits) Option { return func(o *options) { o.limits = l } }

// checkEvery is the work (events visited) between two looks at the
// context: rare enough to cost nothing, often enough to stop within
// milliseconds.
const checkEvery = 1 << 16

// SetContext makes the runner stop when ctx is done: the member's Run
// then fails with an error naming the measure and member, and wrapping
// ctx.Err().
func (r *Runner) SetContext(ctx context.Context) { r.ctx = ctx }

// SetContext sets the context of every runner (see Runner.SetContext).
func (rs *Runners) SetContext(ctx context.Context) {
	for _, r := range rs.runners {
		r.ctx = ctx
	}
}

// tick counts n units of work and, every checkEvery, looks at the
// context. It reports whether the evaluation should go on.
func (r *Runner) tick(n int) bool {
	r.steps += n
	if r.steps < checkEvery {
		return r.err == nil
	}
	r.steps = 0
	if r.ctx != nil {
		if err := r.ctx.Err(); err != nil && r.err == nil {
			r.err = &RuntimeError{Measure: r.b.m.id, Member: r.member.ID, Pos: Pos{File: r.b.m.file},
				Msg: fmt.Sprintf("evaluation stopped: %v", err), Err: err}
		}
	}
	return r.err == nil
}

// overBudget fails the member's evaluation when its sets outgrow the
// measure's memory budget.
func (r *Runner) overBudget() bool {
	if len(r.arena) <= r.b.m.limits.MaxSetElements {
		return false
	}
	r.fail(Pos{File: r.b.m.file}, fmt.Sprintf("exceeded the memory budget of %d set elements for one member (dsl.Limits.MaxSetElements)", r.b.m.limits.MaxSetElements))
	return true
}
