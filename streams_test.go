package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/coder/websocket"
	"github.com/conflux-gql/conflux/graph"
	"github.com/conflux-gql/conflux/resolvers"
	"github.com/conflux-gql/conflux/runtime"
	"github.com/conflux-gql/conflux/schema"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// fakeEngine is a graphql.ExecutableSchema standing in for the engine (STREAMS.md, "Engine ⇄ transports"):
// a subscription's handler yields what the test sends on its feed; query Deferred yields an initial and two
// subsequent payloads; any other query answers once.
type fakeEngine struct {
	schema *ast.Schema
	// feeds receives each subscription's feed as it starts.
	feeds chan *feed
	// gate holds the subsequent payload of query Gated until it is closed.
	gate chan struct{}
	// stuck holds query Stuck, which ignores its context (as parsing, validating or planning a large operation
	// does), until it is closed; stuckRunning counts the Stuck handlers not yet over.
	stuck        chan struct{}
	stuckRunning atomic.Int32
}

// feed is one subscription of the fake engine.
type feed struct {
	events    chan *graphql.Response // closed: the stream ends
	cancelled chan struct{}          // closed when the handler saw its ctx done
	once      sync.Once
	// lastCtx is the ctx of the handler's last call: gqlgen's executor does not call the handler again once the
	// operation's context is done, so a cancellation between two calls is seen here.
	lastCtx atomic.Pointer[context.Context]
}

// waitCancelled waits for the operation's context to be cancelled.
func (fd *feed) waitCancelled(t *testing.T) {
	t.Helper()
	waitFor(t, "the operation's context to be cancelled", func() bool {
		select {
		case <-fd.cancelled:
			return true
		default:
		}
		ctx := fd.lastCtx.Load()
		return ctx != nil && (*ctx).Err() != nil
	})
}

var _ graphql.ExecutableSchema = (*fakeEngine)(nil)

func newFakeEngine(t *testing.T) *fakeEngine {
	s, err := gqlparser.LoadSchema(&ast.Source{Input: `type Query { hello: String slow: String }
type Mutation { m: Int }
type Subscription { ticks: Int }`})
	if err != nil {
		t.Fatal(err)
	}
	return &fakeEngine{schema: s, feeds: make(chan *feed, 16), gate: make(chan struct{}), stuck: make(chan struct{})}
}

func (f *fakeEngine) Schema() *ast.Schema { return f.schema }

func (f *fakeEngine) Complexity(context.Context, string, string, int, map[string]any) (int, bool) {
	return 0, false
}

func (f *fakeEngine) Exec(ctx context.Context) graphql.ResponseHandler {
	oc := graphql.GetOperationContext(ctx)
	switch {
	case oc.Operation.Operation == ast.Subscription:
		fd := &feed{events: make(chan *graphql.Response, 8), cancelled: make(chan struct{})}
		// The operation's context until the handler is called: gqlgen's executor does not call it at all when the
		// context is done before its first call.
		fd.lastCtx.Store(&ctx)
		f.feeds <- fd
		return func(ctx context.Context) *graphql.Response {
			fd.lastCtx.Store(&ctx)
			select {
			case resp, ok := <-fd.events:
				if !ok {
					return nil
				}
				return resp
			case <-ctx.Done():
				fd.once.Do(func() { close(fd.cancelled) })
				return nil
			}
		}
	case oc.Operation.Name == "Whoami":
		// The operation's headers as the engine sees them: a tenant header and the claims of the token.
		who, _ := json.Marshal(oc.Headers.Get("X-Tenant") + "|" + oc.Headers.Get(resolvers.ClaimsHeader))
		return graphql.OneShot(&graphql.Response{Data: json.RawMessage(`{"hello":` + string(who) + `}`)})
	case oc.Operation.Name == "Headers":
		// The operation's headers as the engine sees them.
		h, _ := json.Marshal(oc.Headers)
		return graphql.OneShot(&graphql.Response{Data: json.RawMessage(`{"hello":` + strconvQuote(string(h)) + `}`)})
	case oc.Operation.Name == "Stuck":
		// Like planning, Exec itself does not stop at cancellation.
		f.stuckRunning.Add(1)
		defer f.stuckRunning.Add(-1)
		<-f.stuck
		return graphql.OneShot(&graphql.Response{Data: json.RawMessage(`{"hello":"late"}`)})
	case oc.Operation.Name == "Refused":
		return graphql.OneShot(&graphql.Response{Errors: gqlerror.List{{Message: "no plan", Extensions: map[string]any{"code": "PLAN_REFUSED"}}}})
	case oc.Operation.Name == "Gated":
		// An initial payload at once; the rest when the test closes gate.
		parts := []*graphql.Response{{Data: json.RawMessage(`{"hello":"world"}`), HasNext: ptr(true)},
			subsequent(`[{"data":{"slow":"a"},"path":[]}]`, false)}
		return func(ctx context.Context) *graphql.Response {
			if len(parts) == 0 {
				return nil
			}
			if len(parts) == 1 {
				select {
				case <-f.gate:
				case <-ctx.Done():
					return nil
				}
			}
			p := parts[0]
			parts = parts[1:]
			return p
		}
	case oc.Operation.Name == "Deferred":
		parts := []*graphql.Response{
			{Data: json.RawMessage(`{"hello":"world"}`), HasNext: ptr(true)},
			subsequent(`[{"data":{"slow":"a"},"path":[],"label":"one"}]`, true),
			subsequent(`[{"data":{"slow":"b"},"path":[],"label":"two"}]`, false),
		}
		return func(context.Context) *graphql.Response {
			if len(parts) == 0 {
				return nil
			}
			p := parts[0]
			parts = parts[1:]
			return p
		}
	}
	return graphql.OneShot(&graphql.Response{Data: json.RawMessage(`{"hello":"world"}`)})
}

