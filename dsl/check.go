package dsl

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	exprchecker "github.com/expr-lang/expr/checker"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"go.yaml.in/yaml/v3"

	"github.com/caremetrics/caremetrics/metric"
)

// Expressions are parsed and type-checked by expr, then compiled here from
// expr's typed syntax tree into Go closures specialised by type. The
// closures never box values or allocate per event, and they can reach only
// the functions below: no file system, network, clock or reflection.

type kind uint8

const (
	kInvalid kind = iota
	kBool
	kInt
	kFloat
	kString
	kEvents
	kList
)

var kindNames = [...]string{"invalid", "bool", "int", "float", "string", "Events", "[]string"}

func (k kind) String() string { return kindNames[k] }

// Events is the type of event sets in expressions, for type checking and
// documentation: at run time a set is a list of the member's event
// indexes, and no EventRef is ever built.
type Events = []EventRef

// EventRef is one event as a predicate sees it: any(e, {#.date > x}).
type EventRef struct {
	// Date is the event's date (days); End its end date, or Date when
	// absent; Value its numeric value, or NaN.
	Date  int     `expr:"date"`
	End   int     `expr:"end"`
	Value float64 `expr:"value"`
}

var eventRefType = reflect.TypeOf(EventRef{})

var typeOfKind = map[kind]reflect.Type{
	kBool: reflect.TypeOf(false), kInt: reflect.TypeOf(0), kFloat: reflect.TypeOf(0.0),
	kString: reflect.TypeOf(""), kEvents: reflect.TypeOf(Events{}), kList: reflect.TypeOf([]string{}),
}

func kindOf(t reflect.Type) kind {
	if t == nil {
		return kInvalid
	}
	switch {
	case t.Kind() == reflect.Slice && t.Elem() == eventRefType:
		return kEvents
	case t == typeOfKind[kList]:
		return kList
	}
	switch t.Kind() {
	case reflect.Bool:
		return kBool
	case reflect.Int, reflect.Int64, reflect.Int32:
		return kInt
	case reflect.Float64, reflect.Float32:
		return kFloat
	case reflect.String:
		return kString
	}
	return kInvalid
}

type compiled struct {
	k kind
	b func(*Runner) bool
	i func(*Runner) int64
	f func(*Runner) float64
	s func(*Runner) string
	e func(*Runner) evset
	l func(*Runner) []string
	// codes is set when the value is a code set (see codeSet): the
	// union of these value sets and literal codes.
	codes []codeRef
	// rows are the code sets an Events value's rows can come from (see
	// claimscope.go).
	rows []rowItem
	// days bounds an int value computed from the period (datewindow.go).
	days dayRange
	// member names the value when it is one of the member's categories
	// alone (raceCategories(), category(name)), which gives a member the
	// same value in every measure; "" otherwise (see
	// Measure.StratifierMember).
	member string
}

func (c compiled) ok() bool { return c.k != kInvalid }

// asFloat widens an int closure to float.
func (c compiled) asFloat() func(*Runner) float64 {
	if c.k == kInt {
		i := c.i
		return func(r *Runner) float64 { return float64(i(r)) }
	}
	return c.f
}

// canonical member names and their kinds.
var memberNames = map[string]kind{
	"period_start": kInt, "period_end": kInt, "member_id": kString, "birth_date": kInt, "death_date": kInt,
	"sex": kString, "ethnicity": kString, "language": kString, "race": kList,
	"interpreter_needed": kBool, "disability": kBool,
}

var attrKinds = map[AttrKind]kind{AttrString: kString, AttrFloat: kFloat, AttrInt: kInt, AttrBool: kBool, AttrDate: kInt, AttrStrings: kList}

type checker struct {
	src     *source // the file of the expression being compiled
	m       *Measure
	vs      map[string]*ValueSet
	vsIndex map[*ValueSet]int
	attrs   map[string]AttrKind

	// predicate nesting and let variables in scope while compiling
	depth int
	lets  []letVar
	// defineValue is set while a define's expression is compiled: its
	// value as a whole is what Explain shows (see consumeShown).
	defineValue bool

	// the expression being compiled
	node *yaml.Node
	path string
	text string

	// envCfg holds the last expression environment, made when envKey
	// (the defines compiled and typed so far) was as now: it changes only
	// as defines compile, and making it was a third of what compiling a
	// measure allocated.
	envKey [2]int
	envCfg *conf.Config
}

// episodeNames are the current episode of an episode measure: the
// episode as a one-event set, and its dates.
var episodeNames = map[string]kind{"episode": kEvents, "episode_date": kInt, "episode_end": kInt}

func (c *checker) isBuiltinName(name string) bool {
	if _, ok := memberNames[name]; ok {
		return true
	}
	if _, ok := episodeNames[name]; ok {
		return true
	}
	if _, ok := c.attrs[name]; ok {
		return true
	}
	_, ok := functions[name]
	return ok
}

