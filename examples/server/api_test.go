package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/caremetrics/caremetrics/eval"
)

// smallBody is a valid evaluation body: the first 40 members of the
// sample as Parquet.
func smallBody(t *testing.T) (string, []byte) {
	c := loadCohort(t, "../../testdata/sample").subset(t, 40)
	return multipartBody(t, tableParts(encodeCohort(t, c, [3]format{formatParquet, formatParquet, formatParquet}))...)
}

// compileAnswer is the body of a 422 from /v1/measures.
type compileAnswer struct {
	Error  string         `json:"error"`
	Errors []compileError `json:"errors"`
}

func TestMeasures(t *testing.T) {
	checkLeaks(t)
	cfg := testConfig()
	cfg.maxMeasures = 3
	cfg.maxMeasureBody = 4 << 10
	ts := startServer(t, cfg)
	post := func(path, ct string, body []byte) (int, []byte) {
		t.Helper()
		status, b, err := ts.do(http.MethodPost, path, ct, body)
		require.NoError(t, err)
		return status, b
	}

	status, body := post("/v1/measures?attributes=county:string", "application/yaml", []byte(postedMeasure))
	require.Equal(t, http.StatusCreated, status, "%s", body)
	var info measureInfo
	require.NoError(t, json.Unmarshal(body, &info))
	assert.Equal(t, measureInfo{ID: "dental_county", Title: "Preventive dental services by county", Version: "1", Scoring: "proportion",
		Basis: "member", Groups: []string{"total"}, Stratifiers: []string{"county"}, Attributes: []string{"county"}, Posted: true}, info)
	status, body = post("/v1/measures?attributes=county:string", "application/yaml", []byte(postedMeasure))
	require.Equal(t, http.StatusCreated, status)
	assert.Contains(t, string(body), `"replaced":true`)

	t.Run("compile errors with positions", func(t *testing.T) {
		src := strings.Replace(postedMeasure, "age >= 1", "agee >= 1", 1)
		status, body := post("/v1/measures", "application/yaml", []byte(src))
		require.Equal(t, http.StatusUnprocessableEntity, status)
		var ans compileAnswer
		require.NoError(t, json.Unmarshal(body, &ans))
		require.Len(t, ans.Errors, 2) // agee, and county undeclared
		assert.Equal(t, compileError{Pos: "measure.yaml:11:25", File: "measure.yaml", Line: 11, Col: 25, Path: "groups.total.initial_population",
			Code: "unknown-name", Message: "unknown name agee (did you mean age?)"}, ans.Errors[0])
		assert.Equal(t, "measure.yaml:11:25: groups.total.initial_population: unknown name agee (did you mean age?) (and 1 more errors)", ans.Error)
	})
	t.Run("value-set paths cannot escape", func(t *testing.T) {
		for _, p := range []string{"../../../etc/passwd", "/etc/passwd", `..\x.yaml`} {
			src := strings.Replace(postedMeasure, "valuesets/dental.yaml", p, 1)
			status, body := post("/v1/measures?attributes=county:string", "application/yaml", []byte(src))
			require.Equal(t, http.StatusUnprocessableEntity, status, p)
			var ans compileAnswer
			require.NoError(t, json.Unmarshal(body, &ans))
			assert.Equal(t, "invalid", ans.Errors[0].Code, p)
			assert.Equal(t, 5, ans.Errors[0].Line, p)
		}
	})
	t.Run("multipart with its own value set", func(t *testing.T) {
		src := strings.Replace(postedMeasure, "valuesets/dental.yaml", "vs/fluoride.yaml", 1)
		src = strings.Replace(src, "id: dental_county", "id: fluoride", 1)
		src = strings.Replace(src, `events("Dental Preventive Services")`, `events("Fluoride")`, 1)
		vs := "valuesets:\n  - name: Fluoride\n    codes:\n      CPT: [\"99188\"]\n      CDT: [\"D1206\", \"D1208\"]\n"
		ct, body := measureMultipart(t, map[string]string{"measure": src, "vs/fluoride.yaml": vs})
		status, ans := post("/v1/measures?attributes=county:string", ct, body)
		require.Equal(t, http.StatusCreated, status, "%s", ans)
		ct, body = measureMultipart(t, map[string]string{"measure": src, "../fluoride.yaml": vs})
		status, ans = post("/v1/measures", ct, body)
		require.Equal(t, http.StatusBadRequest, status, "%s", ans)
		assert.Contains(t, string(ans), `part \"../fluoride.yaml\": want a relative path`)
	})
	t.Run("refusals", func(t *testing.T) {
		for _, c := range []struct {
			path, body string
			want       int
			msg        string
		}{
			{"/v1/measures?attributes=county:string", strings.Replace(postedMeasure, "id: dental_county", "id: cis", 1), 409, "shipped measure"},
			{"/v1/measures?attributes=county:blob", postedMeasure, 400, "want name:kind"},
			{"/v1/measures?attribute=county:string", postedMeasure, 400, "unknown query parameter"},
			{"/v1/measures", "", 400, "empty body"},
			{"/v1/measures", strings.Repeat("#", 5<<10), 413, "larger than 4096 bytes"},
			{"/v1/measures", "id: [", 422, "measure.yaml:1"},
		} {
			status, body := post(c.path, "application/yaml", []byte(c.body))
			assert.Equal(t, c.want, status, "%s %.40q: %s", c.path, c.body, body)
			msg, err := errorMessage(body)
			require.NoError(t, err)
			assert.Contains(t, msg, c.msg)
		}
	})
	t.Run("store full", func(t *testing.T) {
		src := strings.Replace(postedMeasure, "id: dental_county", "id: third", 1)
		status, body := post("/v1/measures?attributes=county:string", "application/yaml", []byte(src))
		require.Equal(t, http.StatusCreated, status, "%s", body)
		src = strings.Replace(postedMeasure, "id: dental_county", "id: fourth", 1)
		status, body = post("/v1/measures?attributes=county:string", "application/yaml", []byte(src))
		require.Equal(t, http.StatusConflict, status, "%s", body)
		assert.Contains(t, string(body), "already 3 posted measures")
	})
	t.Run("list and delete", func(t *testing.T) {
		status, body, err := ts.do(http.MethodGet, "/v1/measures", "", nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status)
		var list struct{ Measures []measureInfo }
		require.NoError(t, json.Unmarshal(body, &list))
		var ids []string
		for _, m := range list.Measures {
			ids = append(ids, m.ID)
		}
		assert.Equal(t, []string{"cis", "cms117", "cms2", "cms74", "dental", "dsf", "ed_util", "ima", "lang_access", "sbirt", "sdoh",
			"dental_county", "fluoride", "third"}, ids)
		for _, c := range []struct {
			id   string
			want int
		}{{"third", 204}, {"third", 404}, {"cis", 409}} {
			status, _, err := ts.do(http.MethodDelete, "/v1/measures/"+c.id, "", nil)
			require.NoError(t, err)
			assert.Equal(t, c.want, status, c.id)
		}
	})
	t.Run("an attribute the data lacks", func(t *testing.T) {
		src := strings.Replace(postedMeasure, "id: dental_county", "id: by_zip", 1)
		src = strings.Replace(src, "county: county", "zip: zip", 1)
		status, body := post("/v1/measures?attributes=zip:string", "application/yaml", []byte(src))
		require.Equal(t, http.StatusCreated, status, "%s", body)
		ct, eb := smallBody(t)
		status, body, err := ts.do(http.MethodPost, "/v1/evaluate?measures=by_zip", ct, eb)
		require.NoError(t, err)
		assert.Equal(t, http.StatusUnprocessableEntity, status, "%s", body)
		msg, err := errorMessage(body)
		require.NoError(t, err)
		assert.Contains(t, msg, "zip")
	})
}

