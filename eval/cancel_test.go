package eval

import (
	"context"
	"errors"
	"math"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/caremetrics/caremetrics/dsl"
	"github.com/caremetrics/caremetrics/metric"
)

// TestEvaluateStopsPromptly cancels an evaluation of every shipped-like
// measure over a large cohort midway and checks that it returns the
// context's error soon after, without leaking goroutines.
func TestEvaluateStopsPromptly(t *testing.T) {
	defer goleak.VerifyNone(t)
	data := synthetic(cancelTestMembers, 31)
	ms := append([]*dsl.Measure{compileEngineMeasure(t)}, compileShapes(t)...)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan struct{})
	var once sync.Once
	done := make(chan error, 1)
	var cancelled time.Time
	go func() {
		_, err := Evaluate(ctx, data, ms, WithProgress(func(n, total int) {
			if n > total/10 {
				once.Do(func() { close(started) })
			}
		}), WithWorkers(2))
		done <- err
	}()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("finished before it could be cancelled: %v", err)
	}
	cancelled = time.Now()
	cancel()
	err := <-done
	latency := time.Since(cancelled)
	t.Logf("stopped %v after cancel on %d members", latency, cancelTestMembers)
	require.Error(t, err)
	assert.True(t, errors.Is(err, context.Canceled), "%v", err)
	assert.Less(t, latency, time.Duration(cancelTestLatency)*time.Millisecond)
}

// TestEvaluateTimeLimitNamesMeasure gives an expensive measure a deadline
// and checks the error names it.
func TestEvaluateTimeLimitNamesMeasure(t *testing.T) {
	defer goleak.VerifyNone(t)
	slow := `
id: slow
title: A quadratic measure
period: {start: 2025-01-01, end: 2025-12-31}
valuesets: [vs.yaml]
define:
  visits: events("Visit")
groups:
  g:
    initial_population: "true"
    denominator: "true"
    numerator: any(visits, {count(visits, {any(visits, {#.date > 0})}) < 0})
`
	m, err := dsl.Compile("slow.yaml", []byte(slow), fstest.MapFS{"vs.yaml": {Data: []byte(engineValueSets)}})
	require.NoError(t, err)
	// One member with many visits, which makes the measure cubic in them.
	data := &Data{}
	visit := data.Codes.Intern("CPT", "99213")
	base := metric.MustParseDate("2025-01-01")
	for i := range 2000 {
		data.Events = append(data.Events, Event{Date: base.AddDays(i % 365), End: metric.NoDate, Code: visit, Source: -1, Value: math.NaN()})
	}
	sortEvents(data.Events)
	data.Members = []Member{{ID: "M1", BirthDate: base.AddDays(-9000), DeathDate: metric.NoDate, EventsEnd: int32(len(data.Events))}}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = Evaluate(ctx, data, []*dsl.Measure{m})
	require.Error(t, err)
	assert.True(t, errors.Is(err, context.DeadlineExceeded), "%v", err)
	assert.Contains(t, err.Error(), "measure slow, member M1: evaluation stopped: context deadline exceeded")
}
