package metric

import (
	"fmt"
	"strings"
)

// Population names one of the populations of a proportion measure. Its text
// form is the FHIR MeasureReport population code.
type Population uint8

// The populations, in evaluation order.
const (
	InitialPopulation Population = iota
	Denominator
	DenominatorExclusion
	DenominatorException
	Numerator
	numPopulations
)

// Populations lists every population in evaluation order.
var Populations = [...]Population{InitialPopulation, Denominator, DenominatorExclusion, DenominatorException, Numerator}

var populationCodes = [...]string{"initial-population", "denominator", "denominator-exclusion", "denominator-exception", "numerator"}

// String returns the FHIR code, e.g. "denominator-exclusion".
func (p Population) String() string {
	if p < numPopulations {
		return populationCodes[p]
	}
	return fmt.Sprintf("Population(%d)", uint8(p))
}

// MarshalText implements encoding.TextMarshaler.
func (p Population) MarshalText() ([]byte, error) {
	if p >= numPopulations {
		return nil, fmt.Errorf("metric: invalid population %d", uint8(p))
	}
	return []byte(p.String()), nil
}

// UnmarshalText accepts the FHIR code or the snake_case YAML key
// ("denominator_exclusions" and "denominator_exclusion" both work).
func (p *Population) UnmarshalText(b []byte) error {
	v, ok := ParsePopulation(string(b))
	if !ok {
		return fmt.Errorf("metric: unknown population %q", b)
	}
	*p = v
	return nil
}

// ParsePopulation maps a FHIR code or snake_case name to a Population.
func ParsePopulation(s string) (Population, bool) {
	s = strings.TrimSuffix(strings.ReplaceAll(s, "_", "-"), "s")
	for i, c := range populationCodes {
		if s == c {
			return Population(i), true
		}
	}
	return 0, false
}

// Membership is the set of populations a member (or episode) is counted in,
// after the nesting rules have been applied.
type Membership uint8

// Has reports whether p is in m.
func (m Membership) Has(p Population) bool { return m&(1<<p) != 0 }

// With returns m with p added.
func (m Membership) With(p Population) Membership { return m | 1<<p }

// NewMembership applies the proportion-measure nesting rules to raw
// criteria results: each population counts only when its parent holds, an
// excluded member is never in the numerator, and an exception applies only
// to a denominator member neither excluded nor in the numerator.
func NewMembership(ip, den, excl, numer, except bool) Membership {
	var m Membership
	if !ip {
		return m
	}
	m = m.With(InitialPopulation)
	if !den {
		return m
	}
	m = m.With(Denominator)
	if excl {
		return m.With(DenominatorExclusion)
	}
	if numer {
		return m.With(Numerator)
	}
	if except {
		m = m.With(DenominatorException)
	}
	return m
}

// Flags returns 0/1 per population in evaluation order (Populations).
func (m Membership) Flags() [5]int {
	var f [5]int
	for i, p := range Populations {
		if m.Has(p) {
			f[i] = 1
		}
	}
	return f
}
