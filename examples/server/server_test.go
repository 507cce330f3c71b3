package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/caremetrics/caremetrics/dsl"
	"github.com/caremetrics/caremetrics/eval"
	"github.com/caremetrics/caremetrics/measures"
)

// postedMeasure is a measure the tests post: the dental measure stratified
// by the sample's extra member column county, naming a shipped value set.
const postedMeasure = `id: dental_county
title: Preventive dental services by county
version: "1"
period: {start: 2025-01-01, end: 2025-12-31}
valuesets: [valuesets/dental.yaml]
define:
  age: ageOn(period_end)
  eligible: enrolled(period_start, period_end, "dental", 1, 45)
groups:
  total:
    initial_population: age >= 1 && age <= 14 && eligible
    denominator: "true"
    numerator: exists(between(events("Dental Preventive Services"), period_start, period_end))
stratifiers:
  county: county
`

// syncBuffer collects the server's log.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testServer is a server on a loopback port, run by serve.
type testServer struct {
	url    string
	client *http.Client
	logs   *syncBuffer
	stop   context.CancelFunc
	done   chan error
}

// testConfig has small limits, so that the tests reach them.
func testConfig() config {
	c := defaults()
	c.maxBody = 8 << 20
	c.maxConcurrent = 2
	c.workers = 1
	c.timeout = 30 * time.Second
	c.readTimeout = 10 * time.Second
	c.drain = 10 * time.Second
	c.maxRows = 100_000
	return c
}

