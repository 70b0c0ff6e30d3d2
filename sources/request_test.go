package sources

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestHTTP_DoBadInput (issue 13): a request the client's input made invalid fails with BAD_USER_INPUT without
// reaching the backend, and it never counts against the endpoint (health, breaker, latency), the retry budget or
// the rate limit: after many of them, a normal request of another client still goes through.
func TestHTTP_DoBadInput(t *testing.T) {
	bad := []struct {
		name string
		req  Request
		want string
	}{
		{name: "vertical tab in a header value", req: Request{Path: "/x", Header: http.Header{"X-Tenant": {"a\u000bb"}}}, want: "header X-Tenant"},
		{name: "CR LF in a header value", req: Request{Path: "/x", Header: http.Header{"X-Tenant": {"a\r\nInjected: 1"}}}, want: "header X-Tenant"},
		{name: "NUL in a header value", req: Request{Path: "/x", Header: http.Header{"X-Tenant": {"a\x00"}}}, want: "header X-Tenant"},
		{name: "DEL in a second value", req: Request{Path: "/x", Header: http.Header{"X-Tenant": {"ok", "a\x7f"}}}, want: "header X-Tenant"},
		{name: "header name with a space", req: Request{Path: "/x", Header: http.Header{"X Tenant": {"a"}}}, want: "header name"},
		{name: "space in the path", req: Request{Path: "/a b"}, want: "must be escaped"},
		{name: "query in the path", req: Request{Path: "/a?admin=1"}, want: "must be escaped"},
		{name: "fragment in the path", req: Request{Path: "/a#f"}, want: "must be escaped"},
		{name: "control character in the path", req: Request{Path: "/a\x0b"}, want: "must be escaped"},
		{name: "malformed escape", req: Request{Path: "/a%zz"}, want: "malformed percent escape"},
		{name: "truncated escape", req: Request{Path: "/a%2"}, want: "malformed percent escape"},
		{name: "relative path", req: Request{Path: "a"}, want: "does not start with /"},
		{name: "invalid method", req: Request{Method: "GET /admin", Path: "/x"}, want: "method"},
	}
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"ok":true}`)) })
	// The strictest settings: one failure opens the breaker, one retry token in the budget's reach, a rate of
	// one request (burst one) for the whole test.
	h := newHTTP(t, HTTPConfig{Endpoints: []string{b.URL}, Breaker: BreakerConfig{Failures: 1, Cooldown: time.Hour},
		Retry: RetryConfig{Attempts: 2, Backoff: time.Millisecond}, Limits: LimitsConfig{Rate: 0.001, Burst: 1}})
	tokens := h.budget.tokens
	for round := 0; round < 2; round++ { // 26 bad requests in all
		for _, tc := range bad {
			t.Run(tc.name, func(t *testing.T) {
				_, err := h.Do(context.Background(), &tc.req)
				var se *Error
				if !errors.As(err, &se) || se.Code != CodeBadInput {
					t.Fatalf("err = %v, want BAD_USER_INPUT", err)
				}
				if msg := se.PublicMessage(); !strings.HasPrefix(msg, "crm: ") || !strings.Contains(msg, tc.want) {
					t.Errorf("public message %q, want one about %q", msg, tc.want)
				}
				if strings.Contains(se.PublicMessage(), "Injected") || strings.Contains(se.PublicMessage(), "\x0b") {
					t.Errorf("public message repeats the value: %q", se.PublicMessage())
				}
			})
		}
	}
	if n := b.hits.Load(); n != 0 {
		t.Errorf("backend hits = %d, want 0", n)
	}
	if h.budget.tokens != tokens {
		t.Errorf("retry budget tokens %v → %v: refused requests changed it", tokens, h.budget.tokens)
	}
	st := h.Status().Endpoints[0]
	if st.Breaker != BreakerClosed || st.Failures != 0 || st.Successes != 0 || st.InFlight != 0 || st.P50 != 0 || st.LastError != "" {
		t.Errorf("endpoint status after refused requests = %+v, want untouched", st)
	}
	// Another client: the single token of the rate limit is still there, and the request succeeds.
	resp, err := h.Do(context.Background(), &Request{Path: "/x", Header: http.Header{"X-Tenant": {"acme\tcorp"}}})
	if err != nil || string(resp.Body) != `{"ok":true}` {
		t.Fatalf("normal request after the refused ones: %v", err)
	}
	if st := h.Status().Endpoints[0]; st.Breaker != BreakerClosed || st.Successes != 1 {
		t.Errorf("endpoint status = %+v", st)
	}
}

// TestHTTP_DoRefusedLocally: a request that net/http refuses on this side (here a source header that slipped
// past NewHTTP's check) is BAD_USER_INPUT, is not retried, and leaves the endpoint's breaker closed — even a
// half-open breaker gets its trial back — while a valid request still succeeds.
func TestHTTP_DoRefusedLocally(t *testing.T) {
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`1`)) })
	h := newHTTP(t, HTTPConfig{Endpoints: []string{b.URL}, Dedup: new(false), Breaker: BreakerConfig{Failures: 1, Cooldown: time.Hour},
		Retry: RetryConfig{Attempts: 3, Backoff: time.Millisecond}})
	good := h.cfg.Headers
	h.cfg.Headers = http.Header{"X-Api-Key": {"k\u000b"}}
	for i := 0; i < 6; i++ {
		_, err := h.Do(context.Background(), &Request{Path: "/x"})
		var se *Error
		if !errors.As(err, &se) || se.Code != CodeBadInput {
			t.Fatalf("request %d: err = %v, want BAD_USER_INPUT", i, err)
		}
	}
	ep := h.pool.endpoints[0]
	if st := ep.status(); st.Breaker != BreakerClosed || st.Failures != 0 || st.InFlight != 0 || st.P50 != 0 {
		t.Errorf("endpoint status = %+v, want untouched", st)
	}
	if n := b.hits.Load(); n != 0 {
		t.Errorf("backend hits = %d, want 0", n)
	}
	// Half-open: the refused request must not keep the trial, or the endpoint would never close again.
	ep.breaker.mu.Lock()
	ep.breaker.state = BreakerHalfOpen
	ep.breaker.mu.Unlock()
	h.Do(context.Background(), &Request{Path: "/x"})
	h.cfg.Headers = good
	if _, err := h.Do(context.Background(), &Request{Path: "/x"}); err != nil {
		t.Fatalf("valid request after the refused ones: %v", err)
	}
	if st := ep.breaker.State(); st != BreakerClosed {
		t.Errorf("breaker = %s, want closed after the successful trial", st)
	}
}

func TestRefusedLocally(t *testing.T) {
	u, _ := url.Parse("http://h/x")
	tests := []struct {
		name   string
		req    *http.Request
		err    error
		remote bool
	}{
		{name: "invalid header value", req: &http.Request{Method: "GET", URL: u, Header: http.Header{"X": {"\x0b"}}}, err: errors.New("net/http: invalid header field value for \"X\"")},
		{name: "http2 connection header", req: &http.Request{Method: "GET", URL: u, Header: http.Header{"Connection": {"upgrade"}}},
			err: errors.New(`http2: invalid Connection request header: ["upgrade"]`)},
		{name: "no host", req: &http.Request{Method: "GET", URL: &url.URL{Path: "/x"}, Header: http.Header{}}, err: errors.New("http: no Host in request URL")},
		{name: "connection refused", req: &http.Request{Method: "GET", URL: u, Header: http.Header{}}, err: errors.New("dial tcp: connection refused"), remote: true},
		{name: "reset", req: &http.Request{Method: "GET", URL: u, Header: http.Header{"X": {"ok"}}}, err: errors.New("read: connection reset by peer"), remote: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := refusedLocally(tc.req, tc.err); (got == "") != tc.remote {
				t.Errorf("refusedLocally = %q, want local %v", got, !tc.remote)
			}
		})
	}
}

func TestNewHTTP_InvalidHeadersAndRedirects(t *testing.T) {
	tests := []struct {
		name string
		cfg  HTTPConfig
		want string
	}{
		{name: "control character in a source header", cfg: HTTPConfig{Headers: http.Header{"Authorization": {"Bearer a\nb"}}}, want: "header Authorization"},
		{name: "unknown redirect policy", cfg: HTTPConfig{Redirects: "any"}, want: `unknown redirects policy "any"`},
		{name: "redirect host with a port", cfg: HTTPConfig{RedirectHosts: []string{"api.example.com:443"}}, want: "not a lower-case host name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Endpoints = []string{"http://127.0.0.1:1"}
			_, err := NewHTTP(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// redirectLog is what a redirect target saw.
type redirectLog struct {
	path   string
	header http.Header
}

// TestHTTP_Redirects (issue 13): redirects to another host are not followed by default; to an allowed host they
// are, without the source's headers or the forwarded ones; the API key never reaches another host.
func TestHTTP_Redirects(t *testing.T) {
	other := make(chan redirectLog, 16)
	otherSrv := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		other <- redirectLog{path: r.URL.Path, header: r.Header.Clone()}
		w.Write([]byte(`"other"`))
	})
	_, otherPort, _ := net.SplitHostPort(otherSrv.Listener.Addr().String())
	same := make(chan redirectLog, 16)
	var home *backend
	home = newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/to-other":
			http.Redirect(w, r, otherSrv.URL+"/stolen", http.StatusFound)
		case r.URL.Path == "/to-localhost":
			http.Redirect(w, r, "http://localhost:"+otherPort+"/allowed", http.StatusTemporaryRedirect)
		case r.URL.Path == "/to-self":
			http.Redirect(w, r, "/landing", http.StatusMovedPermanently)
		case r.URL.Path == "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case r.URL.Path == "/landing":
			same <- redirectLog{path: r.URL.Path, header: r.Header.Clone()}
			w.Write([]byte(`"landed"`))
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	})
	secret := http.Header{"X-Api-Key": {"s3cr3t"}, "Authorization": {"Bearer s3cr3t"}}
	forwarded := http.Header{"X-Tenant": {"acme"}, "Cookie": {"session=s3cr3t"}}
	tests := []struct {
		name       string
		cfg        HTTPConfig
		path       string
		wantBody   string
		wantStatus int    // of the UPSTREAM_HTTP_ERROR when the redirect is not followed
		wantWhy    string // in its public message
		wantHits   int64  // of home
		seen       chan redirectLog
		seenPath   string
	}{
		{name: "default: another host is not followed", path: "/to-other", wantStatus: 302, wantWhy: "another host", wantHits: 1},
		{name: "default: the same host is followed with the headers", path: "/to-self", wantBody: `"landed"`, wantHits: 2,
			seen: same, seenPath: "/landing"},
		{name: "none: not even the same host", cfg: HTTPConfig{Redirects: RedirectsNone}, path: "/to-self", wantStatus: 301,
			wantWhy: "redirects: none", wantHits: 1},
		{name: "a listed host is followed without credentials", cfg: HTTPConfig{RedirectHosts: []string{"localhost"}}, path: "/to-localhost",
			wantBody: `"other"`, wantHits: 1, seen: other, seenPath: "/allowed"},
		{name: "a listed host is not the redirect's host", cfg: HTTPConfig{RedirectHosts: []string{"api.example.com"}}, path: "/to-localhost",
			wantStatus: 307, wantWhy: "another host", wantHits: 1},
		{name: "none wins over listed hosts", cfg: HTTPConfig{Redirects: RedirectsNone, RedirectHosts: []string{"localhost"}}, path: "/to-localhost",
			wantStatus: 307, wantWhy: "redirects: none", wantHits: 1},
		{name: "a loop stops after MaxRedirects", path: "/loop", wantStatus: 302, wantWhy: fmt.Sprintf("more than %d redirects", MaxRedirects),
			wantHits: MaxRedirects + 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			home.hits.Store(0)
			cfg := tc.cfg
			cfg.Endpoints, cfg.Headers = []string{home.URL}, secret
			cfg.Breaker = BreakerConfig{Failures: 1, Cooldown: time.Hour}
			h := newHTTP(t, cfg)
			resp, err := h.Do(context.Background(), &Request{Path: tc.path, Header: forwarded})
			if tc.wantStatus != 0 {
				var se *Error
				if !errors.As(err, &se) || se.Code != CodeHTTPError || se.Status != tc.wantStatus || !errors.Is(err, errRedirect) {
					t.Fatalf("err = %v, want UPSTREAM_HTTP_ERROR %d (redirect not followed)", err, tc.wantStatus)
				}
				if msg := se.PublicMessage(); !strings.Contains(msg, tc.wantWhy) || strings.Contains(msg, "127.0.0.1") || strings.Contains(msg, "localhost") {
					t.Errorf("public message %q, want why (%q) without the target", msg, tc.wantWhy)
				}
			} else if err != nil || string(resp.Body) != tc.wantBody {
				t.Fatalf("Do = %v, want %s", err, tc.wantBody)
			}
			if n := home.hits.Load(); n != tc.wantHits {
				t.Errorf("home hits = %d, want %d", n, tc.wantHits)
			}
			if st := h.Status().Endpoints[0]; st.Breaker != BreakerClosed || st.Failures != 0 {
				t.Errorf("a redirect counted against the endpoint: %+v", st)
			}
			if tc.seen == nil {
				select {
				case got := <-other:
					t.Fatalf("the other host was called: %s %v", got.path, got.header)
				default:
				}
				return
			}
			got := <-tc.seen
			if got.path != tc.seenPath {
				t.Errorf("landed on %s, want %s", got.path, tc.seenPath)
			}
			if tc.seen == same {
				if got.header.Get("X-Api-Key") != "s3cr3t" || got.header.Get("X-Tenant") != "acme" {
					t.Errorf("same-host redirect lost the headers: %v", got.header)
				}
				return
			}
			for name := range got.header {
				switch name {
				case "Accept", "Accept-Encoding", "User-Agent":
				default:
					t.Errorf("header %s = %q reached the other host", name, got.header.Values(name))
				}
			}
			if got.header.Get("Accept") != "application/json" {
				t.Errorf("Accept = %q, want it kept", got.header.Get("Accept"))
			}
		})
	}
}

// TestHTTP_RedirectDowngrade: a redirect from https to http is never followed, not even to the same host.
func TestHTTP_RedirectDowngrade(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/secure" {
			w.Write([]byte(`1`))
			return
		}
		http.Redirect(w, r, "http://"+r.Host+"/plain", http.StatusFound)
	}))
	t.Cleanup(srv.Close)
	tr := NewTransport()
	tr.TLSClientConfig = &tls.Config{RootCAs: srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}
	h, err := NewHTTP(HTTPConfig{Name: "crm", Endpoints: []string{srv.URL}, Headers: http.Header{"X-Api-Key": {"k"}}}, WithTransport(tr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	_, err = h.Do(context.Background(), &Request{Path: "/x"})
	var se *Error
	if !errors.As(err, &se) || se.Status != 302 || !strings.Contains(se.PublicMessage(), "https to http") {
		t.Fatalf("err = %v, want the redirect refused", err)
	}
	if _, err := h.Do(context.Background(), &Request{Path: "/secure"}); err != nil {
		t.Fatalf("normal request: %v", err)
	}
}

func TestSameHost(t *testing.T) {
	tests := []struct {
		from, to string
		want     bool
	}{
		{"http://api:8080/a", "http://api:8080/b", true},
		{"http://API:8080/a", "http://api:8080/b", true},
		{"http://api:8080/a", "http://api:8081/b", false},
		{"http://api/a", "https://api/b", true},
		{"http://api/a", "http://api:80/b", true},
		{"https://api/a", "https://api:8443/b", false},
		{"http://api/a", "http://api.evil/b", false},
		{"http://127.0.0.1:1/a", "http://localhost:1/b", false},
	}
	for _, tc := range tests {
		from, _ := url.Parse(tc.from)
		to, _ := url.Parse(tc.to)
		if got := sameHost(from, to); got != tc.want {
			t.Errorf("sameHost(%s, %s) = %v, want %v", tc.from, tc.to, got, tc.want)
		}
	}
}

// TestError_PublicMessage (issue 13): the client's message names the source and what failed, never the
// backend's method, path, host or answer, which stay in Error() for logs.
func TestError_PublicMessage(t *testing.T) {
	tests := []struct {
		name string
		err  *Error
		want string
	}{
		{name: "HTTP error", err: &Error{Source: "crm", Code: CodeHTTPError, Status: 503, Method: "GET", Path: "/internal/customers/7"},
			want: "crm: upstream answered HTTP 503"},
		{name: "timeout", err: &Error{Source: "crm", Code: CodeTimeout, Method: "GET", Path: "/internal/customers/7",
			Err: &wireError{msg: "no answer within 800ms", err: context.DeadlineExceeded}}, want: "crm: no answer within 800ms"},
		{name: "connection error hides the URL", err: &Error{Source: "crm", Code: CodeUnavailable, Method: "GET", Path: "/internal/customers/7",
			Err: &wireError{msg: "connection refused", err: &url.Error{Op: "Get", URL: "http://10.0.0.7:9101/internal/customers/7", Err: errors.New("refused")}}},
			want: "crm: connection refused"},
		{name: "cancelled", err: &Error{Source: "crm", Code: CodeUnavailable, Method: "GET", Path: "/internal/customers/7", Err: context.Canceled},
			want: "crm: request cancelled"},
		{name: "bad response hides the body", err: &Error{Source: "crm", Code: CodeBadResponse, Status: 200, Method: "GET", Path: "/internal/customers/7",
			Err: errors.New(`invalid JSON near "<html>internal stack trace"`)}, want: "crm: upstream answer cannot be used"},
		{name: "wrapped by another package", err: &Error{Source: "crm", Code: CodeUnavailable, Err: errors.New("dial tcp 10.0.0.7:9101: refused")},
			want: "crm: upstream unavailable"},
		{name: "rate limited by the backend", err: &Error{Source: "crm", Code: CodeRateLimited, Status: 429, Method: "GET", Path: "/internal/customers/7"},
			want: "crm: upstream answered HTTP 429 (rate limited)"},
		{name: "circuit open", err: &Error{Source: "crm", Code: CodeCircuitOpen, Method: "GET", Path: "/internal/customers/7", Err: errNoEndpoint},
			want: "crm: every endpoint's circuit breaker is open"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.err.PublicMessage(); got != tc.want {
				t.Errorf("PublicMessage = %q, want %q", got, tc.want)
			}
			if tc.err.Path != "" && !strings.Contains(tc.err.Error(), tc.err.Path) {
				t.Errorf("Error() = %q lost the path, which logs need", tc.err.Error())
			}
		})
	}
}

// TestHTTP_DoPublicMessages: the errors Do returns give public messages without the method, path or host.
func TestHTTP_DoPublicMessages(t *testing.T) {
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/secret/503":
			w.WriteHeader(503)
		case "/secret/big":
			w.Write([]byte(strings.Repeat("x", 100)))
		case "/secret/hang":
			select {
			case <-hang:
			case <-r.Context().Done():
			}
		}
	})
	h := newHTTP(t, HTTPConfig{Endpoints: []string{b.URL}, Timeout: 50 * time.Millisecond, MaxResponseBytes: 10})
	dead := newHTTP(t, HTTPConfig{Endpoints: []string{deadEndpoint(t)}})
	tests := []struct {
		src  *HTTP
		path string
		want string
	}{
		{h, "/secret/503", "crm: upstream answered HTTP 503"},
		{h, "/secret/big", "crm: response larger than 10 bytes"},
		{h, "/secret/hang", "crm: no answer within 50ms"},
		{dead, "/secret/x", "crm: connection refused"},
	}
	for _, tc := range tests {
		_, err := tc.src.Do(context.Background(), &Request{Path: tc.path})
		var se *Error
		if !errors.As(err, &se) {
			t.Fatalf("%s: err = %v", tc.path, err)
		}
		if got := se.PublicMessage(); got != tc.want {
			t.Errorf("%s: PublicMessage = %q, want %q", tc.path, got, tc.want)
		}
		if !strings.Contains(se.Error(), tc.path) {
			t.Errorf("%s: Error() = %q, want the path for logs", tc.path, se.Error())
		}
	}
}

// TestRedirectPolicy: the policy for clients outside a source (the introspection at load) refuses another host
// and strips the headers for a listed one.
func TestRedirectPolicy(t *testing.T) {
	seen := make(chan http.Header, 1)
	other := newBackend(t, func(w http.ResponseWriter, r *http.Request) { seen <- r.Header.Clone() })
	_, port, _ := net.SplitHostPort(other.Listener.Addr().String())
	home := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://localhost:"+port+"/x", http.StatusTemporaryRedirect)
	})
	for _, tc := range []struct {
		hosts      []string
		wantStatus int
	}{{nil, 307}, {[]string{"localhost"}, 200}} {
		client := &http.Client{CheckRedirect: RedirectPolicy(RedirectsSameHost, tc.hosts)}
		req, _ := http.NewRequest("POST", home.URL, strings.NewReader(`{}`))
		req.Header.Set("X-Api-Key", "s3cr3t")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.wantStatus {
			t.Errorf("hosts %v: status %d, want %d", tc.hosts, resp.StatusCode, tc.wantStatus)
		}
		if tc.wantStatus == 200 {
			if h := <-seen; h.Get("X-Api-Key") != "" {
				t.Errorf("X-Api-Key reached the other host")
			}
		}
		client.CloseIdleConnections()
	}
	if n := other.hits.Load(); n != 1 {
		t.Errorf("other host hits = %d, want 1 (the listed case only)", n)
	}
}

func TestCheckPath(t *testing.T) {
	for _, p := range []string{"", "/", "/customers/7", "/a%2Fb", "/v1/items[0]", "/a,b;c=d:e@f!$&'()*+", "/%7e~"} {
		if reason := checkPath(p); reason != "" {
			t.Errorf("checkPath(%q) = %q, want valid", p, reason)
		}
	}
	for _, p := range []string{"a", "/a b", "/a?b", "/a#b", "/a|b", "/a\\b", "/a\x00", "/ü", "/%", "/%2", "/%g0", "/a%2Fb|c"} {
		if checkPath(p) == "" {
			t.Errorf("checkPath(%q) = valid, want refused", p)
		}
	}
}
