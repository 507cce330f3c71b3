package eval

import (
	"context"
	"math/rand/v2"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caremetrics/caremetrics/dsl"
	"github.com/caremetrics/caremetrics/metric"
)

// scopedMeasure reads Dx only on claims with an ED visit, and the visits
// whole.
const scopedMeasure = `id: scoped
title: Scoped
period: {start: 2025-01-01, end: 2025-12-31}
valuesets: [vs.yaml]
define:
  ed_dx: sameClaim(events("Dx"), events("ED"))
groups:
  g: {initial_population: "true", denominator: exists(events("Visit")) || exists(events("ED")), numerator: exists(ed_dx)}
`

const scopedValueSets = `
valuesets:
  - name: Dx
    codes: {ICD10CM: ["F10-F19"]}
  - name: ED
    codes: {CPT: ["99281-99285"]}
  - name: Visit
    codes: {CPT: ["99202-99215"]}
`

func scopedRequirements(t *testing.T) *dsl.Requirements {
	t.Helper()
	m, err := dsl.Compile("scoped.yaml", []byte(scopedMeasure), fstest.MapFS{"vs.yaml": {Data: []byte(scopedValueSets)}})
	require.NoError(t, err)
	req := dsl.RequirementsOf(m)
	require.Len(t, req.ClaimScopes, 1, "Dx is read only through sameClaim")
	return &req
}

// scopeCodes interns the test's codes: a diagnosis (scoped), an ED visit
// (its anchor), an office visit (read whole).
func scopeCodes(d *Data) (dx, ed, visit CodeID) {
	return d.Codes.Intern("ICD10CM", "F10"), d.Codes.Intern("CPT", "99283"), d.Codes.Intern("CPT", "99213")
}

func TestScopeClaimsMember(t *testing.T) {
	req := scopedRequirements(t)
	type row struct {
		code  string // dx, ed or visit
		claim uint64
	}
	for _, tc := range []struct {
		name string
		rows []row
		keep []int // indexes of the rows kept, in order
	}{
		{"diagnosis on the ED claim", []row{{"dx", 7}, {"ed", 7}}, []int{0, 1}},
		{"diagnosis on another claim", []row{{"dx", 8}, {"ed", 7}}, []int{1}},
		{"diagnosis without a claim", []row{{"dx", 0}, {"ed", 7}}, []int{1}},
		{"ED visit without a claim anchors nothing", []row{{"ed", 0}, {"dx", 0}}, []int{0}},
		{"no anchor at all", []row{{"dx", 1}, {"dx", 2}, {"visit", 1}}, []int{2}},
		{"rows read whole stay on any claim", []row{{"visit", 0}, {"visit", 9}}, []int{0, 1}},
		{"anchor after the diagnosis", []row{{"visit", 3}, {"dx", 5}, {"dx", 6}, {"ed", 5}}, []int{0, 1, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := &Data{}
			dx, ed, visit := scopeCodes(d)
			ids := map[string]CodeID{"dx": dx, "ed": ed, "visit": visit}
			// A member before and after, with rows of their own, so that
			// the compaction's moves and offsets are checked too.
			d.Members = make([]Member, 3)
			d.Events = append(d.Events, Event{Code: dx, Claim: 1}, Event{Code: ed, Claim: 1})
			d.Members[0].EventsEnd = 2
			d.Members[1].EventsStart = 2
			for i, r := range tc.rows {
				d.Events = append(d.Events, Event{Code: ids[r.code], Claim: r.claim, Value: float64(i)})
			}
			d.Members[1].EventsEnd = int32(len(d.Events))
			d.Members[2].EventsStart = int32(len(d.Events))
			d.Events = append(d.Events, Event{Code: dx, Claim: 2}, Event{Code: visit, Claim: 2})
			d.Members[2].EventsEnd = int32(len(d.Events))

			dropped, err := scopeClaims(context.Background(), d, req)
			require.NoError(t, err)
			assert.Equal(t, int64(len(tc.rows)-len(tc.keep))+1, dropped, "member 2's diagnosis has no ED visit")
			var kept []int
			for _, e := range d.Events[d.Members[1].EventsStart:d.Members[1].EventsEnd] {
				kept = append(kept, int(e.Value))
			}
			assert.Equal(t, tc.keep, kept)
			assert.Len(t, d.Events[d.Members[0].EventsStart:d.Members[0].EventsEnd], 2)
			assert.Equal(t, []Event{{Code: visit, Claim: 2}}, d.Events[d.Members[2].EventsStart:d.Members[2].EventsEnd])
			assert.Equal(t, d.Members[2].EventsEnd, int32(len(d.Events)))
		})
	}
}

// TestScopeClaimsCohort checks the compaction over many blocks and the
// binary-search path (members with more than linearAnchors ED visits)
// against a direct statement of the rule.
func TestScopeClaimsCohort(t *testing.T) {
	req := scopedRequirements(t)
	d := &Data{}
	dx, ed, visit := scopeCodes(d)
	rng := rand.New(rand.NewPCG(4, 2))
	n := 3*scopeBlock + 17
	d.Members = make([]Member, n)
	var want []Event
	for i := range d.Members {
		m := &d.Members[i]
		m.EventsStart = int32(len(d.Events))
		rows := rng.IntN(8)
		if i%97 == 0 {
			rows = 200 // many ED visits: the sorted anchors
		}
		for range rows {
			code := []CodeID{dx, dx, ed, visit}[rng.IntN(4)]
			d.Events = append(d.Events, Event{Code: code, Claim: uint64(rng.IntN(12)), Value: float64(len(d.Events)), End: metric.Date(i)}) // End tags the row's member
		}
		m.EventsEnd = int32(len(d.Events))
		events := d.Events[m.EventsStart:m.EventsEnd]
		for _, e := range events {
			anchored := false
			for _, a := range events {
				anchored = anchored || a.Code == ed && a.Claim != 0 && a.Claim == e.Claim
			}
			if e.Code != dx || anchored {
				want = append(want, e)
			}
		}
	}
	total := len(d.Events)
	dropped, err := scopeClaims(context.Background(), d, req)
	require.NoError(t, err)
	assert.Equal(t, int64(total-len(want)), dropped)
	require.Equal(t, want, d.Events)
	for i, m := range d.Members {
		for _, e := range d.Events[m.EventsStart:m.EventsEnd] {
			require.Equal(t, metric.Date(i), e.End, "member %d holds another member's row", i)
		}
		if i > 0 {
			require.Equal(t, d.Members[i-1].EventsEnd, m.EventsStart)
		}
	}
}

func TestScopeClaimsWithoutScopesKeepsEverything(t *testing.T) {
	d := synthetic(100, 1)
	n := len(d.Events)
	for _, req := range []*dsl.Requirements{nil, {}} {
		dropped, err := scopeClaims(context.Background(), d, req)
		require.NoError(t, err)
		assert.Zero(t, dropped)
		assert.Len(t, d.Events, n)
	}
}