// compileDefines orders defines by dependency, reports cycles, and
// compiles each after those it uses.
func (c *checker) compileDefines() {
	byName := map[string]*define{}
	for _, d := range c.m.defines {
		byName[d.name] = d
		if strings.TrimSpace(d.src) == "" {
			d.file.errorf(d.node, d.path, ErrMissing, "empty expression")
			d.done = true
			continue
		}
		tree, err := parser.Parse(d.src)
		if err != nil {
			d.done = true
			outer := c.src
			c.src = d.file
			c.setExpr(d.node, d.path)
			c.exprError(err)
			c.src = outer
			continue
		}
		ast.Walk(&tree.Node, identVisitor(func(name string) {
			if !slices.Contains(d.deps, name) {
				d.deps = append(d.deps, name)
			}
		}))
	}
	var visit func(d *define, stack []*define)
	visit = func(d *define, stack []*define) {
		if d.done {
			return
		}
		if d.busy {
			i := slices.Index(stack, d)
			names := []string{}
			for _, x := range stack[i:] {
				names = append(names, x.name)
			}
			names = append(names, d.name)
			c.src.errs.Add(d.pos, d.path, ErrCycle, "defines depend on each other: %s", strings.Join(names, " -> "))
			for _, x := range stack[i:] {
				x.done = true
			}
			return
		}
		d.busy = true
		for _, dep := range d.deps {
			if e, ok := byName[dep]; ok {
				visit(e, append(stack, d))
				d.episodic = d.episodic || e.episodic
				d.depth = max(d.depth, e.depth+1)
			}
			if _, ok := episodeNames[dep]; ok {
				d.episodic = true
			}
		}
		d.busy = false
		if d.done {
			return
		}
		if d.depth >= c.m.limits.MaxDefineDepth {
			c.src.errs.Add(d.pos, d.path, ErrLimit, "define %s sits on a chain of %d defines, more than %d (dsl.Limits.MaxDefineDepth)", d.name, d.depth+1, c.m.limits.MaxDefineDepth)
			d.done = true
			return
		}
		d.done = true
		outer := c.src
		c.src = d.file
		c.defineValue = true
		d.fn = c.compileExpr(d.node, d.path, d.src, kInvalid)
		c.defineValue = false
		c.src = outer
		d.typ = d.fn.k
		if d.typ != kInvalid {
			d.fn = c.memoize(d)
		}
	}
	for _, d := range c.m.defines {
		visit(d, nil)
	}
}

type identVisitor func(string)

func (v identVisitor) Visit(n *ast.Node) {
	if id, ok := (*n).(*ast.IdentifierNode); ok {
		v(id.Value)
	}
}

// memoize wraps a define so that it is computed at most once per member
// (once per episode when it depends on the episode), and only when some
// population or stratifier asks for it.
func (c *checker) memoize(d *define) compiled {
	idx := slices.Index(c.m.defines, d)
	fn := d.fn
	if fn.codes != nil {
		// A code set is a lookup already; kept as it is, it also folds
		// into unions of code sets.
		return fn
	}
	out := compiled{k: fn.k, rows: fn.rows, days: fn.days}
	ep := d.episodic
	switch fn.k {
	case kBool:
		out.b = memo(idx, ep, fn.b, func(r *Runner) []bool { return r.bools })
	case kInt:
		out.i = memo(idx, ep, fn.i, func(r *Runner) []int64 { return r.ints })
	case kFloat:
		out.f = memo(idx, ep, fn.f, func(r *Runner) []float64 { return r.floats })
	case kString:
		out.s = memo(idx, ep, fn.s, func(r *Runner) []string { return r.strs })
	case kEvents:
		// Most members have no events of most code sets, and an Events
		// value holds only rows of the code sets its row items name: when
		// the member has none of them, the define is empty without
		// running its chain of filters and unions (7% of the shipped
		// measures' evaluation).
		f := fn.e
		if probe, ok := c.emptyProbe(fn.rows); ok {
			inner := f
			f = func(r *Runner) evset {
				if len(probe(r)) == 0 {
					return nil
				}
				return inner(r)
			}
		}
		out.e = memo(idx, ep, f, func(r *Runner) []evset { return r.evs })
	case kList:
		out.l = memo(idx, ep, fn.l, func(r *Runner) [][]string { return r.lists })
	}
	return out
}

// memo returns f computed at most once per generation. Generations only
// grow, within a member from its start through its episodes: a member's
// define is valid from the member's start, an episode's only in the
// episode's generation. The test is written out in each closure, not
// passed as one: defines are read several times per member and measure,
// and the call cost as much as the test.
func memo[T any](idx int, episodic bool, f func(*Runner) T, slots func(*Runner) []T) func(*Runner) T {
	if episodic {
		return func(r *Runner) T {
			if r.defGen[idx] != r.gen {
				v := f(r)
				slots(r)[idx] = v
				r.defGen[idx] = r.gen
				return v
			}
			return slots(r)[idx]
		}
	}
	return func(r *Runner) T {
		if r.defGen[idx] < r.memberGen {
			v := f(r)
			slots(r)[idx] = v
			r.defGen[idx] = r.gen
			return v
		}
		return slots(r)[idx]
	}
}