// measureMultipart is a /v1/measures body with the given parts.
func measureMultipart(t *testing.T, parts map[string]string) (string, []byte) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for name, data := range parts {
		pw, err := w.CreateFormField(name)
		require.NoError(t, err)
		_, err = io.WriteString(pw, data)
		require.NoError(t, err)
	}
	require.NoError(t, w.Close())
	return w.FormDataContentType(), buf.Bytes()
}

// TestStrictFalse keeps an event of a member not in the members table
// aside, counted in the reconciliation, instead of failing.
func TestStrictFalse(t *testing.T) {
	c := loadCohort(t, "../../testdata/sample").subset(t, 40)
	stray := cloneTable(c.tables[2])
	i := slices.IndexFunc(stray.rows, func(r []string) bool { return r[3] == "CVX" }) // needed by cis
	row := slices.Clone(stray.rows[i])
	row[0] = "MX999999"
	stray.rows = append(stray.rows, row)
	data := encodeCohort(t, c, [3]format{formatParquet, formatIPCStream, formatIPCFile})
	data[2] = encodeTable(t, stray, formatIPCFile)
	ct, body := multipartBody(t, tableParts(data)...)
	ts := startServer(t, testConfig())

	status, ans, err := ts.do(http.MethodPost, "/v1/evaluate?measures=cis", ct, body)
	require.NoError(t, err)
	require.Equal(t, http.StatusUnprocessableEntity, status)
	msg, err := errorMessage(ans)
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprintf(`part events: row %d: column member_id: member "MX999999" is not in members (1 row set aside in strict mode)`, len(stray.rows)), msg)

	status, ans, err = ts.do(http.MethodPost, "/v1/evaluate?measures=cis&strict=false", ct, body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status, "%s", ans)
	var got evalResponse
	require.NoError(t, json.Unmarshal(ans, &got))
	require.Len(t, got.Reconciliation.SetAside, 1)
	assert.Equal(t, eval.SetAside{Table: "events", Reason: "member_id not in members", Rows: 1, Examples: []string{"MX999999"}}, got.Reconciliation.SetAside[0])
	assert.Equal(t, []eval.FileCount{{Table: "members", File: "members", Rows: 40}, {Table: "enrollment", File: "enrollment", Rows: int64(len(c.tables[1].rows))},
		{Table: "events", File: "events", Rows: int64(len(stray.rows))}}, got.Reconciliation.Files)
}

