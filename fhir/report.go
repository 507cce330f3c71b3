package fhir

import (
	"encoding/json"
	"fmt"
	"html"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/caremetrics/caremetrics/metric"
)

// DefaultMeasureBase is the base of the measures' canonical URLs unless
// WithMeasureBase gives another: a report of measure "cis" version
// "2025.1" names https://caremetrics.example/Measure/cis|2025.1.
const DefaultMeasureBase = "https://caremetrics.example/Measure"

// Option configures New and FromReport.
type Option func(*config)

type config struct {
	base     string
	date     time.Time
	reporter *Reference
	subjects *Subjects
}

// WithMeasureBase sets the base of the measures' canonical URLs, such as
// "https://measures.example.org/fhir/Measure" (empty means
// DefaultMeasureBase); the report's measure is base + "/" + id, then
// "|" + version when the measure has one.
func WithMeasureBase(base string) Option {
	return func(c *config) { c.base = base }
}

// WithDate sets the report's date, when it was made (written in UTC to the
// second). Without it the report has no date, so that the same results
// always give the same bytes.
func WithDate(t time.Time) Option {
	return func(c *config) { c.date = t }
}

// WithReporter sets who reports, such as
// Reference{Reference: "Organization/cco-1", Display: "Example CCO"}.
func WithReporter(r Reference) Option {
	return func(c *config) { c.reporter = &r }
}

// WithSubjects makes subject-list reports: every population with members
// references a contained List of them (see NewSubjects).
func WithSubjects(s *Subjects) Option {
	return func(c *config) { c.subjects = s }
}

// MeasureURL returns the canonical reference of measure id at version
// (none when empty) under base.
func MeasureURL(base, id, version string) string {
	u := strings.TrimSuffix(base, "/") + "/" + url.PathEscape(id)
	if version != "" {
		u += "|" + version
	}
	return u
}

// FromReport returns one MeasureReport per measure of r, in its order.
func FromReport(r *metric.Report, opts ...Option) ([]*MeasureReport, error) {
	out := make([]*MeasureReport, 0, len(r.Measures))
	for i := range r.Measures {
		mr, err := New(&r.Measures[i], opts...)
		if err != nil {
			return nil, err
		}
		out = append(out, mr)
	}
	return out, nil
}

// New returns the MeasureReport of one measure's result. Scores are
// computed from the counts (Counts.RatePer with the measure's multiplier),
// so they always agree with them; an undefined rate has no measureScore.
// It fails on a scoring, basis or improvement notation it does not know, a
// count beyond FHIR's 32-bit integer, and, with WithSubjects, subjects that
// do not cover the measure.
func New(m *metric.MeasureResult, opts ...Option) (*MeasureReport, error) {
	c := config{base: DefaultMeasureBase}
	for _, o := range opts {
		o(&c)
	}
	if c.base == "" {
		c.base = DefaultMeasureBase
	}
	b, err := newBuilder(m, &c)
	if err != nil {
		return nil, err
	}
	return b.build()
}

// builder holds what one report's construction shares.
type builder struct {
	m      *metric.MeasureResult
	c      *config
	ratio  bool
	pops   []metric.Population
	subj   *measureSubjects
	report *MeasureReport
}

func newBuilder(m *metric.MeasureResult, c *config) (*builder, error) {
	b := &builder{m: m, c: c}
	switch m.Scoring {
	case "", "proportion":
		b.pops = metric.Populations[:]
	case "ratio":
		// R4 ratio measures have no denominator exceptions.
		b.ratio = true
		b.pops = []metric.Population{metric.InitialPopulation, metric.Denominator, metric.DenominatorExclusion, metric.Numerator}
	default:
		return nil, fmt.Errorf("fhir: measure %q: unknown scoring %q", m.ID, m.Scoring)
	}
	if m.Basis != "" && m.Basis != "member" && m.Basis != "episode" {
		return nil, fmt.Errorf("fhir: measure %q: unknown basis %q", m.ID, m.Basis)
	}
	if c.subjects != nil {
		b.subj = c.subjects.measures[m.ID]
		if b.subj == nil {
			return nil, fmt.Errorf("fhir: measure %q: the subjects hold no member detail for it", m.ID)
		}
	}
	return b, nil
}

