package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conflux-gql/conflux/examples/customer360"
	"github.com/conflux-gql/conflux/examples/mock"
	"github.com/conflux-gql/conflux/examples/posts"
	"github.com/conflux-gql/conflux/runtime"
	"github.com/conflux-gql/conflux/schema"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// testEnv is one Conflux server over real httptest HTTP, in front of real mock backends on loopback ports.
type testEnv struct {
	t        testing.TB
	backends map[string]*mock.Backend
	srv      *httptest.Server
	rt       *runtime.Version
}

// newCustomer360 starts the Customer 360 backends on free ports and Conflux on the example configuration,
// rewritten to point at them.
func newCustomer360(t testing.TB, opts customer360.Options) *testEnv {
	t.Helper()
	g, err := customer360.Start(opts, nil)
	if err != nil {
		t.Fatalf("start backends: %v", err)
	}
	t.Cleanup(func() { g.Close() })
	urls := g.URLs()
	replace := map[string]string{}
	backends := map[string]*mock.Backend{}
	for name, addr := range customer360.DefaultAddrs {
		replace["http://"+addr] = urls[name]
		backends[name] = g.Backend(name)
	}
	return startConflux(t, "examples/customer360", replace, backends)
}

// newPosts starts the posts backend and Conflux on examples/posts.
func newPosts(t testing.TB, opts posts.Options) *testEnv {
	t.Helper()
	b, err := posts.Start(opts, "127.0.0.1:0")
	if err != nil {
		t.Fatalf("start backend: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return startConflux(t, "examples/posts", map[string]string{"http://" + posts.DefaultAddr: b.URL()},
		map[string]*mock.Backend{"api": b})
}

// startConflux copies an example directory to a temp dir with its endpoints replaced, and serves it.
func startConflux(t testing.TB, dir string, replace map[string]string, backends map[string]*mock.Backend) *testEnv {
	t.Helper()
	tmp := t.TempDir()
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".graphqls")) {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		s := string(data)
		for from, to := range replace {
			s = strings.ReplaceAll(s, from, to)
		}
		rel, _ := filepath.Rel(dir, path)
		dst := filepath.Join(tmp, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, []byte(s), 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return serveConfig(t, filepath.Join(tmp, "conflux.yaml"), backends)
}

func serveConfig(t testing.TB, file string, backends map[string]*mock.Backend) *testEnv {
	t.Helper()
	sg, err := schema.Load(file)
	if err != nil {
		t.Fatalf("load %s: %v", file, err)
	}
	return serveSupergraph(t, sg, backends)
}

// serveSupergraph serves a loaded configuration over httptest until the test ends.
func serveSupergraph(t testing.TB, sg *schema.Supergraph, backends map[string]*mock.Backend) *testEnv {
	t.Helper()
	rt, err := newRuntime(sg, nil, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(rt)
	s.ready.Store(true)
	srv := httptest.NewServer(s)
	t.Cleanup(func() {
		srv.Close()
		rt.Close()
	})
	return &testEnv{t: t, backends: backends, srv: srv, rt: rt.Load()}
}

// post sends a GraphQL request and returns the status and the decoded body.
func (e *testEnv) post(query string, vars map[string]any) (int, map[string]any) {
	e.t.Helper()
	status, raw := e.postRaw(query, vars)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		e.t.Fatalf("response is not JSON (status %d): %s", status, raw)
	}
	return status, out
}

// postRaw sends a GraphQL request and returns the status and the body as sent, keys in their order.
func (e *testEnv) postRaw(query string, vars map[string]any) (int, []byte) {
	e.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	return e.do(http.MethodPost, "/graphql", "application/json", body)
}

func (e *testEnv) do(method, path, contentType string, body []byte) (int, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, raw
}

// resetCounts clears every backend's counters.
func (e *testEnv) resetCounts() {
	for _, b := range e.backends {
		b.Reset()
	}
}

// calls returns the number of requests each backend received.
func (e *testEnv) calls() map[string]int64 {
	out := map[string]int64{}
	for name, b := range e.backends {
		out[name] = b.Requests()
	}
	return out
}

// pretty indents a JSON document without reordering its keys (selection order is part of what goldens pin).
func pretty(t testing.TB, raw []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		t.Fatalf("not JSON: %v: %s", err, raw)
	}
	return append(b.Bytes(), '\n')
}

// golden compares got with the file, or rewrites it under -update.
func golden(t *testing.T, file string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(bytes.TrimSpace(want), bytes.TrimSpace(got)) {
		t.Errorf("%s differs from the golden file (-update rewrites it)\n--- want\n%s\n--- got\n%s", file, want, got)
	}
}
