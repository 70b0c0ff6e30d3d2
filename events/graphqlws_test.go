package events

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"
)

// wsUpstream is a scriptable graphql-transport-ws server: serve runs for each connection attempt.
type wsUpstream struct {
	*httptest.Server
	conns atomic.Int32
}

// wsPeer is the server's side of one connection attempt, number n (1, 2, …).
type wsPeer struct {
	t    *testing.T
	n    int
	w    http.ResponseWriter
	r    *http.Request
	conn *websocket.Conn
}

func newWSUpstream(t *testing.T, serve func(p *wsPeer)) *wsUpstream {
	u := &wsUpstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := &wsPeer{t: t, n: int(u.conns.Add(1)), w: w, r: r}
		serve(p)
		if p.conn != nil {
			_ = p.conn.CloseNow()
		}
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *wsUpstream) url() string { return wsURL(u.Server) }

// accept upgrades, offering graphql-transport-ws.
func (p *wsPeer) accept() bool {
	return p.acceptWith(&websocket.AcceptOptions{Subprotocols: []string{wsSubprotocol}})
}

func (p *wsPeer) acceptWith(opts *websocket.AcceptOptions) bool {
	conn, err := websocket.Accept(p.w, p.r, opts)
	if err != nil {
		p.t.Errorf("accept: %v", err)
		return false
	}
	p.conn = conn
	return true
}

// read is the client's next message; ok is false when the connection ended.
func (p *wsPeer) read() (msg wsMessage, ok bool) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	_, data, err := p.conn.Read(ctx)
	if err != nil {
		return msg, false
	}
	if err := json.Unmarshal(data, &msg); err != nil {
		p.t.Errorf("client sent %s: %v", data, err)
	}
	return msg, true
}

// expect reads the client's next message, which must be of type typ.
func (p *wsPeer) expect(typ string) wsMessage {
	msg, ok := p.read()
	if !ok || msg.Type != typ {
		p.t.Errorf("connection %d: got %+v (open %v), want a %s message", p.n, msg, ok, typ)
	}
	return msg
}

func (p *wsPeer) send(msg string) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := p.conn.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		p.t.Errorf("connection %d: send %s: %v", p.n, msg, err)
	}
}

// handshake accepts, acknowledges connection_init and reads subscribe.
func (p *wsPeer) handshake() (init, subscribe wsMessage) {
	if !p.accept() {
		return
	}
	init = p.expect("connection_init")
	p.send(`{"type":"connection_ack"}`)
	return init, p.expect("subscribe")
}

func (p *wsPeer) next(data string) {
	p.send(`{"id":"1","type":"next","payload":{"data":` + data + `}}`)
}

// closed waits for the client to close the connection and returns the close code it sent (-1: none).
func (p *wsPeer) closed() websocket.StatusCode {
	for {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		_, _, err := p.conn.Read(ctx)
		cancel()
		if err != nil {
			return websocket.CloseStatus(err)
		}
	}
}

