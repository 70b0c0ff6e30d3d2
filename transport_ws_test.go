package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// TestWS_CloseCodes: each protocol violation closes the connection with its graphql-transport-ws code.
func TestWS_CloseCodes(t *testing.T) {
	env := newStreamEnv(t, `{subscriptions: {initTimeout: 100ms}, maxBodyBytes: 2000}`)
	for _, tc := range []struct {
		name string
		msgs []string // sent in order, after the handshake
		ack  bool     // connection_init first
		want websocket.StatusCode
	}{
		{"no connection_init in time", nil, false, closeInitTimeout},
		{"connection_init twice", []string{`{"type":"connection_init"}`}, true, closeTooManyInitRequests},
		{"subscribe before the ack", []string{`{"type":"subscribe","id":"1","payload":{"query":"{hello}"}}`}, false, closeUnauthorized},
		{"not JSON", []string{`{"type":`}, true, closeBadRequest},
		{"unknown type", []string{`{"type":"start","id":"1"}`}, true, closeBadRequest},
		{"a server's type", []string{`{"type":"next","id":"1","payload":{}}`}, true, closeBadRequest},
		{"id too long", []string{`{"type":"subscribe","id":"` + strings.Repeat("i", maxWSID+1) + `","payload":{"query":"{hello}"}}`},
			true, closeBadRequest},
		{"subscribe without id", []string{`{"type":"subscribe","payload":{"query":"{hello}"}}`}, true, closeBadRequest},
		{"subscribe payload not an object", []string{`{"type":"subscribe","id":"1","payload":"{hello}"}`}, true, closeBadRequest},
		{"duplicate id", []string{`{"type":"subscribe","id":"1","payload":{"query":"subscription{ticks}"}}`,
			`{"type":"subscribe","id":"1","payload":{"query":"subscription{ticks}"}}`}, true, closeDuplicateID},
		{"message over maxBodyBytes", []string{`{"type":"ping","payload":{"x":"` + strings.Repeat("x", 3000) + `"}}`}, true,
			websocket.StatusMessageTooBig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _, err := dialWS(t, env.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.ack {
				c.init()
			}
			for _, m := range tc.msgs {
				c.send(m)
			}
			c.expectClose(tc.want)
		})
	}
	t.Run("subprotocol not acceptable", func(t *testing.T) {
		c, _, err := dialWS(t, env.url, nil, "graphql-ws")
		if err != nil {
			t.Fatal(err)
		}
		c.expectClose(closeBadSubprotocol)
	})
}

