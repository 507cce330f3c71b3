package payment

import (
	"fmt"

	"github.com/caremetrics/caremetrics/dsl"
)

// Program is a value-based payment program: the incentive measures with
// their benchmarks and improvement rules, the quality pool, and optionally
// shared savings and risk on a global budget. ParseProgram and LoadProgram
// build one from YAML; a Program is not modified by evaluation and is safe
// for concurrent use.
type Program struct {
	// Name describes the program in results.
	Name string `json:"name"`
	// Year is the measurement year; member months count its calendar
	// months.
	Year int `json:"year"`
	// PMPM is the capitation rate per member month; zero when the program
	// gives none (the caller then supplies the year's capitation total,
	// and the program may not have shared savings).
	PMPM Cents `json:"pmpm"`
	// Measures are the incentive measures in program order.
	Measures []MeasureRule `json:"measures"`
	// Pool is the quality pool.
	Pool PoolRule `json:"quality_pool"`
	// SharedSavings is nil when the program has no shared savings.
	SharedSavings *SavingsRule `json:"shared_savings,omitempty"`
}

// Unit is the unit in which a measure's rate, benchmark, floor and target
// are written in a program. rates.csv holds fractions (numerator over
// eligible denominator); a unit scales them.
type Unit uint8

// The units of measure rates.
const (
	UnitPercent   Unit = iota // percent: 0.734 in rates.csv is 73.4; floors in percentage points
	UnitFraction              // the fraction itself, 0..1
	UnitPer1000               // per 1,000 (e.g. ED visits per 1,000 member months)
	UnitPer10000              // per 10,000
	UnitPer100000             // per 100,000
)

var unitNames = []string{"percent", "fraction", "per_1000", "per_10000", "per_100000"}

// String returns the unit's name as written in a program.
func (u Unit) String() string {
	if int(u) < len(unitNames) {
		return unitNames[u]
	}
	return fmt.Sprintf("Unit(%d)", u)
}

// MarshalText implements encoding.TextMarshaler.
func (u Unit) MarshalText() ([]byte, error) { return []byte(u.String()), nil }

// Scale returns what a fraction from rates.csv is multiplied by to be in
// this unit: 100 for percent, 1,000 for per_1000.
func (u Unit) Scale() int64 {
	return [...]int64{100, 1, 1000, 10000, 100000}[u]
}

// suffix is how a value in the unit is written in explanations.
func (u Unit) suffix() string {
	return [...]string{"%", "", " per 1,000", " per 10,000", " per 100,000"}[u]
}

// points names a difference of values in the unit.
func (u Unit) points() string {
	return [...]string{" points", "", " per 1,000", " per 10,000", " per 100,000"}[u]
}

// MeasureRule is one incentive measure of a program: which rate of which
// rates.csv row it reads, its benchmark, and its Minnesota-method
// improvement rule.
type MeasureRule struct {
	// ID and Group name the overall row of rates.csv (measure, group).
	ID    string `json:"id"`
	Group string `json:"group"`
	// Title describes the measure in results.
	Title string `json:"title,omitempty"`
	// Unit of Benchmark, Floor and the computed rates and targets.
	Unit Unit `json:"unit"`
	// Inverse marks a measure where lower is better: it is met at or below
	// its benchmark or target, and its target lies below the baseline.
	Inverse bool `json:"inverse"`
	// Benchmark, in Unit; the same for every organisation.
	Benchmark Ratio `json:"benchmark"`
	// GapClosure is the share of the gap between baseline and benchmark
	// the improvement target closes (0.1 in the Minnesota method).
	GapClosure Ratio `json:"gap_closure"`
	// Floor is the least improvement a target asks for, in Unit.
	Floor Ratio `json:"floor"`
	// MinDenominator is the eligible denominator (this year's and the
	// baseline's) below which the measure can be met only by the
	// benchmark; 0 for none.
	MinDenominator int64 `json:"min_denominator"`
	// Decimals, when 0 or more, rounds the rates and the target to that
	// many decimals in Unit (half away from zero) before they are
	// compared; -1 compares exact values.
	Decimals int `json:"decimals"`
	// Weight is the measure's points when met (1 unless the program says
	// otherwise).
	Weight Ratio `json:"weight"`
	// Challenge marks a challenge-pool measure.
	Challenge bool `json:"challenge"`
	// Pos is where the measure is defined in the program file.
	Pos dsl.Pos `json:"-"`
}

// Key returns "id/group", the measure's name in explanations.
func (m *MeasureRule) Key() string { return m.ID + "/" + m.Group }

// EarnMethod is how measures met become a share of the quality pool.
type EarnMethod uint8

// The earn methods.
const (
	// EarnThresholds pays the share of the highest threshold whose points
	// the organisation reached (N of M measures when every weight is 1).
	EarnThresholds EarnMethod = iota
	// EarnProportional pays points met / points possible.
	EarnProportional
)

// String returns the method's name as written in a program.
func (m EarnMethod) String() string { return [...]string{"thresholds", "proportional"}[m] }

// MarshalText implements encoding.TextMarshaler.
func (m EarnMethod) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// Threshold is one step of an N-of-M ladder: reaching Points earns Share
// of the pool.
type Threshold struct {
	Points Ratio `json:"points"` // points met, at least
	Share  Ratio `json:"share"`  // share of the pool earned, 0 to 1
}

