package payment

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseRatio(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"0.0425", "0.0425"},
		{"4.25%", "0.0425"},
		{" 50 % ", "0.5"},
		{"73.4", "73.4"},
		{"-2", "-2"},
		{"100%", "1"},
	} {
		r, err := ParseRatio(tc.in)
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, r.String(), tc.in)
	}
	for _, bad := range []string{"", "%", "1/3", "1e-3", ".5", "5.", "0x10", "12,5", "NaN", "1.2.3"} {
		_, err := ParseRatio(bad)
		assert.Error(t, err, bad)
	}
}

// Rounding is half away from zero, at the stated number of decimals.
func TestRatioRound(t *testing.T) {
	for _, tc := range []struct {
		x      Ratio
		places int
		want   string
	}{
		{RatioOf(6225, 100), 1, "62.3"},   // 62.25 → 62.3
		{RatioOf(-6225, 100), 1, "-62.3"}, // −62.25 → −62.3
		{RatioOf(6224, 100), 1, "62.2"},
		{RatioOf(2, 3), 3, "0.667"},
		{RatioOf(1, 3), 0, "0"},
		{RatioOf(1, 2), 0, "1"},
		{RatioOf(-1, 2), 0, "-1"},
	} {
		assert.Equal(t, tc.want, tc.x.Round(tc.places).String(), "%s at %d", tc.x, tc.places)
		assert.Equal(t, tc.want, tc.x.Decimal(tc.places), "%s at %d", tc.x, tc.places)
	}
}

// String is exact when it can be, and marks a rounded figure with ≈.
func TestRatioString(t *testing.T) {
	assert.Equal(t, "0", Ratio{}.String())
	assert.Equal(t, "0.0425", RatioOf(425, 10000).String())
	assert.Equal(t, "≈0.666667", RatioOf(2, 3).String())
	assert.Equal(t, "≈66.666667%", RatioOf(2, 3).Percent())
	assert.Equal(t, "4.25%", RatioOf(425, 10000).Percent())
	// 1/2^11 has 11 decimals: more than String writes out in full.
	assert.Equal(t, "≈0.000488", RatioOf(1, 2048).String())
	b, err := json.Marshal([]Ratio{RatioOf(425, 10000), RatioOf(2, 3), {}})
	require.NoError(t, err)
	assert.Equal(t, "[0.0425,0.6666666667,0]", string(b))
}

func TestParseCents(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Cents
	}{
		{"1234.56", 123456},
		{"$1,234.56", 123456},
		{"1,234,567.8", 123456780},
		{"-20", -2000},
		{"0.5", 50},
		{"0.05", 5},
		{"612.50", 61250},
	} {
		c, err := ParseCents(tc.in)
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, c, tc.in)
	}
	for _, bad := range []string{"", "$", "1.234", "12,34.00", "1,2345", ",123", "1.", "abc", "--1", "1e3", "+-1"} {
		_, err := ParseCents(bad)
		assert.Error(t, err, bad)
	}
	_, err := ParseCents("99999999999999999999")
	assert.True(t, errors.Is(err, ErrOverflow), "%v", err)
}

func TestCentsText(t *testing.T) {
	assert.Equal(t, "$1,234,567.89", Cents(123456789).String())
	assert.Equal(t, "-$0.05", Cents(-5).String())
	assert.Equal(t, "$0.00", Cents(0).String())
	assert.Equal(t, "$100.00", Cents(10000).String())
	b, err := json.Marshal([]Cents{123456789, -5, 0})
	require.NoError(t, err)
	assert.Equal(t, "[1234567.89,-0.05,0.00]", string(b))
}

// Money times a rate rounds to the cent, half away from zero.
func TestCentsTimes(t *testing.T) {
	for _, tc := range []struct {
		c    Cents
		r    Ratio
		want Cents
	}{
		// $18,730,862.50 × 4.25% = $796,061.65625 → $796,061.66.
		{1873086250, RatioOf(425, 10000), 79606166},
		// $796,061.66 × 75% = $597,046.245 → $597,046.25: the half cent up.
		{79606166, RatioOf(3, 4), 59704625},
		// −1¢ × 50% = −0.5¢ → −1¢: away from zero, not up.
		{-1, RatioOf(1, 2), -1},
		// 1¢ × 49.9% = 0.499¢ → 0¢.
		{1, RatioOf(499, 1000), 0},
		// $188,122.63 × 2/3 = $125,415.0866… → $125,415.09.
		{18812263, RatioOf(2, 3), 12541509},
	} {
		got, err := tc.c.Times(tc.r)
		require.NoError(t, err)
		assert.Equal(t, tc.want, got, "%s × %s", tc.c, tc.r)
	}
	_, err := Cents(1 << 62).Times(RatioOf(4, 1))
	assert.ErrorIs(t, err, ErrOverflow)
}
