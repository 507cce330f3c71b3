package metric

import (
	"fmt"
	"strconv"
	"time"
)

// Date is a calendar day, counted in days since 1970-01-01. Measures work
// at day precision, so a plain integer keeps comparisons and windows exact
// and free of time zones.
type Date int32

// Sentinels for a date that is absent. NoDate sorts after every real date,
// so "died on or before X" is false for a member with no death date.
const (
	MinDate Date = -1 << 31
	NoDate  Date = 1<<31 - 1
)

// DateOf returns the Date of the calendar day y-m-d; out-of-range months and
// days are normalised as time.Date does.
func DateOf(y int, m time.Month, d int) Date {
	if m >= 1 && m <= 12 && d >= 1 && d <= daysIn(y, m) {
		return Date(daysFromCivil(y, int(m), d))
	}
	return Date(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// daysFromCivil and civil convert between days since 1970-01-01 and the
// proleptic Gregorian calendar with integer arithmetic only (H. Hinnant's
// algorithms): ages and birthdays are computed for every member, and the
// time package's conversions cost several times as much.
func daysFromCivil(y, m, d int) int {
	if m <= 2 {
		y--
	}
	era := floorDiv(y, 400)
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

func civil(days int) (y, m, d int) {
	z := days + 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = doy - (153*mp+2)/5 + 1
	m = mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

// ParseDate parses an ISO 8601 calendar date (YYYY-MM-DD) and rejects days
// that do not exist, such as 2025-02-30.
func ParseDate(s string) (Date, error) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, fmt.Errorf("invalid date %q: want YYYY-MM-DD", s)
	}
	y, err1 := strconv.Atoi(s[0:4])
	m, err2 := strconv.Atoi(s[5:7])
	d, err3 := strconv.Atoi(s[8:10])
	if err1 != nil || err2 != nil || err3 != nil || s[0] == '+' || s[0] == '-' || s[5] == '+' || s[8] == '+' {
		return 0, fmt.Errorf("invalid date %q: want YYYY-MM-DD", s)
	}
	if m < 1 || m > 12 || d < 1 || d > daysIn(y, time.Month(m)) {
		return 0, fmt.Errorf("invalid date %q: no such day", s)
	}
	return DateOf(y, time.Month(m), d), nil
}

// MustParseDate is ParseDate for constants in code and tests; it panics on a
// malformed literal.
func MustParseDate(s string) Date {
	d, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// Time returns the day as midnight UTC.
func (d Date) Time() time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// YMD returns the year, month and day.
func (d Date) YMD() (int, time.Month, int) {
	y, m, day := civil(int(d))
	return y, time.Month(m), day
}

// IsZero reports whether d is one of the absent-date sentinels.
func (d Date) IsZero() bool { return d == NoDate || d == MinDate }

// String formats d as YYYY-MM-DD, or "" for an absent date.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return d.Time().Format(time.DateOnly)
}

// MarshalText implements encoding.TextMarshaler.
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Date) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = NoDate
		return nil
	}
	v, err := ParseDate(string(b))
	*d = v
	return err
}

// AddDays returns d shifted by n days.
func (d Date) AddDays(n int) Date { return Date(int64(d) + int64(n)) }

// AddMonths returns the same day n months later, clamped to the end of a
// shorter month (Jan 31 + 1 month = Feb 28 or 29), the convention of HEDIS
// and CQL date arithmetic.
func (d Date) AddMonths(n int) Date {
	y, m, day := d.YMD()
	total := int(m) - 1 + n
	ny := y + floorDiv(total, 12)
	nm := time.Month(total - floorDiv(total, 12)*12 + 1)
	if last := daysIn(ny, nm); day > last {
		day = last
	}
	return DateOf(ny, nm, day)
}

// AddYears returns the same day n years later; Feb 29 becomes Feb 28 in a
// year that has none.
func (d Date) AddYears(n int) Date { return d.AddMonths(12 * n) }

// YearsUntil returns the number of whole years completed from d to on (age in
// completed years when d is a birth date); negative when on is before d.
func (d Date) YearsUntil(on Date) int {
	return d.MonthsUntil(on) / 12
}

// MonthsUntil returns the number of whole months completed from d to on.
// A month is complete on the same day number of a later month, or on the
// last day of a month too short to have it.
func (d Date) MonthsUntil(on Date) int {
	if on < d {
		return -d.monthsFrom(on)
	}
	return on.monthsFrom(d)
}

func (d Date) monthsFrom(start Date) int {
	y1, m1, _ := start.YMD()
	y2, m2, _ := d.YMD()
	n := (y2-y1)*12 + int(m2) - int(m1)
	if start.AddMonths(n) > d {
		n--
	}
	return n
}

// DaysIn returns the number of days of month m (1-12) of year y.
func DaysIn(y int, m time.Month) int { return daysIn(y, m) }

func daysIn(y int, m time.Month) int {
	switch m {
	case time.February:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}
