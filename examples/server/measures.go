package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"mime/multipart"
	"net/http"
	"path"
	"slices"
	"strings"
	"sync"
	"testing/fstest"
	"time"

	"github.com/caremetrics/caremetrics/dsl"
	"github.com/caremetrics/caremetrics/measures"
)

// store holds the posted measures, compiled, in memory only. Safe for
// concurrent use; a measure is immutable once stored, so an evaluation
// keeps the one it selected even when it is replaced or deleted meanwhile.
type store struct {
	mu    sync.RWMutex
	byID  map[string]*dsl.Measure
	limit int
}

func newStore(limit int) *store { return &store{byID: map[string]*dsl.Measure{}, limit: limit} }

func (s *store) len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.byID)
}

func (s *store) get(id string) (*dsl.Measure, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	m, ok := s.byID[id]
	return m, ok
}

// put stores m, replacing a posted measure of the same id; it reports
// whether one was replaced.
func (s *store) put(m *dsl.Measure) (replaced bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, replaced = s.byID[m.ID()]
	if !replaced && len(s.byID) >= s.limit {
		return false, &httpError{status: http.StatusConflict,
			msg: fmt.Sprintf("already %d posted measures (the server's limit): delete one with DELETE /v1/measures/{id}", s.limit)}
	}
	s.byID[m.ID()] = m
	return replaced, nil
}

func (s *store) delete(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.byID[id]
	delete(s.byID, id)
	return ok
}

// all returns the posted measures by id.
func (s *store) all() []*dsl.Measure {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*dsl.Measure, 0, len(s.byID))
	for _, m := range s.byID {
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b *dsl.Measure) int { return strings.Compare(a.ID(), b.ID()) })
	return out
}

// selectMeasures resolves the measures query parameter: empty or "all"
// for every shipped measure, else ids of shipped or posted measures, in
// the order given.
func (s *server) selectMeasures(list string) ([]*dsl.Measure, error) {
	if list == "" || list == "all" {
		return s.shipped, nil
	}
	var out []*dsl.Measure
	seen := map[string]bool{}
	for _, id := range strings.Split(list, ",") {
		id = strings.TrimSpace(id)
		if id == "" {
			continue
		}
		if seen[id] {
			return nil, &httpError{status: http.StatusBadRequest, msg: fmt.Sprintf("measures: %q is named twice", id)}
		}
		seen[id] = true
		m, ok := s.byID[id]
		if !ok {
			m, ok = s.posted.get(id)
		}
		if !ok {
			return nil, &httpError{status: http.StatusBadRequest, msg: fmt.Sprintf("measures: unknown measure %q (shipped: %s; posted: see GET /v1/measures)",
				truncate(id, 64), strings.Join(measures.IDs(), ", "))}
		}
		out = append(out, m)
	}
	if len(out) == 0 {
		return nil, &httpError{status: http.StatusBadRequest, msg: "measures: no measure named"}
	}
	return out, nil
}

// measureInfo describes a measure in responses.
type measureInfo struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Version     string   `json:"version,omitempty"`
	Scoring     string   `json:"scoring"`
	Basis       string   `json:"basis"`
	Groups      []string `json:"groups"`
	Stratifiers []string `json:"stratifiers"`
	Attributes  []string `json:"attributes,omitempty"`
	Posted      bool     `json:"posted"`
	Replaced    bool     `json:"replaced,omitempty"`
}

func infoOf(m *dsl.Measure, posted bool) measureInfo {
	return measureInfo{ID: m.ID(), Title: m.Title(), Version: m.Version(), Scoring: m.Scoring(), Basis: m.Basis(),
		Groups: m.GroupIDs(), Stratifiers: m.StratifierIDs(), Attributes: m.Attributes(), Posted: posted}
}

// listMeasures answers GET /v1/measures.
func (s *server) listMeasures(w http.ResponseWriter, r *http.Request) {
	var out []measureInfo
	for _, m := range s.shipped {
		out = append(out, infoOf(m, false))
	}
	for _, m := range s.posted.all() {
		out = append(out, infoOf(m, true))
	}
	writeJSON(w, http.StatusOK, map[string]any{"measures": out})
}