// TestLimits reaches the evaluation timeout, the body read timeout and
// the decoding memory budget.
func TestLimits(t *testing.T) {
	checkLeaks(t)
	ct, body := smallBody(t)
	t.Run("timeout", func(t *testing.T) {
		cfg := testConfig()
		cfg.timeout = time.Microsecond
		ts := startServer(t, cfg)
		status, ans, err := ts.do(http.MethodPost, "/v1/evaluate", ct, body)
		require.NoError(t, err)
		assert.Equal(t, http.StatusGatewayTimeout, status)
		msg, err := errorMessage(ans)
		require.NoError(t, err)
		assert.Equal(t, "loading and evaluating took longer than 1µs (the server's timeout)", msg)
	})
	t.Run("read timeout", func(t *testing.T) {
		cfg := testConfig()
		cfg.readTimeout = 300 * time.Millisecond
		ts := startServer(t, cfg)
		pr, pw := io.Pipe()
		defer pw.Close()
		go func() { _, _ = pw.Write(body[:len(body)/2]) }() // then stall
		req, err := http.NewRequest(http.MethodPost, ts.url+"/v1/evaluate", pr)
		require.NoError(t, err)
		req.Header.Set("Content-Type", ct)
		resp, err := ts.client.Do(req)
		require.NoError(t, err)
		ans, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusRequestTimeout, resp.StatusCode, "%s", ans)
		msg, err := errorMessage(ans)
		require.NoError(t, err)
		assert.Equal(t, "request body not read within 300ms", msg)
	})
	t.Run("decoding memory", func(t *testing.T) {
		cfg := testConfig()
		cfg.maxDecodeMem = 16 << 10
		ts := startServer(t, cfg)
		status, ans, err := ts.do(http.MethodPost, "/v1/evaluate", ct, body)
		require.NoError(t, err)
		assert.Equal(t, http.StatusRequestEntityTooLarge, status, "%s", ans)
		msg, err := errorMessage(ans)
		require.NoError(t, err)
		assert.Contains(t, msg, "decoding needs more than 16384 bytes of memory at once")
	})
}

// TestShutdown lets a request that is running when shutdown begins
// finish, refuses new connections, and returns nil.
func TestShutdown(t *testing.T) {
	checkLeaks(t)
	ct, body := smallBody(t)
	ts := startServer(t, testConfig())
	pr, pw := io.Pipe()
	type answer struct {
		status int
		body   []byte
		err    error
	}
	done := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, ts.url+"/v1/evaluate?measures=dental", pr)
		req.Header.Set("Content-Type", ct)
		resp, err := ts.client.Do(req)
		if err != nil {
			done <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		done <- answer{resp.StatusCode, b, err}
	}()
	_, err := pw.Write(body[:len(body)/2])
	require.NoError(t, err)
	waitFor(t, func() bool { // the request holds its slot
		_, b, err := ts.do(http.MethodGet, "/healthz", "", nil)
		return err == nil && bytes.Contains(b, []byte(`"running":1`))
	})
	ts.stop()
	addr := strings.TrimPrefix(ts.url, "http://")
	waitFor(t, func() bool { // the listener is closed
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	_, err = pw.Write(body[len(body)/2:])
	require.NoError(t, err)
	require.NoError(t, pw.Close())
	a := <-done
	require.NoError(t, a.err)
	assert.Equal(t, http.StatusOK, a.status, "%s", a.body)
	assert.Contains(t, string(a.body), `"id":"dental"`)
	select {
	case err := <-ts.done:
		assert.NoError(t, err)
		close(ts.done)
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not return")
	}
	ts.client.CloseIdleConnections()
}

// TestDrainTimeout cancels a request still running when the drain time is
// up, and says so.
func TestDrainTimeout(t *testing.T) {
	checkLeaks(t)
	ct, body := smallBody(t)
	cfg := testConfig()
	cfg.drain = 200 * time.Millisecond
	ts := startServer(t, cfg)
	pr, pw := io.Pipe()
	defer pw.Close()
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, ts.url+"/v1/evaluate", pr)
		req.Header.Set("Content-Type", ct)
		resp, err := ts.client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		done <- err
	}()
	_, err := pw.Write(body[:len(body)/2]) // and never the rest
	require.NoError(t, err)
	waitFor(t, func() bool {
		_, b, err := ts.do(http.MethodGet, "/healthz", "", nil)
		return err == nil && bytes.Contains(b, []byte(`"running":1`))
	})
	ts.stop()
	select {
	case err := <-ts.done:
		require.Error(t, err)
		assert.Equal(t, "shutdown: 1 requests still running after 200ms were cancelled", err.Error())
		close(ts.done)
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not return")
	}
	pw.Close()
	<-done
	ts.client.CloseIdleConnections()
	assert.Contains(t, ts.logs.String(), `path=/v1/evaluate status=503`)
}