// TestWS_Operations: queries, deferred queries and request errors over graphql-transport-ws, ping/pong.
func TestWS_Operations(t *testing.T) {
	env := newStreamEnv(t, `{}`)
	c := connectWS(t, env.url)
	c.send(`{"type":"ping"}`)
	c.expect(wsPong, "")

	c.send(`{"type":"subscribe","id":"q","payload":{"query":"{hello}"}}`)
	if m := c.expect(wsNext, "q"); mustJSON(m["payload"]) != `{"data":{"hello":"world"}}` {
		t.Errorf("next payload %s", mustJSON(m["payload"]))
	}
	c.expect(wsComplete, "q")

	c.send(`{"type":"subscribe","id":"d","payload":{"query":"query Deferred {hello}"}}`)
	var got []string
	for range 3 {
		got = append(got, mustJSON(c.expect(wsNext, "d")["payload"]))
	}
	c.expect(wsComplete, "d")
	want := []string{`{"data":{"hello":"world"},"hasNext":true}`,
		`{"hasNext":true,"incremental":[{"data":{"slow":"a"},"label":"one","path":[]}]}`,
		`{"hasNext":false,"incremental":[{"data":{"slow":"b"},"label":"two","path":[]}]}`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("deferred payloads\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	c.send(`{"type":"subscribe","id":"v","payload":{"query":"{nope}"}}`)
	if m := c.expect(wsError, "v"); !strings.Contains(mustJSON(m["payload"]), "Cannot query field") {
		t.Errorf("error payload %s", mustJSON(m["payload"]))
	}
	c.send(`{"type":"subscribe","id":"r","payload":{"query":"query Refused {hello}"}}`)
	if m := c.expect(wsError, "r"); !strings.Contains(mustJSON(m["payload"]), "PLAN_REFUSED") {
		t.Errorf("error payload %s", mustJSON(m["payload"]))
	}
}

// TestWS_Subscription: events in order, the client's complete cancels the operation's context, the engine's
// last error and the end of the stream reach the client.
func TestWS_Subscription(t *testing.T) {
	env := newStreamEnv(t, `{}`)
	c := connectWS(t, env.url)
	c.send(`{"type":"subscribe","id":"1","payload":{"query":"subscription{ticks}"}}`)
	fd := env.nextFeed()
	for i, ev := range []string{`{"ticks":1}`, `{"ticks":2}`} {
		fd.events <- event(ev)
		if m := c.expect(wsNext, "1"); mustJSON(m["payload"]) != `{"data":`+ev+`}` {
			t.Errorf("event %d: %s", i, mustJSON(m["payload"]))
		}
	}
	fd.events <- &graphql.Response{Data: json.RawMessage(`null`), Errors: gqlerror.List{streamError(codeSubscriptionClosed, "closed")}}
	close(fd.events)
	if m := c.expect(wsNext, "1"); !strings.Contains(mustJSON(m["payload"]), codeSubscriptionClosed) {
		t.Errorf("last event %s", mustJSON(m["payload"]))
	}
	c.expect(wsComplete, "1")

	// The client's complete cancels the operation; the id can be used again.
	c.send(`{"type":"subscribe","id":"1","payload":{"query":"subscription{ticks}"}}`)
	fd = env.nextFeed()
	c.send(`{"type":"complete","id":"1"}`)
	fd.waitCancelled(t)
	waitFor(t, "the subscription to be released", func() bool { return env.srv.streams.Open() == 0 })

	// Closing the socket cancels what runs on it.
	c.send(`{"type":"subscribe","id":"2","payload":{"query":"subscription{ticks}"}}`)
	fd = env.nextFeed()
	_ = c.c.Close(websocket.StatusNormalClosure, "")
	fd.waitCancelled(t)
}

// TestWS_Limits: server.subscriptions.max over connections, maxPerConnection on one, refused with
// SUBSCRIPTION_LIMIT as an error message; the connection stays usable.
func TestWS_Limits(t *testing.T) {
	env := newStreamEnv(t, `{subscriptions: {max: 2, maxPerConnection: 1}}`)
	a := connectWS(t, env.url)
	a.send(`{"type":"subscribe","id":"1","payload":{"query":"subscription{ticks}"}}`)
	env.nextFeed()
	a.send(`{"type":"subscribe","id":"2","payload":{"query":"subscription{ticks}"}}`)
	if m := a.expect(wsError, "2"); !strings.Contains(mustJSON(m["payload"]), codeSubscriptionLimit) {
		t.Errorf("maxPerConnection: %s", mustJSON(m["payload"]))
	}
	b := connectWS(t, env.url)
	b.send(`{"type":"subscribe","id":"1","payload":{"query":"subscription{ticks}"}}`)
	env.nextFeed()
	c := connectWS(t, env.url)
	c.send(`{"type":"subscribe","id":"1","payload":{"query":"subscription{ticks}"}}`)
	if m := c.expect(wsError, "1"); !strings.Contains(mustJSON(m["payload"]), codeSubscriptionLimit) {
		t.Errorf("max: %s", mustJSON(m["payload"]))
	}
	// A query still runs on the refused connection.
	c.send(`{"type":"subscribe","id":"q","payload":{"query":"{hello}"}}`)
	c.expect(wsNext, "q")
}

// TestWS_KeepAlive: the server pings an idle connection every keepAlive.
func TestWS_KeepAlive(t *testing.T) {
	env := newStreamEnv(t, `{subscriptions: {keepAlive: 20ms}}`)
	pings := make(chan struct{}, 16)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, strings.Replace(env.url, "http", "ws", 1)+"/graphql", &websocket.DialOptions{
		Subprotocols: []string{subprotocolWS},
		OnPingReceived: func(context.Context, []byte) bool {
			select {
			case pings <- struct{}{}:
			default:
			}
			return true
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	w := &wsClient{t: t, c: c}
	w.init()
	// Pings are answered by the client's reader: keep reading while waiting for two.
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		_, _, _ = c.Read(context.Background())
	}()
	for range 2 {
		select {
		case <-pings:
		case <-ctx.Done():
			t.Fatal("no ping from the server")
		}
	}
	_ = c.Close(websocket.StatusNormalClosure, "")
	<-readDone
}

// TestWS_Shutdown: at shutdown the engine's SUBSCRIPTION_CLOSED reaches the client, then complete, then the
// connection closes with 1001; a new connection is refused.
func TestWS_Shutdown(t *testing.T) {
	env := newStreamEnv(t, `{}`)
	c := connectWS(t, env.url)
	c.send(`{"type":"subscribe","id":"1","payload":{"query":"subscription{ticks}"}}`)
	fd := env.nextFeed()
	done := make(chan struct{})
	go func() {
		defer close(done)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = env.srv.streams.Shutdown(ctx)
	}()
	// What the engine does on Close (runtime.Runtime.Close).
	fd.events <- &graphql.Response{Data: json.RawMessage(`null`), Errors: gqlerror.List{streamError(codeSubscriptionClosed, "closed")}}
	close(fd.events)
	if m := c.expect(wsNext, "1"); !strings.Contains(mustJSON(m["payload"]), codeSubscriptionClosed) {
		t.Errorf("last event %s", mustJSON(m["payload"]))
	}
	c.expect(wsComplete, "1")
	c.expectClose(websocket.StatusGoingAway)
	waitClosed(t, done, "Shutdown to return")
}

// TestWS_ShutdownCancels: a subscription the engine does not end is cancelled at Shutdown's deadline.
func TestWS_ShutdownCancels(t *testing.T) {
	env := newStreamEnv(t, `{}`)
	c := connectWS(t, env.url)
	c.send(`{"type":"subscribe","id":"1","payload":{"query":"subscription{ticks}"}}`)
	fd := env.nextFeed()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan error, 1)
	go func() { done <- env.srv.streams.Shutdown(ctx) }()
	fd.waitCancelled(t)
	c.expect(wsComplete, "1")
	c.expectClose(websocket.StatusGoingAway)
	if err := <-done; err == nil {
		t.Error("Shutdown past its deadline returned nil")
	}
}

// TestWS_Origin: without server.cors only the server's own origin may open a WebSocket; with it, its origins.
func TestWS_Origin(t *testing.T) {
	for _, tc := range []struct {
		name, server, origin string
		ok                   bool
	}{
		{"no Origin", `{}`, "", true},
		{"same origin", `{}`, "SELF", true},
		{"other origin, no cors", `{}`, "https://evil.example", false},
		{"allowed by cors", `{cors: {origins: ["https://app.example"]}}`, "https://app.example", true},
		{"not allowed by cors", `{cors: {origins: ["https://app.example"]}}`, "https://evil.example", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newStreamEnv(t, tc.server)
			h := http.Header{}
			if tc.origin == "SELF" {
				h.Set("Origin", env.url)
			} else if tc.origin != "" {
				h.Set("Origin", tc.origin)
			}
			c, resp, err := dialWS(t, env.url, h)
			if tc.ok != (err == nil) {
				t.Fatalf("dial: %v", err)
			}
			if err != nil {
				if resp == nil || resp.StatusCode != http.StatusForbidden {
					t.Errorf("refused with %v, want 403", resp)
				}
				return
			}
			c.init()
		})
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// FuzzWSMessage: the decoder of client messages never panics, and what it accepts is a type the client may
// send, with the id and payload that type needs.
func FuzzWSMessage(f *testing.F) {
	for _, s := range []string{`{"type":"connection_init"}`, `{"type":"connection_init","payload":{"Authorization":"Bearer x"}}`,
		`{"type":"subscribe","id":"1","payload":{"query":"{a}"}}`, `{"type":"complete","id":"1"}`, `{"type":"ping","payload":null}`,
		`{"type":"pong"}`, `{"type":1}`, `[]`, `{"type":"subscribe","id":"","payload":{}}`, `{"type":"next"}`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := decodeWSMessage(data)
		if err != nil {
			return
		}
		switch m.Type {
		case wsSubscribe:
			if m.ID == "" || len(m.ID) > maxWSID || len(m.Payload) == 0 || m.Payload[0] != '{' {
				t.Fatalf("accepted %q", data)
			}
		case wsComplete:
			if m.ID == "" || len(m.ID) > maxWSID {
				t.Fatalf("accepted %q", data)
			}
		case wsConnectionInit, wsPing, wsPong:
			if len(m.Payload) > 0 && m.Payload[0] != '{' {
				t.Fatalf("accepted %q", data)
			}
		default:
			t.Fatalf("accepted type %q", m.Type)
		}
	})
}

// TestWS_Auth: connection_init's string entries join the operation's headers (the upgrade's win), and its
// Authorization token is checked as the header would be: a bad one, or none when required, closes with 4403.
func TestWS_Auth(t *testing.T) {
	secret := "0123456789abcdef0123456789abcdef-secret"
	t.Setenv("CONFLUX_TEST_JWT_SECRET", secret)
	env := newStreamEnv(t, `{auth: {jwt: {algorithms: [HS256], required: true, clockSkew: 0s, keys: ["{{env.CONFLUX_TEST_JWT_SECRET}}"]}}}`)
	good := sign(t, jwt.SigningMethodHS256, []byte(secret), "", claimsFor("u1"))
	bad := sign(t, jwt.SigningMethodHS256, []byte("another-secret-another-secret-xx"), "", claimsFor("u1"))
	for _, tc := range []struct {
		name, init string
		header     http.Header
		want       websocket.StatusCode // 0: acknowledged
	}{
		{"token in connection_init", `{"Authorization":"Bearer ` + good + `","x-tenant":"acme"}`, nil, 0},
		{"lower-case key", `{"authorization":"Bearer ` + good + `","x-tenant":"acme"}`, nil, 0},
		{"token on the upgrade", `{"x-tenant":"acme"}`, http.Header{"Authorization": {"Bearer " + good}}, 0},
		{"upgrade header wins", `{"x-tenant":"other"}`, http.Header{"Authorization": {"Bearer " + good}, "X-Tenant": {"acme"}}, 0},
		{"bad token", `{"Authorization":"Bearer ` + bad + `"}`, nil, closeForbidden},
		{"no token, required", `{}`, nil, closeForbidden},
		{"claims header posed", `{":conflux-jwt-claims":"{\"sub\":\"admin\"}"}`, nil, closeForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _, err := dialWS(t, env.url, tc.header)
			if err != nil {
				t.Fatal(err)
			}
			c.send(`{"type":"connection_init","payload":` + tc.init + `}`)
			if tc.want != 0 {
				c.expectClose(tc.want)
				return
			}
			c.expect(wsConnectionAck, "")
			c.send(`{"type":"subscribe","id":"1","payload":{"query":"query Whoami {hello}"}}`)
			who := mustJSON(c.expect(wsNext, "1")["payload"])
			if !strings.Contains(who, `acme|`) || !strings.Contains(who, `u1`) {
				t.Errorf("operation saw %s", who)
			}
		})
	}
	// A token that expires while the connection is open: the operations after its exp close the connection with
	// 4403, as HTTP requests with it would be refused.
	for _, onUpgrade := range []bool{false, true} {
		t.Run(fmt.Sprintf("token expires, on the upgrade %v", onUpgrade), func(t *testing.T) {
			t.Parallel()                                                              // each waits a second or two
			exp := time.Now().Add(time.Second).Truncate(time.Second).Add(time.Second) // 1 to 2 s from now
			token := "Bearer " + sign(t, jwt.SigningMethodHS256, []byte(secret), "", claimsFor("u1", "exp", exp.Unix()))
			var header http.Header
			init := `{"Authorization":"` + token + `"}`
			if onUpgrade {
				header, init = http.Header{"Authorization": {token}}, `{}`
			}
			c, _, err := dialWS(t, env.url, header)
			if err != nil {
				t.Fatal(err)
			}
			c.send(`{"type":"connection_init","payload":` + init + `}`)
			c.expect(wsConnectionAck, "")
			c.send(`{"type":"subscribe","id":"1","payload":{"query":"query Whoami {hello}"}}`)
			c.expect(wsNext, "1")
			c.expect(wsComplete, "1")
			waitFor(t, "the token to expire", func() bool { return time.Now().After(exp) })
			c.send(`{"type":"subscribe","id":"2","payload":{"query":"query Whoami {hello}"}}`)
			c.expectClose(closeForbidden)
		})
	}
	t.Run("bad token on the upgrade", func(t *testing.T) {
		_, resp, err := dialWS(t, env.url, http.Header{"Authorization": {"Bearer " + bad}})
		if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("dial: %v", err)
		}
	})
}

