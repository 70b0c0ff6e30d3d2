package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/conflux-gql/conflux/sources"
)

// upstreamEnv serves a one-source configuration over real HTTP in front of api, an httptest backend, with a
// breaker that opens on the first failure: any request wrongly counted against the endpoint shows.
func upstreamEnv(t *testing.T, api string, sourceExtra string) *testEnv {
	t.Helper()
	dir := t.TempDir()
	sdl := `type Query {
  item(id: ID!, tenant: String): Item
  items(ids: [ID!]!): [Item]
  moved: Item
}
type Item { id: ID  tenant: String  key: String }
`
	cfg := fmt.Sprintf(`schema: [schema.graphqls]
sources:
  api:
    http:
      endpoints: [%s]
      breaker: {failures: 1, cooldown: 1h}
      headers: {X-Api-Key: s3cr3t}
%s
bindings:
  Query.item:
    source: api
    path: /items/{{args.id}}
    headers: {X-Tenant: "{{args.tenant}}"}
  Query.items:
    source: api
    path: /items/{{args.ids}}
  Query.moved:
    source: api
    path: /moved
`, api, sourceExtra)
	for name, data := range map[string]string{"schema.graphqls": sdl, "conflux.yaml": cfg} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return serveConfig(t, filepath.Join(dir, "conflux.yaml"), nil)
}

func (e *testEnv) breaker(source string) sources.EndpointStatus {
	e.t.Helper()
	return e.rt.Source(source).(*sources.HTTP).Status().Endpoints[0]
}

// TestUpstream_BadInputSparesOthers (issue 13): arguments that would make a request Conflux cannot send — a
// \u000b in a header, a path argument that climbs, an empty or list path argument — fail with BAD_USER_INPUT for
// that client; the backend sees none of them, its breaker (one failure opens it) stays closed, and another
// client's request still succeeds.
func TestUpstream_BadInputSparesOthers(t *testing.T) {
	var hits atomic.Int64
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		fmt.Fprintf(w, `{"id":%q,"tenant":%q,"key":%q}`, strings.TrimPrefix(r.URL.EscapedPath(), "/items/"), r.Header.Get("X-Tenant"), r.Header.Get("X-Api-Key"))
	}))
	t.Cleanup(api.Close)
	env := upstreamEnv(t, api.URL, "")
	bad := []struct {
		name string
		vars map[string]any
		q    string
	}{
		{name: "vertical tab in a header", vars: map[string]any{"id": "1", "tenant": "a\u000bb"}},
		{name: "CR LF in a header", vars: map[string]any{"id": "1", "tenant": "a\r\nX-Admin: yes"}},
		{name: "dot-dot", vars: map[string]any{"id": "..", "tenant": "t"}},
		{name: "escaped dot-dot", vars: map[string]any{"id": "%2e%2E", "tenant": "t"}},
		{name: "half-escaped dot-dot", vars: map[string]any{"id": ".%2E", "tenant": "t"}},
		{name: "dot", vars: map[string]any{"id": ".", "tenant": "t"}},
		{name: "empty", vars: map[string]any{"id": "", "tenant": "t"}},
		{name: "empty list", q: `query($ids: [ID!]!) { items(ids: $ids) { id } }`, vars: map[string]any{"ids": []any{}}},
		{name: "list of an empty id", q: `query($ids: [ID!]!) { items(ids: $ids) { id } }`, vars: map[string]any{"ids": []any{""}}},
		{name: "list", q: `query($ids: [ID!]!) { items(ids: $ids) { id } }`, vars: map[string]any{"ids": []any{"1", "2"}}},
	}
	const item = `query($id: ID!, $tenant: String) { item(id: $id, tenant: $tenant) { id tenant } }`
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			q := tc.q
			if q == "" {
				q = item
			}
			status, out := env.post(q, tc.vars)
			errs, _ := out["errors"].([]any)
			if status != 200 || len(errs) != 1 {
				t.Fatalf("status %d, answer %v: want one error", status, out)
			}
			e := errs[0].(map[string]any)
			if code := e["extensions"].(map[string]any)["code"]; code != "BAD_USER_INPUT" {
				t.Errorf("code = %v, want BAD_USER_INPUT (%v)", code, e["message"])
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("backend hits = %d, want 0", n)
	}
	if st := env.breaker("api"); st.Breaker != sources.BreakerClosed || st.Failures != 0 {
		t.Errorf("endpoint after the refused requests: %+v", st)
	}
	_, out := env.post(item, map[string]any{"id": "a b/c", "tenant": "acme"})
	want := map[string]any{"item": map[string]any{"id": "a%20b%2Fc", "tenant": "acme"}}
	if fmt.Sprint(out["data"]) != fmt.Sprint(want) || out["errors"] != nil {
		t.Errorf("another client's answer = %v, want data %v", out, want)
	}
}

// TestUpstream_Redirects (issue 13): a backend redirect to another host is not followed by default, so the
// source's API key never reaches it; the client gets UPSTREAM_HTTP_ERROR with the 3xx status, and the endpoint
// is not counted as failing. With the host listed, the redirect is followed without the source's headers.
func TestUpstream_Redirects(t *testing.T) {
	var stolen atomic.Int64
	var keys atomic.Value
	keys.Store("")
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		stolen.Add(1)
		keys.Store(r.Header.Get("X-Api-Key") + r.Header.Get("X-Tenant"))
		w.Write([]byte(`{"id":"elsewhere"}`))
	}))
	t.Cleanup(other.Close)
	_, port, _ := strings.Cut(strings.TrimPrefix(other.URL, "http://"), ":")
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" {
			http.Redirect(w, r, "http://localhost:"+port+"/landing", http.StatusFound)
			return
		}
		w.Write([]byte(`{"id":"1"}`))
	}))
	t.Cleanup(api.Close)

	env := upstreamEnv(t, api.URL, "")
	_, out := env.post(`{ moved { id } }`, nil)
	errs, _ := out["errors"].([]any)
	if len(errs) != 1 {
		t.Fatalf("answer = %v, want one error", out)
	}
	ext := errs[0].(map[string]any)["extensions"].(map[string]any)
	if ext["code"] != "UPSTREAM_HTTP_ERROR" || ext["status"] != float64(302) {
		t.Errorf("extensions = %v, want UPSTREAM_HTTP_ERROR 302", ext)
	}
	if n := stolen.Load(); n != 0 {
		t.Errorf("the other host was called %d times", n)
	}
	if st := env.breaker("api"); st.Breaker != sources.BreakerClosed || st.Failures != 0 {
		t.Errorf("endpoint after a refused redirect: %+v", st)
	}
	if _, out := env.post(`{ item(id: "1") { id } }`, nil); out["errors"] != nil {
		t.Errorf("another client's answer = %v", out)
	}

	env = upstreamEnv(t, api.URL, "      redirects: [localhost]")
	_, out = env.post(`{ moved { id } }`, nil)
	if fmt.Sprint(out["data"]) != "map[moved:map[id:elsewhere]]" || out["errors"] != nil {
		t.Fatalf("answer = %v, want the listed host's", out)
	}
	if n, k := stolen.Load(), keys.Load(); n != 1 || k != "" {
		t.Errorf("the listed host was called %d times and saw X-Api-Key/X-Tenant %q, want once without them", n, k)
	}
}
