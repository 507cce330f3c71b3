package dsl

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/caremetrics/caremetrics/metric"
)

// Measure is a compiled measure: parsed, type-checked, with its value sets
// resolved and its expressions turned into Go closures. It is immutable and
// safe for concurrent use; evaluate it through Bind and a Runner.
type Measure struct {
	id, title, version, steward, description string
	// idPos is where the id is written, for errors about the measure.
	idPos   Pos
	scoring string
	period  metric.Period
	file    string
	// basis is "member" or "episode"; episodes lists an episode
	// measure's units: the member's events it counts.
	basis       string
	episodes    compiled
	improvement string
	multiplier  int64

	valueSets []*ValueSet // referenced by expressions, index = vsID
	defines   []*define
	groups    []*group
	// gate is the first conjunct of every group's initial population
	// when they share one (see populationGate); nil otherwise.
	gate     func(*Runner) bool
	strats   []*stratifier
	attrs    []string // extra member attributes referenced
	sources  []string // literals of fromSource
	codes    []literalCode
	codeSets [][]codeRef // the event sets chosen by code alone
	// freeRefs are the code sets some expression reads whole; scopedRefs
	// the others' anchors (see claimscope.go).
	freeRefs   map[codeRef]bool
	scopedRefs map[codeRef][]codeRef
	// claimRefs are the code sets whose rows' claim ids some expression
	// compares (see claimreads.go).
	claimRefs map[codeRef]bool
	// windowUses are the date bounds of each use of a code set;
	// unwindowed the code sets some use reads at any date (see
	// datewindow.go).
	windowUses map[codeRef][]dayRange
	unwindowed map[codeRef]bool
	// nslots counts value slots: one per define, then one per let.
	nslots int
	// columns are the optional events columns expressions read.
	columns Column
	// criteria are the gap criteria of the gaps section.
	criteria []gapCriterion
	limits   Limits
	// groupSums and relations are the declared sums between rows.
	groupSums []metric.GroupSum
	relations []metric.Relation
}

// ID returns the measure id.
func (m *Measure) ID() string { return m.id }

// IDPos returns where the measure's id is written.
func (m *Measure) IDPos() Pos { return m.idPos }

// Title returns the human title.
func (m *Measure) Title() string { return m.title }

// Version returns the measure's version string.
func (m *Measure) Version() string { return m.version }

// Steward returns who maintains the specification the measure follows.
func (m *Measure) Steward() string { return m.steward }

// Description returns the description, which names the specification.
func (m *Measure) Description() string { return m.description }

// Scoring returns the scoring method: "proportion", or "ratio", whose
// denominator and numerator sum the units' values (such as member months
// and visits) instead of counting units.
func (m *Measure) Scoring() string { return m.scoring }

// Basis returns what one unit counted is: "member", or "episode" when
// every population is evaluated once per event of the measure's episodes
// expression (a visit, a discharge, a positive screen).
func (m *Measure) Basis() string { return m.basis }

// Improvement returns "increase", or "decrease" for an inverse measure
// (lower is better), so that benchmarks and targets read correctly.
func (m *Measure) Improvement() string { return m.improvement }

// Multiplier returns the factor a ratio measure's rates are scaled by
// (1000 for "per 1,000 member months"); 1 otherwise.
func (m *Measure) Multiplier() int64 { return m.multiplier }

// Period returns the default measurement period.
func (m *Measure) Period() metric.Period { return m.period }

// File returns the file the measure was compiled from.
func (m *Measure) File() string { return m.file }

// GroupIDs returns the ids of the rate groups in definition order.
func (m *Measure) GroupIDs() []string {
	out := make([]string, len(m.groups))
	for i, g := range m.groups {
		out[i] = g.id
	}
	return out
}

// GroupTitle returns the title of group i.
func (m *Measure) GroupTitle(i int) string { return m.groups[i].title }

// StratifierIDs returns the ids of the stratifiers in definition order.
func (m *Measure) StratifierIDs() []string {
	out := make([]string, len(m.strats))
	for i, s := range m.strats {
		out[i] = s.id
	}
	return out
}

// ValueSets returns the value sets the measure's expressions use: its data
// requirements in codes.
func (m *Measure) ValueSets() []*ValueSet { return slices.Clone(m.valueSets) }

// Attributes returns the extra member attributes (beyond the canonical
// columns) the measure reads.
func (m *Measure) Attributes() []string { return slices.Clone(m.attrs) }

