package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	goruntime "runtime"
	"strings"
	"testing"

	"github.com/conflux-gql/conflux/examples/customer360"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
)

// TestDocumentCache_SizeEstimate: for documents of every shape, documentSize is at least the heap a parsed and
// validated document really holds, and not more than 2.5 times it.
func TestDocumentCache_SizeEstimate(t *testing.T) {
	env := newCustomer360(t, customer360.Options{Latency: noLatency()})
	s := env.rt.Engine().Schema()
	shapes := map[string]string{
		"4,000 ids":           `{ customers {` + strings.Repeat(" id", 4000) + ` } }`,
		"3,000 names":         `{ customers {` + strings.Repeat(" name", 3000) + ` } }`,
		"aliases":             `{ customers {` + strings.Join(numbered(" a%d: id", 2000), "") + ` } }`,
		"arguments":           `{` + strings.Join(numbered(" c%d: customer(id: %[1]d) { id name }", 1000), "") + ` }`,
		"string arguments":    `{` + strings.Join(numbered(` s%d: search(term: "%[1]d") { __typename }`, 1000), "") + ` }`,
		"introspection query": introspectionQuery,
		"sample query":        sampleQuery,
	}
	for name, q := range shapes {
		t.Run(name, func(t *testing.T) {
			// Enough documents that what the rest of the process allocates meanwhile (other tests' servers
			// winding down) is noise: about 8 MB of AST at roughly 20 bytes of heap per byte of query.
			n := max(40, (8<<20)/(20*len(q)))
			queries := make([]string, n)
			for i := range queries {
				queries[i] = fmt.Sprintf("%s # %d", q, i)
			}
			docs := make([]*ast.QueryDocument, n)
			goruntime.GC()
			var before, after goruntime.MemStats
			goruntime.ReadMemStats(&before)
			for i := range docs {
				doc, err := parser.ParseQuery(&ast.Source{Input: queries[i]})
				if err != nil {
					t.Fatal(err)
				}
				if errs := validator.ValidateWithRules(s, doc, validationRules()); len(errs) > 0 {
					t.Fatal(errs)
				}
				docs[i] = doc
			}
			goruntime.GC()
			goruntime.ReadMemStats(&after)
			heap := float64(after.HeapAlloc-before.HeapAlloc)/float64(n) + float64(len(queries[0]))
			est := float64(documentSize(queries[0], docs[0]))
			t.Logf("%d bytes of query: %.0f bytes of heap (%.1f per byte), estimate %.0f (%.2f×)", len(q), heap, heap/float64(len(q)), est, est/heap)
			if est < heap || est > 2.5*heap {
				t.Errorf("estimate %.0f for %.0f bytes of heap", est, heap)
			}
			goruntime.KeepAlive(docs)
		})
	}
}

// TestDocumentCache_Bounded: many large distinct documents (each about 1.7 MB of AST) leave the live heap within
// server.queryCacheBytes, and the cache keeps serving.
func TestDocumentCache_Bounded(t *testing.T) {
	g, err := customer360.Start(customer360.Options{Latency: noLatency()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	replace := map[string]string{"\nserver:\n": "\nserver:\n  queryCacheBytes: 8388608\n"}
	for name, addr := range customer360.DefaultAddrs {
		replace["http://"+addr] = g.URLs()[name]
	}
	env := startConflux(t, "examples/customer360", replace, nil)
	if env.rt.Supergraph().Settings.QueryCacheBytes != 8<<20 {
		t.Fatalf("queryCacheBytes = %d", env.rt.Supergraph().Settings.QueryCacheBytes)
	}
	goruntime.GC()
	var before, after goruntime.MemStats
	goruntime.ReadMemStats(&before)
	const docs = 30
	for i := range docs {
		q := fmt.Sprintf(`query Q%d { customers(limit: 1) {`, i) + strings.Repeat(" id", 7000) + ` } }`
		if status, raw := env.postRaw(q, nil); status != 200 || !strings.HasPrefix(string(raw), `{"data":{"customers":[{"id":"1"}]}`) {
			t.Fatalf("%d %.200s", status, raw)
		}
	}
	goruntime.GC()
	goruntime.ReadMemStats(&after)
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d documents of about 1.7 MB of AST: the live heap grew by %d bytes", docs, grown)
	// Without the byte bound (gqlgen's LRU of 1,000 entries) all 30 stay: about 50 MB. The plan cache holds
	// some too; the slack is for it.
	if grown > 8<<20+8<<20 {
		t.Errorf("the live heap grew by %d bytes", grown)
	}
	if _, raw := env.postRaw(`{ customer(id: 2) { name } }`, nil); string(raw) != `{"data":{"customer":{"name":"Grace Hopper"}}}` {
		t.Errorf("another client: %s", raw)
	}
}

// TestDocumentCache_Bytes: the cache's byte count stays under its bound whatever is added, and the most recent
// document is kept.
func TestDocumentCache_Bytes(t *testing.T) {
	const bound = 1 << 20
	c, err := newDocumentCache(1000, bound)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 200 {
		q := fmt.Sprintf("query Q%d { customers {", i) + strings.Repeat(" id", 100*(i%7+1)) + " } }"
		doc, err := parser.ParseQuery(&ast.Source{Input: q})
		if err != nil {
			t.Fatal(err)
		}
		c.Add(ctx, q, doc)
		if got, ok := c.Get(ctx, q); !ok || got != doc {
			t.Fatalf("document %d not kept", i)
		}
		if b := c.lru.Bytes(); b > bound {
			t.Fatalf("%d bytes after %d documents", b, i+1)
		}
	}
	if c.lru.Len() < 5 || c.lru.Len() > 100 {
		t.Errorf("%d documents kept in %d bytes", c.lru.Len(), c.lru.Bytes())
	}
}

// TestAPQCache_Bytes: the persisted-query cache stays under server.apqCacheBytes; a registered query is then
// served by its hash alone.
func TestAPQCache_Bytes(t *testing.T) {
	const bound = 64 << 10
	c, err := newAPQCache(bound)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 100 {
		q := fmt.Sprintf("query Q%d { __typename }", i) + strings.Repeat(" ", 10<<10)
		c.Add(ctx, fmt.Sprint(i), q)
		if b := c.lru.Bytes(); b > bound {
			t.Fatalf("%d bytes after %d queries", b, i+1)
		}
	}
	if _, ok := c.Get(ctx, "99"); !ok {
		t.Error("the last query is not kept")
	}

	env := newCustomer360(t, customer360.Options{Latency: noLatency()})
	q := `{ customer(id: 2) { name } }`
	sum := sha256.Sum256([]byte(q))
	ext := fmt.Sprintf(`"extensions":{"persistedQuery":{"version":1,"sha256Hash":%q}}`, hex.EncodeToString(sum[:]))
	for _, body := range []string{fmt.Sprintf(`{"query":%q,%s}`, q, ext), `{` + ext + `}`} {
		if status, raw := env.do("POST", "/graphql", "application/json", []byte(body)); status != 200 || string(raw) != `{"data":{"customer":{"name":"Grace Hopper"}}}` {
			t.Errorf("%s: %d %s", body, status, raw)
		}
	}
}

// introspectionQuery is graphql-js's getIntrospectionQuery() (16.x, default options), what GraphiQL sends.
const introspectionQuery = `query IntrospectionQuery {
  __schema {
    queryType { name }
    mutationType { name }
    subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }
}`