// TestWS_SlowClient: a client that stops reading is disconnected after server.writeTimeout, which ends its
// subscription, instead of the server holding what it cannot send.
func TestWS_SlowClient(t *testing.T) {
	env := newStreamEnv(t, `{writeTimeout: 200ms}`)
	c := connectWS(t, env.url)
	c.send(`{"type":"subscribe","id":"1","payload":{"query":"subscription{ticks}"}}`)
	fd := env.nextFeed()
	big := event(`{"ticks":"` + strings.Repeat("x", 256<<10) + `"}`)
	stop := make(chan struct{})
	fed := make(chan struct{})
	go func() { // the client reads nothing from here on
		defer close(fed)
		for {
			select {
			case fd.events <- big:
			case <-stop:
				return
			}
		}
	}()
	fd.waitCancelled(t)
	close(stop)
	<-fed
	waitFor(t, "the subscription to be released", func() bool { return env.srv.streams.Open() == 0 })
}

// TestWS_ChurnLimit: server.subscriptions.maxPerConnection counts the operations whose goroutine still runs, not
// only those the client has not completed: a client that sends subscribe and complete in a loop, for operations
// that do not stop at once (a large query's parse, validation or planning), cannot start goroutines without
// bound.
func TestWS_ChurnLimit(t *testing.T) {
	env := newStreamEnv(t, `{subscriptions: {maxPerConnection: 2}}`)
	t.Cleanup(func() { close(env.engine.stuck) }) // before the server shuts down (cleanups run last first)
	c := connectWS(t, env.url)
	for _, id := range []string{"1", "2"} {
		c.send(`{"type":"subscribe","id":"` + id + `","payload":{"query":"query Stuck {hello}"}}`)
		c.send(`{"type":"complete","id":"` + id + `"}`)
	}
	waitFor(t, "two operations to run", func() bool { return env.engine.stuckRunning.Load() == 2 })
	c.send(`{"type":"subscribe","id":"3","payload":{"query":"query Stuck {hello}"}}`)
	if m := c.expect(wsError, "3"); !strings.Contains(mustJSON(m["payload"]), codeSubscriptionLimit) {
		t.Errorf("third operation: %s", mustJSON(m["payload"]))
	}
	if n := env.engine.stuckRunning.Load(); n != 2 {
		t.Errorf("%d operations run, want 2", n)
	}
}