func (b *builder) build() (*MeasureReport, error) {
	m := b.m
	r := &MeasureReport{
		ResourceType: "MeasureReport",
		ID:           resourceID(m.ID),
		Extension:    []Extension{{URL: ScoringExtension, ValueCodeableConcept: &CodeableConcept{Coding: []Coding{scoringCoding(b.ratio)}}}},
		Status:       "complete",
		Type:         "summary",
		Measure:      MeasureURL(b.c.base, m.ID, m.Version),
		Reporter:     b.c.reporter,
		Period:       Period{Start: m.Period.Start.String(), End: m.Period.End.String()},
	}
	b.report = r
	if b.subj != nil {
		r.Type = "subject-list"
	}
	if !b.c.date.IsZero() {
		r.Date = b.c.date.UTC().Format(time.RFC3339)
	}
	imp, err := improvement(m.Improvement)
	if err != nil {
		return nil, fmt.Errorf("fhir: measure %q: %w", m.ID, err)
	}
	r.ImprovementNotation = imp
	r.Text = b.narrative()
	for gi := range m.Groups {
		g, err := b.group(gi)
		if err != nil {
			return nil, fmt.Errorf("fhir: measure %q: %w", m.ID, err)
		}
		r.Group = append(r.Group, g)
	}
	return r, nil
}

func (b *builder) group(gi int) (Group, error) {
	g := &b.m.Groups[gi]
	out := Group{ID: g.ID, Code: &CodeableConcept{Text: g.ID}}
	if g.Title != "" {
		out.Code.Text = g.Title
	}
	var gs *groupSubjects
	if b.subj != nil {
		gs = b.subj.groups[g.ID]
		if gs == nil {
			gs = &groupSubjects{}
		}
	}
	prefix := "g" + strconv.Itoa(gi+1)
	var err error
	if out.Population, err = b.populations(g.Counts, prefix, gs.lists()); err != nil {
		return Group{}, fmt.Errorf("group %q: %w", g.ID, err)
	}
	out.MeasureScore = b.score(g.Counts)
	for si := range g.Stratifiers {
		st, err := b.stratifier(&g.Stratifiers[si], prefix+"-s"+strconv.Itoa(si+1), gs)
		if err != nil {
			return Group{}, fmt.Errorf("group %q: %w", g.ID, err)
		}
		out.Stratifier = append(out.Stratifier, st)
	}
	return out, nil
}

func (b *builder) stratifier(st *metric.Stratifier, prefix string, gs *groupSubjects) (Stratifier, error) {
	out := Stratifier{Code: []CodeableConcept{{Text: st.ID}}}
	var strata map[string]*members
	if gs != nil && !b.subj.episode {
		strata = gs.strata[st.ID]
	}
	for ki := range st.Strata {
		s := &st.Strata[ki]
		var os Stratum
		if len(st.Components) > 0 {
			if len(s.Values) != len(st.Components) {
				return Stratifier{}, fmt.Errorf("stratifier %q: stratum %q has %d values for %d components", st.ID, s.Label(), len(s.Values), len(st.Components))
			}
			for i, v := range s.Values {
				os.Component = append(os.Component, Component{Code: CodeableConcept{Text: st.Components[i]}, Value: CodeableConcept{Text: valueText(v)}})
			}
		} else {
			if len(s.Values) != 1 {
				return Stratifier{}, fmt.Errorf("stratifier %q: stratum %q has %d values", st.ID, s.Label(), len(s.Values))
			}
			os.Value = &CodeableConcept{Text: valueText(s.Values[0])}
		}
		var mem *members
		if gs != nil && !b.subj.episode {
			if mem = strata[strings.Join(s.Values, "|")]; mem == nil && s.InitialPopulation > 0 {
				return Stratifier{}, fmt.Errorf("stratifier %q: stratum %q: no member detail (does a value hold ';' or '|'?)", st.ID, s.Label())
			}
		}
		var err error
		if os.Population, err = b.populations(s.Counts, prefix+"-k"+strconv.Itoa(ki+1), mem); err != nil {
			return Stratifier{}, fmt.Errorf("stratifier %q: stratum %q: %w", st.ID, s.Label(), err)
		}
		os.MeasureScore = b.score(s.Counts)
		out.Stratum = append(out.Stratum, os)
	}
	return out, nil
}

// populations returns the report's populations of counts c; with member
// lists mem (subject-list reports), each population with members
// references a contained List with id prefix-<code>.
func (b *builder) populations(c metric.Counts, prefix string, mem *members) ([]Population, error) {
	out := make([]Population, 0, len(b.pops))
	for _, p := range b.pops {
		n := c.Get(p)
		if n < 0 || n > math.MaxInt32 {
			return nil, fmt.Errorf("%s count %d is not a FHIR integer", p, n)
		}
		pop := Population{Code: populationCode(p), Count: n}
		if mem != nil && len(mem[p]) > 0 {
			id := prefix + "-" + p.String()
			pop.SubjectResults = &Reference{Reference: "#" + id}
			b.report.Contained = append(b.report.Contained, patientList(id, mem[p]))
		}
		out = append(out, pop)
	}
	return out, nil
}