func TestSubscribeGraphQL_wsHandshake(t *testing.T) {
	type seen struct {
		auth, init, id, subscribe string
		closed                    websocket.StatusCode
	}
	got := make(chan seen, 1)
	u := newWSUpstream(t, func(p *wsPeer) {
		init, sub := p.handshake()
		p.next(`{"x":1}`)
		p.send(`{"id":"1","type":"complete"}`)
		got <- seen{p.r.Header.Get("Authorization"), string(init.Payload), sub.ID, string(sub.Payload), p.closed()}
	})
	cfg := GraphQLConfig{URL: u.url(), Header: http.Header{"Authorization": {"Bearer t"}},
		InitPayload: map[string]any{"token": "t"}, Client: client(t)}
	s, err := SubscribeGraphQL(context.Background(), cfg, GraphQLRequest{Query: `subscription { x }`, Variables: map[string]any{"a": 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if ev := next(t, s); ev != `{"data":{"x":1}}` {
		t.Fatalf("event %s", ev)
	}
	wantEOF(t, s)
	want := seen{"Bearer t", `{"token":"t"}`, "1", `{"query":"subscription { x }","variables":{"a":1}}`, websocket.StatusNormalClosure}
	if g := <-got; g != want {
		t.Fatalf("upstream saw %+v, want %+v", g, want)
	}
}

// TestSubscribeGraphQL_wsReconnect: the upstream drops the connection twice (abruptly, then with a close frame);
// the stream resubscribes and its events continue in order.
func TestSubscribeGraphQL_wsReconnect(t *testing.T) {
	u := newWSUpstream(t, func(p *wsPeer) {
		p.handshake()
		switch p.n {
		case 1:
			p.next(`1`)
			p.next(`2`)
			_ = p.conn.CloseNow()
		case 2:
			p.next(`3`)
			_ = p.conn.Close(websocket.StatusGoingAway, "restarting")
		default:
			p.next(`4`)
			p.send(`{"id":"1","type":"complete"}`)
			p.closed()
		}
	})
	var reconnects atomic.Int32
	cfg := GraphQLConfig{URL: u.url(), Client: client(t), Reconnect: fast(1), OnReconnect: func() { reconnects.Add(1) }}
	s, err := SubscribeGraphQL(context.Background(), cfg, GraphQLRequest{Query: `subscription { n }`})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := 1; i <= 4; i++ {
		if got, want := next(t, s), `{"data":`+itoa(int64(i))+`}`; got != want {
			t.Fatalf("event %d: %s, want %s", i, got, want)
		}
	}
	wantEOF(t, s)
	if n, r := u.conns.Load(), reconnects.Load(); n != 3 || r != 2 {
		t.Fatalf("%d connections, %d reconnects; want 3, 2", n, r)
	}
}

// TestSubscribeGraphQL_wsGiveUp: after a first connection with an event drops, every attempt fails as the case
// says: retryable failures give up after Attempts (3) in a row, others end the stream at once.
func TestSubscribeGraphQL_wsGiveUp(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fail   func(p *wsPeer)
		code   string
		status int
		conns  int32
	}{
		{"HTTP 503", func(p *wsPeer) { p.w.WriteHeader(http.StatusServiceUnavailable) }, CodeHTTPError, 503, 4},
		{"HTTP 404 is not retried", func(p *wsPeer) { p.w.WriteHeader(http.StatusNotFound) }, CodeHTTPError, 404, 2},
		{"dropped before an event", func(p *wsPeer) { p.handshake(); _ = p.conn.CloseNow() }, CodeUnavailable, 0, 4},
		{"close 4500", func(p *wsPeer) { p.handshake(); _ = p.conn.Close(4500, "internal") }, CodeHTTPError, 500, 4},
		{"close 4401 is not retried", func(p *wsPeer) { p.handshake(); _ = p.conn.Close(4401, "unauthorized") }, CodeHTTPError, 401, 2},
		{"close 4403 during init is not retried", func(p *wsPeer) { p.accept(); p.expect("connection_init"); _ = p.conn.Close(4403, "forbidden") }, CodeHTTPError, 403, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := newWSUpstream(t, func(p *wsPeer) {
				if p.n > 1 {
					tc.fail(p)
					return
				}
				p.handshake()
				p.next(`1`)
				_ = p.conn.CloseNow()
			})
			var reconnects atomic.Int32
			cfg := GraphQLConfig{URL: u.url(), Client: client(t), Reconnect: fast(3), OnReconnect: func() { reconnects.Add(1) }}
			s, err := SubscribeGraphQL(context.Background(), cfg, GraphQLRequest{Query: `subscription { n }`})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			next(t, s)
			wantError(t, end(t, s), tc.code, tc.status)
			if n, r := u.conns.Load(), reconnects.Load(); n != tc.conns || r != tc.conns-1 {
				t.Fatalf("%d connections, %d reconnects; want %d, %d", n, r, tc.conns, tc.conns-1)
			}
		})
	}
}

// TestSubscribeGraphQL_wsRefused: the first connection's failure is SubscribeGraphQL's error, without retries.
func TestSubscribeGraphQL_wsRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	unreachable := "ws://" + l.Addr().String()
	_ = l.Close()
	for _, tc := range []struct {
		name   string
		serve  func(p *wsPeer)
		url    string
		code   string
		status int
	}{
		{"HTTP 401", func(p *wsPeer) { p.w.WriteHeader(http.StatusUnauthorized) }, "", CodeHTTPError, 401},
		{"HTTP 503", func(p *wsPeer) { p.w.WriteHeader(http.StatusServiceUnavailable) }, "", CodeHTTPError, 503},
		{"unreachable", nil, unreachable, CodeUnavailable, 0},
		{"no connection_ack", func(p *wsPeer) { p.accept(); p.expect("connection_init"); p.closed() }, "", CodeUnavailable, 0},
		{"close 4403 at init", func(p *wsPeer) { p.accept(); p.expect("connection_init"); _ = p.conn.Close(4403, "Forbidden") }, "", CodeHTTPError, 403},
		{"another subprotocol", func(p *wsPeer) { p.acceptWith(nil); p.closed() }, "", CodeBadResponse, 0},
		{"not JSON before the ack", func(p *wsPeer) { p.accept(); p.expect("connection_init"); p.send(`hello`); p.closed() }, "", CodeBadResponse, 0},
		{"next before the ack", func(p *wsPeer) { p.accept(); p.expect("connection_init"); p.next(`1`); p.closed() }, "", CodeBadResponse, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := tc.url
			var u *wsUpstream
			if tc.serve != nil {
				u = newWSUpstream(t, tc.serve)
				url = u.url()
			}
			cfg := GraphQLConfig{URL: url, Client: client(t), Reconnect: fast(3), ConnectTimeout: 200 * time.Millisecond}
			s, err := SubscribeGraphQL(context.Background(), cfg, GraphQLRequest{Query: `subscription { n }`})
			if err == nil {
				s.Close()
				t.Fatal("subscribed, want an error")
			}
			wantError(t, err, tc.code, tc.status)
			if u != nil && u.conns.Load() != 1 {
				t.Fatalf("%d connections, want 1", u.conns.Load())
			}
		})
	}
}