// TestWS_HeadersShared: the operations of a connection share its headers: a client whose connection_init has
// thousands of entries does not get a copy of them made for each of its operations.
func TestWS_HeadersShared(t *testing.T) {
	env := newStreamEnv(t, `{maxBodyBytes: 2000000, subscriptions: {maxPerConnection: 100}}`)
	t.Cleanup(func() { close(env.engine.stuck) })
	c, _, err := dialWS(t, env.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	var init strings.Builder
	init.WriteString(`{"type":"connection_init","payload":{"a":""`)
	for i := range 50000 {
		init.WriteString(`,"h` + strconv.Itoa(i) + `":""`)
	}
	init.WriteString(`}}`)
	c.send(init.String())
	c.expect(wsConnectionAck, "")
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const ops = 20
	for i := range ops {
		c.send(`{"type":"subscribe","id":"` + strconv.Itoa(i) + `","payload":{"query":"query Stuck {hello}"}}`)
	}
	waitFor(t, "the operations to run", func() bool { return env.engine.stuckRunning.Load() == ops })
	runtime.ReadMemStats(&after)
	// A copy of the headers for each would be over 100 MB.
	if got := after.TotalAlloc - before.TotalAlloc; got > 16<<20 {
		t.Errorf("%d operations allocated %d MB", ops, got>>20)
	}
}

// goroutineIn reports whether a goroutine is waiting (its status contains state) in a function whose name
// contains fn.
func goroutineIn(fn, state string) bool {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		head, _, _ := strings.Cut(g, "\n")
		if strings.Contains(head, state) && strings.Contains(g, fn) {
			return true
		}
	}
	return false
}

