package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// TestSSE_Subscription: a subscription over POST and over GET, each event an `event: next`, the engine's last
// error then `event: complete`; keep-alive comments while idle; the limit refuses with a request error.
func TestSSE_Subscription(t *testing.T) {
	env := newStreamEnv(t, `{subscriptions: {keepAlive: 20ms, max: 1}}`)
	for _, method := range []string{http.MethodPost, http.MethodGet} {
		t.Run(method, func(t *testing.T) {
			var resp *http.Response
			if method == http.MethodPost {
				resp = postStream(t, context.Background(), env.url, "text/event-stream", `{"query":"subscription{ticks}"}`)
			} else {
				req, _ := http.NewRequest(http.MethodGet, env.url+"/graphql?query="+url.QueryEscape("subscription{ticks}"), nil)
				req.Header.Set("Accept", "text/event-stream")
				var err error
				if resp, err = http.DefaultClient.Do(req); err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
			}
			if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
				t.Fatalf("status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			fd := env.nextFeed()
			sr := &sseReader{r: bufio.NewReader(resp.Body)}

			// The limit (max 1) refuses a second subscription with a request error, in an event stream.
			refused := postStream(t, context.Background(), env.url, "text/event-stream", `{"query":"subscription{ticks}"}`)
			if got := sseEvents(t, refused); len(got) != 2 || !strings.HasPrefix(got[0], `next {"errors":[`) ||
				!strings.Contains(got[0], codeSubscriptionLimit) || got[1] != "complete " {
				t.Errorf("second subscription: %d %q", refused.StatusCode, got)
			}

			fd.events <- event(`{"ticks":1}`)
			if typ, data, err := sr.next(); err != nil || typ != "next" || data != `{"data":{"ticks":1}}` {
				t.Fatalf("event %q %q %v", typ, data, err)
			}
			// Idle: keep-alive comments arrive before the next event.
			waitFor(t, "keep-alive comments", func() bool {
				fd.events <- event(`{"ticks":2}`)
				typ, _, err := sr.next()
				if err != nil || typ != "next" {
					t.Fatalf("event %q %v", typ, err)
				}
				return sr.comments > 0
			})
			fd.events <- &graphql.Response{Data: json.RawMessage(`null`), Errors: gqlerror.List{streamError(codeSubscriptionClosed, "closed")}}
			close(fd.events)
			if typ, data, _ := sr.next(); typ != "next" || !strings.Contains(data, codeSubscriptionClosed) {
				t.Errorf("last event %q %q", typ, data)
			}
			if typ, data, _ := sr.next(); typ != "complete" || data != "" {
				t.Errorf("end %q %q", typ, data)
			}
			waitFor(t, "the subscription to be released", func() bool { return env.srv.streams.Open() == 0 })
		})
	}
}

// TestSSE_Disconnect: the client going away cancels the operation's context.
func TestSSE_Disconnect(t *testing.T) {
	env := newStreamEnv(t, `{}`)
	ctx, cancel := context.WithCancel(context.Background())
	resp := postStream(t, ctx, env.url, "text/event-stream", `{"query":"subscription{ticks}"}`)
	fd := env.nextFeed()
	fd.events <- event(`{"ticks":1}`)
	sr := &sseReader{r: bufio.NewReader(resp.Body)}
	if typ, _, err := sr.next(); err != nil || typ != "next" {
		t.Fatalf("event %q %v", typ, err)
	}
	cancel()
	fd.waitCancelled(t)
	waitFor(t, "the subscription to be released", func() bool { return env.srv.streams.Open() == 0 })
}

// TestSSE_Queries: a query over SSE is one next then complete; a deferred one its three payloads; a request
// error is a JSON answer with GraphQL over HTTP's status; a mutation over GET stays 405.
func TestSSE_Queries(t *testing.T) {
	env := newStreamEnv(t, `{}`)
	for _, tc := range []struct {
		name, body string
		want       []string
	}{
		{"query", `{"query":"{hello}"}`, []string{"next " + `{"data":{"hello":"world"}}`, "complete "}},
		{"deferred", `{"query":"query Deferred {hello}"}`, []string{
			"next " + `{"data":{"hello":"world"},"hasNext":true}`,
			"next " + `{"incremental":[{"data":{"slow":"a"},"path":[],"label":"one"}],"hasNext":true}`,
			"next " + `{"incremental":[{"data":{"slow":"b"},"path":[],"label":"two"}],"hasNext":false}`,
			"complete "}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := postStream(t, context.Background(), env.url, "text/event-stream", tc.body)
			sr := &sseReader{r: bufio.NewReader(resp.Body)}
			var got []string
			for {
				typ, data, err := sr.next()
				if err != nil {
					break
				}
				got = append(got, typ+" "+data)
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("events\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
	// Request errors come through an accepted event stream (graphql-sse's PROTOCOL.md): one next with the
	// errors and no data, then complete.
	for _, tc := range []struct{ name, body, want string }{
		{"validation error", `{"query":"{nope}"}`, "Cannot query field"},
		{"parse error", `{"query":"{"}`, "GRAPHQL_PARSE_FAILED"},
		{"variables that do not fit", `{"query":"query($n: Int!) {hello}","variables":{"n":"x"}}`, "GRAPHQL_VALIDATION_FAILED"},
		{"refused plan", `{"query":"query Refused {hello}"}`, "PLAN_REFUSED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := postStream(t, context.Background(), env.url, "text/event-stream", tc.body)
			got := sseEvents(t, resp)
			if resp.StatusCode != 200 || len(got) != 2 || !strings.HasPrefix(got[0], `next {"errors":[`) ||
				!strings.Contains(got[0], tc.want) || got[1] != "complete " {
				t.Errorf("%d %q", resp.StatusCode, got)
			}
		})
	}
	t.Run("not a GraphQL request", func(t *testing.T) {
		resp := postStream(t, context.Background(), env.url, "text/event-stream", `{"query":1}`)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), codeBadRequest) {
			t.Errorf("%d %s", resp.StatusCode, body)
		}
	})
	t.Run("mutation over GET", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, env.url+"/graphql?query="+url.QueryEscape("mutation{m}"), nil)
		req.Header.Set("Accept", "text/event-stream")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("status %d, want 405", resp.StatusCode)
		}
	})
	t.Run("subscription over plain JSON", func(t *testing.T) {
		resp := postStream(t, context.Background(), env.url, "application/json", `{"query":"subscription{ticks}"}`)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "Server-Sent Events") {
			t.Errorf("%d %s", resp.StatusCode, body)
		}
	})
}

