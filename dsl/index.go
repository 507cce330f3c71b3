package dsl

import (
	"slices"
	"strings"
)

// Code sets are the event sets chosen by code alone: events("X"),
// code(...), and unions of code sets, which the compiler folds into one
// code set so that a union of value sets costs no merging. Each measure
// numbers its code sets (Measure.codeSets); Bind resolves each to the
// cohort's code ids (Bound.setCodes).

// codeRef names a value set (Measure.valueSets) or, when lit is set, a
// literal code (Measure.codes) of the measure.
type codeRef struct {
	lit bool
	i   int
}

// codeSet returns the event set of the codes of refs, registered with the
// measure; equal sets share a number.
func (c *checker) codeSet(refs []codeRef) compiled {
	refs = slices.Clone(refs)
	slices.SortFunc(refs, func(a, b codeRef) int {
		if a.lit != b.lit {
			if a.lit {
				return 1
			}
			return -1
		}
		return a.i - b.i
	})
	refs = slices.Compact(refs)
	i := slices.IndexFunc(c.m.codeSets, func(s []codeRef) bool { return slices.Equal(s, refs) })
	if i < 0 {
		i = len(c.m.codeSets)
		c.m.codeSets = append(c.m.codeSets, refs)
	}
	rows := make([]rowItem, len(refs))
	for k, ref := range refs {
		rows[k] = rowItem{ref: ref}
	}
	return compiled{k: kEvents, codes: refs, rows: rows, e: func(r *Runner) evset { return r.codeSet(i) }}
}

// eventIndex sorts one member's events into code sets. Scanning the
// member's events for every events("X") or code(...) call cost a pass
// over them per call, dozens per member over the shipped measures; the
// index makes one pass per member, on the first call, and every later
// call is a slice lookup. The runners of one Runners share one index, so
// a member's events are sorted once for all of their measures.
//
// Slots are given to code sets on first use, not when runners are made:
// the sets that only feed a union of code sets are never used, and
// filling them for every member would be wasted.
type eventIndex struct {
	// bySet gives the slot of each code set used so far, keyed by its
	// code ids; byCode the slots containing each code id.
	bySet  map[string]int32
	byCode [][]int32

	// ready is set once the sets are built for the current member.
	ready bool
	// sets[s] lists the member's events in slot s, ascending; filled
	// lists the non-empty slots, so that reuse clears only those.
	sets   [][]int32
	filled []int32
}

// slot returns the slot of the code set of codes (ascending code ids),
// adding it, and filling it for the current member's events, if new.
func (ix *eventIndex) slot(codes []CodeID, events []Event) int32 {
	var key strings.Builder
	for _, c := range codes {
		key.Write([]byte{byte(c), byte(c >> 8), byte(c >> 16), byte(c >> 24)})
	}
	if s, ok := ix.bySet[key.String()]; ok {
		return s
	}
	s := int32(len(ix.sets))
	ix.bySet[key.String()] = s
	ix.sets = append(ix.sets, nil)
	for _, c := range codes {
		ix.byCode[c] = append(ix.byCode[c], s)
	}
	if ix.ready {
		for i := range events {
			if _, ok := slices.BinarySearch(codes, events[i].Code); ok {
				ix.add(s, int32(i))
			}
		}
	}
	return s
}

// set returns the member's events in slot s, building every slot's set
// from events (the member's) on the first call for the member.
func (ix *eventIndex) set(s int32, events []Event) evset {
	if !ix.ready {
		ix.build(events)
	}
	set := ix.sets[s]
	// Sets are read-only: with spare capacity, a caller's append would
	// write into the index.
	return evset(set[:len(set):len(set)])
}

func (ix *eventIndex) build(events []Event) {
	for _, s := range ix.filled {
		ix.sets[s] = ix.sets[s][:0]
	}
	ix.filled = ix.filled[:0]
	for i := range events {
		for _, s := range ix.byCode[events[i].Code] {
			ix.add(s, int32(i))
		}
	}
	ix.ready = true
}

func (ix *eventIndex) add(s, event int32) {
	if len(ix.sets[s]) == 0 {
		ix.filled = append(ix.filled, s)
	}
	ix.sets[s] = append(ix.sets[s], event)
}
