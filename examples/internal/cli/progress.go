package cli

import (
	"io"
	"os"
	"sync"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// Progress shows a long run's progress on a terminal: a spinner while
// loading, then a bar of members evaluated with the rate and the time
// left. It draws nothing when stderr is not a terminal or quiet is set,
// so logs and pipes stay clean.
type Progress struct {
	p    *mpb.Progress
	load *mpb.Bar
	bar  *mpb.Bar
	mu   sync.Mutex
	last int
}

// NewProgress returns a Progress drawing on stderr, or an inactive one.
func NewProgress(quiet bool) *Progress {
	if quiet || !isatty.IsTerminal(os.Stderr.Fd()) {
		return &Progress{}
	}
	return newProgress(os.Stderr)
}

func newProgress(w io.Writer) *Progress {
	p := mpb.New(mpb.WithOutput(w), mpb.WithRefreshRate(150*time.Millisecond), mpb.WithAutoRefresh())
	load := p.New(0, mpb.SpinnerStyle(), mpb.PrependDecorators(decor.Name("loading data "), decor.Elapsed(decor.ET_STYLE_GO)))
	return &Progress{p: p, load: load}
}

// Loaded ends the loading spinner and starts the bar over total members.
func (g *Progress) Loaded(total int) {
	if g.p == nil {
		return
	}
	g.load.SetTotal(-1, true)
	g.bar = g.p.New(int64(total), mpb.BarStyle(),
		mpb.PrependDecorators(decor.Name("evaluating "), decor.CountersNoUnit("%d / %d members")),
		mpb.AppendDecorators(decor.AverageSpeed(0, " %.0f members/s "), decor.Name("ETA "), decor.AverageETA(decor.ET_STYLE_GO)))
}

// Evaluated is an eval.WithProgress callback.
func (g *Progress) Evaluated(done, total int) {
	if g.bar == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if done > g.last { // calls from several workers may arrive out of order
		g.bar.IncrBy(done - g.last)
		g.last = done
	}
}

// Done completes the bars and waits for the last draw; call it before
// printing anything else to stderr.
func (g *Progress) Done() {
	if g.p == nil {
		return
	}
	if g.bar == nil {
		g.load.Abort(true)
	} else {
		g.bar.SetTotal(-1, true)
	}
	g.p.Wait()
}
