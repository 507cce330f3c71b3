package payment

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/caremetrics/caremetrics/dsl"
)

// LoadProgram reads and parses a program file; errors name the path.
func LoadProgram(path string) (*Program, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		var l dsl.ErrorList
		l.Add(dsl.Pos{File: path}, "", dsl.ErrFile, "%v", err)
		return nil, l.Err()
	}
	return ParseProgram(path, src)
}

// ParseProgram parses a program from YAML. file names the source in error
// positions. Every error is reported at once, as a dsl.ErrorList of
// entries with the file:line:col of the offending node, its path
// ("measures[2].benchmark") and a dsl.ErrorCode: unknown keys (with a
// "did you mean"), missing keys, values of the wrong shape or out of
// range, and duplicates.
func ParseProgram(file string, src []byte) (*Program, error) {
	p := &parser{file: file}
	prog := p.program(src)
	if err := p.errs.Err(); err != nil {
		return nil, err
	}
	return prog, nil
}

// Defaults of the improvement rule. The 3-point floor is the one the
// Oregon Metrics and Scoring Committee proposed for its first year of
// targets ("MN method with 3% floor"); programs name their own.
var (
	defaultGapClosure = RatioOf(1, 10)
	defaultFloor      = RatioOf(3, 1)
)

// parser collects the errors of one program file.
type parser struct {
	file string
	errs dsl.ErrorList
}

func (p *parser) fail(n *yaml.Node, path string, code dsl.ErrorCode, format string, args ...any) {
	p.errs.Add(dsl.Pos{File: p.file, Line: n.Line, Col: n.Column}, path, code, format, args...)
}

// improvementDefaults are the program-wide improvement settings, which a
// measure may override.
type improvementDefaults struct {
	gapClosure     Ratio
	floor          Ratio // percentage points
	minDenominator int64
	decimals       int
}

func (p *parser) program(src []byte) *Program {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		msg, line := strings.TrimPrefix(err.Error(), "yaml: "), 0
		if _, e := fmt.Sscanf(msg, "line %d:", &line); e == nil {
			msg = strings.TrimSpace(msg[strings.IndexByte(msg, ':')+1:])
		}
		p.errs.Add(dsl.Pos{File: p.file, Line: line}, "", dsl.ErrSyntax, "%s", msg)
		return nil
	}
	if len(doc.Content) == 0 {
		p.errs.Add(dsl.Pos{File: p.file, Line: 1, Col: 1}, "", dsl.ErrMissing, "empty file: want a program with year, measures and quality_pool")
		return nil
	}
	top := p.object(doc.Content[0], "")
	prog := &Program{Name: strings.TrimSuffix(filepath.Base(p.file), filepath.Ext(p.file))}
	if n := top.take("name"); n != nil {
		prog.Name, _ = p.text(n, "name")
	}
	if n := top.need("year"); n != nil {
		if y, ok := p.integer(n, "year"); ok {
			if y < 1900 || y > 2200 {
				p.fail(n, "year", dsl.ErrInvalid, "%d: want a year between 1900 and 2200", y)
			}
			prog.Year = int(y)
		}
	}
	capNode := top.take("capitation")
	if capNode != nil {
		c := p.object(capNode, "capitation")
		if n := c.need("pmpm"); n != nil {
			prog.PMPM, _ = p.money(n, "capitation.pmpm", true)
		}
		c.close()
	}
	def := p.improvement(top.take("improvement"))
	if n := top.need("measures"); n != nil {
		prog.Measures = p.measures(n, def)
		if len(prog.Measures) > 0 && prog.pointsTotal().Sign() == 0 {
			p.fail(top.key("measures"), "measures", dsl.ErrInvalid, "every measure has weight 0: want at least one point to earn")
		}
	}
	if n := top.need("quality_pool"); n != nil {
		prog.Pool = p.pool(n, prog.pointsTotal())
	}
	if n := top.take("shared_savings"); n != nil {
		prog.SharedSavings = p.savings(n)
		if capNode == nil {
			p.fail(top.key("shared_savings"), "shared_savings", dsl.ErrMissing, "shared savings need a budget: add capitation.pmpm")
		}
	}
	top.close()
	return prog
}