// TestWS_NothingAfterComplete: once the server has taken the client's complete, the operation sends nothing
// more, not even an event it had already taken from the engine and was waiting to write (behind another
// operation's write): the client may already use the id again.
func TestWS_NothingAfterComplete(t *testing.T) {
	env := newStreamEnv(t, `{writeTimeout: 30s}`)
	c, _, err := dialWS(t, env.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.c.SetReadLimit(-1)
	c.init()
	c.send(`{"type":"subscribe","id":"big","payload":{"query":"subscription{ticks}"}}`)
	big := env.nextFeed()
	c.send(`{"type":"subscribe","id":"1","payload":{"query":"subscription{ticks}"}}`)
	one := env.nextFeed()
	// The client reads nothing: the big events fill the connection until a write blocks, holding the writes.
	ev := event(`{"ticks":"` + strings.Repeat("x", 256<<10) + `"}`)
	stop, fed := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(fed)
		for {
			select {
			case big.events <- ev:
			case <-stop:
				return
			}
		}
	}()
	defer func() { close(stop); <-fed }()
	waitFor(t, "a write to block", func() bool { return goroutineIn("(*wsConn).send", "IO wait") })
	one.events <- event(`{"ticks":1}`)
	waitFor(t, "the event to wait for the write", func() bool { return goroutineIn("(*wsConn).send", "sync.Mutex.Lock") })
	c.send(`{"type":"complete","id":"1"}`)
	one.waitCancelled(t)
	c.send(`{"type":"ping"}`)
	close(stop)
	<-fed
	stop, fed = make(chan struct{}), make(chan struct{})
	close(fed)
	for {
		m, err := c.read()
		if err != nil {
			t.Fatal(err)
		}
		if m["type"] == wsPong {
			break
		}
		if m["id"] == "1" {
			t.Fatalf("after its complete, operation 1 sent %v", m)
		}
	}
}

