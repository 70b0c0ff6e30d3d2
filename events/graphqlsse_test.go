package events

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// sseUpstream is a scriptable graphql-sse server (distinct connections mode): serve runs for each request,
// number n (1, 2, …).
type sseUpstream struct {
	*httptest.Server
	conns atomic.Int32
}

func newSSEUpstream(t *testing.T, serve func(n int, w http.ResponseWriter, r *http.Request)) *sseUpstream {
	u := &sseUpstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Read the body first: the server notices a client that went away (r.Context() done) only after.
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		serve(int(u.conns.Add(1)), w, r)
	}))
	t.Cleanup(u.Close)
	return u
}

// stream starts an event stream answer and writes each chunk, flushed.
func stream(w http.ResponseWriter, chunks ...string) {
	w.Header().Set("Content-Type", "text/event-stream")
	for _, c := range chunks {
		_, _ = io.WriteString(w, c)
		w.(http.Flusher).Flush()
	}
}

func nextEvent(data string) string { return "event: next\ndata: {\"data\":" + data + "}\n\n" }

const completeEvent = "event: complete\n\n"

// TestSubscribeGraphQL_sseReconnect: the request as sent, and a stream that ends before complete is
// re-requested, its events continuing in order.
func TestSubscribeGraphQL_sseReconnect(t *testing.T) {
	type seen struct{ method, accept, contentType, auth, body string }
	requests := make(chan seen, 3)
	u := newSSEUpstream(t, func(n int, w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		requests <- seen{r.Method, r.Header.Get("Accept"), r.Header.Get("Content-Type"), r.Header.Get("Authorization"), string(body)}
		switch n {
		case 1:
			stream(w, ":\n\n", nextEvent("1"), nextEvent("2"))
		case 2:
			stream(w, "event: next\r\ndata: {\"data\":\r\ndata: 3}\r\n\r\n") // data lines join with \n
		default:
			stream(w, ": ping\n\n", "event: other\ndata: x\n\n", nextEvent("4"), completeEvent)
		}
	})
	var reconnects atomic.Int32
	cfg := GraphQLConfig{Protocol: "sse", URL: u.URL, Header: http.Header{"Authorization": {"Bearer t"}}, Client: client(t),
		Reconnect: fast(1), OnReconnect: func() { reconnects.Add(1) }}
	s, err := SubscribeGraphQL(context.Background(), cfg, GraphQLRequest{Query: `subscription { n }`})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i, want := range []string{`{"data":1}`, `{"data":2}`, "{\"data\":\n3}", `{"data":4}`} {
		if got := next(t, s); got != want {
			t.Fatalf("event %d: %q, want %q", i+1, got, want)
		}
	}
	wantEOF(t, s)
	if n, r := u.conns.Load(), reconnects.Load(); n != 3 || r != 2 {
		t.Fatalf("%d requests, %d reconnects; want 3, 2", n, r)
	}
	want := seen{"POST", "text/event-stream", "application/json", "Bearer t", `{"query":"subscription { n }"}`}
	for range 3 {
		if got := <-requests; got != want {
			t.Fatalf("request %+v, want %+v", got, want)
		}
	}
}

func TestSubscribeGraphQL_sseGiveUp(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fail   func(w http.ResponseWriter)
		code   string
		status int
		conns  int32
	}{
		{"HTTP 503", func(w http.ResponseWriter) { w.WriteHeader(http.StatusServiceUnavailable) }, CodeHTTPError, 503, 4},
		{"HTTP 429", func(w http.ResponseWriter) { w.WriteHeader(http.StatusTooManyRequests) }, CodeHTTPError, 429, 4},
		{"HTTP 403 is not retried", func(w http.ResponseWriter) { w.WriteHeader(http.StatusForbidden) }, CodeHTTPError, 403, 2},
		{"ends before an event", func(w http.ResponseWriter) { stream(w, ":\n\n") }, CodeUnavailable, 0, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := newSSEUpstream(t, func(n int, w http.ResponseWriter, r *http.Request) {
				if n > 1 {
					tc.fail(w)
					return
				}
				stream(w, nextEvent("1"))
			})
			cfg := GraphQLConfig{Protocol: "sse", URL: u.URL, Client: client(t), Reconnect: fast(3)}
			s, err := SubscribeGraphQL(context.Background(), cfg, GraphQLRequest{Query: `subscription { n }`})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			next(t, s)
			wantError(t, end(t, s), tc.code, tc.status)
			if n := u.conns.Load(); n != tc.conns {
				t.Fatalf("%d requests, want %d", n, tc.conns)
			}
		})
	}
}