// compileEpisodes compiles an episode measure's episodes: an Events
// expression of the member, which cannot depend on the episode itself.
func (c *checker) compileEpisodes(n *yaml.Node) compiled {
	text, ok := c.src.scalar(n, "episodes")
	if !ok {
		return compiled{}
	}
	if strings.TrimSpace(text) == "" {
		c.src.errorf(n, "episodes", ErrMissing, "empty expression")
		return compiled{}
	}
	if tree, err := parser.Parse(text); err == nil {
		episodic := ""
		ast.Walk(&tree.Node, identVisitor(func(name string) {
			if _, ok := episodeNames[name]; ok && episodic == "" {
				episodic = name
			}
			if i := slices.IndexFunc(c.m.defines, func(d *define) bool { return d.name == name && d.episodic }); i >= 0 && episodic == "" {
				episodic = name
			}
		}))
		if episodic != "" {
			c.src.errorf(n, "episodes", ErrCycle, "episodes cannot depend on the current episode (%s does)", episodic)
			return compiled{}
		}
	}
	fn := c.compileExpr(n, "episodes", text, kInvalid)
	if fn.ok() && fn.k != kEvents {
		c.src.errorf(n, "episodes", ErrType, "episodes must be Events (a set of the member's events), not %s", fn.k)
		return compiled{}
	}
	return fn
}

// compileTop compiles a population (want kBool) or stratifier (want
// kString, which also admits a list of strings).
func (c *checker) compileTop(n *yaml.Node, path string, want kind) compiled {
	text, ok := c.src.scalar(n, path)
	if !ok {
		return compiled{}
	}
	if strings.TrimSpace(text) == "" {
		c.src.errorf(n, path, ErrMissing, "empty expression")
		return compiled{}
	}
	fn := c.compileExpr(n, path, text, want)
	if !fn.ok() {
		return fn
	}
	switch {
	case want == kBool && fn.k != kBool:
		c.src.errorf(n, path, ErrType, "a population must be bool, not %s", fn.k)
		return compiled{}
	case want == kString && fn.k != kString && fn.k != kList:
		c.src.errorf(n, path, ErrType, "a stratifier must be a string or a list of strings, not %s", fn.k)
		return compiled{}
	}
	return fn
}

// populationGate returns the name every group's initial population
// starts its chain of && with, compiled, or nil when the groups do not
// share one. Most measures have many groups (CIS 13, IMA 5) on one
// eligibility define, and most members are outside it: evaluating the
// define once and skipping the groups when it is false is what the
// groups would each do (&& stops at the define), without their calls.
// Only a name is taken, never a larger expression: a name compiles to
// the closure the groups already use (a define's memo), with no effect on
// the measure's data requirements.
func (c *checker) populationGate() func(*Runner) bool {
	var name string
	var node *ast.IdentifierNode
	for _, g := range c.m.groups {
		src := g.src[metric.InitialPopulation]
		tree, err := parser.Parse(src)
		if err != nil || g.pops[metric.InitialPopulation] == nil {
			return nil
		}
		first := tree.Node
		for {
			b, ok := first.(*ast.BinaryNode)
			if !ok || b.Operator != "&&" && b.Operator != "and" {
				break
			}
			first = b.Left
		}
		id, ok := first.(*ast.IdentifierNode)
		if !ok || node != nil && id.Value != name {
			return nil
		}
		name, node = id.Value, id
	}
	if node == nil {
		return nil
	}
	if fn := c.ident(node); fn.k == kBool && fn.b != nil {
		return fn.b
	}
	return nil
}

func (c *checker) setExpr(n *yaml.Node, path string) {
	c.node, c.path = n, path
	c.text = n.Value
}

func (c *checker) env() map[string]any {
	env := map[string]any{}
	for name, k := range memberNames {
		env[name] = reflect.Zero(typeOfKind[k]).Interface()
	}
	for name, k := range episodeNames {
		env[name] = reflect.Zero(typeOfKind[k]).Interface()
	}
	for name, k := range c.attrs {
		env[name] = reflect.Zero(typeOfKind[attrKinds[k]]).Interface()
	}
	for _, d := range c.m.defines {
		if d.done && d.typ != kInvalid {
			env[d.name] = reflect.Zero(typeOfKind[d.typ]).Interface()
		} else if d.done {
			env[d.name] = any(nil) // failed already; do not report it again
		}
	}
	return env
}

// typedFilter wraps each filter(...) in a call of asEventsFn: expr types
// filter's result as []interface{}, which no event function accepts, so
// without it a filter could only be used as a whole define. The wrapper
// takes any and returns Events, and compiles to its argument.
type typedFilter struct{}

const asEventsFn = "_asEvents"

func (typedFilter) Visit(n *ast.Node) {
	if b, ok := (*n).(*ast.BuiltinNode); ok && b.Name == "filter" {
		call := &ast.CallNode{Callee: &ast.IdentifierNode{Value: asEventsFn}, Arguments: []ast.Node{b}}
		ast.Patch(n, call)
	}
}

var errStub = errors.New("caremetrics expressions are not run by the expr VM")

func stub(...any) (any, error) { return nil, errStub }

// exprTables are the builtins and functions of every expression's
// configuration, made once: made for each expression, they were half of
// what compiling the shipped measures allocated. expr only reads them
// while it checks an expression, so the compilers of several measures
// share them.
var exprTables = sync.OnceValue(func() *conf.Config {
	cfg := conf.CreateNew()
	expr.DisableAllBuiltins()(cfg)
	for _, name := range predicateBuiltins {
		expr.EnableBuiltin(name)(cfg)
	}
	for name, f := range functions {
		expr.Function(name, stub, f.sig)(cfg)
	}
	return cfg
})

