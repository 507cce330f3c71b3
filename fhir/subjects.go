package fhir

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/caremetrics/caremetrics/dsl"
	"github.com/caremetrics/caremetrics/eval"
	"github.com/caremetrics/caremetrics/metric"
)

// ErrNoMemberDetail is returned by NewSubjects for an evaluation made
// without eval.WithMemberDetail.
var ErrNoMemberDetail = errors.New("fhir: subject lists need an evaluation with eval.WithMemberDetail")

// Subjects holds which members are in which population of every group and
// stratum, taken from an evaluation's member-level detail, for
// subject-list reports (WithSubjects). It is immutable once made and safe
// for concurrent use. It holds every member id once per population it is
// in, so it is meant for cohorts one reviews member by member.
type Subjects struct {
	measures map[string]*measureSubjects
}

type measureSubjects struct {
	episode bool
	groups  map[string]*groupSubjects
}

// members holds member ids per population, in member id order.
type members [len(metric.Populations)][]string

type groupSubjects struct {
	all members
	// strata[stratifier id][values joined by "|"]
	strata map[string]map[string]*members
}

// lists returns the group's members, nil for a nil group.
func (g *groupSubjects) lists() *members {
	if g == nil {
		return nil
	}
	return &g.all
}

func (m *members) add(id string, ms metric.Membership) {
	for _, p := range metric.Populations {
		if ms.Has(p) {
			m[p] = append(m[p], id)
		}
	}
}

// NewSubjects collects the members of every population of res, an
// evaluation of measures ms made with eval.WithMemberDetail. ms names the
// measures' stratifiers, which the member detail gives by position.
//
// For an episode measure a member counts in a population when any of its
// episodes does, and strata get no member lists, since a member's episodes
// may fall in different strata.
func NewSubjects(res *eval.Result, ms []*dsl.Measure) (*Subjects, error) {
	if !res.HasDetail() {
		return nil, ErrNoMemberDetail
	}
	s := &Subjects{measures: make(map[string]*measureSubjects, len(ms))}
	type layout struct {
		ms      *measureSubjects
		strats  []string
		groupOf map[string]int
		m       *dsl.Measure
	}
	lay := map[string]*layout{}
	for _, m := range ms {
		mm := &measureSubjects{episode: m.Basis() == "episode", groups: map[string]*groupSubjects{}}
		l := &layout{ms: mm, strats: m.StratifierIDs(), groupOf: map[string]int{}, m: m}
		for i, g := range m.GroupIDs() {
			l.groupOf[g] = i
		}
		s.measures[m.ID()] = mm
		lay[m.ID()] = l
	}
	var err error
	res.Members(func(row eval.MemberRow) bool {
		if row.Membership == 0 {
			return true
		}
		l := lay[row.Measure]
		if l == nil {
			err = fmt.Errorf("fhir: member detail of measure %q, which is not among the measures given", row.Measure)
			return false
		}
		gs := l.ms.groups[row.Group]
		if gs == nil {
			gs = &groupSubjects{strata: map[string]map[string]*members{}}
			l.ms.groups[row.Group] = gs
		}
		gs.all.add(row.MemberID, row.Membership)
		if l.ms.episode {
			return true
		}
		if len(row.Strata) != len(l.strats) {
			err = fmt.Errorf("fhir: measure %q: member detail has %d strata for %d stratifiers", row.Measure, len(row.Strata), len(l.strats))
			return false
		}
		g := l.groupOf[row.Group]
		for si, v := range row.Strata {
			if v == "" || !l.m.StratifierApplies(si, g) {
				continue
			}
			byKey := gs.strata[l.strats[si]]
			if byKey == nil {
				byKey = map[string]*members{}
				gs.strata[l.strats[si]] = byKey
			}
			for _, key := range uniqueSplit(v) {
				m := byKey[key]
				if m == nil {
					m = &members{}
					byKey[key] = m
				}
				m.add(row.MemberID, row.Membership)
			}
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// uniqueSplit splits a member's strata (values joined by ";", a cross's
// components by "|") into distinct keys, in order.
func uniqueSplit(v string) []string {
	var out []string
	for _, k := range strings.Split(v, ";") {
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

// patientList returns the contained List id of the members ids.
func patientList(id string, ids []string) *List {
	l := &List{ResourceType: "List", ID: id, Status: "current", Mode: "snapshot", Entry: make([]ListEntry, len(ids))}
	for i, m := range ids {
		l.Entry[i].Item = PatientReference(m)
	}
	return l
}

// PatientReference returns the reference to a member: "Patient/<id>" when
// the member id is a valid FHIR id, else a logical reference of type
// Patient by identifier value.
func PatientReference(memberID string) Reference {
	if isID(memberID) {
		return Reference{Reference: "Patient/" + memberID}
	}
	return Reference{Type: "Patient", Identifier: &Identifier{Value: memberID}}
}
