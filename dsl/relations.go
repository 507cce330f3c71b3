package dsl

import (
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/caremetrics/caremetrics/metric"
)

// Sums between a measure's rows, declared in its YAML so that small-cell
// suppression (metric.Suppress) can protect them: a published total less
// published parts must not reveal a suppressed part.
//
//	group_sums:
//	  total: [age_1_5, age_6_14]          # every population, overall and per stratum
//	relations:
//	  - {total: age_1_5, parts: ["total/age_band=1-5"]}   # a group equals a stratum of another
//
// A row is a group id, or "group/stratifier=value" (a cross's values
// joined by "|").

// GroupSums returns the measure's declared group sums.
func (m *Measure) GroupSums() []metric.GroupSum { return slices.Clone(m.groupSums) }

// Relations returns the measure's declared row relations.
func (m *Measure) Relations() []metric.Relation { return slices.Clone(m.relations) }

func (c *checker) compileGroupSums(n *yaml.Node) {
	s := c.src
	f, keys := s.fields(n, "group_sums")
	for _, k := range keys {
		p := "group_sums." + k
		if !c.knownGroup(keyOf(n, k), "group_sums", k) {
			continue
		}
		gs := metric.GroupSum{Measure: c.m.id, Total: k}
		for _, item := range s.list(f[k], p) {
			if c.knownGroup(item, p, item.Value) {
				gs.Parts = append(gs.Parts, item.Value)
			}
		}
		if len(gs.Parts) == 0 {
			s.errorf(f[k], p, ErrMissing, "a group sum needs its parts")
			continue
		}
		c.m.groupSums = append(c.m.groupSums, gs)
	}
}

func (c *checker) compileRelations(n *yaml.Node) {
	s := c.src
	for i, item := range s.list(n, "relations") {
		p := "relations[" + strconv.Itoa(i) + "]"
		f, _ := s.fields(item, p, "total", "parts")
		if f == nil {
			continue
		}
		rel := metric.Relation{Measure: c.m.id}
		tn, ok := f["total"]
		if !ok {
			s.errorf(item, p, ErrMissing, "missing total")
			continue
		}
		total, ok := c.rowRef(tn, p+".total")
		if !ok {
			continue
		}
		rel.Total = total
		if pn, ok := f["parts"]; ok {
			for _, part := range s.list(pn, p+".parts") {
				if r, ok := c.rowRef(part, p+".parts"); ok {
					rel.Parts = append(rel.Parts, r)
				}
			}
		}
		if len(rel.Parts) == 0 {
			s.errorf(item, p, ErrMissing, "a relation needs its parts")
			continue
		}
		c.m.relations = append(c.m.relations, rel)
	}
}

// rowRef parses "group" or "group/stratifier=value|value".
func (c *checker) rowRef(n *yaml.Node, path string) (metric.RowRef, bool) {
	v, ok := c.src.scalar(n, path)
	if !ok {
		return metric.RowRef{}, false
	}
	group, rest, hasStratum := strings.Cut(v, "/")
	if !c.knownGroup(n, path, group) {
		return metric.RowRef{}, false
	}
	ref := metric.RowRef{Group: group}
	if !hasStratum {
		return ref, true
	}
	strat, values, ok := strings.Cut(rest, "=")
	if !ok || values == "" {
		c.src.errorf(n, path, ErrInvalid, "row %q: want group or group/stratifier=value", v)
		return metric.RowRef{}, false
	}
	if !slices.ContainsFunc(c.m.strats, func(st *stratifier) bool { return st.id == strat }) {
		c.src.errorf(n, path, ErrUnknownName, "row %q: unknown stratifier %q", v, strat)
		return metric.RowRef{}, false
	}
	ref.Stratifier, ref.Values = strat, strings.Split(values, "|")
	return ref, true
}

func (c *checker) knownGroup(n *yaml.Node, path, id string) bool {
	if slices.ContainsFunc(c.m.groups, func(g *group) bool { return g.id == id }) {
		return true
	}
	c.src.errorf(n, path, ErrUnknownName, "unknown group %q", id)
	return false
}
