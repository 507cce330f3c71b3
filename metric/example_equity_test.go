package metric_test

import (
	"fmt"

	"github.com/caremetrics/caremetrics/metric"
)

// Disparities compares each stratum's rate with a reference stratum, here
// the one named "white", with 95% intervals and a two-sided test.
func ExampleDisparities() {
	race := &metric.Stratifier{ID: "race", Strata: []metric.Stratum{
		{Values: []string{"black"}, Counts: metric.Counts{Denominator: 120, Numerator: 66}},
		{Values: []string{"hispanic"}, Counts: metric.Counts{Denominator: 300, Numerator: 204}},
		{Values: []string{"white"}, Counts: metric.Counts{Denominator: 700, Numerator: 525}},
	}}
	total := metric.Counts{Denominator: 1120, Numerator: 795}
	e, err := metric.Disparities(total, race, metric.EquityOptions{
		Reference: metric.Reference{Kind: metric.ReferenceNamed, Values: []string{"white"}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range e.Strata {
		fmt.Printf("%-8s %s [%.3f, %.3f]", s.Label(), s.Rate, s.Interval.Low, s.Interval.High)
		if c := s.Comparison; c != nil {
			fmt.Printf(" difference %.3f [%.3f, %.3f] ratio %.3f [%.3f, %.3f] p=%.2g",
				c.Difference.Value, c.DifferenceInterval.Low, c.DifferenceInterval.High,
				c.Ratio.Value, c.RatioInterval.Low, c.RatioInterval.High, c.P.Value)
		} else if s.Reference {
			fmt.Print(" reference")
		}
		fmt.Println()
	}
	fmt.Printf("index of disparity %.1f%%\n", e.IndexOfDisparity.Value)
	// Output:
	// black    0.550000 [0.461, 0.636] difference -0.200 [-0.294, -0.108] ratio 0.733 [0.620, 0.867] p=6.4e-06
	// hispanic 0.680000 [0.625, 0.730] difference -0.070 [-0.133, -0.010] ratio 0.907 [0.830, 0.991] p=0.022
	// white    0.750000 [0.717, 0.781] reference
	// index of disparity 18.0%
}

// Suppress hides small cells for publication, and one more cell wherever
// a hidden one could be recovered by subtraction from the total.
func ExampleSuppress() {
	r := &metric.Report{Measures: []metric.MeasureResult{{ID: "dental", Scoring: "proportion", Groups: []metric.Group{{
		ID:     "total",
		Counts: metric.Counts{InitialPopulation: 100, Denominator: 100, Numerator: 52},
		Stratifiers: []metric.Stratifier{{ID: "sex", Strata: []metric.Stratum{
			{Values: []string{"F"}, Counts: metric.Counts{InitialPopulation: 50, Denominator: 50, Numerator: 35}},
			{Values: []string{"M"}, Counts: metric.Counts{InitialPopulation: 30, Denominator: 30, Numerator: 12}},
			{Values: []string{"U"}, Counts: metric.Counts{InitialPopulation: 20, Denominator: 20, Numerator: 5}},
		}}},
	}}}}}
	r.Finalize()
	p, err := metric.Suppress(r, metric.SuppressionOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	show := func(label string, c metric.Cells) {
		cell := func(c metric.Cell) string {
			if c.Suppressed != metric.NotSuppressed {
				return "(" + c.Suppressed.String() + ")"
			}
			return fmt.Sprint(c.Value)
		}
		rate := c.Rate.Value.String()
		if c.Rate.Suppressed != metric.NotSuppressed {
			rate = "(" + c.Rate.Suppressed.String() + ")"
		}
		fmt.Printf("%-5s %s / %s = %s\n", label, cell(c.Numerator), cell(c.Denominator), rate)
	}
	g := p.Measures[0].Groups[0]
	show("total", g.Cells)
	for _, s := range g.Stratifiers[0].Strata {
		show(s.Values[0], s.Cells)
	}
	fmt.Println("M protects", g.Stratifiers[0].Strata[1].Numerator.Protects)
	// Output:
	// total 52 / 100 = 0.520000
	// F     35 / 50 = 0.700000
	// M     (complementary) / 30 = (derived)
	// U     (small-cell) / 20 = (derived)
	// M protects total sex=U numerator
}
