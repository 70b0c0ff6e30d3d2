package main

import (
	"context"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// TestMultipart: a deferred query to a client accepting multipart/mixed is its payloads as parts (POST and
// GET); a query without @defer and a client accepting JSON only get one JSON body; a subscription is refused.
func TestMultipart(t *testing.T) {
	env := newStreamEnv(t, `{}`)
	const apollo = "multipart/mixed;deferSpec=20220824,application/json"
	want := []string{`{"data":{"hello":"world"},"hasNext":true}`,
		`{"incremental":[{"data":{"slow":"a"},"path":[],"label":"one"}],"hasNext":true}`,
		`{"incremental":[{"data":{"slow":"b"},"path":[],"label":"two"}],"hasNext":false}`}
	t.Run("POST", func(t *testing.T) {
		resp := postStream(t, context.Background(), env.url, apollo, `{"query":"query Deferred {hello}"}`)
		if got := multipartParts(t, resp); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("parts\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
	t.Run("GET", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, env.url+"/graphql?query="+url.QueryEscape("query Deferred {hello}"), nil)
		req.Header.Set("Accept", "multipart/mixed")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if got := multipartParts(t, resp); len(got) != 3 {
			t.Errorf("parts %q", got)
		}
	})
	t.Run("exact bytes", func(t *testing.T) {
		resp := postStream(t, context.Background(), env.url, apollo, `{"query":"query Deferred {hello}"}`)
		body, _ := io.ReadAll(resp.Body)
		head := "\r\n---\r\nContent-Type: application/json; charset=utf-8\r\n\r\n"
		if w := head + strings.Join(want, head) + "\r\n-----\r\n"; string(body) != w {
			t.Errorf("body %q\nwant %q", body, w)
		}
	})
	t.Run("each part as it is ready", func(t *testing.T) {
		// The initial payload, with the delimiter after it, reaches the client before the rest exists.
		resp := postStream(t, context.Background(), env.url, apollo, `{"query":"query Gated {hello}"}`)
		want := "\r\n---\r\nContent-Type: application/json; charset=utf-8\r\n\r\n" + `{"data":{"hello":"world"},"hasNext":true}` + "\r\n---"
		got := make([]byte, len(want))
		if _, err := io.ReadFull(resp.Body, got); err != nil || string(got) != want {
			t.Fatalf("first bytes %q, %v", got, err)
		}
		close(env.engine.gate)
		rest, _ := io.ReadAll(resp.Body)
		if w := "\r\nContent-Type: application/json; charset=utf-8\r\n\r\n" + `{"incremental":[{"data":{"slow":"a"},"path":[]}],"hasNext":false}` + "\r\n-----\r\n"; string(rest) != w {
			t.Errorf("rest %q", rest)
		}
	})
	for _, tc := range []struct{ name, accept, body, wantType, wantBody string }{
		{"no defer", apollo, `{"query":"{hello}"}`, mediaJSON, `{"data":{"hello":"world"}}`},
		{"JSON only", "application/json", `{"query":"query Deferred {hello}"}`, mediaJSON, `{"data":{"hello":"world"},"hasNext":true}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := postStream(t, context.Background(), env.url, tc.accept, tc.body)
			body, _ := io.ReadAll(resp.Body)
			if resp.Header.Get("Content-Type") != tc.wantType || string(body) != tc.wantBody {
				t.Errorf("%q %s", resp.Header.Get("Content-Type"), body)
			}
		})
	}
	t.Run("subscription", func(t *testing.T) {
		resp := postStream(t, context.Background(), env.url, apollo, `{"query":"subscription{ticks}"}`)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "WebSocket") {
			t.Errorf("%d %s", resp.StatusCode, body)
		}
	})
}

// TestMultipart_Subscription: Apollo's multipart subscriptions: a heartbeat at once and while idle, each event
// as {"payload":…}, the engine's last error, then the end; the subscription counts against the limits.
func TestMultipart_Subscription(t *testing.T) {
	env := newStreamEnv(t, `{subscriptions: {keepAlive: 20ms, max: 1}}`)
	const accept = `multipart/mixed;subscriptionSpec="1.0",application/json`
	resp := postStream(t, context.Background(), env.url, accept, `{"query":"subscription{ticks}"}`)
	mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" || params["boundary"] != "graphql" || params["subscriptionspec"] != "1.0" {
		t.Fatalf("Content-Type %q", resp.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(resp.Body, "graphql")
	part := func() string {
		t.Helper()
		p, err := mr.NextPart()
		if err != nil {
			t.Fatalf("next part: %v", err)
		}
		if ct := p.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("part Content-Type %q", ct)
		}
		b, _ := io.ReadAll(p)
		return string(b)
	}
	if got := part(); got != `{}` {
		t.Fatalf("first part %s, want a heartbeat", got)
	}
	fd := env.nextFeed()
	refused := postStream(t, context.Background(), env.url, accept, `{"query":"subscription{ticks}"}`)
	if body, _ := io.ReadAll(refused.Body); !strings.Contains(string(body), codeSubscriptionLimit) {
		t.Errorf("second subscription: %d %s", refused.StatusCode, body)
	}
	if got := part(); got != `{}` {
		t.Fatalf("idle part %s, want a heartbeat", got)
	}
	fd.events <- event(`{"ticks":1}`)
	for got := part(); got != `{"payload":{"data":{"ticks":1}}}`; got = part() {
		if got != `{}` {
			t.Fatalf("part %s", got)
		}
	}
	fd.events <- &graphql.Response{Data: json.RawMessage(`null`), Errors: gqlerror.List{streamError(codeSubscriptionClosed, "closed")}}
	close(fd.events)
	for got := part(); !strings.Contains(got, codeSubscriptionClosed); got = part() {
		if got != `{}` {
			t.Fatalf("part %s", got)
		}
	}
	if p, err := mr.NextPart(); err != io.EOF {
		t.Fatalf("after the last event: %v %v", p, err)
	}
	waitFor(t, "the subscription to be released", func() bool { return env.srv.streams.Open() == 0 })
}
