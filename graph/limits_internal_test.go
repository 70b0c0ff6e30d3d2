package graph

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/conflux-gql/conflux/resolvers"
	"github.com/conflux-gql/conflux/schema"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

const cacheSDL = `
type Query { user(id: ID!): User }
type User { id: ID! name: String friend: User posts: [Post!]! }
type Post { id: ID! title: String author: User }
`

func cacheEngine(t *testing.T, server string) *Engine {
	t.Helper()
	config := "schema: [s.graphqls]\nbindings:\n  Query.user: {value: {id: 1, name: a}}\nserver: " + server + "\n"
	sg, err := schema.Parse("conflux.yaml", []byte(config), fstest.MapFS{"s.graphqls": {Data: []byte(cacheSDL)}})
	if err != nil {
		t.Fatal(err)
	}
	set, err := resolvers.New(sg, nil)
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(sg, set)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// aliasDocument is a document of n aliased fields, distinct for each i.
func aliasDocument(i, n int, field string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "query Q%d {", i)
	for j := 0; j < n; j++ {
		fmt.Fprintf(&b, " a%d_%d: %s", i, j, field)
	}
	b.WriteString(" }")
	return b.String()
}

func heap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestPlanBytes measures the heap cached plans keep alive (their documents dropped, as gqlgen's query cache
// drops them) against planBytes, which the plan cache charges for them: the estimate must not undercount.
func TestPlanBytes(t *testing.T) {
	e := cacheEngine(t, "{maxAliases: 0, maxDepth: 0}")
	for _, tc := range []struct {
		name  string
		field string
		n     int
	}{
		{"flat", "user(id: 1) { id name }", 100},
		{"deep", "user(id: 1) { id friend { name posts { id title author { id name friend { id } } } } }", 40},
		{"introspection", "__schema { types { name fields { name type { name kind ofType { name } } } } }", 40},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const plans = 50
			queries := make([]string, plans)
			for i := range queries {
				queries[i] = aliasDocument(i, tc.n, tc.field)
			}
			keep := make([]*Plan, plans)
			var estimate int64
			nodes := 0
			before := heap()
			for i, q := range queries {
				doc, errs := gqlparser.LoadQuery(e.Schema(), q)
				if errs != nil {
					t.Fatal(errs)
				}
				p, err := NewPlan(e.sg, doc, doc.Operations[0], nil)
				if err != nil {
					t.Fatal(err)
				}
				keep[i] = p
				key := planKey(q, doc.Operations[0], nil)
				// The cache holds the key; the plan's positions hold the document's text (queries[i]).
				estimate += planBytes(key, p)
				nodes += p.nodes()
			}
			grown := int64(heap() - before)
			runtime.KeepAlive(keep)
			t.Logf("%d nodes: %d bytes kept, %d per node, estimated %d", nodes, grown, grown/int64(nodes), estimate)
			if grown > estimate {
				t.Errorf("plans keep %d bytes, planBytes says %d: raise planNodeBytes", grown, estimate)
			}
		})
	}
}

// TestEngine_PlanCacheBytes: many large distinct alias-heavy introspection documents, whose static answers the
// engine caches, leave the plan cache, and the heap, within server.planCacheBytes.
func TestEngine_PlanCacheBytes(t *testing.T) {
	const bound = 2 << 20
	e := cacheEngine(t, fmt.Sprintf("{maxAliases: 0, planCacheBytes: %d}", bound))
	before := heap()
	var answered int64
	for i := 0; i < 40; i++ {
		q := aliasDocument(i, 150, "__schema { types { name kind fields { name } } }")
		doc, errs := gqlparser.LoadQuery(e.Schema(), q)
		if errs != nil {
			t.Fatal(errs)
		}
		resp := e.Execute(context.Background(), q, doc, doc.Operations[0], nil, nil)
		if len(resp.Errors) > 0 {
			t.Fatal(resp.Errors)
		}
		answered += int64(len(resp.Data))
		if got := e.plans.Bytes(); got > bound {
			t.Fatalf("after %d documents the plan cache holds %d bytes, over its bound %d", i+1, got, bound)
		}
	}
	grown := int64(heap() - before)
	t.Logf("%d plans kept of 40, %d bytes counted, heap grew %d bytes; answers totalled %d bytes", e.plans.Len(), e.plans.Bytes(), grown, answered)
	if answered < 4*bound {
		t.Fatalf("the answers (%d bytes) are too small to test the bound", answered)
	}
	if e.plans.Len() >= 40 {
		t.Errorf("no plan was evicted")
	}
	if grown > 2*bound {
		t.Errorf("the heap grew by %d bytes, more than twice the cache's bound %d", grown, bound)
	}
	// A cached static answer is still served.
	q := aliasDocument(39, 150, "__schema { types { name kind fields { name } } }")
	doc, _ := gqlparser.LoadQuery(e.Schema(), q)
	if cp := e.plan(context.Background(), q, doc, doc.Operations[0], nil); cp.static.Load() == nil {
		t.Errorf("the last document's answer is not cached")
	}
}

