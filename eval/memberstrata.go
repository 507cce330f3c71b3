package eval

import (
	"encoding/binary"
	"slices"

	"github.com/caremetrics/caremetrics/dsl"
	"github.com/caremetrics/caremetrics/metric"
)

// memberStrata are the stratifiers whose values are the member's
// categories alone (dsl.Measure.StratifierMember): race, ethnicity,
// language, sex, disability, which nearly every measure breaks down by.
// Counted like the others, each would cost every measure a closure call,
// a search of the stratum and an add per group, for every one of them and
// every member. Instead a worker numbers each distinct combination of a
// member's values of all of them once per member (a class, see
// memberClasses), a measure counts the member once under its class, and
// the classes are spread into the strata when the worker is done: the
// counts are sums, so the result is the same.
type memberStrata struct {
	// keys are the distinct StratifierMember keys of the measures, and
	// owner a stratifier of each: (measure, stratifier).
	keys  []string
	owner [][2]int
	// of[measure][stratifier] is the index of the stratifier's key, -1 for
	// a stratifier counted member by member (a cross, or one that reads
	// more than the member's categories).
	of [][]int
	// any[measure] is set when the measure has a member stratifier.
	any []bool
}

func newMemberStrata(ms []*dsl.Measure) *memberStrata {
	out := &memberStrata{of: make([][]int, len(ms)), any: make([]bool, len(ms))}
	index := map[string]int{}
	for i, m := range ms {
		out.of[i] = make([]int, len(m.StratifierIDs()))
		for s := range out.of[i] {
			out.of[i][s] = -1
			key := m.StratifierMember(s)
			if key == "" || m.StratifierCross(s) != nil {
				continue
			}
			k, ok := index[key]
			if !ok {
				k = len(out.keys)
				index[key] = k
				out.keys = append(out.keys, key)
				out.owner = append(out.owner, [2]int{i, s})
			}
			out.of[i][s] = k
			out.any[i] = true
		}
	}
	return out
}

// memberClasses numbers, within one worker, the distinct combinations of
// the member strata's values that its members have: a few thousand at
// most (races × ethnicities × languages × sexes × disabilities occurring
// together), against millions of members.
type memberClasses struct {
	ids map[string]int32
	// values[class][key] are the class's values of memberStrata.keys[key].
	values [][][]string
	buf    []byte
}

// class returns the current member's class, computing its values with
// rs, which has been started on the member.
func (c *memberClasses) class(ms *memberStrata, rs *dsl.Runners) (int32, error) {
	// The key is each stratifier's values, counted and each prefixed by
	// its length, so that no two combinations share one.
	c.buf = c.buf[:0]
	for _, o := range ms.owner {
		vals, err := rs.MemberStratum(o[0], o[1])
		if err != nil {
			return 0, err
		}
		c.buf = appendListKey(c.buf, vals)
	}
	if id, ok := c.ids[string(c.buf)]; ok {
		return id, nil
	}
	if c.ids == nil {
		c.ids = map[string]int32{}
	}
	id := int32(len(c.values))
	key := string(c.buf)
	c.ids[key] = id
	c.values = append(c.values, decodeClass(key, len(ms.keys)))
	return id, nil
}

// appendListKey appends a key of vals to buf: their count, then each
// value prefixed by its length, so that no two lists, nor two sequences
// of lists, share one.
func appendListKey(buf []byte, vals []string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(vals)))
	for _, v := range vals {
		buf = append(binary.AppendUvarint(buf, uint64(len(v))), v...)
	}
	return buf
}

// decodeClass returns the values of each of n stratifiers written in key
// by class.
func decodeClass(key string, n int) [][]string {
	out := make([][]string, n)
	for k := range out {
		count, w := binary.Uvarint([]byte(key))
		key = key[w:]
		out[k] = make([]string, count)
		for j := range out[k] {
			size, w := binary.Uvarint([]byte(key))
			out[k][j], key = key[w:w+int(size)], key[w+int(size):]
		}
	}
	return out
}

// countClass counts the runner's current unit under class c of measure
// mi, in every group it is in.
func (ma *measureAgg) countClass(c int32, r *dsl.Runner) {
	n := len(ma.groups)
	if end := (int(c) + 1) * n; end > len(ma.classes) {
		ma.classes = slices.Grow(ma.classes, end-len(ma.classes))[:end]
	}
	counts := ma.classes[int(c)*n : (int(c)+1)*n]
	for g, m := range r.Memberships {
		if m != 0 {
			countUnit(&counts[g], r, g)
		}
	}
}

// foldClasses spreads the counts of every class into the strata of the
// member stratifiers, once the worker has counted its members.
func (a *aggregate) foldClasses(ms *memberStrata) {
	for i := range a.measures {
		ma := &a.measures[i]
		for s, k := range ms.of[i] {
			if k < 0 {
				continue
			}
			n := len(ma.groups)
			for c := range len(ma.classes) / n {
				counts := ma.classes[c*n : (c+1)*n]
				if !anyCounted(counts, ma.applies[s]) {
					continue
				}
				for _, v := range a.classes.values[c][k] {
					st := findStratum(&ma.strata[s], v)
					if st == nil {
						st = &stratumAgg{key: v, values: []string{v}, groups: make([]metric.Counts, len(counts))}
						ma.strata[s].add(st)
					}
					for _, g := range ma.applies[s] {
						st.groups[g].Merge(counts[g])
					}
				}
			}
		}
		ma.classes = nil
	}
}

// anyCounted reports whether any of groups counted a unit.
func anyCounted(counts []metric.Counts, groups []int) bool {
	for _, g := range groups {
		if counts[g] != (metric.Counts{}) {
			return true
		}
	}
	return false
}
