package eval

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestKeyTable(t *testing.T) {
	long := "a-member-id-longer-than-sixteen-bytes"
	tests := []struct {
		ns   uint32
		key  string
		want int32
	}{
		{0, "", 1},
		{0, "M000000001", 2},
		{1, "M000000001", 3}, // same bytes, other namespace
		{0, "M000000001\x00", 4},
		{0, "0123456789abcdef", 5}, // exactly maxPacked
		{0, "0123456789abcdefg", 6},
		{0, long, 7},
		{2, long, 8},
	}
	var tab keyTable
	for _, tc := range tests {
		tab.put(tc.ns, []byte(tc.key), tc.want)
	}
	for _, tc := range tests {
		if got, ok := tab.get(tc.ns, []byte(tc.key)); !ok || got != tc.want {
			t.Errorf("get(%d, %q) = %d, %v; want %d", tc.ns, tc.key, got, ok, tc.want)
		}
	}
	for _, miss := range []string{"M00000000", "M000000002", "0123456789abcdeg", long + "x"} {
		if got, ok := tab.get(0, []byte(miss)); ok {
			t.Errorf("get(0, %q) = %d; want absent", miss, got)
		}
	}
	keys := make([][]byte, len(tests))
	sel := make([]int32, len(tests))
	for i, tc := range tests {
		keys[i] = []byte(tc.key)
		sel[i] = int32(len(tests) - 1 - i)
	}
	inZero := map[string]int32{}
	for _, tc := range tests {
		if tc.ns == 0 {
			inZero[tc.key] = tc.want
		}
	}
	out := make([]int32, len(sel))
	getMany(&tab, 0, keys, sel, out)
	for n, j := range sel {
		want, ok := inZero[tests[j].key]
		if !ok {
			want = -1
		}
		if out[n] != want {
			t.Errorf("getMany: key %q = %d, want %d", tests[j].key, out[n], want)
		}
	}
}

func TestKeyTableGrows(t *testing.T) {
	var tab keyTable
	const n = 100_000
	for i := range n {
		tab.put(0, fmt.Appendf(nil, "M%09d", i), int32(i))
	}
	for i := range n {
		if got, ok := tab.get(0, fmt.Appendf(nil, "M%09d", i)); !ok || got != int32(i) {
			t.Fatalf("key %d: got %d, %v", i, got, ok)
		}
	}
	if 2*tab.n > len(tab.slots) {
		t.Errorf("%d keys in %d slots: more than half full", tab.n, len(tab.slots))
	}
}

// BenchmarkMemberLookup compares one lookup at a time with getMany's
// overlapped lookups, for a table of a million member ids (larger than
// the caches, as at a million members) probed in random order.
func BenchmarkMemberLookup(b *testing.B) {
	const members = 1_000_000
	var tab keyTable
	tab.reserve(members)
	for i := range members {
		tab.put(0, fmt.Appendf(nil, "M%09d", i), int32(i))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	keys := make([][]byte, 1<<16)
	sel := make([]int32, len(keys))
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "M%09d", rng.IntN(members))
		sel[i] = int32(i)
	}
	out := make([]int32, len(keys))
	b.Run("get", func(b *testing.B) {
		for b.Loop() {
			for i, k := range keys {
				out[i], _ = tab.get(0, k)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(keys)), "ns/key")
	})
	b.Run("getMany", func(b *testing.B) {
		var sink uint32
		for b.Loop() {
			sink += getMany(&tab, 0, keys, sel, out)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(keys)), "ns/key")
		_ = sink
	})
}

// TestKeyTableManyLong checks long keys past the few compared in turn, in
// two namespaces, replaced values, and absent keys on either side.
func TestKeyTableManyLong(t *testing.T) {
	var tab keyTable
	n := 3 * maxFewLong
	key := func(i int) []byte { return fmt.Appendf(nil, "benefit_with_a_long_name_%d", i) }
	for i := range n {
		if _, ok := tab.get(uint32(i%2), key(i)); ok {
			t.Fatalf("%s before put", key(i))
		}
		tab.put(uint32(i%2), key(i), int32(i))
	}
	tab.put(0, key(0), 100)   // among the few
	tab.put(1, key(n-1), 101) // in the map
	for i := range n {
		want := int32(i)
		switch i {
		case 0:
			want = 100
		case n - 1:
			want = 101
		}
		if got, ok := tab.get(uint32(i%2), key(i)); !ok || got != want {
			t.Errorf("get(%d, %s) = %d, %v; want %d", i%2, key(i), got, ok, want)
		}
		if _, ok := tab.get(uint32(1-i%2), key(i)); ok {
			t.Errorf("get(%d, %s) found in the other namespace", 1-i%2, key(i))
		}
	}
	if _, ok := tab.get(0, []byte("chemical_dependency")); ok {
		t.Error("absent long key found")
	}
}

// memberTable fills the table from every core, each goroutine a share of
// the members claiming slots atomically: every id, short or long, must
// still be found, and only those.
func TestMemberTableFilledInShares(t *testing.T) {
	for _, tc := range []struct {
		name    string
		members int
		procs   int
	}{
		{"one goroutine", 1 << 17, 1},
		{"two", 1 << 17, 2},
		{"three, uneven shares", 1<<17 + 5, 3},
		{"few ids", 100, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(tc.procs))
			members := make([]Member, tc.members)
			for i := range members {
				members[i].ID = fmt.Sprintf("M%09d", i)
				if i%1000 == 7 {
					members[i].ID = fmt.Sprintf("a-member-id-longer-than-sixteen-bytes-%d", i)
				}
			}
			tab := memberTable(members)
			assert.Equal(t, tc.members, tab.n+len(tab.fewLong)+len(tab.long), "keys in the table")
			for i, m := range members {
				got, ok := tab.get(0, []byte(m.ID))
				if !ok || got != int32(i) {
					t.Fatalf("member %d (%s): got %d, %v", i, m.ID, got, ok)
				}
			}
			for _, absent := range []string{"M", "X000000001", fmt.Sprintf("M%09d", tc.members), "a-member-id-longer-than-sixteen-bytes-8"} {
				_, ok := tab.get(0, []byte(absent))
				assert.False(t, ok, absent)
			}
		})
	}
}