// TestSubscribeGraphQL_wsEnds: how the upstream ends a stream, and that none of these reconnects.
func TestSubscribeGraphQL_wsEnds(t *testing.T) {
	big := `"` + strings.Repeat("x", 1000) + `"`
	for _, tc := range []struct {
		name   string
		send   []string
		code   string // "" = io.EOF
		text   string
		closed websocket.StatusCode // the close code the upstream gets
	}{
		{"complete", []string{`{"id":"1","type":"complete"}`}, "", "", websocket.StatusNormalClosure},
		{"error message", []string{`{"id":"1","type":"error","payload":[{"message":"boom"},{"message":"bang"}]}`}, CodeGraphQLError, "boom; bang", websocket.StatusNormalClosure},
		{"error without errors", []string{`{"id":"1","type":"error","payload":{}}`}, CodeBadResponse, "", websocket.StatusNormalClosure},
		{"event larger than MaxEventBytes", []string{`{"id":"1","type":"next","payload":{"data":` + big + `}}`}, CodeBadResponse, "an event is larger than 512 bytes", websocket.StatusMessageTooBig},
		{"unknown message type", []string{`{"id":"1","type":"data","payload":{}}`}, CodeBadResponse, "", wsInvalidMessage},
		{"next without a result", []string{`{"id":"1","type":"next","payload":null}`}, CodeBadResponse, "", wsInvalidMessage},
		{"other ids are ignored", []string{`{"id":"2","type":"next","payload":{"data":2}}`, `{"id":"2","type":"complete"}`, `{"id":"1","type":"complete"}`}, "", "", websocket.StatusNormalClosure},
		{"server ping is answered", []string{`{"type":"ping"}`, `{"id":"1","type":"complete"}`}, "", "", websocket.StatusNormalClosure},
	} {
		t.Run(tc.name, func(t *testing.T) {
			closed := make(chan websocket.StatusCode, 1)
			u := newWSUpstream(t, func(p *wsPeer) {
				p.handshake()
				p.next(`1`)
				for _, m := range tc.send {
					p.send(m)
					if strings.Contains(m, `"ping"`) {
						p.expect("pong")
					}
				}
				closed <- p.closed()
			})
			cfg := GraphQLConfig{URL: u.url(), Client: client(t), Reconnect: fast(3), MaxEventBytes: 512}
			s, err := SubscribeGraphQL(context.Background(), cfg, GraphQLRequest{Query: `subscription { n }`})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if ev := next(t, s); ev != `{"data":1}` {
				t.Fatalf("event %s", ev)
			}
			err = end(t, s)
			if tc.code == "" {
				if err != io.EOF {
					t.Fatalf("end %v, want io.EOF", err)
				}
			} else if e := wantError(t, err, tc.code, 0); tc.text != "" && e.Err.Error() != tc.text {
				t.Fatalf("error %q, want %q", e.Err, tc.text)
			}
			if got := <-closed; got != tc.closed {
				t.Fatalf("upstream got close code %v, want %v", got, tc.closed)
			}
			if u.conns.Load() != 1 {
				t.Fatalf("%d connections, want 1", u.conns.Load())
			}
		})
	}
}

