package payment

import (
	"cmp"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
)

// Allocation distributes one quality pool across several organisations by
// member months, with the challenge pool of what they left unearned.
type Allocation struct {
	// Program and Year name the program.
	Program string `json:"program"`
	Year    int    `json:"year"`
	// Capitation is the organisations' capitation payments together;
	// Pool = Rate × Capitation.
	Capitation Cents `json:"capitation"`
	Rate       Ratio `json:"rate"`
	Pool       Cents `json:"pool"`
	// MemberMonths is the organisations' member months together.
	MemberMonths int64 `json:"member_months"`
	// CCOs are in the order of the results given to Allocate.
	CCOs []CCOShare `json:"ccos"`
	// Earned is what the organisations earned in the quality pool;
	// ChallengePool = Pool − Earned.
	Earned        Cents `json:"earned"`
	ChallengePool Cents `json:"challenge_pool"`
	// Challenge holds the challenge pool's portion of each challenge
	// measure, in program order.
	Challenge []ChallengeShare `json:"challenge,omitempty"`
	// Undistributed is the challenge money no organisation qualified for
	// (all of it when the program has no challenge measures).
	Undistributed Cents `json:"undistributed"`
	// Steps write out the arithmetic, one line a step.
	Steps []string `json:"steps"`
}

// CCOShare is one organisation's part of an Allocation.
type CCOShare struct {
	// CCO names the organisation; MemberMonths are its own.
	CCO          string `json:"cco"`
	MemberMonths int64  `json:"member_months"`
	// Max is the organisation's part of the pool by member months; it
	// earns Share of it.
	Max    Cents `json:"max"`
	Share  Ratio `json:"share"`
	Earned Cents `json:"earned"`
	// Unearned = Max − Earned, to the challenge pool.
	Unearned Cents `json:"unearned"`
	// Challenge is its challenge-pool award; Total = Earned + Challenge.
	Challenge Cents `json:"challenge"`
	Total     Cents `json:"total"`
}

// ChallengeShare is one challenge measure's portion of the challenge pool
// and the organisations that met the measure.
type ChallengeShare struct {
	// Measure is the measure's id/group; Portion its share of the
	// challenge pool.
	Measure string `json:"measure"`
	Portion Cents  `json:"portion"`
	// Qualifying lists the organisations that met the measure, and
	// MemberMonths their member months together.
	Qualifying   []string `json:"qualifying"`
	MemberMonths int64    `json:"member_months"`
	// Undistributed is the portion when no organisation qualified.
	Undistributed Cents `json:"undistributed"`
}

// Allocate distributes the quality pool across the organisations whose
// results are given, each evaluated with this program:
//
//  1. pool = rate × the organisations' capitation payments together,
//     rounded to the cent;
//  2. each organisation's maximum is its member months' part of the pool;
//  3. it earns its pool share (Result.Pool.Share) of that maximum, rounded
//     to the cent; the rest goes to the challenge pool;
//  4. the challenge pool is split equally among the challenge measures,
//     and each portion among the organisations that met that measure by
//     their member months; a portion no organisation met stays
//     undistributed.
//
// Splits by member months (steps 2 and 4, and the equal split of step 4)
// are in whole cents by the largest-remainder method: each part gets the
// whole cents of its exact share, and the cents left over go one each to
// the parts with the largest fractional remainders, ties to the smaller
// organisation name (or measure id/group), so the parts always add up to
// the whole and the result does not depend on the order of the results.
func (p *Program) Allocate(results []*Result) (*Allocation, error) {
	if len(results) == 0 {
		return nil, errors.New("payment: Allocate needs at least one organisation's result")
	}
	a := &Allocation{Program: p.Name, Year: p.Year, Rate: p.Pool.Rate}
	seen := map[string]bool{}
	names := make([]string, len(results))
	months := make([]int64, len(results))
	for i, r := range results {
		switch {
		case r == nil || r.CCO == "":
			return nil, fmt.Errorf("payment: Allocate: result %d names no organisation (Inputs.CCO)", i)
		case seen[r.CCO]:
			return nil, fmt.Errorf("payment: Allocate: organisation %q is given twice", r.CCO)
		case r.Program != p.Name || r.Year != p.Year || len(r.Measures) != len(p.Measures):
			return nil, fmt.Errorf("payment: Allocate: the result of %q is of program %q %d, not %q %d", r.CCO, r.Program, r.Year, p.Name, p.Year)
		case r.MemberMonths <= 0:
			return nil, fmt.Errorf("payment: Allocate: %q has %d member months; want more than 0", r.CCO, r.MemberMonths)
		}
		seen[r.CCO] = true
		names[i], months[i] = r.CCO, r.MemberMonths
		a.Capitation += r.Pool.Capitation
		a.MemberMonths += r.MemberMonths
	}
	var err error
	if a.Pool, err = a.Capitation.Times(a.Rate); err != nil {
		return nil, err
	}
	s := &steps{}
	s.add("quality pool: %s × capitation %s = %s%s", a.Rate.Percent(), a.Capitation, a.Pool, roundNote(a.Capitation, a.Rate))
	maxes := split(a.Pool, months, names)
	for i, r := range results {
		c := CCOShare{CCO: r.CCO, MemberMonths: r.MemberMonths, Max: maxes[i], Share: r.Pool.Share}
		c.Earned = s.times(c.Max, c.Share)
		c.Unearned = c.Max - c.Earned
		a.Earned += c.Earned
		s.add("%s: maximum %s × %s / %s member months = %s; earned %s × %s = %s; unearned %s",
			c.CCO, a.Pool, groupDigits(c.MemberMonths), groupDigits(a.MemberMonths), c.Max, c.Share.Percent(), c.Max, c.Earned, c.Unearned)
		a.CCOs = append(a.CCOs, c)
	}
	a.ChallengePool = a.Pool - a.Earned
	s.add("challenge pool: %s − earned %s = %s", a.Pool, a.Earned, a.ChallengePool)
	p.challenge(a, results, s)
	for i := range a.CCOs {
		a.CCOs[i].Total = a.CCOs[i].Earned + a.CCOs[i].Challenge
	}
	a.Steps = s.lines
	return a, s.err
}

