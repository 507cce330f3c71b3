package payment

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caremetrics/caremetrics/metric"
)

func span(member, start, end string) Span {
	return Span{Member: member, Start: metric.MustParseDate(start), End: metric.MustParseDate(end)}
}

func TestMemberMonths(t *testing.T) {
	year := metric.CalendarYear(2025)
	for _, tc := range []struct {
		name                    string
		spans                   []Span
		period                  metric.Period
		day15, firstDay, anyDay int64
	}{
		{"a whole year", []Span{span("a", "2024-06-01", "2026-01-31")}, year, 12, 12, 12},
		// Jan 16 – Mar 14: the 15th only of February; the 1st of February
		// and March; some day of January, February and March.
		{"part of three months", []Span{span("a", "2025-01-16", "2025-03-14")}, year, 1, 2, 3},
		// Jan–Jun and Mar–Dec overlap in Mar–Jun: counted once.
		{"overlapping spans", []Span{span("a", "2025-01-01", "2025-06-30"), span("a", "2025-03-01", "2025-12-31")}, year, 12, 12, 12},
		// Spans of two members, out of order: 12 + 6.
		{"two members", []Span{span("b", "2025-07-01", "2025-12-31"), span("a", "2025-01-01", "2025-12-31")}, year, 18, 18, 18},
		// 2024-06-01 – 2025-02-10: within 2025 only January's 15th, and
		// the 1st of January and February.
		{"a span ending in the year", []Span{span("a", "2024-06-01", "2025-02-10")}, year, 1, 2, 2},
		{"a span outside the year", []Span{span("a", "2023-01-01", "2024-12-31")}, year, 0, 0, 0},
		// One day, the 15th.
		{"a single day", []Span{span("a", "2025-05-15", "2025-05-15")}, year, 1, 0, 1},
		// A period from January 20: January's 15th and 1st lie outside it.
		{"a period starting mid-month", []Span{span("a", "2025-01-01", "2025-12-31")},
			metric.Period{Start: metric.MustParseDate("2025-01-20"), End: metric.MustParseDate("2025-12-31")}, 11, 11, 12},
		// A gap in enrollment over the 15th of April.
		{"a gap over the 15th", []Span{span("a", "2025-01-01", "2025-04-10"), span("a", "2025-04-20", "2025-12-31")}, year, 11, 12, 12},
		{"no spans", nil, year, 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for rule, want := range map[MonthRule]int64{OnDay15: tc.day15, OnFirstDay: tc.firstDay, AnyDay: tc.anyDay} {
				got, err := MemberMonths(tc.spans, tc.period, rule)
				require.NoError(t, err)
				assert.Equal(t, want, got, rule.String())
			}
		})
	}
}

func TestMemberMonthsErrors(t *testing.T) {
	year := metric.CalendarYear(2025)
	_, err := MemberMonths([]Span{span("a", "2025-03-01", "2025-02-01")}, year, OnDay15)
	assert.ErrorContains(t, err, `member "a", 2025-03-01..2025-02-01`)
	_, err = MemberMonths([]Span{span("", "2025-01-01", "2025-02-01")}, year, OnDay15)
	assert.ErrorContains(t, err, "want a member")
	_, err = MemberMonths(nil, metric.Period{Start: year.End, End: year.Start}, OnDay15)
	assert.ErrorContains(t, err, "ends before it starts")
	_, err = ParseMonthRule("mid")
	assert.ErrorContains(t, err, "want day15, first_day or any_day")
	r, err := ParseMonthRule("any_day")
	require.NoError(t, err)
	assert.Equal(t, AnyDay, r)
}
