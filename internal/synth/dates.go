package synth

// day is the generator's short name for Day.
type day = Day

// noDay marks an absent (null) date.
const noDay = NoDay

// mkDay returns the day number of the proleptic Gregorian date y-m-d
// (Howard Hinnant's days_from_civil).
func mkDay(y, m, d int) day {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return day(era*146097 + doe - 719468)
}

// civil is the inverse of mkDay.
func civil(z day) (y, m, d int) {
	n := int(z) + 719468
	era := n / 146097
	if n < 0 && n%146097 != 0 {
		era--
	}
	doe := n - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = doy - (153*mp+2)/5 + 1
	if mp < 10 {
		m = mp + 3
	} else {
		m = mp - 9
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

// addYears moves d by n calendar years; Feb 29 becomes Feb 28 in a common
// year.
func addYears(d day, n int) day {
	y, m, dd := civil(d)
	y += n
	if m == 2 && dd == 29 && !isLeap(y) {
		dd = 28
	}
	return mkDay(y, m, dd)
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

// monthStart returns the first day of d's month.
func monthStart(d day) day {
	y, m, _ := civil(d)
	return mkDay(y, m, 1)
}

// monthEnd returns the last day of d's month.
func monthEnd(d day) day {
	y, m, _ := civil(d)
	if m == 12 {
		return mkDay(y+1, 1, 1) - 1
	}
	return mkDay(y, m+1, 1) - 1
}

// ageOn returns the age in completed years on ref of someone born on birth.
func ageOn(birth, ref day) int {
	by, bm, bd := civil(birth)
	ry, rm, rd := civil(ref)
	a := ry - by
	if rm < bm || (rm == bm && rd < bd) {
		a--
	}
	return a
}

// appendDay appends d as YYYY-MM-DD.
func appendDay(b []byte, d day) []byte {
	y, m, dd := civil(d)
	return append(b,
		byte('0'+y/1000%10), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+m/10), byte('0'+m%10), '-',
		byte('0'+dd/10), byte('0'+dd%10))
}

// calendar holds the dates that shape a cohort for measurement year Y.
type calendar struct {
	year      int
	jan1      day // Jan 1, Y
	dec31     day // Dec 31, Y
	priorJan1 day // Jan 1, Y-1: start of claims, encounters and lookback
	extract   day // Jan 1, Y-2: earliest enrollment span
	last      day // Jan 31, Y+1: last event date
	far       day // Dec 31, Y+1: end of spans of members still enrolled
}

func newCalendar(y int) calendar {
	return calendar{
		year:      y,
		jan1:      mkDay(y, 1, 1),
		dec31:     mkDay(y, 12, 31),
		priorJan1: mkDay(y-1, 1, 1),
		extract:   mkDay(y-2, 1, 1),
		last:      mkDay(y+1, 1, 31),
		far:       mkDay(y+1, 12, 31),
	}
}
