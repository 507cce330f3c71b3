package metric

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseDate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		err  string
	}{
		{in: "2025-01-01", want: "2025-01-01"},
		{in: "2024-02-29", want: "2024-02-29"},
		{in: "2025-02-29", err: `invalid date "2025-02-29": no such day`},
		{in: "2025-02-30", err: `invalid date "2025-02-30": no such day`},
		{in: "2025-13-01", err: `invalid date "2025-13-01": no such day`},
		{in: "2025-1-01", err: `invalid date "2025-1-01": want YYYY-MM-DD`},
		{in: "20250101", err: `invalid date "20250101": want YYYY-MM-DD`},
		{in: "2025-01-+1", err: `invalid date "2025-01-+1": want YYYY-MM-DD`},
		{in: "", err: `invalid date "": want YYYY-MM-DD`},
		{in: "1900-01-01", want: "1900-01-01"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			d, err := ParseDate(tc.in)
			if tc.err != "" {
				require.EqualError(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, d.String())
		})
	}
}

func TestDateArithmetic(t *testing.T) {
	d := MustParseDate
	for _, tc := range []struct {
		name string
		got  Date
		want string
	}{
		{"add days across year", d("2025-12-31").AddDays(1), "2026-01-01"},
		{"add month clamps", d("2025-01-31").AddMonths(1), "2025-02-28"},
		{"add month clamps leap", d("2024-01-31").AddMonths(1), "2024-02-29"},
		{"subtract months", d("2025-03-31").AddMonths(-1), "2025-02-28"},
		{"subtract months across year", d("2025-01-15").AddMonths(-13), "2023-12-15"},
		{"leap birthday in common year", d("2024-02-29").AddYears(1), "2025-02-28"},
		{"leap birthday in leap year", d("2024-02-29").AddYears(4), "2028-02-29"},
		{"second birthday", d("2023-06-14").AddYears(2), "2025-06-14"},
	} {
		t.Run(tc.name, func(t *testing.T) { assert.Equal(t, tc.want, tc.got.String()) })
	}
}

func TestAge(t *testing.T) {
	d := MustParseDate
	for _, tc := range []struct {
		birth, on    string
		years, month int
	}{
		{"2023-06-14", "2025-06-13", 1, 23},
		{"2023-06-14", "2025-06-14", 2, 24},
		{"2023-06-14", "2025-06-15", 2, 24},
		{"2024-02-29", "2025-02-27", 0, 11},
		{"2024-02-29", "2025-02-28", 1, 12},
		{"2024-01-31", "2024-02-29", 0, 1},
		{"2024-01-31", "2024-02-28", 0, 0},
		{"2013-01-01", "2025-01-01", 12, 144},
		{"2013-01-02", "2025-01-01", 11, 143},
		{"2025-01-01", "2024-12-31", 0, 0},
	} {
		t.Run(tc.birth+"@"+tc.on, func(t *testing.T) {
			assert.Equal(t, tc.years, d(tc.birth).YearsUntil(d(tc.on)), "years")
			assert.Equal(t, tc.month, d(tc.birth).MonthsUntil(d(tc.on)), "months")
		})
	}
}

func TestDateSentinels(t *testing.T) {
	assert.Equal(t, "", NoDate.String())
	assert.True(t, NoDate > MustParseDate("9999-12-31"))
	assert.True(t, MinDate < MustParseDate("0001-01-01"))
}

// The integer calendar conversions agree with the time package on every
// day from 1600 to 2400.
func TestCivilMatchesTime(t *testing.T) {
	start, end := DateOf(1600, 1, 1), DateOf(2400, 12, 31)
	require.Equal(t, Date(time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC).Unix()/86400), start)
	for d := start; d <= end; d++ {
		y, m, day := d.YMD()
		ty, tm, tday := d.Time().Date()
		if y != ty || m != tm || day != tday {
			t.Fatalf("%d: civil %d-%d-%d, time %d-%d-%d", d, y, m, day, ty, tm, tday)
		}
		if DateOf(y, m, day) != d {
			t.Fatalf("%d: DateOf(%d, %d, %d) = %d", d, y, m, day, DateOf(y, m, day))
		}
		if daysIn(y, m) != time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day() {
			t.Fatalf("daysIn(%d, %d)", y, m)
		}
	}
}

func TestDaysInMatchesTime(t *testing.T) {
	for _, y := range []int{1900, 1999, 2000, 2023, 2024, 2025, 2100, 2400} {
		for m := time.January; m <= time.December; m++ {
			want := time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day() // day 0: the last of m
			if got := DaysIn(y, m); got != want {
				t.Errorf("DaysIn(%d, %s) = %d, want %d", y, m, got, want)
			}
		}
	}
}