func (p *parser) improvement(n *yaml.Node) improvementDefaults {
	def := improvementDefaults{gapClosure: defaultGapClosure, floor: defaultFloor, decimals: -1}
	if n == nil {
		return def
	}
	o := p.object(n, "improvement")
	if v := o.take("gap_closure"); v != nil {
		def.gapClosure, _ = p.fraction(v, "improvement.gap_closure")
	}
	if v := o.take("floor"); v != nil {
		def.floor, _ = p.measureValue(v, "improvement.floor", UnitPercent)
	}
	if v := o.take("min_denominator"); v != nil {
		def.minDenominator, _ = p.count(v, "improvement.min_denominator")
	}
	if v := o.take("decimals"); v != nil {
		def.decimals = p.decimals(v, "improvement.decimals")
	}
	o.close()
	return def
}

func (p *parser) measures(n *yaml.Node, def improvementDefaults) []MeasureRule {
	items := p.list(n, "measures")
	if n.Kind == yaml.SequenceNode && len(items) == 0 {
		p.fail(n, "measures", dsl.ErrMissing, "no measures: want at least one")
	}
	var out []MeasureRule
	where := map[string]*yaml.Node{}
	for i, item := range items {
		path := fmt.Sprintf("measures[%d]", i)
		m, ok := p.measure(item, path, def)
		if !ok {
			continue
		}
		if prev, dup := where[m.Key()]; dup {
			p.fail(item, path, dsl.ErrDuplicate, "measure %s group %s is already listed at line %d", m.ID, m.Group, prev.Line)
			continue
		}
		where[m.Key()] = item
		out = append(out, m)
	}
	return out
}

func (p *parser) measure(n *yaml.Node, path string, def improvementDefaults) (MeasureRule, bool) {
	o := p.object(n, path)
	m := MeasureRule{Pos: dsl.Pos{File: p.file, Line: n.Line, Col: n.Column}, Weight: one,
		GapClosure: def.gapClosure, MinDenominator: def.minDenominator, Decimals: def.decimals}
	ok := true
	if v := o.need("id"); v != nil {
		m.ID, ok = p.text(v, path+".id")
	} else {
		ok = false
	}
	if v := o.need("group"); v != nil {
		var good bool
		m.Group, good = p.text(v, path+".group")
		ok = ok && good
	} else {
		ok = false
	}
	if v := o.take("title"); v != nil {
		m.Title, _ = p.text(v, path+".title")
	}
	if v := o.take("unit"); v != nil {
		if u, good := p.choice(v, path+".unit", unitNames); good {
			m.Unit = Unit(u)
		}
	}
	if v := o.take("inverse"); v != nil {
		m.Inverse, _ = p.flag(v, path+".inverse")
	}
	if v := o.need("benchmark"); v != nil {
		m.Benchmark, _ = p.measureValue(v, path+".benchmark", m.Unit)
	}
	if v := o.take("gap_closure"); v != nil {
		m.GapClosure, _ = p.fraction(v, path+".gap_closure")
	}
	switch v := o.take("floor"); {
	case v != nil:
		m.Floor, _ = p.measureValue(v, path+".floor", m.Unit)
	case m.Unit == UnitPercent:
		m.Floor = def.floor
	case m.Unit == UnitFraction:
		m.Floor = def.floor.mul(RatioOf(1, 100))
	default:
		p.fail(n, path, dsl.ErrMissing, "a %s measure needs its own floor, in its unit (improvement.floor is in percentage points)", m.Unit)
	}
	if v := o.take("min_denominator"); v != nil {
		m.MinDenominator, _ = p.count(v, path+".min_denominator")
	}
	if v := o.take("decimals"); v != nil {
		m.Decimals = p.decimals(v, path+".decimals")
	}
	if v := o.take("weight"); v != nil {
		if w, good := p.number(v, path+".weight"); good {
			if w.Sign() < 0 {
				p.fail(v, path+".weight", dsl.ErrInvalid, "%s: want 0 or more points", w)
			}
			m.Weight = w
		}
	}
	if v := o.take("challenge"); v != nil {
		m.Challenge, _ = p.flag(v, path+".challenge")
	}
	o.close()
	return m, ok
}

