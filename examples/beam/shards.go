package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"

	"github.com/caremetrics/caremetrics/dsl"
	"github.com/caremetrics/caremetrics/eval"
)

// Counters reported by the runner (prism prints none; Dataflow and Flink
// show them per step).
var (
	partitionsCounter = beam.NewCounter("caremetrics", "partitions")
	membersCounter    = beam.NewCounter("caremetrics", "members")
	eventsCounter     = beam.NewCounter("caremetrics", "events")
	evalMillis        = beam.NewDistribution("caremetrics", "partition_ms")
	shuffledBytes     = beam.NewCounter("caremetrics", "shuffled_bytes")
)

// evalShardFn evaluates one member shard, a directory of members,
// enrollment and events files for a disjoint set of members as
// eval.Partition writes them, and emits its partial result as JSON.
//
// Setup compiles the measures once per DoFn instance, that is once per
// worker thread, not per shard; the compiled measures are safe for
// concurrent use and reused for every shard the instance processes.
type evalShardFn struct {
	Spec measureSpec `json:"spec"`
	// Workers is eval.WithWorkers for each shard (0: GOMAXPROCS).
	Workers int  `json:"workers,omitempty"`
	Strict  bool `json:"strict,omitempty"`
	// Stage copies each shard's files into a local temporary directory
	// through Beam's filesystem (any scheme registered in the binary)
	// before loading; it is always done for a path with a scheme (gs://,
	// s3://, memfs://).
	Stage bool `json:"stage,omitempty"`

	e *evaluator
}

func (f *evalShardFn) Setup(ctx context.Context) (err error) {
	f.e, err = newEvaluator(ctx, &f.Spec, f.Workers, f.Strict)
	return err
}

func (f *evalShardFn) ProcessElement(ctx context.Context, dir string, emit func([]byte)) error {
	start := time.Now()
	local := dir
	if f.Stage || strings.Contains(dir, "://") {
		tmp, err := stage(ctx, dir)
		if err != nil {
			return fmt.Errorf("shard %s: %w", dir, err)
		}
		defer os.RemoveAll(tmp)
		local = tmp
	}
	b, err := f.evaluate(ctx, local)
	if err != nil {
		return fmt.Errorf("shard %s: %w", dir, err)
	}
	// Collect the shard now, so that the next one reuses its memory
	// instead of growing the heap to twice the shard (as
	// eval.EvaluateShards does).
	runtime.GC()
	evalMillis.Update(ctx, time.Since(start).Milliseconds())
	emit(b)
	return nil
}

// evaluate loads, evaluates and encodes one local shard; what it loaded is
// garbage when it returns.
func (f *evalShardFn) evaluate(ctx context.Context, dir string) ([]byte, error) {
	data, err := eval.LoadDir(ctx, dir, f.e.load...)
	if err != nil {
		return nil, err
	}
	return f.e.evaluate(ctx, data)
}

// evaluator holds what a DoFn compiles once in Setup: the measures, the
// load options they need and the evaluation options.
type evaluator struct {
	ms   []*dsl.Measure
	load []eval.LoadOption
	opts []eval.Option
}

func newEvaluator(ctx context.Context, spec *measureSpec, workers int, strict bool) (*evaluator, error) {
	ms, err := spec.compile(ctx)
	if err != nil {
		return nil, err
	}
	return &evaluator{
		ms:   ms,
		load: []eval.LoadOption{eval.WithRequirements(spec.requirements(ms)), eval.WithStrict(strict)},
		opts: spec.evalOptions(workers),
	}, nil
}

// evaluate evaluates one partition's data and returns its partial as
// JSON.
func (e *evaluator) evaluate(ctx context.Context, data *eval.Data) ([]byte, error) {
	res, err := eval.Evaluate(ctx, data, e.ms, e.opts...)
	if err != nil {
		return nil, err
	}
	partitionsCounter.Inc(ctx, 1)
	membersCounter.Inc(ctx, int64(len(data.Members)))
	eventsCounter.Inc(ctx, int64(len(data.Events)))
	return json.Marshal(newPartial(res.Report, data.Reconciliation, len(data.Members), len(data.Events)))
}

// stage copies the files at the top of dir, as Beam's filesystem lists them
// (but names starting with "_" or "."), into a new temporary directory and
// returns it.
func stage(ctx context.Context, dir string) (string, error) {
	fsys, err := filesystem.New(ctx, dir)
	if err != nil {
		return "", err
	}
	defer fsys.Close()
	names, err := fsys.List(ctx, strings.TrimSuffix(dir, "/")+"/*")
	if err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp("", "caremetrics-shard-")
	if err != nil {
		return "", err
	}
	n := 0
	for _, name := range names {
		base := path.Base(filepath.ToSlash(name))
		if strings.HasPrefix(base, "_") || strings.HasPrefix(base, ".") {
			continue
		}
		if err := copyFile(ctx, fsys, name, filepath.Join(tmp, base)); err != nil {
			os.RemoveAll(tmp)
			return "", err
		}
		n++
	}
	if n == 0 {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("no files")
	}
	return tmp, nil
}

func copyFile(ctx context.Context, fsys filesystem.Interface, from, to string) error {
	r, err := fsys.OpenRead(ctx, from)
	if err != nil {
		return err
	}
	defer r.Close()
	w, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, r); err != nil {
		w.Close()
		return fmt.Errorf("copying %s: %w", from, err)
	}
	return w.Close()
}
