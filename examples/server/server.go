package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/caremetrics/caremetrics/dsl"
	"github.com/caremetrics/caremetrics/measures"
)

// server is the HTTP service. Its shipped measures are compiled once and
// shared read-only by every request; the store of posted measures has its
// own lock.
type server struct {
	cfg     config
	log     *slog.Logger
	shipped []*dsl.Measure
	byID    map[string]*dsl.Measure // the shipped measures by id
	posted  *store
	// slots bounds the evaluations and compilations running at once: a
	// request takes a slot without waiting, or gets 429.
	slots    chan struct{}
	draining atomic.Bool
	// handlers counts the requests being handled, so that serve returns
	// only once every handler has.
	handlers atomic.Int64
}

// newServer compiles the shipped measures.
func newServer(cfg config, log *slog.Logger) (*server, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	ms, err := measures.Load(nil)
	if err != nil {
		return nil, fmt.Errorf("compiling the shipped measures: %w", err)
	}
	s := &server{cfg: cfg, log: log, shipped: ms, byID: map[string]*dsl.Measure{},
		posted: newStore(cfg.maxMeasures), slots: make(chan struct{}, cfg.maxConcurrent)}
	for _, m := range ms {
		s.byID[m.ID()] = m
	}
	return s, nil
}

// serve answers on ln until ctx is done, then shuts down gracefully: new
// connections are refused and requests still arriving get 503, running
// ones have cfg.drain to finish before their contexts are cancelled. It
// returns nil after a clean shutdown.
func serve(ctx context.Context, ln net.Listener, cfg config, log *slog.Logger) error {
	s, err := newServer(cfg, log)
	if err != nil {
		ln.Close()
		return err
	}
	// Request contexts derive from base, so that cancelling it aborts the
	// evaluations still running when the drain time is up.
	base, abort := context.WithCancel(context.Background())
	defer abort()
	srv := &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return base },
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("serving", "addr", ln.Addr().String(), "measures", len(s.shipped), "max_concurrent", cfg.maxConcurrent,
		"workers", cfg.evalWorkers(), "max_body", cfg.maxBody, "timeout", cfg.timeout.String())
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	s.draining.Store(true)
	log.Info("shutting down", "running", len(s.slots), "drain", cfg.drain.String())
	dctx, cancel := context.WithTimeout(context.Background(), cfg.drain)
	defer cancel()
	err = srv.Shutdown(dctx)
	if err != nil {
		running := len(s.slots)
		abort()
		_ = srv.Close()
		err = fmt.Errorf("shutdown: %d requests still running after %s were cancelled", running, cfg.drain)
	}
	if serr := <-served; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return serr
	}
	// Close does not wait for handlers; their contexts are cancelled and
	// their connections closed, so they end soon.
	for s.handlers.Load() > 0 {
		time.Sleep(5 * time.Millisecond)
	}
	log.Info("stopped")
	return err
}

// routes returns the service's handler. Paths are matched without methods
// so that a wrong method gets a JSON 405 like every other error.
func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/v1/evaluate", methods{http.MethodPost: s.evaluate})
	mux.Handle("/v1/measures", methods{http.MethodPost: s.postMeasure, http.MethodGet: s.listMeasures})
	mux.Handle("/v1/measures/{id}", methods{http.MethodDelete: s.deleteMeasure})
	mux.Handle("/healthz", methods{http.MethodGet: s.health})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, &httpError{status: http.StatusNotFound, msg: fmt.Sprintf("no endpoint %s: see /v1/evaluate, /v1/measures and /healthz", r.URL.Path)})
	})
	return s.middleware(mux)
}

// methods routes a request by its method.
type methods map[string]func(w http.ResponseWriter, r *http.Request)

func (m methods) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h, ok := m[r.Method]
	if !ok {
		var allow []string
		for _, k := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
			if m[k] != nil {
				allow = append(allow, k)
			}
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, &httpError{status: http.StatusMethodNotAllowed, msg: fmt.Sprintf("method %s not allowed: use %s", r.Method, strings.Join(allow, ", "))})
		return
	}
	h(w, r)
}

// statusWriter records the status for the log.
type statusWriter struct {
	http.ResponseWriter
	status int
	errMsg string
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's deadlines.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// middleware refuses requests while draining, turns a panic into a 500
// and logs one line per request: method, path, status, duration and the
// error's message, which holds no member data beyond ids.
func (s *server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.handlers.Add(1)
		defer s.handlers.Add(-1)
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.Error("panic", "method", r.Method, "path", r.URL.Path, "panic", scrub(fmt.Sprint(p)))
				if sw.status == 0 {
					writeError(sw, &httpError{status: http.StatusInternalServerError, msg: "internal error"})
				}
			}
			level := slog.LevelInfo
			if sw.status >= 500 {
				level = slog.LevelError
			}
			attrs := []any{"method", r.Method, "path", r.URL.Path, "status", sw.status, "ms", time.Since(start).Milliseconds()}
			if sw.errMsg != "" {
				attrs = append(attrs, "error", sw.errMsg)
			}
			s.log.Log(r.Context(), level, "request", attrs...)
		}()
		if s.draining.Load() && r.URL.Path != "/healthz" {
			w.Header().Set("Connection", "close")
			s.fail(sw, r, &httpError{status: http.StatusServiceUnavailable, msg: "shutting down: retry on another instance"})
			return
		}
		next.ServeHTTP(sw, r)
	})
}

// acquire takes a concurrency slot without waiting.
func (s *server) acquire() bool {
	select {
	case s.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

func (s *server) release() { <-s.slots }

// busy is the 429 of a request that found every slot taken.
func (s *server) busy(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Retry-After", "1")
	s.fail(w, r, &httpError{status: http.StatusTooManyRequests,
		msg: fmt.Sprintf("server busy: %d evaluations already running (-max-concurrent); retry later", s.cfg.maxConcurrent)})
}

// health reports 200 while serving and 503 while draining, so that a load
// balancer stops sending requests.
func (s *server) health(w http.ResponseWriter, r *http.Request) {
	status, code := "ok", http.StatusOK
	if s.draining.Load() {
		status, code = "draining", http.StatusServiceUnavailable
	}
	writeJSON(w, code, map[string]any{"status": status, "running": len(s.slots), "max_concurrent": s.cfg.maxConcurrent,
		"shipped_measures": len(s.shipped), "posted_measures": s.posted.len()})
}
