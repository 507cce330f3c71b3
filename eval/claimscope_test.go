package eval

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
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

// The direct Parquet reader applies the claim scopes before grouping the
// events, the other readers after: both keep a scoped row only on a claim
// of the same member that one of its rows anchors; anchors without a
// claim anchor nothing, an unknown member's rows anchor nothing, and a row
// that is scoped itself (place of service 23, kept only on a claim with an
// ED procedure, as in ed_util) anchors what it anchors whether it stays or
// not.
func TestClaimScopesOnEveryReader(t *testing.T) {
	m, err := dsl.Compile("s.yaml", []byte(`id: s
title: Scoped twice
period: {start: 2025-01-01, end: 2025-12-31}
valuesets: [vs.yaml]
define:
  ed_rows: union(events("ED"), sameClaim(events("POS"), events("Procedure")))
  ed_dx: sameClaim(events("Dx"), ed_rows)
groups:
  g: {initial_population: "true", denominator: exists(events("Visit")), numerator: exists(ed_dx)}
`), fstest.MapFS{"vs.yaml": {Data: []byte(scopedValueSets + `
  - name: POS
    codes: {POS: ["23"]}
  - name: Procedure
    codes: {CPT: ["10004-69990"]}
`)}})
	require.NoError(t, err)
	req := dsl.RequirementsOf(m)
	require.Len(t, req.ClaimScopes, 3, "Dx on ED rows, POS on procedures and procedures on POS")

	const header = "member_id,date,end_date,system,code,value,source,claim_id\n"
	rows := "M1,2025-02-01,,ICD10CM,F10.20,,,C1\n" + // kept: M1's ED visit is on C1
		"M1,2025-02-01,,CPT,99283,,,C1\n" +
		"M1,2025-03-01,,ICD10CM,F11.20,,,C2\n" + // dropped: no anchor on C2
		"M2,2025-02-01,,ICD10CM,F12.20,,,C1\n" + // dropped: C1 anchors M1's rows, not M2's
		"M2,2025-04-01,,ICD10CM,F10.20,,,\n" + // dropped: no claim
		"M3,2025-05-01,,CPT,99284,,,\n" + // an ED visit without a claim anchors nothing
		"M3,2025-05-01,,ICD10CM,F10.20,,,\n" + // dropped
		"M3,2025-05-02,,CPT,99213,,,C9\n" + // kept: read whole
		"X9,2025-06-01,,CPT,99285,,,C5\n" + // an unknown member's ED visit
		"M4,2025-06-01,,ICD10CM,F10.20,,,C5\n" + // dropped: X9's visit anchors nothing of M4's
		"M4,2025-07-01,,POS,23,,,C6\n" + // dropped: no procedure on C6, but it anchors Dx on C6
		"M4,2025-07-01,,ICD10CM,F13.20,,,C6\n" + // kept
		"M4,2025-08-01,,POS,23,,,C7\n" + // kept: a procedure on C7
		"M4,2025-08-01,,CPT,12001,,,C7\n" +
		"M4,2025-08-01,,ICD10CM,F14.20,,,C7\n" // kept
	// claim says whether the kept row holds its claim id: only the rows
	// the measure compares claims of do (M3's office visit, read whole,
	// does not; M3's ED visit has none).
	type kept struct {
		member, code string
		claim        bool
	}
	want := []kept{{"M1", "99283", true}, {"M1", "F1020", true}, {"M3", "99284", false}, {"M3", "99213", false},
		{"M4", "F1320", true}, {"M4", "23", true}, {"M4", "12001", true}, {"M4", "F1420", true}}
	csvEvents, pqEvents, mem := writeEventsTwice(t, header+rows, 4)
	members := filepath.Join(cohortDir, "members.csv")

	check := func(t *testing.T, d *Data) {
		t.Helper()
		var got []kept
		for _, mb := range d.Members {
			for _, e := range d.Events[mb.EventsStart:mb.EventsEnd] {
				got = append(got, kept{mb.ID, d.Codes.Values[e.Code], e.Claim != 0})
			}
		}
		assert.ElementsMatch(t, want, got)
		i := slices.IndexFunc(d.Reconciliation.Unneeded, func(s SetAside) bool { return s.Reason == claimScopedReason })
		require.GreaterOrEqual(t, i, 0)
		assert.Equal(t, int64(6), d.Reconciliation.Unneeded[i].Rows)
		require.Len(t, d.Reconciliation.SetAside, 1)
		assert.Equal(t, int64(1), d.Reconciliation.SetAside[0].Rows, "X9's row")
		assert.Contains(t, d.Codes.Values, "F1220", "the cohort lists the codes of dropped rows, on every reader")
	}
	t.Run("csv", func(t *testing.T) {
		d, err := LoadFiles(context.Background(), Files{Members: []string{members}, Events: []string{csvEvents}}, WithRequirements(req))
		require.NoError(t, err)
		check(t, d)
	})
	t.Run("parquet", func(t *testing.T) {
		direct, viaArrow, errD, errA := loadBothWays(t, Files{Members: []string{members}, Events: []string{pqEvents}}, WithRequirements(req), WithAllocator(mem))
		require.NoError(t, errD)
		require.NoError(t, errA)
		check(t, direct)
		assertSameData(t, viaArrow, direct)
	})
	t.Run("parquet beside csv", func(t *testing.T) {
		// The CSV file's rows are anchors of the Parquet file's too, so
		// the scopes wait for the grouped events.
		d, err := LoadFiles(context.Background(), Files{Members: []string{members}, Events: []string{pqEvents, csvEvents}}, WithRequirements(req))
		require.NoError(t, err)
		assert.Len(t, d.Events, 2*len(want))
	})
}

// TestAnchorSet checks the direct reader's table of anchored claims: the
// scopes of one member's claim add up, another member's rows on the same
// claim key anchor only their own, and absent pairs anchor nothing, past
// many entries (probe chains).
func TestAnchorSet(t *testing.T) {
	const n = 5000
	a := newAnchorSet(2 * n)
	for i := range n {
		claim := dsl.ClaimKey(fmt.Sprint("C", i))
		a.add(anchorRow{member: int32(i % 97), claim: claim, mask: 1})
		a.add(anchorRow{member: int32(i % 97), claim: claim, mask: 4})
		a.add(anchorRow{member: int32(i%97) + 1000, claim: claim, mask: 2})
	}
	for i := range n {
		claim := dsl.ClaimKey(fmt.Sprint("C", i))
		assert.Equal(t, uint64(5), a.mask(int32(i%97), claim), i)
		assert.Equal(t, uint64(2), a.mask(int32(i%97)+1000, claim), i)
		assert.Zero(t, a.mask(int32(i%97)+1, claim), i)
		assert.Zero(t, a.mask(int32(i%97), dsl.ClaimKey(fmt.Sprint("D", i))), i)
	}
	empty := newAnchorSet(0)
	assert.Zero(t, empty.mask(1, dsl.ClaimKey("C1")))
}
