package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/conflux-gql/conflux/examples/mock"
	"github.com/conflux-gql/conflux/examples/posts"
	"github.com/conflux-gql/conflux/schema"
	"github.com/prometheus/client_golang/prometheus"
)

// edgeEnv is the posts example served as serve serves it: behind an edge, on a real listener on 127.0.0.1.
type edgeEnv struct {
	t       *testing.T
	e       *edge
	addr    string
	api     *mock.Backend
	metrics *prometheus.Registry
}

// newEdgeEnv serves the posts example through an edge, with server, a YAML mapping, as the configuration's
// server: section.
func newEdgeEnv(t *testing.T, server string) *edgeEnv {
	return serveEdge(t, server, nil)
}

// serveEdge serves the posts example through an edge: on 127.0.0.1 as serve does (Listen), or on ln (wrapped by
// the edge) when it is not nil.
func serveEdge(t *testing.T, server string, ln net.Listener) *edgeEnv {
	t.Helper()
	api, err := posts.Start(posts.Options{}, "127.0.0.1:0")
	if err != nil {
		t.Fatalf("start backend: %v", err)
	}
	t.Cleanup(func() { api.Close() })
	env := startConflux(t, "examples/posts", map[string]string{
		"http://" + posts.DefaultAddr:     api.URL(),
		"schema: [schema/posts.graphqls]": "schema: [schema/posts.graphqls]\nserver: " + server,
	}, nil)
	s := env.rt.Supergraph().Settings
	reg := prometheus.NewRegistry()
	m, err := newEdgeMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	e := newEdge(edgeConfig{Name: edgeMain, Settings: s, MaxConnections: s.MaxConnections, Metrics: m})
	var hs *http.Server
	if ln == nil {
		ln, hs, err = e.Listen("127.0.0.1:0", env.srv.Config.Handler)
		if err != nil {
			t.Fatal(err)
		}
	} else {
		ln, hs = e.Listener(ln), e.Server(env.srv.Config.Handler)
	}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	t.Cleanup(func() {
		_ = hs.Close()
		<-done
		waitFor(t, "every request to end", func() bool { return e.InFlight() == 0 })
	})
	return &edgeEnv{t: t, e: e, addr: ln.Addr().String(), api: api, metrics: reg}
}

// metric returns the value of the series name{labels} (name=value pairs), 0 when there is none.
func (env *edgeEnv) metric(name string, labels ...string) float64 {
	env.t.Helper()
	mfs, err := env.metrics.Gather()
	if err != nil {
		env.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue series
				}
			}
			return m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return 0
}

// client is an HTTP client whose connections come from the loopback address ip (127.0.0.2 is "another client").
// It does not keep connections alive, so they do not count against the caps once answered.
func (env *edgeEnv) client(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	tr := &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}
	env.t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// query posts a GraphQL query from ip and returns the status, the Retry-After header and the body.
