package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/caremetrics/caremetrics/metric"
)

var update = flag.Bool("update", false, "rewrite golden files")

var sample = filepath.Join("..", "..", "testdata", "sample")

// smallConfig renders the small hand-made report of testdata/small.
func smallConfig() config {
	return config{report: filepath.Join("testdata", "small", "report.json"), out: "-", benchmarks: filepath.Join("testdata", "small", "benchmarks.yaml"),
		suppress: metric.DefaultThreshold, reference: "largest", title: "Small report"}
}

// contains is assert.Contains without the page in the failure message.
func contains(t *testing.T, page, want string) {
	t.Helper()
	if !strings.Contains(page, want) {
		t.Errorf("the page lacks %q", want)
	}
}

func renderString(t *testing.T, c config) string {
	t.Helper()
	var out, errOut bytes.Buffer
	require.NoError(t, run(context.Background(), c, &out, &errOut))
	return out.String()
}

// TestSmallGolden pins the whole page of a small report: a proportion
// with a suppressed stratum, one with no eligible members and a
// complementary suppression, a group without stratifiers, and an inverse
// ratio measure. go test ./examples/report -update rewrites it; review the
// diff (and open the file in a browser).
func TestSmallGolden(t *testing.T) {
	got := renderString(t, smallConfig())
	golden := filepath.Join("testdata", "small", "report.golden.html")
	if *update {
		require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	if string(want) != got {
		wl, gl := strings.Split(string(want), "\n"), strings.Split(got, "\n")
		for i := range max(len(wl), len(gl)) {
			w, g := "", ""
			if i < len(wl) {
				w = wl[i]
			}
			if i < len(gl) {
				g = gl[i]
			}
			if w != g {
				t.Fatalf("%s differs from line %d (go test ./examples/report -update rewrites it; review the diff):\nwant %q\ngot  %q", golden, i+1, w, g)
			}
		}
	}
}

// TestSmallContent checks what the golden file shows, so that a rewrite
// that loses it fails.
func TestSmallContent(t *testing.T) {
	page := renderString(t, smallConfig())
	// Charts: one overview per measure, one per stratifier.
	assert.Equal(t, 2+2+1, strings.Count(page, "<svg "))
	// aian has 9 members: suppressed, no dot; the Wilson interval of
	// white (128 of 228) is shown.
	contains(t, page, "suppressed (n &lt; 11)")
	contains(t, page, "56.1%")
	lo, hi := metric.Wilson(128, 228, zCritical)
	contains(t, page, intervalText(lo, hi))
	contains(t, page, "no eligible members")
	contains(t, page, "white (the largest published denominator), 56.1%")
	contains(t, page, "reference white 56.1%")
	contains(t, page, "benchmark 55.0%")
	// The ratio measure: scaled rates, no interval, lower is better.
	contains(t, page, "rate per 1,000 — lower is better")
	contains(t, page, "41.0") // 410 visits per 10,000 member months
	contains(t, page, "benchmark 45.0")
	contains(t, page, "the Wilson interval and the z-test do not apply")
	assert.NotContains(t, page, "<script")
	assert.NotRegexp(t, regexp.MustCompile(`(src|href)="(https?:)?//`), page, "no external resources")
}

// TestDeterministic renders the sample cohort twice.
func TestDeterministic(t *testing.T) {
	c := config{data: sample, list: "dental,ed_util", out: "-", suppress: 11, reference: "best", title: "t", quiet: true}
	a := renderString(t, c)
	b := renderString(t, c)
	assert.Equal(t, a, b)
	contains(t, a, "Preventive Dental")
}

// TestNoSuppression shows every count with -suppress 0.
func TestNoSuppression(t *testing.T) {
	c := smallConfig()
	c.suppress = 0
	page := renderString(t, c)
	assert.NotContains(t, page, "suppressed (")
	contains(t, page, "aian")
	contains(t, page, "44.4%") // aian 4 of 9
	contains(t, page, "not for publication")
}

func TestReferenceNamed(t *testing.T) {
	c := smallConfig()
	c.reference = "race=unknown,overall"
	page := renderString(t, c)
	contains(t, page, "unknown (named), 47.5%")
	contains(t, page, "reference unknown 47.5%")
	contains(t, page, "the group&#39;s overall rate")
	// A named stratum that is suppressed gives no comparisons.
	for _, ref := range []string{"race=aian", "aian"} {
		c.reference = ref
		page = renderString(t, c)
		contains(t, page, "none: the stratum aian is suppressed")
	}
}

// TestWritesFile runs the README's command on the sample cohort with
// some measures and the sample benchmarks.
func TestWritesFile(t *testing.T) {
	out := filepath.Join(t.TempDir(), "report.html")
	var errOut bytes.Buffer
	c := config{data: sample, list: "cis,ed_util", out: out, benchmarks: "benchmarks.csv", suppress: 11, reference: "largest", title: "t"}
	require.NoError(t, run(context.Background(), c, io.Discard, &errOut))
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Contains(t, string(b), "benchmark 60.0%")
	assert.Contains(t, errOut.String(), "wrote "+out)
	// Rows of measures not requested are ignored, with a warning.
	assert.Contains(t, errOut.String(), `measure "dental" is not in the report; row ignored`)
	fi, err := os.Stat(out)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), fi.Mode().Perm())
}

