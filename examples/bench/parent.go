package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

// proc is one finished child process: whole-process wall time and peak RSS
// as the parent sees them, the same way for both engines.
type proc struct {
	wall      float64 // seconds from just before exec to exit
	maxRSSKiB int64
	stdout    []byte
}

// peerTiming is the part of the peer's TIMING line the report uses.
type peerTiming struct {
	Load    float64          `json:"load_s"`
	Compute []float64        `json:"compute_s"`
	Rows    map[string]int64 `json:"rows"`
}

type ourRun struct {
	proc
	r runResult
}

type peerRun struct {
	proc
	t peerTiming
}

// parentRun generates the cohort if asked, warms the page cache, runs the
// engines -repeat times each in fresh processes and prints the comparison.
func parentRun(c config) error {
	if c.repeat < 1 {
		return errors.New("-repeat must be at least 1")
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if c.generate > 0 {
		dir, cleanup, err := generate(self, c)
		if err != nil {
			return err
		}
		defer cleanup()
		c.data = dir
	}
	if c.data == "" {
		return errors.New("-data DIR or -generate N is required (see -h)")
	}
	if c.out == "" {
		dir, err := os.MkdirTemp("", "bench-out-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		c.out = dir
	} else if err := os.MkdirAll(c.out, 0o755); err != nil {
		return err
	}
	n, err := warmCache(c.data)
	if err != nil {
		return err
	}
	fmt.Printf("data %s (%s in page cache)\n", c.data, mib(n>>10))
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		// A child's peak RSS cannot be below this (see generate).
		fmt.Printf("this process: peak RSS %s, the floor of every child's figure\n", mib(int64(ru.Maxrss)))
	}

	if c.cpuProfile != "" || c.memProfile != "" {
		fmt.Println("profiled run (not counted) ...")
		if _, err := runOurs(self, c, true); err != nil {
			return err
		}
		for _, p := range []string{c.cpuProfile, c.memProfile} {
			if p != "" {
				fmt.Printf("wrote %s (go tool pprof -top %s)\n", p, p)
			}
		}
	}

	var ours []ourRun
	var peers []peerRun
	for i := 0; i < c.repeat; i++ {
		// Alternate which engine goes first, so neither always runs
		// right after the other has warmed or cluttered the machine.
		peerFirst := c.peer != "" && i%2 == 1
		if peerFirst {
			p, err := runPeer(c)
			if err != nil {
				return err
			}
			peers = append(peers, p)
		}
		o, err := runOurs(self, c, false)
		if err != nil {
			return err
		}
		ours = append(ours, o)
		if c.peer != "" && !peerFirst {
			p, err := runPeer(c)
			if err != nil {
				return err
			}
			peers = append(peers, p)
		}
		fmt.Printf("run %d/%d: ours %.2fs", i+1, c.repeat, o.wall)
		if c.peer != "" {
			fmt.Printf(", peer %.2fs", peers[len(peers)-1].wall)
		}
		fmt.Println()
	}
	fmt.Println()
	report(os.Stdout, c, ours, peers)
	if c.peer != "" {
		fmt.Println()
		if err := printRates(os.Stdout, c.out); err != nil {
			return err
		}
	}
	return nil
}

// generate writes a cohort with internal/synth into -data, or into a
// temporary directory that cleanup removes. It runs in a child process:
// Linux carries the high-water RSS of the parent into every child it
// starts (os/exec shares the parent's address space until exec), so the
// parent must stay small for the children's peak RSS to be their own.
func generate(self string, c config) (dir string, cleanup func(), err error) {
	dir, cleanup = c.data, func() {}
	if dir == "" {
		if dir, err = os.MkdirTemp("", "bench-cohort-"); err != nil {
			return "", nil, err
		}
		cleanup = func() { os.RemoveAll(dir) }
	}
	p, err := runProcess(self, []string{"-child", "-generate", strconv.Itoa(c.generate), "-format", c.format,
		"-seed", strconv.FormatUint(c.seed, 10), "-year", strconv.Itoa(c.year), "-data", dir})
	if err != nil {
		cleanup()
		return "", nil, err
	}
	os.Stdout.Write(p.stdout)
	return dir, cleanup, nil
}

// warmCache reads every file under dir once, so that no engine pays for
// the disk, and returns the bytes read.
func warmCache(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		n, err := io.Copy(io.Discard, f)
		total += n
		return err
	})
	return total, err
}

// runOurs runs this binary with -child and reads its result line.
func runOurs(self string, c config, profile bool) (ourRun, error) {
	args := []string{"-child", "-data", c.data, "-out", c.out, "-year", strconv.Itoa(c.year), "-workers", strconv.Itoa(c.workers),
		"-requirements=" + strconv.FormatBool(c.requirements), "-measures", c.measures}
	if profile {
		if c.cpuProfile != "" {
			args = append(args, "-cpuprofile", c.cpuProfile)
		}
		if c.memProfile != "" {
			args = append(args, "-memprofile", c.memProfile)
		}
	}
	p, err := runProcess(self, args)
	if err != nil {
		return ourRun{}, fmt.Errorf("our run: %w", err)
	}
	o := ourRun{proc: p}
	line, ok := findLine(p.stdout, resultPrefix)
	if !ok {
		return o, fmt.Errorf("our run printed no %q line", strings.TrimSpace(resultPrefix))
	}
	return o, json.Unmarshal([]byte(line), &o.r)
}

