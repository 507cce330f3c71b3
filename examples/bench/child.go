package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/caremetrics/caremetrics/dsl"
	"github.com/caremetrics/caremetrics/eval"
	"github.com/caremetrics/caremetrics/examples/internal/cli"
	"github.com/caremetrics/caremetrics/internal/synth"
	"github.com/caremetrics/caremetrics/metric"
)

// resultPrefix marks the one line of a child's stdout that carries its
// runResult as JSON.
const resultPrefix = "BENCH-RESULT "

// runResult is what one child run reports to the parent. Phase times are in
// seconds, measured inside the process from the start of main.
type runResult struct {
	Members  int `json:"members"`
	Spans    int `json:"spans"`
	Events   int `json:"events"`
	Measures int `json:"measures"`
	Workers  int `json:"workers"`
	Warnings int `json:"warnings"`

	Compile  float64 `json:"compile_s"`  // measures.Load of every shipped measure
	Load     float64 `json:"load_s"`     // eval.LoadDir: read, decode, intern, group by member
	Evaluate float64 `json:"evaluate_s"` // eval.Evaluate, aggregation included
	Write    float64 `json:"write_s"`    // rates.csv
	Total    float64 `json:"total_s"`    // start of main to rates written

	MaxRSSKiB int64 `json:"max_rss_kib"` // getrusage(RUSAGE_SELF) at the end
}

// childGenerate writes the cohort of -generate into -data.
func childGenerate(c config) error {
	t := time.Now()
	st, err := synth.WriteDir(synth.Config{Members: c.generate, Seed: c.seed, Year: c.year}, c.data, []string{c.format}, 0)
	if err != nil {
		return err
	}
	fmt.Printf("generated %d members, %d spans, %d events (%s, seed %d) in %s in %.1fs\n",
		st.Members, st.Enrollment, st.Events, c.format, c.seed, c.data, time.Since(t).Seconds())
	return nil
}

// childRun is one measured run: compile, load, evaluate, write rates.csv,
// then print the runResult on stdout.
func childRun(c config) (err error) {
	start := time.Now()
	if c.data == "" || c.out == "" {
		return errors.New("-child needs -data and -out")
	}
	if c.cpuProfile != "" {
		f, err := os.Create(c.cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() {
			pprof.StopCPUProfile()
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}()
	}
	ctx := context.Background()
	var r runResult
	last := start
	lap := func() float64 { // seconds since the previous lap
		now := time.Now()
		d := now.Sub(last).Seconds()
		last = now
		return d
	}

	// As examples/evaluate does for the shipped measures: compile them
	// first, then load only the rows and columns they need.
	ms, err := cli.LoadMeasures(c.measures, "", "", nil)
	if err != nil {
		return err
	}
	r.Compile = lap()
	var loadOpts []eval.LoadOption
	if c.requirements {
		loadOpts = append(loadOpts, eval.WithRequirements(dsl.RequirementsOver(metric.CalendarYear(c.year), ms...)))
	}
	data, err := eval.LoadDir(ctx, c.data, loadOpts...)
	if err != nil {
		return err
	}
	r.Load = lap()
	period := metric.CalendarYear(c.year)
	res, err := eval.Evaluate(ctx, data, ms, eval.WithWorkers(c.workers), eval.WithPeriod(period))
	if err != nil {
		return err
	}
	r.Evaluate = lap()
	if err := cli.WriteFile(c.out, "rates.csv", func(f *os.File) error { return res.Report.WriteRatesCSV(f) }); err != nil {
		return err
	}
	r.Write = lap()
	r.Total = time.Since(start).Seconds()

	r.Members, r.Spans, r.Events = len(data.Members), len(data.Spans), len(data.Events)
	r.Measures, r.Warnings = len(ms), len(res.Report.Warnings)
	r.Workers = c.workers
	if r.Workers < 1 {
		r.Workers = runtime.GOMAXPROCS(0)
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		r.MaxRSSKiB = int64(ru.Maxrss)
	}
	if c.memProfile != "" {
		if err := writeAllocs(c.memProfile); err != nil {
			return err
		}
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	fmt.Printf("%s%s\n", resultPrefix, b)
	return nil
}

// writeAllocs writes the allocation profile (bytes and objects allocated
// since start, and in use at the last GC).
func writeAllocs(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
