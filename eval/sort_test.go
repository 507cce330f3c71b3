package eval

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/caremetrics/caremetrics/metric"
)

func TestSortParallel(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, procs := range []int{1, 2, 3, 4} {
		for _, n := range []int{0, 5, 1 << 14, 1<<15 + 7} {
			xs := make([]int, n)
			for i := range xs {
				xs[i] = i
			}
			rng.Shuffle(n, func(i, j int) { xs[i], xs[j] = xs[j], xs[i] })
			prev := runtime.GOMAXPROCS(procs)
			got := sortParallel(xs, func(a, b int) int { return a - b })
			runtime.GOMAXPROCS(prev)
			if len(got) != n {
				t.Fatalf("procs %d, n %d: %d elements", procs, n, len(got))
			}
			for i, x := range got {
				if x != i {
					t.Fatalf("procs %d, n %d: element %d is %d", procs, n, i, x)
				}
			}
		}
	}
}

func TestSortEvents(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	// Few distinct values, so that runs have ties on every field.
	random := func() Event {
		e := Event{Date: metric.Date(20000 + rng.IntN(4)), End: metric.NoDate, Code: CodeID(rng.IntN(3)), Source: int16(rng.IntN(2)), Claim: uint64(rng.IntN(2)), Value: math.NaN()}
		if rng.IntN(2) == 0 {
			e.End = e.Date + metric.Date(rng.IntN(2))
		}
		if rng.IntN(2) == 0 {
			e.Value = float64(rng.IntN(3))
		}
		return e
	}
	for n := range 70 { // both sides of the insertion sort's limit
		for range 20 {
			xs := make([]Event, n)
			for i := range xs {
				xs[i] = random()
			}
			want := slices.Clone(xs)
			slices.SortStableFunc(want, compareEvents)
			sortEvents(xs)
			for i := range xs {
				if compareEvents(xs[i], want[i]) != 0 {
					t.Fatalf("n %d: event %d is %+v, want %+v", n, i, xs[i], want[i])
				}
			}
		}
	}
}

// Member keys sort as strings.Compare sorts the ids, also where the packed
// words tie or mislead: prefixes, zero bytes, ids longer than 16 bytes.
func TestMemberKeyOrder(t *testing.T) {
	ids := []string{"", "\x00", "\x00\x00", "a", "a\x00", "a\x00b", "ab", "b", "M000000001", "M00000001",
		"0123456789abcdef", "0123456789abcdef\x00", "0123456789abcdefa", "0123456789abcdefb", "0123456789abcdefab",
		"0123456789abcdeg", "\xff", "é", "Z"}
	// Key i is of ids[i], held as row i of part 0.
	compare := compareMemberKeys(func(o memberOrigin) string { return ids[o.row] })
	for i, a := range ids {
		for j, b := range ids {
			got := compare(newMemberKey(a, memberOrigin{0, int32(i)}), newMemberKey(b, memberOrigin{0, int32(j)}))
			if want := strings.Compare(a, b); got != want {
				t.Errorf("compare(%q, %q) = %d, want %d", a, b, got, want)
			}
		}
	}
	// Equal ids go by origin: the first read first.
	same := compareMemberKeys(func(memberOrigin) string { return "x" })
	if same(newMemberKey("x", memberOrigin{0, 5}), newMemberKey("x", memberOrigin{1, 0})) >= 0 {
		t.Error("equal ids: part 0 must come before part 1")
	}
}
