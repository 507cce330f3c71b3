package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// chunkMembers is the number of consecutive members generated together. It
// is fixed (it does not depend on -workers) so that -shuffle, which permutes
// rows inside a chunk, gives the same bytes for any number of workers.
const chunkMembers = 2048

type config struct {
	members int
	seed    uint64
	year    int
	out     string
	formats []string // csv, parquet, arrow
	workers int
	batch   int // rows per Arrow record batch and Parquet row group
	shuffle bool
}

// sink receives chunks in member order.
type sink interface {
	write(c *chunk) error
	close() error
}

// run generates the cohort of cfg and writes it in every format.
func run(cfg config) (st stats, err error) {
	if cfg.members < 0 {
		return st, fmt.Errorf("-members must be >= 0")
	}
	if cfg.workers < 1 {
		cfg.workers = 1
	}
	if cfg.batch < 1 {
		cfg.batch = 1 << 20
	}
	if err := os.MkdirAll(cfg.out, 0o755); err != nil {
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
	for _, f := range cfg.formats {
		switch f {
		case "csv":
			s, err := newCSVSink(cfg.out)
			if err != nil {
				return st, err
			}
			sinks = append(sinks, s)
		case "arrow":
			arrowOut = true
		case "parquet":
			parquetOut = true
		default:
			return st, fmt.Errorf("unknown format %q", f)
		}
	}
	if arrowOut || parquetOut {
		s, err := newArrowSink(cfg.out, arrowOut, parquetOut, cfg.batch)
		if err != nil {
			return st, err
		}
		sinks = append(sinks, s)
	}

	cal := newCalendar(cfg.year)
	nChunks := (cfg.members + chunkMembers - 1) / chunkMembers
	type job struct {
		k  int
		ch chan *chunk
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	jobs := make(chan job)
	results := make(chan chan *chunk, 2*cfg.workers)
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(jobs)
		defer close(results)
		for k := range nChunks {
			ch := make(chan *chunk, 1)
			select {
			case results <- ch:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- job{k, ch}:
			case <-ctx.Done():
				return
			}
		}
	})
	for range cfg.workers {
		wg.Go(func() {
			g := newGen(cal, cfg.seed, cfg.members)
			sh := newRNG()
			for j := range jobs {
				lo := j.k * chunkMembers
				hi := min(lo+chunkMembers, cfg.members)
				c := g.run(lo, hi)
				if cfg.shuffle {
					sh.reseed(cfg.seed, tagShuffle, uint64(j.k))
					sh.Shuffle(len(c.mem), func(a, b int) { c.mem[a], c.mem[b] = c.mem[b], c.mem[a] })
					sh.Shuffle(len(c.enr), func(a, b int) { c.enr[a], c.enr[b] = c.enr[b], c.enr[a] })
					sh.Shuffle(len(c.evs), func(a, b int) { c.evs[a], c.evs[b] = c.evs[b], c.evs[a] })
				}
				j.ch <- c
			}
		})
	}
	defer wg.Wait()
	defer cancel()
	for ch := range results {
		c := <-ch
		for _, s := range sinks {
			if err := s.write(c); err != nil {
				return st, err
			}
		}
		st.add(&c.st)
	}
	return st, nil
}

// fileNames lists the files a format writes.
func fileNames(dir, ext string) (members, enrollment, events string) {
	return filepath.Join(dir, "members."+ext), filepath.Join(dir, "enrollment."+ext), filepath.Join(dir, "events."+ext)
}
