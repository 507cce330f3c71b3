package cli

import (
	"github.com/caremetrics/caremetrics/dsl"
	"github.com/caremetrics/caremetrics/metric"
)

// SuppressionOptions are the options of metric.Suppress for report r of
// the measures ms at threshold: with the sums their YAML declares between
// rows (group_sums, relations), so that no published total less published
// parts reveals a suppressed part. A sum naming a row r does not have (a
// group not evaluated, a stratum without members) is left out: it holds
// nothing to protect.
func SuppressionOptions(ms []*dsl.Measure, r *metric.Report, threshold int64) metric.SuppressionOptions {
	opt := metric.SuppressionOptions{Threshold: threshold}
	for _, m := range ms {
		res := r.Measure(m.ID())
		if res == nil {
			continue
		}
		for _, gs := range m.GroupSums() {
			ok := res.Group(gs.Total) != nil
			for _, p := range gs.Parts {
				ok = ok && res.Group(p) != nil
			}
			if ok {
				opt.GroupSums = append(opt.GroupSums, gs)
			}
		}
		for _, rel := range m.Relations() {
			ok := hasRow(res, rel.Total)
			for _, p := range rel.Parts {
				ok = ok && hasRow(res, p)
			}
			if ok {
				opt.Relations = append(opt.Relations, rel)
			}
		}
	}
	return opt
}

func hasRow(m *metric.MeasureResult, row metric.RowRef) bool {
	g := m.Group(row.Group)
	if g == nil || row.Stratifier == "" {
		return g != nil
	}
	s := g.Stratifier(row.Stratifier)
	return s != nil && s.Stratum(row.Values...) != nil
}
