package sources

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// backend is an httptest server that counts requests and answers with handle.
type backend struct {
	*httptest.Server
	hits atomic.Int64
}

func newBackend(t *testing.T, handle http.HandlerFunc) *backend {
	t.Helper()
	b := &backend{}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		handle(w, r)
	}))
	t.Cleanup(b.Close)
	return b
}

func newHTTP(t *testing.T, cfg HTTPConfig) *HTTP {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = "crm"
	}
	h, err := NewHTTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

// deadEndpoint returns a URL whose listener is closed: connecting is refused.
func deadEndpoint(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

func status(code int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(code) }
}

// received is what a backend saw of one request.
type received struct {
	method, requestURI, rawPath, body string
	header                            http.Header
}

func TestHTTP_Do(t *testing.T) {
	tests := []struct {
		name     string
		prefix   string
		headers  http.Header
		req      Request
		wantURI  string
		wantRaw  string // r.URL.RawPath, when the path has an escaped byte
		wantHdr  map[string]string
		wantBody string
	}{
		{name: "GET with prefix and repeated query params", prefix: "/api",
			req:     Request{Path: "/customers", Query: url.Values{"id": {"1", "2"}, "q": {"a b&c"}}},
			wantURI: "/api/customers?id=1&id=2&q=a+b%26c", wantHdr: map[string]string{"Accept": "application/json", "Content-Type": ""}},
		{name: "escaped slash in a segment is not decoded",
			req:     Request{Path: "/customers/a%2Fb"},
			wantURI: "/customers/a%2Fb", wantRaw: "/customers/a%2Fb"},
		{name: "escaped segment under a prefix", prefix: "/v1/",
			req:     Request{Path: "/customers/a%2Fb/orders"},
			wantURI: "/v1/customers/a%2Fb/orders", wantRaw: "/v1/customers/a%2Fb/orders"},
		{name: "POST sends the body as JSON", req: Request{Method: "POST", Path: "/orders", Body: []byte(`{"x":1}`)},
			wantURI: "/orders", wantBody: `{"x":1}`, wantHdr: map[string]string{"Content-Type": "application/json"}},
		{name: "source and request headers, the request's win",
			headers: http.Header{"Authorization": {"Bearer source"}, "X-Source": {"s"}},
			req:     Request{Path: "/x", Header: http.Header{"Authorization": {"Bearer user"}, "X-Tenant": {"acme"}}},
			wantURI: "/x", wantHdr: map[string]string{"Authorization": "Bearer user", "X-Source": "s", "X-Tenant": "acme"}},
		{name: "an explicit Accept is kept", req: Request{Path: "/x", Header: http.Header{"Accept": {"application/hal+json"}}},
			wantURI: "/x", wantHdr: map[string]string{"Accept": "application/hal+json"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := make(chan received, 1)
			b := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				got <- received{method: r.Method, requestURI: r.RequestURI, rawPath: r.URL.RawPath, body: string(body), header: r.Header}
				w.Header().Set("X-Answer", "1")
				w.Write([]byte(`{"ok":true}`))
			})
			h := newHTTP(t, HTTPConfig{Endpoints: []string{b.URL + tc.prefix}, Headers: tc.headers})
			resp, err := h.Do(context.Background(), &tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Status != 200 || string(resp.Body) != `{"ok":true}` || resp.Header.Get("X-Answer") != "1" {
				t.Errorf("response = %d %s %v", resp.Status, resp.Body, resp.Header)
			}
			r := <-got
			wantMethod := tc.req.Method
			if wantMethod == "" {
				wantMethod = "GET"
			}
			if r.method != wantMethod || r.requestURI != tc.wantURI || r.rawPath != tc.wantRaw || r.body != tc.wantBody {
				t.Errorf("backend saw %s %s (raw path %q) body %q, want %s %s (raw path %q) body %q",
					r.method, r.requestURI, r.rawPath, r.body, wantMethod, tc.wantURI, tc.wantRaw, tc.wantBody)
			}
			for k, v := range tc.wantHdr {
				if got := r.header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestHTTP_DoErrors(t *testing.T) {
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	retry2 := RetryConfig{Attempts: 2, Backoff: time.Millisecond}
	tests := []struct {
		name       string
		handle     http.HandlerFunc
		cfg        HTTPConfig
		req        Request
		wantCode   Code
		wantStatus int
		wantHits   int64
		wantIs     error
	}{
		{name: "500 is an HTTP error, not retried for POST", handle: status(500), cfg: HTTPConfig{Retry: retry2},
			req: Request{Method: "POST", Body: []byte(`{}`)}, wantCode: CodeHTTPError, wantStatus: 500, wantHits: 1},
		{name: "500 is not retried for GET either", handle: status(500), cfg: HTTPConfig{Retry: retry2},
			req: Request{Method: "GET"}, wantCode: CodeHTTPError, wantStatus: 500, wantHits: 1},
		{name: "404 is an HTTP error", handle: status(404), cfg: HTTPConfig{Retry: retry2},
			req: Request{Method: "GET"}, wantCode: CodeHTTPError, wantStatus: 404, wantHits: 1},
		{name: "503 retried for GET up to Attempts", handle: status(503), cfg: HTTPConfig{Retry: retry2},
			req: Request{Method: "GET"}, wantCode: CodeHTTPError, wantStatus: 503, wantHits: 3},
		{name: "502 retried for PUT", handle: status(502), cfg: HTTPConfig{Retry: retry2},
			req: Request{Method: "PUT", Body: []byte(`{}`)}, wantCode: CodeHTTPError, wantStatus: 502, wantHits: 3},
		{name: "504 retried for DELETE", handle: status(504), cfg: HTTPConfig{Retry: retry2},
			req: Request{Method: "DELETE"}, wantCode: CodeHTTPError, wantStatus: 504, wantHits: 3},
		{name: "503 not retried for POST", handle: status(503), cfg: HTTPConfig{Retry: retry2},
			req: Request{Method: "POST"}, wantCode: CodeHTTPError, wantStatus: 503, wantHits: 1},
		{name: "503 retried for a retry-safe POST", handle: status(503), cfg: HTTPConfig{Retry: retry2},
			req: Request{Method: "POST", RetrySafe: true}, wantCode: CodeHTTPError, wantStatus: 503, wantHits: 3},
		{name: "no retries by default", handle: status(503),
			req: Request{Method: "GET"}, wantCode: CodeHTTPError, wantStatus: 503, wantHits: 1},
		{name: "429 retried, then rate limited", handle: status(429), cfg: HTTPConfig{Retry: retry2},
			req: Request{Method: "GET"}, wantCode: CodeRateLimited, wantStatus: 429, wantHits: 3},
		{name: "hang hits the source timeout", handle: func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-hang:
			case <-r.Context().Done():
			}
		}, cfg: HTTPConfig{Timeout: 50 * time.Millisecond}, req: Request{Method: "GET"}, wantCode: CodeTimeout, wantHits: 1,
			wantIs: context.DeadlineExceeded},
		{name: "hang hits the request's shorter timeout", handle: func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-hang:
			case <-r.Context().Done():
			}
		}, req: Request{Method: "GET", Timeout: 50 * time.Millisecond}, wantCode: CodeTimeout, wantHits: 1,
			wantIs: context.DeadlineExceeded},
		{name: "oversized body", handle: func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(strings.Repeat("x", 100))) },
			cfg: HTTPConfig{MaxResponseBytes: 10}, req: Request{Method: "GET"}, wantCode: CodeBadResponse, wantStatus: 200, wantHits: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBackend(t, tc.handle)
			tc.cfg.Endpoints = []string{b.URL}
			h := newHTTP(t, tc.cfg)
			tc.req.Path = "/customers/7"
			start := time.Now()
			_, err := h.Do(context.Background(), &tc.req)
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("Do took %s", took)
			}
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if se.Code != tc.wantCode || se.Status != tc.wantStatus || se.Source != "crm" || se.Path != "/customers/7" {
				t.Errorf("error = %+v, want code %s status %d", se, tc.wantCode, tc.wantStatus)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("error %v does not wrap %v", err, tc.wantIs)
			}
			if strings.Contains(se.Error(), "127.0.0.1") {
				t.Errorf("error names the endpoint host: %s", se)
			}
			if got := b.hits.Load(); got != tc.wantHits {
				t.Errorf("backend hits = %d, want %d", got, tc.wantHits)
			}
		})
	}
}