func (c *checker) config() *conf.Config {
	tables := exprTables()
	cfg := &conf.Config{
		ShortCircuit: tables.ShortCircuit,
		ConstFns:     tables.ConstFns,
		Functions:    tables.Functions,
		Builtins:     tables.Builtins,
		Disabled:     tables.Disabled,
		Strict:       true,
		MaxNodes:     uint(c.m.limits.MaxNodes),
		Visitors:     []ast.Visitor{typedFilter{}},
	}
	var key [2]int
	for _, d := range c.m.defines {
		if d.done {
			key[0]++
			if d.typ != kInvalid {
				key[1]++
			}
		}
	}
	if c.envCfg == nil || c.envKey != key {
		c.envCfg, c.envKey = &conf.Config{}, key
		c.envCfg.WithEnv(c.env())
	}
	cfg.EnvObject, cfg.Env = c.envCfg.EnvObject, c.envCfg.Env
	return cfg
}

func (c *checker) compileExpr(n *yaml.Node, path, text string, want kind) compiled {
	c.setExpr(n, path)
	tree, err := exprchecker.ParseCheck(text, c.config())
	if err != nil {
		c.exprError(err)
		return compiled{}
	}
	before := len(*c.src.errs)
	fn := c.flow(tree.Node)
	if c.defineValue {
		c.consumeShown(fn)
	} else {
		c.consume(fn)
	}
	if len(*c.src.errs) > before {
		return compiled{}
	}
	return fn
}

func (c *checker) exprError(err error) {
	var fe *file.Error
	if errors.As(err, &fe) {
		msg := strings.TrimSpace(fe.Message)
		if strings.Contains(msg, "exceeds maximum allowed nodes") {
			c.src.errorf(c.node, c.path, ErrLimit, "expression has more than %d nodes (dsl.Limits.MaxNodes)", c.m.limits.MaxNodes)
			return
		}
		if name, ok := strings.CutPrefix(msg, "unknown name "); ok && strings.HasPrefix(runeSuffix(c.text, fe.From), name+"(") {
			msg = "unknown function " + name
		}
		if strings.HasPrefix(msg, "unknown name ") || strings.HasPrefix(msg, "unknown func") {
			c.src.errs.Add(c.exprPos(fe.From), c.path, ErrUnknownName, "%s%s", msg, c.didYouMean(msg))
			return
		}
		code := ErrType
		if strings.Contains(msg, "unexpected") || strings.Contains(msg, "unterminated") || strings.Contains(msg, "expected") || strings.Contains(msg, "invalid") {
			code = ErrSyntax
		}
		// after the unknown names: a name is the author's, even float64
		c.src.errs.Add(c.exprPos(fe.From), c.path, code, "%s", dslTypes(msg))
		return
	}
	c.src.errorf(c.node, c.path, ErrSyntax, "%s", dslTypes(err.Error()))
}

// didYouMean suggests the nearest function for "unknown function f" and
// the nearest name (defines, member attributes) for "unknown name n".
func (c *checker) didYouMean(msg string) string {
	var candidates []string
	name, isFunc := strings.CutPrefix(msg, "unknown function ")
	if isFunc {
		for f := range functions {
			if !strings.HasPrefix(f, "_") { // internal, see typedFilter
				candidates = append(candidates, f)
			}
		}
		candidates = append(candidates, predicateBuiltins...)
	} else {
		name = strings.TrimPrefix(msg, "unknown name ")
		for n := range memberNames {
			candidates = append(candidates, n)
		}
		for n := range c.attrs {
			candidates = append(candidates, n)
		}
		for _, d := range c.m.defines {
			candidates = append(candidates, d.name)
		}
		for _, l := range c.lets {
			candidates = append(candidates, l.name)
		}
	}
	slices.Sort(candidates) // the same hint whatever the map order
	if best := closest(name, candidates); best != "" {
		return " (did you mean " + best + "?)"
	}
	return ""
}

// exprPos maps a rune offset inside the expression to a file position,
// re-basing onto the YAML scalar: plain and quoted scalars start at the
// node; block scalars (| and >) start on the next line, indented.
func (c *checker) exprPos(offset int) Pos {
	n := c.node
	pos := Pos{File: c.src.file, Line: n.Line, Col: n.Column}
	if n.Line < 1 || n.Line > len(c.src.lines) {
		return pos
	}
	type seg struct{ line, col, runes int }
	var segs []seg
	if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		// The block's indentation is that of its first non-empty line;
		// deeper indentation on later lines is part of the value.
		blockIndent := -1
		for ln := n.Line + 1; ln <= len(c.src.lines); ln++ {
			raw := c.src.lines[ln-1]
			trimmed := strings.TrimLeft(raw, " ")
			if trimmed == "" {
				segs = append(segs, seg{ln, 1, 0})
				continue
			}
			indent := len(raw) - len(trimmed)
			if blockIndent < 0 {
				blockIndent = indent
			} else if indent < blockIndent {
				break
			}
			segs = append(segs, seg{ln, blockIndent + 1, utf8.RuneCountInString(raw[blockIndent:])})
		}
	} else {
		start := n.Column
		if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
			start++
		}
		first := c.src.lines[n.Line-1]
		rest := runeSuffix(first, start-1)
		segs = append(segs, seg{n.Line, start, utf8.RuneCountInString(rest)})
		for ln := n.Line + 1; ln <= len(c.src.lines) && ln < n.Line+50; ln++ {
			raw := c.src.lines[ln-1]
			trimmed := strings.TrimLeft(raw, " \t")
			segs = append(segs, seg{ln, len(raw) - len(trimmed) + 1, utf8.RuneCountInString(trimmed)})
		}
	}
	for _, s := range segs {
		if offset <= s.runes {
			return Pos{File: c.src.file, Line: s.line, Col: s.col + offset}
		}
		offset -= s.runes + 1
	}
	return pos
}

