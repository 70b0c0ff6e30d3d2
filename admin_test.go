package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/conflux-gql/conflux/admin"
	"github.com/conflux-gql/conflux/examples/customer360"
	"github.com/conflux-gql/conflux/runtime"
)

// adminEnv is the Customer 360 example with its admin API mounted at /admin/graphql.
type adminEnv struct {
	*testEnv
	cfgs *runtime.Runtime
}

func newAdminEnv(t *testing.T, token string) *adminEnv {
	t.Helper()
	env := newCustomer360(t, customer360.Options{Latency: noLatency()})
	s := env.srv.Config.Handler.(*server)
	c := s.rt
	s.mux.Handle("/admin/graphql", admin.NewHandler(c, token))
	t.Cleanup(func() { s.rt.Close() })
	return &adminEnv{testEnv: env, cfgs: c}
}

// admin sends an admin operation and returns data, failing the test on GraphQL errors.
func (e *adminEnv) admin(query string, vars map[string]any) map[string]any {
	e.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	status, raw := e.do("POST", "/admin/graphql", "application/json", body)
	var resp struct {
		Data   map[string]any `json:"data"`
		Errors []any          `json:"errors"`
	}
	if err := json.Unmarshal(raw, &resp); err != nil || status != 200 || resp.Errors != nil {
		e.t.Fatalf("admin call failed (%d): %s", status, raw)
	}
	return resp.Data
}

const changeFields = `{ applied dryRun version problems { file line column path message warning } }`

// TestAdmin_DeclareQueryReplaceRemoveRollback walks a platform engineer's day: a new REST backend becomes a new
// field with three admin mutations, is queried at once, replaced, removed and restored — no restart.
func TestAdmin_DeclareQueryReplaceRemoveRollback(t *testing.T) {
	loyalty := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := strings.TrimPrefix(r.URL.Path, "/loyalty/")
		fmt.Fprintf(w, `{"customerId":%q,"points":%s,"tier":"gold"}`, id, id+"00")
	}))
	t.Cleanup(loyalty.Close)
	env := newAdminEnv(t, "")
	start := env.admin(`{ version { id } }`, nil)["version"].(map[string]any)["id"].(string)

	steps := []struct {
		name, query string
		vars        map[string]any
	}{
		{"extend the schema", `mutation($sdl: String!) { extendSchema(sdl: $sdl) ` + changeFields + ` }`,
			map[string]any{"sdl": "type Rewards { points: Int! tier: String }\nextend type Customer { rewards: Rewards }"}},
		{"add the source", `mutation($c: String!) { upsertSource(name: "rewards", config: $c) ` + changeFields + ` }`,
			map[string]any{"c": fmt.Sprintf(`{"http": {"endpoints": [%q]}}`, loyalty.URL)}},
		{"bind the field", `mutation { declareBinding(field: "Customer.rewards", config: "{source: rewards, path: \"/loyalty/{{parent.id}}\"}") ` + changeFields + ` }`, nil},
	}
	for _, s := range steps {
		for _, res := range env.admin(s.query, s.vars) {
			r := res.(map[string]any)
			if r["applied"] != true {
				t.Fatalf("%s: not applied: %v", s.name, r["problems"])
			}
		}
	}
	if _, raw := env.postRaw(`{ customer(id: 2) { name rewards { points tier } } }`, nil); string(raw) != `{"data":{"customer":{"name":"Grace Hopper","rewards":{"points":200,"tier":"gold"}}}}` {
		t.Fatalf("new field: %s", raw)
	}
	// The change is persisted: the file on disk loads to the running version.
	if data, _ := os.ReadFile(env.cfgs.Current().File); !strings.Contains(string(data), "Customer.rewards:") || !strings.Contains(string(data), "conflux.extensions.graphqls") {
		t.Errorf("config on disk lacks the change:\n%s", data)
	}

	// The plan shows the new fetch, without calling it.
	calls := env.admin(`{ explain(query: "{ customers { rewards { points } } }") { text json mermaid } }`, nil)["explain"].(map[string]any)
	if !strings.Contains(calls["text"].(string), "Customer.rewards <- rewards GET /loyalty/{{parent.id}} (per parent)") {
		t.Errorf("explain: %s", calls["text"])
	}
	bindings := env.admin(`{ bindings { field source declaredAt config } }`, nil)["bindings"].([]any)
	found := false
	for _, b := range bindings {
		if m := b.(map[string]any); m["field"] == "Customer.rewards" {
			found = strings.Contains(m["declaredAt"].(string), "conflux.yaml:") && strings.Contains(m["config"].(string), "/loyalty/{{parent.id}}")
		}
	}
	if !found {
		t.Errorf("bindings lack Customer.rewards with its position and config: %v", bindings)
	}

	// Replace: read another field of the same answer.
	env.admin(`mutation { declareBinding(field: "Rewards.points", config: "{from: customerId}") { applied } }`, nil)
	if _, raw := env.postRaw(`{ customer(id: 2) { rewards { points } } }`, nil); string(raw) != `{"data":{"customer":{"rewards":{"points":2}}}}` {
		t.Errorf("after replace: %s", raw)
	}
	// Remove: the field is null again (no binding, no parent key).
	env.admin(`mutation { removeBinding(field: "Customer.rewards") { applied } }`, nil)
	if _, raw := env.postRaw(`{ customer(id: 2) { rewards { points } } }`, nil); string(raw) != `{"data":{"customer":{"rewards":null}}}` {
		t.Errorf("after remove: %s", raw)
	}
	// Roll back to the start: the extension file stays, but the config no longer names it, so the field is gone.
	res := env.admin(`mutation($v: String!) { rollback(version: $v) { applied version } }`, map[string]any{"v": start})["rollback"].(map[string]any)
	if res["applied"] != true || res["version"] != start {
		t.Fatalf("rollback: %v", res)
	}
	if status, raw := env.postRaw(`{ customer(id: 2) { rewards { points } } }`, nil); status != 200 || !strings.Contains(string(raw), "GRAPHQL_VALIDATION_FAILED") {
		t.Errorf("after rollback the field should not exist: %d %s", status, raw)
	}
}