// TestHTTP_DoRetriesOnAnotherEndpoint: a retry goes to the other endpoint, whatever the strategy; a request
// that may not be retried stays where it failed.
func TestHTTP_DoRetriesOnAnotherEndpoint(t *testing.T) {
	tests := []struct {
		name      string
		strategy  string
		firstDown bool // the first endpoint refuses connections; otherwise it answers 503
		method    string
		wantErr   Code
		wantFirst int64
		wantOK    int64
	}{
		{name: "failover, first down", strategy: "failover", firstDown: true, method: "GET", wantOK: 4},
		{name: "round robin, first down", strategy: "round_robin", firstDown: true, method: "GET", wantOK: 4},
		{name: "failover, first answers 503", strategy: "failover", method: "GET", wantFirst: 4, wantOK: 4},
		{name: "round robin, first answers 503", strategy: "round_robin", method: "GET", wantFirst: 2, wantOK: 4},
		{name: "POST is not retried elsewhere", strategy: "failover", firstDown: true, method: "POST", wantErr: CodeUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			first := newBackend(t, status(503))
			firstURL := first.URL
			if tc.firstDown {
				first.Close()
			}
			ok := newBackend(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`1`)) })
			h := newHTTP(t, HTTPConfig{Endpoints: []string{firstURL, ok.URL}, Strategy: tc.strategy,
				// Budget 1: every request earns a retry, so the budget does not cut the 4th request's.
				Retry: RetryConfig{Attempts: 1, Backoff: time.Millisecond, Budget: 1}})
			for i := 0; i < 4; i++ {
				_, err := h.Do(context.Background(), &Request{Method: tc.method, Path: "/x"})
				var se *Error
				switch {
				case tc.wantErr == "" && err != nil:
					t.Fatalf("request %d: %v", i, err)
				case tc.wantErr != "" && (!errors.As(err, &se) || se.Code != tc.wantErr):
					t.Fatalf("request %d: err = %v, want %s", i, err, tc.wantErr)
				}
				if tc.wantErr != "" {
					break
				}
			}
			if got := first.hits.Load(); got != tc.wantFirst {
				t.Errorf("first endpoint hits = %d, want %d", got, tc.wantFirst)
			}
			if got := ok.hits.Load(); got != tc.wantOK {
				t.Errorf("second endpoint hits = %d, want %d", got, tc.wantOK)
			}
		})
	}
}