// TestSubscribeGraphQL_sseRefused: the first request's failure is SubscribeGraphQL's error.
func TestSubscribeGraphQL_sseRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		serve  func(w http.ResponseWriter, r *http.Request)
		code   string
		status int
		text   string
	}{
		{"HTTP 401", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusUnauthorized) }, CodeHTTPError, 401, ""},
		{"JSON errors", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"errors":[{"message":"no subscriptions here"}]}`)
		}, CodeGraphQLError, 0, "no subscriptions here"},
		{"HTML", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, `<html>`)
		}, CodeBadResponse, 0, ""},
		{"no answer within ConnectTimeout", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }, CodeUnavailable, 0, "graphql-sse: no response within 100ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := newSSEUpstream(t, func(_ int, w http.ResponseWriter, r *http.Request) { tc.serve(w, r) })
			cfg := GraphQLConfig{Protocol: "sse", URL: u.URL, Client: client(t), Reconnect: fast(3), ConnectTimeout: 100 * time.Millisecond}
			s, err := SubscribeGraphQL(context.Background(), cfg, GraphQLRequest{Query: `subscription { n }`})
			if err == nil {
				s.Close()
				t.Fatal("subscribed, want an error")
			}
			if e := wantError(t, err, tc.code, tc.status); tc.text != "" && e.Err.Error() != tc.text {
				t.Fatalf("error %q, want %q", e.Err, tc.text)
			}
			if n := u.conns.Load(); n != 1 {
				t.Fatalf("%d requests, want 1", n)
			}
		})
	}
}

func TestSubscribeGraphQL_sseEnds(t *testing.T) {
	for _, tc := range []struct {
		name  string
		chunk string
		code  string
	}{
		{"next not JSON", "event: next\ndata: {oops\n\n", CodeBadResponse},
		{"next not an object", "event: next\ndata: [1]\n\n", CodeBadResponse},
		{"next without data", "event: next\n\n", CodeBadResponse},
		{"event larger than MaxEventBytes", nextEvent(`"` + strings.Repeat("x", 600) + `"`), CodeBadResponse},
		{"line larger than MaxEventBytes", ": " + strings.Repeat("x", 600), CodeBadResponse},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := newSSEUpstream(t, func(n int, w http.ResponseWriter, r *http.Request) {
				stream(w, nextEvent("1"), tc.chunk)
				<-r.Context().Done()
			})
			cfg := GraphQLConfig{Protocol: "sse", URL: u.URL, Client: client(t), Reconnect: fast(3), MaxEventBytes: 512}
			s, err := SubscribeGraphQL(context.Background(), cfg, GraphQLRequest{Query: `subscription { n }`})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			next(t, s)
			wantError(t, end(t, s), tc.code, 0)
			if n := u.conns.Load(); n != 1 {
				t.Fatalf("%d requests, want 1", n)
			}
		})
	}
}

// TestSubscribeGraphQL_sseClose: the client's Timeout does not cut the stream; Close and cancelling the ctx end
// the request (the upstream sees it) and leave no goroutine behind.
func TestSubscribeGraphQL_sseClose(t *testing.T) {
	for _, how := range []string{"Close", "cancel"} {
		t.Run(how, func(t *testing.T) {
			gone := make(chan struct{})
			u := newSSEUpstream(t, func(n int, w http.ResponseWriter, r *http.Request) {
				stream(w, nextEvent("1"))
				time.Sleep(150 * time.Millisecond) // past the client's Timeout, which must not cut the stream
				stream(w, nextEvent("2"), nextEvent("3"))
				<-r.Context().Done()
				close(gone)
			})
			leaks := goleak.IgnoreCurrent()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			tr := &http.Transport{}
			cfg := GraphQLConfig{Protocol: "sse", URL: u.URL, Client: &http.Client{Transport: tr, Timeout: 100 * time.Millisecond}}
			s, err := SubscribeGraphQL(ctx, cfg, GraphQLRequest{Query: `subscription { n }`})
			if err != nil {
				t.Fatal(err)
			}
			next(t, s)
			if ev := next(t, s); ev != `{"data":2}` {
				t.Fatalf("event %s", ev)
			}
			endBy(t, how, s, cancel)
			<-gone
			s.Close()
			tr.CloseIdleConnections()
			goleak.VerifyNone(t, leaks)
		})
	}
}
