package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/conflux-gql/conflux/examples/customer360/support"
	"github.com/conflux-gql/conflux/schema"
	"github.com/vektah/gqlparser/v2/ast"
)

// TestIntrospectUpstream loads a configuration whose graphql source names no sdl file: the loader introspects
// the live upstream (the example's support service) and checks the binding against its schema, so a misspelt
// upstream field is a located load error; an upstream that cannot be reached, or whose schema does not load,
// leaves the binding unchecked, with a warning that says why.
func TestIntrospectUpstream(t *testing.T) {
	up := httptest.NewServer(support.NewHandler(nil))
	defer up.Close()
	down := httptest.NewServer(nil)
	down.Close()

	load := func(t *testing.T, endpoint, field string) (*schema.Supergraph, error) {
		dir := t.TempDir()
		sdl := "type Query { ticket(id: ID!): Ticket }\ntype Ticket { id: ID! subject: String! }\n"
		config := "schema: [s.graphqls]\nsources:\n  support:\n    graphql: {endpoints: [" + endpoint + "], timeout: 2s}\n" +
			"bindings:\n  Query.ticket: {source: support, field: " + field + ", args: {id: \"{{args.id}}\"}}\n"
		for name, data := range map[string]string{"s.graphqls": sdl, "conflux.yaml": config} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return schema.Load(filepath.Join(dir, "conflux.yaml"), loadOptions()...)
	}

	t.Run("introspected", func(t *testing.T) {
		sg, err := load(t, up.URL+"/graphql", "ticket")
		if err != nil {
			t.Fatal(err)
		}
		upstream := sg.Sources["support"].Upstream
		if upstream == nil || upstream.Types["EmailTicket"] == nil || upstream.Query.Fields.ForName("ticketsByCustomers") == nil {
			t.Fatalf("upstream schema not read by introspection: %v", upstream)
		}
		for _, w := range sg.Warnings {
			if strings.Contains(w.String(), "sdl") {
				t.Errorf("unexpected warning: %s", w)
			}
		}
	})
	t.Run("misspelt upstream field", func(t *testing.T) {
		_, err := load(t, up.URL+"/graphql", "tickit")
		if err == nil || !strings.Contains(err.Error(), "conflux.yaml:6:") || !strings.Contains(err.Error(), `"tickit"`) {
			t.Fatalf("want a located error about tickit, got %v", err)
		}
	})
	t.Run("upstream schema does not load", func(t *testing.T) {
		bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Write([]byte(`{"data":{"__schema":{"queryType":{"name":"Query"},"types":[{"kind":"OBJECT","name":"Query","fields":[{"name":"ticket","args":[],"type":{"kind":"OBJECT","name":"Missing"}}]}]}}}`))
		}))
		defer bad.Close()
		sg, err := load(t, bad.URL, "tickit")
		if err != nil {
			t.Fatalf("a broken upstream schema must not stop the load: %v", err)
		}
		if sg.Sources["support"].Upstream != nil || len(sg.Warnings) == 0 || !strings.Contains(sg.Warnings[0].String(), "does not load") {
			t.Errorf("want an unchecked source and a warning, got %v", sg.Warnings)
		}
	})
	t.Run("upstream down", func(t *testing.T) {
		sg, err := load(t, down.URL+"/graphql", "tickit")
		if err != nil {
			t.Fatalf("an unreachable upstream must not stop the load: %v", err)
		}
		if sg.Sources["support"].Upstream != nil || len(sg.Warnings) == 0 || !strings.Contains(sg.Warnings[0].String(), "introspecting the upstream failed") {
			t.Errorf("want an unchecked source and a warning, got %v", sg.Warnings)
		}
	})
}

