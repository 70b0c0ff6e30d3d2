package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conflux-gql/conflux/runtime"
)

// corsConfig is a configuration without backends whose server.cors is cors (none when "").
func corsConfig(cors string) string {
	c := "schema: [s.graphqls]\nbindings:\n  Query.hello: {value: hi}\n"
	if cors != "" {
		c += "server:\n  cors: " + cors + "\n"
	}
	return c
}

// serveCORS serves corsConfig(cors) over real HTTP and returns the server's URL and its runtime.
func serveCORS(t *testing.T, cors string) (string, *runtime.Runtime) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "s.graphqls"), []byte("type Query { hello: String }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "conflux.yaml")
	if err := os.WriteFile(file, []byte(corsConfig(cors)), 0o644); err != nil {
		t.Fatal(err)
	}
	env := serveConfig(t, file, nil)
	return env.srv.URL, env.srv.Config.Handler.(*server).rt
}

// corsRequest sends method to url+path with headers and returns the answer's status, CORS headers and body.
func corsRequest(t *testing.T, method, url string, headers map[string]string, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	got := http.Header{}
	for k, v := range res.Header {
		if strings.HasPrefix(k, "Access-Control-") || k == "Vary" {
			got[k] = v
		}
	}
	return res.StatusCode, got, string(b)
}

const helloQuery = `{"query":"{ hello }"}`

func preflight(origin, method, headers string) map[string]string {
	h := map[string]string{"Origin": origin, "Access-Control-Request-Method": method}
	if headers != "" {
		h["Access-Control-Request-Headers"] = headers
	}
	return h
}

