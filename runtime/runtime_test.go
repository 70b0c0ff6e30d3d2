package runtime

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/conflux-gql/conflux/examples/posts"
	"github.com/conflux-gql/conflux/graph"
	"github.com/conflux-gql/conflux/schema"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// postsRuntime serves the posts example (its configuration copied to a temp dir, pointed at a backend of its
// own) from a Runtime until the test ends, and returns the Runtime, the configuration file and a function that
// posts a query.
func postsRuntime(t *testing.T, opts ...func(*Config)) (*Runtime, string, func(query string) string) {
	t.Helper()
	b, err := posts.Start(posts.Options{}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	dir := t.TempDir()
	for _, name := range []string{"conflux.yaml", "schema/posts.graphqls"} {
		data, err := os.ReadFile(filepath.Join("../examples/posts", name))
		if err != nil {
			t.Fatal(err)
		}
		data = bytes.ReplaceAll(data, []byte("http://"+posts.DefaultAddr), []byte(b.URL()))
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(dir, "conflux.yaml")
	sg, err := schema.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Supergraph: sg, Handler: func(_ *schema.Supergraph, e *graph.Engine) (http.Handler, error) {
		h := handler.New(e)
		h.AddTransport(transport.POST{})
		return h, nil
	}}
	for _, o := range opts {
		o(&cfg)
	}
	rt, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { rt.Load().ServeHTTP(w, r) }))
	t.Cleanup(func() {
		srv.Close()
		rt.Close()
	})
	post := func(query string) string {
		t.Helper()
		body, _ := json.Marshal(map[string]string{"query": query})
		resp, err := srv.Client().Post(srv.URL, "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return string(raw)
	}
	return rt, file, post
}

// TestRuntime_CarrySources: a change that leaves a source's configuration as it was keeps the source (its
// breakers, health, limits and connections) and hands it to the new version, which then closes it; a change to
// the source itself builds a new one.
func TestRuntime_CarrySources(t *testing.T) {
	c, file, post := postsRuntime(t)
	first := c.Load()
	api := first.srcs["api"]
	cfg, _ := os.ReadFile(file)

	binding := bytes.Replace(cfg, []byte("User.company: {from: company.name}"), []byte("User.company: {from: username}"), 1)
	if _, err := c.Write(binding, nil, false); err != nil {
		t.Fatal(err)
	}
	second := c.Load()
	if second == first || second.srcs["api"] != api {
		t.Fatal("a binding change rebuilt the unchanged source")
	}
	if _, ok := second.owned["api"]; !ok {
		t.Error("the new version does not own the carried source")
	}
	if _, ok := first.owned["api"]; ok {
		t.Error("the old version still owns (and would close) the carried source")
	}
	if raw := post(`{ user(id: 1) { company } }`); raw != `{"data":{"user":{"company":"Bret"}}}` {
		t.Errorf("after the binding change: %s", raw)
	}

	source := bytes.Replace(binding, []byte("http: {endpoints: ["), []byte("http: {timeout: 3s, endpoints: ["), 1)
	if bytes.Equal(source, binding) {
		t.Fatal("the test's source edit did not apply")
	}
	if _, err := c.Write(source, nil, false); err != nil {
		t.Fatal(err)
	}
	third := c.Load()
	if third.srcs["api"] == api {
		t.Error("a changed source was carried over")
	}
	if len(second.owned) != 0 {
		t.Errorf("the replaced version still owns %v", second.owned)
	}
	if raw := post(`{ user(id: 1) { company } }`); raw != `{"data":{"user":{"company":"Bret"}}}` {
		t.Errorf("after the source change: %s", raw)
	}
}

// TestRuntime_LastErrorClears: lastReloadError reports a refused edit until the files are good again — a new good
// version, or the files back to what runs (issue 16: it kept reporting the error after the file was fixed).
func TestRuntime_LastErrorClears(t *testing.T) {
	rt, file, _ := postsRuntime(t)
	good, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	reload := func(data []byte) {
		t.Helper()
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, _ = rt.Reload()
	}
	for _, tc := range []struct {
		name string
		fix  []byte
	}{
		{"back to the running content", good},
		{"a new good version", append(append([]byte(nil), good...), "\n# a comment makes a new version\n"...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reload([]byte("schema: [nope.graphqls\n"))
			if _, err := rt.LastError(); err == nil {
				t.Fatal("a broken file left no error")
			}
			reload(tc.fix)
			if at, err := rt.LastError(); err != nil {
				t.Errorf("after the fix, lastReloadError still reports %v (at %v)", err, at)
			}
		})
	}
}
