package synth

import "math/rand/v2"

// splitmix64 scrambles x; it turns (seed, member index) into PCG state so
// that neighbouring members get unrelated streams.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// streamSeed returns the two PCG seed words of stream k (a member index, or
// a block index for the shuffle) under seed and a purpose tag.
func streamSeed(seed, tag, k uint64) (uint64, uint64) {
	a := splitmix64(seed ^ splitmix64(tag))
	return splitmix64(a ^ k), splitmix64(a + splitmix64(k^0x5bd1e995))
}

// rng wraps a *rand.Rand with the few draws the generator needs.
type rng struct {
	pcg *rand.PCG
	*rand.Rand
}

func newRNG() *rng {
	p := rand.NewPCG(0, 0)
	return &rng{pcg: p, Rand: rand.New(p)}
}

func (r *rng) reseed(seed, tag, k uint64) { r.pcg.Seed(streamSeed(seed, tag, k)) }

// p reports true with probability x.
func (r *rng) p(x float64) bool { return r.Float64() < x }

// in returns a uniform integer in [lo, hi]; lo when hi < lo.
func (r *rng) in(lo, hi int) int {
	if hi <= lo {
		return lo
	}
	return lo + r.IntN(hi-lo+1)
}

// day returns a uniform date in [a, b]; a when b < a.
func (r *rng) day(a, b day) day {
	if b <= a {
		return a
	}
	return a + day(r.IntN(int(b-a)+1))
}

// count draws a small non-negative count with the given mean (a binomial
// with up to 8 trials, cheap and bounded).
func (r *rng) count(mean float64) int {
	n := 8
	q := mean / float64(n)
	if q > 1 {
		q = 1
	}
	c := 0
	for range n {
		if r.Float64() < q {
			c++
		}
	}
	return c
}

// choices is a weighted choice among values of T.
type choices[T any] struct {
	vals []T
	cum  []float64
}

type w[T any] struct {
	v T
	w float64
}

func newTable[T any](items ...w[T]) *choices[T] {
	t := &choices[T]{}
	s := 0.0
	for _, it := range items {
		s += it.w
		t.vals = append(t.vals, it.v)
		t.cum = append(t.cum, s)
	}
	return t
}

func (t *choices[T]) pick(r *rng) T {
	x := r.Float64() * t.cum[len(t.cum)-1]
	for i, c := range t.cum {
		if x < c {
			return t.vals[i]
		}
	}
	return t.vals[len(t.vals)-1]
}

// oneOf returns a uniform element of xs.
func oneOf[T any](r *rng, xs ...T) T { return xs[r.IntN(len(xs))] }
