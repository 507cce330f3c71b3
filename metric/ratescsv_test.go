package metric

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const ratesHeader = "measure,group,stratifier,stratum,initial_population,denominator,denominator_exclusions,denominator_exceptions,numerator,rate\n"

// A file written by WriteRatesCSV reads back into the same counts and
// writes out byte for byte the same.
func TestReadRatesCSVRoundTrip(t *testing.T) {
	src := ratesHeader + `cis,dtap,,,156,156,12,0,94,0.652778
cis,dtap,race,asian,10,10,0,0,4,0.400000
cis,dtap,race x language,white|es,3,3,0,0,3,1.000000
cis,combo3,,,156,156,12,0,72,0.500000
cms2,main,,,1482,1482,20,24,1,0.000695
dsf,follow_up,,,0,0,0,0,0,
`
	rep, err := ReadRatesCSV(strings.NewReader(src))
	require.NoError(t, err)
	require.Len(t, rep.Measures, 3)
	g := rep.Measure("cis").Group("dtap")
	require.NotNil(t, g)
	assert.Equal(t, Counts{InitialPopulation: 156, Denominator: 156, DenominatorExclusion: 12, Numerator: 94}, g.Counts)
	assert.InDelta(t, 94.0/144, g.Rate.Value, 1e-15)
	assert.Equal(t, []string{"white", "es"}, g.Stratifier("race x language").Strata[0].Values)
	assert.False(t, rep.Measure("dsf").Group("follow_up").Rate.Defined)
	var out bytes.Buffer
	require.NoError(t, rep.WriteRatesCSV(&out))
	assert.Equal(t, src, out.String())
}

func TestReadRatesCSVErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		line      int
		column    string
		msg       string
	}{
		{"empty file", "", 1, "", "empty file"},
		{"wrong header", "measure,group\n", 1, "", "header"},
		{"short row", ratesHeader + "cis,dtap,,,1,1,0,0\n", 2, "", "8 fields: want 10"},
		{"negative count", ratesHeader + "cis,dtap,,,1,-1,0,0,0,\n", 2, "denominator", "want a non-negative integer"},
		{"rate disagrees", ratesHeader + "cis,dtap,,,4,4,0,0,1,0.260000\n", 2, "rate", "disagrees with numerator 1 / eligible denominator 4 = 0.250000"},
		// 1/3 printed with 6 decimals is 0.333333: within half a unit of
		// the sixth decimal; 0.333332 is not.
		{"rate off by one in the sixth decimal", ratesHeader + "cis,dtap,,,3,3,0,0,1,0.333332\n", 2, "rate", "disagrees"},
		{"rate of an undefined group", ratesHeader + "cis,dtap,,,2,2,2,0,0,0.000000\n", 2, "rate", "undefined"},
		{"empty rate of a defined group", ratesHeader + "cis,dtap,,,2,2,0,0,1,\n", 2, "rate", "empty, but the counts give 0.500000"},
		{"not a number", ratesHeader + "cis,dtap,,,2,2,0,0,1,half\n", 2, "rate", "want a non-negative decimal number"},
		{"duplicate row", ratesHeader + "cis,dtap,,,2,2,0,0,1,0.5\ncis,dtap,,,2,2,0,0,1,0.5\n", 3, "", "repeats line 2"},
		{"stratum before overall", ratesHeader + "cis,dtap,sex,F,2,2,0,0,1,0.5\n", 2, "", "before its overall row"},
		{"stratifier without stratum", ratesHeader + "cis,dtap,sex,,2,2,0,0,1,0.5\n", 2, "", "both empty"},
		{"empty measure", ratesHeader + ",dtap,,,2,2,0,0,1,0.5\n", 2, "", "empty measure or group"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadRatesCSV(strings.NewReader(tc.src))
			var re *RatesCSVError
			require.True(t, errors.As(err, &re), "%v", err)
			assert.Equal(t, tc.line, re.Line)
			assert.Equal(t, tc.column, re.Column)
			assert.Contains(t, re.Msg, tc.msg)
		})
	}
}

// The tolerance admits exactly what 6-decimal printing can produce.
func TestReadRatesCSVRateTolerance(t *testing.T) {
	// 2/3 = 0.6666666...: printed 0.666667 (0.33e-6 away) is accepted.
	_, err := ReadRatesCSV(strings.NewReader(ratesHeader + "m,g,,,3,3,0,0,2,0.666667\n"))
	require.NoError(t, err)
	// 0.6666662 is 0.47e-6 away: still within half a unit of the sixth decimal.
	_, err = ReadRatesCSV(strings.NewReader(ratesHeader + "m,g,,,3,3,0,0,2,0.6666662\n"))
	require.NoError(t, err)
	// 0.666666 is 0.67e-6 away: refused.
	_, err = ReadRatesCSV(strings.NewReader(ratesHeader + "m,g,,,3,3,0,0,2,0.666666\n"))
	require.Error(t, err)
}

// A ratio measure's rates are scaled by its multiplier, which the reader
// infers and sets, so the file round-trips.
func TestReadRatesCSVMultiplier(t *testing.T) {
	// 350 visits × 1000 / (30581 − 109) member months = 11.485954…;
	// 0 visits in a stratum is 0 at any multiplier.
	src := ratesHeader + `ed_util,total,,,2769,30581,109,0,350,11.485954
ed_util,total,age,0-19,900,10000,0,0,100,10.000000
ed_util,total,age,20-44,0,500,0,0,0,0.000000
cis,combo3,,,156,156,12,0,72,0.500000
`
	rep, err := ReadRatesCSV(strings.NewReader(src))
	require.NoError(t, err)
	assert.Equal(t, int64(1000), rep.Measure("ed_util").Multiplier)
	assert.Zero(t, rep.Measure("cis").Multiplier)
	assert.InDelta(t, 350*1000/30472.0, rep.Measure("ed_util").Group("total").Rate.Value, 1e-12)
	var out bytes.Buffer
	require.NoError(t, rep.WriteRatesCSV(&out))
	assert.Equal(t, src, out.String())

	// A stratum at another multiplier disagrees with the measure's.
	_, err = ReadRatesCSV(strings.NewReader(ratesHeader + `ed_util,total,,,2769,30581,109,0,350,11.485954
ed_util,total,age,0-19,900,10000,0,0,100,1.000000
`))
	var re *RatesCSVError
	require.True(t, errors.As(err, &re), "%v", err)
	assert.Equal(t, 3, re.Line)
	assert.Contains(t, re.Msg, "disagrees with numerator 100 × 1000 / eligible denominator 10000 = 10.000000 (the measure's multiplier 1000, from line 2)")
}
