package eval

import (
	"cmp"
	"context"
	"slices"

	"github.com/caremetrics/caremetrics/dsl"
)

// Claim scopes (dsl.ClaimScope) drop the rows of code sets the measures
// read only through sameClaim when their claim carries no row of the
// other side: at a million members, ed_util's diagnoses off ED claims are
// 9M of the 33M rows the value sets keep. sameClaim compares the claims of
// one member's events, so the decision is the member's alone, and is taken
// once the events are grouped by member: a pass over each member's events
// collects the claims of its anchor rows, a second keeps the scoped rows
// on one of them.

// claimScopedReason is the reconciliation's reason for those rows.
const claimScopedReason = "read only on claims with other codes (sameClaim), and its claim has none"

// windowReason is the reconciliation's reason for the rows the readers
// drop as they read them, for their date (dsl.Requirements.Windows).
const windowReason = "dated outside every window the measures read its code in"

// scopeBlock is how many members one task of scopeClaims compacts.
const scopeBlock = 4096

// scopeClaims applies req's claim scopes to d's events, which must be
// grouped by member in member order and not yet sorted, and returns the
// number of rows it dropped. The kept rows keep their order.
func scopeClaims(ctx context.Context, d *Data, req *dsl.Requirements) (int64, error) {
	if req == nil || len(req.ClaimScopes) == 0 || len(d.Members) == 0 {
		return 0, nil
	}
	rules := req.Rules()
	codeRules := make([]dsl.RowRule, d.Codes.Len())
	scoped := false
	for c := range codeRules {
		codeRules[c] = rules.Rule(d.Codes.Systems[c], d.Codes.Values[c])
		scoped = scoped || codeRules[c].Scoped()
	}
	if !scoped {
		return 0, nil
	}
	// Each block compacts its members' events to the front of its own
	// range in parallel; the blocks then move down in order, one copy
	// each, into the array already faulted in (a new one would cost its
	// page faults, about what the scoping saves).
	blocks := (len(d.Members) + scopeBlock - 1) / scopeBlock
	ends := make([]int32, blocks) // where each block's kept events end
	err := eachTask(ctx, blocks, func() *anchorScratch { return &anchorScratch{} }, func(_ context.Context, s *anchorScratch, b int) error {
		members := d.Members[b*scopeBlock : min((b+1)*scopeBlock, len(d.Members))]
		w := members[0].EventsStart
		for i := range members {
			m := &members[i]
			n := s.keep(d.Events[m.EventsStart:m.EventsEnd], d.Events[w:], codeRules)
			m.EventsStart, m.EventsEnd = w, w+int32(n)
			w += int32(n)
		}
		ends[b] = w
		return nil
	})
	if err != nil {
		return 0, err
	}
	w := int32(0)
	for b := range blocks {
		members := d.Members[b*scopeBlock : min((b+1)*scopeBlock, len(d.Members))]
		start := members[0].EventsStart
		copy(d.Events[w:], d.Events[start:ends[b]])
		for i := range members {
			members[i].EventsStart += w - start
			members[i].EventsEnd += w - start
		}
		w += ends[b] - start
	}
	dropped := int64(len(d.Events)) - int64(w)
	// The tail stays allocated: the array is dropped as a whole when the
	// data is, and shrinking it would copy what was kept.
	d.Events = d.Events[:w:w]
	return dropped, nil
}

// anchorScratch holds one member's anchor claims, reused across members.
type anchorScratch struct{ anchors []claimMask }

type claimMask struct{ claim, mask uint64 }

// linearAnchors is how many anchors a member may have before its rows
// look their claims up by binary search rather than a scan.
const linearAnchors = 16

// keep copies to out, in order, the events a member keeps under rules, and
// returns how many. out may overlap events at the same or a lower place.
func (s *anchorScratch) keep(events, out []Event, rules []dsl.RowRule) int {
	anchors, scoped := s.anchors[:0], false
	for i := range events {
		r := &rules[events[i].Code]
		if r.Anchors != 0 && events[i].Claim != 0 {
			anchors = append(anchors, claimMask{events[i].Claim, r.Anchors})
		}
		scoped = scoped || r.Scoped()
	}
	s.anchors = anchors
	if !scoped {
		copy(out, events)
		return len(events)
	}
	if len(anchors) > linearAnchors {
		slices.SortFunc(anchors, func(a, b claimMask) int { return cmp.Compare(a.claim, b.claim) })
	}
	n := 0
	for i := range events {
		e := events[i]
		if r := &rules[e.Code]; !r.Scoped() || e.Claim != 0 && maskOf(anchors, e.Claim)&r.On != 0 {
			out[n] = e
			n++
		}
	}
	return n
}

// maskOf returns the scopes anchored on claim: the union of its anchors'
// masks, found by a scan or, above linearAnchors, in the sorted anchors.
func maskOf(anchors []claimMask, claim uint64) uint64 {
	var mask uint64
	if len(anchors) <= linearAnchors {
		for _, a := range anchors {
			if a.claim == claim {
				mask |= a.mask
			}
		}
		return mask
	}
	i, _ := slices.BinarySearchFunc(anchors, claim, func(a claimMask, c uint64) int { return cmp.Compare(a.claim, c) })
	for ; i < len(anchors) && anchors[i].claim == claim; i++ {
		mask |= anchors[i].mask
	}
	return mask
}

func (*anchorScratch) close() {}