// TestIntrospectUpstream_Conflux loads a graphql source whose upstream is another Conflux: the loader reads its
// introspection answer, which has null where a kind has no such list and default values printed the way
// graphql-js prints them (issue 13), into the same schema the upstream serves.
func TestIntrospectUpstream_Conflux(t *testing.T) {
	up := serveConfig(t, filepath.Join("testdata", "introspection", "conflux.yaml"), nil)
	dir := t.TempDir()
	config := "schema: [s.graphqls]\nsources:\n  up:\n    graphql: {endpoints: [" + up.srv.URL + "/graphql], timeout: 2s}\n" +
		"bindings:\n  Query.kinds: {source: up, field: kinds}\n"
	for name, data := range map[string]string{"s.graphqls": "type Query { kinds: [String] }\n", "conflux.yaml": config} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sg, err := schema.Load(filepath.Join(dir, "conflux.yaml"), loadOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range sg.Warnings {
		if strings.Contains(w.String(), "sdl") {
			t.Errorf("unexpected warning: %s", w)
		}
	}
	s := sg.Sources["up"].Upstream
	if s == nil {
		t.Fatal("upstream schema not read by introspection")
	}
	names := func(defs []*ast.Definition) []string {
		var out []string
		for _, d := range defs {
			out = append(out, d.Name)
		}
		sort.Strings(out)
		return out
	}
	filter := s.Types["Filter"]
	for _, tt := range []struct{ what, got, want string }{
		{"Thing members", strings.Join(s.Types["Thing"].Types, " "), "Zebra Apple Mango"},
		{"Node possible types", strings.Join(names(s.GetPossibleTypes(s.Types["Node"])), " "), "Apple Mango Named Zebra"},
		{"Zebra interfaces", strings.Join(s.Types["Zebra"].Interfaces, " "), "Named Node"},
		{"Filter.inner default", filter.Fields.ForName("inner").DefaultValue.String(), "{a:1,b:2,c:[1,2]}"},
		{"Filter.nested default", filter.Fields.ForName("nested").DefaultValue.String(), "[[A,B],[C]]"},
		{"Filter.id default", filter.Fields.ForName("id").DefaultValue.String(), "42"},
		{"Kind.A deprecated", s.Types["Kind"].EnumValues.ForName("A").Directives.ForName("deprecated").Arguments.ForName("reason").Value.Raw, "No longer supported"},
	} {
		if tt.got != tt.want {
			t.Errorf("%s: %q, want %q", tt.what, tt.got, tt.want)
		}
	}
}

// TestIntrospectUpstream_Redirects: the introspection at load sends the source's headers, so it follows the
// source's redirect policy: not to another host by default, and to a listed host without the headers.
func TestIntrospectUpstream_Redirects(t *testing.T) {
	var leaked atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Api-Key") != "" {
			leaked.Add(1)
		}
		support.NewHandler(nil).ServeHTTP(w, r)
	}))
	defer up.Close()
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, up.URL+"/graphql", http.StatusTemporaryRedirect)
	}))
	defer redirector.Close()

	tests := []struct {
		name       string
		redirects  string
		introspect bool
	}{
		{name: "another host is not followed by default", redirects: "", introspect: false},
		{name: "a listed host is followed without the source's headers", redirects: "redirects: [127.0.0.1], ", introspect: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			leaked.Store(0)
			dir := t.TempDir()
			config := "schema: [s.graphqls]\nsources:\n  support:\n    graphql: {endpoints: [" + redirector.URL + "/graphql], " + tt.redirects +
				"headers: {X-Api-Key: secret}, timeout: 2s}\nbindings:\n  Query.ticket: {source: support, field: ticket, args: {id: \"{{args.id}}\"}}\n"
			files := map[string]string{"s.graphqls": "type Query { ticket(id: ID!): Ticket }\ntype Ticket { id: ID! }\n", "conflux.yaml": config}
			for name, data := range files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			sg, err := schema.Load(filepath.Join(dir, "conflux.yaml"), loadOptions()...)
			if err != nil {
				t.Fatal(err)
			}
			if got := sg.Sources["support"].Upstream != nil; got != tt.introspect {
				t.Errorf("introspected = %v, want %v (warnings: %v)", got, tt.introspect, sg.Warnings)
			}
			if n := leaked.Load(); n != 0 {
				t.Errorf("the source's X-Api-Key reached another host %d times", n)
			}
		})
	}
}
