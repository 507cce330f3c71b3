package metric

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
)

// DefaultThreshold is the smallest count published when
// SuppressionOptions.Threshold is zero. The CMS Cell Size Suppression
// Policy (as published by ResDAC) reports no cell with a value of 1 to 10,
// nor any cell from which such a value can be derived, by percentages or
// other formulas; a value of 0 does not violate it.
const DefaultThreshold = 11

// ErrSuppressionOptions is wrapped by the errors Suppress returns for
// invalid options.
var ErrSuppressionOptions = errors.New("metric: invalid suppression options")

// SuppressionOptions configure Suppress. The zero value suppresses counts
// of 1 to 10.
type SuppressionOptions struct {
	// Threshold is the smallest count that is published; counts from 1 to
	// Threshold − 1 are small. Zero means DefaultThreshold.
	Threshold int64
	// SuppressZeros treats a count of 0 as small too (some policies do;
	// CMS's does not).
	SuppressZeros bool
	// GroupSums declares groups whose counts add up to another group's,
	// such as dental's total = age_1_5 + age_6_14, so that no cell can be
	// recovered by subtracting one group from another.
	GroupSums []GroupSum
	// Relations declares any other row that is the sum of other rows, such
	// as dental's group age_1_5, which is the age_band=1-5 stratum of
	// group total.
	Relations []Relation
}

// RowRef names a row of a measure's result: a group's overall row when
// Stratifier is empty, else the stratum of Stratifier with Values.
type RowRef struct {
	Group      string   `json:"group"`
	Stratifier string   `json:"stratifier,omitempty"`
	Values     []string `json:"values,omitempty"`
}

// Relation says that, in measure Measure, the populations of row Total
// are the sums of those of rows Parts (one part makes them equal).
type Relation struct {
	Measure string   `json:"measure"`
	Total   RowRef   `json:"total"`
	Parts   []RowRef `json:"parts"`
}

// GroupSum says that the groups Parts of measure Measure partition group
// Total: each population of Total, overall and in each stratum, is the sum
// of the parts'.
type GroupSum struct {
	Measure string   `json:"measure"`
	Total   string   `json:"total"`
	Parts   []string `json:"parts"`
}

// SuppressionReason says why a published cell has no value.
type SuppressionReason uint8

const (
	// NotSuppressed marks a published value.
	NotSuppressed SuppressionReason = iota
	// SuppressedSmall is primary suppression: the count is small.
	SuppressedSmall
	// SuppressedSmallComplement is primary suppression of a numerator
	// whose complement, denominator − numerator (the members who did not
	// meet it), is small.
	SuppressedSmallComplement
	// SuppressedSmallDenominator is primary suppression of a numerator
	// whose denominator is small.
	SuppressedSmallDenominator
	// SuppressedComplementary is complementary (secondary) suppression: the
	// count is not small, but publishing it would let the cell named by
	// Cell.Protects be recovered by subtraction.
	SuppressedComplementary
	// SuppressedDerived marks a rate hidden because its numerator or
	// denominator is.
	SuppressedDerived
)

var suppressionReasonNames = [...]string{"", "small-cell", "small-complement", "small-denominator", "complementary", "derived"}

// String returns the reason's text form: "" when not suppressed, else
// small-cell, small-complement, small-denominator, complementary or
// derived.
func (r SuppressionReason) String() string {
	if int(r) < len(suppressionReasonNames) {
		return suppressionReasonNames[r]
	}
	return "SuppressionReason(" + strconv.Itoa(int(r)) + ")"
}

