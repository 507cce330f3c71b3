package eval

import (
	"encoding/binary"
	"math/bits"
	"sync/atomic"
	"unsafe"
)

// keyTable maps byte strings to int32 values exactly, without a Go string
// per lookup. It exists for the per-row lookups of the Parquet event
// reader: member ids (millions of distinct keys, looked up once per event
// row) and codes (a few hundred keys, looked up once per row). Keys of up
// to 16 bytes, nearly all ids and codes, are packed into two words stored
// in the slot itself, so a probe reads one slot and compares integers,
// instead of hashing a string and then following a pointer to compare it
// as a Go map does. Longer keys go to a plain map.
//
// Each key lives in a namespace, so one table can hold the codes of every
// code system: the namespace of a code is its system's number.
type keyTable struct {
	slots []keySlot // open addressing, a power of two, at most half full
	n     int
	// Keys longer than maxPacked: the first few compared in turn, the
	// rest in a map. A column spells its long values a handful of ways
	// (benefits such as "chemical_dependency", a few plans), and
	// comparing them cost the Parquet span reader 0.12 s of CPU where
	// hashing them into the map cost 0.18 s (4M spans, 1M members).
	fewLong []longKey
	fewVals []int32
	long    map[longKey]int32
	sink    uint32 // keeps touch's reads
}

// maxFewLong is how many long keys a keyTable compares before its map.
const maxFewLong = 8

type keySlot struct {
	k0, k1 uint64
	// meta is the key's length+1 and its namespace << 8; 0 marks an empty
	// slot.
	meta uint32
	v    int32
}

type longKey struct {
	ns uint32
	s  string
}

const maxPacked = 16

// pack returns the words and meta of a key of at most maxPacked bytes.
// It reads the key with loads that may overlap (the first and the last 8
// bytes of a 12-byte key, say): with the length in meta, the words still
// determine the key exactly. Copying the key into a buffer and loading
// words from it would be simpler, but the loads then wait for the copy's
// stores to retire, and so for every cache miss before them, which
// serialises the overlapped lookups of getMany.
func pack(ns uint32, b []byte) (k0, k1 uint64, meta uint32) {
	meta = uint32(len(b)+1) | ns<<8
	switch n := len(b); {
	case n > 8:
		return binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[n-8:]), meta
	case n >= 4:
		return uint64(binary.LittleEndian.Uint32(b)) | uint64(binary.LittleEndian.Uint32(b[n-4:]))<<32, 0, meta
	case n > 0:
		return uint64(b[0]) | uint64(b[n/2])<<8 | uint64(b[n-1])<<16, 0, meta
	}
	return 0, 0, meta
}

func slotHash(k0, k1 uint64, meta uint32) uint64 {
	hi, lo := bits.Mul64(k0^0x9e3779b97f4a7c15, k1^uint64(meta)^0xc2b2ae3d27d4eb4f)
	return hi ^ lo
}

// get returns the value of key b in namespace ns (ns < 1<<24).
func (t *keyTable) get(ns uint32, b []byte) (int32, bool) {
	if len(b) > maxPacked {
		return t.getLong(ns, b)
	}
	if t.n == 0 {
		return 0, false
	}
	k0, k1, meta := pack(ns, b)
	mask := uint64(len(t.slots) - 1)
	for i := slotHash(k0, k1, meta) & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.meta == meta && s.k0 == k0 && s.k1 == k1 {
			return s.v, true
		}
		if s.meta == 0 {
			return 0, false
		}
	}
}

// put sets the value of key b in namespace ns, replacing any value it had.
func (t *keyTable) put(ns uint32, b []byte, v int32) {
	if len(b) > maxPacked {
		t.putLong(ns, b, v)
		return
	}
	if 2*(t.n+1) > len(t.slots) {
		t.grow()
	}
	k0, k1, meta := pack(ns, b)
	mask := uint64(len(t.slots) - 1)
	for i := slotHash(k0, k1, meta) & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.meta == 0 {
			*s = keySlot{k0: k0, k1: k1, meta: meta, v: v}
			t.n++
			return
		}
		if s.meta == meta && s.k0 == k0 && s.k1 == k1 {
			s.v = v
			return
		}
	}
}

func (t *keyTable) getLong(ns uint32, b []byte) (int32, bool) {
	for i, k := range t.fewLong {
		if k.ns == ns && k.s == string(b) {
			return t.fewVals[i], true
		}
	}
	v, ok := t.long[longKey{ns, string(b)}]
	return v, ok
}

func (t *keyTable) putLong(ns uint32, b []byte, v int32) {
	for i, k := range t.fewLong {
		if k.ns == ns && k.s == string(b) {
			t.fewVals[i] = v
			return
		}
	}
	if len(t.fewLong) < maxFewLong {
		t.fewLong, t.fewVals = append(t.fewLong, longKey{ns, string(b)}), append(t.fewVals, v)
		return
	}
	if t.long == nil {
		t.long = map[longKey]int32{}
	}
	t.long[longKey{ns, string(b)}] = v
}

