package schema

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/formatter"
)

var noEnv = WithEnv(func(string) (string, bool) { return "", false })

// TestFederation_Golden loads each testdata/federation/<case>/conflux.yaml, a supergraph composed the way rover
// supergraph compose writes it, and compares the public schema with public.graphqls and what was derived (the
// subgraphs, sources, bindings, and where every type and field lives) with federation.txt. -update rewrites both.
func TestFederation_Golden(t *testing.T) {
	files, err := filepath.Glob("testdata/federation/*/conflux.yaml")
	if err != nil || len(files) == 0 {
		t.Fatal("no cases")
	}
	for _, file := range files {
		dir := filepath.Dir(file)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			sg, err := Load(file, noEnv)
			if err != nil {
				t.Fatal(err)
			}
			var pub strings.Builder
			formatter.NewFormatter(&pub, formatter.WithIndent("  ")).FormatSchema(sg.Schema)
			golden(t, filepath.Join(dir, "public.graphqls"), pub.String())
			golden(t, filepath.Join(dir, "federation.txt"), dumpFederation(sg))
			var subs strings.Builder
			for _, sub := range sg.Federation.Subgraphs {
				up := sg.Sources[sub.Name].Upstream
				if up == nil {
					t.Errorf("source %s has no upstream schema", sub.Name)
					continue
				}
				fmt.Fprintf(&subs, "# subgraph %s\n", sub.Name)
				formatter.NewFormatter(&subs, formatter.WithIndent("  ")).FormatSchema(up)
				subs.WriteString("\n")
			}
			golden(t, filepath.Join(dir, "subgraphs.graphqls"), subs.String())
		})
	}
}

func golden(t *testing.T, file, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != got {
		t.Errorf("%s differs (-update rewrites)\n--- want\n%s\n--- got\n%s", file, want, got)
	}
}

