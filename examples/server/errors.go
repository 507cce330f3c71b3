package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"

	"github.com/caremetrics/caremetrics/dsl"
	"github.com/caremetrics/caremetrics/eval"
)

// httpError is an error with the status it is answered with. msg is one
// line without member data beyond ids; compile, when set, lists a measure's
// compile errors.
type httpError struct {
	status  int
	msg     string
	compile []compileError
}

func (e *httpError) Error() string { return e.msg }

// compileError is one measure compile error in a response.
type compileError struct {
	Pos     string `json:"pos"` // file:line:col
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Col     int    `json:"col,omitempty"`
	Path    string `json:"path,omitempty"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// errorBody is the JSON of every error response.
type errorBody struct {
	Error  string         `json:"error"`
	Errors []compileError `json:"errors,omitempty"`
}

// statusClientClosed is logged (never sent) when the client went away
// before the answer, as nginx does.
const statusClientClosed = 499

// fail answers err and keeps its message for the request's log line.
func (s *server) fail(w http.ResponseWriter, r *http.Request, err *httpError) {
	if sw, ok := w.(*statusWriter); ok {
		sw.errMsg = err.msg
		if err.status == statusClientClosed {
			sw.status = statusClientClosed
			return
		}
	}
	writeError(w, err)
}

func writeError(w http.ResponseWriter, err *httpError) {
	writeJSON(w, err.status, errorBody{Error: err.msg, Errors: err.compile})
}

// writeJSON answers v as JSON with the status code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"error":"internal error: encoding the response"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}

// bodyError classifies an error reading the body of r. A read deadline
// also cancels r's context, so the deadline is told first.
func (s *server) bodyError(err error, limit int64, r *http.Request) *httpError {
	var he *httpError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return &httpError{status: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf("request body larger than %d bytes (the server's limit)", limit)}
	case errors.Is(err, os.ErrDeadlineExceeded):
		return &httpError{status: http.StatusRequestTimeout, msg: fmt.Sprintf("request body not read within %s", s.cfg.readTimeout)}
	case r.Context().Err() != nil && s.draining.Load():
		return &httpError{status: http.StatusServiceUnavailable, msg: "cancelled: the server is shutting down"}
	case errors.As(err, &he):
		return he
	}
	return &httpError{status: http.StatusBadRequest, msg: "malformed request body: " + scrub(err.Error())}
}

// evalError classifies an error of loading or evaluating: ctx is the
// request's context with the evaluation timeout, client the request's own.
// A passed deadline or a gone client comes first: a decoder stopped by
// the context reports it in its own words.
func (s *server) evalError(err error, ctx, client context.Context) *httpError {
	var he *httpError
	var rl *rowLimitError
	var bud *budgetError
	var bad *decodeError
	var de *eval.DataError
	switch {
	case client.Err() != nil || errors.Is(err, context.Canceled):
		if s.draining.Load() {
			return &httpError{status: http.StatusServiceUnavailable, msg: "cancelled: the server is shutting down"}
		}
		return &httpError{status: statusClientClosed, msg: "client closed the request"}
	case ctx.Err() != nil:
		return &httpError{status: http.StatusGatewayTimeout, msg: fmt.Sprintf("loading and evaluating took longer than %s (the server's timeout)", s.cfg.timeout)}
	case errors.As(err, &he):
		return he
	case errors.As(err, &rl):
		return &httpError{status: http.StatusRequestEntityTooLarge, msg: rl.Error()}
	case errors.As(err, &bud):
		return &httpError{status: http.StatusRequestEntityTooLarge, msg: bud.Error()}
	case errors.As(err, &bad):
		return &httpError{status: http.StatusBadRequest, msg: bad.Error()}
	case errors.As(err, &de):
		return dataError(de)
	}
	// Errors of binding and evaluation (a posted measure's attribute the
	// data lacks, an expression failing on a member) name the measure and
	// member: the data does not suit the measures.
	return &httpError{status: http.StatusUnprocessableEntity, msg: scrub(err.Error())}
}

// dataError answers a load error of the library: 400 when a part cannot be
// decoded at all, 422 when it decodes to data the library rejects.
func dataError(de *eval.DataError) *httpError {
	var b strings.Builder
	b.WriteString("part ")
	b.WriteString(de.Table)
	b.WriteString(": ")
	if de.Row > 0 {
		fmt.Fprintf(&b, "row %d: ", de.Row)
	}
	if de.Column != "" {
		fmt.Fprintf(&b, "column %s: ", de.Column)
	}
	msg := de.Msg
	if de.Column != "member_id" { // messages about member ids may quote ids
		msg = scrub(msg)
	}
	b.WriteString(oneLine(msg))
	status := http.StatusUnprocessableEntity
	if de.Unwrap() != nil {
		status = http.StatusBadRequest
	}
	return &httpError{status: status, msg: b.String()}
}

// compileErrors answers a measure's compile errors: 422 with each error's
// position.
func compileErrors(err error) *httpError {
	var list dsl.ErrorList
	if !errors.As(err, &list) || len(list) == 0 {
		return &httpError{status: http.StatusUnprocessableEntity, msg: oneLine(err.Error())}
	}
	out := make([]compileError, len(list))
	for i, e := range list {
		out[i] = compileError{Pos: e.Pos.String(), File: e.Pos.File, Line: e.Pos.Line, Col: e.Pos.Col, Path: e.Path, Code: string(e.Code), Message: e.Msg}
	}
	msg := list[0].Error()
	if len(list) > 1 {
		msg += fmt.Sprintf(" (and %d more errors)", len(list)-1)
	}
	return &httpError{status: http.StatusUnprocessableEntity, msg: oneLine(msg), compile: out}
}

var (
	quoted  = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	isoDate = regexp.MustCompile(`\b\d{4}-\d{2}-\d{2}(?:[T ][0-9:.]+Z?)?\b`)
)

// scrub withholds the member data a library message may quote: quoted
// values (a cell that is not a date, a benefit, a code) and dates (of
// birth, of service).
func scrub(msg string) string {
	msg = quoted.ReplaceAllString(msg, "(value withheld)")
	msg = isoDate.ReplaceAllString(msg, "(date withheld)")
	return oneLine(msg)
}

// oneLine joins the lines of a multi-line message.
func oneLine(msg string) string {
	if !strings.ContainsAny(msg, "\r\n") {
		return msg
	}
	return strings.Join(strings.FieldsFunc(msg, func(r rune) bool { return r == '\n' || r == '\r' }), "; ")
}
