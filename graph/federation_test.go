package graph_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/conflux-gql/conflux/graph"
	"github.com/conflux-gql/conflux/sources"
	"github.com/vektah/gqlparser/v2"
	"go.uber.org/goleak"
)

// fedSupergraph is a small composed supergraph: products (Query.products, Product by id with name) and
// reviews (Product.reviews, by the same key). Product.detail is a value type field only a third subgraph has
// and no key reaches, so the planner cannot fetch it.
const fedSupergraph = `schema @link(url: "https://specs.apollo.dev/link/v1.0") @link(url: "https://specs.apollo.dev/join/v0.3", for: EXECUTION) { query: Query }
directive @join__field(graph: join__Graph, requires: join__FieldSet, provides: join__FieldSet, type: String, external: Boolean, override: String, usedOverridden: Boolean) repeatable on FIELD_DEFINITION | INPUT_FIELD_DEFINITION
directive @join__graph(name: String!, url: String!) on ENUM_VALUE
directive @join__type(graph: join__Graph!, key: join__FieldSet, extension: Boolean! = false, resolvable: Boolean! = true, isInterfaceObject: Boolean! = false) repeatable on OBJECT | INTERFACE | UNION | ENUM | INPUT_OBJECT | SCALAR
directive @link(url: String, as: String, for: link__Purpose, import: [link__Import]) repeatable on SCHEMA
scalar join__FieldSet
scalar link__Import
enum link__Purpose { SECURITY EXECUTION }
enum join__Graph {
  PRODUCTS @join__graph(name: "products", url: "http://127.0.0.1:1/products")
  REVIEWS @join__graph(name: "reviews", url: "http://127.0.0.1:1/reviews")
  EXTRA @join__graph(name: "extra", url: "http://127.0.0.1:1/extra")
}
type Query @join__type(graph: PRODUCTS) @join__type(graph: REVIEWS) @join__type(graph: EXTRA) {
  products: [Product!]! @join__field(graph: PRODUCTS)
  extra: Int @join__field(graph: EXTRA)
}
type Product @join__type(graph: PRODUCTS, key: "id") @join__type(graph: REVIEWS, key: "id") @join__type(graph: EXTRA) {
  id: ID!
  name: String @join__field(graph: PRODUCTS)
  reviews: [String!] @join__field(graph: REVIEWS)
  detail: String @join__field(graph: EXTRA)
}
`

// subgraphFake answers federated requests from Go: root documents with root, _entities with entity per
// representation. It records each request's document and representations.
type subgraphFake struct {
	name   string
	root   func(query string) map[string]any
	entity func(rep map[string]any) any
	block  chan struct{} // when set, every request waits for it (or its context)
	calls  atomic.Int32
	reps   atomic.Int32
}

func (s *subgraphFake) Name() string { return s.name }

func (s *subgraphFake) Do(ctx context.Context, req *sources.Request) (*sources.Response, error) {
	s.calls.Add(1)
	if s.block != nil {
		select {
		case <-s.block:
		case <-ctx.Done():
			return nil, &sources.Error{Source: s.name, Code: sources.CodeTimeout, Err: ctx.Err()}
		}
	}
	var body struct {
		Query     string         `json:"query"`
		Variables map[string]any `json:"variables"`
	}
	if err := json.Unmarshal(req.Body, &body); err != nil {
		return nil, err
	}
	data := map[string]any{}
	if strings.Contains(body.Query, "_entities") {
		for name, v := range body.Variables {
			list, ok := v.([]any)
			if !ok || !strings.HasPrefix(name, "r") {
				continue
			}
			out := make([]any, len(list))
			for i, rep := range list {
				s.reps.Add(1)
				out[i] = s.entity(rep.(map[string]any))
			}
			data["_"+name[1:]] = out
		}
	} else {
		data = s.root(body.Query)
	}
	b, _ := json.Marshal(map[string]any{"data": data})
	return &sources.Response{Status: 200, Body: b}, nil
}

func newFedEngine(t *testing.T, server string, srcs ...*subgraphFake) *graph.Engine {
	t.Helper()
	m := map[string]sources.Source{}
	for _, s := range srcs {
		m[s.name] = s
	}
	for _, name := range []string{"products", "reviews", "extra"} {
		if m[name] == nil {
			m[name] = &subgraphFake{name: name, root: func(string) map[string]any { return map[string]any{} }, entity: func(map[string]any) any { return nil }}
		}
	}
	return engineFor(t, "supergraph: supergraph.graphql\n"+server, fstest.MapFS{"supergraph.graphql": {Data: []byte(fedSupergraph)}}, m)
}