func startServer(t *testing.T, cfg config) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, stop := context.WithCancel(context.Background())
	ts := &testServer{url: "http://" + ln.Addr().String(), logs: &syncBuffer{}, stop: stop, done: make(chan error, 1),
		client: &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	log := slog.New(slog.NewTextHandler(ts.logs, nil))
	go func() { ts.done <- serve(ctx, ln, cfg, log) }()
	t.Cleanup(func() { ts.shutdown(t) })
	resp, err := ts.client.Get(ts.url + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	return ts
}

// shutdown stops the server as SIGTERM does and waits for serve to return
// nil; it may be called more than once.
func (ts *testServer) shutdown(t *testing.T) {
	t.Helper()
	ts.stop()
	select {
	case err, ok := <-ts.done:
		if ok {
			assert.NoError(t, err, "serve")
			close(ts.done)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not return after shutdown")
	}
	ts.client.CloseIdleConnections()
}

// do sends one request and returns the status and body.
func (ts *testServer) do(method, path, contentType string, body []byte) (int, []byte, error) {
	req, err := http.NewRequest(method, ts.url+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := ts.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// errorMessage checks that body is {"error": "one non-empty line"} and
// returns the line.
func errorMessage(body []byte) (string, error) {
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		return "", fmt.Errorf("error body is not JSON: %v: %.200q", err, body)
	}
	if e.Error == "" || strings.ContainsAny(e.Error, "\r\n") {
		return "", fmt.Errorf("error message empty or not one line: %q", e.Error)
	}
	return e.Error, nil
}

// loadCase is one kind of request of the load test.
type loadCase struct {
	name        string
	path        string // with the query
	contentType string
	body        []byte
	weight      int
	// want is the status of a malformed request; 0 for a valid one, which
	// must answer expect.
	want   int
	expect *expectation
	// early: rejected before a concurrency slot is taken, so never 429.
	early bool
	// fuzzed: corrupted data that may still decode; any status below 500.
	fuzzed bool
	// withheld must not appear in the answer nor in the log.
	withheld []string
}

// TestConcurrentClients drives the server with 32 clients sending a mix of
// valid and malformed requests, and checks that it never fails: every
// valid answer equals the in-process evaluation byte for byte, every
// malformed request gets its 4xx with a one-line JSON message, the
// concurrency bound answers 429, the heap stays bounded, and shutdown
// leaves no goroutine behind.
func TestConcurrentClients(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	sample := loadCohort(t, "../../testdata/sample")
	small := sample.subset(t, 150)

	shipped, err := measures.Load(nil)
	require.NoError(t, err)
	byID := map[string]*dsl.Measure{}
	for _, m := range shipped {
		byID[m.ID()] = m
	}
	posted, err := dsl.Compile("measure.yaml", []byte(postedMeasure), measures.FS, dsl.WithAttributes(map[string]dsl.AttrKind{"county": dsl.AttrString}))
	require.NoError(t, err)
	byID[posted.ID()] = posted
	pick := func(ids ...string) []*dsl.Measure {
		var out []*dsl.Measure
		for _, id := range ids {
			out = append(out, byID[id])
		}
		return out
	}
	queries := []query{
		{raw: "", measures: shipped, strict: true},
		{raw: "?measures=cis,dental", measures: pick("cis", "dental"), strict: true},
		{raw: "?measures=dental_county,cis&year=2024", measures: pick("dental_county", "cis"), year: 2024, strict: true},
		{raw: "?measures=ima,sbirt,ed_util&race=single&strict=false", measures: pick("ima", "sbirt", "ed_util"), race: dsl.RaceSingle},
	}

	cfg := testConfig()
	ts := startServer(t, cfg)
	status, body, err := ts.do(http.MethodPost, "/v1/measures?attributes=county:string", "application/yaml", []byte(postedMeasure))
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, status, "%s", body)

	var cases []*loadCase
	// valid adds the requests of c in each of formats with each query, and
	// returns the bodies' parts by format.
	valid := func(c *cohort, weight int, formats ...[3]format) map[[3]format][3][]byte {
		encoded := map[[3]format][3][]byte{}
		for _, f := range formats {
			encoded[f] = encodeCohort(t, c, f)
		}
		for _, q := range queries {
			exp := inProcess(t, c, q)
			for _, f := range formats {
				ct, b := multipartBody(t, tableParts(encoded[f])...)
				cases = append(cases, &loadCase{name: fmt.Sprintf("valid %d members %v %q", len(c.tables[0].rows), f, q.raw),
					path: "/v1/evaluate" + q.raw, contentType: ct, body: b, weight: weight, expect: exp})
			}
		}
		return encoded
	}
	pq, st, fi := formatParquet, formatIPCStream, formatIPCFile
	smallParts := valid(small, 6, [3]format{pq, pq, pq}, [3]format{st, fi, st}, [3]format{fi, pq, st})
	fullParts := valid(sample, 1, [3]format{pq, st, pq})

	bad := func(name, path string, want int, parts ...part) *loadCase {
		ct, b := multipartBody(t, parts...)
		c := &loadCase{name: name, path: path, contentType: ct, body: b, weight: 2, want: want}
		cases = append(cases, c)
		return c
	}
	sp := smallParts[[3]format{pq, pq, pq}]
	ss := smallParts[[3]format{st, fi, st}]
	rng := rand.New(rand.NewPCG(7, 11))
	noise := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		return b
	}
	cases = append(cases,
		&loadCase{name: "garbage body", path: "/v1/evaluate", contentType: "multipart/form-data; boundary=xyz", body: noise(4000), weight: 2, want: 400},
		&loadCase{name: "not multipart", path: "/v1/evaluate", contentType: "application/json", body: []byte(`{"members": []}`), weight: 2, want: 415, early: true})
	bad("missing part", "/v1/evaluate", 400, part{"members", sp[0]}, part{"enrollment", sp[1]})
	bad("unknown part", "/v1/evaluate", 400, append(tableParts(sp), part{"claims", sp[2]})...)
	bad("part twice", "/v1/evaluate", 400, append(tableParts(sp), part{"members", sp[0]})...)
	bad("empty part", "/v1/evaluate", 400, part{"members", sp[0]}, part{"enrollment", sp[1]}, part{"events", nil})
	bad("truncated Parquet", "/v1/evaluate", 400, part{"members", sp[0]}, part{"enrollment", sp[1]}, part{"events", sp[2][:len(sp[2])/2]})
	bad("Parquet magic, garbage", "/v1/evaluate", 400, part{"members", sp[0]}, part{"enrollment", sp[1]},
		part{"events", slices.Concat([]byte("PAR1"), noise(5000), []byte("PAR1"))})
	bad("truncated IPC stream", "/v1/evaluate", 400, part{"members", ss[0]}, part{"enrollment", ss[1]}, part{"events", ss[2][:len(ss[2])/2]})
	bad("truncated IPC file", "/v1/evaluate", 400, part{"members", ss[0]}, part{"enrollment", ss[1][:len(ss[1])-100]}, part{"events", ss[2]})
	bad("IPC marker, garbage", "/v1/evaluate", 400, part{"members", ss[0]}, part{"enrollment", []byte("\xff\xff\xff\xff\x10\x00\x00\x00garbage!")}, part{"events", ss[2]})
	bad("CSV part", "/v1/evaluate", 415, part{"members", sp[0]}, part{"enrollment", sp[1]}, part{"events", csvBytes(t, small.tables[2])})
	bad("wrong columns", "/v1/evaluate", 422, part{"members", sp[2]}, part{"enrollment", sp[1]}, part{"events", sp[2]})
	endBeforeStart := cloneTable(small.tables[1])
	endBeforeStart.rows[5][1], endBeforeStart.rows[5][2] = "2024-07-19", "2024-07-11"
	bad("end before start", "/v1/evaluate", 422, part{"members", sp[0]}, part{"enrollment", encodeTable(t, endBeforeStart, pq)}, part{"events", sp[2]}).
		withheld = []string{"2024-07-19", "2024-07-11"}
	stray := cloneTable(small.tables[2])
	strayRow := slices.Clone(stray.rows[0])
	// An office visit (CPT 99213) in the measurement year: a row the
	// measures read, so that strict mode sees its unknown member (a row
	// no measure reads, such as the same visit a year earlier, is only
	// counted as unneeded).
	strayRow[0], strayRow[1] = "MX999999", "2025-02-20"
	stray.rows = append(stray.rows, strayRow)
	bad("unknown member, strict", "/v1/evaluate", 422, part{"members", sp[0]}, part{"enrollment", sp[1]}, part{"events", encodeTable(t, stray, st)})
	for _, path := range []string{"/v1/evaluate?year=20x5", "/v1/evaluate?yaer=2024", "/v1/evaluate?measures=cis,nosuch", "/v1/evaluate?strict=maybe", "/v1/evaluate?year=2024&year=2025"} {
		bad("bad query "+path, path, 400, tableParts(sp)...).early = true
	}
	bad("body over -max-body", "/v1/evaluate", 413, part{"members", slices.Concat([]byte("PAR1"), make([]byte, cfg.maxBody))}).weight = 1
	fp := fullParts[[3]format{pq, st, pq}]
	twice := cloneTable(sample.tables[2])
	twice.rows = append(twice.rows, sample.tables[2].rows...)
	bad("rows over -max-rows", "/v1/evaluate", 413, part{"members", fp[0]}, part{"enrollment", fp[1]}, part{"events", encodeTable(t, twice, pq)}).weight = 1
	// Files that crash the library's own loader (see eval's catalogue).
	crasher := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "catalogue", "crashers", name))
		require.NoError(t, err)
		return b
	}
	bad("Parquet footer that panics arrow-go", "/v1/evaluate", 400, part{"members", sp[0]}, part{"enrollment", sp[1]}, part{"events", crasher("events-footer-panic.parquet")})
	bad("Parquet page that panics pqarrow", "/v1/evaluate", 400, part{"members", sp[0]}, part{"enrollment", sp[1]}, part{"events", crasher("events-page-panic.parquet")})
	bad("IPC file that panics arrow-go", "/v1/evaluate", 400, part{"members", sp[0]}, part{"enrollment", crasher("enrollment-ipc-panic.arrow")}, part{"events", sp[2]})
	bad("IPC file that exhausts memory", "/v1/evaluate", 400, part{"members", sp[0]}, part{"enrollment", crasher("enrollment-ipc-oom.arrow")}, part{"events", sp[2]})
	for i := range 4 {
		corrupt := slices.Clone(fp[2])
		for range 16 {
			corrupt[len(corrupt)/8+rng.IntN(len(corrupt)*3/4)] = byte(rng.UintN(256))
		}
		c := bad(fmt.Sprintf("corrupted Parquet %d", i), "/v1/evaluate", 0, part{"members", fp[0]}, part{"enrollment", fp[1]}, part{"events", corrupt})
		c.fuzzed, c.weight = true, 1
	}

	var deck []*loadCase
	for _, c := range cases {
		for range c.weight {
			deck = append(deck, c)
		}
	}
	order := make([]*loadCase, loadRequests)
	for i := range order {
		order[i] = deck[rng.IntN(len(deck))]
	}

	var (
		mu        sync.Mutex
		statuses  = map[int]int{}
		byCase    = map[string]map[int]int{}
		messages  = map[string]string{} // the first error message of each case
		failures  []string
		busy      atomic.Int64
		compared  atomic.Int64
		transport atomic.Int64
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(failures) < 20 {
			failures = append(failures, fmt.Sprintf(format, args...))
		}
	}
	stopSampling := make(chan struct{})
	var maxHeap atomic.Uint64
	var sampler sync.WaitGroup
	sampler.Go(func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > maxHeap.Load() {
				maxHeap.Store(ms.HeapInuse)
			}
			select {
			case <-stopSampling:
				return
			case <-tick.C:
			}
		}
	})

	start := time.Now()
	const retryFor = 3 * time.Second
	var next atomic.Int64
	var clients sync.WaitGroup
	for w := range 32 {
		clients.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 3))
			for {
				i := int(next.Add(1) - 1)
				if i >= len(order) {
					return
				}
				c := order[i]
				var status int
				var body []byte
				first := time.Now()
				for attempt := 0; ; attempt++ {
					var err error
					status, body, err = ts.do(http.MethodPost, c.path, c.contentType, c.body)
					if err != nil {
						transport.Add(1)
						fail("%s: %v", c.name, err)
						break
					}
					if status != http.StatusTooManyRequests {
						break
					}
					busy.Add(1)
					if time.Since(first) > retryFor {
						break // a 429 is an allowed answer
					}
					time.Sleep(time.Duration(2+r.IntN(4*min(attempt+1, 5))) * time.Millisecond)
				}
				if status == 0 {
					continue
				}
				mu.Lock()
				statuses[status]++
				if byCase[c.name] == nil {
					byCase[c.name] = map[int]int{}
				}
				byCase[c.name][status]++
				if msg, err := errorMessage(body); err == nil && status != http.StatusTooManyRequests && messages[c.name] == "" {
					messages[c.name] = msg
				}
				mu.Unlock()
				if err := checkAnswer(c, status, body, &compared); err != nil {
					fail("%s: %v", c.name, err)
				}
			}
		})
	}
	clients.Wait()
	elapsed := time.Since(start)
	close(stopSampling)
	sampler.Wait()

	// Still serving, and every slot freed (a handler may release its slot
	// just after its client has the answer).
	waitFor(t, func() bool {
		status, body, err := ts.do(http.MethodGet, "/healthz", "", nil)
		return err == nil && status == http.StatusOK && bytes.Contains(body, []byte(`"running":0`))
	})

	t.Logf("%d requests by 32 clients in %s; final statuses %v; %d answers of 429 (retried for up to %s); %d valid answers equal to the in-process result; max HeapInuse %d MB",
		len(order), elapsed.Round(time.Millisecond), statuses, busy.Load(), retryFor, compared.Load(), maxHeap.Load()>>20)
	names := make([]string, 0, len(byCase))
	for n := range byCase {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		t.Logf("  %s: %v %s", n, byCase[n], messages[n])
	}
	for _, f := range failures {
		t.Error(f)
	}
	assert.Zero(t, transport.Load(), "transport errors")
	assert.Positive(t, busy.Load(), "no 429: the concurrency bound was never reached")
	assert.Positive(t, compared.Load())
	assert.Less(t, maxHeap.Load(), uint64(400<<20), "HeapInuse over 400 MB")
	logs := ts.logs.String()
	for _, c := range cases {
		for _, w := range c.withheld {
			assert.NotContains(t, logs, w, "member data in the log")
		}
	}

	ts.shutdown(t)
	goleak.VerifyNone(t, ignore)
}

