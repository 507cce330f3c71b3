package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/caremetrics/caremetrics/dsl"
	"github.com/caremetrics/caremetrics/eval"
	"github.com/caremetrics/caremetrics/examples/internal/cli"
	"github.com/caremetrics/caremetrics/metric"
)

// tables are the parts of an evaluation request, in eval.FromArrow's order.
var tables = [3]string{"members", "enrollment", "events"}

// evalQuery is the parsed query of POST /v1/evaluate.
type evalQuery struct {
	measures []*dsl.Measure
	year     int // 0: each measure's own period
	strict   bool
	race     dsl.RaceRule
}

// parseEvalQuery parses and checks the query; an unknown parameter is an
// error, so that a typo (yaer=2024) is not silently ignored.
func (s *server) parseEvalQuery(q url.Values) (evalQuery, error) {
	out := evalQuery{strict: true}
	bad := func(format string, args ...any) (evalQuery, error) {
		return evalQuery{}, &httpError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
	}
	for k, v := range q {
		switch k {
		case "measures", "year", "strict", "race":
			if len(v) > 1 {
				return bad("query parameter %s given %d times", k, len(v))
			}
		default:
			return bad("unknown query parameter %q: want measures, year, strict or race", truncate(k, 64))
		}
	}
	var err error
	if out.measures, err = s.selectMeasures(q.Get("measures")); err != nil {
		return evalQuery{}, err
	}
	if v := q.Get("year"); v != "" {
		y, err := strconv.Atoi(v)
		if err != nil || y < 1900 || y > 2200 {
			return bad("year=%q: want a year between 1900 and 2200", truncate(v, 16))
		}
		out.year = y
	}
	if v := q.Get("strict"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return bad("strict=%q: want true or false", truncate(v, 16))
		}
		out.strict = b
	}
	switch v := q.Get("race"); v {
	case "", "combination":
	case "single":
		out.race = dsl.RaceSingle
	default:
		return bad("race=%q: want combination or single", truncate(v, 16))
	}
	return out, nil
}

// evalResponse is the body of a 200 from /v1/evaluate.
type evalResponse struct {
	Report         *metric.Report      `json:"report"`
	Reconciliation eval.Reconciliation `json:"reconciliation"`
}

// evaluate answers POST /v1/evaluate. The query is checked first, then a
// concurrency slot is taken (429 without one, before the body is read),
// then the body is read within -read-timeout and -max-body, then the data
// is loaded and evaluated within -timeout.
func (s *server) evaluate(w http.ResponseWriter, r *http.Request) {
	q, err := s.parseEvalQuery(r.URL.Query())
	if err != nil {
		s.fail(w, r, asHTTP(err))
		return
	}
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		s.fail(w, r, &httpError{status: http.StatusUnsupportedMediaType, msg: "want a multipart/form-data body with the parts members, enrollment and events"})
		return
	}
	if params["boundary"] == "" {
		s.fail(w, r, &httpError{status: http.StatusBadRequest, msg: "multipart body without a boundary"})
		return
	}
	if !s.acquire() {
		s.busy(w, r)
		return
	}
	release := sync.OnceFunc(s.release)
	defer release()

	// The read deadline is lifted once the body is read: left in place it
	// would expire during a long evaluation and cancel the request.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(s.cfg.readTimeout))
	parts, err := readParts(http.MaxBytesReader(w, r.Body, s.cfg.maxBody), params["boundary"])
	_ = rc.SetReadDeadline(time.Time{})
	if err != nil {
		s.fail(w, r, s.bodyError(err, s.cfg.maxBody, r))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.timeout)
	defer cancel()
	resp, err := s.run(ctx, parts, q)
	if err != nil {
		s.fail(w, r, s.evalError(err, ctx, r.Context()))
		return
	}
	b, err := json.Marshal(resp)
	if err != nil {
		s.fail(w, r, &httpError{status: http.StatusInternalServerError, msg: "internal error: encoding the report"})
		return
	}
	release() // the data is no longer held: let the next evaluation start
	_ = rc.SetWriteDeadline(time.Now().Add(s.cfg.readTimeout))
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(append(b, '\n'))
}

// readParts reads the three parts of a multipart body into memory, in
// tables order. An unknown, repeated, empty or missing part is an error.
func readParts(body io.Reader, boundary string) ([3][]byte, error) {
	var parts [3][]byte
	var seen [3]bool
	mr := multipart.NewReader(body, boundary)
	bad := func(format string, args ...any) ([3][]byte, error) {
		return [3][]byte{}, &httpError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
	}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return [3][]byte{}, err
		}
		name := p.FormName()
		i := -1
		for j, t := range tables {
			if t == name {
				i = j
			}
		}
		switch {
		case i < 0:
			return bad("unknown part %q: want the parts members, enrollment and events", truncate(name, 64))
		case seen[i]:
			return bad("part %s given twice", name)
		}
		seen[i] = true
		var buf bytes.Buffer
		if _, err := buf.ReadFrom(p); err != nil {
			return [3][]byte{}, err
		}
		if buf.Len() == 0 {
			return bad("part %s is empty: want a Parquet file or an Arrow IPC stream or file", name)
		}
		parts[i] = buf.Bytes()
	}
	var missing []string
	for i, ok := range seen {
		if !ok {
			missing = append(missing, tables[i])
		}
	}
	switch len(missing) {
	case 0:
	case len(tables):
		return bad("no part in the multipart body: want the parts members, enrollment and events")
	case 1:
		return bad("missing part %s: want the parts members, enrollment and events", missing[0])
	default:
		return bad("missing parts %s: want the parts members, enrollment and events", strings.Join(missing, " and "))
	}
	return parts, nil
}

// run decodes the parts, loads them with the requirements of the selected
// measures and evaluates them.
func (s *server) run(ctx context.Context, parts [3][]byte, q evalQuery) (*evalResponse, error) {
	mem := &budgetAllocator{inner: memory.DefaultAllocator, limit: s.cfg.maxDecodeMem}
	rows := &rowBudget{limit: s.cfg.maxRows}
	var readers [3]array.RecordReader
	defer func() {
		for _, rr := range readers {
			if rr != nil {
				rr.Release()
			}
		}
	}()
	for i, name := range tables {
		rr, err := openPart(ctx, name, parts[i], mem, rows)
		if err != nil {
			return nil, err
		}
		readers[i] = rr
	}
	data, err := eval.FromArrow(ctx, readers[0], readers[1], readers[2], eval.WithStrict(q.strict),
		eval.WithRequirements(cli.Requirements(q.measures, q.year)), eval.WithAllocator(mem))
	if err != nil {
		return nil, err
	}
	opts := []eval.Option{eval.WithWorkers(s.cfg.evalWorkers()), eval.WithRaceRule(q.race)}
	if q.year != 0 {
		opts = append(opts, eval.WithPeriod(metric.CalendarYear(q.year)))
	}
	res, err := eval.Evaluate(ctx, data, q.measures, opts...)
	if err != nil {
		return nil, err
	}
	rec := data.Reconciliation
	for i := range rec.Files {
		rec.Files[i].File = rec.Files[i].Table // "<members>" in FromArrow's naming: the part's name
	}
	return &evalResponse{Report: res.Report, Reconciliation: rec}, nil
}