// TestAdmin_RefusedChanges: a bad change is refused whole with located problems, and nothing changes.
func TestAdmin_RefusedChanges(t *testing.T) {
	env := newAdminEnv(t, "")
	before, _ := os.ReadFile(env.cfgs.Current().File)
	version := env.cfgs.Current().Version
	tests := []struct {
		name, query, want string
	}{
		{"unknown source", `mutation { declareBinding(field: "Customer.email", config: "{source: nope, path: /x}") ` + changeFields + ` }`, `unknown source \"nope\"`},
		{"unknown field", `mutation { declareBinding(field: "Customer.nope", config: "{from: x}") ` + changeFields + ` }`, `type Customer has no field \"nope\"`},
		{"bad template", `mutation { declareBinding(field: "Query.product", config: "{source: catalog, path: \"/p/{{args.idd}}\"}") ` + changeFields + ` }`, `field product has no argument \"idd\"`},
		{"source in use", `mutation { removeSource(name: "billing") ` + changeFields + ` }`, `unknown source \"billing\"`},
		{"bad SDL", `mutation { extendSchema(sdl: "type {") ` + changeFields + ` }`, `SDL:`},
		{"not YAML", `mutation { declareBinding(field: "Customer.email", config: "{") ` + changeFields + ` }`, `not YAML or JSON`},
		{"dry run of a good change", `mutation { declareBinding(field: "Customer.email", config: "{from: name}", dryRun: true) ` + changeFields + ` }`, `"applied":false,"dryRun":true,"version":"`},
		{"validate", `{ validate(config: "schema: [x.graphqls]") ` + changeFields + ` }`, `matches no file`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body, _ := json.Marshal(map[string]any{"query": tc.query})
			_, raw := env.do("POST", "/admin/graphql", "application/json", body)
			if !strings.Contains(string(raw), tc.want) {
				t.Errorf("got %s, want it to contain %s", raw, tc.want)
			}
			if strings.Contains(string(raw), `"applied":true`) {
				t.Errorf("applied: %s", raw)
			}
		})
	}
	if after, _ := os.ReadFile(env.cfgs.Current().File); string(after) != string(before) || env.cfgs.Current().Version != version {
		t.Error("a refused change changed the file or the running version")
	}
	if _, err := os.Stat(strings.TrimSuffix(env.cfgs.Current().File, "conflux.yaml") + admin.ExtensionsFile); err == nil {
		t.Error("a refused extendSchema wrote its file")
	}
	last := env.admin(`{ lastReloadError { message problems { line path message } } }`, nil)["lastReloadError"]
	if last == nil {
		t.Error("lastReloadError is empty after refused changes")
	}
}

