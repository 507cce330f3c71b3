package main

import (
	"context"
	"encoding/base64"
	"flag"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caremetrics/caremetrics/examples/internal/cli"
	"github.com/caremetrics/caremetrics/metric"
)

var updateScreenshot = flag.Bool("update-screenshot", false, "write docs/report.png, a screenshot of the sample cohort's report")

// screenshotPath is the README's screenshot, from the repository root.
var screenshotPath = filepath.Join("docs", "report.png")

// chromium returns the path of a Chromium binary, or "". CHROMIUM names
// one explicitly.
func chromium() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browser starts headless Chromium and returns a tab's context, or skips
// the test when there is no Chromium or it cannot start here. Events of
// the tab go to listen.
func browser(t *testing.T, listen func(ev any)) context.Context {
	t.Helper()
	bin := chromium()
	if bin == "" {
		t.Skip("skipping the browser check: no chromium or chromium-browser on PATH (install it with `apt-get install -y chromium`, as .ci/browser does, or set CHROMIUM)")
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("hide-scrollbars", true), chromedp.WindowSize(1400, 1000))...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	// The first run starts the browser; no timeout on it, which would stop
	// the browser (see chromedp.Run).
	start := make(chan error, 1)
	go func() { start <- chromedp.Do(ctx) }()
	select {
	case err := <-start:
		if err != nil {
			t.Skipf("skipping the browser check: %s did not start: %v", bin, err)
		}
	case <-time.After(60 * time.Second):
		t.Skipf("skipping the browser check: %s did not start within 60s", bin)
	}
	require.NoError(t, chromedp.Listen(ctx, listen))
	return ctx
}

// pageLog collects what the browser reports about a page: console
// messages of level error or warning, uncaught exceptions, and the URL of
// every request.
type pageLog struct {
	mu       sync.Mutex
	problems []string
	requests []string
}

func (l *pageLog) listen(ev any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := ev.(*network.EventRequestWillBeSent); ok {
		l.requests = append(l.requests, e.Request.URL)
	}
}

// watchConsole records the console of the tab until ctx ends.
func (l *pageLog) watchConsole(ctx context.Context) {
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning {
				l.mu.Lock()
				l.problems = append(l.problems, m.String())
				l.mu.Unlock()
			}
		}
	}()
}

func (l *pageLog) snapshot() (problems, requests []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.problems...), append([]string(nil), l.requests...)
}

// svgInfo is what the page says of one chart.
type svgInfo struct {
	ID      string  `json:"id"`
	Title   string  `json:"title"`
	Circles int     `json:"circles"`
	Lines   int     `json:"lines"`
	Width   float64 `json:"width"`
	Height  float64 `json:"height"`
}

const inspectSVG = `Array.from(document.querySelectorAll('svg')).map(s => {
  const r = s.getBoundingClientRect();
  const t = s.querySelector(':scope > title');
  return {id: s.id, title: t ? t.textContent : '', circles: s.querySelectorAll('circle').length,
    lines: s.querySelectorAll('line').length, width: r.width, height: r.height};
})`