// checkAnswer checks one answer of the load test.
func checkAnswer(c *loadCase, status int, body []byte, compared *atomic.Int64) error {
	for _, w := range c.withheld {
		if bytes.Contains(body, []byte(w)) {
			return fmt.Errorf("answer quotes member data %q: %s", w, body)
		}
	}
	if status == http.StatusTooManyRequests {
		if c.early {
			return fmt.Errorf("429 for a request refused before taking a slot")
		}
		_, err := errorMessage(body)
		return err
	}
	switch {
	case c.expect != nil:
		if status != http.StatusOK {
			return fmt.Errorf("status %d, want 200: %.300s", status, body)
		}
		var got struct {
			Report         json.RawMessage     `json:"report"`
			Reconciliation eval.Reconciliation `json:"reconciliation"`
		}
		if err := json.Unmarshal(body, &got); err != nil {
			return err
		}
		var canon bytes.Buffer
		if err := json.Compact(&canon, got.Report); err != nil {
			return err
		}
		if !bytes.Equal(canon.Bytes(), c.expect.report) {
			return fmt.Errorf("report differs from the in-process one:\n got %.400s\nwant %.400s", canon.Bytes(), c.expect.report)
		}
		gr, _ := json.Marshal(got.Reconciliation)
		wr, _ := json.Marshal(c.expect.reconciliation)
		if !bytes.Equal(gr, wr) {
			return fmt.Errorf("reconciliation %s, want %s", gr, wr)
		}
		compared.Add(1)
		return nil
	case c.fuzzed:
		if status >= 500 {
			return fmt.Errorf("status %d: %.300s", status, body)
		}
		if status != http.StatusOK {
			_, err := errorMessage(body)
			return err
		}
		return nil
	}
	msg, err := errorMessage(body)
	if err != nil {
		return err
	}
	if status != c.want {
		return fmt.Errorf("status %d, want %d: %s", status, c.want, msg)
	}
	return nil
}

func cloneTable(tb *table) *table {
	out := &table{header: tb.header, rows: make([][]string, len(tb.rows))}
	for i, r := range tb.rows {
		out.rows[i] = slices.Clone(r)
	}
	return out
}

func encodeTable(t *testing.T, tb *table, f format) []byte {
	rec := record(t, tb)
	defer rec.Release()
	return encode(t, f, rec)
}

func csvBytes(t *testing.T, tb *table) []byte {
	var buf bytes.Buffer
	fmt.Fprintln(&buf, strings.Join(tb.header, ","))
	for _, r := range tb.rows[:10] {
		fmt.Fprintln(&buf, strings.Join(r, ","))
	}
	return buf.Bytes()
}
