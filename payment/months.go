package payment

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/caremetrics/caremetrics/metric"
)

// Span is one enrollment span of a member, both dates included (as in the
// enrollment table of the canonical data).
type Span struct {
	Member     string      // the member's id
	Start, End metric.Date // the first and last day enrolled
}

// MonthRule says when an enrolled member counts for a month.
type MonthRule uint8

// The month rules.
const (
	// OnDay15 counts a month when the member is enrolled on its 15th (the
	// mid-month snapshot common in managed-care reporting).
	OnDay15 MonthRule = iota
	// OnFirstDay counts a month when the member is enrolled on its 1st.
	OnFirstDay
	// AnyDay counts a month when the member is enrolled on any day of it.
	AnyDay
)

var monthRuleNames = []string{"day15", "first_day", "any_day"}

// String returns the rule's name: day15, first_day or any_day.
func (r MonthRule) String() string { return monthRuleNames[r] }

// ParseMonthRule returns the rule named s (day15, first_day or any_day).
func ParseMonthRule(s string) (MonthRule, error) {
	for i, n := range monthRuleNames {
		if n == s {
			return MonthRule(i), nil
		}
	}
	return 0, fmt.Errorf("month rule %q: want day15, first_day or any_day", s)
}

// MemberMonths counts member months in period: for each member, the
// calendar months of the period in which the rule finds the member
// enrolled. A member counts once a month however many spans cover it, so
// overlapping spans are not double counted; the counted day must lie in
// the period (a period starting on the 20th does not count its first
// month under OnDay15). Spans may come in any order; a span that ends
// before it starts, or that names no member, is an error.
func MemberMonths(spans []Span, period metric.Period, rule MonthRule) (int64, error) {
	if period.End < period.Start {
		return 0, fmt.Errorf("payment: period %s ends before it starts", period)
	}
	if int(rule) >= len(monthRuleNames) {
		return 0, fmt.Errorf("payment: unknown month rule %d", rule)
	}
	first := monthIndex(period.Start)
	covered := make([]int, monthIndex(period.End)-first+1) // member number + 1 that last counted each month
	order := make([]int, len(spans))
	for i := range order {
		order[i] = i
		if s := spans[i]; s.Member == "" || s.End < s.Start {
			return 0, fmt.Errorf("payment: enrollment span %d (member %q, %s..%s): want a member and an end on or after the start", i, s.Member, s.Start, s.End)
		}
	}
	slices.SortFunc(order, func(i, j int) int { return cmp.Compare(spans[i].Member, spans[j].Member) })
	var total int64
	member := 0
	for k, i := range order {
		if k > 0 && spans[i].Member != spans[order[k-1]].Member {
			member++
		}
		s := spans[i]
		lo, hi := max(s.Start, period.Start), min(s.End, period.End)
		if hi < lo {
			continue
		}
		for m := monthIndex(lo); m <= monthIndex(hi); m++ {
			if covered[m-first] == member+1 || !rule.counts(m, s, period) {
				continue
			}
			covered[m-first] = member + 1
			total++
		}
	}
	return total, nil
}

// monthIndex numbers calendar months: year × 12 + month − 1.
func monthIndex(d metric.Date) int {
	y, m, _ := d.YMD()
	return y*12 + int(m) - 1
}

// counts reports whether span s counts for month m (a monthIndex) in the
// period under the rule.
func (r MonthRule) counts(m int, s Span, period metric.Period) bool {
	if r == AnyDay {
		return true // the caller clipped the span to the period and the month
	}
	day := 15
	if r == OnFirstDay {
		day = 1
	}
	d := metric.DateOf(m/12, time.Month(m%12+1), day)
	return period.Contains(d) && d >= s.Start && d <= s.End
}