// TestCORS: server.cors over real HTTP — preflights of allowed and refused origins, methods and headers; actual
// requests; credentials; "*"; and off without server.cors (issue 16).
func TestCORS(t *testing.T) {
	const app = "https://app.example.com"
	vary := "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
	tests := []struct {
		name, cors string
		method     string
		headers    map[string]string
		body       string
		wantStatus int
		want       http.Header // the Access-Control-* and Vary headers, exactly
		wantBody   string
	}{
		{name: "preflight, allowed origin", cors: "{origins: [" + app + "], maxAge: 10m}",
			method: "OPTIONS", headers: preflight(app, "POST", "content-type"), wantStatus: 204,
			want: http.Header{"Access-Control-Allow-Origin": {app}, "Access-Control-Allow-Methods": {"POST"},
				"Access-Control-Allow-Headers": {"content-type"}, "Access-Control-Max-Age": {"600"}, "Vary": {vary}}},
		{name: "preflight, refused origin", cors: "{origins: [" + app + "]}",
			method: "OPTIONS", headers: preflight("https://evil.example", "POST", "content-type"), wantStatus: 204,
			want: http.Header{"Vary": {vary}}},
		{name: "preflight, method not allowed", cors: "{origins: [" + app + "], methods: [GET]}",
			method: "OPTIONS", headers: preflight(app, "POST", ""), wantStatus: 204, want: http.Header{"Vary": {vary}}},
		{name: "preflight, header not allowed", cors: "{origins: [" + app + "], headers: [Content-Type]}",
			method: "OPTIONS", headers: preflight(app, "POST", "content-type,x-tenant"), wantStatus: 204, want: http.Header{"Vary": {vary}}},
		{name: "preflight, credentials", cors: "{origins: [" + app + "], credentials: true}",
			method: "OPTIONS", headers: preflight(app, "POST", "authorization"), wantStatus: 204,
			want: http.Header{"Access-Control-Allow-Origin": {app}, "Access-Control-Allow-Methods": {"POST"},
				"Access-Control-Allow-Headers": {"authorization"}, "Access-Control-Allow-Credentials": {"true"}, "Vary": {vary}}},
		{name: "actual request, allowed origin", cors: "{origins: [" + app + "]}",
			method: "POST", headers: map[string]string{"Origin": app, "Content-Type": "application/json"}, body: helloQuery, wantStatus: 200,
			want: http.Header{"Access-Control-Allow-Origin": {app}, "Vary": {"Origin"}}, wantBody: `{"data":{"hello":"hi"}}`},
		{name: "actual request, credentials", cors: "{origins: [" + app + "], credentials: true}",
			method: "POST", headers: map[string]string{"Origin": app, "Content-Type": "application/json"}, body: helloQuery, wantStatus: 200,
			want:     http.Header{"Access-Control-Allow-Origin": {app}, "Access-Control-Allow-Credentials": {"true"}, "Vary": {"Origin"}},
			wantBody: `{"data":{"hello":"hi"}}`},
		{name: "actual request, refused origin is answered without CORS headers", cors: "{origins: [" + app + "]}",
			method: "POST", headers: map[string]string{"Origin": "https://evil.example", "Content-Type": "application/json"}, body: helloQuery,
			wantStatus: 200, want: http.Header{"Vary": {"Origin"}}, wantBody: `{"data":{"hello":"hi"}}`},
		{name: "actual GET, any origin", cors: `{origins: ["*"]}`,
			method: "GET", headers: map[string]string{"Origin": "https://anyone.example"}, wantStatus: 200,
			want: http.Header{"Access-Control-Allow-Origin": {"*"}, "Vary": {"Origin"}}, wantBody: `{"data":{"hello":"hi"}}`},
		{name: "off: a preflight gets no CORS headers", cors: "",
			method: "OPTIONS", headers: preflight(app, "POST", "content-type"), wantStatus: 200, want: http.Header{}},
		{name: "off: an actual request gets no CORS headers", cors: "",
			method: "POST", headers: map[string]string{"Origin": app, "Content-Type": "application/json"}, body: helloQuery,
			wantStatus: 200, want: http.Header{}, wantBody: `{"data":{"hello":"hi"}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			url, _ := serveCORS(t, tc.cors)
			path := "/graphql"
			if tc.method == "GET" {
				path += "?query=%7B%20hello%20%7D"
			}
			status, got, body := corsRequest(t, tc.method, url+path, tc.headers, tc.body)
			if status != tc.wantStatus {
				t.Errorf("status = %d, want %d (%s)", status, tc.wantStatus, body)
			}
			if !headersEqual(got, tc.want) {
				t.Errorf("headers = %v\nwant      %v", got, tc.want)
			}
			if tc.wantBody != "" && body != tc.wantBody {
				t.Errorf("body = %s, want %s", body, tc.wantBody)
			}
		})
	}
}

// TestCORS_onlyGraphQL: the playground, health and admin endpoints get no CORS headers.
func TestCORS_onlyGraphQL(t *testing.T) {
	url, _ := serveCORS(t, "{origins: [\"*\"]}")
	for _, path := range []string{"/", "/healthz", "/admin/graphql"} {
		_, got, _ := corsRequest(t, "GET", url+path, map[string]string{"Origin": "https://app.example.com"}, "")
		if len(got) != 0 {
			t.Errorf("%s: CORS headers %v", path, got)
		}
	}
}

// TestCORS_reload: a change of server.cors applies from the next request on, and removing it turns CORS off.
func TestCORS_reload(t *testing.T) {
	url, rt := serveCORS(t, "{origins: [https://a.example]}")
	allowed := func(origin string) string {
		_, got, _ := corsRequest(t, "OPTIONS", url+"/graphql", preflight(origin, "POST", "content-type"), "")
		return got.Get("Access-Control-Allow-Origin")
	}
	if got := allowed("https://a.example"); got != "https://a.example" {
		t.Fatalf("before the change: %q", got)
	}
	if _, err := rt.Write([]byte(corsConfig("{origins: [https://b.example]}")), nil, false); err != nil {
		t.Fatal(err)
	}
	if got := allowed("https://a.example"); got != "" {
		t.Errorf("a no longer allowed origin: %q", got)
	}
	if got := allowed("https://b.example"); got != "https://b.example" {
		t.Errorf("a newly allowed origin: %q", got)
	}
	if _, err := rt.Write([]byte(corsConfig(`{origins: ["*"], credentials: true}`)), nil, false); err == nil ||
		!strings.Contains(err.Error(), `credentials: true cannot go with origins: ["*"]`) {
		t.Errorf("refused change: %v", err)
	}
	if got := allowed("https://b.example"); got != "https://b.example" {
		t.Errorf("after a refused change: %q", got)
	}
	if _, err := rt.Write([]byte(corsConfig("")), nil, false); err != nil {
		t.Fatal(err)
	}
	if got := allowed("https://b.example"); got != "" {
		t.Errorf("CORS removed: %q", got)
	}
}

func headersEqual(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if strings.Join(v, ",") != strings.Join(b[k], ",") {
			return false
		}
	}
	return true
}