func ptr[T any](v T) *T { return &v }

func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// subsequent builds a subsequent payload as the engine does (graph/incremental.go).
func subsequent(entries string, hasNext bool) *graphql.Response {
	resp := &graphql.Response{Label: "\x00incremental", Data: json.RawMessage(entries), HasNext: &hasNext}
	if _, ok := graph.Subsequent(resp); !ok {
		panic("graph.Subsequent does not take the fake's subsequent payload")
	}
	return resp
}

// streamEnv is the full server stack (newServer behind an edge, with the access log) over a fake engine.
type streamEnv struct {
	t       *testing.T
	engine  *fakeEngine
	srv     *server
	ts      *httptest.Server
	rt      *runtime.Runtime
	url     string // http://host:port
	metrics *prometheus.Registry
	stopped bool
}

// metric returns the value of the series name{labels} (name=value pairs), 0 when there is none.
func (e *streamEnv) metric(name string, labels ...string) float64 {
	return (&edgeEnv{t: e.t, metrics: e.metrics}).metric(name, labels...)
}

// newStreamEnv serves the fake engine with server, a YAML mapping, as the configuration's server: section.
func newStreamEnv(t *testing.T, server string) *streamEnv {
	t.Helper()
	cfg := "schema: [s.graphqls]\nbindings:\n  Query.a: {value: 1}\nserver: " + server + "\n"
	sg, err := schema.Parse("conflux.yaml", []byte(cfg), fstest.MapFS{"s.graphqls": {Data: []byte("type Query { a: Int }")}})
	if err != nil {
		t.Fatal(err)
	}
	fe := newFakeEngine(t)
	rt, err := runtime.New(runtime.Config{Supergraph: sg, Logger: discardLogger(),
		Handler: func(sg *schema.Supergraph, _ *graph.Engine) (http.Handler, error) {
			return newGraphQLHandler(sg, fe, nil, nil)
		}})
	if err != nil {
		t.Fatal(err)
	}
	env := serveStack(t, sg, rt)
	env.engine = fe
	return env
}

// serveStack serves rt, built from sg, through newServer behind an edge, with the access log, until the test
// ends (streams shut down, then the runtime closed).
func serveStack(t *testing.T, sg *schema.Supergraph, rt *runtime.Runtime) *streamEnv {
	t.Helper()
	reg := prometheus.NewRegistry()
	sm, err := newStreamMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	em, err := newEdgeMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(rt)
	srv.access = discardLogger()
	srv.streams.metrics = sm
	e := newEdge(edgeConfig{Name: edgeMain, Settings: sg.Settings, MaxConnections: 100, Metrics: em})
	ts := httptest.NewUnstartedServer(nil)
	ts.Listener = e.Listener(ts.Listener)
	ts.Config = e.Server(srv)
	ts.Start()
	env := &streamEnv{t: t, srv: srv, ts: ts, rt: rt, url: ts.URL, metrics: reg}
	t.Cleanup(func() {
		env.shutdown()
		rt.Close()
	})
	return env
}

