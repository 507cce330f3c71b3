package synth

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"
)

// Day is a calendar date as days since 1970-01-01, the representation of
// Arrow date32.
type Day = int32

// NoDay marks an absent (null) date.
const NoDay Day = math.MinInt32

// Member is a row of the members table. Empty strings are nulls.
type Member struct {
	ID                               string
	Birth, Death                     Day    // Death is NoDay when alive
	Sex, Ethnicity, Language, County string // "" is null
	Race                             []string
	RaceNull                         bool // race is null (Race is nil)
	Interpreter, Disability          int8 // -1 null, 0 false, 1 true
}

// Span is a row of the enrollment table.
type Span struct {
	MemberID   string
	Start, End Day
	// Benefits is a bit set in the order of the data model: medical,
	// dental, mental_health, chemical_dependency, pharmacy (see
	// Span.BenefitNames).
	Benefits uint8
	Plan     string // "" is null
}

// BenefitNames returns the names of the benefits of s (as written in the
// data model), in bit order.
func (s *Span) BenefitNames() []string {
	var out []string
	for k, name := range benefitNames {
		if s.Benefits&(1<<k) != 0 {
			out = append(out, name)
		}
	}
	return out
}

// Event is a row of the events table.
type Event struct {
	MemberID  string
	Date, End Day // End is NoDay when null
	System    string
	Code      string
	Value     float64 // meaningful when HasValue
	HasValue  bool
	Source    string // "" is null
	ClaimID   string // "" is null
}

// Stats counts the rows and the measure cohorts of a batch or a cohort.
type Stats struct {
	Members, Enrollment, Events int
	CIS                         int            // 2nd birthday in the measurement year
	Dental1to5, Dental6to14     int            // by age on Dec 31
	DSF12                       int            // age >= 12 on Jan 1
	Deaths, NoEnrollment        int            // members with a death date, without any span
	BySystem                    map[string]int // events by code system
}

// Add adds the counts of o to s.
func (s *Stats) Add(o *Stats) {
	s.Members += o.Members
	s.Enrollment += o.Enrollment
	s.Events += o.Events
	s.CIS += o.CIS
	s.Dental1to5 += o.Dental1to5
	s.Dental6to14 += o.Dental6to14
	s.DSF12 += o.DSF12
	s.Deaths += o.Deaths
	s.NoEnrollment += o.NoEnrollment
	if s.BySystem == nil {
		s.BySystem = map[string]int{}
	}
	for k, v := range o.BySystem {
		s.BySystem[k] += v
	}
}

// Batch holds the rows of a block of consecutive members (BlockMembers of
// them, fewer in the last block): their members, enrollment and events
// rows, each member's events in date order unless Config.Shuffle.
type Batch struct {
	Members    []Member
	Enrollment []Span
	Events     []Event
	Stats      Stats
}

// BlockMembers is the number of consecutive members generated together
// into one Batch. It is fixed (it does not depend on Config.Workers) so
// that Config.Shuffle, which permutes rows inside a block, gives the same
// rows for any number of workers.
const BlockMembers = 2048

// Config describes a cohort. The rows depend only on Members, Seed, Year
// and Shuffle.
type Config struct {
	Members int    // number of members, ids M0000001, M0000002, ...
	Seed    uint64 // random seed
	// Year is the measurement year: events run from Jan 1 Year-1 (registry
	// immunizations from birth) to Jan 31 Year+1, enrollment from Jan 1
	// Year-2; spans of members still enrolled end Dec 31 Year+1.
	Year    int
	Workers int  // generator goroutines; < 1 means GOMAXPROCS
	Shuffle bool // permute rows within each block of BlockMembers members
}

// Generate generates the cohort of cfg block by block and calls fn with
// each Batch, in member order, from the calling goroutine. fn may keep the
// batch: each is new. An error from fn stops generation and is returned.
// Memory stays bounded: a few batches per worker are in flight.
func Generate(cfg Config, fn func(b *Batch) error) (Stats, error) {
	var st Stats
	st.BySystem = map[string]int{}
	if cfg.Members < 0 {
		return st, fmt.Errorf("synth: Members must be >= 0")
	}
	if cfg.Workers < 1 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	cal := newCalendar(cfg.Year)
	nChunks := (cfg.Members + BlockMembers - 1) / BlockMembers
	type job struct {
		k  int
		ch chan *Batch
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	jobs := make(chan job)
	results := make(chan chan *Batch, 2*cfg.Workers)
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(jobs)
		defer close(results)
		for k := range nChunks {
			ch := make(chan *Batch, 1)
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
	for range cfg.Workers {
		wg.Go(func() {
			g := newGen(cal, cfg.Seed, cfg.Members)
			sh := newRNG()
			for j := range jobs {
				lo := j.k * BlockMembers
				hi := min(lo+BlockMembers, cfg.Members)
				c := g.run(lo, hi)
				if cfg.Shuffle {
					sh.reseed(cfg.Seed, tagShuffle, uint64(j.k))
					sh.Shuffle(len(c.Members), func(a, b int) { c.Members[a], c.Members[b] = c.Members[b], c.Members[a] })
					sh.Shuffle(len(c.Enrollment), func(a, b int) { c.Enrollment[a], c.Enrollment[b] = c.Enrollment[b], c.Enrollment[a] })
					sh.Shuffle(len(c.Events), func(a, b int) { c.Events[a], c.Events[b] = c.Events[b], c.Events[a] })
				}
				j.ch <- c
			}
		})
	}
	defer wg.Wait()
	defer cancel()
	for ch := range results {
		c := <-ch
		if err := fn(c); err != nil {
			return st, err
		}
		st.Add(&c.Stats)
	}
	return st, nil
}