func TestHTTP_DoDeadEndpoint(t *testing.T) {
	h := newHTTP(t, HTTPConfig{Endpoints: []string{deadEndpoint(t)}})
	_, err := h.Do(context.Background(), &Request{Path: "/x"})
	var se *Error
	if !errors.As(err, &se) || se.Code != CodeUnavailable {
		t.Fatalf("err = %v, want UPSTREAM_UNAVAILABLE", err)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("err = %v, want it to wrap ECONNREFUSED", err)
	}
	if want := "GET crm /x: connection refused"; se.Error() != want {
		t.Errorf("message = %q, want %q", se.Error(), want)
	}
}

func TestHTTP_DoRoundRobin(t *testing.T) {
	a := newBackend(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`1`)) })
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`1`)) })
	h := newHTTP(t, HTTPConfig{Endpoints: []string{a.URL, b.URL}})
	for i := 0; i < 10; i++ {
		if _, err := h.Do(context.Background(), &Request{Path: "/x"}); err != nil {
			t.Fatal(err)
		}
	}
	if a.hits.Load() != 5 || b.hits.Load() != 5 {
		t.Errorf("hits = %d/%d, want 5/5", a.hits.Load(), b.hits.Load())
	}
}

func TestHTTP_DoCancel(t *testing.T) {
	arrived := make(chan struct{})
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-r.Context().Done()
	})
	h := newHTTP(t, HTTPConfig{Endpoints: []string{b.URL}})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-arrived; cancel() }()
	_, err := h.Do(ctx, &Request{Path: "/x"})
	var se *Error
	if !errors.As(err, &se) || se.Code != CodeUnavailable || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want UPSTREAM_UNAVAILABLE wrapping context.Canceled", err)
	}
}