// shutdown stops the server as serve does: streams, then the HTTP server.
func (e *streamEnv) shutdown() {
	if e.stopped {
		return
	}
	e.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.srv.streams.Shutdown(ctx); err != nil {
		e.t.Errorf("streams.Shutdown: %v", err)
	}
	e.ts.Close()
}

// nextFeed waits for the next subscription to reach the engine.
func (e *streamEnv) nextFeed() *feed {
	e.t.Helper()
	select {
	case fd := <-e.engine.feeds:
		return fd
	case <-time.After(5 * time.Second):
		e.t.Fatal("no subscription reached the engine")
		return nil
	}
}

func waitClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

func event(data string) *graphql.Response { return &graphql.Response{Data: json.RawMessage(data)} }

// wsClient is a graphql-transport-ws client for tests.
type wsClient struct {
	t *testing.T
	c *websocket.Conn
}

// connectWS dials a graphql-transport-ws connection to url and makes it acknowledged (connection_init, then
// connection_ack), failing the test otherwise.
func connectWS(t *testing.T, url string) *wsClient {
	t.Helper()
	c, _, err := dialWS(t, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.init()
	return c
}

func dialWS(t *testing.T, url string, header http.Header, subprotocols ...string) (*wsClient, *http.Response, error) {
	t.Helper()
	if subprotocols == nil {
		subprotocols = []string{subprotocolWS}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, strings.Replace(url, "http://", "ws://", 1)+"/graphql",
		&websocket.DialOptions{Subprotocols: subprotocols, HTTPHeader: header})
	if err != nil {
		return nil, resp, err
	}
	t.Cleanup(func() { _ = c.CloseNow() })
	return &wsClient{t: t, c: c}, resp, nil
}

func (w *wsClient) send(msg string) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		w.t.Fatalf("write %s: %v", msg, err)
	}
}

// read returns the next message's JSON, or the close error.
func (w *wsClient) read() (map[string]any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, data, err := w.c.Read(ctx)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		w.t.Fatalf("message is not JSON: %s", data)
	}
	return m, nil
}

// expect reads the next message and checks its type (and id when not "").
func (w *wsClient) expect(typ, id string) map[string]any {
	w.t.Helper()
	m, err := w.read()
	if err != nil {
		w.t.Fatalf("want %s message, got %v", typ, err)
	}
	if m["type"] != typ || id != "" && m["id"] != id {
		w.t.Fatalf("want %s %s, got %v", typ, id, m)
	}
	return m
}

// expectClose reads until the server closes with code.
func (w *wsClient) expectClose(code websocket.StatusCode) {
	w.t.Helper()
	for {
		m, err := w.read()
		if err != nil {
			if got := websocket.CloseStatus(err); got != code {
				w.t.Fatalf("closed with %d (%v), want %d", got, err, code)
			}
			return
		}
		_ = m
	}
}

func (w *wsClient) init() {
	w.t.Helper()
	w.send(`{"type":"connection_init"}`)
	w.expect(wsConnectionAck, "")
}

// sseEvents reads an SSE stream's events (type and data), comments counted apart.
type sseReader struct {
	r        *bufio.Reader
	comments int
}

func (s *sseReader) next() (typ, data string, err error) {
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			return "", "", err
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if typ != "" {
				return typ, data, nil
			}
		case strings.HasPrefix(line, ":"):
			s.comments++
		case strings.HasPrefix(line, "event: "):
			typ = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data:"):
			data = strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " ")
		}
	}
}

