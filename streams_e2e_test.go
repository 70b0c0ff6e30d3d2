package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/coder/websocket"
	"github.com/conflux-gql/conflux/schema"
)

// newEngineStreamEnv serves the orders and customers backends of subscribe_test.go through the real engine and
// the full server stack; the order's status turns from new to shipped after two polls.
func newEngineStreamEnv(t *testing.T) *streamEnv {
	env, _ := newEngineStreamEnvFile(t)
	return env
}

// newEngineStreamEnvFile is newEngineStreamEnv, with a func that rewrites the configuration with another poll
// interval.
func newEngineStreamEnvFile(t *testing.T) (*streamEnv, func(interval string)) {
	t.Helper()
	var polls atomic.Int32
	orders := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status := "new"
		if polls.Add(1) > 2 {
			status = "shipped"
		}
		fmt.Fprintf(w, `{"id":%q,"status":%q,"customerId":"c1"}`, strings.TrimPrefix(r.URL.Path, "/orders/"), status)
	}))
	t.Cleanup(orders.Close)
	customers := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `[{"id":%q,"name":"Ada"}]`, r.URL.Query().Get("id"))
	}))
	t.Cleanup(customers.Close)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "s.graphqls"), []byte(subsE2ESDL), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "conflux.yaml")
	write := func(interval string) {
		// A short keep-alive: a multipart part is whole for Go's reader when the next one begins.
		cfg := fmt.Sprintf(subsE2EConfig, orders.URL, customers.URL, interval) + "server:\n  subscriptions: {keepAlive: 50ms}\n"
		if err := os.WriteFile(file, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("100ms")
	sg, err := schema.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := newRuntime(sg, nil, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	return serveStack(t, sg, rt), write
}

// TestStreamsEngine_WS: a polled subscription through the real engine over graphql-transport-ws, each event
// enriched by the batched customer; at shutdown (the runtime closed, then the streams) the client hears
// SUBSCRIPTION_CLOSED, complete, and the close 1001.
func TestStreamsEngine_WS(t *testing.T) {
	env := newEngineStreamEnv(t)
	c := connectWS(t, env.url)
	c.send(`{"type":"subscribe","id":"1","payload":{"query":"subscription { orderStatus(id: \"7\") { id status customer { name } } }"}}`)
	want := []string{
		`{"data":{"orderStatus":{"customer":{"name":"Ada"},"id":"7","status":"new"}}}`,
		`{"data":{"orderStatus":{"customer":{"name":"Ada"},"id":"7","status":"shipped"}}}`,
	}
	for i, w := range want {
		if got := mustJSON(c.expect(wsNext, "1")["payload"]); got != w {
			t.Errorf("event %d: %s, want %s", i, got, w)
		}
	}
	// A query on the same connection.
	c.send(`{"type":"subscribe","id":"q","payload":{"query":"{ order(id: \"8\") { id } }"}}`)
	if got := mustJSON(c.expect(wsNext, "q")["payload"]); got != `{"data":{"order":{"id":"8"}}}` {
		t.Errorf("query: %s", got)
	}
	c.expect(wsComplete, "q")

	env.rt.Close()
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5e9)
		defer cancel()
		done <- env.srv.streams.Shutdown(ctx)
	}()
	if got := mustJSON(c.expect(wsNext, "1")["payload"]); !strings.Contains(got, codeSubscriptionClosed) || !strings.Contains(got, `"data":null`) {
		t.Errorf("last event %s", got)
	}
	c.expect(wsComplete, "1")
	c.expectClose(websocket.StatusGoingAway)
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

// TestStreamsEngine_SSE: the same subscription over SSE; a Subscription refused by validation is a request
// error.
func TestStreamsEngine_SSE(t *testing.T) {
	env := newEngineStreamEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resp := postStream(t, ctx, env.url, "text/event-stream", `{"query":"subscription { orderStatus(id: \"7\") { status } }"}`)
	sr := &sseReader{r: bufio.NewReader(resp.Body)}
	for _, w := range []string{`{"data":{"orderStatus":{"status":"new"}}}`, `{"data":{"orderStatus":{"status":"shipped"}}}`} {
		if typ, data, err := sr.next(); err != nil || typ != "next" || data != w {
			t.Fatalf("event %q %q %v, want %s", typ, data, err, w)
		}
	}
	cancel()
	waitFor(t, "the subscription to be released", func() bool { return env.srv.streams.Open() == 0 })

	// Apollo's multipart subscriptions.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	resp = postStream(t, ctx, env.url, `multipart/mixed;subscriptionSpec=1.0,application/json`, `{"query":"subscription { orderStatus(id: \"7\") { status } }"}`)
	mr := multipart.NewReader(resp.Body, "graphql")
	for {
		p, err := mr.NextPart()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		if string(b) == `{}` {
			continue
		}
		if !strings.HasPrefix(string(b), `{"payload":{"data":{"orderStatus":{"status":`) {
			t.Errorf("multipart event %s", b)
		}
		break
	}
	cancel()
	waitFor(t, "the subscription to be released", func() bool { return env.srv.streams.Open() == 0 })

	// A validation error comes through an accepted event stream (graphql-sse's PROTOCOL.md).
	bad := postStream(t, context.Background(), env.url, "text/event-stream", `{"query":"subscription { nope }"}`)
	if got := sseEvents(t, bad); bad.StatusCode != http.StatusOK || len(got) != 2 ||
		!strings.Contains(got[0], "Cannot query field") || got[1] != "complete " {
		t.Errorf("%d %q", bad.StatusCode, got)
	}
}

// TestStreamsEngine_Defer: a query with @defer through the real engine, in each format: multipart/mixed parts,
// SSE events, ws next messages; a JSON-only client gets the whole answer in one body.
func TestStreamsEngine_Defer(t *testing.T) {
	env := newEngineStreamEnv(t)
	const query = `{ order(id: \"7\") { id ... @defer(label: \"c\") { customer { name } } } }`
	// JSON only: one body, the deferred fragment in place.
	r := postStream(t, context.Background(), env.url, "application/json", `{"query":"`+query+`"}`)
	body, _ := io.ReadAll(r.Body)
	if !strings.Contains(string(body), `"name":"Ada"`) || strings.Contains(string(body), "hasNext") {
		t.Errorf("JSON answer %s", body)
	}
	// multipart/mixed
	r = postStream(t, context.Background(), env.url, "multipart/mixed;deferSpec=20220824,application/json", `{"query":"`+query+`"}`)
	parts := multipartParts(t, r)
	checkDeferred(t, "multipart", parts)
	// SSE
	r = postStream(t, context.Background(), env.url, "text/event-stream", `{"query":"`+query+`"}`)
	sr := &sseReader{r: bufio.NewReader(r.Body)}
	var events []string
	for {
		typ, data, err := sr.next()
		if err != nil || typ == "complete" {
			break
		}
		events = append(events, data)
	}
	checkDeferred(t, "sse", events)
	// graphql-transport-ws
	c := connectWS(t, env.url)
	c.send(`{"type":"subscribe","id":"d","payload":{"query":"` + query + `"}}`)
	var msgs []string
	for {
		m, err := c.read()
		if err != nil {
			t.Fatal(err)
		}
		if m["type"] == wsComplete {
			break
		}
		msgs = append(msgs, mustJSON(m["payload"]))
	}
	checkDeferred(t, "ws", msgs)
}

// checkDeferred checks an initial payload without the deferred customer and a last subsequent one with it.
func checkDeferred(t *testing.T, format string, payloads []string) {
	t.Helper()
	if len(payloads) < 2 {
		t.Fatalf("%s: %d payloads: %q", format, len(payloads), payloads)
	}
	first, last := payloads[0], payloads[len(payloads)-1]
	if !strings.Contains(first, `"hasNext":true`) || strings.Contains(first, "Ada") || !strings.Contains(first, `"id":"7"`) {
		t.Errorf("%s: initial payload %s", format, first)
	}
	if !strings.Contains(last, `"hasNext":false`) || !strings.Contains(last, `"incremental"`) || !strings.Contains(last, "Ada") {
		t.Errorf("%s: last payload %s", format, last)
	}
}

// TestStreamsEngine_Reload: a reload ends the old version's subscriptions with SUBSCRIPTION_CLOSED and
// complete, then closes the WebSocket with 1012 (service restart); the client connects again and subscribes on
// the new version.
func TestStreamsEngine_Reload(t *testing.T) {
	env, write := newEngineStreamEnvFile(t)
	c := connectWS(t, env.url)
	const sub = `{"type":"subscribe","id":"1","payload":{"query":"subscription { orderStatus(id: \"7\") { status } }"}}`
	c.send(sub)
	c.expect(wsNext, "1")
	idle, _, err := dialWS(t, env.url, nil) // no operation when the reload comes
	if err != nil {
		t.Fatal(err)
	}
	idle.init()
	write("150ms")
	if _, err := env.rt.Reload(); err != nil {
		t.Fatal(err)
	}
	for {
		m := c.expect(wsNext, "1")
		if got := mustJSON(m["payload"]); strings.Contains(got, codeSubscriptionClosed) {
			break
		}
	}
	c.expect(wsComplete, "1")
	c.expectClose(websocket.StatusServiceRestart)
	// The idle connection closes too (at its next keep-alive), so that it does not hold the old version.
	idle.expectClose(websocket.StatusServiceRestart)

	c, _, err = dialWS(t, env.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.init()
	c.send(sub)
	if got := mustJSON(c.expect(wsNext, "1")["payload"]); !strings.Contains(got, `"orderStatus"`) {
		t.Errorf("event on the new version: %s", got)
	}
}
