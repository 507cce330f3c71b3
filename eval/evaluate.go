package eval

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/caremetrics/caremetrics/dsl"
	"github.com/caremetrics/caremetrics/metric"
)

// Option configures Evaluate.
type Option func(*config)

type config struct {
	workers int
	period  *metric.Period
	race    dsl.RaceRule
	detail  bool
	gaps    bool
	// progress is told the members evaluated so far.
	progress func(done, total int)
}

// WithWorkers sets the number of goroutines evaluating members; n < 1
// means GOMAXPROCS. Results do not depend on it.
func WithWorkers(n int) Option { return func(c *config) { c.workers = n } }

// WithPeriod overrides every measure's default measurement period.
func WithPeriod(p metric.Period) Option { return func(c *config) { c.period = &p } }

// WithRaceRule chooses how members listing several races are stratified
// (default dsl.RaceAloneOrInCombination).
func WithRaceRule(r dsl.RaceRule) Option { return func(c *config) { c.race = r } }

// WithMemberDetail keeps each member's population membership and strata,
// for Result.Members, Result.WriteMembersCSV and Result.MemberRecord.
func WithMemberDetail() Option { return func(c *config) { c.detail = true } }

// WithProgress calls fn with the number of members evaluated so far and
// the total, after every few hundred members, from the evaluating
// goroutines (so fn must be safe for concurrent use), for progress bars.
func WithProgress(fn func(done, total int)) Option { return func(c *config) { c.progress = fn } }

// WithGaps keeps each member's gap in care (the unmet criteria in words,
// and the last day to close it), for Result.Gaps; it implies
// WithMemberDetail.
func WithGaps() Option { return func(c *config) { c.detail, c.gaps = true, true } }

// Result is the outcome of Evaluate: the aggregate report and, when
// requested, member-level detail.
type Result struct {
	Report *metric.Report

	data     *Data
	measures []*dsl.Measure
	// membership[measure][group][member]; for an episode measure, the
	// member is in a population when any of its episodes is.
	membership [][][]metric.Membership
	// counts[measure][group][member] is kept for episode and ratio
	// measures, whose members count more than one.
	counts [][][]metric.Counts
	// strata[measure][stratifier][member], values joined by ";"
	strata [][][]string
	// gaps[measure][group][member] is the open gap of a member measure,
	// with WithGaps.
	gaps [][][]memberGap
}

type memberGap struct {
	unmet   []string
	closeBy metric.Date
}

// chunkSize balances scheduling overhead against load balance: members
// differ widely in event counts.
const chunkSize = 512

