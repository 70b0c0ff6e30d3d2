package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conflux-gql/conflux/admin"
	"github.com/conflux-gql/conflux/schema"
)

// TestSupergraph_Configuration: a configuration with `supergraph:` (issue 14) checks, shows its derived sources
// and bindings in the admin API, reloads when the supergraph file is edited, refuses a broken supergraph with its
// position while the running version keeps serving, and a rollback restores the supergraph file.
func TestSupergraph_Configuration(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"conflux.yaml", "supergraph.graphql", "extensions.graphqls"} {
		data, err := os.ReadFile(filepath.Join("schema/testdata/federation/shop", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(dir, "conflux.yaml")
	superFile := filepath.Join(dir, "supergraph.graphql")

	var out bytes.Buffer
	if err := check([]string{"--config", file}, &out); err != nil {
		t.Fatalf("check: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), ": ok (version ") || !strings.Contains(out.String(), ", 9 bindings, 5 sources, 0 warnings)") {
		t.Errorf("check printed %q", out.String())
	}

	env := serveConfig(t, file, nil)
	s := env.srv.Config.Handler.(*server)
	c := s.rt
	s.mux.Handle("/admin/graphql", admin.NewHandler(c, ""))
	events := make(chan outcome, 16)
	c.OnChange(func(sg *schema.Supergraph, err error) { events <- outcome{sg, err} })
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- c.Watch(ctx, ready) }()
	t.Cleanup(func() {
		cancel()
		<-done
		s.rt.Close()
	})
	<-ready
	ae := &adminEnv{testEnv: env, cfgs: c}
	v1 := c.Current().Version

	data := ae.admin(`{ bindings { field source declaredAt config } sources { name kind endpoints declaredAt } }`, nil)
	var me map[string]any
	for _, b := range data["bindings"].([]any) {
		if m := b.(map[string]any); m["field"] == "Query.me" {
			me = m
		}
	}
	if me == nil || me["source"] != "accounts" || !strings.HasSuffix(me["declaredAt"].(string), "supergraph.graphql:146:3") ||
		!strings.Contains(me["config"].(string), "derived from the supergraph") {
		t.Errorf("Query.me binding: %v", me)
	}
	reviews := sourceEndpoints(data, "reviews")
	if reviews != "[http://127.0.0.1:4004/graphql]" {
		t.Errorf("reviews endpoints %s", reviews)
	}

	// An edit of the supergraph file alone reloads.
	super, _ := os.ReadFile(superFile)
	if err := replaceFile(superFile, bytes.Replace(super, []byte("127.0.0.1:4004"), []byte("127.0.0.1:4005"), 1)); err != nil {
		t.Fatal(err)
	}
	o := next(t, events)
	if o.err != nil || o.sg.Version == v1 {
		t.Fatalf("the supergraph edit did not apply: %v", o.err)
	}
	if got := sourceEndpoints(ae.admin(`{ sources { name endpoints } }`, nil), "reviews"); got != "[http://127.0.0.1:4005/graphql]" {
		t.Errorf("reviews endpoints after the edit: %s", got)
	}
	// The running source calls the new url: a subgraph's source is rebuilt when its url changes, although its
	// (absent) entry in conflux.yaml did not.
	if st, ok := c.SourceStatus("reviews"); !ok || len(st.Endpoints) != 1 || st.Endpoints[0].URL != "http://127.0.0.1:4005/graphql" {
		t.Errorf("the running reviews source: %+v", st)
	}

	// A broken supergraph is refused with its position; the running version stays.
	running := c.Current().Version
	if err := replaceFile(superFile, bytes.Replace(super, []byte(`key: "upc", extension: true`), []byte(`key: "upc {", extension: true`), 1)); err != nil {
		t.Fatal(err)
	}
	o = next(t, events)
	if o.err == nil || !strings.Contains(o.err.Error(), "supergraph.graphql:113:31: supergraph: the key field set \"upc {\" of Product in subgraph reviews does not parse") {
		t.Fatalf("want a located error, got %v", o.err)
	}
	if c.Current().Version != running {
		t.Error("a refused supergraph changed the running version")
	}

	// A rollback restores the supergraph file with the configuration.
	if _, err := c.Rollback(v1); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(superFile); !bytes.Equal(got, super) {
		t.Error("the supergraph file was not restored by the rollback")
	}
	if c.Current().Version != v1 {
		t.Errorf("running %s after the rollback, want %s", c.Current().Version, v1)
	}
}

func sourceEndpoints(data map[string]any, name string) string {
	for _, s := range data["sources"].([]any) {
		if m := s.(map[string]any); m["name"] == name {
			var eps []string
			for _, e := range m["endpoints"].([]any) {
				eps = append(eps, e.(string))
			}
			return "[" + strings.Join(eps, " ") + "]"
		}
	}
	return "none"
}