func (env *edgeEnv) query(ip, q string) (int, string, string) {
	env.t.Helper()
	body, _ := json.Marshal(map[string]string{"query": q})
	resp, err := env.client(ip).Post("http://"+env.addr+"/graphql", "application/json", strings.NewReader(string(body)))
	if err != nil {
		env.t.Fatalf("query from %s: %v", ip, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		env.t.Fatalf("query from %s: read: %v", ip, err)
	}
	return resp.StatusCode, resp.Header.Get("Retry-After"), string(raw)
}

// served asserts that a normal query from ip is answered in full.
func (env *edgeEnv) served(ip string) {
	env.t.Helper()
	status, _, body := env.query(ip, `{ posts { id } }`)
	if status != 200 || !strings.HasPrefix(body, `{"data":{"posts":[{"id":"1"}`) {
		env.t.Fatalf("a normal query from %s: status %d: %.200s", ip, status, body)
	}
}

// dial opens a raw connection from the loopback address ip.
func (env *edgeEnv) dial(ip string) net.Conn {
	env.t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", env.addr)
	if err != nil {
		env.t.Fatalf("dial from %s: %v", ip, err)
	}
	env.t.Cleanup(func() { c.Close() })
	return c
}

// health sends GET /healthz on c (keep-alive) and returns the status, or the error.
func health(c net.Conn, r *bufio.Reader) (int, error) {
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: conflux\r\n\r\n"); err != nil {
		return 0, err
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// refused asserts that the server closes a connection from ip without answering it: the dial fails, or the
// connection ends before any answer.
func (env *edgeEnv) refused(ip string) {
	env.t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", env.addr)
	if err != nil {
		if !errors.Is(err, syscall.ECONNRESET) {
			env.t.Fatalf("dial from %s: %v; want a reset or a closed connection", ip, err)
		}
		return // reset before connect returned
	}
	defer c.Close()
	_, _ = io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: conflux\r\n\r\n")
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := c.Read(make([]byte, 1))
	var ne net.Error
	if n > 0 || err == nil || errors.As(err, &ne) && ne.Timeout() {
		env.t.Fatalf("connection from %s over the cap: read %d bytes, %v; want it closed at once", ip, n, err)
	}
}

// waitFor waits until cond holds, for 5 s at most.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestConnectionCap(t *testing.T) {
	for _, tc := range []struct {
		name       string
		configured int
		nofile     uint64
		listeners  int
		want       int
	}{
		{"configured cap within the descriptors", 10000, 1 << 20, 1, 10000},
		{"descriptors bind", 10000, 4096, 1, 4096 - fdReserve},
		{"shared among two listeners", 10000, 4096, 2, (4096 - fdReserve) / 2},
		{"small limit keeps half in reserve", 10000, 1024, 1, 512},
		{"off: the descriptors still bind", 0, 4096, 1, 4096 - fdReserve},
		{"unknown limit", 10000, 0, 1, 10000},
		{"unknown limit, off", 0, 0, 1, 0},
		{"unlimited descriptors", 10000, 1 << 62, 2, 10000},
		{"tiny limit", 10000, 1, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := connectionCap(tc.configured, tc.nofile, tc.listeners); got != tc.want {
				t.Errorf("connectionCap(%d, %d, %d) = %d, want %d", tc.configured, tc.nofile, tc.listeners, got, tc.want)
			}
		})
	}
	if got := openFileLimit(); got == 0 {
		t.Errorf("openFileLimit() = 0: RLIMIT_NOFILE not read")
	}
}

// TestEdge_SlowClients: connections that send their request head or body slowly (the 21,000 slow-body
// connections) are cut after server.readHeaderTimeout or server.readTimeout, and while many are open another
// client is answered.
func TestEdge_SlowClients(t *testing.T) {
	const slow = 40
	for _, tc := range []struct {
		name    string
		send    string // what each slow client sends before it stalls
		timeout time.Duration
	}{
		{"slow head", "POST /graphql HTTP/1.1\r\nHost: conflux\r\nContent-Type: application/json\r\n", 600 * time.Millisecond},
		{"slow body", "POST /graphql HTTP/1.1\r\nHost: conflux\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"query\":", 900 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newEdgeEnv(t, fmt.Sprintf(`{readHeaderTimeout: 600ms, readTimeout: 900ms, maxConnectionsPerClient: %d}`, slow))
			conns := make([]net.Conn, slow)
			first := time.Now() // before the first connection is accepted, when its deadline is set
			for i := range conns {
				conns[i] = env.dial("127.0.0.1")
				if _, err := io.WriteString(conns[i], tc.send); err != nil {
					t.Fatal(err)
				}
			}
			waitFor(t, "the slow connections to be accepted", func() bool { return env.e.OpenConnections() == slow })
			env.served("127.0.0.2")

			for i, c := range conns {
				_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
				_, err := io.Copy(io.Discard, c) // an error answer, then EOF; or a reset
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					t.Fatalf("slow connection %d still open after 5 s", i)
				}
				if took := time.Since(first); i == 0 && (took < tc.timeout || took > tc.timeout+2*time.Second) {
					t.Errorf("the first slow connection was cut after %v, want about %v", took, tc.timeout)
				}
			}
			waitFor(t, "the slots to be freed", func() bool { return env.e.OpenConnections() == 0 })
			env.served("127.0.0.1")
		})
	}
}