func postStream(t *testing.T, ctx context.Context, url, accept, body string) *http.Response {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url+"/graphql", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", accept)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// multipartParts reads a multipart/mixed answer's JSON parts.
func multipartParts(t *testing.T, resp *http.Response) []string {
	t.Helper()
	mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" || params["boundary"] != "-" || params["deferspec"] != "20220824" {
		t.Fatalf("Content-Type %q", resp.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(resp.Body, params["boundary"])
	var parts []string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return parts
		}
		if err != nil {
			t.Fatal(err)
		}
		if ct := p.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("part Content-Type %q", ct)
		}
		b, _ := io.ReadAll(p)
		parts = append(parts, string(b))
	}
}

// TestStreams_InFlight: long-lived streams hold no server.maxInFlight slot — WebSocket connections never, a
// subscription over SSE once it streams — so they cannot shed queries; the stream metrics count them.
func TestStreams_InFlight(t *testing.T) {
	env := newStreamEnv(t, `{maxInFlight: 1}`)
	c := connectWS(t, env.url)
	c.send(`{"type":"subscribe","id":"1","payload":{"query":"subscription{ticks}"}}`)
	ws := env.nextFeed()
	resp := postStream(t, context.Background(), env.url, "text/event-stream", `{"query":"subscription{ticks}"}`)
	sse := env.nextFeed()
	for range 2 {
		r := postStream(t, context.Background(), env.url, "application/json", `{"query":"{hello}"}`)
		body, _ := io.ReadAll(r.Body)
		if r.StatusCode != 200 || string(body) != `{"data":{"hello":"world"}}` {
			t.Fatalf("query beside the streams: %d %s", r.StatusCode, body)
		}
	}
	ws.events <- event(`{"ticks":1}`)
	c.expect(wsNext, "1")
	sse.events <- event(`{"ticks":1}`)
	if typ, _, err := (&sseReader{r: bufio.NewReader(resp.Body)}).next(); err != nil || typ != "next" {
		t.Fatalf("sse event %q %v", typ, err)
	}
	if got := env.metric("conflux_subscriptions_open", "transport=ws"); got != 1 {
		t.Errorf("ws subscriptions open = %v", got)
	}
	if got := env.metric("conflux_subscriptions_open", "transport=sse"); got != 1 {
		t.Errorf("sse subscriptions open = %v", got)
	}
	if got := env.metric("conflux_stream_messages_total", "transport=ws"); got != 1 {
		t.Errorf("ws messages = %v", got)
	}
	if got := env.metric("conflux_requests_in_flight", "listener=main"); got != 0 {
		t.Errorf("in flight = %v, want 0", got)
	}
	close(ws.events)
	close(sse.events)
	c.expect(wsComplete, "1")
	waitFor(t, "the subscriptions to be released", func() bool { return env.srv.streams.Open() == 0 })
	if got := env.metric("conflux_subscriptions_open", "transport=sse"); got != 0 {
		t.Errorf("sse subscriptions open = %v after the end", got)
	}
}

// TestStreams_InFlightAccept: however a client spells the media types of its Accept (they are case-insensitive),
// a subscription over SSE or multipart/mixed is served, counted against server.subscriptions.max, and gives its
// in-flight slot back, so that it cannot starve queries.
func TestStreams_InFlightAccept(t *testing.T) {
	for _, accept := range []string{"Text/Event-Stream", "TEXT/event-stream", "multipart/mixed;subscriptionspec=1.0",
		"Multipart/Mixed;SubscriptionSpec=1.0"} {
		t.Run(accept, func(t *testing.T) {
			env := newStreamEnv(t, `{maxInFlight: 1}`)
			resp := postStream(t, context.Background(), env.url, accept, `{"query":"subscription{ticks}"}`)
			if resp.StatusCode != 200 {
				body, _ := io.ReadAll(resp.Body)
				t.Fatalf("subscription: %d %s", resp.StatusCode, body)
			}
			env.nextFeed()
			if n := env.srv.streams.Open(); n != 1 {
				t.Errorf("%d subscriptions counted, want 1", n)
			}
			waitFor(t, "the slot back", func() bool { return env.metric("conflux_requests_in_flight", "listener=main") == 0 })
			r := postStream(t, context.Background(), env.url, "application/json", `{"query":"{hello}"}`)
			if body, _ := io.ReadAll(r.Body); r.StatusCode != 200 {
				t.Errorf("query beside the subscription: %d %s", r.StatusCode, body)
			}
		})
	}
}