// TestErrors: each error is one line naming what is wrong.
func TestErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
		return p
	}
	small := smallConfig()
	cases := []struct {
		name string
		edit func(c *config)
		want string
	}{
		{"no out", func(c *config) { c.out = "" }, "-out is required"},
		{"no input", func(c *config) { c.report = "" }, "-data or -report is required"},
		{"both inputs", func(c *config) { c.data = sample }, "-data and -report exclude each other"},
		{"report and year", func(c *config) { c.year = 2024 }, "-year and -measures apply to -data"},
		{"negative suppress", func(c *config) { c.suppress = -1 }, "-suppress -1"},
		{"two kinds", func(c *config) { c.reference = "best,largest" }, "more than one of largest, best, overall"},
		{"bad pair", func(c *config) { c.reference = "race=" }, `"race=": want STRATIFIER=NAME`},
		{"unknown stratifier", func(c *config) { c.reference = "rcae=white" }, `no stratifier "rcae" in the report (it has race, language, sex)`},
		{"unknown stratum", func(c *config) { c.reference = "race=whte" }, `stratifier race has no stratum "whte"`},
		{"unknown name", func(c *config) { c.reference = "whte" }, `-reference whte: not largest, best or overall, and no stratifier in the report has a stratum "whte"`},
		{"missing report", func(c *config) { c.report = filepath.Join(dir, "none.json") }, "no such file"},
		{"bad report", func(c *config) { c.report = write("bad.json", `{"measures": 3}`) }, "bad.json: json"},
		{"bad year", func(c *config) { c.report, c.data, c.year = "", sample, 1 }, "-year 1"},
		{"unknown measure", func(c *config) { c.report, c.data, c.list = "", sample, "nope" }, "nope"},
		{"benchmark extension", func(c *config) { c.benchmarks = write("b.txt", "") }, "want a .csv, .yaml or .yml file"},
		{"benchmark header", func(c *config) { c.benchmarks = write("h.csv", "id,group,value\n") }, "h.csv:1: header"},
		{"benchmark group", func(c *config) { c.benchmarks = write("g.csv", "measure,group,benchmark\ndental,age_6_14,0.5\n") },
			`g.csv:2: measure dental has no group "age_6_14" (it has total, age_1_5)`},
		{"benchmark percent", func(c *config) { c.benchmarks = write("p.csv", "measure,group,benchmark\ndental,total,60%\n") }, "p.csv:2: benchmark \"60%\": write rates in the report's units"},
		{"benchmark range", func(c *config) {
			c.benchmarks = write("r.csv", "measure,group,benchmark\n# percent by mistake\ndental,total,60\n")
		},
			"r.csv:3: benchmark 60 of proportion dental/total: want a fraction from 0 to 1"},
		{"benchmark negative ratio", func(c *config) { c.benchmarks = write("n.csv", "measure,group,benchmark\ned_util,total,-1\n") }, "negative"},
		{"benchmark number", func(c *config) { c.benchmarks = write("x.csv", "measure,group,benchmark\ndental,total,high\n") }, `x.csv:2: benchmark "high" is not a number`},
		{"benchmark fields", func(c *config) { c.benchmarks = write("f.csv", "measure,group,benchmark\ndental,total\n") }, "f.csv:2: wrong number of fields"},
		{"benchmark duplicate", func(c *config) {
			c.benchmarks = write("d.yaml", "- {measure: dental, group: total, benchmark: 0.5}\n- {measure: dental, group: total, benchmark: 0.6}\n")
		}, "d.yaml:2: measure dental group total already has a benchmark on line 1"},
		{"benchmark yaml key", func(c *config) { c.benchmarks = write("k.yaml", "- {measure: dental, group: total, bench: 0.5}\n") }, `k.yaml:1: unknown key "bench"`},
		{"benchmark yaml shape", func(c *config) { c.benchmarks = write("s.yaml", "measure: dental\n") }, "s.yaml:1: want a list"},
		{"benchmark yaml missing", func(c *config) { c.benchmarks = write("m.yaml", "- {measure: dental, group: total}\n") }, "m.yaml:1: missing benchmark"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := small
			tc.edit(&c)
			c.quiet = true
			err := run(context.Background(), c, io.Discard, io.Discard)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "\n", "one line")
		})
	}
}