// TestDraining answers 503, and /healthz says draining, once shutdown has
// begun.
func TestDraining(t *testing.T) {
	s, err := newServer(testConfig(), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	s.draining.Store(true)
	h := s.routes()
	for _, path := range []string{"/v1/evaluate", "/healthz"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, nil))
		if path == "/healthz" {
			rec = httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		}
		assert.Equal(t, http.StatusServiceUnavailable, rec.Code, path)
		assert.Equal(t, "application/json", rec.Header().Get("Content-Type"), path)
	}
}

// TestRoutes answers unknown paths and wrong methods in JSON too.
func TestRoutes(t *testing.T) {
	s, err := newServer(testConfig(), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	h := s.routes()
	for _, c := range []struct {
		method, path string
		want         int
		msg          string
	}{
		{http.MethodGet, "/v1/evaluate", 405, "method GET not allowed: use POST"},
		{http.MethodPut, "/v1/measures", 405, "method PUT not allowed: use GET, POST"},
		{http.MethodGet, "/v2/evaluate", 404, "no endpoint /v2/evaluate: see /v1/evaluate, /v1/measures and /healthz"},
		{http.MethodPost, "/v1/evaluate", 415, "want a multipart/form-data body with the parts members, enrollment and events"},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, nil))
		assert.Equal(t, c.want, rec.Code, c.path)
		msg, err := errorMessage(rec.Body.Bytes())
		require.NoError(t, err)
		assert.Equal(t, c.msg, msg)
	}
}

// TestDataErrorMessages withholds member data from library messages but
// keeps member ids, rows and columns.
func TestDataErrorMessages(t *testing.T) {
	for _, c := range []struct {
		err  *eval.DataError
		want string
	}{
		{&eval.DataError{Table: "enrollment", Column: "end_date", Row: 6, Msg: "end 2024-07-11 is before start 2024-07-19"},
			"part enrollment: row 6: column end_date: end (date withheld) is before start (date withheld)"},
		{&eval.DataError{Table: "members", Column: "birth_date", Row: 2, Msg: `invalid date "1999-02-30": no such day`},
			"part members: row 2: column birth_date: invalid date (value withheld): no such day"},
		{&eval.DataError{Table: "members", Column: "member_id", Row: 9, Msg: `duplicate member id "M0000001" (first row 1)`},
			`part members: row 9: column member_id: duplicate member id "M0000001" (first row 1)`},
		{&eval.DataError{Table: "events", Column: "code", Msg: "type int64, want text"},
			"part events: column code: type int64, want text"},
	} {
		got := dataError(c.err)
		assert.Equal(t, c.want, got.msg)
		assert.Equal(t, http.StatusUnprocessableEntity, got.status)
	}
}

// TestFlags checks -h, a bad flag and a bad limit.
func TestFlags(t *testing.T) {
	var out bytes.Buffer
	assert.Equal(t, 0, run([]string{"-h"}, &out))
	assert.Contains(t, out.String(), "example:\n  go run ./examples/server")
	assert.Contains(t, out.String(), "-max-concurrent")
	out.Reset()
	assert.Equal(t, 2, run([]string{"-nosuch"}, &out))
	out.Reset()
	assert.Equal(t, 2, run([]string{"-max-concurrent", "0"}, &out))
	assert.Equal(t, "server: -max-concurrent must be at least 1\n", out.String())
}

// checkLeaks checks, after the test and its cleanups (servers stopped),
// that no goroutine started during the test is left.
func checkLeaks(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