// TestHTTP_DoCancelIsNoOutcome: an attempt its client cancelled says nothing about the endpoint. It neither
// breaks a run of failures (or one client closing its requests early would keep a dead endpoint's breaker closed
// for everyone) nor passes a half-open breaker's trial, which it gives back.
func TestHTTP_DoCancelIsNoOutcome(t *testing.T) {
	arrived := make(chan struct{}, 1)
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		arrived <- struct{}{}
		<-r.Context().Done()
	})
	h := newHTTP(t, HTTPConfig{Endpoints: []string{b.URL}, Dedup: new(false), Breaker: BreakerConfig{Failures: 2, Cooldown: time.Hour}})
	cancelled := func() {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		go func() { <-arrived; cancel() }()
		if _, err := h.Do(ctx, &Request{Path: "/hang"}); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	}
	ep := h.pool.endpoints[0]

	h.Do(context.Background(), &Request{Path: "/fail"})
	cancelled()
	h.Do(context.Background(), &Request{Path: "/fail"})
	if st := ep.status(); st.Breaker != BreakerOpen || st.Successes != 0 || st.Failures != 2 || st.InFlight != 0 {
		t.Fatalf("after fail, cancel, fail: status = %+v, want the breaker open, 0 successes, 2 failures", st)
	}

	ep.breaker.mu.Lock()
	ep.breaker.state = BreakerHalfOpen
	ep.breaker.mu.Unlock()
	cancelled()
	if st := ep.breaker.State(); st != BreakerHalfOpen {
		t.Fatalf("a cancelled trial left the breaker %s, want half_open", st)
	}
	// The trial was given back: the next request is the trial, and its failure reopens the breaker.
	if _, err := h.Do(context.Background(), &Request{Path: "/fail"}); err == nil {
		t.Fatal("want the trial's 500")
	}
	if st := ep.breaker.State(); st != BreakerOpen {
		t.Errorf("breaker = %s after the failed trial, want open", st)
	}
}

// TestHTTP_DoBackoffHonoursContext: a wait between attempts ends with the request's deadline.
func TestHTTP_DoBackoffHonoursContext(t *testing.T) {
	b := newBackend(t, status(503))
	// Every wait is at least half a second; the request has 50ms.
	h := newHTTP(t, HTTPConfig{Endpoints: []string{b.URL}, Retry: RetryConfig{Attempts: 5, Backoff: time.Second}})
	start := time.Now()
	_, err := h.Do(context.Background(), &Request{Path: "/x", Timeout: 50 * time.Millisecond})
	var se *Error
	if !errors.As(err, &se) || se.Code != CodeTimeout {
		t.Fatalf("err = %v, want UPSTREAM_TIMEOUT", err)
	}
	if took := time.Since(start); took >= 500*time.Millisecond {
		t.Errorf("Do took %s: the backoff did not stop at the deadline", took)
	}
	if b.hits.Load() != 1 {
		t.Errorf("backend hits = %d, want 1", b.hits.Load())
	}
}