// challenge splits the challenge pool among challenge measures and each
// portion among the organisations that met the measure.
func (p *Program) challenge(a *Allocation, results []*Result, s *steps) {
	var keys []string
	for i := range p.Measures {
		if p.Measures[i].Challenge {
			keys = append(keys, p.Measures[i].Key())
		}
	}
	if len(keys) == 0 {
		a.Undistributed = a.ChallengePool
		s.add("the program has no challenge measures: %s stays undistributed", a.ChallengePool)
		return
	}
	equal := make([]int64, len(keys))
	for i := range equal {
		equal[i] = 1
	}
	portions := split(a.ChallengePool, equal, keys)
	for k, key := range keys {
		c := ChallengeShare{Measure: key, Portion: portions[k]}
		var idx []int
		var mm []int64
		for i, r := range results {
			if r.challengeMet(key) {
				idx = append(idx, i)
				mm = append(mm, r.MemberMonths)
				c.Qualifying = append(c.Qualifying, r.CCO)
				c.MemberMonths += r.MemberMonths
			}
		}
		if len(idx) == 0 {
			c.Undistributed = c.Portion
			a.Undistributed += c.Portion
			s.add("challenge %s: portion %s; no organisation met it, so it stays undistributed", key, c.Portion)
		} else {
			parts := split(c.Portion, mm, c.Qualifying)
			var b strings.Builder
			for j, i := range idx {
				a.CCOs[i].Challenge += parts[j]
				if j > 0 {
					b.WriteString(", ")
				}
				fmt.Fprintf(&b, "%s %s", c.Qualifying[j], parts[j])
			}
			s.add("challenge %s: portion %s among %s by %s member months: %s", key, c.Portion, strings.Join(c.Qualifying, ", "), groupDigits(c.MemberMonths), b.String())
		}
		a.Challenge = append(a.Challenge, c)
	}
}

// split divides total (0 or more) in proportion to weights (0 or more,
// not all 0) in whole cents by the largest-remainder method; keys break
// ties between equal remainders, the smaller key first.
func split(total Cents, weights []int64, keys []string) []Cents {
	var w big.Int
	for _, x := range weights {
		w.Add(&w, big.NewInt(x))
	}
	out := make([]Cents, len(weights))
	rems := make([]*big.Int, len(weights))
	left := total
	for i, x := range weights {
		q, r := new(big.Int).QuoRem(new(big.Int).Mul(big.NewInt(int64(total)), big.NewInt(x)), &w, new(big.Int))
		out[i] = Cents(q.Int64()) // ≤ total, so it fits
		rems[i] = r
		left -= out[i]
	}
	order := make([]int, len(weights))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(i, j int) int {
		return cmp.Or(rems[j].Cmp(rems[i]), strings.Compare(keys[i], keys[j]))
	})
	for k := 0; Cents(k) < left; k++ {
		out[order[k]]++
	}
	return out
}