// deleteMeasure answers DELETE /v1/measures/{id}.
func (s *server) deleteMeasure(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, ok := s.byID[id]; ok {
		s.fail(w, r, &httpError{status: http.StatusConflict, msg: fmt.Sprintf("measure %q is shipped, not posted", id)})
		return
	}
	if !s.posted.delete(id) {
		s.fail(w, r, &httpError{status: http.StatusNotFound, msg: fmt.Sprintf("no posted measure %q", truncate(id, 64))})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// postMeasure answers POST /v1/measures: it compiles the measure in the
// body against an in-memory file system of the posted files over the
// shipped value sets and libraries (measures.FS), so that a posted measure
// may name valuesets/dental.yaml; value-set and library paths cannot leave
// that file system (dsl rejects "..", absolute paths and backslashes, and
// neither file system reaches the disk).
func (s *server) postMeasure(w http.ResponseWriter, r *http.Request) {
	attrs, err := measureQuery(r)
	if err != nil {
		s.fail(w, r, asHTTP(err))
		return
	}
	if !s.acquire() {
		s.busy(w, r)
		return
	}
	defer s.release()
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(s.cfg.readTimeout))
	body := http.MaxBytesReader(w, r.Body, s.cfg.maxMeasureBody)
	name, files, err := readMeasureBody(r, body)
	_ = rc.SetReadDeadline(time.Time{})
	if err != nil {
		s.fail(w, r, s.bodyError(err, s.cfg.maxMeasureBody, r))
		return
	}
	fsys := overlay{top: files, base: measures.FS}
	m, err := dsl.Compile(name, files[name].Data, fsys, dsl.WithAttributes(attrs))
	if err != nil {
		s.fail(w, r, compileErrors(err))
		return
	}
	if _, ok := s.byID[m.ID()]; ok {
		s.fail(w, r, &httpError{status: http.StatusConflict, msg: fmt.Sprintf("measure id %q is a shipped measure: choose another id", m.ID())})
		return
	}
	replaced, err := s.posted.put(m)
	if err != nil {
		s.fail(w, r, asHTTP(err))
		return
	}
	info := infoOf(m, true)
	info.Replaced = replaced
	writeJSON(w, http.StatusCreated, info)
}

// measureQuery parses the query of POST /v1/measures: attributes, a comma
// list of name:kind declaring the data's extra member columns.
func measureQuery(r *http.Request) (map[string]dsl.AttrKind, error) {
	q := r.URL.Query()
	for k := range q {
		if k != "attributes" {
			return nil, &httpError{status: http.StatusBadRequest, msg: fmt.Sprintf("unknown query parameter %q: want attributes", truncate(k, 64))}
		}
	}
	attrs := map[string]dsl.AttrKind{}
	kinds := map[string]dsl.AttrKind{"string": dsl.AttrString, "float": dsl.AttrFloat, "int": dsl.AttrInt,
		"bool": dsl.AttrBool, "date": dsl.AttrDate, "strings": dsl.AttrStrings}
	for _, v := range q["attributes"] {
		for _, item := range strings.Split(v, ",") {
			if item = strings.TrimSpace(item); item == "" {
				continue
			}
			name, kind, ok := strings.Cut(item, ":")
			k, known := kinds[kind]
			if !ok || name == "" || !known {
				return nil, &httpError{status: http.StatusBadRequest, msg: fmt.Sprintf("attributes: %q: want name:kind with kind string, float, int, bool, date or strings", truncate(item, 64))}
			}
			attrs[name] = k
		}
	}
	return attrs, nil
}

// readMeasureBody reads a measure: the body itself (named measure.yaml),
// or multipart with the part "measure" (named by its file name when it has
// one) and value-set or library files in parts named by their path.
func readMeasureBody(r *http.Request, body io.Reader) (string, fstest.MapFS, error) {
	files := fstest.MapFS{}
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		src, err := io.ReadAll(body)
		if err != nil {
			return "", nil, err
		}
		if len(src) == 0 {
			return "", nil, &httpError{status: http.StatusBadRequest, msg: "empty body: post a measure's YAML"}
		}
		files["measure.yaml"] = &fstest.MapFile{Data: src}
		return "measure.yaml", files, nil
	}
	if params["boundary"] == "" {
		return "", nil, &httpError{status: http.StatusBadRequest, msg: "multipart body without a boundary"}
	}
	mr := multipart.NewReader(body, params["boundary"])
	name := ""
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", nil, err
		}
		form := p.FormName()
		file := form
		if form == "measure" {
			if name != "" {
				return "", nil, &httpError{status: http.StatusBadRequest, msg: "part measure given twice"}
			}
			file = "measure.yaml"
			if fn := p.FileName(); fn != "" {
				file = path.Base(fn)
			}
			name = file
		}
		if msg := badPath(file); msg != "" {
			return "", nil, &httpError{status: http.StatusBadRequest, msg: fmt.Sprintf("part %q: %s", truncate(form, 64), msg)}
		}
		if files[file] != nil {
			return "", nil, &httpError{status: http.StatusBadRequest, msg: fmt.Sprintf("file %q given twice", file)}
		}
		data, err := io.ReadAll(p)
		if err != nil {
			return "", nil, err
		}
		files[file] = &fstest.MapFile{Data: data}
	}
	if name == "" {
		return "", nil, &httpError{status: http.StatusBadRequest, msg: "missing part measure: want the measure YAML in a part named measure"}
	}
	return name, files, nil
}

// badPath checks the path of a posted file: relative, clean, inside the
// posted file system, a YAML or CSV file.
func badPath(p string) string {
	switch ext := path.Ext(p); {
	case !fs.ValidPath(p) || p == "." || strings.Contains(p, `\`):
		return "want a relative path such as valuesets/mine.yaml"
	case ext != ".yaml" && ext != ".yml" && ext != ".csv":
		return "want the measure in the part measure, and value sets or libraries in parts named by their path, ending in .yaml, .yml or .csv"
	}
	return ""
}

// overlay reads a file from top, or from base when top has none.
type overlay struct{ top, base fs.FS }

func (o overlay) Open(name string) (fs.File, error) {
	f, err := o.top.Open(name)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return f, err
	}
	return o.base.Open(name)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func asHTTP(err error) *httpError {
	var he *httpError
	if errors.As(err, &he) {
		return he
	}
	return &httpError{status: http.StatusInternalServerError, msg: "internal error"}
}
