// Command server is a small HTTP service that evaluates measures on member
// data posted to it, the way a CCO embeds the library in its own services.
//
//	go run ./examples/server -addr 127.0.0.1:8080
//	go run ./examples/gen -members 1000 -format parquet -out /tmp/cohort
//	curl -F members=@/tmp/cohort/members.parquet -F enrollment=@/tmp/cohort/enrollment.parquet \
//	    -F events=@/tmp/cohort/events.parquet 'http://127.0.0.1:8080/v1/evaluate?measures=cis,dental'
//
// It compiles the shipped measures once at start and shares them, immutable,
// across requests; measures posted to /v1/measures are compiled once too and
// live only in memory.
//
// # Endpoints
//
//	POST   /v1/evaluate       multipart/form-data with the parts members,
//	                          enrollment and events, each a Parquet file or an
//	                          Arrow IPC stream or file (told apart by their
//	                          magic bytes); query: measures=cis,dental (default
//	                          every shipped measure; posted ones by id),
//	                          year=2025 (default each measure's own period),
//	                          strict=true|false (default true: any row set aside
//	                          fails the request), race=combination|single.
//	                          200: {"report": ..., "reconciliation": ...}
//	POST   /v1/measures       a measure YAML as the body, or multipart with a
//	                          part "measure" and value-set or library files in
//	                          parts named by their relative path; query:
//	                          attributes=county:string,... declares extra member
//	                          columns. 201: the measure's id, groups and
//	                          stratifiers; 422: the compile errors with
//	                          file:line:col
//	GET    /v1/measures       the shipped and posted measures
//	DELETE /v1/measures/{id}  forgets a posted measure
//	GET    /healthz           200 while serving, 503 while draining
//
// Errors are JSON {"error": "one line"}: 400 for a malformed request or
// undecodable data (naming the part, and the row and column where the
// library does), 413 for a body, a row count or decoding memory over the
// limits, 415 for a body that is not multipart or a part in an unknown
// format, 422 for data the library rejects (a missing column, a wrong type,
// a null id, rows set aside in strict mode) and for measure compile errors,
// 429 when -max-concurrent evaluations are already running (no queue:
// retry after the Retry-After seconds), 503 while shutting down, 408 when
// the body is not read within -read-timeout and 504 when loading and
// evaluating take longer than -timeout. Messages and logs hold no member
// data beyond member ids: quoted values and dates are withheld.
//
// # Memory
//
// A request holds its body in memory (at most -max-body bytes), the Arrow
// batches being decoded (at most -max-decode-mem bytes at once, which stops
// compression bombs), and the loaded data (at most -max-rows rows over the
// three tables). At most -max-concurrent requests hold any of these at once:
// the concurrency slot is taken before the body is read, so excess requests
// cost neither memory nor CPU.
//
// SIGINT or SIGTERM stops accepting connections, lets running requests
// finish for up to -drain, then cancels them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"
)

// config holds the service's limits; see the flags in main.
type config struct {
	maxBody        int64
	maxMeasureBody int64
	maxConcurrent  int
	workers        int
	timeout        time.Duration
	readTimeout    time.Duration
	drain          time.Duration
	maxRows        int64
	maxDecodeMem   int64
	maxMeasures    int
}

// defaults returns the configuration of the flags' defaults.
func defaults() config {
	return config{
		maxBody:        256 << 20,
		maxMeasureBody: 1 << 20,
		maxConcurrent:  2,
		timeout:        2 * time.Minute,
		readTimeout:    2 * time.Minute,
		drain:          30 * time.Second,
		maxRows:        20_000_000,
		maxDecodeMem:   1 << 30,
		maxMeasures:    64,
	}
}

// evalWorkers is the number of workers of one evaluation: -workers, or the
// cores shared among the concurrent evaluations.
func (c config) evalWorkers() int {
	if c.workers > 0 {
		return c.workers
	}
	return max(1, runtime.GOMAXPROCS(0)/c.maxConcurrent)
}

func (c config) validate() error {
	switch {
	case c.maxBody < 1, c.maxMeasureBody < 1:
		return errors.New("-max-body and -max-measure-body must be positive")
	case c.maxConcurrent < 1:
		return errors.New("-max-concurrent must be at least 1")
	case c.workers < 0:
		return errors.New("-workers must be 0 (automatic) or more")
	case c.timeout <= 0, c.readTimeout <= 0, c.drain < 0:
		return errors.New("-timeout and -read-timeout must be positive, -drain not negative")
	case c.maxRows < 1, c.maxDecodeMem < 1, c.maxMeasures < 0:
		return errors.New("-max-rows and -max-decode-mem must be positive, -max-measures not negative")
	}
	return nil
}

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

// run parses the flags, listens and serves until SIGINT or SIGTERM; it
// returns the exit code.
func run(args []string, stderr io.Writer) int {
	c := defaults()
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	fs.Int64Var(&c.maxBody, "max-body", c.maxBody, "largest /v1/evaluate request body in bytes; larger ones get 413")
	fs.Int64Var(&c.maxMeasureBody, "max-measure-body", c.maxMeasureBody, "largest /v1/measures request body in bytes")
	fs.IntVar(&c.maxConcurrent, "max-concurrent", c.maxConcurrent, "evaluations (and measure compilations) running at once; more get 429 at once, before their body is read")
	fs.IntVar(&c.workers, "workers", 0, "workers per evaluation (default GOMAXPROCS / -max-concurrent, at least 1)")
	fs.DurationVar(&c.timeout, "timeout", c.timeout, "longest load and evaluation of one request, after its body is read; longer ones get 504")
	fs.DurationVar(&c.readTimeout, "read-timeout", c.readTimeout, "longest read of one request body; slower ones get 408")
	fs.DurationVar(&c.drain, "drain", c.drain, "on SIGINT or SIGTERM, how long running requests may finish before they are cancelled")
	fs.Int64Var(&c.maxRows, "max-rows", c.maxRows, "most rows of one request over its three tables; more get 413")
	fs.Int64Var(&c.maxDecodeMem, "max-decode-mem", c.maxDecodeMem, "most bytes of Arrow memory one request may hold at once while decoding; more get 413")
	fs.IntVar(&c.maxMeasures, "max-measures", c.maxMeasures, "most measures held from /v1/measures")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `usage: server [flags]

Evaluates measures on member data posted as Parquet or Arrow IPC.

example:
  go run ./examples/server -addr 127.0.0.1:8080 -max-concurrent 4
  go run ./examples/gen -members 1000 -format parquet -out /tmp/cohort
  curl -F members=@/tmp/cohort/members.parquet -F enrollment=@/tmp/cohort/enrollment.parquet \
      -F events=@/tmp/cohort/events.parquet 'http://127.0.0.1:8080/v1/evaluate?measures=cis,dental&year=2025'

flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "server: unexpected argument %q (see -h)\n", fs.Arg(0))
		return 2
	}
	if err := c.validate(); err != nil {
		fmt.Fprintln(stderr, "server:", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(stderr, "server:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, ln, c, log); err != nil {
		fmt.Fprintln(stderr, "server:", err)
		return 1
	}
	return 0
}