// TestEdge_IdleTimeout: a keep-alive connection that sends nothing after its answer is closed after
// server.idleTimeout, and not before; with idleTimeout 0 it stays open (net/http would fall back to readTimeout).
func TestEdge_IdleTimeout(t *testing.T) {
	const idle = 300 * time.Millisecond
	for _, tc := range []struct {
		name   string
		idle   time.Duration
		closed bool
	}{
		{"closed after idleTimeout", idle, true},
		{"off", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newEdgeEnv(t, fmt.Sprintf(`{idleTimeout: %s, readTimeout: %s}`, tc.idle, idle/2))
			c := env.dial("127.0.0.1")
			r := bufio.NewReader(c)
			if status, err := health(c, r); err != nil || status != 200 {
				t.Fatalf("GET /healthz: %d, %v", status, err)
			}
			answered := time.Now()
			wait := 5 * time.Second
			if !tc.closed {
				wait = 3 * idle
			}
			_ = c.SetReadDeadline(time.Now().Add(wait))
			n, err := r.Read(make([]byte, 1))
			took := time.Since(answered)
			if !tc.closed {
				var ne net.Error
				if !errors.As(err, &ne) || !ne.Timeout() {
					t.Fatalf("idle connection with idleTimeout 0: read %d bytes, %v after %v; want it open", n, err, took)
				}
				if status, err := health(c, r); err != nil || status != 200 {
					t.Fatalf("GET /healthz after idling: %d, %v", status, err)
				}
				return
			}
			if n != 0 || !errors.Is(err, io.EOF) {
				t.Fatalf("idle connection: read %d bytes, %v; want EOF", n, err)
			}
			if took < idle-50*time.Millisecond || took > idle+2*time.Second {
				t.Errorf("idle connection closed after %v, want about %v", took, idle)
			}
			waitFor(t, "the slot to be freed", func() bool { return env.e.OpenConnections() == 0 })
		})
	}
}

// TestEdge_ConnectionCaps: a connection over server.maxConnectionsPerClient (from one address) or
// server.maxConnections (from any) is closed at once and counted; other clients still connect, and a closed
// connection frees its slot exactly once.
func TestEdge_ConnectionCaps(t *testing.T) {
	for _, tc := range []struct {
		name        string
		max, client int
		first       []string // addresses of the connections that fill the cap
		over        string   // the address of the connection over it
		other       string   // another client, still admitted (empty: none is, the global cap is full)
		reason      string
	}{
		{"per client", 100, 3, []string{"127.0.0.1", "127.0.0.1", "127.0.0.1"}, "127.0.0.1", "127.0.0.2", refusedMaxConnectionsPerClient},
		{"global", 3, 0, []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"}, "127.0.0.4", "", refusedMaxConnections},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newEdgeEnv(t, fmt.Sprintf(`{maxConnections: %d, maxConnectionsPerClient: %d}`, tc.max, tc.client))
			var conns []net.Conn
			for _, ip := range tc.first {
				c := env.dial(ip)
				if status, err := health(c, bufio.NewReader(c)); err != nil || status != 200 {
					t.Fatalf("connection from %s within the cap: %d, %v", ip, status, err)
				}
				conns = append(conns, c)
			}
			env.refused(tc.over)
			env.refused(tc.over)
			if got := env.metric("conflux_connections_refused_total", "listener", edgeMain, "reason", tc.reason); got != 2 {
				t.Errorf("conflux_connections_refused_total{reason=%q} = %v, want 2", tc.reason, got)
			}
			if tc.other != "" {
				env.served(tc.other)
			}

			// Closing a connection frees its slot, once: closing it again frees nothing more.
			conns[0].Close()
			waitFor(t, "the slot to be freed", func() bool { return env.e.OpenConnections() == len(tc.first)-1 })
			c := env.dial(tc.over)
			if status, err := health(c, bufio.NewReader(c)); err != nil || status != 200 {
				t.Fatalf("connection from %s after a slot was freed: %d, %v", tc.over, status, err)
			}
			env.refused(tc.over)
			if got := env.e.OpenConnections(); got != len(tc.first) {
				t.Errorf("open connections = %d, want %d", got, len(tc.first))
			}
			if got := env.metric("conflux_connections_open", "listener", edgeMain); got != float64(len(tc.first)) {
				t.Errorf("conflux_connections_open = %v, want %d", got, len(tc.first))
			}
		})
	}
}