// Evaluate runs measures over data. Measure ids must be unique. The
// report lists measures in the given order.
func Evaluate(ctx context.Context, data *Data, measures []*dsl.Measure, opts ...Option) (*Result, error) {
	cfg := config{}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.workers < 1 {
		cfg.workers = runtime.GOMAXPROCS(0)
	}
	seen := map[string]*dsl.Measure{}
	for _, m := range measures {
		if first, ok := seen[m.ID()]; ok {
			return nil, fmt.Errorf("%s: id: measure %q is given twice (first %s)", m.IDPos(), m.ID(), first.IDPos())
		}
		seen[m.ID()] = m
	}

	report := &metric.Report{}
	bound, periods, warns, err := bindAll(data, measures, &cfg)
	if err != nil {
		return nil, err
	}
	report.Warnings = warns
	for _, s := range data.Reconciliation.SetAside {
		report.Warnings = append(report.Warnings, setAsideWarning(s))
	}

	res := &Result{Report: report, data: data, measures: measures}
	if cfg.detail {
		res.membership = make([][][]metric.Membership, len(measures))
		res.counts = make([][][]metric.Counts, len(measures))
		res.strata = make([][][]string, len(measures))
		for i, m := range measures {
			res.membership[i] = make([][]metric.Membership, len(m.GroupIDs()))
			for g := range res.membership[i] {
				res.membership[i][g] = make([]metric.Membership, len(data.Members))
			}
			// A gap is a member short of a proportion's numerator; an
			// episode or ratio measure has none (no ED visit is no gap).
			if cfg.gaps && m.Basis() == "member" && m.Scoring() == "proportion" {
				res.gaps = append(res.gaps, make([][]memberGap, len(m.GroupIDs())))
				for g := range res.gaps[i] {
					res.gaps[i][g] = make([]memberGap, len(data.Members))
				}
			} else {
				res.gaps = append(res.gaps, nil)
			}
			if m.Basis() == "episode" || m.Scoring() == "ratio" {
				res.counts[i] = make([][]metric.Counts, len(m.GroupIDs()))
				for g := range res.counts[i] {
					res.counts[i][g] = make([]metric.Counts, len(data.Members))
				}
			}
			res.strata[i] = make([][]string, len(m.StratifierIDs()))
			for s := range res.strata[i] {
				res.strata[i][s] = make([]string, len(data.Members))
			}
		}
	}

	mstrata := newMemberStrata(measures)
	nChunks := (len(data.Members) + chunkSize - 1) / chunkSize
	workers := min(cfg.workers, max(nChunks, 1))
	aggs := make([]*aggregate, workers)
	var next, done atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	for w := range workers {
		agg := newAggregate(measures)
		aggs[w] = agg
		g.Go(func() error {
			wk := &worker{res: res, bound: bound, periods: periods, agg: agg, detail: cfg.detail, mstrata: mstrata}
			wk.runners = dsl.NewRunners(bound, cfg.race)
			// A measure still running when the context is done stops,
			// naming itself and the member.
			wk.runners.SetContext(gctx)
			for {
				c := int(next.Add(1) - 1)
				if c >= nChunks {
					return nil
				}
				if err := gctx.Err(); err != nil {
					return err
				}
				lo, hi := c*chunkSize, min((c+1)*chunkSize, len(data.Members))
				if err := wk.chunk(lo, hi); err != nil {
					return err
				}
				if cfg.progress != nil {
					cfg.progress(int(done.Add(int64(hi-lo))), len(data.Members))
				}
			}
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, a := range aggs {
		a.foldClasses(mstrata)
	}
	for i, m := range measures {
		report.Measures = append(report.Measures, aggs[0].result(i, m, periods[i], aggs[1:]))
	}
	report.Finalize()
	return res, nil
}

// bindAll binds the measures to the data's codes, with the period each is
// evaluated over.
func bindAll(data *Data, measures []*dsl.Measure, cfg *config) ([]*dsl.Bound, []metric.Period, []metric.Warning, error) {
	cohort := &dsl.Cohort{Systems: data.Codes.Systems, Codes: data.Codes.Values, Sources: data.Sources, Attributes: data.Attributes}
	bound := make([]*dsl.Bound, len(measures))
	periods := make([]metric.Period, len(measures))
	var warnings []metric.Warning
	for i, m := range measures {
		periods[i] = m.Period()
		if cfg.period != nil {
			periods[i] = *cfg.period
		}
		if data.requirements != nil {
			if ok, missing := data.requirements.Covers(m.RequirementsFor(periods[i])); !ok {
				return nil, nil, nil, fmt.Errorf("eval: measure %s over %s needs %s, which the data was not loaded for (load with WithRequirements of every measure evaluated, over the period evaluated: dsl.RequirementsOver)", m.ID(), periods[i], missing)
			}
		}
		b, warns, err := m.Bind(cohort)
		if err != nil {
			return nil, nil, nil, err
		}
		bound[i] = b
		warnings = append(warnings, warns...)
	}
	return bound, periods, warnings, nil
}

// setAsideWarning is the warning of rows set aside while loading.
func setAsideWarning(s SetAside) metric.Warning {
	return metric.Warning{Code: "rows-set-aside", Message: fmt.Sprintf("%d %s rows set aside: %s", s.Rows, s.Table, s.Reason)}
}

type worker struct {
	res     *Result
	bound   []*dsl.Bound
	runners *dsl.Runners
	periods []metric.Period
	agg     *aggregate
	detail  bool
	mstrata *memberStrata
	// class is the current member's class, -1 until a measure needs it.
	class int32

	// scratch for strata, reused across members
	key      []byte
	tuple    []string
	comps    [][]string
	odometer []int
}

// chunk evaluates members lo..hi; a panic (a bug, or a user function gone
// wrong) becomes an error naming the measure and member instead of
// crashing the caller's process.
func (w *worker) chunk(lo, hi int) (err error) {
	d := w.res.data
	mi, member := -1, lo // mi is -1 outside a measure's run
	defer func() {
		if p := recover(); p != nil {
			where := "shared work"
			if mi >= 0 {
				where = "measure " + w.res.measures[mi].ID()
			}
			err = fmt.Errorf("eval: %s, member %s: internal error: %v", where, d.Members[member].ID, p)
		}
	}()
	for member = lo; member < hi; member++ {
		m := &d.Members[member]
		events := d.Events[m.EventsStart:m.EventsEnd]
		spans := d.Spans[m.SpansStart:m.SpansEnd]
		mi = -1
		w.runners.Member(member, m, events, spans)
		w.class = -1
		for mi = range w.bound {
			r, err := w.runners.Run(mi, w.periods[mi])
			if err != nil {
				return err
			}
			// A member measure has one unit; an episode measure one per
			// episode, possibly none.
			for u := range r.Units() {
				if u > 0 {
					if err := r.Select(u); err != nil {
						return err
					}
				}
				if err := w.count(mi, member, r); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (w *worker) count(mi, member int, r *dsl.Runner) error {
	meas := w.res.measures[mi]
	ma := &w.agg.measures[mi]
	anyIP := false
	for g, ms := range r.Memberships {
		// Outside the initial population a unit is in no population
		// (ms is 0), and counts nothing.
		if ms == 0 {
			continue
		}
		countUnit(&ma.groups[g], r, g)
		if w.detail {
			w.res.detail(mi, g, member, r)
		}
		if gaps := w.res.gaps; gaps != nil && gaps[mi] != nil && gapStatus(ms) == GapOpen {
			unmet, closeBy, err := r.Gap(g)
			if err != nil {
				return err
			}
			gaps[mi][g][member] = memberGap{unmet: slices.Clone(unmet), closeBy: closeBy}
		}
		anyIP = true
	}
	if !anyIP {
		return nil
	}
	if w.mstrata.any[mi] {
		if w.class < 0 {
			c, err := w.agg.classes.class(w.mstrata, w.runners)
			if err != nil {
				return err
			}
			w.class = c
		}
		ma.countClass(w.class, r)
	}
	for s := range ma.strata {
		if k := w.mstrata.of[mi][s]; k >= 0 {
			if w.detail {
				w.res.addStrata(mi, s, member, w.agg.classes.values[w.class][k])
			}
			continue
		}
		cross := meas.StratifierCross(s)
		if cross == nil {
			vals, err := r.Stratum(s)
			if err != nil {
				return err
			}
			if w.detail {
				w.res.addStrata(mi, s, member, vals)
			}
			for _, v := range vals {
				w.add(mi, s, r, findStratum(&ma.strata[s], v), []string{v})
			}
			continue
		}
		if err := w.countCross(mi, s, member, r, cross); err != nil {
			return err
		}
	}
	return nil
}

// countCross counts the member in every combination of its values of the
// component stratifiers, stepping through them like an odometer so that
// no combination is materialised.
func (w *worker) countCross(mi, s, member int, r *dsl.Runner, cross []int) error {
	w.comps = w.comps[:0]
	for _, c := range cross {
		vals, err := r.Stratum(c)
		if err != nil {
			return err
		}
		if len(vals) == 0 {
			return nil
		}
		w.comps = append(w.comps, vals)
	}
	w.odometer = append(w.odometer[:0], make([]int, len(cross))...)
	var detail []string
	for {
		w.tuple = w.tuple[:0]
		w.key = w.key[:0]
		for i, vals := range w.comps {
			v := vals[w.odometer[i]]
			w.tuple = append(w.tuple, v)
			if i > 0 {
				w.key = append(w.key, 0)
			}
			w.key = append(w.key, v...)
		}
		w.add(mi, s, r, findStratum(&w.agg.measures[mi].strata[s], w.key), w.tuple)
		if w.detail {
			detail = append(detail, strings.Join(w.tuple, "|"))
		}
		i := len(w.odometer) - 1
		for ; i >= 0; i-- {
			if w.odometer[i]++; w.odometer[i] < len(w.comps[i]) {
				break
			}
			w.odometer[i] = 0
		}
		if i < 0 {
			break
		}
	}
	if w.detail {
		w.res.addStrata(mi, s, member, detail)
	}
	return nil
}

// detail records the runner's current unit in the member's detail.
func (res *Result) detail(mi, g, member int, r *dsl.Runner) {
	res.membership[mi][g][member] |= r.Memberships[g]
	if c := res.counts[mi]; c != nil {
		countUnit(&c[g][member], r, g)
	}
}

// addStrata records the member's values of stratifier s; an episode
// measure's member collects the distinct values of its episodes, in order
// of first appearance.
func (res *Result) addStrata(mi, s, member int, vals []string) {
	cur := &res.strata[mi][s][member]
	if *cur == "" {
		*cur = strings.Join(vals, ";")
		return
	}
	have := strings.Split(*cur, ";")
	for _, v := range vals {
		if !slices.Contains(have, v) {
			have = append(have, v)
		}
	}
	*cur = strings.Join(have, ";")
}

// add counts the member's memberships in stratum st of stratifier s, or
// in a new stratum of values vals when st is nil, in every group the
// stratifier applies to.
func (w *worker) add(mi, s int, r *dsl.Runner, st *stratumAgg, vals []string) {
	ma := &w.agg.measures[mi]
	if st == nil {
		st = &stratumAgg{key: strings.Join(vals, "\x00"), values: slices.Clone(vals), groups: make([]metric.Counts, len(r.Memberships))}
		ma.strata[s].add(st)
	}
	for _, g := range ma.applies[s] {
		if r.Memberships[g] != 0 {
			countUnit(&st.groups[g], r, g)
		}
	}
}

// countUnit adds the runner's current unit to c in group g.
func countUnit(c *metric.Counts, r *dsl.Runner, g int) {
	if r.Ratios != nil {
		c.AddRatio(r.Memberships[g], r.Ratios[g].Denominator, r.Ratios[g].Numerator)
		return
	}
	c.Add(r.Memberships[g])
}

type aggregate struct {
	measures []measureAgg
	// classes are the worker's member classes (see memberStrata).
	classes memberClasses
}

type measureAgg struct {
	groups []metric.Counts
	strata []strataTable // per stratifier
	// applies lists the groups each stratifier breaks down.
	applies [][]int
	// classes[class*len(groups)+group] counts the units of each member
	// class, for the member stratifiers (see memberStrata).
	classes []metric.Counts
}

type stratumAgg struct {
	key    string // the values joined by NUL
	values []string
	groups []metric.Counts
}

// strataTable holds one stratifier's strata. Most stratifiers have a few
// values (sexes, races, age bands), which comparing keys in a short list
// finds faster than hashing; past strataListMax a map takes over.
type strataTable struct {
	list  []*stratumAgg // in order of first appearance
	byKey map[string]*stratumAgg
}

const strataListMax = 16

// findStratum returns the stratum of key in t, or nil. The key is the
// value itself for a plain stratifier, which saves copying it; a cross
// builds its key in a buffer.
func findStratum[K string | []byte](t *strataTable, key K) *stratumAgg {
	if t.byKey != nil {
		return t.byKey[string(key)]
	}
	for _, st := range t.list {
		if st.key == string(key) {
			return st
		}
	}
	return nil
}

func (t *strataTable) add(st *stratumAgg) {
	t.list = append(t.list, st)
	if t.byKey == nil && len(t.list) > strataListMax {
		t.byKey = make(map[string]*stratumAgg, 2*len(t.list))
		for _, s := range t.list {
			t.byKey[s.key] = s
		}
	}
	if t.byKey != nil {
		t.byKey[st.key] = st
	}
}

func newAggregate(ms []*dsl.Measure) *aggregate {
	a := &aggregate{measures: make([]measureAgg, len(ms))}
	for i, m := range ms {
		a.measures[i].groups = make([]metric.Counts, len(m.GroupIDs()))
		a.measures[i].strata = make([]strataTable, len(m.StratifierIDs()))
		a.measures[i].applies = make([][]int, len(m.StratifierIDs()))
		for s := range a.measures[i].applies {
			for g := range m.GroupIDs() {
				if m.StratifierApplies(s, g) {
					a.measures[i].applies[s] = append(a.measures[i].applies[s], g)
				}
			}
		}
	}
	return a
}

// result merges the workers' aggregates of measure i into its result.
func (a *aggregate) result(i int, m *dsl.Measure, period metric.Period, others []*aggregate) metric.MeasureResult {
	out := metric.MeasureResult{ID: m.ID(), Title: m.Title(), Version: m.Version(), Scoring: m.Scoring(), Period: period}
	// The defaults stay implicit, so that reports of member proportion
	// measures read as before.
	if m.Basis() != "member" {
		out.Basis = m.Basis()
	}
	if m.Improvement() != "increase" {
		out.Improvement = m.Improvement()
	}
	if m.Multiplier() != 1 {
		out.Multiplier = m.Multiplier()
	}
	mine := &a.measures[i]
	for _, o := range others {
		for g := range mine.groups {
			mine.groups[g].Merge(o.measures[i].groups[g])
		}
		for s, strata := range o.measures[i].strata {
			for _, st := range strata.list {
				t := findStratum(&mine.strata[s], st.key)
				if t == nil {
					mine.strata[s].add(st)
					continue
				}
				for g := range t.groups {
					t.groups[g].Merge(st.groups[g])
				}
			}
		}
	}
	sids := m.StratifierIDs()
	for g, gid := range m.GroupIDs() {
		grp := metric.Group{ID: gid, Title: m.GroupTitle(g), Counts: mine.groups[g]}
		for s, sid := range sids {
			if !m.StratifierApplies(s, g) {
				continue
			}
			st := metric.Stratifier{ID: sid, Strata: []metric.Stratum{}}
			for _, c := range m.StratifierCross(s) {
				st.Components = append(st.Components, sids[c])
			}
			for _, agg := range mine.strata[s].list {
				if agg.groups[g].InitialPopulation > 0 {
					st.Strata = append(st.Strata, metric.Stratum{Values: agg.values, Counts: agg.groups[g]})
				}
			}
			grp.Stratifiers = append(grp.Stratifiers, st)
		}
		out.Groups = append(out.Groups, grp)
	}
	return out
}