type define struct {
	file *source // the measure or library file defining it
	name string
	pos  Pos
	src  string
	node *yaml.Node
	path string
	typ  kind
	fn   compiled
	deps []string
	done bool
	busy bool
	// episodic defines depend on the current episode, so they are
	// computed once per episode instead of once per member.
	episodic bool
	// depth is the length of the longest chain of defines it uses.
	depth int
}

type group struct {
	id, title string
	pops      [5]func(*Runner) bool // by metric.Population; nil = default
	// den and num are a ratio group's values of a unit in its
	// denominator and numerator (a bool population counts 1).
	den, num func(*Runner) int64
	// src holds each population's expression, for explanations.
	src [5]string
	// gaps words the group's gaps in care; nil when the measure does not.
	gaps *groupGaps
}

type stratifier struct {
	id     string
	fn     compiled // kString or kList; unset for a cross; fn.member names a member category
	cross  []int
	groups []bool // nil = every group
}

// Option configures compilation.
type Option func(*options)

type options struct {
	valueSets []*ValueSet
	attrs     map[string]AttrKind
	limits    Limits
}

// WithValueSets supplies value sets that replace any of the same name (or
// OID) that the measure's own files define, e.g. a licensed directory.
func WithValueSets(sets ...*ValueSet) Option {
	return func(o *options) { o.valueSets = append(o.valueSets, sets...) }
}

// WithAttributes declares extra member attributes (columns of the members
// table beyond the canonical ones) and their kinds, so that expressions can
// use them. Without it any unknown name is an error.
func WithAttributes(attrs map[string]AttrKind) Option {
	return func(o *options) {
		if o.attrs == nil {
			o.attrs = map[string]AttrKind{}
		}
		for k, v := range attrs {
			o.attrs[k] = v
		}
	}
}

var idPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// CompileFS compiles the measure file at name in fsys; value-set paths in
// the file are relative to its directory and may not leave fsys. All errors
// are returned together as an ErrorList.
func CompileFS(fsys fs.FS, name string, opts ...Option) (*Measure, error) {
	src, err := readInside(fsys, name)
	if err != nil {
		return nil, ErrorList{{Pos: Pos{File: name}, Code: ErrFile, Msg: err.Error()}}
	}
	return compile(name, src, fsys, opts)
}

// Compile compiles a measure from YAML source; filename is used in error
// positions. Value-set files named by the measure are read from fsys
// relative to the directory of filename; fsys may be nil when every value
// set is supplied with WithValueSets.
func Compile(filename string, src []byte, fsys fs.FS, opts ...Option) (*Measure, error) {
	return compile(filename, src, fsys, opts)
}

var topKeys = []string{"id", "title", "version", "steward", "description", "scoring", "basis", "episodes", "improvement", "multiplier", "period", "include", "valuesets", "define", "groups", "stratifiers", "gaps", "group_sums", "relations"}

var libraryKeys = []string{"description", "valuesets", "define"}
var groupKeys = []string{"title", "initial_population", "denominator", "denominator_exclusions", "numerator", "denominator_exceptions"}