// TestWS_InitHeaders: connection_init's entries never pose as headers only a browser or a proxy in front sets
// (Cookie, Origin, X-Forwarded-For, Forwarded, …); other entries join the operation's headers.
func TestWS_InitHeaders(t *testing.T) {
	env := newStreamEnv(t, `{}`)
	c, _, err := dialWS(t, env.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.send(`{"type":"connection_init","payload":{"x-tenant":"acme","Authorization":"Bearer t","X-Forwarded-For":"6.6.6.6",` +
		`"x-forwarded-host":"evil","forwarded":"for=6.6.6.6","cookie":"session=stolen","origin":"https://evil",` +
		`"x-real-ip":"6.6.6.6","proxy-authorization":"Basic x","sec-fetch-site":"same-origin","content-length":"1",` +
		`"x-http-method-override":"POST"}}`)
	c.expect(wsConnectionAck, "")
	c.send(`{"type":"subscribe","id":"1","payload":{"query":"query Headers {hello}"}}`)
	var h http.Header
	payload := c.expect(wsNext, "1")["payload"].(map[string]any)
	if err := json.Unmarshal([]byte(payload["data"].(map[string]any)["hello"].(string)), &h); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"X-Tenant", "Authorization"} {
		if h.Get(k) == "" {
			t.Errorf("%s missing from %v", k, h)
		}
	}
	for _, k := range []string{"X-Forwarded-For", "X-Forwarded-Host", "Forwarded", "Cookie", "Origin", "X-Real-Ip",
		"Proxy-Authorization", "Sec-Fetch-Site", "Content-Length", "X-Http-Method-Override"} {
		if v := h.Values(k); v != nil {
			t.Errorf("connection_init set %s: %q", k, v)
		}
	}
}