func TestLimitConn_CloseReleasesOnce(t *testing.T) {
	e := newEdge(edgeConfig{Name: edgeMain, MaxConnections: 2, Settings: schema.Settings{MaxConnectionsPerClient: 2}})
	client := clientOf(&net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 1})
	for range 2 {
		if r := e.conns.acquire(client); r != "" {
			t.Fatalf("acquire: %s", r)
		}
	}
	a, b := net.Pipe()
	defer b.Close()
	c := &limitConn{Conn: a, e: e, client: client}
	for range 3 {
		_ = c.Close()
	}
	if got := e.OpenConnections(); got != 1 {
		t.Errorf("open after closing one connection three times = %d, want 1", got)
	}
	if got := e.conns.clients[client]; got != 1 {
		t.Errorf("open for the client = %d, want 1", got)
	}
}

func TestClientOf(t *testing.T) {
	for _, tc := range []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.ParseIP("192.0.2.7"), Port: 4000}, "192.0.2.7"},
		{&net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.7"), Port: 4000}, "192.0.2.7"},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), Port: 4000}, "2001:db8:1:2::"},
		{&net.UnixAddr{Name: "/tmp/conflux.sock", Net: "unix"}, "invalid IP"},
	} {
		if got := clientOf(tc.addr).String(); got != tc.want {
			t.Errorf("clientOf(%v) = %s, want %s", tc.addr, got, tc.want)
		}
	}
}

// TestEdge_InFlight: past server.maxInFlight requests being served, a request is answered at once with 503,
// Retry-After and SERVER_BUSY; health endpoints are still served; once the slots free up, requests are served.
func TestEdge_InFlight(t *testing.T) {
	const max = 2
	env := newEdgeEnv(t, fmt.Sprintf(`{maxInFlight: %d}`, max))
	release := make(chan struct{})
	env.api.SetMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
			next.ServeHTTP(w, r)
		})
	})
	type result struct {
		status int
		body   string
	}
	results := make(chan result, max)
	for i := range max {
		ip := fmt.Sprintf("127.0.0.%d", i+1)
		go func() {
			status, _, body := env.query(ip, `{ posts { id } }`)
			results <- result{status, body}
		}()
	}
	waitFor(t, "the slots to fill", func() bool { return env.e.InFlight() == max })

	start := time.Now()
	status, retry, body := env.query("127.0.0.3", `{ posts { id } }`)
	if took := time.Since(start); took > time.Second {
		t.Errorf("shedding took %v, want at once", took)
	}
	var answer struct {
		Data   any `json:"data"`
		Errors []struct {
			Message    string
			Extensions map[string]any
		}
	}
	if err := json.Unmarshal([]byte(body), &answer); err != nil {
		t.Fatalf("busy answer is not JSON: %v: %s", err, body)
	}
	if status != http.StatusServiceUnavailable || retry != "1" || answer.Data != nil || len(answer.Errors) != 1 ||
		answer.Errors[0].Extensions["code"] != "SERVER_BUSY" || answer.Errors[0].Message == "" {
		t.Errorf("over the cap: status %d, Retry-After %q, body %s; want 503, 1, one SERVER_BUSY error", status, retry, body)
	}
	if got := env.metric("conflux_requests_shed_total", "listener", edgeMain); got != 1 {
		t.Errorf("conflux_requests_shed_total = %v, want 1", got)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := env.client("127.0.0.3").Get("http://" + env.addr + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET %s while busy: %d, want 200", path, resp.StatusCode)
		}
	}

	close(release)
	for range max {
		if r := <-results; r.status != 200 || !strings.Contains(r.body, `"posts"`) {
			t.Errorf("request holding a slot: %d %s", r.status, r.body)
		}
	}
	waitFor(t, "the slots to be freed", func() bool { return env.e.InFlight() == 0 })
	env.served("127.0.0.3")
}