func (p *parser) pool(n *yaml.Node, total Ratio) PoolRule {
	o := p.object(n, "quality_pool")
	var r PoolRule
	if v := o.need("rate"); v != nil {
		r.Rate, _ = p.fraction(v, "quality_pool.rate")
	}
	thresholds := o.take("thresholds")
	method := o.take("method")
	switch {
	case method != nil:
		if m, ok := p.choice(method, "quality_pool.method", []string{"thresholds", "proportional"}); ok {
			r.Method = EarnMethod(m)
		}
	case thresholds == nil:
		r.Method = EarnProportional
	}
	if r.Method == EarnThresholds && thresholds == nil && method != nil {
		p.fail(method, "quality_pool.method", dsl.ErrMissing, "method thresholds needs a list of thresholds ({points: N, share: X})")
	}
	if r.Method == EarnProportional && thresholds != nil {
		p.fail(thresholds, "quality_pool.thresholds", dsl.ErrInvalid, "thresholds are for method thresholds; method proportional pays points met / points possible")
	}
	if thresholds != nil && r.Method == EarnThresholds {
		r.Thresholds = p.thresholds(thresholds, total)
	}
	o.close()
	return r
}

func (p *parser) thresholds(n *yaml.Node, total Ratio) []Threshold {
	var out []Threshold
	items := p.list(n, "quality_pool.thresholds")
	if n.Kind == yaml.SequenceNode && len(items) == 0 {
		p.fail(n, "quality_pool.thresholds", dsl.ErrMissing, "no thresholds")
	}
	for i, item := range items {
		path := fmt.Sprintf("quality_pool.thresholds[%d]", i)
		o := p.object(item, path)
		var t Threshold
		ok := true
		if v := o.need("points"); v != nil {
			var good bool
			if t.Points, good = p.number(v, path+".points"); good {
				switch {
				case t.Points.Sign() <= 0:
					p.fail(v, path+".points", dsl.ErrInvalid, "%s: want more than 0 points", t.Points)
				case total.Sign() > 0 && t.Points.Cmp(total) > 0:
					p.fail(v, path+".points", dsl.ErrInvalid, "%s points can never be reached: the measures carry %s", t.Points, total)
				case len(out) > 0 && t.Points.Cmp(out[len(out)-1].Points) <= 0:
					p.fail(v, path+".points", dsl.ErrInvalid, "%s points: want thresholds in increasing order of points (the one before has %s)", t.Points, out[len(out)-1].Points)
				}
			}
			ok = good
		} else {
			ok = false
		}
		if v := o.need("share"); v != nil {
			var good bool
			if t.Share, good = p.fraction(v, path+".share"); good && len(out) > 0 && t.Share.Cmp(out[len(out)-1].Share) < 0 {
				p.fail(v, path+".share", dsl.ErrInvalid, "%s: a higher threshold may not earn less than the one before (%s)", t.Share.Percent(), out[len(out)-1].Share.Percent())
			}
			ok = ok && good
		} else {
			ok = false
		}
		o.close()
		if ok {
			out = append(out, t)
		}
	}
	return out
}

func (p *parser) savings(n *yaml.Node) *SavingsRule {
	const at = "shared_savings."
	o := p.object(n, "shared_savings")
	s := &SavingsRule{}
	if v := o.need("minimum_savings_rate"); v != nil {
		s.MSR, _ = p.fraction(v, at+"minimum_savings_rate")
	}
	if v := o.take("msr_basis"); v != nil {
		if b, ok := p.choice(v, at+"msr_basis", []string{"above_msr", "first_dollar"}); ok {
			s.MSRBasis = MSRBasis(b)
		}
	}
	if v := o.need("sharing_rate"); v != nil {
		s.SharingRate, _ = p.fraction(v, at+"sharing_rate")
	}
	if v := o.take("quality"); v != nil {
		q := p.object(v, at+"quality")
		if m := q.need("method"); m != nil {
			if c, ok := p.choice(m, at+"quality.method", []string{"none", "gate", "linear"}); ok {
				s.Quality = QualityMethod(c)
			}
		}
		switch ms := q.take("min_score"); {
		case ms != nil:
			s.MinScore, _ = p.fraction(ms, at+"quality.min_score")
		case s.Quality == QualityGate:
			p.fail(v, at+"quality", dsl.ErrMissing, "a gate needs min_score, the quality score that earns shared savings")
		}
		q.close()
	}
	if v := o.take("cap"); v != nil {
		if c, ok := p.fraction(v, at+"cap"); ok {
			s.Cap = &c
		}
	}
	if v := o.take("corridor"); v != nil {
		s.Corridor, _ = p.fraction(v, at+"corridor")
	}
	if v := o.take("risk_rate"); v != nil {
		s.RiskRate, _ = p.fraction(v, at+"risk_rate")
	}
	if v := o.take("risk_cap"); v != nil {
		if c, ok := p.fraction(v, at+"risk_cap"); ok {
			s.RiskCap = &c
		}
	}
	o.close()
	return s
}