// TestWS_ConnectionCaps: a WebSocket connection, hijacked from net/http, still counts against
// server.maxConnectionsPerClient while it is open, and gives its place back when it closes.
func TestWS_ConnectionCaps(t *testing.T) {
	env := newStreamEnv(t, `{maxConnectionsPerClient: 2}`)
	dial := func() (*websocket.Conn, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		// A client of its own: no idle keep-alive connection of another test is reused or counted.
		hc := &http.Client{Transport: &http.Transport{}}
		c, _, err := websocket.Dial(ctx, strings.Replace(env.url, "http://", "ws://", 1)+"/graphql",
			&websocket.DialOptions{Subprotocols: []string{subprotocolWS}, HTTPClient: hc})
		if err == nil {
			t.Cleanup(func() { _ = c.CloseNow() })
		}
		return c, err
	}
	var conns []*websocket.Conn
	for range 2 {
		c, err := dial()
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	waitFor(t, "two connections open", func() bool { return env.metric("conflux_connections_open", "listener=main") == 2 })
	if _, err := dial(); err == nil {
		t.Fatal("a third WebSocket connection was admitted")
	}
	_ = conns[0].Close(websocket.StatusNormalClosure, "")
	waitFor(t, "the closed connection's place back", func() bool {
		return env.metric("conflux_connections_open", "listener=main") == 1
	})
	if _, err := dial(); err != nil {
		t.Fatalf("after a close: %v", err)
	}
}

// TestWS_OriginCookies: the cookies a browser sends with the handshake of a page of another origin reach the
// connection's operations only with server.cors.credentials on, as CORS would have it for HTTP.
func TestWS_OriginCookies(t *testing.T) {
	for _, tc := range []struct {
		name, server, origin string
		cookie               bool
	}{
		{"no Origin", `{cors: {origins: ["*"]}}`, "", true},
		{"same origin", `{}`, "SELF", true},
		{"any origin", `{cors: {origins: ["*"]}}`, "https://evil.example", false},
		{"allowed origin without credentials", `{cors: {origins: ["https://app.example"]}}`, "https://app.example", false},
		{"allowed origin with credentials", `{cors: {origins: ["https://app.example"], credentials: true}}`, "https://app.example", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newStreamEnv(t, tc.server)
			h := http.Header{"Cookie": {"session=s1"}}
			if tc.origin == "SELF" {
				h.Set("Origin", env.url)
			} else if tc.origin != "" {
				h.Set("Origin", tc.origin)
			}
			c, _, err := dialWS(t, env.url, h)
			if err != nil {
				t.Fatal(err)
			}
			c.init()
			c.send(`{"type":"subscribe","id":"1","payload":{"query":"query Headers {hello}"}}`)
			payload := mustJSON(c.expect(wsNext, "1")["payload"])
			if got := strings.Contains(payload, "session=s1"); got != tc.cookie {
				t.Errorf("cookie reached the operation: %v, want %v (%s)", got, tc.cookie, payload)
			}
		})
	}
}

