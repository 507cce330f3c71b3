package payment

import "fmt"

// SavingsResult is shared savings or shared risk on the global budget,
// step by step. Exactly one of Gain and Loss is set unless the actual
// cost equals the budget.
type SavingsResult struct {
	// PMPM and MemberMonths make the budget.
	PMPM         Cents `json:"pmpm"`
	MemberMonths int64 `json:"member_months"`
	// Budget = PMPM × MemberMonths.
	Budget Cents `json:"budget"`
	// Actual is the actual total cost of care.
	Actual Cents `json:"actual"`
	// Savings = Budget − Actual; negative for a loss.
	Savings Cents `json:"savings"`
	// SavingsRate = Savings / Budget.
	SavingsRate Ratio `json:"savings_rate"`
	// Gain is set for savings, Loss for a loss.
	Gain *GainShare `json:"gain,omitempty"`
	Loss *LossShare `json:"loss,omitempty"`
	// Final is paid to the organisation when positive and owed by it when
	// negative.
	Final Cents `json:"final"`
	// Steps write out the arithmetic, one line a step.
	Steps []string `json:"steps"`
}

// GainShare is the sharing of savings.
type GainShare struct {
	// MinimumSavings = MSR × Budget; Reached when Savings ≥ it; Basis is
	// the rule's MSRBasis.
	MSR            Ratio    `json:"minimum_savings_rate"`
	MinimumSavings Cents    `json:"minimum_savings"`
	Reached        bool     `json:"reached"`
	Basis          MSRBasis `json:"msr_basis"`
	// Shareable is Savings − MinimumSavings (AboveMSR) or Savings
	// (FirstDollar).
	Shareable Cents `json:"shareable"`
	// Shared = SharingRate × Shareable.
	SharingRate Ratio `json:"sharing_rate"`
	Shared      Cents `json:"shared"`
	// Factor is the quality factor from Score and MinScore by the
	// Quality method; Scaled = Factor × Shared.
	Quality  QualityMethod `json:"quality"`
	Score    Ratio         `json:"score"`
	MinScore Ratio         `json:"min_score"`
	Factor   Ratio         `json:"factor"`
	Scaled   Cents         `json:"scaled"`
	// CapAmount = Cap × Budget when the program caps savings; Capped when
	// it bound.
	Cap       *Ratio `json:"cap,omitempty"`
	CapAmount *Cents `json:"cap_amount,omitempty"`
	Capped    bool   `json:"capped"`
	// Paid is what the organisation keeps.
	Paid Cents `json:"paid"`
}

// LossShare is the sharing of a loss.
type LossShare struct {
	// Loss = Actual − Budget.
	Loss Cents `json:"loss"`
	// CorridorAmount = Corridor × Budget, absorbed by the payer.
	Corridor       Ratio `json:"corridor"`
	CorridorAmount Cents `json:"corridor_amount"`
	// Excess = Loss − CorridorAmount, or 0 within the corridor.
	Excess Cents `json:"excess"`
	// Shared = RiskRate × Excess.
	RiskRate Ratio `json:"risk_rate"`
	Shared   Cents `json:"shared"`
	// RiskCapAmount = RiskCap × Budget when the program caps losses;
	// Capped when it bound.
	RiskCap       *Ratio `json:"risk_cap,omitempty"`
	RiskCapAmount *Cents `json:"risk_cap_amount,omitempty"`
	Capped        bool   `json:"capped"`
	// Owed is what the organisation pays back.
	Owed Cents `json:"owed"`
}

// steps accumulates explanation lines and the first rounding error.
type steps struct {
	lines []string
	err   error
}

func (s *steps) add(format string, args ...any) {
	s.lines = append(s.lines, fmt.Sprintf(format, args...))
}

// times returns c × r rounded to the cent, remembering an overflow.
func (s *steps) times(c Cents, r Ratio) Cents {
	v, err := c.Times(r)
	if err != nil && s.err == nil {
		s.err = err
	}
	return v
}

// apply computes shared savings or risk for a budget of pmpm × months, an
// actual cost and a quality score.
func (rule *SavingsRule) apply(pmpm Cents, months int64, actual Cents, score Ratio) (*SavingsResult, error) {
	if actual < 0 {
		return nil, fmt.Errorf("payment: actual total cost of care %s: want 0 or more", actual)
	}
	budget, err := centsOf(pmpm.ratio().mulInt(months))
	if err != nil {
		return nil, err
	}
	r := &SavingsResult{PMPM: pmpm, MemberMonths: months, Budget: budget, Actual: actual, Savings: budget - actual}
	r.SavingsRate = r.Savings.ratio().quo(budget.ratio())
	s := &steps{}
	s.add("budget: PMPM %s × %s member months = %s", pmpm, groupDigits(months), budget)
	s.add("actual total cost of care: %s", actual)
	switch {
	case r.Savings > 0:
		s.add("savings: %s − %s = %s (%s of the budget)", budget, actual, r.Savings, r.SavingsRate.Percent())
		r.Gain = rule.gain(r, score, s)
		r.Final = r.Gain.Paid
		s.add("paid to the organisation: %s", r.Final)
	case r.Savings < 0:
		s.add("loss: %s − %s = %s (%s of the budget)", actual, budget, -r.Savings, r.SavingsRate.mulInt(-1).Percent())
		r.Loss = rule.loss(r, s)
		r.Final = -r.Loss.Owed
		s.add("owed by the organisation: %s", r.Loss.Owed)
	default:
		s.add("the actual cost equals the budget: nothing is shared")
	}
	r.Steps = s.lines
	return r, s.err
}

