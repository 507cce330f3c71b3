package eval

import (
	"fmt"

	"github.com/caremetrics/caremetrics/metric"
)

// The dates the loader accepts. A birth in year 1 or an event in 9999 is
// a data error, not a member 2,024 years old; and the extremes of a date32
// are the engine's absent-date sentinels, which a cell must never turn
// into. The range covers the oldest living members' births and every
// plausible measurement period.
// An end date may also be 9999-12-31, which extracts commonly write for an
// enrollment span or a condition still open.
var (
	earliestDate = metric.DateOf(1850, 1, 1)
	latestDate   = metric.DateOf(2199, 12, 31)
	openEnd      = metric.DateOf(9999, 12, 31)
)

// implausibleDate returns the error message for a date outside the range,
// or "".
func implausibleDate(d metric.Date) string { return outside(d, latestDate) }

// implausibleEnd is implausibleDate for an end date, which may be open.
func implausibleEnd(d metric.Date) string { return outside(d, openEnd) }

func outside(d, latest metric.Date) string {
	if d >= earliestDate && d <= latest {
		return ""
	}
	shown := d.String()
	if d.IsZero() {
		shown = fmt.Sprintf("%d days from 1970-01-01", int32(d))
	}
	return fmt.Sprintf("date %s is outside %s..%s", shown, earliestDate, latest)
}

// dateCheck is the check of the column named name.
func dateCheck(name string) func(metric.Date) string {
	if name == "end_date" {
		return implausibleEnd
	}
	return implausibleDate
}
