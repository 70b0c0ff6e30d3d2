package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql/introspection"
	"github.com/conflux-gql/conflux/examples/mock"
	"github.com/conflux-gql/conflux/graph"
	"github.com/conflux-gql/conflux/resolvers"
	"github.com/conflux-gql/conflux/schema"
	"github.com/conflux-gql/conflux/sources"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/validator/rules"
)

// itemsPerOwner is how many items of the lists scenario share an owner, so the batched child field has n/10
// distinct keys: the work per item stays the same whatever n, and any step that is not linear in the number of
// keys shows.
const itemsPerOwner = 10

const itemsQuery = `query Items($n: Int!) { items(n: $n) { id name owner { id name } } }`

const itemsSDL = `type Query {
  "The first n items."
  items(n: Int!): [Item!]!
}

type Item {
  id: ID!
  name: String!
  "Batched: one GET /owners?id=…&id=… for every item of the list."
  owner: Owner
}

type Owner {
  id: ID!
  name: String!
}
`

const itemsConfigYAML = `schema: [lists.graphqls]
sources:
  items:
    http: {endpoints: [%s], dedup: false}
bindings:
  Query.items: {source: items, path: /items, query: {n: "{{args.n}}"}}
  Item.owner:
    source: items
    path: /owners/{{parent.ownerId}}
    batch: {key: "{{parent.ownerId}}", path: /owners, query: {id: "{{keys}}"}, match: id, maxSize: 1000}
`

func itemsConfig(dir, url string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "lists.graphqls"), []byte(itemsSDL), 0o644); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "conflux.yaml")
	return path, os.WriteFile(path, fmt.Appendf(nil, itemsConfigYAML, url), 0o644)
}

// newItemsBackend serves GET /items?n=N (N of the given sizes, encoded once up front so the backend costs little
// during the run) and GET /owners?id=…&id=….
func newItemsBackend(sizes []int) *mock.Backend {
	type item struct {
		ID      int    `json:"id"`
		Name    string `json:"name"`
		OwnerID int    `json:"ownerId"`
	}
	lists := map[string][]byte{}
	for _, n := range sizes {
		items := make([]item, n)
		for i := range items {
			items[i] = item{ID: i, Name: "item " + strconv.Itoa(i), OwnerID: i / itemsPerOwner}
		}
		lists[strconv.Itoa(n)], _ = json.Marshal(items)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items", func(w http.ResponseWriter, r *http.Request) {
		b, ok := lists[r.URL.Query().Get("n")]
		if !ok {
			mock.Fail(w, http.StatusBadRequest, "n must be one of the benchmark's sizes")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		_, _ = w.Write(b)
	})
	mux.HandleFunc("GET /owners", func(w http.ResponseWriter, r *http.Request) {
		type owner struct {
			ID   int    `json:"id"`
			Name string `json:"name"`
		}
		out := []owner{}
		for _, v := range mock.Values(r, "id") {
			if id, err := strconv.Atoi(v); err == nil && id >= 0 {
				out = append(out, owner{ID: id, Name: "owner " + v})
			}
		}
		mock.WriteJSON(w, http.StatusOK, out)
	})
	return mock.NewBackend("items", mux)
}

// plannerBenchmarks measures in process what the planning scenario measures over HTTP: parsing and validating
// the posts query (gqlparser, what gqlgen's query cache saves), planning it (a plan-cache miss), taking its plan
// from the engine's cache (a hit), and the engine's answer to the full introspection query (served from the
// per-version cache after the first).
func plannerBenchmarks(config string) ([]fact, []target, error) {
	sg, err := schema.Load(config)
	if err != nil {
		return nil, nil, err
	}
	srcs := map[string]sources.Source{}
	for _, name := range sg.SourceNames() {
		// Nothing is fetched: planning and introspection never call a source.
		if srcs[name], err = sources.NewStatic(name, nil); err != nil {
			return nil, nil, err
		}
	}
	set, err := resolvers.New(sg, srcs)
	if err != nil {
		return nil, nil, err
	}
	engine, err := graph.New(sg, set)
	if err != nil {
		return nil, nil, err
	}
	doc, errs := gqlparser.LoadQueryWithRules(sg.Schema, postsQuery, rules.NewDefaultRules())
	if errs != nil {
		return nil, nil, errs
	}
	op := doc.Operations[0]
	if _, err := engine.CachedPlan(postsQuery, doc, op, nil); err != nil {
		return nil, nil, err
	}
	idoc, errs := gqlparser.LoadQueryWithRules(sg.Schema, introspection.Query, rules.NewDefaultRules())
	if errs != nil {
		return nil, nil, errs
	}
	ctx := context.Background()
	if r := engine.Execute(ctx, introspection.Query, idoc, idoc.Operations[0], nil, nil); len(r.Errors) > 0 || len(r.Data) < 1000 {
		return nil, nil, fmt.Errorf("introspection: %v", r.Errors)
	}
	bench := func(fn func()) testing.BenchmarkResult {
		return testing.Benchmark(func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				fn()
			}
		})
	}
	parse := bench(func() { gqlparser.LoadQueryWithRules(sg.Schema, postsQuery, rules.NewDefaultRules()) })
	miss := bench(func() { _, _ = graph.NewPlan(sg, doc, op, nil) })
	hit := bench(func() { _, _ = engine.CachedPlan(postsQuery, doc, op, nil) })
	intro := bench(func() { engine.Execute(ctx, introspection.Query, idoc, idoc.Operations[0], nil, nil) })
	line := func(r testing.BenchmarkResult) string {
		return fmt.Sprintf("%s/op, %d B/op, %d allocs/op", nsOf(timePerOp(r)), r.AllocedBytesPerOp(), r.AllocsPerOp())
	}
	facts := []fact{
		{"in process: parse + validate the posts query (gqlparser)", line(parse)},
		{"in process: plan the posts query (graph.NewPlan, a plan-cache miss)", line(miss)},
		{"in process: the posts query's plan from the cache (Engine.CachedPlan, a hit)", line(hit)},
		{"in process: the full introspection query answered by the engine from its cache", line(intro)},
	}
	targets := []target{
		{"planning: a cached plan ≤ 5 µs per operation", nsOf(timePerOp(hit)) + " per hit in process", timePerOp(hit) <= 5*time.Microsecond},
		{"planning: introspection from cache ≤ 100 µs (engine, in process)", nsOf(timePerOp(intro)), timePerOp(intro) <= 100*time.Microsecond},
	}
	return facts, targets, nil
}