// PoolRule is the quality pool: a share of the year's capitation payments
// earned by measures met, the rest going to the challenge pool.
type PoolRule struct {
	// Rate is the pool's share of capitation payments (0.0425 for 4.25%).
	Rate Ratio `json:"rate"`
	// Method turns points met into a share of the pool.
	Method EarnMethod `json:"method"`
	// Thresholds, for EarnThresholds, in increasing order of points.
	Thresholds []Threshold `json:"thresholds,omitempty"`
}

// MSRBasis says which savings are shared once the minimum savings rate is
// met.
type MSRBasis uint8

// The MSR bases.
const (
	// AboveMSR shares only the savings above the minimum savings amount.
	AboveMSR MSRBasis = iota
	// FirstDollar shares all savings once they reach the minimum.
	FirstDollar
)

// String returns the basis's name as written in a program.
func (b MSRBasis) String() string { return [...]string{"above_msr", "first_dollar"}[b] }

// MarshalText implements encoding.TextMarshaler.
func (b MSRBasis) MarshalText() ([]byte, error) { return []byte(b.String()), nil }

// QualityMethod is how the quality score scales shared savings.
type QualityMethod uint8

// The quality methods.
const (
	// QualityNone leaves shared savings unscaled.
	QualityNone QualityMethod = iota
	// QualityGate pays all shared savings at a score of at least MinScore
	// and none below (all or nothing).
	QualityGate
	// QualityLinear multiplies shared savings by the score (0 below
	// MinScore).
	QualityLinear
)

// String returns the method's name as written in a program.
func (m QualityMethod) String() string { return [...]string{"none", "gate", "linear"}[m] }

// MarshalText implements encoding.TextMarshaler.
func (m QualityMethod) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// SavingsRule is shared savings and shared risk on a global budget of
// PMPM × member months. Rates are fractions; amounts derived from the
// budget are rounded to the cent.
type SavingsRule struct {
	// MSR is the minimum savings rate, a fraction of the budget that
	// savings must reach before any are shared.
	MSR Ratio `json:"minimum_savings_rate"`
	// MSRBasis says which savings are shared once MSR is met.
	MSRBasis MSRBasis `json:"msr_basis"`
	// SharingRate is the organisation's share of shareable savings.
	SharingRate Ratio `json:"sharing_rate"`
	// Quality is how the quality score scales shared savings.
	Quality QualityMethod `json:"quality"`
	// MinScore is the quality score a gate requires, or below which a
	// linear scale pays nothing.
	MinScore Ratio `json:"min_score"`
	// Cap, when set, limits the organisation's shared savings to this
	// fraction of the budget.
	Cap *Ratio `json:"cap,omitempty"`
	// Corridor is the fraction of the budget of losses the payer absorbs
	// before any are shared.
	Corridor Ratio `json:"corridor"`
	// RiskRate is the organisation's share of losses beyond the corridor.
	RiskRate Ratio `json:"risk_rate"`
	// RiskCap, when set, limits what the organisation owes to this
	// fraction of the budget.
	RiskCap *Ratio `json:"risk_cap,omitempty"`
}

// pointsTotal returns the points of all measures.
func (p *Program) pointsTotal() Ratio {
	var t Ratio
	for i := range p.Measures {
		t = t.add(p.Measures[i].Weight)
	}
	return t
}

// check verifies the invariants evaluation relies on, for programs built
// in Go rather than parsed (the parser reports these with positions).
func (p *Program) check() error {
	if len(p.Measures) == 0 {
		return fmt.Errorf("payment: program %q has no measures", p.Name)
	}
	if p.pointsTotal().Sign() <= 0 {
		return fmt.Errorf("payment: program %q: the measures' weights add up to %s; want more than 0", p.Name, p.pointsTotal())
	}
	seen := map[string]bool{}
	for i := range p.Measures {
		m := &p.Measures[i]
		if seen[m.Key()] {
			return fmt.Errorf("payment: program %q lists measure %s twice", p.Name, m.Key())
		}
		seen[m.Key()] = true
		if int(m.Unit) >= len(unitNames) || m.Weight.Sign() < 0 || m.Floor.Sign() < 0 || m.GapClosure.Sign() < 0 {
			return fmt.Errorf("payment: program %q: measure %s: invalid unit, weight, floor or gap closure", p.Name, m.Key())
		}
	}
	if !isFraction(p.Pool.Rate) {
		return fmt.Errorf("payment: program %q: quality pool rate %s outside 0..1", p.Name, p.Pool.Rate)
	}
	if s := p.SharedSavings; s != nil {
		if p.PMPM <= 0 {
			return fmt.Errorf("payment: program %q has shared savings but no PMPM", p.Name)
		}
		for _, r := range []Ratio{s.MSR, s.SharingRate, s.MinScore, s.Corridor, s.RiskRate} {
			if !isFraction(r) {
				return fmt.Errorf("payment: program %q: shared savings rate %s outside 0..1", p.Name, r)
			}
		}
	}
	return nil
}

var one = RatioOf(1, 1)

func isFraction(r Ratio) bool { return r.Sign() >= 0 && r.Cmp(one) <= 0 }