// TestHTTP_DoKeepsIdleConnections: a failed request does not close the source's idle keep-alive connections
// (retryablehttp's Client.Do would, after every failure).
func TestHTTP_DoKeepsIdleConnections(t *testing.T) {
	var mu sync.Mutex
	conns := map[string]int{}
	countConns := func(name string, s *httptest.Server) {
		s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				mu.Lock()
				conns[name]++
				mu.Unlock()
			}
		}
	}
	good := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`1`)) }))
	bad := httptest.NewUnstartedServer(status(503))
	countConns("good", good)
	countConns("bad", bad)
	good.Start()
	bad.Start()
	t.Cleanup(good.Close)
	t.Cleanup(bad.Close)
	h := newHTTP(t, HTTPConfig{Endpoints: []string{good.URL, bad.URL}})
	for i := 0; i < 6; i++ { // round robin: good, bad, good, bad…
		h.Do(context.Background(), &Request{Path: "/x"})
	}
	mu.Lock()
	defer mu.Unlock()
	if conns["good"] != 1 || conns["bad"] != 1 {
		t.Errorf("connections opened = %v, want one per endpoint", conns)
	}
}

func TestNewHTTP(t *testing.T) {
	tests := []struct {
		name    string
		cfg     HTTPConfig
		wantErr []string // each must appear in the error; nil means valid
	}{
		{name: "valid, trailing slash", cfg: HTTPConfig{Name: "x", Endpoints: []string{"https://h/api/"}}},
		{name: "valid, every strategy", cfg: HTTPConfig{Name: "x", Endpoints: []string{"http://h"}, Strategy: "least_latency"}},
		{name: "no endpoints", cfg: HTTPConfig{Name: "x"}, wantErr: []string{"source x: no endpoints"}},
		{name: "relative endpoint", cfg: HTTPConfig{Name: "x", Endpoints: []string{"/api"}}, wantErr: []string{"not an absolute http(s) URL"}},
		{name: "other scheme", cfg: HTTPConfig{Name: "x", Endpoints: []string{"ftp://h"}}, wantErr: []string{"not an absolute http(s) URL"}},
		{name: "endpoint with query", cfg: HTTPConfig{Name: "x", Endpoints: []string{"http://h/?a=1"}}, wantErr: []string{"query or fragment"}},
		{name: "endpoint with fragment", cfg: HTTPConfig{Name: "x", Endpoints: []string{"http://h/api#f"}}, wantErr: []string{"query or fragment"}},
		{name: "unparsable endpoint", cfg: HTTPConfig{Name: "x", Endpoints: []string{"http://h:port"}}, wantErr: []string{"endpoint 0"}},
		{name: "unknown strategy", cfg: HTTPConfig{Name: "x", Endpoints: []string{"http://h"}, Strategy: "random"},
			wantErr: []string{`unknown strategy "random" (have: round_robin, least_latency, weighted, failover)`}},
		{name: "negative retries", cfg: HTTPConfig{Name: "x", Endpoints: []string{"http://h"}, Retry: RetryConfig{Attempts: -1}},
			wantErr: []string{"retry attempts"}},
		{name: "weights", cfg: HTTPConfig{Name: "x", Endpoints: []string{"http://h", "http://i"}, Weights: []int{1, 0}},
			wantErr: []string{"weight 0 of endpoint 1"}},
		{name: "every problem at once", cfg: HTTPConfig{Name: "x", Endpoints: []string{"/a", "http://h?q"}, Strategy: "random"},
			wantErr: []string{"unknown strategy", `endpoint "/a"`, `endpoint "http://h?q"`}},
		{name: "no password in errors", cfg: HTTPConfig{Name: "x", Endpoints: []string{"http://u:secret@h?q"}},
			wantErr: []string{"u:xxxxx@h"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := NewHTTP(tc.cfg)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				h.Close()
				return
			}
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error shows a password: %s", err)
			}
		})
	}
}