// object is a YAML mapping being read key by key. Every key a reader asks
// for, present or not, is a known key; close reports the others.
type object struct {
	p     *parser
	path  string
	node  *yaml.Node
	keys  []*yaml.Node
	vals  map[string]*yaml.Node
	known []string
}

func (p *parser) object(n *yaml.Node, path string) *object {
	n = deref(n)
	o := &object{p: p, path: path, node: n, vals: map[string]*yaml.Node{}}
	if n.Kind != yaml.MappingNode {
		p.fail(n, path, dsl.ErrInvalid, "want a mapping of keys, got %s", describe(n))
		return o
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if _, dup := o.vals[k.Value]; dup {
			p.fail(k, sub(path, k.Value), dsl.ErrDuplicate, "key %q given twice", k.Value)
			continue
		}
		o.keys = append(o.keys, k)
		o.vals[k.Value] = deref(n.Content[i+1])
	}
	return o
}

// take returns the value of key, or nil when it is absent.
func (o *object) take(key string) *yaml.Node {
	o.known = append(o.known, key)
	return o.vals[key]
}

// key returns the node of key itself, for errors about its whole value.
func (o *object) key(key string) *yaml.Node {
	for _, k := range o.keys {
		if k.Value == key {
			return k
		}
	}
	return o.node
}

// need is take for a key that must be present.
func (o *object) need(key string) *yaml.Node {
	v := o.take(key)
	if v == nil && o.node.Kind == yaml.MappingNode {
		o.p.fail(o.node, o.path, dsl.ErrMissing, "missing key %q", key)
	}
	return v
}

// close reports every key no reader asked for.
func (o *object) close() {
	for _, k := range o.keys {
		if slicesContains(o.known, k.Value) {
			continue
		}
		msg := fmt.Sprintf("unknown key %q", k.Value)
		if near := nearest(k.Value, o.known); near != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", near)
		} else {
			msg += "; want one of " + strings.Join(o.known, ", ")
		}
		o.p.fail(k, sub(o.path, k.Value), dsl.ErrUnknownKey, "%s", msg)
	}
}

func slicesContains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

func sub(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	if n.Tag == "!!null" {
		return "nothing"
	}
	return fmt.Sprintf("%q", n.Value)
}

// scalar returns n's text when it is a single non-null value.
func (p *parser) scalar(n *yaml.Node, path, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.fail(n, path, dsl.ErrInvalid, "want %s, got %s", want, describe(n))
		return "", false
	}
	return n.Value, true
}

func (p *parser) text(n *yaml.Node, path string) (string, bool) {
	s, ok := p.scalar(n, path, "a name")
	if ok && strings.TrimSpace(s) == "" {
		p.fail(n, path, dsl.ErrInvalid, "empty: want a name")
		return "", false
	}
	return s, ok
}

func (p *parser) list(n *yaml.Node, path string) []*yaml.Node {
	n = deref(n)
	if n.Kind != yaml.SequenceNode {
		p.fail(n, path, dsl.ErrInvalid, "want a list, got %s", describe(n))
		return nil
	}
	return n.Content
}

func (p *parser) number(n *yaml.Node, path string) (Ratio, bool) {
	s, ok := p.scalar(n, path, "a number")
	if !ok {
		return Ratio{}, false
	}
	r, err := ParseRatio(s)
	if err != nil {
		p.fail(n, path, dsl.ErrInvalid, "%q: want a decimal number such as 12.5 or 4.25%%", s)
		return Ratio{}, false
	}
	return r, true
}