func TestNiceAxis(t *testing.T) {
	cases := []struct {
		vals       []float64
		proportion bool
		lo, hi     float64
		ticks      string
	}{
		{[]float64{0.41, 0.66}, true, 0.4, 0.7, "40% 45% 50% 55% 60% 65% 70%"},
		{[]float64{0.02, 0.97}, true, 0, 1, "0% 20% 40% 60% 80% 100%"},
		{[]float64{0.5}, true, 0.44, 0.56, "44% 46% 48% 50% 52% 54% 56%"},
		{[]float64{11.5, 40}, false, 0, 40, "0 10 20 30 40"},
		{nil, true, 0, 1, "0% 20% 40% 60% 80% 100%"},
		{[]float64{0.001, 0.004}, true, 0.001, 0.004, "0.1% 0.2% 0.3% 0.4%"},
	}
	for _, tc := range cases {
		a := niceAxis(tc.vals, tc.proportion)
		assert.InDelta(t, tc.lo, a.lo, 1e-9, "%v", tc.vals)
		assert.InDelta(t, tc.hi, a.hi, 1e-9, "%v", tc.vals)
		var labels []string
		for _, tk := range a.ticks() {
			labels = append(labels, tk.Label)
		}
		assert.Equal(t, tc.ticks, strings.Join(labels, " "), "%v", tc.vals)
	}
}

func TestFormats(t *testing.T) {
	assert.Equal(t, "30,581", countText(30581))
	assert.Equal(t, "1,000", countText(1000))
	assert.Equal(t, "999", countText(999))
	assert.Equal(t, "-1,234,567", countText(-1234567))
	assert.Equal(t, "−4.2", signed(-0.0421*100, 1))
	assert.Equal(t, "0.0", signed(-0.00001, 1))
	assert.Equal(t, "<0.001", pText(0.0004))
	assert.Equal(t, "per 1,000", multiplierText(1000))
	assert.Equal(t, "m-cis-g-combo_3", anchor("m", "cis", "g", "combo 3"))
}