func runeSuffix(s string, skip int) string {
	for i := 0; i < skip && len(s) > 0; i++ {
		_, w := utf8.DecodeRuneInString(s)
		s = s[w:]
	}
	return s
}

func (c *checker) errAt(n ast.Node, code ErrorCode, format string, args ...any) compiled {
	c.src.errs.Add(c.exprPos(n.Location().From), c.path, code, format, args...)
	return compiled{}
}

// compile turns a checked expr node into a closure.
// compile compiles n as a value that is read whole: an Events value's
// rows all matter (see consume).
func (c *checker) compile(n ast.Node) compiled {
	v := c.flow(n)
	c.consume(v)
	return v
}

// flow compiles n as a value whose rows, if Events, pass on to the
// expression around it, which decides how they are read.
func (c *checker) flow(n ast.Node) compiled {
	switch n := n.(type) {
	case *ast.BoolNode:
		v := n.Value
		return compiled{k: kBool, b: func(*Runner) bool { return v }}
	case *ast.IntegerNode:
		return constInt(int64(n.Value))
	case *ast.FloatNode:
		v := n.Value
		return compiled{k: kFloat, f: func(*Runner) float64 { return v }}
	case *ast.StringNode:
		v := n.Value
		return compiled{k: kString, s: func(*Runner) string { return v }}
	case *ast.IdentifierNode:
		return c.ident(n)
	case *ast.UnaryNode:
		return c.unary(n)
	case *ast.BinaryNode:
		return c.binary(n)
	case *ast.ConditionalNode:
		return c.conditional(n)
	case *ast.CallNode:
		return c.call(n)
	case *ast.BuiltinNode:
		return c.builtin(n)
	case *ast.MemberNode:
		return c.member(n)
	case *ast.VariableDeclaratorNode:
		return c.let(n)
	}
	return c.errAt(n, ErrUnsupported, "%s is not supported in measure expressions", describe(n))
}

func describe(n ast.Node) string {
	switch n.(type) {
	case *ast.MemberNode:
		return "field access"
	case *ast.ArrayNode:
		return "a list literal (outside `in`)"
	case *ast.MapNode:
		return "a map literal"
	case *ast.PredicateNode, *ast.PointerNode:
		return "a closure"
	case *ast.BuiltinNode:
		return "a built-in function"
	case *ast.SliceNode:
		return "slicing"
	case *ast.NilNode:
		return "nil"
	case *ast.VariableDeclaratorNode:
		return "let"
	}
	return fmt.Sprintf("%T", n)
}

func (c *checker) ident(n *ast.IdentifierNode) compiled {
	name := n.Value
	for i := len(c.lets) - 1; i >= 0; i-- {
		if c.lets[i].name == name {
			return c.lets[i].get
		}
	}
	if _, ok := episodeNames[name]; ok {
		if c.m.basis != "episode" {
			return c.errAt(n, ErrUnknownName, "%s is defined only in a measure with basis: episode", name)
		}
		win := c.m.episodeWindow
		switch name {
		case "episode":
			return compiled{k: kEvents, rows: []rowItem{{ref: episodeRef, win: win}}, e: func(r *Runner) evset { return r.episodeSet[:] }}
		case "episode_date":
			return compiled{k: kInt, days: win, i: func(r *Runner) int64 { return int64(r.events[r.episodeSet[0]].Date) }}
		default:
			// An episode ends on or after its date.
			return compiled{k: kInt, days: rangeDays(win, nil), i: func(r *Runner) int64 { return int64(endOf(&r.events[r.episodeSet[0]])) }}
		}
	}
	switch name {
	case "period_start":
		return compiled{k: kInt, days: periodStartDays, i: func(r *Runner) int64 { return int64(r.period.Start) }}
	case "period_end":
		return compiled{k: kInt, days: periodEndDays, i: func(r *Runner) int64 { return int64(r.period.End) }}
	case "member_id":
		return compiled{k: kString, s: func(r *Runner) string { return r.member.ID }}
	case "birth_date":
		return compiled{k: kInt, i: func(r *Runner) int64 { return int64(r.member.BirthDate) }}
	case "death_date":
		return compiled{k: kInt, i: func(r *Runner) int64 { return int64(r.member.DeathDate) }}
	case "sex":
		return compiled{k: kString, s: func(r *Runner) string { return r.member.Sex }}
	case "ethnicity":
		return compiled{k: kString, s: func(r *Runner) string { return r.member.Ethnicity }}
	case "language":
		return compiled{k: kString, s: func(r *Runner) string { return r.member.Language }}
	case "race":
		return compiled{k: kList, l: func(r *Runner) []string { return r.member.Race }}
	case "interpreter_needed":
		return compiled{k: kBool, b: func(r *Runner) bool { return r.member.InterpreterNeeded == True }}
	case "disability":
		return compiled{k: kBool, b: func(r *Runner) bool { return r.member.Disability == True }}
	}
	for _, d := range c.m.defines {
		if d.name == name {
			if !d.fn.ok() {
				return compiled{}
			}
			return d.fn
		}
	}
	if ak, ok := c.attrs[name]; ok {
		return c.attr(name, ak)
	}
	return c.errAt(n, ErrUnknownName, "unknown name %s", name)
}