// TestSubscribeGraphQL_wsKeepAlive: pings go out every KeepAlive; an upstream that answers keeps its connection, a
// silent one is dropped and the connection re-made.
func TestSubscribeGraphQL_wsKeepAlive(t *testing.T) {
	t.Run("answered", func(t *testing.T) {
		u := newWSUpstream(t, func(p *wsPeer) {
			p.handshake()
			for range 3 {
				p.expect("ping")
				p.send(`{"type":"pong"}`)
			}
			p.next(`1`)
			p.send(`{"id":"1","type":"complete"}`)
			p.closed()
		})
		cfg := GraphQLConfig{URL: u.url(), Client: client(t), Reconnect: fast(3), KeepAlive: 50 * time.Millisecond}
		s, err := SubscribeGraphQL(context.Background(), cfg, GraphQLRequest{Query: `subscription { n }`})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if ev := next(t, s); ev != `{"data":1}` {
			t.Fatalf("event %s", ev)
		}
		wantEOF(t, s)
		if u.conns.Load() != 1 {
			t.Fatalf("%d connections, want 1", u.conns.Load())
		}
	})
	t.Run("silent", func(t *testing.T) {
		pings := make(chan int, 1)
		u := newWSUpstream(t, func(p *wsPeer) {
			p.handshake()
			if p.n == 1 {
				n := 0
				for {
					msg, ok := p.read()
					if !ok {
						pings <- n
						return
					}
					if msg.Type == "ping" {
						n++
					}
				}
			}
			p.next(`1`)
			p.send(`{"id":"1","type":"complete"}`)
			p.closed()
		})
		var reconnects atomic.Int32
		cfg := GraphQLConfig{URL: u.url(), Client: client(t), Reconnect: fast(3), KeepAlive: 20 * time.Millisecond,
			OnReconnect: func() { reconnects.Add(1) }}
		s, err := SubscribeGraphQL(context.Background(), cfg, GraphQLRequest{Query: `subscription { n }`})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if ev := next(t, s); ev != `{"data":1}` {
			t.Fatalf("event %s", ev)
		}
		wantEOF(t, s)
		if n := <-pings; n != 1 {
			t.Fatalf("the silent upstream got %d pings before the drop, want 1", n)
		}
		if u.conns.Load() != 2 || reconnects.Load() != 1 {
			t.Fatalf("%d connections, %d reconnects; want 2, 1", u.conns.Load(), reconnects.Load())
		}
	})
}

// TestSubscribeGraphQL_wsClose: Close and cancelling the ctx both unsubscribe (complete), close the connection
// with 1000, end Next with io.EOF and leave no goroutine behind.
func TestSubscribeGraphQL_wsClose(t *testing.T) {
	for _, how := range []string{"Close", "cancel"} {
		t.Run(how, func(t *testing.T) {
			type seen struct {
				complete wsMessage
				code     websocket.StatusCode
			}
			got := make(chan seen, 1)
			u := newWSUpstream(t, func(p *wsPeer) {
				p.handshake()
				p.next(`1`)
				p.next(`2`) // waits in the stream's hand-off when the consumer stops
				msg := p.expect("complete")
				got <- seen{msg, p.closed()}
			})
			leaks := goleak.IgnoreCurrent()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			tr := &http.Transport{}
			cfg := GraphQLConfig{URL: u.url(), Client: &http.Client{Transport: tr}, KeepAlive: time.Minute}
			s, err := SubscribeGraphQL(ctx, cfg, GraphQLRequest{Query: `subscription { n }`})
			if err != nil {
				t.Fatal(err)
			}
			next(t, s)
			endBy(t, how, s, cancel)
			if g := <-got; g.complete.ID != "1" || g.code != websocket.StatusNormalClosure {
				t.Fatalf("upstream saw %+v, want complete for id 1 and close code 1000", g)
			}
			s.Close()
			s.Close() // idempotent
			if _, err := s.Next(context.Background()); err != io.EOF {
				t.Fatalf("Next after Close: %v, want io.EOF", err)
			}
			tr.CloseIdleConnections()
			goleak.VerifyNone(t, leaks)
		})
	}
}

// TestStream_NextCtx: a Next whose ctx ends returns ctx.Err() and leaves the stream as it was.
func TestStream_NextCtx(t *testing.T) {
	release := make(chan struct{})
	u := newWSUpstream(t, func(p *wsPeer) {
		p.handshake()
		<-release
		p.next(`1`)
		p.send(`{"id":"1","type":"complete"}`)
		p.closed()
	})
	s, err := SubscribeGraphQL(context.Background(), GraphQLConfig{URL: u.url(), Client: client(t)}, GraphQLRequest{Query: `subscription { n }`})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Next(ctx); err != context.Canceled {
		t.Fatalf("Next: %v, want context.Canceled", err)
	}
	close(release)
	if ev := next(t, s); ev != `{"data":1}` {
		t.Fatalf("event %s", ev)
	}
	wantEOF(t, s)
}
