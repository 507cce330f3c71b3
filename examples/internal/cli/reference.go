package cli

import (
	"fmt"
	"slices"
	"strings"

	"github.com/caremetrics/caremetrics/metric"
)

// ReferenceRule is the parsed -reference flag of the commands that compute
// equity statistics: a default kind, an optional
// stratum name used by every stratifier that has such a stratum, and named
// strata per stratifier. It becomes one metric.Reference per stratifier.
type ReferenceRule struct {
	kind metric.ReferenceKind
	// name is a bare NAME: the stratum of that single value, wherever one
	// exists.
	name string
	// by maps a stratifier id to the values of its reference stratum.
	by    map[string][]string
	order []string // by's keys in flag order
}

// ParseReference parses "largest", "best", "overall", a stratum NAME, or
// comma-separated STRATIFIER=NAME pairs with at most one default among
// the others. A cross stratifier's values are joined with "|"
// (race×language=white|en).
func ParseReference(s string) (ReferenceRule, error) {
	r := ReferenceRule{kind: metric.ReferenceLargest, by: map[string][]string{}}
	haveKind := false
	for _, tok := range strings.Split(s, ",") {
		tok = strings.TrimSpace(tok)
		if tok == "" {
			return r, fmt.Errorf("-reference %q: empty item", s)
		}
		if id, vals, ok := strings.Cut(tok, "="); ok {
			id = strings.TrimSpace(id)
			values := strings.Split(vals, "|")
			if id == "" || slices.Contains(values, "") {
				return r, fmt.Errorf("-reference %q: %q: want STRATIFIER=NAME", s, tok)
			}
			if _, dup := r.by[id]; dup {
				return r, fmt.Errorf("-reference %q: stratifier %s named twice", s, id)
			}
			r.by[id] = values
			r.order = append(r.order, id)
			continue
		}
		var k metric.ReferenceKind
		if err := k.UnmarshalText([]byte(tok)); err == nil && k != metric.ReferenceNamed {
			if haveKind {
				return r, fmt.Errorf("-reference %q: more than one of largest, best, overall", s)
			}
			r.kind, haveKind = k, true
			continue
		}
		if r.name != "" {
			return r, fmt.Errorf("-reference %q: more than one stratum name (%s, %s); use STRATIFIER=NAME", s, r.name, tok)
		}
		r.name = tok
	}
	return r, nil
}

// Check reports a named stratifier or stratum that the report does not
// have, so that a misspelt name does not silently fall back to the
// default.
func (r ReferenceRule) Check(rep *metric.Report) error {
	ids := map[string]bool{}
	var idOrder []string
	found := map[string]bool{}
	nameFound := false
	for _, m := range rep.Measures {
		for _, g := range m.Groups {
			for si := range g.Stratifiers {
				st := &g.Stratifiers[si]
				if !ids[st.ID] {
					ids[st.ID] = true
					idOrder = append(idOrder, st.ID)
				}
				if v, ok := r.by[st.ID]; ok && st.Stratum(v...) != nil {
					found[st.ID] = true
				}
				if r.name != "" && st.Stratum(r.name) != nil {
					nameFound = true
				}
			}
		}
	}
	for _, id := range r.order {
		if !ids[id] {
			return fmt.Errorf("-reference %s=%s: no stratifier %q in the report (it has %s)", id, strings.Join(r.by[id], "|"), id, strings.Join(idOrder, ", "))
		}
		if !found[id] {
			return fmt.Errorf("-reference %s=%s: stratifier %s has no stratum %q", id, strings.Join(r.by[id], "|"), id, strings.Join(r.by[id], " × "))
		}
	}
	if r.name != "" && !nameFound {
		return fmt.Errorf("-reference %s: not largest, best or overall, and no stratifier in the report has a stratum %q", r.name, r.name)
	}
	return nil
}

// For returns the reference of stratifier st of a measure.
func (r ReferenceRule) For(st *metric.Stratifier, lowerIsBetter bool) metric.Reference {
	if v, ok := r.by[st.ID]; ok {
		return metric.Reference{Kind: metric.ReferenceNamed, Values: v}
	}
	if r.name != "" && st.Stratum(r.name) != nil {
		return metric.Reference{Kind: metric.ReferenceNamed, Values: []string{r.name}}
	}
	return metric.Reference{Kind: r.kind, LowerIsBetter: lowerIsBetter}
}

// Describe says in words how the page's references are chosen.
func (r ReferenceRule) Describe() string {
	var parts []string
	for _, id := range r.order {
		parts = append(parts, fmt.Sprintf("%s: %s", id, strings.Join(r.by[id], " × ")))
	}
	if r.name != "" {
		parts = append(parts, fmt.Sprintf("the stratum %s where there is one", r.name))
	}
	def := kindText(r.kind)
	if len(parts) == 0 {
		return def
	}
	return strings.Join(parts, "; ") + "; otherwise " + def
}

func kindText(k metric.ReferenceKind) string {
	switch k {
	case metric.ReferenceBest:
		return "the stratum with the best rate"
	case metric.ReferenceOverall:
		return "the group's overall rate (each stratum compared with the rest of the group)"
	default:
		return "the stratum with the largest denominator"
	}
}