func (c *checker) attrIndex(name string) int {
	i := slices.Index(c.m.attrs, name)
	if i < 0 {
		i = len(c.m.attrs)
		c.m.attrs = append(c.m.attrs, name)
	}
	return i
}

func (c *checker) attr(name string, ak AttrKind) compiled {
	i := c.attrIndex(name)
	switch ak {
	case AttrString:
		return compiled{k: kString, s: func(r *Runner) string { return r.b.attrs[i].Strings[r.index] }}
	case AttrFloat:
		return compiled{k: kFloat, f: func(r *Runner) float64 { return r.b.attrs[i].Floats[r.index] }}
	case AttrInt:
		return compiled{k: kInt, i: func(r *Runner) int64 { return r.b.attrs[i].Ints[r.index] }}
	case AttrBool:
		return compiled{k: kBool, b: func(r *Runner) bool { return r.b.attrs[i].Bools[r.index] }}
	case AttrDate:
		return compiled{k: kInt, i: func(r *Runner) int64 { return int64(r.b.attrs[i].Dates[r.index]) }}
	case AttrStrings:
		return compiled{k: kList, l: func(r *Runner) []string { return r.b.attrs[i].Lists[r.index] }}
	}
	return compiled{}
}

func (c *checker) unary(n *ast.UnaryNode) compiled {
	x := c.compile(n.Node)
	if !x.ok() {
		return x
	}
	switch {
	case (n.Operator == "!" || n.Operator == "not") && x.k == kBool:
		f := x.b
		return compiled{k: kBool, b: func(r *Runner) bool { return !f(r) }}
	case n.Operator == "-" && x.k == kInt:
		f := x.i
		return compiled{k: kInt, days: negateDays(x.days), i: func(r *Runner) int64 { return -f(r) }}
	case n.Operator == "-" && x.k == kFloat:
		f := x.f
		return compiled{k: kFloat, f: func(r *Runner) float64 { return -f(r) }}
	case n.Operator == "+" && (x.k == kInt || x.k == kFloat):
		return x
	}
	return c.errAt(n, ErrType, "operator %s does not apply to %s", n.Operator, x.k)
}

func (c *checker) conditional(n *ast.ConditionalNode) compiled {
	cond, a, b := c.compile(n.Cond), c.flow(n.Exp1), c.flow(n.Exp2)
	if !cond.ok() || !a.ok() || !b.ok() {
		return compiled{}
	}
	if cond.k != kBool {
		return c.errAt(n.Cond, ErrType, "condition must be bool, not %s", cond.k)
	}
	p := cond.b
	if a.k != b.k {
		if (a.k == kInt || a.k == kFloat) && (b.k == kInt || b.k == kFloat) {
			fa, fb := a.asFloat(), b.asFloat()
			return compiled{k: kFloat, f: func(r *Runner) float64 {
				if p(r) {
					return fa(r)
				}
				return fb(r)
			}}
		}
		return c.errAt(n, ErrType, "branches differ in type: %s and %s", a.k, b.k)
	}
	out := compiled{k: a.k, rows: append(slices.Clip(a.rows), b.rows...)}
	out.days = hullDays([]dayRange{a.days, b.days}) // nil unless both are bounded
	switch a.k {
	case kBool:
		out.b = choose(p, a.b, b.b)
	case kInt:
		out.i = choose(p, a.i, b.i)
	case kFloat:
		out.f = choose(p, a.f, b.f)
	case kString:
		out.s = choose(p, a.s, b.s)
	case kEvents:
		out.e = choose(p, a.e, b.e)
	case kList:
		out.l = choose(p, a.l, b.l)
	}
	return out
}

func choose[T any](p func(*Runner) bool, x, y func(*Runner) T) func(*Runner) T {
	return func(r *Runner) T {
		if p(r) {
			return x(r)
		}
		return y(r)
	}
}

func (c *checker) binary(n *ast.BinaryNode) compiled {
	op := n.Operator
	if op == "in" || op == "not in" {
		return c.in(n)
	}
	a, b := c.compile(n.Left), c.compile(n.Right)
	if !a.ok() || !b.ok() {
		return compiled{}
	}
	switch op {
	case "&&", "and", "||", "or":
		if a.k != kBool || b.k != kBool {
			return c.errAt(n, ErrType, "operator %s needs bool operands, not %s and %s", op, a.k, b.k)
		}
		x, y := a.b, b.b
		if op == "&&" || op == "and" {
			return compiled{k: kBool, b: func(r *Runner) bool { return x(r) && y(r) }}
		}
		return compiled{k: kBool, b: func(r *Runner) bool { return x(r) || y(r) }}
	case "==", "!=", "<", "<=", ">", ">=":
		fn := c.compare(n, op, a, b)
		return fn
	case "+", "-", "*", "/", "%":
		return c.arith(n, op, a, b)
	}
	return c.errAt(n, ErrUnsupported, "operator %s is not supported in measure expressions", op)
}

