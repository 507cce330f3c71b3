package dsl

import (
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/caremetrics/caremetrics/metric"
)

// Gaps in care: for a member in a group's denominator but not in its
// numerator, the measure's gaps section says in words which criteria are
// unmet and until when the gap can be closed:
//
//	gaps:
//	  criteria:
//	    dtap: {unmet: "!dtap", text: "DTaP: {countDates(dtap_doses)} of 4 doses by {second_birthday|date}"}
//	  groups:
//	    dtap: {criteria: [dtap], close_by: second_birthday}
//
// A text's {expression} is replaced by its value for the member; {x|date}
// prints an int as a date; {{ and }} are literal braces.

type gapCriterion struct {
	name  string
	unmet func(*Runner) bool
	text  []textPart
}

// textPart is a literal, or an expression to print.
type textPart struct {
	lit  string
	fn   compiled
	date bool
}

type groupGaps struct {
	criteria []int // indexes into Measure.criteria
	closeBy  func(*Runner) int64
}

var gapKeys = []string{"criteria", "groups"}

func (c *checker) compileGaps(n *yaml.Node) {
	s := c.src
	f, _ := s.fields(n, "gaps", gapKeys...)
	if f == nil {
		return
	}
	byName := map[string]int{}
	if cn, ok := f["criteria"]; ok {
		cf, keys := s.fields(cn, "gaps.criteria")
		for _, k := range keys {
			p := "gaps.criteria." + k
			kf, _ := s.fields(cf[k], p, "unmet", "text")
			if kf == nil {
				continue
			}
			crit := gapCriterion{name: k}
			if u, ok := kf["unmet"]; ok {
				crit.unmet = c.compileKind(u, p+".unmet", kBool, "unmet must be bool (true when the criterion is not met)").b
			} else {
				s.errorf(cf[k], p, ErrMissing, "missing unmet (when the criterion is not met: a bool expression)")
			}
			if tn, ok := kf["text"]; ok {
				crit.text = c.compileTemplate(tn, p+".text")
			} else {
				s.errorf(cf[k], p, ErrMissing, "missing text")
			}
			byName[k] = len(c.m.criteria)
			c.m.criteria = append(c.m.criteria, crit)
		}
	}
	gn, ok := f["groups"]
	if !ok {
		s.errorf(n, "gaps", ErrMissing, "missing groups (which criteria each group's gap lists)")
		return
	}
	gf, keys := s.fields(gn, "gaps.groups")
	for _, k := range keys {
		p := "gaps.groups." + k
		gi := slices.IndexFunc(c.m.groups, func(g *group) bool { return g.id == k })
		if gi < 0 {
			s.errorf(keyOf(gn, k), "gaps.groups", ErrUnknownName, "unknown group %q", k)
			continue
		}
		kf, _ := s.fields(gf[k], p, "criteria", "close_by")
		if kf == nil {
			continue
		}
		gg := &groupGaps{}
		if cn, ok := kf["criteria"]; ok {
			for _, item := range s.list(cn, p+".criteria") {
				i, ok := byName[item.Value]
				if !ok {
					s.errorf(item, p+".criteria", ErrUnknownName, "unknown criterion %q (define it under gaps.criteria)", item.Value)
					continue
				}
				gg.criteria = append(gg.criteria, i)
			}
		}
		if cb, ok := kf["close_by"]; ok {
			gg.closeBy = c.compileKind(cb, p+".close_by", kInt, "close_by must be a date (an int)").i
		}
		c.m.groups[gi].gaps = gg
	}
}

// compileKind compiles an expression that must be of kind want.
func (c *checker) compileKind(n *yaml.Node, path string, want kind, msg string) compiled {
	text, ok := c.src.scalar(n, path)
	if !ok {
		return compiled{}
	}
	if strings.TrimSpace(text) == "" {
		c.src.errorf(n, path, ErrMissing, "empty expression")
		return compiled{}
	}
	fn := c.compileExpr(n, path, text, want)
	if fn.ok() && fn.k != want {
		c.src.errorf(n, path, ErrType, "%s, not %s", msg, fn.k)
		return compiled{}
	}
	return fn
}

