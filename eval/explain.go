package eval

import (
	"context"
	"fmt"

	"github.com/caremetrics/caremetrics/dsl"
)

// Explain traces why the member with id memberID is, or is not, in each
// population of each measure: the value of every define and the events
// behind it (see dsl.Trace). An episode measure gives a trace per episode,
// or one saying the member has none. The options are Evaluate's
// (period, race rule); the traces list measures in the given order.
func Explain(ctx context.Context, data *Data, measures []*dsl.Measure, memberID string, opts ...Option) ([]*dsl.Trace, error) {
	cfg := config{}
	for _, o := range opts {
		o(&cfg)
	}
	member := -1
	for i := range data.Members {
		if data.Members[i].ID == memberID {
			member = i
			break
		}
	}
	if member < 0 {
		return nil, fmt.Errorf("eval: explain: no member %q in the data", memberID)
	}
	bound, periods, _, err := bindAll(data, measures, &cfg)
	if err != nil {
		return nil, err
	}
	m := &data.Members[member]
	var out []*dsl.Trace
	for i, b := range bound {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		r := b.NewRunner(cfg.race)
		r.SetContext(ctx)
		if err := r.Run(periods[i], member, m, data.MemberEvents(member), data.MemberSpans(member)); err != nil {
			return nil, err
		}
		var unloaded []string
		if data.requirements != nil {
			unloaded = data.requirements.Unloaded(measures[i].RequirementsFor(periods[i]))
		}
		explain := func() *dsl.Trace {
			t := r.Explain()
			t.Unloaded = unloaded
			return t
		}
		if r.Units() == 0 {
			out = append(out, explain()) // says there is no episode
		}
		for u := range r.Units() {
			if u > 0 {
				if err := r.Select(u); err != nil {
					return nil, err
				}
			}
			out = append(out, explain())
		}
	}
	return out, nil
}