func numeric(k kind) bool { return k == kInt || k == kFloat }

func (c *checker) compare(n *ast.BinaryNode, op string, a, b compiled) compiled {
	var res func(cmp func(*Runner) int) func(*Runner) bool
	res = func(cmp func(*Runner) int) func(*Runner) bool {
		switch op {
		case "==":
			return func(r *Runner) bool { return cmp(r) == 0 }
		case "!=":
			return func(r *Runner) bool { return cmp(r) != 0 }
		case "<":
			return func(r *Runner) bool { return cmp(r) < 0 }
		case "<=":
			return func(r *Runner) bool { return cmp(r) <= 0 }
		case ">":
			return func(r *Runner) bool { return cmp(r) > 0 }
		}
		return func(r *Runner) bool { return cmp(r) >= 0 }
	}
	switch {
	case a.k == kInt && b.k == kInt:
		x, y := a.i, b.i
		switch op { // the common date comparisons, without the indirection
		case "<=":
			return compiled{k: kBool, b: func(r *Runner) bool { return x(r) <= y(r) }}
		case ">=":
			return compiled{k: kBool, b: func(r *Runner) bool { return x(r) >= y(r) }}
		case "==":
			return compiled{k: kBool, b: func(r *Runner) bool { return x(r) == y(r) }}
		}
		return compiled{k: kBool, b: res(func(r *Runner) int { return cmpInt(x(r), y(r)) })}
	case numeric(a.k) && numeric(b.k):
		x, y := a.asFloat(), b.asFloat()
		// NaN compares false with everything, as "no value" should.
		switch op {
		case "==":
			return compiled{k: kBool, b: func(r *Runner) bool { return x(r) == y(r) }}
		case "!=":
			return compiled{k: kBool, b: func(r *Runner) bool { return x(r) != y(r) }}
		case "<":
			return compiled{k: kBool, b: func(r *Runner) bool { return x(r) < y(r) }}
		case "<=":
			return compiled{k: kBool, b: func(r *Runner) bool { return x(r) <= y(r) }}
		case ">":
			return compiled{k: kBool, b: func(r *Runner) bool { return x(r) > y(r) }}
		}
		return compiled{k: kBool, b: func(r *Runner) bool { return x(r) >= y(r) }}
	case a.k == kString && b.k == kString:
		x, y := a.s, b.s
		return compiled{k: kBool, b: res(func(r *Runner) int { return strings.Compare(x(r), y(r)) })}
	case a.k == kBool && b.k == kBool && (op == "==" || op == "!="):
		x, y := a.b, b.b
		if op == "==" {
			return compiled{k: kBool, b: func(r *Runner) bool { return x(r) == y(r) }}
		}
		return compiled{k: kBool, b: func(r *Runner) bool { return x(r) != y(r) }}
	}
	return c.errAt(n, ErrType, "cannot compare %s and %s with %s", a.k, b.k, op)
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (c *checker) arith(n *ast.BinaryNode, op string, a, b compiled) compiled {
	if !numeric(a.k) || !numeric(b.k) {
		if op == "+" && a.k == kString && b.k == kString {
			x, y := a.s, b.s
			return compiled{k: kString, s: func(r *Runner) string { return x(r) + y(r) }}
		}
		return c.errAt(n, ErrType, "operator %s needs numbers, not %s and %s", op, a.k, b.k)
	}
	if a.k == kInt && b.k == kInt && op != "/" {
		x, y := a.i, b.i
		switch op {
		case "+":
			return compiled{k: kInt, days: shiftDays(a.days, b.days, 1, 1, metric.Date.AddDays), i: func(r *Runner) int64 { return x(r) + y(r) }}
		case "-":
			return compiled{k: kInt, days: shiftDays(a.days, negateDays(b.days), 1, 1, metric.Date.AddDays), i: func(r *Runner) int64 { return x(r) - y(r) }}
		case "*":
			return compiled{k: kInt, i: func(r *Runner) int64 { return x(r) * y(r) }}
		case "%":
			pos := c.exprPos(n.Location().From)
			return compiled{k: kInt, i: func(r *Runner) int64 {
				d := y(r)
				if d == 0 {
					r.fail(pos, "integer modulo by zero")
					return 0
				}
				return x(r) % d
			}}
		}
	}
	x, y := a.asFloat(), b.asFloat()
	switch op {
	case "+":
		return compiled{k: kFloat, f: func(r *Runner) float64 { return x(r) + y(r) }}
	case "-":
		return compiled{k: kFloat, f: func(r *Runner) float64 { return x(r) - y(r) }}
	case "*":
		return compiled{k: kFloat, f: func(r *Runner) float64 { return x(r) * y(r) }}
	case "/":
		return compiled{k: kFloat, f: func(r *Runner) float64 { return x(r) / y(r) }}
	}
	return compiled{k: kFloat, f: func(r *Runner) float64 { return math.Mod(x(r), y(r)) }}
}

func (c *checker) in(n *ast.BinaryNode) compiled {
	a := c.compile(n.Left)
	if !a.ok() {
		return a
	}
	negate := n.Operator == "not in"
	wrap := func(f func(*Runner) bool) compiled {
		if negate {
			return compiled{k: kBool, b: func(r *Runner) bool { return !f(r) }}
		}
		return compiled{k: kBool, b: f}
	}
	if arr, ok := n.Right.(*ast.ArrayNode); ok {
		switch a.k {
		case kString:
			set := map[string]bool{}
			for _, e := range arr.Nodes {
				s, ok := e.(*ast.StringNode)
				if !ok {
					return c.errAt(e, ErrType, "`in` a list of strings: want string literals")
				}
				set[s.Value] = true
			}
			x := a.s
			return wrap(func(r *Runner) bool { return set[x(r)] })
		case kInt:
			var set []int64
			for _, e := range arr.Nodes {
				s, ok := e.(*ast.IntegerNode)
				if !ok {
					return c.errAt(e, ErrType, "`in` a list of integers: want integer literals")
				}
				set = append(set, int64(s.Value))
			}
			x := a.i
			return wrap(func(r *Runner) bool { return slices.Contains(set, x(r)) })
		}
		return c.errAt(n, ErrType, "`in` a list literal needs a string or int on the left, not %s", a.k)
	}
	b := c.compile(n.Right)
	if !b.ok() {
		return b
	}
	if a.k == kString && b.k == kList {
		x, y := a.s, b.l
		return wrap(func(r *Runner) bool { return slices.Contains(y(r), x(r)) })
	}
	return c.errAt(n, ErrType, "cannot test %s in %s", a.k, b.k)
}

// literalString returns the value of a string-literal argument, reporting
// anything else: value-set names, codes and attribute names are resolved
// when the measure is compiled, never at run time.
func (c *checker) literalString(n ast.Node, what string) (string, bool) {
	s, ok := n.(*ast.StringNode)
	if !ok {
		c.errAt(n, ErrInvalid, "%s must be a string literal", what)
		return "", false
	}
	return s.Value, true
}

func (c *checker) valueSet(n ast.Node) (int, bool) {
	name, ok := c.literalString(n, "a value-set name")
	if !ok {
		return 0, false
	}
	v, ok := c.vs[name]
	if !ok {
		msg := fmt.Sprintf("unknown value set %q", name)
		var names []string
		for k := range c.vs {
			names = append(names, k)
		}
		slices.Sort(names)
		if near := closest(name, names); near != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", near)
		}
		c.errAt(n, ErrUnknownVS, "%s", msg)
		return 0, false
	}
	i, ok := c.vsIndex[v]
	if !ok {
		i = len(c.m.valueSets)
		c.vsIndex[v] = i
		c.m.valueSets = append(c.m.valueSets, v)
	}
	return i, true
}

