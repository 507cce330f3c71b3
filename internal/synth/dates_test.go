package synth

import (
	"testing"
	"time"
)

func TestDates(t *testing.T) {
	for d := mkDay(1899, 1, 1); d < mkDay(2101, 1, 1); d += 17 {
		y, m, dd := civil(d)
		want := time.Unix(int64(d)*86400, 0).UTC()
		if y != want.Year() || m != int(want.Month()) || dd != want.Day() || mkDay(y, m, dd) != d {
			t.Fatalf("day %d: %d-%d-%d, want %v", d, y, m, dd, want)
		}
		if got := string(appendDay(nil, d)); got != want.Format(time.DateOnly) {
			t.Fatalf("appendDay %s, want %s", got, want.Format(time.DateOnly))
		}
	}
	if got := addYears(mkDay(2024, 2, 29), 1); got != mkDay(2025, 2, 28) {
		t.Errorf("Feb 29 + 1 year = %s", appendDay(nil, got))
	}
	if a := ageOn(mkDay(2023, 6, 1), mkDay(2025, 5, 31)); a != 1 {
		t.Errorf("age %d", a)
	}
}
