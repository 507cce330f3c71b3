package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/caremetrics/caremetrics/metric"
)

// Beam's Go SDK finds DoFns, CombineFns and coders by registration at
// init, in the launcher and in every worker (the same binary); register
// also generates the callers that spare reflection at run time.
func init() {
	register.DoFn3x1[context.Context, string, func([]byte), error](&evalShardFn{})
	register.DoFn3x1[context.Context, fileRef, func(unitRef), error](&splitFileFn{})
	register.DoFn3x1[context.Context, unitRef, func(int, []byte), error](&readUnitFn{})
	register.DoFn4x1[context.Context, int, func(*[]byte) bool, func([]byte), error](&evalBucketFn{})
	register.DoFn2x1[context.Context, []byte, error](&writeFn{})
	register.Combiner3[*partial, []byte, []byte](&mergeFn{})
	register.Emitter1[[]byte]()
	register.Emitter1[unitRef]()
	register.Emitter2[int, []byte]()
	register.Iter1[[]byte]()
	beam.RegisterCoder(reflect.TypeOf((*partial)(nil)), encodePartial, decodePartial)
}

// config is what a pipeline is built from.
type config struct {
	// Shards are the shard directories (the shard path); Data is a data
	// directory of Parquet or Arrow files not partitioned by member, whose
	// rows are keyed by a hash of member_id into Buckets groups (the row
	// path). Exactly one is set.
	Shards  []string
	Data    string
	Buckets int
	// Out is the directory of report.json and rates.csv (any scheme of
	// Beam's filesystem registered in the binary).
	Out string

	Spec    measureSpec
	Workers int
	Strict  bool
	Stage   bool
}

// build adds the pipeline to s: partitions of disjoint members are
// evaluated in parallel, their partial results combined with
// metric.Report.Merge into the whole cohort's report, which is written
// to Out.
func build(s beam.Scope, c config) error {
	var partials beam.PCollection
	switch {
	case len(c.Shards) > 0 && c.Data == "":
		// One element per shard. The reshuffle breaks fusion with the
		// creation, so that a runner spreads the shards over its workers
		// instead of evaluating them all in the bundle that created them.
		dirs := beam.Reshuffle(s.Scope("shards"), beam.CreateList(s.Scope("shards"), c.Shards))
		partials = beam.ParDo(s.Scope("evaluate-shards"), &evalShardFn{Spec: c.Spec, Workers: c.Workers, Strict: c.Strict, Stage: c.Stage}, dirs)
	case c.Data != "" && len(c.Shards) == 0:
		var err error
		if partials, err = buildRows(s, c); err != nil {
			return err
		}
	default:
		return fmt.Errorf("give shard directories or a data directory, not both")
	}
	report := beam.Combine(s.Scope("merge"), &mergeFn{}, partials)
	beam.ParDo0(s.Scope("write"), &writeFn{Dir: c.Out}, report)
	return nil
}

// writeFn writes the merged report (report.json bytes) as report.json and
// rates.csv into Dir, each through a temporary file renamed into place
// where the filesystem can rename, so that an interrupted run leaves no
// half-written file that looks complete.
type writeFn struct {
	Dir string `json:"dir"`
}

func (f *writeFn) ProcessElement(ctx context.Context, report []byte) error {
	var rep metric.Report
	if err := json.Unmarshal(report, &rep); err != nil {
		return err
	}
	var rates bytes.Buffer
	if err := rep.WriteRatesCSV(&rates); err != nil {
		return err
	}
	fsys, err := filesystem.New(ctx, f.Dir)
	if err != nil {
		return err
	}
	defer fsys.Close()
	for _, file := range []struct {
		name string
		b    []byte
	}{{"rates.csv", rates.Bytes()}, {"report.json", report}} {
		if err := writeFile(ctx, fsys, strings.TrimSuffix(f.Dir, "/")+"/"+file.name, file.b); err != nil {
			return err
		}
	}
	return nil
}

func writeFile(ctx context.Context, fsys filesystem.Interface, name string, b []byte) error {
	target := name
	rn, canRename := fsys.(filesystem.Renamer)
	if canRename {
		name += ".tmp"
	}
	w, err := fsys.OpenWrite(ctx, name)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, bytes.NewReader(b)); err != nil {
		w.Close()
		return fmt.Errorf("writing %s: %w", target, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", target, err)
	}
	if canRename {
		return rn.Rename(ctx, name, target)
	}
	return nil
}