// score returns the measure score of c, or nil when the rate is undefined.
func (b *builder) score(c metric.Counts) *Quantity {
	r := c.RatePer(b.m.Multiplier)
	if !r.Defined {
		return nil
	}
	q := &Quantity{Value: json.Number(strconv.FormatFloat(r.Value, 'f', -1, 64))}
	if b.ratio && b.m.Multiplier > 1 {
		q.Unit = "per " + strconv.FormatInt(b.m.Multiplier, 10)
	}
	return q
}

// narrative says in words what the structured data cannot: the measure's
// title and what its counts count.
func (b *builder) narrative() *Narrative {
	m := b.m
	unit, units := "member", "members"
	if m.Basis == "episode" {
		unit, units = "episode", "episodes (one per event of the measure's episodes expression, not members)"
	}
	var s strings.Builder
	s.WriteString(`<div xmlns="http://www.w3.org/1999/xhtml"><p>`)
	if m.Title != "" {
		s.WriteString(html.EscapeString(m.Title) + " (")
	}
	s.WriteString(html.EscapeString(strings.TrimSpace(m.ID + " " + m.Version)))
	if m.Title != "" {
		s.WriteString(")")
	}
	s.WriteString(", " + m.Period.Start.String() + " to " + m.Period.End.String() + ".</p><p>")
	if b.ratio {
		mult := max(m.Multiplier, 1)
		fmt.Fprintf(&s, "Ratio measure: the initial population counts %s; the denominator, denominator exclusion and numerator counts are sums of each %s's values (such as member months and visits), and the score is numerator × %d / (denominator − denominator exclusion).", units, unit, mult)
	} else {
		s.WriteString("Proportion measure: counts are " + units + "; the score is numerator / (denominator − denominator exclusion − denominator exception).")
	}
	s.WriteString(" A group or stratum without a measureScore has an undefined rate (no eligible " + unit + "s), not 0.")
	if b.subj != nil {
		s.WriteString(" Subject lists reference members as Patient resources")
		if b.subj.episode {
			s.WriteString("; a member is listed in a population when any of its episodes is, so a list may be shorter than its count, and strata carry no subject lists")
		} else if b.ratio {
			s.WriteString("; a list names the members whose values the count sums")
		}
		s.WriteString(".")
	}
	s.WriteString("</p></div>")
	return &Narrative{Status: "additional", Div: s.String()}
}

var populationDisplay = map[metric.Population]string{
	metric.InitialPopulation:    "Initial Population",
	metric.Denominator:          "Denominator",
	metric.DenominatorExclusion: "Denominator Exclusion",
	metric.DenominatorException: "Denominator Exception",
	metric.Numerator:            "Numerator",
}

func populationCode(p metric.Population) *CodeableConcept {
	return &CodeableConcept{Coding: []Coding{{System: PopulationSystem, Code: p.String(), Display: populationDisplay[p]}}}
}

func scoringCoding(ratio bool) Coding {
	if ratio {
		return Coding{System: ScoringSystem, Code: "ratio", Display: "Ratio"}
	}
	return Coding{System: ScoringSystem, Code: "proportion", Display: "Proportion"}
}

func improvement(s string) (*CodeableConcept, error) {
	switch s {
	case "", "increase":
		return &CodeableConcept{Coding: []Coding{{System: ImprovementSystem, Code: "increase", Display: "Increased score indicates improvement"}}}, nil
	case "decrease":
		return &CodeableConcept{Coding: []Coding{{System: ImprovementSystem, Code: "decrease", Display: "Decreased score indicates improvement"}}}, nil
	}
	return nil, fmt.Errorf("unknown improvement notation %q", s)
}

// valueText is a stratum value as FHIR text, which may not be empty.
func valueText(v string) string {
	if strings.TrimSpace(v) == "" {
		return "(empty)"
	}
	return v
}

// resourceID turns a measure id into a FHIR id: letters, digits, '-' and
// '.', at most 64 characters; other characters become '-'.
func resourceID(s string) string {
	id := []byte(s)
	for i, c := range id {
		if !isIDChar(c) {
			id[i] = '-'
		}
	}
	if len(id) > 64 {
		id = id[:64]
	}
	if len(id) == 0 {
		return "measurereport"
	}
	return string(id)
}

func isIDChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.'
}

// isID reports whether s is a valid FHIR id.
func isID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isIDChar(s[i]) {
			return false
		}
	}
	return true
}