// compileTemplate splits a gap text into literals and {expressions}.
func (c *checker) compileTemplate(n *yaml.Node, path string) []textPart {
	text, ok := c.src.scalar(n, path)
	if !ok {
		return nil
	}
	var parts []textPart
	var lit strings.Builder
	for i := 0; i < len(text); i++ {
		ch := text[i]
		switch {
		case ch == '{' && i+1 < len(text) && text[i+1] == '{', ch == '}' && i+1 < len(text) && text[i+1] == '}':
			lit.WriteByte(ch)
			i++
		case ch == '{':
			end := strings.IndexByte(text[i:], '}')
			if end < 0 {
				c.src.errorf(n, path, ErrSyntax, "unclosed { in gap text (write {{ for a brace)")
				return nil
			}
			expr := text[i+1 : i+end]
			part := textPart{}
			if e, ok := strings.CutSuffix(expr, "|date"); ok && !strings.HasSuffix(e, "|") {
				expr, part.date = e, true
			}
			if lit.Len() > 0 {
				parts = append(parts, textPart{lit: lit.String()})
				lit.Reset()
			}
			part.fn = c.compileExpr(n, path, expr, kInvalid)
			if part.fn.ok() && part.fn.k != kBool && part.fn.k != kInt && part.fn.k != kFloat && part.fn.k != kString {
				c.src.errorf(n, path, ErrType, "gap text {%s} is %s: want a bool, number or string", expr, part.fn.k)
			}
			if part.date && part.fn.ok() && part.fn.k != kInt {
				c.src.errorf(n, path, ErrType, "gap text {%s|date}: a date is an int, not %s", expr, part.fn.k)
			}
			parts = append(parts, part)
			i += end
		case ch == '}':
			c.src.errorf(n, path, ErrSyntax, "unmatched } in gap text (write }} for a brace)")
			return nil
		default:
			lit.WriteByte(ch)
		}
	}
	if lit.Len() > 0 {
		parts = append(parts, textPart{lit: lit.String()})
	}
	return parts
}

// HasGapText reports whether group g defines the words of its gaps.
func (m *Measure) HasGapText(g int) bool { return m.groups[g].gaps != nil }

// Gap is the current member's gap in group g, after Run: the unmet
// criteria in words, and the last day the gap can be closed (NoDate when
// the measure does not say). It is meaningful for a member in the
// denominator and not in the numerator; for a group without gap texts the
// one criterion is the numerator's expression.
func (r *Runner) Gap(g int) (unmet []string, closeBy metric.Date, err error) {
	grp := r.b.m.groups[g]
	closeBy = metric.NoDate
	if grp.gaps == nil {
		return []string{"numerator not met: " + oneLine(grp.src[metric.Numerator])}, closeBy, nil
	}
	r.err = nil
	for _, i := range grp.gaps.criteria {
		crit := &r.b.m.criteria[i]
		if crit.unmet == nil || !crit.unmet(r) {
			continue
		}
		unmet = append(unmet, r.render(crit.text))
	}
	if grp.gaps.closeBy != nil {
		if v := grp.gaps.closeBy(r); validDate(v) && v > -1e6 && v < 1e6 {
			closeBy = metric.Date(v)
		}
	}
	if r.err != nil {
		return nil, metric.NoDate, r.err
	}
	return unmet, closeBy, nil
}

func (r *Runner) render(parts []textPart) string {
	var b strings.Builder
	for _, p := range parts {
		switch {
		case p.lit != "":
			b.WriteString(p.lit)
		case p.date:
			if v := p.fn.i(r); validDate(v) && v > -1e6 && v < 1e6 {
				b.WriteString(metric.Date(v).String())
			} else {
				b.WriteString("no date")
			}
		case p.fn.k == kBool:
			b.WriteString(strconv.FormatBool(p.fn.b(r)))
		case p.fn.k == kInt:
			b.WriteString(strconv.FormatInt(p.fn.i(r), 10))
		case p.fn.k == kFloat:
			b.WriteString(strconv.FormatFloat(p.fn.f(r), 'g', -1, 64))
		case p.fn.k == kString:
			b.WriteString(p.fn.s(r))
		}
	}
	return b.String()
}
