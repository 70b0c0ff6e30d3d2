package sources

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
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

// deadEndpoint returns a URL on which nothing listens.
func deadEndpoint(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

func TestHTTP_Do(t *testing.T) {
	var seen atomic.Pointer[http.Request]
	var body atomic.Pointer[string]
	ok := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		seen.Store(r)
		b, _ := io.ReadAll(r.Body)
		s := string(b)
		body.Store(&s)
		w.Write([]byte(`{"ok":true}`))
	})
	h := newHTTP(t, HTTPConfig{Endpoints: []string{ok.URL + "/api"}, Headers: http.Header{"Authorization": {"Bearer t"}}})
	resp, err := h.Do(context.Background(), &Request{Method: "POST", Path: "/customers/a%2Fb", Query: url.Values{"id": {"1", "2"}},
		Header: http.Header{"X-Tenant": {"acme"}}, Body: []byte(`{"x":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	r := seen.Load()
	checks := []struct{ what, got, want string }{
		{"body", string(resp.Body), `{"ok":true}`},
		{"request URI (escaped segment kept, prefix joined)", r.RequestURI, "/api/customers/a%2Fb?id=1&id=2"},
		{"source header", r.Header.Get("Authorization"), "Bearer t"},
		{"request header", r.Header.Get("X-Tenant"), "acme"},
		{"content type", r.Header.Get("Content-Type"), "application/json"},
		{"accept", r.Header.Get("Accept"), "application/json"},
		{"request body", *body.Load(), `{"x":1}`},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
		}
	}
}

func TestHTTP_DoErrors(t *testing.T) {
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	tests := []struct {
		name       string
		handle     http.HandlerFunc
		cfg        HTTPConfig
		method     string
		wantCode   Code
		wantStatus int
		wantHits   int64
	}{
		{name: "500 is an HTTP error, not retried", handle: status(500), cfg: HTTPConfig{Retry: RetryConfig{Attempts: 2, Backoff: time.Millisecond}},
			method: "GET", wantCode: CodeHTTPError, wantStatus: 500, wantHits: 1},
		{name: "503 retried for GET", handle: status(503), cfg: HTTPConfig{Retry: RetryConfig{Attempts: 2, Backoff: time.Millisecond}},
			method: "GET", wantCode: CodeHTTPError, wantStatus: 503, wantHits: 3},
		{name: "503 not retried for POST", handle: status(503), cfg: HTTPConfig{Retry: RetryConfig{Attempts: 2, Backoff: time.Millisecond}},
			method: "POST", wantCode: CodeHTTPError, wantStatus: 503, wantHits: 1},
		{name: "429 is rate limited", handle: status(429), method: "GET", wantCode: CodeRateLimited, wantStatus: 429, wantHits: 1},
		{name: "hang hits the timeout", handle: func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-hang:
			case <-r.Context().Done():
			}
		}, cfg: HTTPConfig{Timeout: 50 * time.Millisecond}, method: "GET", wantCode: CodeTimeout, wantHits: 1},
		{name: "oversized body", handle: func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(strings.Repeat("x", 100))) },
			cfg: HTTPConfig{MaxResponseBytes: 10}, method: "GET", wantCode: CodeBadResponse, wantStatus: 200, wantHits: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBackend(t, tc.handle)
			tc.cfg.Endpoints = []string{b.URL}
			h := newHTTP(t, tc.cfg)
			_, err := h.Do(context.Background(), &Request{Method: tc.method, Path: "/x"})
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if se.Code != tc.wantCode || se.Status != tc.wantStatus || se.Source != "crm" {
				t.Errorf("error = %+v, want code %s status %d", se, tc.wantCode, tc.wantStatus)
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

func status(code int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(code) }
}

func TestHTTP_DoRetriesOnAnotherEndpoint(t *testing.T) {
	ok := newBackend(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`1`)) })
	h := newHTTP(t, HTTPConfig{Endpoints: []string{deadEndpoint(t), ok.URL}, Strategy: "failover",
		Retry: RetryConfig{Attempts: 1, Backoff: time.Millisecond}})
	for i := 0; i < 3; i++ {
		if _, err := h.Do(context.Background(), &Request{Path: "/x"}); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if got := ok.hits.Load(); got != 3 {
		t.Errorf("second endpoint hits = %d, want 3", got)
	}
}

func TestHTTP_DoDeadEndpoint(t *testing.T) {
	h := newHTTP(t, HTTPConfig{Endpoints: []string{deadEndpoint(t)}})
	_, err := h.Do(context.Background(), &Request{Path: "/x"})
	var se *Error
	if !errors.As(err, &se) || se.Code != CodeUnavailable {
		t.Fatalf("err = %v, want UPSTREAM_UNAVAILABLE", err)
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
	if err == nil {
		t.Fatal("want an error after cancel")
	}
}

func TestNewHTTP(t *testing.T) {
	tests := []struct {
		name string
		cfg  HTTPConfig
	}{
		{"no endpoints", HTTPConfig{Name: "x"}},
		{"relative endpoint", HTTPConfig{Name: "x", Endpoints: []string{"/api"}}},
		{"endpoint with query", HTTPConfig{Name: "x", Endpoints: []string{"http://h/?a=1"}}},
		{"negative retries", HTTPConfig{Name: "x", Endpoints: []string{"http://h"}, Retry: RetryConfig{Attempts: -1}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewHTTP(tc.cfg); err == nil {
				t.Error("want an error")
			}
		})
	}
}

func TestStatic_Do(t *testing.T) {
	s, err := NewStatic("fixtures", map[string]any{"a": []any{1, "x"}})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := s.Do(context.Background(), &Request{Path: "/anything"})
	if err != nil || string(resp.Body) != `{"a":[1,"x"]}` {
		t.Errorf("got %s, %v", resp.Body, err)
	}
}

func BenchmarkHTTP_Do(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"id":"1"}`)) }))
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
			if err != nil || len(resp.Body) == 0 {
				b.Error(err)
				return
			}
		}
	})
}
