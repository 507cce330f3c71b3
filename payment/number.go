package payment

import (
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// Ratio is an exact rational number: a rate, a benchmark, a target, a
// sharing rate. Arithmetic on ratios never rounds; rounding happens only
// where the package documentation says it does. The zero value is 0. A
// Ratio is immutable and safe for concurrent use.
type Ratio struct{ r *big.Rat }

// RatioOf returns num/den; it panics when den is 0.
func RatioOf(num, den int64) Ratio {
	if den == 0 {
		panic("payment: RatioOf with a zero denominator")
	}
	return Ratio{big.NewRat(num, den)}
}

// ParseRatio parses a decimal number such as "0.0425", "73.4" or "-2",
// optionally followed by "%" (which divides it by 100: "4.25%" is
// 0.0425). Exponents and fractions are not accepted, so what a program
// says is what the figures use.
func ParseRatio(s string) (Ratio, error) {
	t := strings.TrimSpace(s)
	pct := strings.HasSuffix(t, "%")
	t = strings.TrimSpace(strings.TrimSuffix(t, "%"))
	if !isDecimal(t) {
		return Ratio{}, fmt.Errorf("%q is not a decimal number", s)
	}
	r, ok := new(big.Rat).SetString(t)
	if !ok {
		return Ratio{}, fmt.Errorf("%q is not a decimal number", s)
	}
	if pct {
		r.Quo(r, big.NewRat(100, 1))
	}
	return Ratio{r}, nil
}

// isDecimal reports whether s is an optional sign, digits, and an
// optional point followed by digits.
func isDecimal(s string) bool {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	whole, frac, point := strings.Cut(s, ".")
	if whole == "" || (point && frac == "") {
		return false
	}
	for _, part := range []string{whole, frac} {
		for _, c := range part {
			if c < '0' || c > '9' {
				return false
			}
		}
	}
	return true
}

func (x Ratio) rat() *big.Rat {
	if x.r == nil {
		return new(big.Rat)
	}
	return x.r
}

// Rat returns a copy of the value as a *big.Rat.
func (x Ratio) Rat() *big.Rat { return new(big.Rat).Set(x.rat()) }

// Cmp compares x and y: -1, 0 or +1.
func (x Ratio) Cmp(y Ratio) int { return x.rat().Cmp(y.rat()) }

// Sign returns -1, 0 or +1.
func (x Ratio) Sign() int { return x.rat().Sign() }

func (x Ratio) add(y Ratio) Ratio { return Ratio{new(big.Rat).Add(x.rat(), y.rat())} }
func (x Ratio) sub(y Ratio) Ratio { return Ratio{new(big.Rat).Sub(x.rat(), y.rat())} }
func (x Ratio) mul(y Ratio) Ratio { return Ratio{new(big.Rat).Mul(x.rat(), y.rat())} }
func (x Ratio) quo(y Ratio) Ratio { return Ratio{new(big.Rat).Quo(x.rat(), y.rat())} }
func (x Ratio) mulInt(n int64) Ratio {
	return Ratio{new(big.Rat).Mul(x.rat(), new(big.Rat).SetInt64(n))}
}

func maxRatio(x, y Ratio) Ratio {
	if x.Cmp(y) >= 0 {
		return x
	}
	return y
}

// Round returns x rounded to places decimals, half away from zero (2.25
// is 2.3, -2.25 is -2.3).
func (x Ratio) Round(places int) Ratio {
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(places)), nil)
	n := roundHalfAway(new(big.Rat).Mul(x.rat(), new(big.Rat).SetInt(scale)))
	return Ratio{new(big.Rat).SetFrac(n, scale)}
}