// fillShare puts the ids of members[lo:hi], as namespace 0, each with its
// index in members as value, into a table reserved for every member and
// holding none of their ids. Goroutines may fill disjoint shares of the
// members at once: a slot is claimed by setting its meta atomically, and
// its key and value, which no other goroutine reads until all are done,
// are written after. The ids must be distinct (a duplicate would take a
// second slot), and ids longer than maxPacked are left for put: their
// indexes are returned. The other value returned derives from the early
// reads, for the caller to keep.
func (t *keyTable) fillShare(members []Member, lo, hi int) (added int, long []int32, touched uint32) {
	var probes [probeBatch]struct {
		k0, k1 uint64
		meta   uint32
		i      uint64
	}
	mask := uint64(len(t.slots) - 1)
	for base := lo; base < hi; base += probeBatch {
		batch := members[base:min(base+probeBatch, hi)]
		for n := range batch {
			p := &probes[n]
			if id := batch[n].ID; len(id) <= maxPacked {
				p.k0, p.k1, p.meta = pack(0, unsafe.Slice(unsafe.StringData(id), len(id)))
				p.i = slotHash(p.k0, p.k1, p.meta) & mask
			} else {
				p.meta = 0
			}
		}
		// The batch's first slots read in a loop of their own, so that
		// their misses overlap (see getMany).
		for n := range batch {
			touched += atomic.LoadUint32(&t.slots[probes[n].i].meta)
		}
		for n := range batch {
			p := &probes[n]
			if p.meta == 0 {
				long = append(long, int32(base+n))
				continue
			}
			i := p.i
			for !atomic.CompareAndSwapUint32(&t.slots[i].meta, 0, p.meta) {
				i = (i + 1) & mask
			}
			s := &t.slots[i]
			s.k0, s.k1, s.v = p.k0, p.k1, int32(base+n)
			added++
		}
	}
	return added, long, touched
}

// settle backs a large table with huge pages once it is filled (see
// collapseHugePages).
func (t *keyTable) settle() { collapseHugePages(t.slots) }

// reserve sizes the table for n keys, so that filling it never rehashes.
func (t *keyTable) reserve(n int) {
	size := 64
	for size < 2*n {
		size *= 2
	}
	if size > len(t.slots) {
		t.rehash(size)
	}
}

func (t *keyTable) grow() { t.rehash(max(64, 2*len(t.slots))) }

func (t *keyTable) rehash(size int) {
	old := t.slots
	t.slots = make([]keySlot, size)
	mask := uint64(size - 1)
	for _, s := range old {
		if s.meta == 0 {
			continue
		}
		i := slotHash(s.k0, s.k1, s.meta) & mask
		for t.slots[i].meta != 0 {
			i = (i + 1) & mask
		}
		t.slots[i] = s
	}
}

// probeBatch is how many lookups getMany overlaps: enough to keep the
// memory system busy, few enough that the touched slots stay in L1
// (BenchmarkMemberLookup: 32 gave 77 ns a key, 64 and 128 46 ns).
const probeBatch = 64

// getMany looks up keys[j] for each j in sel, writing the value, or -1
// when absent, to out[n] for the n-th j. A table of millions of keys is
// larger than the caches, so a lookup is mostly one cache miss; getMany
// first computes the slot of every key of a batch and reads it, with no
// dependence between the reads, so that their misses overlap, and only
// then compares. It returns a value derived from the reads, for the
// caller to keep, so that the compiler cannot drop them.
func getMany[K ~[]byte](t *keyTable, ns uint32, keys []K, sel []int32, out []int32) uint32 {
	var probes [probeBatch]struct {
		k0, k1 uint64
		meta   uint32
		i      uint64
	}
	var touched uint32
	if t.n == 0 {
		for n := range sel {
			out[n] = -1
		}
		return 0
	}
	mask := uint64(len(t.slots) - 1)
	for base := 0; base < len(sel); base += probeBatch {
		batch := sel[base:min(base+probeBatch, len(sel))]
		for n, j := range batch {
			p := &probes[n]
			if b := keys[j]; len(b) <= maxPacked {
				p.k0, p.k1, p.meta = pack(ns, b)
				p.i = slotHash(p.k0, p.k1, p.meta) & mask
			} else {
				p.meta, p.i = 0, 0
			}
		}
		// The reads alone, in a loop of a few instructions, so that the
		// processor has all of the batch's misses in flight at once. A
		// 24-byte slot may span two cache lines, and a third of the
		// lookups go on to the next slot: the reads cover the first byte
		// of the slot and the last of the next one, so that the compares
		// below hit instead of missing a second time, one after another.
		for n := range batch {
			i := probes[n].i
			touched += uint32(t.slots[i].k0) + uint32(t.slots[(i+1)&mask].v)
		}
		for n, j := range batch {
			p := &probes[n]
			v := int32(-1)
			if p.meta == 0 {
				if x, ok := t.get(ns, keys[j]); ok {
					v = x
				}
			} else {
				for i := p.i; ; i = (i + 1) & mask {
					s := &t.slots[i]
					if s.meta == p.meta && s.k0 == p.k0 && s.k1 == p.k1 {
						v = s.v
						break
					}
					if s.meta == 0 {
						break
					}
				}
			}
			out[base+n] = v
		}
	}
	return touched
}