// MarshalText implements encoding.TextMarshaler.
func (r SuppressionReason) MarshalText() ([]byte, error) {
	if int(r) >= len(suppressionReasonNames) {
		return nil, fmt.Errorf("metric: unknown suppression reason %d", r)
	}
	return []byte(r.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (r *SuppressionReason) UnmarshalText(b []byte) error {
	i := slices.Index(suppressionReasonNames[:], string(b))
	if i < 0 {
		return fmt.Errorf("metric: unknown suppression reason %q", b)
	}
	*r = SuppressionReason(i)
	return nil
}

// Cell is a published count: its value, or no value and the reason. A
// suppressed cell holds no trace of its value. It encodes as
// {"value": 12} or {"value": null, "suppressed": "small-cell"}.
type Cell struct {
	Value      int64
	Suppressed SuppressionReason
	// Protects names, for complementary suppression, the cell whose
	// recovery it prevents, as "group stratifier=values population".
	Protects string
}

type cellJSON struct {
	Value      *int64            `json:"value"`
	Suppressed SuppressionReason `json:"suppressed,omitempty"`
	Protects   string            `json:"protects,omitempty"`
}

// MarshalJSON implements json.Marshaler.
func (c Cell) MarshalJSON() ([]byte, error) {
	j := cellJSON{Suppressed: c.Suppressed, Protects: c.Protects}
	if c.Suppressed == NotSuppressed {
		j.Value = &c.Value
	}
	return json.Marshal(j)
}

// UnmarshalJSON implements json.Unmarshaler.
func (c *Cell) UnmarshalJSON(b []byte) error {
	var j cellJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*c = Cell{Suppressed: j.Suppressed, Protects: j.Protects}
	if j.Value != nil {
		c.Value = *j.Value
	}
	return nil
}

// RateCell is a published rate: its value (which may be undefined), or no
// value and the reason. It encodes as {"value": 0.5}, {"value": null} when
// undefined, or {"value": null, "suppressed": "derived"}.
type RateCell struct {
	Value      Rate
	Suppressed SuppressionReason
}

type rateCellJSON struct {
	Value      Rate              `json:"value"`
	Suppressed SuppressionReason `json:"suppressed,omitempty"`
}

// MarshalJSON implements json.Marshaler.
func (c RateCell) MarshalJSON() ([]byte, error) {
	j := rateCellJSON{Value: c.Value, Suppressed: c.Suppressed}
	if c.Suppressed != NotSuppressed {
		j.Value = Rate{}
	}
	return json.Marshal(j)
}

// UnmarshalJSON implements json.Unmarshaler.
func (c *RateCell) UnmarshalJSON(b []byte) error {
	var j rateCellJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*c = RateCell(j)
	return nil
}

// Cells are the published figures of one row: the rate's numerator and
// denominator (the population's denominator less exclusions and
// exceptions, the divisor of Counts.Rate) and the rate. The initial
// population, exclusions and exceptions are not published: each would be
// one more table to protect.
type Cells struct {
	Numerator   Cell     `json:"numerator"`
	Denominator Cell     `json:"denominator"`
	Rate        RateCell `json:"rate"`
}

// PublishedStratum is a stratum of a PublishedReport.
type PublishedStratum struct {
	Values []string `json:"values"`
	Cells
}

// PublishedStratifier is a stratifier of a PublishedReport.
type PublishedStratifier struct {
	ID         string             `json:"id"`
	Components []string           `json:"components,omitempty"`
	Strata     []PublishedStratum `json:"strata"`
}

// PublishedGroup is a group of a PublishedReport.
type PublishedGroup struct {
	ID    string `json:"id"`
	Title string `json:"title,omitempty"`
	Cells
	Stratifiers []PublishedStratifier `json:"stratifiers,omitempty"`
}

// PublishedMeasure is a measure of a PublishedReport.
type PublishedMeasure struct {
	ID      string           `json:"id"`
	Title   string           `json:"title,omitempty"`
	Version string           `json:"version,omitempty"`
	Scoring string           `json:"scoring"`
	Period  Period           `json:"period"`
	Groups  []PublishedGroup `json:"groups"`
}

// PublishedReport is a Report fit for publication: every small cell and
// every cell that would reveal one is suppressed. It has the report's
// measures, groups, stratifiers and strata in the same order.
type PublishedReport struct {
	Threshold int64              `json:"threshold"`
	Measures  []PublishedMeasure `json:"measures"`
}

// Suppress returns a copy of r for publication, with small-cell
// suppression. r is not modified, so the unsuppressed numbers remain
// available to the caller.
//
// Primary suppression hides a count from 1 to Threshold − 1 (and 0 with
// SuppressZeros); a numerator whose denominator is small; and a numerator
// whose complement, denominator − numerator, is small, since a numerator
// close to its denominator reveals how few members missed it.
//
// Complementary suppression then hides more cells until none of the
// hidden ones can be recovered from the published ones by addition and
// subtraction. The relations it protects, for numerators and denominators
// separately, are: the strata of a stratifier sum to the group's total;
// the strata of a cross stratifier (race × language) sum to the strata of
// each stratifier of fewer components (race, language) and to the total,
// whether or not those margins are published; and GroupSums. They are
// assumed even where strata overlap (race alone or in combination) or
// leave members out, which can only suppress more. It proceeds in three
// steps repeated to a fixed point: a relation with exactly one hidden cell
// gets another; a relation whose published total fixes the sum of its
// hidden cells below Threshold gets another; and a check by exact linear
// algebra over all relations at once (a hidden cell is recoverable if and
// only if it is determined by the published cells through the relations)
// hides a further cell wherever one is still recoverable. The cell added
// is the smallest non-zero published part of the relation (then zeros,
// then by label); a group's total is chosen only when no part is left.
// A rate is published only with its numerator and denominator.
//
// Denominators are suppressed on the denominators alone, so groups whose
// denominators agree stratum by stratum (the antigens of CIS) hide the
// same ones and none reveals another's. Relations that are not sums of
// rows with coefficient 1, such as the excess of race alone-or-in-
// combination strata over the total, are not modelled; nor are the
// statistics of Report.Equity, which must not be published for hidden
// strata.
//
// Suppress is deterministic and safe for concurrent use; it returns an
// error wrapping ErrSuppressionOptions for a negative threshold, or a
// GroupSum or Relation naming a measure or row not in r.
func Suppress(r *Report, opt SuppressionOptions) (*PublishedReport, error) {
	t := opt.Threshold
	if t < 0 {
		return nil, fmt.Errorf("%w: threshold %d is negative", ErrSuppressionOptions, t)
	}
	if t == 0 {
		t = DefaultThreshold
	}
	s := &suppressor{threshold: t, zeros: opt.SuppressZeros}
	out := &PublishedReport{Threshold: t, Measures: make([]PublishedMeasure, len(r.Measures))}
	for mi := range r.Measures {
		if err := s.measure(&r.Measures[mi], &out.Measures[mi], opt); err != nil {
			return nil, err
		}
	}
	s.run()
	for _, row := range s.rows {
		num, den := &s.cells[row.num], &s.cells[row.den]
		row.dst.Numerator = num.published()
		row.dst.Denominator = den.published()
		if num.reason != NotSuppressed || den.reason != NotSuppressed {
			row.dst.Rate = RateCell{Suppressed: SuppressedDerived}
		} else {
			row.dst.Rate = RateCell{Value: row.rate}
		}
	}
	return out, nil
}

const (
	kindNumerator = iota
	kindDenominator
)

type supCell struct {
	value   int64
	reason  SuppressionReason
	protect string
	label   string
	// virtual marks an unpublished margin: always unknown, never output.
	virtual bool
}

func (c *supCell) unknown() bool { return c.virtual || c.reason != NotSuppressed }

func (c *supCell) published() Cell {
	if c.reason != NotSuppressed {
		return Cell{Suppressed: c.reason, Protects: c.protect}
	}
	return Cell{Value: c.value}
}

// equation says that cells[total] = Σ cells[parts].
type equation struct {
	total int
	parts []int
	// exact reports whether the unsuppressed counts satisfy it.
	exact bool
}

type supRow struct {
	num, den int
	rate     Rate
	dst      *Cells
}

type suppressor struct {
	threshold int64
	zeros     bool
	cells     []supCell
	rows      []supRow
	eqs       []equation
	// gaveUp holds hidden cells the linear check could not protect.
	gaveUp map[int]bool
}

func (s *suppressor) small(v int64) bool { return (v > 0 || s.zeros) && v < s.threshold }

// row adds the numerator and denominator cells of counts c, with their
// primary suppression, and returns the row's index.
func (s *suppressor) row(c Counts, label string, dst *Cells) int {
	x, n := eligible(c)
	s.cells = append(s.cells, supCell{value: x, label: label + " numerator"}, supCell{value: n, label: label + " denominator"})
	num, den := len(s.cells)-2, len(s.cells)-1
	switch {
	case s.small(n):
		s.cells[den].reason = SuppressedSmall
		s.cells[num].reason = SuppressedSmallDenominator
		if s.small(x) {
			s.cells[num].reason = SuppressedSmall
		}
	case s.small(x):
		s.cells[num].reason = SuppressedSmall
	case s.small(n - x):
		s.cells[num].reason = SuppressedSmallComplement
	}
	s.rows = append(s.rows, supRow{num: num, den: den, rate: c.Rate(), dst: dst})
	return len(s.rows) - 1
}

func (s *suppressor) cell(row, kind int) int {
	if kind == kindNumerator {
		return s.rows[row].num
	}
	return s.rows[row].den
}

func (s *suppressor) equation(kind, total int, partRows []int, totalIsCell bool) {
	eq := equation{total: total}
	if !totalIsCell {
		eq.total = s.cell(total, kind)
	}
	var sum int64
	for _, p := range partRows {
		c := s.cell(p, kind)
		eq.parts = append(eq.parts, c)
		sum += s.cells[c].value
	}
	if len(eq.parts) == 0 {
		return
	}
	if s.cells[eq.total].virtual && s.cells[eq.total].value == 0 {
		s.cells[eq.total].value = sum
	}
	eq.exact = s.cells[eq.total].value == sum
	s.eqs = append(s.eqs, eq)
}

// groupRows indexes one group's rows: the total, and each stratum by
// stratifier id and values.
type groupRows struct {
	id     string
	total  int
	strata map[string]map[string]int // stratifier id → joined values → row
	comps  map[string][]string       // stratifier id → components
	order  []string                  // stratifier ids in report order
}

func joinValues(v []string) string { return strings.Join(v, "\x00") }

func (s *suppressor) measure(m *MeasureResult, out *PublishedMeasure, opt SuppressionOptions) error {
	*out = PublishedMeasure{ID: m.ID, Title: m.Title, Version: m.Version, Scoring: m.Scoring, Period: m.Period,
		Groups: make([]PublishedGroup, len(m.Groups))}
	groups := make([]*groupRows, len(m.Groups))
	for gi := range m.Groups {
		g, pg := &m.Groups[gi], &out.Groups[gi]
		*pg = PublishedGroup{ID: g.ID, Title: g.Title, Stratifiers: make([]PublishedStratifier, len(g.Stratifiers))}
		if len(g.Stratifiers) == 0 {
			pg.Stratifiers = nil
		}
		gr := &groupRows{id: g.ID, strata: map[string]map[string]int{}, comps: map[string][]string{}}
		gr.total = s.row(g.Counts, g.ID, &pg.Cells)
		for si := range g.Stratifiers {
			st, ps := &g.Stratifiers[si], &pg.Stratifiers[si]
			*ps = PublishedStratifier{ID: st.ID, Components: slices.Clone(st.Components), Strata: make([]PublishedStratum, len(st.Strata))}
			rows := map[string]int{}
			for k := range st.Strata {
				ps.Strata[k].Values = slices.Clone(st.Strata[k].Values)
				label := g.ID + " " + st.ID + "=" + strings.Join(st.Strata[k].Values, "|")
				rows[joinValues(st.Strata[k].Values)] = s.row(st.Strata[k].Counts, label, &ps.Strata[k].Cells)
			}
			gr.strata[st.ID], gr.comps[st.ID] = rows, st.Components
			gr.order = append(gr.order, st.ID)
		}
		groups[gi] = gr
		for kind := range 2 {
			s.stratifierEquations(gr, kind)
		}
	}
	for _, gs := range opt.GroupSums {
		if gs.Measure != m.ID {
			continue
		}
		if err := s.groupSum(m, groups, gs); err != nil {
			return err
		}
	}
	for _, rel := range opt.Relations {
		if rel.Measure != m.ID {
			continue
		}
		total, ok := findRow(groups, rel.Total)
		if !ok || len(rel.Parts) == 0 {
			return fmt.Errorf("%w: relation: measure %q has no row %v, or no parts", ErrSuppressionOptions, m.ID, rel.Total)
		}
		var parts []int
		for _, p := range rel.Parts {
			r, ok := findRow(groups, p)
			if !ok {
				return fmt.Errorf("%w: relation: measure %q has no row %v", ErrSuppressionOptions, m.ID, p)
			}
			if r >= 0 {
				parts = append(parts, r)
			}
		}
		if total < 0 {
			continue // an absent stratum counts 0, and so do its parts
		}
		for kind := range 2 {
			s.equation(kind, total, parts, false)
		}
	}
	return nil
}

// findRow returns the row ref names; -1 for a stratum absent from its
// stratifier (a count of 0); false when the group or stratifier is not in
// the measure.
func findRow(groups []*groupRows, ref RowRef) (int, bool) {
	for _, g := range groups {
		if g.id != ref.Group {
			continue
		}
		if ref.Stratifier == "" {
			return g.total, true
		}
		rows, ok := g.strata[ref.Stratifier]
		if !ok {
			return 0, false
		}
		if r, ok := rows[joinValues(ref.Values)]; ok {
			return r, true
		}
		return -1, true
	}
	return 0, false
}

// stratifierEquations adds the relations within one group: each plain
// stratifier against the total, each cross stratifier against every
// margin of fewer components.
func (s *suppressor) stratifierEquations(g *groupRows, kind int) {
	for _, id := range g.order {
		rows := g.strata[id]
		keys := sortedKeys(rows)
		comps := g.comps[id]
		if len(comps) < 2 {
			parts := make([]int, len(keys))
			for i, k := range keys {
				parts[i] = rows[k]
			}
			s.equation(kind, g.total, parts, false)
			continue
		}
		for mask := 0; mask < 1<<len(comps)-1; mask++ {
			var kept []string
			for c := range comps {
				if mask&(1<<c) != 0 {
					kept = append(kept, comps[c])
				}
			}
			margin := g.marginStratifier(kept)
			byMargin := map[string][]int{}
			for _, k := range keys {
				vals := strings.Split(k, "\x00")
				var mv []string
				for c := range comps {
					if mask&(1<<c) != 0 && c < len(vals) {
						mv = append(mv, vals[c])
					}
				}
				mk := joinValues(mv)
				byMargin[mk] = append(byMargin[mk], rows[k])
			}
			for _, mk := range sortedKeys(byMargin) {
				parts := byMargin[mk]
				switch {
				case mask == 0:
					s.equation(kind, g.total, parts, false)
				case margin != "" && hasKey(g.strata[margin], mk):
					s.equation(kind, g.strata[margin][mk], parts, false)
				default:
					label := g.id + " " + strings.Join(kept, "×") + "=" + strings.ReplaceAll(mk, "\x00", "|") + " (unpublished)"
					s.cells = append(s.cells, supCell{virtual: true, label: label})
					s.equation(kind, len(s.cells)-1, parts, true)
				}
			}
		}
	}
}

func hasKey[V any](m map[string]V, k string) bool {
	_, ok := m[k]
	return ok
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// marginStratifier returns the id of the group's stratifier over exactly
// the components kept, or "".
func (g *groupRows) marginStratifier(kept []string) string {
	for _, id := range g.order {
		comps := g.comps[id]
		if len(comps) == 0 {
			comps = []string{id}
		}
		if slices.Equal(comps, kept) {
			return id
		}
	}
	return ""
}

func (s *suppressor) groupSum(m *MeasureResult, groups []*groupRows, gs GroupSum) error {
	find := func(id string) *groupRows {
		for _, g := range groups {
			if g.id == id {
				return g
			}
		}
		return nil
	}
	total := find(gs.Total)
	if total == nil || len(gs.Parts) == 0 {
		return fmt.Errorf("%w: group sum: measure %q has no group %q, or no parts", ErrSuppressionOptions, m.ID, gs.Total)
	}
	parts := make([]*groupRows, len(gs.Parts))
	for i, id := range gs.Parts {
		if parts[i] = find(id); parts[i] == nil {
			return fmt.Errorf("%w: group sum: measure %q has no group %q", ErrSuppressionOptions, m.ID, id)
		}
	}
	for kind := range 2 {
		rows := make([]int, len(parts))
		for i, p := range parts {
			rows[i] = p.total
		}
		s.equation(kind, total.total, rows, false)
	stratifiers:
		for _, id := range total.order {
			for _, p := range parts {
				if p.strata[id] == nil {
					continue stratifiers
				}
			}
			for _, k := range sortedKeys(total.strata[id]) {
				var rows []int
				for _, p := range parts {
					if r, ok := p.strata[id][k]; ok {
						rows = append(rows, r)
					}
				}
				s.equation(kind, total.strata[id][k], rows, false)
			}
		}
	}
	return nil
}

// run applies complementary suppression to a fixed point.
func (s *suppressor) run() {
	s.gaveUp = map[int]bool{}
	for {
		changed := false
		for i := range s.eqs {
			if s.local(&s.eqs[i]) {
				changed = true
			}
		}
		if changed {
			continue
		}
		if !s.audit() {
			return
		}
	}
}

// local protects one relation: it must not have exactly one hidden cell,
// nor, with a published total, hidden cells whose sum is small.
func (s *suppressor) local(eq *equation) bool {
	var unknown []int
	if s.cells[eq.total].unknown() {
		unknown = append(unknown, eq.total)
	}
	var hiddenSum int64
	for _, p := range eq.parts {
		if s.cells[p].unknown() {
			unknown = append(unknown, p)
			hiddenSum += s.cells[p].value
		}
	}
	switch {
	case len(unknown) == 1:
		if s.gaveUp[unknown[0]] || s.cells[unknown[0]].virtual {
			return false
		}
		return s.suppressFor(unknown[0], s.candidates(eq))
	case len(unknown) > 1 && !s.cells[eq.total].unknown() && hiddenSum > 0 && hiddenSum < s.threshold:
		return s.suppressFor(unknown[0], s.candidates(eq))
	}
	return false
}

// candidates returns the published cells of a relation that complementary
// suppression may hide, best first: the parts, smallest non-zero value
// first, then zeros, then by label; the total only when no part is left
// and the relation holds exactly.
func (s *suppressor) candidates(eq *equation) []int {
	var c []int
	for _, p := range eq.parts {
		if !s.cells[p].unknown() {
			c = append(c, p)
		}
	}
	if len(c) == 0 && eq.exact && !s.cells[eq.total].unknown() {
		return []int{eq.total}
	}
	slices.SortFunc(c, func(a, b int) int {
		ca, cb := &s.cells[a], &s.cells[b]
		if (ca.value == 0) != (cb.value == 0) {
			if ca.value == 0 {
				return 1
			}
			return -1
		}
		if ca.value != cb.value {
			if ca.value < cb.value {
				return -1
			}
			return 1
		}
		return strings.Compare(ca.label, cb.label)
	})
	return c
}

func (s *suppressor) suppressFor(protected int, cands []int) bool {
	if len(cands) == 0 {
		return false
	}
	c := &s.cells[cands[0]]
	c.reason, c.protect = SuppressedComplementary, strings.TrimSuffix(s.cells[protected].label, " (unpublished)")
	return true
}

// audit finds a hidden cell that the relations together still determine
// (a recoverable count, or an unpublished margin whose small value they
// reveal) and hides one more cell to protect it. It reports whether it
// hid one.
func (s *suppressor) audit() bool {
	for _, comp := range s.components() {
		for _, c := range s.determined(comp) {
			cell := &s.cells[c]
			if s.gaveUp[c] || (cell.virtual && !s.small(cell.value)) {
				continue
			}
			var cands []int
			for i := range s.eqs {
				if s.eqs[i].total == c || slices.Contains(s.eqs[i].parts, c) {
					cands = append(cands, s.candidates(&s.eqs[i])...)
				}
			}
			cands = uniqueInOrder(cands)
			// Prefer a candidate that makes c undetermined on its own.
			for _, k := range cands {
				s.cells[k].reason = SuppressedComplementary
				still := slices.Contains(s.determined(s.componentOf(c)), c)
				s.cells[k].reason = NotSuppressed
				if !still {
					return s.suppressFor(c, []int{k})
				}
			}
			if s.suppressFor(c, cands) {
				return true
			}
			s.gaveUp[c] = true
		}
	}
	return false
}

func uniqueInOrder(c []int) []int {
	seen := map[int]bool{}
	out := c[:0]
	for _, x := range c {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// components groups the relations that share hidden cells; each group is
// solved on its own.
func (s *suppressor) components() [][]int {
	parent := map[int]int{}
	var find func(int) int
	find = func(x int) int {
		if p, ok := parent[x]; ok && p != x {
			r := find(p)
			parent[x] = r
			return r
		}
		parent[x] = x
		return x
	}
	first := make([]int, len(s.eqs))
	for i := range s.eqs {
		first[i] = -1
		for _, c := range s.unknownsOf(&s.eqs[i]) {
			if first[i] < 0 {
				first[i] = find(c)
			} else if a, b := find(first[i]), find(c); a != b {
				parent[max(a, b)] = min(a, b)
			}
		}
	}
	byRoot := map[int][]int{}
	var roots []int
	for i := range s.eqs {
		if first[i] < 0 {
			continue
		}
		r := find(first[i])
		if byRoot[r] == nil {
			roots = append(roots, r)
		}
		byRoot[r] = append(byRoot[r], i)
	}
	slices.Sort(roots)
	out := make([][]int, len(roots))
	for i, r := range roots {
		out[i] = byRoot[r]
	}
	return out
}

// componentOf returns the relations connected to cell c through hidden
// cells.
func (s *suppressor) componentOf(c int) []int {
	for _, comp := range s.components() {
		for _, e := range comp {
			if slices.Contains(s.unknownsOf(&s.eqs[e]), c) {
				return comp
			}
		}
	}
	return nil
}

func (s *suppressor) unknownsOf(eq *equation) []int {
	var u []int
	if s.cells[eq.total].unknown() {
		u = append(u, eq.total)
	}
	for _, p := range eq.parts {
		if s.cells[p].unknown() {
			u = append(u, p)
		}
	}
	return u
}

// determined returns the hidden cells of the relations eqs whose values
// the published cells determine, in ascending order: those x_j for which
// the unit vector e_j lies in the row space of the relations restricted to
// the hidden cells, read off the reduced row echelon form as a row with a
// single non-zero entry. Arithmetic is exact.
func (s *suppressor) determined(eqs []int) []int {
	col := map[int]int{}
	var cols []int
	for _, e := range eqs {
		for _, c := range s.unknownsOf(&s.eqs[e]) {
			if _, ok := col[c]; !ok {
				col[c] = len(cols)
				cols = append(cols, c)
			}
		}
	}
	m := make([][]*big.Rat, 0, len(eqs))
	for _, e := range eqs {
		eq := &s.eqs[e]
		row := make([]*big.Rat, len(cols))
		for i := range row {
			row[i] = new(big.Rat)
		}
		if j, ok := col[eq.total]; ok {
			row[j].SetInt64(-1)
		}
		for _, p := range eq.parts {
			if j, ok := col[p]; ok {
				row[j].Add(row[j], big.NewRat(1, 1))
			}
		}
		m = append(m, row)
	}
	rank := 0
	tmp := new(big.Rat)
	for j := 0; j < len(cols) && rank < len(m); j++ {
		pivot := -1
		for i := rank; i < len(m); i++ {
			if m[i][j].Sign() != 0 {
				pivot = i
				break
			}
		}
		if pivot < 0 {
			continue
		}
		m[rank], m[pivot] = m[pivot], m[rank]
		inv := new(big.Rat).Inv(m[rank][j])
		for k := j; k < len(cols); k++ {
			m[rank][k].Mul(m[rank][k], inv)
		}
		for i := range m {
			if i == rank || m[i][j].Sign() == 0 {
				continue
			}
			f := new(big.Rat).Set(m[i][j])
			for k := j; k < len(cols); k++ {
				m[i][k].Sub(m[i][k], tmp.Mul(f, m[rank][k]))
			}
		}
		rank++
	}
	var out []int
	for i := 0; i < rank; i++ {
		nz := -1
		for j := range cols {
			if m[i][j].Sign() != 0 {
				if nz >= 0 {
					nz = -2
					break
				}
				nz = j
			}
		}
		if nz >= 0 {
			out = append(out, cols[nz])
		}
	}
	slices.Sort(out)
	return out
}
