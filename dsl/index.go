package dsl

// eventIndex sorts one member's events into the code sets (value sets and
// literal codes) of one or more bound measures. Scanning the member's
// events for every events("X") or code(...) call cost a pass over them per
// call, dozens of passes per member over the shipped measures; the index
// makes one pass per member, on the first call, and every later call is a
// slice lookup. Runners made together by NewRunners share one index, so a
// member's events are sorted once for all of their measures.
type eventIndex struct {
	// The slots of code id c are slots[slotStart[c]:slotStart[c+1]]: every
	// code set containing c, after merging code sets with equal members.
	slotStart []int32
	slots     []int32

	// key identifies the member the sets are for (see Runner.Run).
	key   memberKey
	ready bool
	// sets[s] lists the member's events in code set s, ascending; filled
	// lists its non-empty slots, so that reuse clears only those.
	sets   [][]int32
	filled []int32
}

// memberKey is what Run knows of a member: its row, its index and the
// address and length of its events. A changed key means a new member.
type memberKey struct {
	member *Member
	index  int
	first  *Event
	events int
}

func memberKeyOf(m *Member, index int, events []Event) memberKey {
	k := memberKey{member: m, index: index, events: len(events)}
	if len(events) > 0 {
		k.first = &events[0]
	}
	return k
}

// indexBuilder assigns slots to code sets while runners are made.
type indexBuilder struct {
	bySet  map[string]int32
	byCode [][]int32 // per code id, its slots
}

// slot returns the slot of the code set made of codes (ascending ids),
// shared with any equal set seen before.
func (ib *indexBuilder) slot(codes []CodeID) int32 {
	key := make([]byte, 0, 4*len(codes))
	for _, c := range codes {
		key = append(key, byte(c), byte(c>>8), byte(c>>16), byte(c>>24))
	}
	if s, ok := ib.bySet[string(key)]; ok {
		return s
	}
	s := int32(len(ib.bySet))
	ib.bySet[string(key)] = s
	for _, c := range codes {
		ib.byCode[c] = append(ib.byCode[c], s)
	}
	return s
}

func (ib *indexBuilder) index() *eventIndex {
	ix := &eventIndex{slotStart: make([]int32, len(ib.byCode)+1), sets: make([][]int32, len(ib.bySet))}
	for c, ss := range ib.byCode {
		ix.slots = append(ix.slots, ss...)
		ix.slotStart[c+1] = int32(len(ix.slots))
	}
	return ix
}

// use points the index at a member; the sets are built on first need.
func (ix *eventIndex) use(k memberKey) {
	if k != ix.key {
		ix.key, ix.ready = k, false
	}
}

// set returns the member's events in code set slot, building the sets
// from events (the member's) on the first call for the member.
func (ix *eventIndex) set(slot int32, events []Event) evset {
	if !ix.ready {
		ix.build(events)
	}
	s := ix.sets[slot]
	// Sets are read-only: with spare capacity, a caller's append would
	// write into the index.
	return evset(s[:len(s):len(s)])
}

func (ix *eventIndex) build(events []Event) {
	for _, s := range ix.filled {
		ix.sets[s] = ix.sets[s][:0]
	}
	ix.filled = ix.filled[:0]
	for i := range events {
		c := events[i].Code
		for _, s := range ix.slots[ix.slotStart[c]:ix.slotStart[c+1]] {
			if len(ix.sets[s]) == 0 {
				ix.filled = append(ix.filled, s)
			}
			ix.sets[s] = append(ix.sets[s], int32(i))
		}
	}
	ix.ready = true
}
