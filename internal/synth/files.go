package synth

import (
	"fmt"
	"os"
	"path/filepath"
)

// Output formats of WriteDir.
const (
	CSV     = "csv"     // CSV with a header (see CSVWriter)
	Parquet = "parquet" // Parquet, Snappy-compressed, one row group per batch
	Arrow   = "arrow"   // Arrow IPC file
)

// FileNames returns the paths of the members, enrollment and events files
// WriteDir writes to dir in format ext (CSV, Parquet or Arrow).
func FileNames(dir, ext string) (members, enrollment, events string) {
	return filepath.Join(dir, "members."+ext), filepath.Join(dir, "enrollment."+ext), filepath.Join(dir, "events."+ext)
}

// sink receives batches in member order.
type sink interface {
	write(c *Batch) error
	close() error
}

// WriteDir generates the cohort of cfg and writes it to dir (created if
// needed) in each of formats (CSV, Parquet, Arrow): members.EXT,
// enrollment.EXT and events.EXT. batchRows is the number of rows per Arrow
// record batch and Parquet row group (< 1 means 1<<20). The bytes written
// depend only on cfg's Members, Seed, Year and Shuffle, and on batchRows.
func WriteDir(cfg Config, dir string, formats []string, batchRows int) (st Stats, err error) {
	if cfg.Members < 0 {
		return st, fmt.Errorf("synth: Members must be >= 0")
	}
	if batchRows < 1 {
		batchRows = 1 << 20
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return st, err
	}
	var sinks []sink
	defer func() {
		for _, s := range sinks {
			if cerr := s.close(); cerr != nil && err == nil {
				err = cerr
			}
		}
	}()
	var arrowOut, parquetOut bool
	for _, f := range formats {
		switch f {
		case CSV:
			s, err := newCSVSink(dir)
			if err != nil {
				return st, err
			}
			sinks = append(sinks, s)
		case Arrow:
			arrowOut = true
		case Parquet:
			parquetOut = true
		default:
			return st, fmt.Errorf("unknown format %q", f)
		}
	}
	if arrowOut || parquetOut {
		s, err := newArrowSink(dir, arrowOut, parquetOut, batchRows)
		if err != nil {
			return st, err
		}
		sinks = append(sinks, s)
	}
	return Generate(cfg, func(c *Batch) error {
		for _, s := range sinks {
			if err := s.write(c); err != nil {
				return err
			}
		}
		return nil
	})
}