// roundHalfAway rounds x to an integer, half away from zero.
func roundHalfAway(x *big.Rat) *big.Int {
	q, r := new(big.Int).QuoRem(x.Num(), x.Denom(), new(big.Int))
	twice := r.Abs(r)
	twice.Lsh(twice, 1)
	if twice.Cmp(x.Denom()) >= 0 {
		if x.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	return q
}

// Decimal formats x with exactly places decimals, rounded half away from
// zero.
func (x Ratio) Decimal(places int) string {
	return x.rat().FloatString(places) // rounds halves away from zero
}

// exactPlaces returns the number of decimals x needs to be written
// exactly, or -1 when its decimal expansion does not terminate.
func (x Ratio) exactPlaces() int {
	d := new(big.Int).Set(x.rat().Denom())
	twos, fives := 0, 0
	two, five, zero := big.NewInt(2), big.NewInt(5), new(big.Int)
	m := new(big.Int)
	for m.Mod(d, two).Cmp(zero) == 0 {
		d.Quo(d, two)
		twos++
	}
	for m.Mod(d, five).Cmp(zero) == 0 {
		d.Quo(d, five)
		fives++
	}
	if d.Cmp(big.NewInt(1)) != 0 {
		return -1
	}
	return max(twos, fives)
}

// maxExactPlaces bounds the decimals String writes out in full.
const maxExactPlaces = 10

// String writes x exactly when it has at most 10 decimals ("0.0425",
// "63", "2.25"), and otherwise rounded to 6 decimals after "≈"
// ("≈65.277778"), so a rounded figure never passes for an exact one.
func (x Ratio) String() string {
	if p := x.exactPlaces(); p >= 0 && p <= maxExactPlaces {
		return x.Decimal(p)
	}
	return "≈" + x.Decimal(6)
}

// Percent formats x, a fraction, as a percentage in the manner of String:
// 0.0425 is "4.25%".
func (x Ratio) Percent() string { return x.mulInt(100).String() + "%" }

// MarshalJSON writes x as a JSON number: exact when it has at most 10
// decimals, else rounded half away from zero to 10 decimals.
func (x Ratio) MarshalJSON() ([]byte, error) {
	p := x.exactPlaces()
	if p < 0 || p > maxExactPlaces {
		s := x.Decimal(maxExactPlaces)
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
		return []byte(s), nil
	}
	return []byte(x.Decimal(p)), nil
}

// Cents is an amount of money in whole cents. Money is never a float:
// products with rates are computed exactly and rounded to the cent, half
// away from zero, at the steps the package documentation lists.
type Cents int64

// ErrOverflow is returned when an amount does not fit in an int64 of
// cents (about 92 quadrillion dollars).
var ErrOverflow = errors.New("payment: amount out of range")

// ParseCents parses dollars such as "1234.56", "$1,234.56", "-20" or
// "0.5" (50 cents). More than two decimals is an error: money in a program
// or on a command line is never rounded silently.
func ParseCents(s string) (Cents, error) {
	t := strings.TrimSpace(s)
	neg := strings.HasPrefix(t, "-")
	t = strings.TrimPrefix(strings.TrimPrefix(t, "-"), "$")
	whole, frac, point := strings.Cut(t, ".")
	if strings.Contains(whole, ",") {
		groups := strings.Split(whole, ",")
		for i, g := range groups {
			if (i == 0 && (len(g) == 0 || len(g) > 3)) || (i > 0 && len(g) != 3) {
				return 0, fmt.Errorf("%q: misplaced thousands separator", s)
			}
		}
		whole = strings.Join(groups, "")
	}
	if whole == "" || (point && (frac == "" || len(frac) > 2)) || !isDecimal(whole) || strings.ContainsAny(whole, "+-") || (frac != "" && !isDecimal(frac)) {
		return 0, fmt.Errorf("%q: want dollars and at most two decimals of cents, like 1234.56", s)
	}
	for len(frac) < 2 {
		frac += "0"
	}
	n, ok := new(big.Int).SetString(whole+frac, 10)
	if !ok || !n.IsInt64() {
		return 0, fmt.Errorf("%q: %w", s, ErrOverflow)
	}
	c := Cents(n.Int64())
	if neg {
		c = -c
	}
	return c, nil
}

// String formats c as dollars with thousands separators: "$1,234.56",
// "-$0.05".
func (c Cents) String() string {
	sign := ""
	u := uint64(c)
	if c < 0 {
		sign = "-"
		u = uint64(-c)
	}
	digits := fmt.Sprint(u / 100)
	var b strings.Builder
	for i, d := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	return fmt.Sprintf("%s$%s.%02d", sign, b.String(), u%100)
}

// MarshalJSON writes c as a JSON number of dollars with two decimals
// (1234.56), exact as text.
func (c Cents) MarshalJSON() ([]byte, error) {
	sign := ""
	u := uint64(c)
	if c < 0 {
		sign = "-"
		u = uint64(-c)
	}
	return fmt.Appendf(nil, "%s%d.%02d", sign, u/100, u%100), nil
}

func (c Cents) ratio() Ratio { return Ratio{new(big.Rat).SetInt64(int64(c))} }

// Times returns c × r rounded to the cent, half away from zero.
func (c Cents) Times(r Ratio) (Cents, error) {
	return centsOf(c.ratio().mul(r))
}

// centsOf rounds x (a number of cents) to a whole cent, half away from
// zero.
func centsOf(x Ratio) (Cents, error) {
	n := roundHalfAway(x.rat())
	if !n.IsInt64() {
		return 0, ErrOverflow
	}
	return Cents(n.Int64()), nil
}