// runPeer runs the peer over the Parquet files directly (-load view, its
// fastest path) and writes its stratified results to peer-rates.csv.
func runPeer(c config) (peerRun, error) {
	args := []string{"-dir", c.data, "-year", strconv.Itoa(c.year), "-threads", strconv.Itoa(c.peerThreads),
		"-load", "view", "-quiet", "-results", filepath.Join(c.out, "peer-rates.csv")}
	p, err := runProcess(c.peer, args)
	if err != nil {
		return peerRun{}, fmt.Errorf("peer run: %w", err)
	}
	r := peerRun{proc: p}
	if line, ok := findLine(p.stdout, "TIMING "); ok {
		if err := json.Unmarshal([]byte(line), &r.t); err != nil {
			return r, fmt.Errorf("peer TIMING line: %w", err)
		}
	}
	return r, nil
}

// runProcess runs name with args and measures it from just before exec to
// its exit; stderr is shown only if it fails.
func runProcess(name string, args []string) (proc, error) {
	cmd := exec.Command(name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	t := time.Now()
	err := cmd.Run()
	p := proc{wall: time.Since(t).Seconds(), stdout: stdout.Bytes()}
	if err != nil {
		return p, fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, tail(stderr.String(), 2000))
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		p.maxRSSKiB = int64(ru.Maxrss) // KiB on Linux
	}
	return p, nil
}

// findLine returns the rest of the first line of out that starts with
// prefix.
func findLine(out []byte, prefix string) (string, bool) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), prefix); ok {
			return rest, true
		}
	}
	return "", false
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// report prints every run, then the medians, throughputs and ratios.
func report(w io.Writer, c config, ours []ourRun, peers []peerRun) {
	r := ours[0].r
	kept := "events kept"
	if !c.requirements {
		kept = "events (-requirements=false: every row loaded)"
	}
	fmt.Fprintf(w, "cohort: %s members, %s enrollment spans, %s %s; %d measures with all stratifiers, %d workers\n",
		thousands(r.Members), thousands(r.Spans), thousands(r.Events), kept, r.Measures, r.Workers)
	if c.peer != "" {
		fmt.Fprintf(w, "peer: %s -load view -threads %d (SQL over the Parquet files: 3 measures, 5 rates, 4 stratifiers)\n", c.peer, c.peerThreads)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\tengine\twall s\tcompile s\tread+index s\tevaluate s\twrite s\tpeak RSS\t")
	for i, o := range ours {
		fmt.Fprintf(tw, "%d\tours\t%.2f\t%.3f\t%.2f\t%.2f\t%.3f\t%s\t\n", i+1, o.wall, o.r.Compile, o.r.Load, o.r.Evaluate, o.r.Write, mib(o.maxRSSKiB))
		if i < len(peers) {
			p := peers[i]
			fmt.Fprintf(tw, "%d\tpeer\t%.2f\t-\t%.2f\t%.2f\t-\t%s\t\n", i+1, p.wall, p.t.Load, sum(p.t.Compute), mib(p.maxRSSKiB))
		}
	}
	tw.Flush()
	if len(peers) > 0 {
		fmt.Fprintln(w, "(peer: read+index is creating its Parquet views; evaluate is its SQL, which reads the files)")
	}

	pick := func(f func(o ourRun) float64) float64 { return median(collect(ours, f)) }
	wall := pick(func(o ourRun) float64 { return o.wall })
	load := pick(func(o ourRun) float64 { return o.r.Load })
	evaluate := pick(func(o ourRun) float64 { return o.r.Evaluate })
	var rss int64
	for _, o := range ours {
		rss = max(rss, o.maxRSSKiB)
	}
	fmt.Fprintf(w, "\nours, median of %d: wall %.2f s (compile %.3f, read+index %.2f, evaluate %.2f, write %.3f), peak RSS %s\n",
		len(ours), wall, pick(func(o ourRun) float64 { return o.r.Compile }), load, evaluate,
		pick(func(o ourRun) float64 { return o.r.Write }), mib(rss))
	fmt.Fprintf(w, "  end to end: %s members/s, %s events/s\n", rate(r.Members, wall), rate(r.Events, wall))
	fmt.Fprintf(w, "  read+index: %s members/s, %s events/s\n", rate(r.Members, load), rate(r.Events, load))
	fmt.Fprintf(w, "  evaluate:   %s members/s, %s events/s (%s members/s per worker)\n",
		rate(r.Members, evaluate), rate(r.Events, evaluate), rate(r.Members, evaluate*float64(r.Workers)))
	if len(peers) == 0 {
		return
	}
	pwall := median(collect(peers, func(p peerRun) float64 { return p.wall }))
	var prss int64
	for _, p := range peers {
		prss = max(prss, p.maxRSSKiB)
	}
	fmt.Fprintf(w, "peer, median of %d: wall %.2f s, peak RSS %s; end to end %s members/s, %s events/s\n",
		len(peers), pwall, mib(prss), rate(r.Members, pwall), rate(r.Events, pwall))
	fmt.Fprintf(w, "ours/peer: wall %s, peak RSS %s\n", ratio(wall, pwall), ratio(float64(rss), float64(prss)))
}

// printRates prints the peer's overall rates beside ours.
func printRates(w io.Writer, out string) error {
	ourFile, err := os.Open(filepath.Join(out, "rates.csv"))
	if err != nil {
		return err
	}
	defer ourFile.Close()
	peerFile, err := os.Open(filepath.Join(out, "peer-rates.csv"))
	if err != nil {
		return err
	}
	defer peerFile.Close()
	rows, err := compareRates(ourFile, peerFile)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "overall rates (ours: numerator / (denominator - exclusions - exceptions))")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "peer rate\tour rate\tours\tpeer\tours\tpeer\tsame counts")
	for _, x := range rows {
		same := "no"
		if x.Ours == x.Peer {
			same = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", x.PeerID, x.OurID, x.Ours, x.Peer, x.Ours.rate(), x.Peer.rate(), same)
	}
	return tw.Flush()
}