// products answers three products, two of which share an id (their representation is sent once).
func productsFake() *subgraphFake {
	return &subgraphFake{name: "products", root: func(string) map[string]any {
		return map[string]any{"products": []any{
			map[string]any{"__typename": "Product", "id": "1", "name": "One"},
			map[string]any{"__typename": "Product", "id": "2", "name": "Two"},
			map[string]any{"__typename": "Product", "id": "1", "name": "One"},
		}}
	}}
}

func reviewsFake() *subgraphFake {
	return &subgraphFake{name: "reviews", entity: func(rep map[string]any) any {
		return map[string]any{"reviews": []any{fmt.Sprintf("good %v", rep["id"])}}
	}}
}

func executeWith(ctx context.Context, t *testing.T, e *graph.Engine, query string) (string, []string) {
	t.Helper()
	doc, errs := gqlparser.LoadQuery(e.Schema(), query)
	if errs != nil {
		t.Fatal(errs)
	}
	resp := e.Execute(ctx, query, doc, doc.Operations[0], nil, nil)
	return string(resp.Data), codes(resp)
}

// TestFederation_Execute: representations are sent once per distinct key and answers reach every object with
// that key; a field no subgraph can reach is null with FIELD_NOT_REACHABLE while the rest arrives; a failing
// subgraph nulls only its fields with a located error; server.maxFetches counts subgraph requests.
func TestFederation_Execute(t *testing.T) {
	failing := &subgraphFake{name: "reviews", entity: func(map[string]any) any { panic("reviews broke") }}
	tests := []struct {
		name      string
		server    string
		reviews   *subgraphFake
		query     string
		wantData  string
		wantCodes []string
		wantReps  int32
		wantCalls *int32 // requests the reviews subgraph gets, when checked
	}{
		{name: "entities once per key", reviews: reviewsFake(), query: `{ products { name reviews } }`,
			wantData: `{"products":[{"name":"One","reviews":["good 1"]},{"name":"Two","reviews":["good 2"]},{"name":"One","reviews":["good 1"]}]}`,
			wantReps: 2},
		{name: "unreachable field", reviews: reviewsFake(), query: `{ products { id detail } }`,
			wantData:  `{"products":[{"id":"1","detail":null},{"id":"2","detail":null},{"id":"1","detail":null}]}`,
			wantCodes: []string{"products[0].detail=FIELD_NOT_REACHABLE", "products[1].detail=FIELD_NOT_REACHABLE", "products[2].detail=FIELD_NOT_REACHABLE"}},
		{name: "a panicking subgraph call", reviews: failing, query: `{ products { name reviews } }`,
			wantData:  `{"products":[{"name":"One","reviews":null},{"name":"Two","reviews":null},{"name":"One","reviews":null}]}`,
			wantCodes: []string{"products[0]=INTERNAL_SERVER_ERROR", "products[1]=INTERNAL_SERVER_ERROR", "products[2]=INTERNAL_SERVER_ERROR"}},
		// The limit stops the operation (as for any source): the second request is never sent, and the root
		// field, not settled yet, fails too.
		{name: "maxFetches counts subgraph requests", server: "server: {maxFetches: 1}\n", reviews: reviewsFake(), query: `{ products { name reviews } }`,
			wantData: `null`,
			wantCodes: []string{"products[0]=FETCH_LIMIT_EXCEEDED", "products[1]=FETCH_LIMIT_EXCEEDED", "products[2]=FETCH_LIMIT_EXCEEDED",
				"products=FETCH_LIMIT_EXCEEDED"}, wantCalls: new(int32)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			e := newFedEngine(t, tc.server, productsFake(), tc.reviews)
			data, got := executeWith(context.Background(), t, e, tc.query)
			if data != tc.wantData {
				t.Errorf("data = %s\nwant   %s", data, tc.wantData)
			}
			if strings.Join(got, " ") != strings.Join(tc.wantCodes, " ") {
				t.Errorf("errors = %q, want %q", got, tc.wantCodes)
			}
			if tc.wantCalls != nil && tc.reviews.calls.Load() != *tc.wantCalls {
				t.Errorf("reviews got %d requests, want %d", tc.reviews.calls.Load(), *tc.wantCalls)
			}
			if tc.wantReps > 0 && tc.reviews.reps.Load() != tc.wantReps {
				t.Errorf("representations sent %d, want %d", tc.reviews.reps.Load(), tc.wantReps)
			}
		})
	}
}

// TestFederation_Cancellation: a client that leaves while an _entities request is in flight ends it; Execute
// returns at once and no goroutine outlives it.
func TestFederation_Cancellation(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	reviews := reviewsFake()
	reviews.block = make(chan struct{})
	e := newFedEngine(t, "", productsFake(), reviews)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for reviews.calls.Load() == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	start := time.Now()
	_, got := executeWith(ctx, t, e, `{ products { name reviews } }`)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Execute took %v after the client left", d)
	}
	if strings.Join(got, " ") != "-=OPERATION_CANCELLED" {
		t.Errorf("errors = %q", got)
	}
}