// bigPosts answers GET /posts with n posts of a 4 KB body each.
func bigPosts(n int) func(http.Handler) http.Handler {
	text := strings.Repeat("x", 4096)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/posts" {
				next.ServeHTTP(w, r)
				return
			}
			ps := make([]posts.Post, n)
			for i := range ps {
				ps[i] = posts.Post{ID: i + 1, UserID: 1, Title: "t", Body: text}
			}
			mock.WriteJSON(w, 200, ps)
		})
	}
}

// smallSendBuffers gives the connections it accepts a small kernel send buffer, so that an answer the client does
// not read fills the buffers with a megabyte rather than with the many megabytes loopback autotuning allows.
type smallSendBuffers struct{ net.Listener }

func (l smallSendBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(32 << 10)
	}
	return c, err
}

// TestEdge_WriteTimeout: a client that never reads a large answer holds it for server.writeTimeout at most:
// then the connection is cut and the handler returns (freeing the answer). Another client is served meanwhile.
func TestEdge_WriteTimeout(t *testing.T) {
	const wt = time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	env := serveEdge(t, fmt.Sprintf(`{writeTimeout: %s}`, wt), smallSendBuffers{ln})
	env.api.SetMiddleware(bigPosts(250)) // a 1 MB answer: more than the socket buffers hold

	c := env.dial("127.0.0.1")
	_ = c.(*net.TCPConn).SetReadBuffer(16 << 10)
	q := `{"query":"{ posts { id body } }"}`
	start := time.Now()
	fmt.Fprintf(c, "POST /graphql HTTP/1.1\r\nHost: conflux\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(q), q)
	waitFor(t, "the request to start", func() bool { return env.e.InFlight() == 1 })
	env.served("127.0.0.2")
	waitFor(t, "the handler to give up writing", func() bool { return env.e.InFlight() == 0 })
	if took := time.Since(start); took < wt {
		t.Errorf("writing stopped after %v, before the write timeout (%v)", took, wt)
	}

	// The client that did not read gets part of the answer, then the connection ends.
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection still open after the write timeout (read %d bytes)", n)
	}
	waitFor(t, "the slot to be freed", func() bool { return env.e.OpenConnections() == 0 })

	// A client that reads gets the whole answer.
	status, _, body := env.query("127.0.0.3", `{ posts { id body } }`)
	if status != 200 || len(body) < 1e6 || !strings.HasSuffix(strings.TrimSpace(body), `"}]}}`) {
		t.Errorf("a reading client: status %d, %d bytes, ending %q", status, len(body), body[max(0, len(body)-20):])
	}
	if n >= int64(len(body)) {
		t.Errorf("the client that did not read got %d bytes, the whole answer (%d bytes)", n, len(body))
	}
}