// TestBrowser renders the README's report of the sample cohort in headless
// Chromium and checks that every chart is drawn: as many <svg> elements
// as the report has measures (one overview each) and stratifiers (one dot
// plot each), each laid out with a size, a title and at least one line or
// circle; as many dots as the published report has defined rates; no
// scripts, no request but the file itself, and nothing on the console.
// With -update-screenshot it writes docs/report.png.
func TestBrowser(t *testing.T) {
	var log pageLog
	ctx := browser(t, log.listen)

	// The README's command, from the repository root.
	out := filepath.Join(t.TempDir(), "report.html")
	t.Chdir(filepath.Join("..", ".."))
	c := config{data: filepath.Join("testdata", "sample"), list: "all", out: out, benchmarks: filepath.Join("examples", "report", "benchmarks.csv"),
		suppress: metric.DefaultThreshold, reference: "largest", title: "Quality measures report", quiet: true}
	require.NoError(t, run(context.Background(), c, io.Discard, io.Discard))
	wantSVG, wantDots := expectedMarks(t, c)

	tctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	log.watchConsole(tctx)
	page := (&url.URL{Scheme: "file", Path: out}).String()
	require.NoError(t, chromedp.Do(tctx, chromedp.Navigate(page), chromedp.WaitReady(chromedp.CSS("body"))))
	svgs, err := chromedp.Run(tctx, chromedp.Evaluate[[]svgInfo](inspectSVG))
	require.NoError(t, err)
	scripts, err := chromedp.Run(tctx, chromedp.Evaluate[int](`document.scripts.length`))
	require.NoError(t, err)

	require.Len(t, svgs, wantSVG, "one <svg> per measure and per stratifier of each group")
	dots := 0
	for _, s := range svgs {
		assert.Positive(t, s.Width, "chart %s has no width", s.ID)
		assert.Positive(t, s.Height, "chart %s has no height", s.ID)
		assert.NotEmpty(t, s.Title, "chart %s has no <title>", s.ID)
		assert.Positive(t, s.Circles+s.Lines, "chart %s draws nothing", s.ID)
		dots += s.Circles
	}
	assert.Equal(t, wantDots, dots, "one dot per published, defined rate")
	assert.Zero(t, scripts, "the page needs no JavaScript")

	if *updateScreenshot {
		// The top of the page: the header, then the first measure's
		// overview and the charts of its first group.
		require.NoError(t, chromedp.Do(tctx, chromedp.EmulateViewport(1400, 1700)))
		png, err := chromedp.Run(tctx, chromedp.CaptureScreenshot())
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Dir(screenshotPath), 0o755))
		require.NoError(t, os.WriteFile(screenshotPath, png, 0o644))
		t.Logf("wrote %s", screenshotPath)
	}
	// Give late console messages a moment, then read the log.
	time.Sleep(200 * time.Millisecond)
	problems, requests := log.snapshot()
	assert.Empty(t, problems, "console errors, warnings or exceptions")
	for _, u := range requests {
		assert.Equal(t, page, u, "the page fetched something besides itself")
	}
	t.Logf("%d charts (%d dots) rendered in %s, no console errors, %d request(s)", len(svgs), dots, filepath.Base(chromium()), len(requests))
}

// TestBrowserSeesConsoleErrors checks the checker: a page that logs an
// error and throws is caught.
func TestBrowserSeesConsoleErrors(t *testing.T) {
	var log pageLog
	ctx := browser(t, log.listen)
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	log.watchConsole(tctx)
	html := `<!DOCTYPE html><title>x</title><script>console.error("broken chart"); throw new Error("boom")</script>`
	page := "data:text/html;base64," + base64.StdEncoding.EncodeToString([]byte(html))
	require.NoError(t, chromedp.Do(tctx, chromedp.Navigate(page), chromedp.WaitReady(chromedp.CSS("body"))))
	deadline := time.Now().Add(5 * time.Second)
	var problems []string
	for time.Now().Before(deadline) {
		if problems, _ = log.snapshot(); len(problems) >= 2 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	joined := strings.Join(problems, "\n")
	assert.Contains(t, joined, "broken chart")
	assert.Contains(t, joined, "boom")
}

// expectedMarks counts, from the report itself rather than the page's
// model, the charts the page must have (an overview per measure, a dot
// plot per stratifier of each group) and the dots (one per row whose rate
// is published and defined).
func expectedMarks(t *testing.T, c config) (svgs, dots int) {
	t.Helper()
	r, err := evaluate(context.Background(), c)
	require.NoError(t, err)
	pub, err := metric.Suppress(r, cli.SuppressionOptions(declaringSums(r), r, c.suppress))
	require.NoError(t, err)
	shown := func(cl metric.Cells) int {
		if cl.Rate.Suppressed == metric.NotSuppressed && cl.Rate.Value.Defined {
			return 1
		}
		return 0
	}
	for _, m := range pub.Measures {
		svgs++
		for _, g := range m.Groups {
			dots += shown(g.Cells)
			svgs += len(g.Stratifiers)
			for _, st := range g.Stratifiers {
				for _, s := range st.Strata {
					dots += shown(s.Cells)
				}
			}
		}
	}
	require.NotZero(t, svgs, "the sample report has no measures")
	return svgs, dots
}