// TestPlan_nodes: the plan's node count, which planBytes charges, is the planner's own count of what it made:
// every field of every selection (an abstract field's once per possible type, __typename included) and fetch.
func TestPlan_nodes(t *testing.T) {
	const sdl = `
type Query { user(id: ID!): User node: Node any: Any }
interface Node { id: ID! }
type User implements Node { id: ID! name: String friend: User posts: [Post!]! }
type Post implements Node { id: ID! title: String author: User }
union Any = User | Post
`
	config := "schema: [s.graphqls]\nbindings:\n  Query.user: {value: {id: 1, name: a}}\n" +
		"  Query.node: {value: {__typename: User, id: 1}}\n  Query.any: {value: {__typename: Post, id: 2}}\n"
	sg, err := schema.Parse("conflux.yaml", []byte(config), fstest.MapFS{"s.graphqls": {Data: []byte(sdl)}})
	if err != nil {
		t.Fatal(err)
	}
	walk := func(p *Plan) int {
		n := len(p.Fetches)
		var sel func(s *Selection)
		sel = func(s *Selection) {
			n += len(s.Fields)
			for _, f := range s.Fields {
				if f.Object != nil {
					sel(f.Object)
				}
				for _, bt := range f.ByType {
					sel(bt)
				}
			}
		}
		sel(p.Root)
		return n
	}
	for _, q := range []string{
		`{ user(id: 1) { id name friend { name posts { id title author { id } } } } }`,
		`{ node { __typename id ... on User { name friend { id } } ... on Post { title } } }`,
		`{ any { __typename ... on User { id posts { id } } ... on Post { id author { name } } } }`,
		`{ a: user(id: 1) { ...U } b: user(id: 2) { ...U friend { ...U } } } fragment U on User { id name }`,
		`{ __schema { types { name fields { name type { name kind ofType { name } } } } } }`,
	} {
		doc, errs := gqlparser.LoadQuery(sg.Schema, q)
		if errs != nil {
			t.Fatal(errs)
		}
		p, err := NewPlan(sg, doc, doc.Operations[0], nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := p.nodes(), walk(p); got != want {
			t.Errorf("%s: nodes() = %d, the plan holds %d", q, got, want)
		}
	}
}

// TestPrefixKeys: the keys of an upstream error path's prefixes are pathKey's, and a hostile upstream's path of
// 50,000 elements (200 KB of JSON) is marked in linear time and memory: pathKey per prefix took 0.7 s and
// 64 MB for 8,000 elements, quadratically more for longer ones.
func TestPrefixKeys(t *testing.T) {
	path := ast.Path{ast.PathName("users"), ast.PathIndex(12), ast.PathName("friend"), ast.PathIndex(0), ast.PathIndex(3), ast.PathName("id")}
	for from := 0; from <= len(path); from++ {
		got := prefixKeys(path, from)
		if len(got) != len(path)+1-from {
			t.Fatalf("from %d: %d keys", from, len(got))
		}
		for i, k := range got {
			if want := pathKey(path[:from+i]); k != want {
				t.Errorf("from %d: key %d = %q, want %q", from, i, k, want)
			}
		}
	}

	long := make([]any, 50000)
	for i := range long {
		long[i] = "a"
	}
	w := &writer{path: ast.Path{ast.PathName("r")}}
	w.upstream(&Field{}, []resolvers.UpstreamError{{Message: "deep", Path: long}})
	if len(w.located) != len(long)+1 || len(w.errs) != 1 {
		t.Errorf("%d paths located, %d errors", len(w.located), len(w.errs))
	}
}