// TestSSE_WriteTimeout: a stream outlives server.writeTimeout as long as each event is written in time.
func TestSSE_WriteTimeout(t *testing.T) {
	env := newStreamEnv(t, `{writeTimeout: 100ms}`)
	resp := postStream(t, context.Background(), env.url, "text/event-stream", `{"query":"subscription{ticks}"}`)
	fd := env.nextFeed()
	sr := &sseReader{r: bufio.NewReader(resp.Body)}
	deadline := time.Now().Add(300 * time.Millisecond)
	for i := 0; time.Now().Before(deadline); i++ {
		fd.events <- event(`{"ticks":1}`)
		if typ, _, err := sr.next(); err != nil || typ != "next" {
			t.Fatalf("event %d after %v: %q %v", i, time.Until(deadline), typ, err)
		}
		time.Sleep(20 * time.Millisecond) // the stream's pace, not a wait for an event
	}
	close(fd.events)
}

// sseEvents reads an event stream to its end: "type data" per event. The answer must be an event stream.
func sseEvents(t *testing.T, resp *http.Response) []string {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, mediaEventStream) {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d, Content-Type %q: %s", resp.StatusCode, ct, body)
	}
	sr := &sseReader{r: bufio.NewReader(resp.Body)}
	var got []string
	for {
		typ, data, err := sr.next()
		if err != nil {
			return got
		}
		got = append(got, typ+" "+data)
	}
}
