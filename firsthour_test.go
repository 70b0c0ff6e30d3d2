package main

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conflux-gql/conflux/examples/posts"
	"github.com/conflux-gql/conflux/schema"
	"github.com/vektah/gqlparser/v2"
)

// sampleQuery is the Customer 360 example's playground query (its server.playgroundQuery), which several tests
// use as a realistic operation.
var sampleQuery = func() string {
	sg, err := schema.Load(filepath.Join("examples", "customer360", "conflux.yaml"))
	if err != nil {
		panic(err)
	}
	return sg.Settings.PlaygroundQuery
}()

// TestPlaygroundQuery: each configuration's playground shows its own query — server.playgroundQuery, else one
// derived from its schema that validates and runs — never another example's (issue 16).
func TestPlaygroundQuery(t *testing.T) {
	for _, tc := range []struct {
		name, config, want string
	}{
		{"configured", "examples/customer360/conflux.yaml", "customers(limit: 3)"},
		{"derived", "examples/posts/conflux.yaml", "{\n  posts {\n    id\n    userId\n    title\n    body\n    user {\n      id\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sg, err := schema.Load(tc.config)
			if err != nil {
				t.Fatal(err)
			}
			q := playgroundQuery(sg)
			if !strings.Contains(q, tc.want) {
				t.Errorf("query:\n%s\nwant it to contain:\n%s", q, tc.want)
			}
			if _, errs := gqlparser.LoadQuery(sg.Schema, q); errs != nil {
				t.Errorf("the query does not validate: %v", errs)
			}
		})
	}
	// The posts example's playground page carries its own query, not Customer 360's.
	env := newPosts(t, posts.Options{})
	status, body := env.do(http.MethodGet, "/", "", nil)
	if status != 200 || !bytes.Contains(body, []byte("posts")) || bytes.Contains(body, []byte("customers")) {
		t.Errorf("playground page (status %d) does not show the posts query", status)
	}
}

// TestExampleConfigPath: outside the repository the examples come from the binary's embedded copy, which loads.
func TestExampleConfigPath(t *testing.T) {
	wd, _ := os.Getwd()
	t.Chdir(t.TempDir())
	defer t.Chdir(wd)
	for _, name := range exampleNames() {
		path, err := exampleConfigPath(name)
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(filepath.Dir(path))
		if _, err := schema.Load(path); err != nil {
			t.Errorf("%s: embedded example does not load: %v", name, err)
		}
	}
	if _, _, err := startExample("post", "", discardLogger()); err == nil || !strings.Contains(err.Error(), `did you mean "posts"`) {
		t.Errorf("unknown example: %v", err)
	}
}

// TestHealthcheck: `conflux healthcheck` exits 0 for a healthy server and 1 for an unhealthy or absent one, as a
// container HEALTHCHECK needs.
func TestHealthcheck(t *testing.T) {
	env := newPosts(t, posts.Options{})
	var out bytes.Buffer
	if code := dispatch([]string{"healthcheck", "--url", env.srv.URL + "/healthz"}, &out, &out); code != exitOK {
		t.Errorf("healthy server: exit %d: %s", code, out.String())
	}
	if !strings.Contains(out.String(), `"status":"ok"`) {
		t.Errorf("output %q", out.String())
	}
	for _, url := range []string{env.srv.URL + "/nothing-here", "http://127.0.0.1:1/healthz"} {
		out.Reset()
		if code := dispatch([]string{"healthcheck", "--url", url, "--timeout", "1s"}, &out, &out); code != exitError {
			t.Errorf("%s: exit %d, want %d", url, code, exitError)
		}
	}
}
