package dsl

import (
	"math"

	"github.com/expr-lang/expr/ast"
)

// Predicates let a measure reason about each event of a set in turn, as
// encounter-anchored eCQMs do ("the most recent screening up to 14 days
// before the start of a qualifying encounter"):
//
//	any(encounters, {exists(between(screens, #.date - 14, #.date))})
//
// # is the current event; #.date, #.end (the date when absent) and #.value
// are its fields. let binds a name inside an expression.

// predicateBuiltins are the expr built-ins measures may use; all others
// stay disabled.
var predicateBuiltins = []string{"any", "all", "none", "one", "filter", "count"}

type letVar struct {
	name string
	get  compiled
}

func (c *checker) builtin(n *ast.BuiltinNode) compiled {
	if len(n.Arguments) != 2 {
		return c.errAt(n, ErrUnsupported, "%s needs a set of events and a predicate", n.Name)
	}
	set := c.flow(n.Arguments[0])
	if !set.ok() {
		return set
	}
	if n.Name != "filter" {
		c.consume(set) // filter's kept rows pass on, each on its own
	}
	if set.k != kEvents {
		return c.errAt(n.Arguments[0], ErrType, "%s works on Events, not %s", n.Name, set.k)
	}
	pn, ok := n.Arguments[1].(*ast.PredicateNode)
	if !ok {
		return c.errAt(n.Arguments[1], ErrUnsupported, "%s needs a predicate in braces", n.Name)
	}
	c.depth++
	body := c.compile(pn.Node)
	c.depth--
	if !body.ok() {
		return body
	}
	if body.k != kBool {
		return c.errAt(pn, ErrType, "a predicate must be bool, not %s", body.k)
	}
	depth := c.depth
	events, pred := set.e, body.b
	// each runs pred with event i as # at this nesting depth.
	// It is false once the evaluation has failed or been stopped.
	each := func(r *Runner, i int32) bool {
		if !r.tick(1) {
			return false
		}
		r.cur = append(r.cur[:depth], i)
		ok := pred(r)
		r.cur = r.cur[:depth]
		return ok
	}
	switch n.Name {
	case "any":
		return compiled{k: kBool, b: func(r *Runner) bool {
			for _, i := range events(r) {
				if each(r, i) {
					return true
				}
			}
			return false
		}}
	case "all":
		return compiled{k: kBool, b: func(r *Runner) bool {
			for _, i := range events(r) {
				if !each(r, i) {
					return false
				}
			}
			return true
		}}
	case "none":
		return compiled{k: kBool, b: func(r *Runner) bool {
			for _, i := range events(r) {
				if each(r, i) {
					return false
				}
			}
			return true
		}}
	case "one":
		return compiled{k: kBool, b: func(r *Runner) bool {
			n := 0
			for _, i := range events(r) {
				if each(r, i) {
					n++
				}
			}
			return n == 1
		}}
	case "count":
		return compiled{k: kInt, i: func(r *Runner) int64 {
			n := int64(0)
			for _, i := range events(r) {
				if each(r, i) {
					n++
				}
			}
			return n
		}}
	case "filter":
		return compiled{k: kEvents, rows: set.rows, e: func(r *Runner) evset {
			p := events(r)
			// The predicate may build sets of its own in the arena, so
			// collect the kept indexes first and copy them after.
			var keep []int32
			for _, i := range p {
				if each(r, i) {
					keep = append(keep, i)
				}
			}
			start := len(r.arena)
			r.arena = append(r.arena, keep...)
			return r.endSet(start)
		}}
	}
	return c.errAt(n, ErrUnsupported, "%s is not supported in measure expressions", n.Name)
}

// member compiles #.date, #.end and #.value.
func (c *checker) member(n *ast.MemberNode) compiled {
	ptr, ok := n.Node.(*ast.PointerNode)
	prop, ok2 := n.Property.(*ast.StringNode)
	if !ok || !ok2 || ptr.Name != "" || c.depth == 0 {
		return c.errAt(n, ErrUnsupported, "field access is supported only on # inside a predicate (#.date, #.end, #.value)")
	}
	level := c.depth - 1
	switch prop.Value {
	case "date":
		return compiled{k: kInt, i: func(r *Runner) int64 { return int64(r.events[r.cur[level]].Date) }}
	case "end":
		c.m.columns |= ColumnEndDate
		return compiled{k: kInt, i: func(r *Runner) int64 { return int64(endOf(&r.events[r.cur[level]])) }}
	case "value":
		c.m.columns |= ColumnValue
		return compiled{k: kFloat, f: func(r *Runner) float64 {
			v := r.events[r.cur[level]].Value
			if math.IsNaN(v) {
				return math.NaN()
			}
			return v
		}}
	}
	return c.errAt(n.Property, ErrUnknownName, "events have no field %s (want date, end or value)", prop.Value)
}

// let compiles "let x = value; expr": value is computed once where the let
// stands and read wherever x appears in expr.
func (c *checker) let(n *ast.VariableDeclaratorNode) compiled {
	// The value's rows are read where x is.
	val := c.flow(n.Value)
	if !val.ok() {
		return val
	}
	slot := c.m.nslots
	c.m.nslots++
	get := compiled{k: val.k, rows: val.rows, days: val.days}
	var set func(*Runner)
	switch val.k {
	case kBool:
		set, get.b = bind(slot, val.b, func(r *Runner) []bool { return r.bools })
	case kInt:
		set, get.i = bind(slot, val.i, func(r *Runner) []int64 { return r.ints })
	case kFloat:
		set, get.f = bind(slot, val.f, func(r *Runner) []float64 { return r.floats })
	case kString:
		set, get.s = bind(slot, val.s, func(r *Runner) []string { return r.strs })
	case kEvents:
		set, get.e = bind(slot, val.e, func(r *Runner) []evset { return r.evs })
	case kList:
		set, get.l = bind(slot, val.l, func(r *Runner) [][]string { return r.lists })
	}
	c.lets = append(c.lets, letVar{name: n.Name, get: get})
	body := c.flow(n.Expr)
	c.lets = c.lets[:len(c.lets)-1]
	if !body.ok() {
		return body
	}
	out := compiled{k: body.k, rows: body.rows, days: body.days}
	switch body.k {
	case kBool:
		out.b = then(set, body.b)
	case kInt:
		out.i = then(set, body.i)
	case kFloat:
		out.f = then(set, body.f)
	case kString:
		out.s = then(set, body.s)
	case kEvents:
		out.e = then(set, body.e)
	case kList:
		out.l = then(set, body.l)
	}
	return out
}

// bind returns the closures that store f's value in slot and read it back.
func bind[T any](slot int, f func(*Runner) T, slots func(*Runner) []T) (func(*Runner), func(*Runner) T) {
	return func(r *Runner) { slots(r)[slot] = f(r) }, func(r *Runner) T { return slots(r)[slot] }
}

func then[T any](first func(*Runner), f func(*Runner) T) func(*Runner) T {
	return func(r *Runner) T {
		first(r)
		return f(r)
	}
}