func TestAdmin_Auth(t *testing.T) {
	tests := []struct {
		name, token, header string
		remote              string
		want                int
	}{
		{name: "token required, none sent", token: "s3cret", want: 401},
		{name: "wrong token", token: "s3cret", header: "Bearer nope", want: 401},
		{name: "right token", token: "s3cret", header: "Bearer s3cret", want: 200},
		{name: "no token configured, loopback", want: 200},
		{name: "no token configured, remote", remote: "10.1.2.3:5555", want: 403},
		{name: "token configured, remote with token", token: "s3cret", header: "Bearer s3cret", remote: "10.1.2.3:5555", want: 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := admin.NewHandler(nil, tc.token)
			req := httptest.NewRequest("POST", "/admin/graphql", strings.NewReader(`{"query":"{ __typename }"}`))
			req.Header.Set("Content-Type", "application/json")
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			req.Host = "127.0.0.1:8080"
			req.RemoteAddr = "127.0.0.1:4444"
			if tc.remote != "" {
				req.RemoteAddr = tc.remote
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Errorf("status %d, want %d: %s", rec.Code, tc.want, rec.Body)
			}
		})
	}
}

// TestAdmin_PublicAPIHasNoAdminFields: /graphql never exposes admin operations.
func TestAdmin_PublicAPIHasNoAdminFields(t *testing.T) {
	env := newAdminEnv(t, "")
	status, raw := env.postRaw(`mutation { declareBinding(field: "Customer.email", config: "{from: name}") { applied } }`, nil)
	if status != 200 || !strings.Contains(string(raw), `Cannot query field \"declareBinding\"`) {
		t.Errorf("got %d %s", status, raw)
	}
}