func (rule *SavingsRule) gain(r *SavingsResult, score Ratio, s *steps) *GainShare {
	g := &GainShare{MSR: rule.MSR, Basis: rule.MSRBasis, SharingRate: rule.SharingRate, Quality: rule.Quality, Score: score, MinScore: rule.MinScore, Cap: rule.Cap}
	g.MinimumSavings = s.times(r.Budget, rule.MSR)
	g.Reached = r.Savings >= g.MinimumSavings
	if !g.Reached {
		s.add("minimum savings: %s × %s = %s%s; savings %s fall short: no shared savings", rule.MSR.Percent(), r.Budget, g.MinimumSavings, roundNote(r.Budget, rule.MSR), r.Savings)
		return g
	}
	s.add("minimum savings: %s × %s = %s%s; savings %s reach it", rule.MSR.Percent(), r.Budget, g.MinimumSavings, roundNote(r.Budget, rule.MSR), r.Savings)
	if rule.MSRBasis == AboveMSR {
		g.Shareable = r.Savings - g.MinimumSavings
		s.add("shareable savings (above the minimum): %s − %s = %s", r.Savings, g.MinimumSavings, g.Shareable)
	} else {
		g.Shareable = r.Savings
		s.add("shareable savings (from the first dollar): %s", g.Shareable)
	}
	g.Shared = s.times(g.Shareable, rule.SharingRate)
	s.add("organisation's share: %s × %s = %s%s", rule.SharingRate.Percent(), g.Shareable, g.Shared, roundNote(g.Shareable, rule.SharingRate))
	switch rule.Quality {
	case QualityNone:
		g.Factor = one
	case QualityGate:
		if score.Cmp(rule.MinScore) >= 0 {
			g.Factor = one
			s.add("quality gate: score %s ≥ %s, so all of it is kept", score.Percent(), rule.MinScore.Percent())
		} else {
			s.add("quality gate: score %s < %s, so none of it is kept", score.Percent(), rule.MinScore.Percent())
		}
	case QualityLinear:
		if score.Cmp(rule.MinScore) >= 0 {
			g.Factor = score
			s.add("quality scale (linear): factor = score %s", score.Percent())
		} else {
			s.add("quality scale (linear): score %s < minimum %s, factor 0%%", score.Percent(), rule.MinScore.Percent())
		}
	}
	g.Scaled = s.times(g.Shared, g.Factor)
	if rule.Quality != QualityNone {
		s.add("after quality: %s × %s = %s%s", g.Factor.Percent(), g.Shared, g.Scaled, roundNote(g.Shared, g.Factor))
	}
	g.Paid = g.Scaled
	if rule.Cap != nil {
		c := s.times(r.Budget, *rule.Cap)
		g.CapAmount = &c
		if g.Scaled > c {
			g.Capped, g.Paid = true, c
			s.add("cap: %s × %s = %s%s; %s is capped at it", rule.Cap.Percent(), r.Budget, c, roundNote(r.Budget, *rule.Cap), g.Scaled)
		} else {
			s.add("cap: %s × %s = %s%s; not reached", rule.Cap.Percent(), r.Budget, c, roundNote(r.Budget, *rule.Cap))
		}
	}
	return g
}

func (rule *SavingsRule) loss(r *SavingsResult, s *steps) *LossShare {
	l := &LossShare{Loss: -r.Savings, Corridor: rule.Corridor, RiskRate: rule.RiskRate, RiskCap: rule.RiskCap}
	l.CorridorAmount = s.times(r.Budget, rule.Corridor)
	if l.Loss <= l.CorridorAmount {
		s.add("corridor: %s × %s = %s%s; the loss %s lies within it, so the payer bears it all", rule.Corridor.Percent(), r.Budget, l.CorridorAmount, roundNote(r.Budget, rule.Corridor), l.Loss)
		return l
	}
	l.Excess = l.Loss - l.CorridorAmount
	s.add("corridor: %s × %s = %s%s; loss beyond it: %s − %s = %s", rule.Corridor.Percent(), r.Budget, l.CorridorAmount, roundNote(r.Budget, rule.Corridor), l.Loss, l.CorridorAmount, l.Excess)
	l.Shared = s.times(l.Excess, rule.RiskRate)
	s.add("organisation's share of the excess: %s × %s = %s%s", rule.RiskRate.Percent(), l.Excess, l.Shared, roundNote(l.Excess, rule.RiskRate))
	l.Owed = l.Shared
	if rule.RiskCap != nil {
		c := s.times(r.Budget, *rule.RiskCap)
		l.RiskCapAmount = &c
		if l.Shared > c {
			l.Capped, l.Owed = true, c
			s.add("risk cap: %s × %s = %s%s; %s is capped at it", rule.RiskCap.Percent(), r.Budget, c, roundNote(r.Budget, *rule.RiskCap), l.Shared)
		} else {
			s.add("risk cap: %s × %s = %s%s; not reached", rule.RiskCap.Percent(), r.Budget, c, roundNote(r.Budget, *rule.RiskCap))
		}
	}
	return l
}