// dateLiteral parses the argument of date("YYYY-MM-DD") at compile time.
func (c *checker) dateLiteral(n ast.Node) (metric.Date, bool) {
	s, ok := c.literalString(n, "a date")
	if !ok {
		return 0, false
	}
	d, err := metric.ParseDate(s)
	if err != nil {
		c.errAt(n, ErrInvalid, "%v", err)
		return 0, false
	}
	return d, true
}

// ageBands parses "1-5" and "65+" bands.
func (c *checker) ageBands(args []ast.Node) ([][2]int64, []string, bool) {
	var bands [][2]int64
	var labels []string
	for _, a := range args {
		s, ok := c.literalString(a, "an age band")
		if !ok {
			return nil, nil, false
		}
		lo, hi := int64(-1), int64(-1)
		if strings.HasSuffix(s, "+") {
			v, err := strconv.Atoi(strings.TrimSuffix(s, "+"))
			lo, hi = int64(v), math.MaxInt64
			if err != nil {
				lo = -1
			}
		} else if l, h, ok := strings.Cut(s, "-"); ok {
			v1, err1 := strconv.Atoi(l)
			v2, err2 := strconv.Atoi(h)
			if err1 == nil && err2 == nil && v1 <= v2 {
				lo, hi = int64(v1), int64(v2)
			}
		}
		if lo < 0 {
			c.errAt(a, ErrInvalid, "age band %q: want \"LO-HI\" or \"LO+\"", s)
			return nil, nil, false
		}
		bands = append(bands, [2]int64{lo, hi})
		labels = append(labels, s)
	}
	return bands, labels, true
}

// emptyProbe returns the union of the code sets that rows come from, when
// the rows name every set they can come from (no rows of unknown origin or
// of the current episode): a value with these rows is empty whenever the
// union is.
func (c *checker) emptyProbe(rows []rowItem) (func(*Runner) evset, bool) {
	var refs []codeRef
	for _, it := range rows {
		if it.ref == unknownRef || it.ref == episodeRef {
			return nil, false
		}
		refs = append(refs, it.ref)
	}
	if len(refs) == 0 {
		return nil, false
	}
	return c.codeSet(refs).e, true
}
