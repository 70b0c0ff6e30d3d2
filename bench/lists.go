package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/conflux-gql/conflux/examples/mock"
	"github.com/conflux-gql/conflux/graph"
	"github.com/conflux-gql/conflux/schema"
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
// the posts query (gqlparser, what gqlgen's query cache saves) and planning it (what Conflux's plan cache saves).
func plannerBenchmarks(config string) ([]fact, error) {
	sg, err := schema.Load(config)
	if err != nil {
		return nil, err
	}
	doc, errs := gqlparser.LoadQueryWithRules(sg.Schema, postsQuery, rules.NewDefaultRules())
	if errs != nil {
		return nil, errs
	}
	if _, err := graph.NewPlan(sg, doc, doc.Operations[0], nil); err != nil {
		return nil, err
	}
	parse := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			gqlparser.LoadQueryWithRules(sg.Schema, postsQuery, rules.NewDefaultRules())
		}
	})
	plan := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = graph.NewPlan(sg, doc, doc.Operations[0], nil)
		}
	})
	return []fact{
		{"in process: parse + validate the posts query (gqlparser)", fmt.Sprintf("%s/op, %d B/op, %d allocs/op", nsOf(timePerOp(parse)), parse.AllocedBytesPerOp(), parse.AllocsPerOp())},
		{"in process: plan the posts query (graph.NewPlan, a plan-cache miss)", fmt.Sprintf("%s/op, %d B/op, %d allocs/op", nsOf(timePerOp(plan)), plan.AllocedBytesPerOp(), plan.AllocsPerOp())},
	}, nil
}