// fraction reads a rate from 0 to 1, written as a fraction (0.5) or a
// percentage (50%).
func (p *parser) fraction(n *yaml.Node, path string) (Ratio, bool) {
	r, ok := p.number(n, path)
	if ok && !isFraction(r) {
		p.fail(n, path, dsl.ErrInvalid, "%s: want a fraction from 0 to 1 or a percentage from 0%% to 100%%", n.Value)
		return r, false
	}
	return r, ok
}

// measureValue reads a benchmark or floor in unit u. A percent value may
// carry a "%" (73.4 and 73.4% are the same); other units may not.
func (p *parser) measureValue(n *yaml.Node, path string, u Unit) (Ratio, bool) {
	s, ok := p.scalar(n, path, "a number")
	if !ok {
		return Ratio{}, false
	}
	t := strings.TrimSpace(s)
	if u == UnitPercent {
		t = strings.TrimSuffix(t, "%")
	}
	r, err := ParseRatio(t)
	if err != nil || strings.HasSuffix(t, "%") {
		p.fail(n, path, dsl.ErrInvalid, "%q: want a decimal number in the measure's unit (%s)", s, u)
		return Ratio{}, false
	}
	switch hi := map[Unit]int64{UnitPercent: 100, UnitFraction: 1}[u]; {
	case r.Sign() < 0:
		p.fail(n, path, dsl.ErrInvalid, "%s: want 0 or more", s)
		return r, false
	case hi > 0 && r.Cmp(RatioOf(hi, 1)) > 0:
		p.fail(n, path, dsl.ErrInvalid, "%s: a %s value is at most %d", s, u, hi)
		return r, false
	}
	return r, true
}

func (p *parser) integer(n *yaml.Node, path string) (int64, bool) {
	s, ok := p.scalar(n, path, "a whole number")
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		p.fail(n, path, dsl.ErrInvalid, "%q: want a whole number", s)
		return 0, false
	}
	return v, true
}

func (p *parser) count(n *yaml.Node, path string) (int64, bool) {
	v, ok := p.integer(n, path)
	if ok && v < 0 {
		p.fail(n, path, dsl.ErrInvalid, "%d: want 0 or more", v)
		return 0, false
	}
	return v, ok
}

func (p *parser) decimals(n *yaml.Node, path string) int {
	v, ok := p.integer(n, path)
	if !ok {
		return -1
	}
	if v < 0 || v > 6 {
		p.fail(n, path, dsl.ErrInvalid, "%d: want 0 to 6 decimals", v)
		return -1
	}
	return int(v)
}

func (p *parser) flag(n *yaml.Node, path string) (bool, bool) {
	s, ok := p.scalar(n, path, "true or false")
	if !ok {
		return false, false
	}
	switch s {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	p.fail(n, path, dsl.ErrInvalid, "%q: want true or false", s)
	return false, false
}

func (p *parser) money(n *yaml.Node, path string, positive bool) (Cents, bool) {
	s, ok := p.scalar(n, path, "an amount of dollars")
	if !ok {
		return 0, false
	}
	c, err := ParseCents(s)
	if err != nil {
		p.fail(n, path, dsl.ErrInvalid, "%v", err)
		return 0, false
	}
	if c < 0 || (positive && c == 0) {
		p.fail(n, path, dsl.ErrInvalid, "%s: want an amount more than $0.00", s)
		return 0, false
	}
	return c, true
}

func (p *parser) choice(n *yaml.Node, path string, options []string) (int, bool) {
	s, ok := p.scalar(n, path, "one of "+strings.Join(options, ", "))
	if !ok {
		return 0, false
	}
	for i, o := range options {
		if s == o {
			return i, true
		}
	}
	msg := fmt.Sprintf("%q: want one of %s", s, strings.Join(options, ", "))
	if near := nearest(s, options); near != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", near)
	}
	p.fail(n, path, dsl.ErrInvalid, "%s", msg)
	return 0, false
}

// nearest returns the candidate closest to s by optimal string alignment
// distance (an edit is an insertion, deletion, substitution or swap of
// neighbours), when it is at most a third of the longer word's length,
// for "did you mean" hints; "" when none is that close.
func nearest(s string, candidates []string) string {
	best, bestD := "", 0
	for _, c := range candidates {
		d := osaDistance(strings.ToLower(s), c)
		if d*3 > max(len(s), len(c)) {
			continue
		}
		if best == "" || d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func osaDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 0
			if a[i-1] != b[j-1] {
				cost = 1
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