func compile(filename string, src []byte, fsys fs.FS, opts []Option) (*Measure, error) {
	var o options
	for _, op := range opts {
		op(&o)
	}
	var errs ErrorList
	s := &source{file: filename, errs: &errs}
	root := s.parseYAML(src)
	if root == nil {
		return nil, errs.Err()
	}
	f, _ := s.fields(root, "", topKeys...)
	if f == nil {
		return nil, errs.Err()
	}
	m := &Measure{file: filename, scoring: "proportion", basis: "member", improvement: "increase", multiplier: 1, limits: o.limits.withDefaults()}
	str := func(key string, required bool) string {
		n, ok := f[key]
		if !ok {
			if required {
				s.errorf(root, "", ErrMissing, "missing key %q", key)
			}
			return ""
		}
		v, _ := s.scalar(n, key)
		if required && strings.TrimSpace(v) == "" {
			s.errorf(n, key, ErrMissing, "empty %s", key)
		}
		return v
	}
	m.id = str("id", true)
	if n, ok := f["id"]; ok {
		m.idPos = s.pos(n)
	}
	if m.id != "" && !idPattern.MatchString(m.id) {
		s.errorf(f["id"], "id", ErrInvalid, "id %q: want lower-case letters, digits and _ starting with a letter", m.id)
	}
	m.title = str("title", true)
	m.version = str("version", false)
	m.steward = str("steward", false)
	m.description = str("description", false)
	choice := func(key string, into *string, values ...string) {
		n, ok := f[key]
		if !ok {
			return
		}
		v, _ := s.scalar(n, key)
		if !slices.Contains(values, v) {
			s.errorf(n, key, ErrUnsupported, "%s %q is not supported (want %s)", key, v, strings.Join(values, " or "))
			return
		}
		*into = v
	}
	choice("scoring", &m.scoring, "proportion", "ratio")
	choice("basis", &m.basis, "member", "episode")
	choice("improvement", &m.improvement, "increase", "decrease")
	if n, ok := f["multiplier"]; ok {
		v, _ := s.scalar(n, "multiplier")
		k, err := strconv.ParseInt(v, 10, 64)
		switch {
		case err != nil || k < 1 || k > 1_000_000:
			s.errorf(n, "multiplier", ErrInvalid, "multiplier %q: want a whole number from 1 to 1000000", v)
		case m.scoring != "ratio" && k != 1:
			s.errorf(n, "multiplier", ErrInvalid, "a multiplier scales a ratio measure (scoring: ratio)")
		default:
			m.multiplier = k
		}
	}
	if n, ok := f["period"]; ok {
		m.period = s.period(n)
	} else {
		s.errorf(root, "", ErrMissing, "missing key \"period\"")
	}

	// Value sets: the measure's files and its libraries', then the
	// caller's replacements.
	vsByName := map[string]*ValueSet{}
	if n, ok := f["valuesets"]; ok {
		s.loadValueSets(n, path.Dir(filename), fsys, vsByName)
	}
	var defines []*define
	if n, ok := f["include"]; ok {
		for _, item := range s.list(n, "include") {
			p, ok := s.scalar(item, "include")
			if !ok {
				continue
			}
			if msg := unsafePath(p); msg != "" {
				s.errorf(item, "include", ErrInvalid, "library path %q: %s", p, msg)
				continue
			}
			defines = append(defines, s.library(item, path.Join(path.Dir(filename), p), fsys, vsByName)...)
		}
	}
	for _, v := range o.valueSets {
		addValueSet(vsByName, v)
	}

	c := &checker{src: s, m: m, vs: vsByName, attrs: o.attrs, vsIndex: map[*ValueSet]int{}}

	if n, ok := f["define"]; ok {
		defines = append(defines, s.defines(n)...)
	}
	seen := map[string]*define{}
	for _, d := range defines {
		if c.isBuiltinName(d.name) {
			d.file.errs.Add(d.pos, d.path, ErrDuplicate, "define %q shadows a member attribute or built-in name", d.name)
			continue
		}
		if prev, ok := seen[d.name]; ok {
			d.file.errs.Add(d.pos, d.path, ErrDuplicate, "define %q is already defined at %s", d.name, prev.pos)
			continue
		}
		seen[d.name] = d
		m.defines = append(m.defines, d)
	}
	m.nslots = len(m.defines)
	c.compileDefines()

	switch n, ok := f["episodes"]; {
	case m.basis == "episode" && !ok:
		s.errorf(root, "", ErrMissing, "missing key \"episodes\" (an episode measure lists its episodes: an Events expression)")
	case m.basis != "episode" && ok:
		s.errorf(n, "episodes", ErrInvalid, "episodes are the units of a measure with basis: episode")
	case ok:
		m.episodes = c.compileEpisodes(n)
	}

	if n, ok := f["groups"]; ok {
		gf, keys := s.fields(n, "groups")
		for _, k := range keys {
			p := "groups." + k
			if !idPattern.MatchString(k) {
				s.errorf(keyOf(n, k), "groups", ErrInvalid, "group id %q: want lower-case letters, digits and _", k)
			}
			g := &group{id: k}
			pf, _ := s.fields(gf[k], p, groupKeys...)
			if pf == nil {
				continue
			}
			if t, ok := pf["title"]; ok {
				g.title, _ = s.scalar(t, p+".title")
			}
			for i, key := range []string{"initial_population", "denominator", "denominator_exclusions", "denominator_exceptions", "numerator"} {
				pn, ok := pf[key]
				if !ok {
					if i == 2 || i == 3 {
						continue
					}
					s.errorf(gf[k], p, ErrMissing, "missing %s", key)
					continue
				}
				pop := popOrder[i]
				g.src[pop] = pn.Value
				if m.scoring == "ratio" && (pop == metric.Denominator || pop == metric.Numerator) {
					c.compileRatioPopulation(g, pop, pn, p+"."+key)
					continue
				}
				if m.scoring == "ratio" && pop == metric.DenominatorException {
					s.errorf(pn, p+"."+key, ErrInvalid, "a ratio measure has no denominator exceptions")
					continue
				}
				if fn := c.compileTop(pn, p+"."+key, kBool); fn.b != nil {
					g.pops[pop] = fn.b
				}
			}
			m.groups = append(m.groups, g)
		}
	} else {
		s.errorf(root, "", ErrMissing, "missing key \"groups\"")
	}
	m.gate = c.populationGate()
	if f["groups"] != nil && len(m.groups) == 0 && f["groups"].Kind == yaml.MappingNode {
		s.errorf(f["groups"], "groups", ErrMissing, "no groups")
	}

	if n, ok := f["stratifiers"]; ok {
		c.compileStratifiers(n)
	}
	if n, ok := f["gaps"]; ok {
		c.compileGaps(n)
	}
	if n, ok := f["group_sums"]; ok {
		c.compileGroupSums(n)
	}
	if n, ok := f["relations"]; ok {
		c.compileRelations(n)
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return m, nil
}

// defines reads a define mapping of s's file.
func (s *source) defines(n *yaml.Node) []*define {
	var out []*define
	df, keys := s.fields(n, "define")
	for _, k := range keys {
		kn := keyOf(n, k)
		if !defineName.MatchString(k) {
			s.errorf(kn, "define", ErrInvalid, "define name %q: want letters, digits and _", k)
			continue
		}
		d := &define{file: s, name: k, pos: s.pos(kn), node: df[k], path: "define." + k}
		d.src, _ = s.scalar(df[k], d.path)
		out = append(out, d)
	}
	return out
}

var defineName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// loadValueSets reads the value-set files listed in n, relative to dir.
func (s *source) loadValueSets(n *yaml.Node, dir string, fsys fs.FS, into map[string]*ValueSet) {
	for _, item := range s.list(n, "valuesets") {
		p, ok := s.scalar(item, "valuesets")
		if !ok {
			continue
		}
		if msg := unsafePath(p); msg != "" {
			s.errorf(item, "valuesets", ErrInvalid, "value-set path %q: %s", p, msg)
			continue
		}
		if fsys == nil {
			s.errorf(item, "valuesets", ErrFile, "cannot read %q: no file system given", p)
			continue
		}
		full := path.Join(dir, p)
		data, err := readInside(fsys, full)
		if err != nil {
			s.errorf(item, "valuesets", ErrFile, "cannot read value-set file %q: %v", p, unwrapPathErr(err))
			continue
		}
		sets, err := ParseValueSets(full, data)
		if err != nil {
			if el, ok := err.(ErrorList); ok {
				*s.errs = append(*s.errs, el...)
			} else {
				s.errorf(item, "valuesets", ErrFile, "%v", err)
			}
			continue
		}
		for _, v := range sets {
			addValueSet(into, v)
		}
	}
}

// library reads an included library: a file of defines and the value sets
// they use (paths relative to the library), shared by several measures as
// CQL libraries are.
func (s *source) library(item *yaml.Node, name string, fsys fs.FS, vs map[string]*ValueSet) []*define {
	if fsys == nil {
		s.errorf(item, "include", ErrFile, "cannot read %q: no file system given", name)
		return nil
	}
	data, err := readInside(fsys, name)
	if err != nil {
		s.errorf(item, "include", ErrFile, "cannot read library %q: %v", item.Value, unwrapPathErr(err))
		return nil
	}
	lib := &source{file: name, errs: s.errs}
	root := lib.parseYAML(data)
	if root == nil {
		return nil
	}
	f, _ := lib.fields(root, "", libraryKeys...)
	if n, ok := f["valuesets"]; ok {
		lib.loadValueSets(n, path.Dir(name), fsys, vs)
	}
	if n, ok := f["define"]; ok {
		return lib.defines(n)
	}
	return nil
}

var popOrder = [5]metric.Population{metric.InitialPopulation, metric.Denominator, metric.DenominatorExclusion, metric.DenominatorException, metric.Numerator}

func addValueSet(m map[string]*ValueSet, v *ValueSet) {
	m[v.Name] = v
	if v.OID != "" {
		m[v.OID] = v
	}
}

// unsafePath rejects value-set paths that could leave the measure's
// directory: measure files may come from untrusted hands.
func unsafePath(p string) string {
	switch {
	case p == "":
		return "empty path"
	case strings.HasPrefix(p, "/") || strings.Contains(p, "\\") || (len(p) > 1 && p[1] == ':'):
		return "must be relative"
	case slices.Contains(strings.Split(p, "/"), ".."):
		return "must not contain .."
	}
	return ""
}

func unwrapPathErr(err error) error {
	var pe *fs.PathError
	if ok := asPathErr(err, &pe); ok {
		return pe.Err
	}
	return err
}

func asPathErr(err error, target **fs.PathError) bool {
	pe, ok := err.(*fs.PathError)
	if ok {
		*target = pe
	}
	return ok
}

func (s *source) period(n *yaml.Node) metric.Period {
	var p metric.Period
	f, _ := s.fields(n, "period", "start", "end")
	if f == nil {
		return p
	}
	get := func(k string) metric.Date {
		v, ok := f[k]
		if !ok {
			s.errorf(n, "period", ErrMissing, "missing %s", k)
			return 0
		}
		str, _ := s.scalar(v, "period."+k)
		d, err := metric.ParseDate(str)
		if err != nil {
			s.errorf(v, "period."+k, ErrInvalid, "%v", err)
		}
		return d
	}
	p.Start, p.End = get("start"), get("end")
	if p.End < p.Start {
		s.errorf(n, "period", ErrInvalid, "period ends (%s) before it starts (%s)", p.End, p.Start)
	}
	return p
}

func (c *checker) compileStratifiers(n *yaml.Node) {
	s := c.src
	sf, keys := s.fields(n, "stratifiers")
	byID := map[string]int{}
	type pendingCross struct {
		st    *stratifier
		items []*yaml.Node
		path  string
	}
	var crosses []pendingCross
	for _, k := range keys {
		p := "stratifiers." + k
		if !idPattern.MatchString(k) {
			s.errorf(keyOf(n, k), "stratifiers", ErrInvalid, "stratifier id %q: want lower-case letters, digits and _", k)
		}
		st := &stratifier{id: k}
		v := sf[k]
		if v.Kind == yaml.MappingNode {
			f, _ := s.fields(v, p, "expr", "cross", "groups")
			if f == nil {
				continue
			}
			if gs, ok := f["groups"]; ok {
				st.groups = make([]bool, len(c.m.groups))
				for _, g := range s.list(gs, p+".groups") {
					i := slices.IndexFunc(c.m.groups, func(x *group) bool { return x.id == g.Value })
					if i < 0 {
						s.errorf(g, p+".groups", ErrUnknownName, "unknown group %q", g.Value)
						continue
					}
					st.groups[i] = true
				}
			}
			e, hasExpr := f["expr"]
			cr, hasCross := f["cross"]
			switch {
			case hasExpr && hasCross:
				s.errorf(v, p, ErrInvalid, "give expr or cross, not both")
			case hasExpr:
				st.fn = c.compileStrat(e, p+".expr")
			case hasCross:
				crosses = append(crosses, pendingCross{st, s.list(cr, p+".cross"), p + ".cross"})
			default:
				s.errorf(v, p, ErrMissing, "missing expr or cross")
			}
		} else {
			st.fn = c.compileStrat(v, p)
		}
		byID[k] = len(c.m.strats)
		c.m.strats = append(c.m.strats, st)
	}
	for _, pc := range crosses {
		if len(pc.items) < 2 {
			s.errorf(sf[pc.st.id], pc.path, ErrInvalid, "a cross needs at least two stratifiers")
		}
		for _, it := range pc.items {
			i, ok := byID[it.Value]
			if !ok || c.m.strats[i].cross != nil {
				s.errorf(it, pc.path, ErrUnknownName, "unknown stratifier %q (a cross names stratifiers with an expression)", it.Value)
				continue
			}
			pc.st.cross = append(pc.st.cross, i)
		}
	}
}

// compileRatioPopulation compiles a ratio group's denominator or
// numerator: a whole number per unit (member months, visits), or a bool
// counting the unit once. A unit is in the population when its value is
// positive (see Runner.evaluate).
func (c *checker) compileRatioPopulation(g *group, pop metric.Population, n *yaml.Node, path string) {
	text, ok := c.src.scalar(n, path)
	if !ok {
		return
	}
	if strings.TrimSpace(text) == "" {
		c.src.errorf(n, path, ErrMissing, "empty expression")
		return
	}
	fn := c.compileExpr(n, path, text, kInvalid)
	var value func(*Runner) int64
	switch fn.k {
	case kInvalid:
		return
	case kInt:
		value = fn.i
	case kBool:
		b := fn.b
		value = func(r *Runner) int64 {
			if b(r) {
				return 1
			}
			return 0
		}
	default:
		c.src.errorf(n, path, ErrType, "a ratio measure's %s must be an int (a count per unit) or bool, not %s", pop, fn.k)
		return
	}
	if pop == metric.Denominator {
		g.den = value
	} else {
		g.num = value
	}
}

func (c *checker) compileStrat(n *yaml.Node, path string) compiled {
	fn := c.compileTop(n, path, kString)
	return fn
}

// String describes the measure for logs.
func (m *Measure) String() string { return fmt.Sprintf("%s (%s)", m.id, m.file) }
