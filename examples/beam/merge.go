package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/caremetrics/caremetrics/eval"
	"github.com/caremetrics/caremetrics/metric"
)

// partial is the result of one or more evaluated partitions (shards or
// buckets of disjoint members) in a form that merges exactly: the counts of
// the report, and what the whole run's warnings are derived from. It
// travels between workers as JSON (the DoFns emit it as bytes; the
// CombineFn's accumulator has a JSON coder).
//
// merge is commutative and associative, and every slice is kept in a
// canonical order, so the merged result does not depend on the order in
// which the runner combines partitions.
type partial struct {
	// Partitions is the number of partitions merged, Members and Events
	// their members and kept events.
	Partitions int   `json:"partitions"`
	Members    int64 `json:"members"`
	Events     int64 `json:"events"`
	// Report holds the counts, without warnings; nil before the first
	// partition.
	Report *metric.Report `json:"report,omitempty"`
	// SetAside sums rows set aside by table and reason, sorted.
	SetAside []eval.SetAside `json:"set_aside,omitempty"`
	// Absent counts, per warning that a code system is absent from the
	// data, the partitions that gave it, sorted; the whole run gives it only
	// when every partition does.
	Absent []absentCount `json:"absent,omitempty"`
	// Other holds every other warning, sorted and without duplicates.
	Other []metric.Warning `json:"other,omitempty"`
}

type absentCount struct {
	Warning    metric.Warning `json:"warning"`
	Partitions int            `json:"partitions"`
}

// newPartial splits the report of one evaluated partition, whose loaded
// data had the given reconciliation, into a partial. It takes rep over.
func newPartial(rep *metric.Report, rec eval.Reconciliation, members, events int) *partial {
	p := &partial{Partitions: 1, Members: int64(members), Events: int64(events)}
	for _, s := range rec.SetAside {
		p.addSetAside(eval.SetAside{Table: s.Table, Reason: s.Reason, Rows: s.Rows})
	}
	for _, w := range rep.Warnings {
		switch w.Code {
		case "rows-set-aside": // rebuilt from SetAside once merged
		case "valueset-system-absent", "code-system-absent":
			if !slices.ContainsFunc(p.Absent, func(a absentCount) bool { return a.Warning == w }) {
				p.Absent = append(p.Absent, absentCount{Warning: w, Partitions: 1})
			}
		default:
			p.Other = append(p.Other, w)
		}
	}
	rep.Warnings = nil
	p.Report = rep
	p.normalize()
	return p
}

func (p *partial) addSetAside(s eval.SetAside) {
	k := slices.IndexFunc(p.SetAside, func(x eval.SetAside) bool { return x.Table == s.Table && x.Reason == s.Reason })
	if k < 0 {
		p.SetAside = append(p.SetAside, eval.SetAside{Table: s.Table, Reason: s.Reason})
		k = len(p.SetAside) - 1
	}
	p.SetAside[k].Rows += s.Rows
}

// normalize sorts every slice into its canonical order.
func (p *partial) normalize() {
	slices.SortFunc(p.SetAside, func(a, b eval.SetAside) int {
		return cmp.Or(strings.Compare(a.Table, b.Table), strings.Compare(a.Reason, b.Reason))
	})
	slices.SortFunc(p.Absent, func(a, b absentCount) int { return strings.Compare(a.Warning.String(), b.Warning.String()) })
	slices.SortFunc(p.Other, func(a, b metric.Warning) int { return strings.Compare(a.String(), b.String()) })
	p.Other = slices.Compact(p.Other)
}

// merge adds o, a partial of other members, into p. o is not changed.
func (p *partial) merge(o *partial) error {
	if o.Partitions == 0 {
		return nil
	}
	if p.Report == nil {
		p.Report = &metric.Report{}
	}
	if o.Report != nil {
		if err := p.Report.Merge(o.Report); err != nil {
			return err
		}
	}
	p.Partitions += o.Partitions
	p.Members += o.Members
	p.Events += o.Events
	for _, s := range o.SetAside {
		p.addSetAside(s)
	}
	for _, a := range o.Absent {
		k := slices.IndexFunc(p.Absent, func(x absentCount) bool { return x.Warning == a.Warning })
		if k < 0 {
			p.Absent = append(p.Absent, absentCount{Warning: a.Warning})
			k = len(p.Absent) - 1
		}
		p.Absent[k].Partitions += a.Partitions
	}
	p.Other = append(p.Other, o.Other...)
	p.normalize()
	return nil
}

// report returns the merged report with the warnings the whole cohort's
// run gives, as eval.EvaluateShards derives them: rows set aside summed per
// table and reason, a code system absent only when absent from every
// partition.
func (p *partial) report() (*metric.Report, error) {
	if p.Report == nil || p.Partitions == 0 {
		return nil, fmt.Errorf("no partition was evaluated")
	}
	var rep metric.Report
	// A copy through JSON, so that the partial stays as it is.
	b, err := json.Marshal(p.Report)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, err
	}
	warns := slices.Clone(p.Other)
	for _, s := range p.SetAside {
		// The text of eval's rows-set-aside warning.
		warns = append(warns, metric.Warning{Code: "rows-set-aside", Message: fmt.Sprintf("%d %s rows set aside: %s", s.Rows, s.Table, s.Reason)})
	}
	for _, a := range p.Absent {
		if a.Partitions == p.Partitions {
			warns = append(warns, a.Warning)
		}
	}
	rep.Warnings = warns
	rep.Finalize()
	return &rep, nil
}

// encodeReport is the report.json text: indented JSON ending in a newline,
// as examples/evaluate and examples/shard write it.
func encodeReport(rep *metric.Report) ([]byte, error) {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// mergeFn is the CombineFn that merges the partials of every partition
// (JSON bytes) into the report of the whole cohort (report.json bytes).
// Its accumulator is a *partial; MergeAccumulators is order-independent.
type mergeFn struct{}

func (mergeFn) CreateAccumulator() *partial { return &partial{} }

func (mergeFn) AddInput(acc *partial, in []byte) (*partial, error) {
	var p partial
	if err := json.Unmarshal(in, &p); err != nil {
		return nil, fmt.Errorf("merge: decoding a partition's result: %w", err)
	}
	if err := acc.merge(&p); err != nil {
		return nil, err
	}
	return acc, nil
}

func (mergeFn) MergeAccumulators(a, b *partial) (*partial, error) {
	if err := a.merge(b); err != nil {
		return nil, err
	}
	return a, nil
}

func (mergeFn) ExtractOutput(acc *partial) ([]byte, error) {
	rep, err := acc.report()
	if err != nil {
		return nil, err
	}
	return encodeReport(rep)
}

// encodePartial and decodePartial are the accumulator's coder.
func encodePartial(p *partial) ([]byte, error) { return json.Marshal(p) }

func decodePartial(b []byte) (*partial, error) {
	var p partial
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, err
	}
	return &p, nil
}