func TestHTTPConfig_withDefaults(t *testing.T) {
	def := DefaultHTTPConfig()
	tests := []struct {
		name string
		cfg  HTTPConfig
		want HTTPConfig
	}{
		{name: "zero gets every default", cfg: HTTPConfig{}, want: def},
		{name: "set fields are kept", cfg: HTTPConfig{Strategy: "failover", Timeout: time.Second,
			Retry: RetryConfig{Attempts: 2, Backoff: time.Millisecond}, MaxResponseBytes: 5},
			want: func() HTTPConfig {
				c := def
				c.Strategy, c.Timeout, c.Retry.Attempts, c.Retry.Backoff, c.MaxResponseBytes = "failover", time.Second, 2, time.Millisecond, 5
				return c
			}()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.cfg.withDefaults(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("withDefaults() =\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
	// The documented defaults.
	if def.Strategy != "round_robin" || def.Timeout != 10*time.Second || def.Retry.Attempts != 0 ||
		def.Retry.Backoff != 25*time.Millisecond || def.MaxResponseBytes != 16<<20 {
		t.Errorf("DefaultHTTPConfig() = %+v", def)
	}
}

func TestNewTransport(t *testing.T) {
	tr := NewTransport()
	if tr.MaxIdleConns != 1024 || tr.MaxIdleConnsPerHost != 256 || tr.MaxConnsPerHost != 0 ||
		tr.IdleConnTimeout != 90*time.Second || !tr.ForceAttemptHTTP2 || tr.DialContext == nil {
		t.Errorf("NewTransport() = %+v", tr)
	}
}

func TestBackoff(t *testing.T) {
	for attempt := 0; attempt < 12; attempt++ {
		want := min(25*time.Millisecond<<attempt, time.Second)
		for i := 0; i < 50; i++ {
			if d := Backoff(25*time.Millisecond, time.Second, attempt, nil); d < want/2 || d > want {
				t.Fatalf("attempt %d: wait %s outside [%s, %s]", attempt, d, want/2, want)
			}
		}
	}
}

func BenchmarkHTTP_Do(b *testing.B) {
	const answer = `{"id":"1"}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(answer)) }))
	defer srv.Close()
	h, err := NewHTTP(HTTPConfig{Name: "bench", Endpoints: []string{srv.URL}})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := h.Do(context.Background(), &Request{Path: "/customers/1"})
			if err != nil {
				b.Error(err)
				return
			}
			if string(resp.Body) != answer {
				b.Errorf("body = %q", resp.Body)
				return
			}
		}
	})
}

// BenchmarkHTTP_DoHeaders is BenchmarkHTTP_Do with a query, source headers and request headers, which are
// validated before sending.
func BenchmarkHTTP_DoHeaders(b *testing.B) {
	const answer = `{"id":"1"}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(answer)) }))
	defer srv.Close()
	h, err := NewHTTP(HTTPConfig{Name: "bench", Endpoints: []string{srv.URL}, Dedup: new(false),
		Headers: http.Header{"Authorization": {"Bearer s3cr3t"}, "X-Api-Key": {"k"}}})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := &Request{Path: "/customers/1/orders", Query: url.Values{"status": {"open"}},
				Header: http.Header{"X-Tenant": {"acme"}, "X-Request-Id": {"0123456789abcdef"}}}
			resp, err := h.Do(context.Background(), req)
			if err != nil {
				b.Error(err)
				return
			}
			if string(resp.Body) != answer {
				b.Errorf("body = %q", resp.Body)
				return
			}
		}
	})
}

// TestReadBody reads bodies with and without a declared length, at and past the limit.
func TestReadBody(t *testing.T) {
	cases := []struct {
		name     string
		body     string
		declared int64
		limit    int64
		want     string
		wantErr  bool
	}{
		{"declared", "hello", 5, 100, "hello", false},
		{"undeclared", "hello", -1, 100, "hello", false},
		{"empty", "", 0, 100, "", false},
		{"past the limit, undeclared", "hello world", -1, 5, "hello ", false},
		{"declared past the limit", "hello world", 11, 5, "hello ", false},
		{"longer than declared", "hello world", 5, 100, "hello world", false},
		{"shorter than declared", "hi", 5, 100, "hi", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := readBody(strings.NewReader(c.body), c.declared, c.limit)
			if string(got) != c.want || (err != nil) != c.wantErr {
				t.Errorf("readBody = %q, %v; want %q (error %v)", got, err, c.want, c.wantErr)
			}
		})
	}
}