// dumpFederation prints what a supergraph load derived, in a stable order.
func dumpFederation(sg *Supergraph) string {
	var b strings.Builder
	fed := sg.Federation
	fmt.Fprintf(&b, "supergraph %s\n\nsubgraphs\n", fed.File)
	for _, sub := range fed.Subgraphs {
		fmt.Fprintf(&b, "  %s (%s) %s\n", sub.Name, sub.Enum, sub.URL)
	}
	b.WriteString("\nsources\n")
	for _, name := range sg.SourceNames() {
		src := sg.Sources[name]
		fmt.Fprintf(&b, "  %s %s %v timeout=%s retry=%d", name, src.Kind, src.HTTP.Endpoints, src.HTTP.Timeout, src.HTTP.Retry.Attempts)
		if src.HTTP.Limits.Concurrency > 0 {
			fmt.Fprintf(&b, " concurrency=%d", src.HTTP.Limits.Concurrency)
		}
		for _, k := range sortedKeys(src.HTTP.Headers) {
			fmt.Fprintf(&b, " header %s=%s", k, src.HTTP.Headers.Get(k))
		}
		if len(src.HTTP.ForwardHeaders) > 0 {
			fmt.Fprintf(&b, " forward=%v", src.HTTP.ForwardHeaders)
		}
		fmt.Fprintf(&b, " (%s)\n", src.Pos)
	}
	b.WriteString("\nbindings\n")
	for _, bd := range sg.Bindings() {
		fmt.Fprintf(&b, "  %s source=%q field=%q federated=%v (%s)\n", bd.Name(), bd.Source, bd.UpstreamField, bd.Federated, bd.Pos)
	}
	b.WriteString("\nwarnings\n")
	for _, w := range sg.Warnings {
		fmt.Fprintf(&b, "  %s\n", w)
	}
	for _, name := range sortedKeys(fed.Types) {
		t := fed.Types[name]
		_, public := sg.Schema.Types[name]
		fmt.Fprintf(&b, "\n%s %s", strings.ToLower(string(t.Kind)), name)
		if !public {
			b.WriteString(" (not public)")
		}
		b.WriteString("\n")
		for _, sub := range sortedKeys(t.In) {
			in := t.In[sub]
			fmt.Fprintf(&b, "  in %s", sub)
			for _, k := range in.Keys {
				fmt.Fprintf(&b, " key(%s)", printSelection(k.Selection))
				if !k.Resolvable {
					b.WriteString(" unresolvable")
				}
			}
			if in.Extension {
				b.WriteString(" extension")
			}
			if in.InterfaceObject {
				b.WriteString(" interfaceObject")
			}
			if len(in.Implements) > 0 {
				fmt.Fprintf(&b, " implements %s", strings.Join(in.Implements, " & "))
			}
			b.WriteString("\n")
		}
		for _, sub := range sortedKeys(t.Members) {
			fmt.Fprintf(&b, "  members in %s: %s\n", sub, strings.Join(t.Members[sub], " | "))
		}
		for _, v := range sortedKeys(t.EnumValues) {
			fmt.Fprintf(&b, "  value %s in %s\n", v, strings.Join(t.EnumValues[v], ", "))
		}
		for _, fname := range sortedKeys(t.Fields) {
			f := t.Fields[fname]
			fmt.Fprintf(&b, "  field %s resolvers=%v", fname, fed.Resolvers(name, fname))
			if f.Elsewhere {
				b.WriteString(" elsewhere")
			}
			for _, sub := range sortedKeys(f.In) {
				in := f.In[sub]
				var attrs []string
				if in.External {
					attrs = append(attrs, "external")
				}
				if in.RequiresFields != "" {
					attrs = append(attrs, "requires("+printSelection(in.Requires)+")")
				}
				if in.ProvidesFields != "" {
					attrs = append(attrs, "provides("+printSelection(in.Provides)+")")
				}
				if in.Override != "" {
					attrs = append(attrs, "override("+in.Override+")")
				}
				if in.UsedOverridden {
					attrs = append(attrs, "usedOverridden")
				}
				if in.Type != "" {
					attrs = append(attrs, "type("+in.Type+")")
				}
				fmt.Fprintf(&b, " %s%v", sub, attrs)
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

// printSelection prints a parsed field set, so that the golden shows it was parsed (nested sets included).
func printSelection(set ast.SelectionSet) string {
	var parts []string
	for _, s := range set {
		switch s := s.(type) {
		case *ast.Field:
			p := s.Name
			if len(s.SelectionSet) > 0 {
				p += " { " + printSelection(s.SelectionSet) + " }"
			}
			parts = append(parts, p)
		case *ast.InlineFragment:
			parts = append(parts, "... on "+s.TypeCondition+" { "+printSelection(s.SelectionSet)+" }")
		}
	}
	return strings.Join(parts, " ")
}

// TestFederation_Resolve pins, per capability, which subgraphs the planner is told can resolve a field.
func TestFederation_Resolve(t *testing.T) {
	sgs := map[string]*Supergraph{}
	for _, c := range []string{"shop", "fed1", "renamed"} {
		sg, err := Load("testdata/federation/"+c+"/conflux.yaml", noEnv)
		if err != nil {
			t.Fatal(err)
		}
		sgs[c] = sg
	}
	tests := []struct {
		name, graph, typ, field string
		want                    []string
	}{
		{"field in one subgraph", "shop", "Product", "name", []string{"products"}},
		{"shareable field in two", "shop", "Product", "sku", []string{"inventory", "products"}},
		{"field without @join__field is in every subgraph of its type", "shop", "Product", "upc", []string{"inventory", "products", "reviews"}},
		{"external is not resolvable", "shop", "Product", "price", []string{"products"}},
		{"override moves the field", "shop", "Product", "inStock", []string{"inventory"}},
		{"requires", "shop", "Product", "shippingEstimate", []string{"inventory"}},
		{"external in the subgraph that provides it", "shop", "User", "username", []string{"accounts"}},
		{"root field without @join__field", "shop", "Query", "shared", []string{"accounts", "inventory", "products", "reviews"}},
		{"bare @join__field: only through the interface object", "shop", "Book", "reviews", nil},
		{"interface object field", "shop", "Media", "reviews", []string{"reviews"}},
		{"inaccessible field still planned", "shop", "Product", "internalCode", []string{"products"}},
		{"fed1 owner resolves fields naming no graph", "fed1", "Product", "name", []string{"products"}},
		{"fed1 value type is everywhere", "fed1", "Dimensions", "size", []string{"inventory", "products"}},
		{"renamed join", "renamed", "Person", "name", []string{"people"}},
		{"progressive override", "renamed", "Person", "nickname", []string{"people", "pets"}},
		{"unknown type", "shop", "Nope", "x", nil},
		{"field from an extension file is not federated", "shop", "User", "orders", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := sgs[tt.graph].Federation.Resolvers(tt.typ, tt.field)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("Resolvers(%s, %s) = %v, want %v", tt.typ, tt.field, got, tt.want)
			}
		})
	}
}

// TestFederation_Files: the supergraph file is a file of the version, hashed, kept for rollback and watched.
func TestFederation_Files(t *testing.T) {
	dir := t.TempDir()
	super, err := os.ReadFile("testdata/federation/fed1/supergraph.graphql")
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("conflux.yaml", "supergraph: super.graphql\nschema: extra.graphqls\n")
	write("super.graphql", string(super))
	write("extra.graphqls", "extend type Query { hello: String }\n")
	cfg := filepath.Join(dir, "conflux.yaml")
	sg, err := Load(cfg, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{cfg, filepath.Join(dir, "super.graphql"), filepath.Join(dir, "extra.graphqls")}
	if fmt.Sprint(sg.Files) != fmt.Sprint(want) {
		t.Errorf("Files = %v, want %v", sg.Files, want)
	}
	if string(sg.SDLFiles["super.graphql"]) != string(super) {
		t.Error("SDLFiles does not hold the supergraph")
	}
	if sg.Federation.File != "super.graphql" {
		t.Errorf("Federation.File = %q", sg.Federation.File)
	}
	write("super.graphql", strings.Replace(string(super), "4103", "4104", 1))
	sg2, err := Load(cfg, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if sg2.Version == sg.Version {
		t.Error("editing the supergraph did not change the version")
	}
	if got := sg2.Sources["products"].HTTP.Endpoints; fmt.Sprint(got) != "[http://127.0.0.1:4104/graphql]" {
		t.Errorf("products endpoints = %v after the edit", got)
	}
}

// TestFederation_Unchanged: without `supergraph:` nothing is federated.
func TestFederation_Unchanged(t *testing.T) {
	sg, err := Load("../examples/customer360/conflux.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if sg.Federation != nil {
		t.Error("Federation set without a supergraph")
	}
	for _, b := range sg.Bindings() {
		if b.Federated {
			t.Errorf("%s is federated", b.Name())
		}
	}
}

// TestFederation_ComposedFixtures loads every supergraph that @apollo/composition composed for the end-to-end
// federation cases (../testdata/federation): each loads with nothing but `supergraph:`, every subgraph gets a
// source with its url and schema, and every root field of the public schema is bound to a subgraph resolving it.
func TestFederation_ComposedFixtures(t *testing.T) {
	files, _ := filepath.Glob("../testdata/federation/*/supergraph.graphql")
	if len(files) == 0 {
		t.Skip("no composed fixtures")
	}
	for _, file := range files {
		t.Run(filepath.Base(filepath.Dir(file)), func(t *testing.T) {
			sdl, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			sg, err := Parse("conflux.yaml", []byte("supergraph: supergraph.graphql\n"), fstest.MapFS{"supergraph.graphql": {Data: sdl}}, noEnv)
			if err != nil {
				t.Fatal(err)
			}
			if len(sg.Warnings) > 0 {
				t.Errorf("warnings: %v", sg.Warnings)
			}
			for _, sub := range sg.Federation.Subgraphs {
				src := sg.Sources[sub.Name]
				if src == nil || src.Kind != KindGraphQL || len(src.HTTP.Endpoints) != 1 || src.HTTP.Endpoints[0] != strings.TrimSuffix(sub.URL, "/") || src.Upstream == nil {
					t.Errorf("subgraph %s: source %+v", sub.Name, src)
				}
			}
			for _, op := range []*ast.Definition{sg.Schema.Query, sg.Schema.Mutation} {
				if op == nil {
					continue
				}
				for _, f := range op.Fields {
					if strings.HasPrefix(f.Name, "__") {
						continue
					}
					b := sg.Binding(op.Name, f.Name)
					if b == nil || !b.Federated || !sg.Federation.CanResolve(b.Source, op.Name, f.Name) {
						t.Errorf("%s.%s: binding %+v", op.Name, f.Name, b)
					}
				}
			}
		})
	}
}