// TestWS_InFlight: a query over a WebSocket holds a server.maxInFlight slot while it runs, as over HTTP (one
// client's connections × maxPerConnection would otherwise run outside the cap); over it, it is refused with
// SERVER_BUSY. A subscription holds none.
func TestWS_InFlight(t *testing.T) {
	env := newStreamEnv(t, `{maxInFlight: 1}`)
	stuck := env.engine.stuck
	released := false
	release := func() {
		if !released {
			released = true
			close(stuck)
		}
	}
	t.Cleanup(release)
	c := connectWS(t, env.url)
	c.send(`{"type":"subscribe","id":"s","payload":{"query":"subscription{ticks}"}}`)
	env.nextFeed()
	c.send(`{"type":"subscribe","id":"1","payload":{"query":"query Stuck {hello}"}}`)
	waitFor(t, "the query to run", func() bool { return env.engine.stuckRunning.Load() == 1 })
	c.send(`{"type":"subscribe","id":"2","payload":{"query":"{hello}"}}`)
	if m := c.expect(wsError, "2"); !strings.Contains(mustJSON(m["payload"]), "SERVER_BUSY") {
		t.Errorf("second query: %s", mustJSON(m["payload"]))
	}
	r := postStream(t, context.Background(), env.url, "application/json", `{"query":"{hello}"}`)
	if r.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("HTTP query beside: %d, want 503", r.StatusCode)
	}
	release()
	c.expect(wsNext, "1")
	c.expect(wsComplete, "1")
	waitFor(t, "the slot back", func() bool { return env.metric("conflux_requests_in_flight", "listener=main") == 0 })
	c.send(`{"type":"subscribe","id":"3","payload":{"query":"{hello}"}}`)
	c.expect(wsNext, "3")
}

// TestStreams_MaxPerClient: server.subscriptions.maxPerClient counts one client's subscriptions over every
// transport (here a WebSocket and SSE, both from 127.0.0.1), so that one client cannot take every place of max;
// a place given back can be taken again.
func TestStreams_MaxPerClient(t *testing.T) {
	env := newStreamEnv(t, `{subscriptions: {max: 10, maxPerClient: 2}}`)
	a := connectWS(t, env.url)
	a.send(`{"type":"subscribe","id":"1","payload":{"query":"subscription{ticks}"}}`)
	env.nextFeed()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	postStream(t, ctx, env.url, "text/event-stream", `{"query":"subscription{ticks}"}`)
	env.nextFeed()
	a.send(`{"type":"subscribe","id":"2","payload":{"query":"subscription{ticks}"}}`)
	if m := a.expect(wsError, "2"); !strings.Contains(mustJSON(m["payload"]), "maxPerClient") {
		t.Errorf("third subscription of the client: %s", mustJSON(m["payload"]))
	}
	refused := postStream(t, context.Background(), env.url, "text/event-stream", `{"query":"subscription{ticks}"}`)
	if got := sseEvents(t, refused); len(got) != 2 || !strings.Contains(got[0], codeSubscriptionLimit) {
		t.Errorf("third subscription over SSE: %q", got)
	}
	cancel() // the SSE subscription ends: its place is free again
	waitFor(t, "the SSE subscription to be released", func() bool { return env.srv.streams.Open() == 1 })
	a.send(`{"type":"subscribe","id":"3","payload":{"query":"subscription{ticks}"}}`)
	env.nextFeed()
}
