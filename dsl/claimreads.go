package dsl

import "slices"

// Claim reads narrow the claim_id column below the rows the measures
// need. Only sameClaim and onePerClaim compare claim ids, and only of the
// rows that reach their arguments: the claim id of any other row can
// change no result. A loader that leaves those claim ids out need not
// hold them between its passes over the events (eval's Parquet reader
// reads the column once instead of twice). The rows an argument can hold
// are the row items of the claim-scope analysis (claimscope.go), which is
// conservative: a row of unknown origin makes every code set's claim ids
// read.

// readClaims records that the claim ids of v's rows are read.
func (c *checker) readClaims(v compiled) {
	if v.k != kEvents {
		return
	}
	if c.m.claimRefs == nil {
		c.m.claimRefs = map[codeRef]bool{}
	}
	for _, it := range v.rows {
		c.m.claimRefs[it.ref] = true
	}
}

// claimReads returns the code sets whose rows' claim ids the measure
// reads, in the order of its value sets, then literal codes; every set it
// references when some row read is of unknown origin.
func (m *Measure) claimReads() []CodeRef {
	if len(m.claimRefs) == 0 {
		return nil
	}
	refs := map[codeRef]bool{}
	all := false
	for ref := range m.claimRefs {
		switch ref {
		case unknownRef:
			all = true
		case episodeRef:
			if m.episodes.k != kEvents {
				all = true
			}
			for _, it := range m.episodes.rows {
				if it.ref == unknownRef || it.ref == episodeRef {
					all = true
				}
				refs[it.ref] = true
			}
		default:
			refs[ref] = true
		}
	}
	var out []CodeRef
	for i := range m.valueSets {
		if all || refs[codeRef{i: i}] {
			out = append(out, CodeRef{ValueSet: m.valueSets[i]})
		}
	}
	for i, lc := range m.codes {
		if all || refs[codeRef{i: i, lit: true}] {
			out = append(out, CodeRef{Code: [2]string{lc.system, lc.code}})
		}
	}
	return out
}

// readsAllClaims reports whether r's loader must keep every row's claim
// id: the claim_id column is required and Claims does not narrow it (as
// in Requirements made by hand before Claims existed).
func (r *Requirements) readsAllClaims() bool {
	return r.Columns&ColumnClaimID != 0 && r.Claims == nil
}

// mergeClaims is Add's rule for claim reads: the union, or every claim
// (nil) when either side reads every claim. Add orders it.
func (r *Requirements) mergeClaims(o *Requirements) []CodeRef {
	if r.readsAllClaims() || o.readsAllClaims() {
		return nil
	}
	return unionRefs(r.Claims, o.Claims)
}

// coversClaims reports whether data loaded for r holds every claim id o
// reads.
func (r *Requirements) coversClaims(o *Requirements) (bool, string) {
	if o.Columns&ColumnClaimID == 0 || r.readsAllClaims() {
		return true, ""
	}
	need := o.Claims
	if o.readsAllClaims() {
		need = o.refs()
	}
	for _, c := range need {
		if !slices.Contains(r.Claims, c) {
			return false, "the claim ids of " + c.String()
		}
	}
	return true, ""
}
