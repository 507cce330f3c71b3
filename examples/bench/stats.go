package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// median returns the median of xs (the mean of the middle two for an even
// count), or 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

func collect[T any](xs []T, f func(T) float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}

func sum(xs []float64) float64 {
	var t float64
	for _, x := range xs {
		t += x
	}
	return t
}

// ratio formats a/b as "0.73×", or "n/a" when b is not positive.
func ratio(a, b float64) string {
	if b <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

// mib formats a size in KiB as MiB (what /usr/bin/time's KiB / 1024 gives,
// the unit of the peer's RESULTS.md "MB").
func mib(kib int64) string {
	return fmt.Sprintf("%.0f MiB", float64(kib)/1024)
}

// rate formats n items over secs seconds as a per-second figure with
// thousands separators, or "n/a" for no time.
func rate(n int, secs float64) string {
	if secs <= 0 {
		return "n/a"
	}
	return thousands(int(float64(n)/secs + 0.5))
}

// thousands formats n with commas: 1234567 -> "1,234,567".
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// counts is a rate as numerator over the denominator it is computed on.
type counts struct{ Num, Den int64 }

func (c counts) String() string { return fmt.Sprintf("%d / %d", c.Num, c.Den) }

func (c counts) rate() string {
	if c.Den == 0 {
		return "-"
	}
	return strconv.FormatFloat(float64(c.Num)/float64(c.Den), 'f', 4, 64)
}

// peerRates maps the peer's rate ids to our measure/group with the closest
// definition (RESULTS.md section 5 of the peer; MEASURES.md here).
var peerRates = []struct{ peer, ours string }{
	{"cis_combo3", "cis/combo3"},
	{"dental_1_5", "dental/age_1_5"},
	{"dental_6_14", "dental/age_6_14"},
	{"dsf_screening", "dsf/screening"},
	{"dsf_followup", "dsf/follow_up"},
}

type rateRow struct {
	PeerID, OurID string
	Ours, Peer    counts
}

// compareRates reads our rates.csv and the peer's results CSV and pairs
// their overall (unstratified) rates. Our denominator is the one the rate
// is computed on: denominator - exclusions - exceptions.
func compareRates(ours, peer io.Reader) ([]rateRow, error) {
	our, err := readCSV(ours, []string{"measure", "group", "stratifier", "denominator", "denominator_exclusions", "denominator_exceptions", "numerator"},
		func(f map[string]string) (string, bool) {
			return f["measure"] + "/" + f["group"], f["stratifier"] == ""
		},
		func(f map[string]string) (counts, error) {
			var v [4]int64
			for i, k := range []string{"denominator", "denominator_exclusions", "denominator_exceptions", "numerator"} {
				var err error
				if v[i], err = strconv.ParseInt(f[k], 10, 64); err != nil {
					return counts{}, fmt.Errorf("%s: %w", k, err)
				}
			}
			return counts{Num: v[3], Den: v[0] - v[1] - v[2]}, nil
		})
	if err != nil {
		return nil, fmt.Errorf("our rates: %w", err)
	}
	their, err := readCSV(peer, []string{"rate_id", "stratifier", "numerator", "denominator"},
		func(f map[string]string) (string, bool) { return f["rate_id"], f["stratifier"] == "all" },
		func(f map[string]string) (counts, error) {
			n, err := strconv.ParseInt(f["numerator"], 10, 64)
			if err != nil {
				return counts{}, err
			}
			d, err := strconv.ParseInt(f["denominator"], 10, 64)
			return counts{Num: n, Den: d}, err
		})
	if err != nil {
		return nil, fmt.Errorf("peer rates: %w", err)
	}
	var rows []rateRow
	for _, p := range peerRates {
		rows = append(rows, rateRow{PeerID: p.peer, OurID: p.ours, Ours: our[p.ours], Peer: their[p.peer]})
	}
	return rows, nil
}

// readCSV reads a CSV with a header holding at least cols, and returns the
// counts of every row that key accepts, by key.
func readCSV(r io.Reader, cols []string, key func(map[string]string) (string, bool),
	val func(map[string]string) (counts, error)) (map[string]counts, error) {
	cr := csv.NewReader(r)
	head, err := cr.Read()
	if err != nil {
		return nil, err
	}
	idx := map[string]int{}
	for i, h := range head {
		idx[h] = i
	}
	for _, c := range cols {
		if _, ok := idx[c]; !ok {
			return nil, fmt.Errorf("no column %q", c)
		}
	}
	out := map[string]counts{}
	f := map[string]string{}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		for _, c := range cols {
			f[c] = rec[idx[c]]
		}
		k, ok := key(f)
		if !ok {
			continue
		}
		if out[k], err = val(f); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
	}
}