// TestEdge_WriteTimeoutExcludesExecution: server.writeTimeout counts from when the answer is ready, so an
// operation that runs longer than it (server.operationTimeout bounds execution) is answered in full.
func TestEdge_WriteTimeoutExcludesExecution(t *testing.T) {
	const wt = 200 * time.Millisecond
	env := newEdgeEnv(t, fmt.Sprintf(`{writeTimeout: %s}`, wt))
	env.api.SetLatency(2 * wt)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+env.addr+"/graphql",
		strings.NewReader(`{"query":"{ posts { id } }"}`))
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := env.client("127.0.0.1").Do(req)
	if err != nil {
		t.Fatalf("slow operation: %v", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 || !strings.Contains(string(raw), `{"id":"100"}`) {
		t.Fatalf("slow operation: %d, %v: %.200s", resp.StatusCode, err, raw)
	}
	if took := time.Since(start); took < 2*wt {
		t.Errorf("answered after %v: the backend latency (%v) did not apply", took, 2*wt)
	}
}

// BenchmarkEdge_Handler measures what the edge adds to each request (the in-flight count and metrics, the write
// deadline) over a handler that writes a small answer.
func BenchmarkEdge_Handler(b *testing.B) {
	answer := []byte(`{"data":{"posts":[{"id":"1"}]}}`)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(answer) })
	m, err := newEdgeMetrics(prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	s := schema.DefaultSettings()
	for _, tc := range []struct {
		name string
		h    http.Handler
	}{
		{"bare", h},
		{"edge", newEdge(edgeConfig{Name: edgeMain, Settings: s, Metrics: m}).handler(h)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				r := httptest.NewRequest(http.MethodPost, "/graphql", nil)
				for pb.Next() {
					w := httptest.NewRecorder()
					tc.h.ServeHTTP(w, r)
					if w.Body.Len() != len(answer) {
						b.Fatalf("answer of %d bytes", w.Body.Len())
					}
				}
			})
		})
	}
}

// TestServe_Edge runs serve itself, with --admin-addr: both listeners apply the configured connection cap, and
// /metrics reports refusals by listener.
func TestServe_Edge(t *testing.T) {
	api, err := posts.Start(posts.Options{}, "127.0.0.1:0")
	if err != nil {
		t.Fatalf("start backend: %v", err)
	}
	defer api.Close()
	dir := t.TempDir()
	for _, f := range []string{"conflux.yaml", "schema/posts.graphqls"} {
		data, err := os.ReadFile(filepath.Join("examples/posts", f))
		if err != nil {
			t.Fatal(err)
		}
		s := strings.ReplaceAll(string(data), "http://"+posts.DefaultAddr, api.URL())
		s = strings.Replace(s, "schema: [schema/posts.graphqls]", "schema: [schema/posts.graphqls]\nserver: {maxConnectionsPerClient: 1}", 1)
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	adminAddr := free.Addr().String()
	free.Close()

	out, w := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- serve([]string{"--addr", "127.0.0.1:0", "--admin-addr", adminAddr, "--config", filepath.Join(dir, "conflux.yaml")}, w)
		w.Close()
	}()
	var addr string
	for sc := bufio.NewScanner(out); sc.Scan(); {
		if u, ok := strings.CutPrefix(sc.Text(), "Playground: http://"); ok {
			addr = strings.TrimSuffix(u, "/")
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	if addr == "" {
		t.Fatalf("serve did not start: %v", <-done)
	}
	defer func() {
		select {
		case err := <-done: // serve returned on its own: a signal now would kill the test binary
			t.Fatalf("serve stopped early: %v", err)
		default:
		}
		if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil { // serve's signal context stops it
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()

	env := &edgeEnv{t: t}
	for _, a := range []string{addr, adminAddr} {
		env.addr = a
		c := env.dial("127.0.0.1")
		if status, err := health(c, bufio.NewReader(c)); err != nil || (a == addr) != (status == 200) {
			t.Fatalf("first connection to %s: %d, %v", a, status, err) // the admin API has no /healthz: 4xx
		}
		env.refused("127.0.0.1")
		c.Close()
	}
	env.addr = addr
	resp, err := env.client("127.0.0.2").Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, l := range []string{edgeMain, edgeAdmin} {
		want := fmt.Sprintf(`conflux_connections_refused_total{listener=%q,reason="max_connections_per_client"} 1`, l)
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
