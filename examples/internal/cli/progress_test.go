package cli

import (
	"bytes"
	"strings"
	"sync"
	"testing"
)

// TestProgressDraws drives the bar from several goroutines, as workers
// do, and checks the final frame.
func TestProgressDraws(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf)
	p.Loaded(2048)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() { p.Evaluated(512*(w+1), 2048) })
	}
	wg.Wait()
	p.Done()
	out := buf.String()
	if !strings.Contains(out, "2048 / 2048 members") {
		t.Fatalf("final frame lacks the member count:\n%q", out)
	}
	if !strings.Contains(out, "ETA") {
		t.Fatalf("no time left:\n%q", out)
	}
}

// TestProgressQuiet draws nothing and never blocks.
func TestProgressQuiet(t *testing.T) {
	p := NewProgress(true)
	p.Loaded(10)
	p.Evaluated(10, 10)
	p.Done()
}