// TestAdmin_BrowserAttacks: without a token the admin API trusted any loopback connection, so a web page could
// reach it through DNS rebinding (Host: attacker.example) or cross-site requests, run mutations, and make
// Conflux POST to a URL of its choice with a GET ?query={validate(...)} (issue 13). Each refused request changes
// nothing and calls nothing, a same-origin loopback request still works, and so does /graphql meanwhile.
func TestAdmin_BrowserAttacks(t *testing.T) {
	var outbound atomic.Int64 // requests the introspection of a validated config would send
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		outbound.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(evil.Close)
	env := newAdminEnv(t, "")
	self := strings.TrimPrefix(env.srv.URL, "http://")
	port := self[strings.LastIndex(self, ":"):]
	before, _ := os.ReadFile(env.cfgs.Current().File)
	version := env.cfgs.Current().Version

	validate := `{ validate(config: ` + strconv.Quote("schema: [schema/*.graphqls]\nsources:\n  evil:\n    graphql: {endpoints: ["+evil.URL+"]}\n") + `) { problems { message } } }`
	const mutation = `mutation { declareBinding(field: "Customer.email", config: "{from: name}") { applied } }`
	const read = `{ version { id } }`
	post := func(q string) string { b, _ := json.Marshal(map[string]any{"query": q}); return string(b) }
	get := func(q string) string { return "/admin/graphql?query=" + url.QueryEscape(q) }

	tests := []struct {
		name        string
		method      string
		target      string // path and query
		host        string // Host header; empty: the server's own address
		contentType string
		headers     map[string]string
		body        string
		status      int
		code        string
	}{
		{name: "DNS rebinding: foreign Host", host: "attacker.example" + port, body: post(mutation), status: 403, code: "HOST_NOT_ALLOWED"},
		{name: "foreign Host without port", host: "attacker.example", body: post(read), status: 403, code: "HOST_NOT_ALLOWED"},
		{name: "unspecified address as Host", host: "0.0.0.0" + port, body: post(read), status: 403, code: "HOST_NOT_ALLOWED"},
		{name: "cross-site Origin", headers: map[string]string{"Origin": "https://attacker.example"}, body: post(mutation), status: 403, code: "CROSS_ORIGIN_REQUEST"},
		{name: "same-site Origin, another port", headers: map[string]string{"Origin": "http://127.0.0.1:1"}, body: post(mutation), status: 403, code: "CROSS_ORIGIN_REQUEST"},
		{name: "Origin null", headers: map[string]string{"Origin": "null"}, body: post(mutation), status: 403, code: "CROSS_ORIGIN_REQUEST"},
		{name: "Sec-Fetch-Site cross-site, no Origin", method: "GET", target: get(read), headers: map[string]string{"Sec-Fetch-Site": "cross-site"}, status: 403, code: "CROSS_ORIGIN_REQUEST"},
		{name: "Sec-Fetch-Site same-site", headers: map[string]string{"Sec-Fetch-Site": "same-site"}, body: post(read), status: 403, code: "CROSS_ORIGIN_REQUEST"},
		{name: "GET mutation", method: "GET", target: get(mutation), status: 405, code: "METHOD_NOT_ALLOWED"},
		{name: "GET validate", method: "GET", target: get(validate), status: 405, code: "METHOD_NOT_ALLOWED"},
		{name: "GET validate through a fragment", method: "GET", target: get(`query { version { id } ...F } fragment F on Query { ... { ` + strings.TrimSuffix(strings.TrimPrefix(validate, "{"), "}") + ` } }`), status: 405, code: "METHOD_NOT_ALLOWED"},
		{name: "GET validate beside another operation", method: "GET", target: get(`query A { version { id } } query B `+validate) + "&operationName=A", status: 405, code: "METHOD_NOT_ALLOWED"},
		{name: "text/plain POST", contentType: "text/plain", body: post(mutation), status: 415, code: "UNSUPPORTED_MEDIA_TYPE"},
		{name: "form POST", contentType: "application/x-www-form-urlencoded", body: "query=" + url.QueryEscape(mutation), status: 415, code: "UNSUPPORTED_MEDIA_TYPE"},
		{name: "multipart POST", contentType: "multipart/form-data; boundary=x", body: "--x\r\n\r\n" + post(mutation) + "\r\n--x--\r\n", status: 415, code: "UNSUPPORTED_MEDIA_TYPE"},
		{name: "POST without Content-Type", contentType: "-", body: post(mutation), status: 415, code: "UNSUPPORTED_MEDIA_TYPE"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := adminRequest(t, env, tc.method, tc.target, tc.host, tc.contentType, tc.headers, tc.body)
			if status != tc.status || !strings.Contains(body, `"code":"`+tc.code+`"`) {
				t.Errorf("status %d %s, want %d %s", status, body, tc.status, tc.code)
			}
			if status, raw := env.postRaw(`{ customer(id: 1) { name } }`, nil); status != 200 || !strings.Contains(string(raw), `"name":"Ada Lovelace"`) {
				t.Errorf("/graphql meanwhile: %d %s", status, raw)
			}
		})
	}
	if n := outbound.Load(); n != 0 {
		t.Errorf("refused requests made Conflux call out %d times", n)
	}
	if after, _ := os.ReadFile(env.cfgs.Current().File); string(after) != string(before) || env.cfgs.Current().Version != version {
		t.Fatal("a refused request changed the configuration")
	}

	// What a local tool or the same-origin playground sends still works.
	ok := []struct {
		name, method, target, host string
		headers                    map[string]string
		body, want                 string
	}{
		{name: "same-origin POST validate", headers: map[string]string{"Origin": env.srv.URL, "Sec-Fetch-Site": "same-origin"}, body: post(validate), want: `"validate"`},
		{name: "localhost", host: "localhost" + port, headers: map[string]string{"Origin": "http://localhost" + port}, body: post(read), want: `"version"`},
		{name: "[::1]", host: "[::1]" + port, body: post(read), want: `"version"`},
		{name: "127.0.0.2, no port", host: "127.0.0.2", body: post(read), want: `"version"`},
		{name: "LOCALHOST.", host: "LOCALHOST." + port, body: post(read), want: `"version"`},
		{name: "typed URL: Sec-Fetch-Site none", method: "GET", target: get(read), headers: map[string]string{"Sec-Fetch-Site": "none"}, want: `"version"`},
		{name: "GET read-only fields", method: "GET", target: get(`{ version { id } sdl sources { name } bindings { field } history { id } lastReloadError { message } explain(query: "{ customer(id: 1) { name } }") { text } __typename __schema { queryType { name } } }`), want: `"explain"`},
		{name: "same-origin POST mutation", headers: map[string]string{"Origin": env.srv.URL}, body: post(mutation), want: `"applied":true`},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			status, body := adminRequest(t, env, tc.method, tc.target, tc.host, "", tc.headers, tc.body)
			if status != 200 || !strings.Contains(body, tc.want) || strings.Contains(body, `"errors"`) {
				t.Errorf("status %d %s, want 200 with %s", status, body, tc.want)
			}
		})
	}
	// The same-origin validate did call out: the refused one above would have too.
	if outbound.Load() == 0 {
		t.Error("validate over POST did not introspect the upstream it names: the GET check proves nothing")
	}
	if _, raw := env.postRaw(`{ customer(id: 1) { email } }`, nil); string(raw) != `{"data":{"customer":{"email":"Ada Lovelace"}}}` {
		t.Errorf("the same-origin mutation did not apply: %s", raw)
	}
}

