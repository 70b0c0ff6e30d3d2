// Package mock provides in-process mock HTTP backends for the examples and tests: each Backend serves a
// handler on a loopback port with a configurable latency and fault middleware, and counts what it receives
// (requests, per-route counts, the highest number in flight at once, and every call) so tests can assert upstream
// call counts and parallelism without timing.
package mock

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Call is one request a Backend received.
type Call struct {
	Method     string
	RequestURI string
	Body       string
}

// Backend is one mock HTTP service. Its setters and counters are safe for concurrent use while it serves.
type Backend struct {
	name    string
	handler http.Handler

	latency    atomic.Int64
	middleware atomic.Pointer[func(http.Handler) http.Handler]
	noRecord   atomic.Bool

	requests    atomic.Int64
	inFlight    atomic.Int64
	maxInFlight atomic.Int64
	mu          sync.Mutex
	perRoute    map[string]int64
	calls       []Call

	srv  *http.Server
	ln   net.Listener
	done chan struct{}
}

// NewBackend returns a backend named name serving h. It does not listen until Start.
func NewBackend(name string, h http.Handler) *Backend {
	return &Backend{name: name, handler: h, perRoute: map[string]int64{}}
}

// Name returns the backend's name.
func (b *Backend) Name() string { return b.name }

// SetLatency delays every request by d (cut short when the client goes away).
func (b *Backend) SetLatency(d time.Duration) { b.latency.Store(int64(d)) }

// SetMiddleware wraps the handler with mw for faults (errors, hangs, garbage); nil removes it.
func (b *Backend) SetMiddleware(mw func(http.Handler) http.Handler) {
	if mw == nil {
		b.middleware.Store(nil)
		return
	}
	b.middleware.Store(&mw)
}

// SetRecording turns the recording of every call (Recorded) on or off; it is on by default. Load tests turn it
// off so memory stays flat; the counters still count.
func (b *Backend) SetRecording(on bool) { b.noRecord.Store(!on) }

// Requests returns the number of requests received since the last Reset.
func (b *Backend) Requests() int64 { return b.requests.Load() }

// RequestsTo returns the number of requests whose path (without query) is path.
func (b *Backend) RequestsTo(path string) int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.perRoute[path]
}

// InFlight returns the number of requests being served now.
func (b *Backend) InFlight() int64 { return b.inFlight.Load() }

// MaxInFlight returns the highest number of requests served at once since the last Reset.
func (b *Backend) MaxInFlight() int64 { return b.maxInFlight.Load() }

// Recorded returns the requests received since the last Reset, in arrival order.
func (b *Backend) Recorded() []Call {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Call(nil), b.calls...)
}

// Reset clears the counters and recorded calls.
func (b *Backend) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.requests.Store(0)
	b.maxInFlight.Store(b.inFlight.Load())
	b.perRoute = map[string]int64{}
	b.calls = nil
}

// ServeHTTP counts the request, applies latency and middleware, and serves it.
func (b *Backend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := b.inFlight.Add(1)
	defer b.inFlight.Add(-1)
	for {
		max := b.maxInFlight.Load()
		if n <= max || b.maxInFlight.CompareAndSwap(max, n) {
			break
		}
	}
	record := !b.noRecord.Load()
	var body []byte
	if r.Body != nil && record {
		body, _ = io.ReadAll(r.Body)
		r.Body = io.NopCloser(strings.NewReader(string(body)))
	}
	b.requests.Add(1)
	b.mu.Lock()
	b.perRoute[r.URL.Path]++
	if record {
		b.calls = append(b.calls, Call{Method: r.Method, RequestURI: r.RequestURI, Body: string(body)})
	}
	b.mu.Unlock()

	if d := time.Duration(b.latency.Load()); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	h := b.handler
	if mw := b.middleware.Load(); mw != nil {
		h = (*mw)(h)
	}
	h.ServeHTTP(w, r)
}

// Start listens on addr ("127.0.0.1:0" picks a free port) and serves until Close.
func (b *Backend) Start(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("backend %s: listen %s: %w", b.name, addr, err)
	}
	b.ln = ln
	b.srv = &http.Server{Handler: b, ReadHeaderTimeout: 5 * time.Second}
	b.done = make(chan struct{})
	go func() {
		defer close(b.done)
		_ = b.srv.Serve(ln)
	}()
	return nil
}

// URL returns the base URL, e.g. http://127.0.0.1:9101.
func (b *Backend) URL() string { return "http://" + b.ln.Addr().String() }

// Close stops serving: open requests are cancelled, and Close returns once the server goroutine has ended.
func (b *Backend) Close() error {
	if b.srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := b.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = b.srv.Close()
	}
	<-b.done
	return err
}

// Group is a set of named backends started and stopped together.
type Group struct {
	backends map[string]*Backend
}

// NewGroup returns a group of the given backends.
func NewGroup(backends ...*Backend) *Group {
	g := &Group{backends: map[string]*Backend{}}
	for _, b := range backends {
		g.backends[b.name] = b
	}
	return g
}

// Start starts every backend on addrs[name], or on a free loopback port when absent. On failure the started
// ones are closed.
func (g *Group) Start(addrs map[string]string) error {
	for _, name := range g.Names() {
		addr := addrs[name]
		if addr == "" {
			addr = "127.0.0.1:0"
		}
		if err := g.backends[name].Start(addr); err != nil {
			g.Close()
			return err
		}
	}
	return nil
}

// Names returns the backends' names, sorted.
func (g *Group) Names() []string {
	names := make([]string, 0, len(g.backends))
	for n := range g.backends {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Backend returns the backend named name, or nil.
func (g *Group) Backend(name string) *Backend { return g.backends[name] }

// URLs maps each started backend's name to its base URL.
func (g *Group) URLs() map[string]string {
	out := map[string]string{}
	for n, b := range g.backends {
		if b.ln != nil {
			out[n] = b.URL()
		}
	}
	return out
}

// Reset clears every backend's counters.
func (g *Group) Reset() {
	for _, b := range g.backends {
		b.Reset()
	}
}

// Close stops every backend.
func (g *Group) Close() error {
	var errs []error
	for _, b := range g.backends {
		errs = append(errs, b.Close())
	}
	return errors.Join(errs...)
}

// WriteJSON writes v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Fail writes a JSON error body with status.
func Fail(w http.ResponseWriter, status int, msg string) {
	WriteJSON(w, status, map[string]string{"error": msg})
}

// Values returns the query parameter name, accepting repeated (?id=1&id=2) and comma-separated (?id=1,2) forms.
func Values(r *http.Request, name string) []string {
	var out []string
	for _, v := range r.URL.Query()[name] {
		for _, p := range strings.Split(v, ",") {
			if p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}
