package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/conflux-gql/conflux/admin"
	"github.com/conflux-gql/conflux/examples/customer360"
)

// adminEnv is the Customer 360 example with its admin API mounted at /admin/graphql.
type adminEnv struct {
	*testEnv
	cfgs *configs
}

func newAdminEnv(t *testing.T, token string) *adminEnv {
	t.Helper()
	env := newCustomer360(t, customer360.Options{Latency: noLatency()})
	s := env.srv.Config.Handler.(*server)
	c := newConfigs(env.rt.sg.File, s, slog.New(slog.NewTextHandler(io.Discard, nil)))
	s.mux.Handle("/admin/graphql", admin.NewHandler(c, token))
	t.Cleanup(func() { s.rt.Load().Close() })
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
	if data, _ := os.ReadFile(env.cfgs.path); !strings.Contains(string(data), "Customer.rewards:") || !strings.Contains(string(data), "conflux.extensions.graphqls") {
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
	before, _ := os.ReadFile(env.cfgs.path)
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
	if after, _ := os.ReadFile(env.cfgs.path); string(after) != string(before) || env.cfgs.Current().Version != version {
		t.Error("a refused change changed the file or the running version")
	}
	if _, err := os.Stat(strings.TrimSuffix(env.cfgs.path, "conflux.yaml") + admin.ExtensionsFile); err == nil {
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