// adminRequest sends one request to env's admin API over a real socket: method defaults to POST, target to
// /admin/graphql, host to the server's address, contentType to application/json ("-" sends none).
func adminRequest(t *testing.T, env *adminEnv, method, target, host, contentType string, headers map[string]string, body string) (int, string) {
	t.Helper()
	if method == "" {
		method = "POST"
	}
	if target == "" {
		target = "/admin/graphql"
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, env.srv.URL+target, rd)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	switch contentType {
	case "":
		if method == "POST" {
			req.Header.Set("Content-Type", "application/json")
		}
	case "-":
	default:
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := env.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

// TestAdmin_TokenAndHosts: with a token, the token check is unchanged and the Origin rule still applies;
// AllowHost adds the admin API's own listen address to the loopback names, but never an unspecified address.
func TestAdmin_TokenAndHosts(t *testing.T) {
	tests := []struct {
		name, token string
		opts        []admin.Option
		host        string
		headers     map[string]string
		want        int
	}{
		{name: "token, cross-site Origin", token: "s3cret", host: "conflux.internal", headers: map[string]string{"Authorization": "Bearer s3cret", "Origin": "https://attacker.example"}, want: 403},
		{name: "token, Sec-Fetch-Site cross-site", token: "s3cret", host: "conflux.internal", headers: map[string]string{"Authorization": "Bearer s3cret", "Sec-Fetch-Site": "cross-site"}, want: 403},
		{name: "token, same origin", token: "s3cret", host: "conflux.internal", headers: map[string]string{"Authorization": "Bearer s3cret", "Origin": "https://conflux.internal"}, want: 200},
		{name: "token, any Host", token: "s3cret", host: "conflux.internal", headers: map[string]string{"Authorization": "Bearer s3cret"}, want: 200},
		{name: "token, wrong one, same origin", token: "s3cret", host: "conflux.internal", headers: map[string]string{"Authorization": "Bearer nope", "Origin": "https://conflux.internal"}, want: 401},
		{name: "no token, listen address allowed", opts: []admin.Option{admin.AllowHost("myhost:9000")}, host: "MyHost:9000", want: 200},
		{name: "no token, listen address not given", host: "myhost:9000", want: 403},
		{name: "no token, unspecified listen address", opts: []admin.Option{admin.AllowHost("0.0.0.0:9000"), admin.AllowHost(":9000")}, host: "0.0.0.0:9000", want: 403},
		{name: "no token, empty Host", host: "-", want: 403},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := admin.NewHandler(nil, tc.token, tc.opts...)
			req := httptest.NewRequest("POST", "/admin/graphql", strings.NewReader(`{"query":"{ __typename }"}`))
			req.Header.Set("Content-Type", "application/json")
			req.RemoteAddr = "127.0.0.1:4444"
			req.Host = tc.host
			if tc.host == "-" {
				req.Host = ""
			}
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Errorf("status %d, want %d: %s", rec.Code, tc.want, rec.Body)
			}
		})
	}
}
