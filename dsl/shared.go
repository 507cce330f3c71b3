package dsl

import "github.com/caremetrics/caremetrics/metric"

// shared is the per-member work of the runners of one Runners (or of one
// lone Runner), reset for each member.
type shared struct {
	index eventIndex
	dates dateCache
}

func newShared(ncodes int) *shared {
	return &shared{index: eventIndex{bySet: map[string]int32{}, byCode: make([][]int32, ncodes)}}
}

func (sh *shared) reset() {
	sh.index.ready = false
	sh.dates.n = 0
}

// dateCache keeps a member's ages and birthdays: most measures ask for the
// age on the first or last day of the period, or for birthdays, and each
// costs several calendar conversions.
type dateCache struct {
	n    int
	keys [8]dateKey
	vals [8]int64
}

type dateKey struct {
	op    memberDateOp
	birth metric.Date
	arg   int64
}

type memberDateOp uint8

const (
	monthsOld memberDateOp = iota // age in whole months on day arg
	birthday                      // the arg-th birthday
)

// memberDate returns op of the member's birth date and arg, from the cache
// when a measure asked for it before.
func (r *Runner) memberDate(op memberDateOp, arg int64) int64 {
	c := &r.sh.dates
	k := dateKey{op, r.member.BirthDate, arg}
	for i := range c.n {
		if c.keys[i] == k {
			return c.vals[i]
		}
	}
	var v int64
	switch op {
	case monthsOld:
		v = monthsBetween(k.birth, arg)
	case birthday:
		v = int64(k.birth.AddYears(clampInt(arg)))
	}
	if c.n < len(c.keys) {
		c.keys[c.n], c.vals[c.n] = k, v
		c.n++
	}
	return v
}
