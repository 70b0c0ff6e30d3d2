package main

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
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
