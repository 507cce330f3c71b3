package main

import (
	"strings"
	"testing"
)

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		in := append([]float64(nil), c.in...)
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
		for i := range in {
			if in[i] != c.in[i] {
				t.Errorf("median reordered its input: %v", c.in)
			}
		}
	}
}

func TestFormatting(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{ratio(1.5, 2), "0.75×"},
		{ratio(1, 0), "n/a"},
		{mib(2048), "2 MiB"},
		{thousands(0), "0"},
		{thousands(999), "999"},
		{thousands(1000), "1,000"},
		{thousands(1234567), "1,234,567"},
		{thousands(-12345), "-12,345"},
		{rate(1000, 0.5), "2,000"},
		{rate(1000, 0), "n/a"},
		{counts{1, 3}.rate(), "0.3333"},
		{counts{0, 0}.rate(), "-"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func TestCompareRates(t *testing.T) {
	ours := `measure,group,stratifier,stratum,initial_population,denominator,denominator_exclusions,denominator_exceptions,numerator,rate
cis,combo3,,,100,100,4,0,50,0.520833
cis,combo3,sex,F,50,50,2,0,20,0.416667
dsf,screening,,,10,10,1,2,3,0.428571
`
	peer := `rate_id,stratifier,stratum,numerator,denominator,rate
cis_combo3,all,all,48,96,0.5
cis_combo3,sex,F,20,48,0.416667
dsf_screening,all,all,4,10,0.4
`
	rows, err := compareRates(strings.NewReader(ours), strings.NewReader(peer))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]rateRow{}
	for _, r := range rows {
		got[r.PeerID] = r
	}
	if r := got["cis_combo3"]; r.Ours != (counts{50, 96}) || r.Peer != (counts{48, 96}) || r.OurID != "cis/combo3" {
		t.Errorf("cis_combo3: %+v", r)
	}
	if r := got["dsf_screening"]; r.Ours != (counts{3, 7}) || r.Peer != (counts{4, 10}) {
		t.Errorf("dsf_screening: %+v", r)
	}
	if r := got["dental_1_5"]; r.Ours != (counts{}) || r.Peer != (counts{}) {
		t.Errorf("dental_1_5 absent from both files: %+v", r)
	}
	if _, err := compareRates(strings.NewReader("measure,group\n"), strings.NewReader(peer)); err == nil {
		t.Error("missing columns: no error")
	}
}
