package graph_test

import (
	"context"
	"fmt"
	"github.com/conflux-gql/conflux/graph"
	"github.com/conflux-gql/conflux/schema"
	"github.com/conflux-gql/conflux/sources"
	"github.com/vektah/gqlparser/v2"
	"go.uber.org/goleak"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"
)

// aliasingProducts answers Query.products as a subgraph would for documents that select `id: name` and,
// when asked, the id under the planner's own key "__fed_id".
func aliasingProducts() *subgraphFake {
	return &subgraphFake{name: "products", root: func(q string) map[string]any {
		var list []any
		for _, p := range [][2]string{{"1", "One"}, {"2", "Two"}} {
			m := map[string]any{"__typename": "Product"}
			if strings.Contains(q, "id: name") {
				m["id"] = p[1]
			} else if strings.Contains(q, "id") {
				m["id"] = p[0]
			}
			if strings.Contains(q, "__fed_id: id") {
				m["__fed_id"] = p[0]
			}
			list = append(list, m)
		}
		return map[string]any{"products": list}
	}}
}

// TestFederation_AliasCollidesWithKey: a client alias that takes a key field's name (`id: name`) does not
// replace the key the planner adds: the subgraph is asked for the real id under another response key, the
// representation carries it, and the client still gets its alias.
func TestFederation_AliasCollidesWithKey(t *testing.T) {
	for _, q := range []string{`{ products { id: name reviews } }`, `{ products { reviews id: name } }`} {
		t.Run(q, func(t *testing.T) {
			reviews := &subgraphFake{name: "reviews", entity: func(rep map[string]any) any {
				id, _ := rep["id"].(string)
				return map[string]any{"reviews": []any{"about " + id}}
			}}
			e := newFedEngine(t, "", aliasingProducts(), reviews)
			data, codes := executeWith(context.Background(), t, e, q)
			want := `{"products":[{"id":"One","reviews":["about 1"]},{"id":"Two","reviews":["about 2"]}]}`
			if strings.HasPrefix(q, "{ products { reviews") {
				want = `{"products":[{"reviews":["about 1"],"id":"One"},{"reviews":["about 2"],"id":"Two"}]}`
			}
			if data != want || len(codes) > 0 {
				p, _ := e.Plan(q, "", nil)
				t.Errorf("data = %s %v\nwant   %s\n%s", data, codes, want, p)
			}
		})
	}
}

// rawFake answers root documents with rootBody and `_entities` documents with entityBody, both raw JSON bodies.
type rawFake struct {
	name                 string
	rootBody, entityBody string
}

func (s *rawFake) Name() string { return s.name }

func (s *rawFake) Do(_ context.Context, req *sources.Request) (*sources.Response, error) {
	if strings.Contains(string(req.Body), "_entities") {
		return &sources.Response{Status: 200, Body: []byte(s.entityBody)}, nil
	}
	return &sources.Response{Status: 200, Body: []byte(s.rootBody)}, nil
}

func rawEngine(t *testing.T, products, reviews *rawFake) *graph.Engine {
	m := map[string]sources.Source{"products": products, "reviews": reviews,
		"extra": &rawFake{name: "extra", rootBody: `{"data":{}}`, entityBody: `{"data":{}}`}}
	return engineFor(t, "supergraph: supergraph.graphql\n", fstest.MapFS{"supergraph.graphql": {Data: []byte(fedSupergraph)}}, m)
}

const twoProducts = `{"data":{"products":[{"__typename":"Product","id":"1","name":"One"},{"__typename":"Product","id":"2","name":"Two"}]}}`

// TestFederation_HostileAnswers: whatever a subgraph answers (lists of the wrong length, items that are not
// objects, fields it was not asked for, values of the wrong shape, errors with paths of any shape, many errors), the request ends with the fields it could fill, the
// errors it could place, a bounded number of errors, and no panic.
func TestFederation_HostileAnswers(t *testing.T) {
	manyErrors := func(n int, path string) string {
		var b strings.Builder
		b.WriteString(`{"data":{"_0":[null,null]},"errors":[`)
		for i := 0; i < n; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"message":"e%d","path":%s}`, i, path)
		}
		b.WriteString(`]}`)
		return b.String()
	}
	tests := []struct {
		name      string
		products  string
		reviews   string
		wantData  string
		wantMsg   string // "path: message" of one of the errors
		maxErrors int
	}{
		{name: "longer list", products: twoProducts, reviews: `{"data":{"_0":[{"reviews":["a"]},{"reviews":["b"]},{"reviews":["c"]}]}}`,
			wantData: `{"products":[{"name":"One","reviews":["a"]},{"name":"Two","reviews":["b"]}]}`},
		{name: "shorter list", products: twoProducts, reviews: `{"data":{"_0":[{"reviews":["a"]}]}}`,
			wantData: `{"products":[{"name":"One","reviews":["a"]},{"name":"Two","reviews":null}]}`},
		{name: "items not objects", products: twoProducts, reviews: `{"data":{"_0":[1,[{"reviews":["x"]}]]}}`,
			wantData: `{"products":[{"name":"One","reviews":null},{"name":"Two","reviews":null}]}`},
		{name: "entities not a list", products: twoProducts, reviews: `{"data":{"_0":{"reviews":["x"]}}}`,
			wantData: `{"products":[{"name":"One","reviews":null},{"name":"Two","reviews":null}]}`},
		{name: "null data with errors", products: twoProducts,
			reviews:  `{"data":null,"errors":[{"message":"no","path":["_0",1,"reviews"]},{"message":"odd","path":[7,"x"]},{"message":"neg","path":["_0",-1]},{"message":"huge","path":["_0",1e300]},{"message":"frac","path":["_0",0.5,"reviews"]},{"message":"far","path":["_9",0]},{"message":"deep","path":["_0",0,"reviews",5,"x"]}]}`,
			wantData: `{"products":[{"name":"One","reviews":null},{"name":"Two","reviews":null}]}`},
		{name: "error paths with values of any type", products: twoProducts,
			reviews:  `{"data":{"_0":[null,null]},"errors":[{"message":"odd","path":["_0",0,{"a":1},true,null,1.5,-3,"reviews"]}]}`,
			wantData: `{"products":[{"name":"One","reviews":null},{"name":"Two","reviews":null}]}`, wantMsg: "products[0]: odd"},
		{name: "error path with a huge index", products: twoProducts,
			reviews:  `{"data":{"_0":[null,null]},"errors":[{"message":"odd2","path":["_0",1,"reviews",1e300]},{"message":"fine","path":["_0",0,"reviews",0]}]}`,
			wantData: `{"products":[{"name":"One","reviews":null},{"name":"Two","reviews":null}]}`, wantMsg: "products[1].reviews: odd2"},
		{name: "error path with an index", products: twoProducts,
			reviews:  `{"data":{"_0":[null,null]},"errors":[{"message":"fine","path":["_0",0,"reviews",0]}]}`,
			wantData: `{"products":[{"name":"One","reviews":null},{"name":"Two","reviews":null}]}`, wantMsg: "products[0].reviews[0]: fine"},
		{name: "conflicting values", products: twoProducts, reviews: `{"data":{"_0":[{"reviews":["a"],"name":{"x":1}},{"reviews":"nope","name":[1,2]}]}}`,
			wantData: `{"products":[{"name":"One","reviews":["a"]},{"name":"Two","reviews":null}]}`, wantMsg: "products[1].reviews: expected a list, got a string"},
		{name: "many placed errors", products: twoProducts, reviews: manyErrors(5000, `["_0",0,"reviews"]`), maxErrors: 200,
			wantData: `{"products":[{"name":"One","reviews":null},{"name":"Two","reviews":null}]}`},
		{name: "many unplaced errors", products: twoProducts, reviews: manyErrors(5000, `["x"]`), maxErrors: 200,
			wantData: `{"products":[{"name":"One","reviews":null},{"name":"Two","reviews":null}]}`},
		{name: "root errors without a path", products: `{"data":{"products":null},"errors":[{"message":"db down"}]}`, reviews: `{"data":{}}`,
			wantData: `null`, wantMsg: "products: db down"},
		{name: "root errors with odd paths", products: `{"data":{"products":null},"errors":[{"message":"a","path":[3]},{"message":"b","path":[]},{"message":"c","path":["nope",1]}]}`, reviews: `{"data":{}}`,
			wantData: `null`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			e := rawEngine(t, &rawFake{name: "products", rootBody: tc.products}, &rawFake{name: "reviews", entityBody: tc.reviews})
			q := `{ products { name reviews } }`
			doc, errs := gqlparser.LoadQuery(e.Schema(), q)
			if errs != nil {
				t.Fatal(errs)
			}
			resp := e.Execute(context.Background(), q, doc, doc.Operations[0], nil, nil)
			if string(resp.Data) != tc.wantData {
				t.Errorf("data = %s\nwant   %s", resp.Data, tc.wantData)
			}
			max := tc.maxErrors
			if max == 0 {
				max = 20
			}
			if len(resp.Errors) > max {
				t.Errorf("%d errors, want at most %d", len(resp.Errors), max)
			}
			var msgs []string
			for _, e := range resp.Errors {
				msgs = append(msgs, e.Path.String()+": "+e.Message)
			}
			if tc.wantMsg != "" && !slices.Contains(msgs, tc.wantMsg) {
				t.Errorf("errors = %q, want one %q", msgs, tc.wantMsg)
			}
			t.Logf("%d errors: %v", len(resp.Errors), resp.Errors[:min(len(resp.Errors), 8)])
		})
	}
}

// fixtureSupergraph loads the supergraph of fixture testdata/federation/<name>.
func fixtureSupergraph(t testing.TB, name string) *schema.Supergraph {
	t.Helper()
	sdl, err := os.ReadFile(filepath.Join("..", "testdata", "federation", name, "supergraph.graphql"))
	if err != nil {
		t.Fatal(err)
	}
	sg, err := schema.Parse("conflux.yaml", []byte("supergraph: supergraph.graphql\n"), fstest.MapFS{"supergraph.graphql": {Data: sdl}})
	if err != nil {
		t.Fatal(err)
	}
	return sg
}

// subgraphCalls plans query over sg and returns its subgraph call lines ("s<n> ..."), or the plan error.
func subgraphCalls(t *testing.T, sg *schema.Supergraph, query string, vars map[string]any) []string {
	t.Helper()
	doc, errs := gqlparser.LoadQuery(sg.Schema, query)
	if errs != nil {
		t.Fatal(errs)
	}
	p, err := graph.NewPlan(sg, doc, doc.Operations[0], vars)
	if err != nil {
		return []string{"error: " + err.Error()}
	}
	var out []string
	for _, l := range strings.Split(p.String(), "\n") {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "s") && strings.Contains(l, " (") {
			out = append(out, l)
		}
	}
	return out
}

// TestFederation_KeyChains: a field whose subgraph's key the objects lack is fetched through a subgraph that
// can get that key (Product by upc in products, for its sku, then inventory by sku): the planner does not try
// to fetch a key's field from the very key it enters by, which used to chain maxKeyHops useless steps and leave
// the field unreached.
func TestFederation_KeyChains(t *testing.T) {
	sg := fixtureSupergraph(t, "entities")
	tests := []struct{ query, want string }{
		{`{ topReviews { product { inStock } } }`, `s0 reviews (root): query { topReviews { product { upc __typename } } }
s1 products (entities Product at topReviews.@.product) after s0: query($r0: [_Any!]!) { _0: _entities(representations: $r0) { ... on Product { sku } } }
s2 inventory (entities Product at topReviews.@.product) after s0,s1: query($r0: [_Any!]!) { _0: _entities(representations: $r0) { ... on Product { inStock } } }`},
		{`query($z: String!) { users { favoriteProduct { deliveryDays(zip: $z) } } }`, `s0 accounts (root): query { users { favoriteProduct { upc __typename } } }
s1 products (entities Product at users.@.favoriteProduct) after s0: query($r0: [_Any!]!) { _0: _entities(representations: $r0) { ... on Product { sku } } }
s2 inventory (entities Product at users.@.favoriteProduct) after s0,s1: query($r0: [_Any!]!, $_a0: String!) { _0: _entities(representations: $r0) { ... on Product { deliveryDays(zip: $_a0) } } }`},
	}
	for _, tc := range tests {
		if got := strings.Join(subgraphCalls(t, sg, tc.query, map[string]any{"z": "1"}), "\n"); got != tc.want {
			t.Errorf("%s:\n%s\nwant\n%s", tc.query, got, tc.want)
		}
	}
}

// TestFederation_TypenameAlias: a client field aliased __typename under a federated field would hide the
// objects' types the executor reads (the Product objects got no representation, so reviews were null without an
// error); the plan refuses it with an error, and __typename itself under another alias still plans.
func TestFederation_TypenameAlias(t *testing.T) {
	sg := fixtureSupergraph(t, "entities")
	tests := []struct{ query, want string }{
		{`{ topProducts { __typename: name reviews { body } } }`, `error: cannot plan name: the response key __typename is the objects' type under a federated field; choose another alias`},
		{`{ topProducts { t: __typename inStock } }`, `s0 products (root): query { topProducts { t: __typename sku __typename } }
s1 inventory (entities Product at topProducts.@) after s0: query($r0: [_Any!]!) { _0: _entities(representations: $r0) { ... on Product { inStock } } }`},
	}
	for _, tc := range tests {
		if got := strings.Join(subgraphCalls(t, sg, tc.query, nil), "\n"); got != tc.want {
			t.Errorf("%s:\n%s\nwant\n%s", tc.query, got, tc.want)
		}
	}
}

// TestFederation_Concurrent: many federated requests at once on one engine (one cached plan, the same subgraph
// answers' shapes, some clients leaving mid-request) each get their own complete answer; run with -race, no
// data race between fedRun's calls or between requests, and no goroutine outlives them.
func TestFederation_Concurrent(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	e := newFedEngine(t, "", productsFake(), reviewsFake())
	queries := []struct{ q, want string }{
		{`{ products { name reviews } }`, `{"products":[{"name":"One","reviews":["good 1"]},{"name":"Two","reviews":["good 2"]},{"name":"One","reviews":["good 1"]}]}`},
		{`{ products { reviews id } }`, `{"products":[{"reviews":["good 1"],"id":"1"},{"reviews":["good 2"],"id":"2"},{"reviews":["good 1"],"id":"1"}]}`},
		{`{ products { reviews } }`, `{"products":[{"reviews":["good 1"]},{"reviews":["good 2"]},{"reviews":["good 1"]}]}`},
	}
	var wg sync.WaitGroup
	errs := make(chan string, 400)
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tc := queries[i%len(queries)]
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if i%10 == 9 {
				cancel() // a client that left: whatever it gets, nothing races or leaks
			}
			doc, gerrs := gqlparser.LoadQuery(e.Schema(), tc.q)
			if gerrs != nil {
				errs <- gerrs.Error()
				return
			}
			resp := e.Execute(ctx, tc.q, doc, doc.Operations[0], nil, nil)
			if i%10 != 9 && (string(resp.Data) != tc.want || len(resp.Errors) > 0) {
				errs <- fmt.Sprintf("%s: %s %v", tc.q, resp.Data, resp.Errors)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestFederation_RequiresCycle: a hand-written supergraph whose @requires need each other (x in reviews
// requires y, y in extra requires x) plans at once, the fields unreached; it used to retry every step and
// subgraph at each level of the cycle, maxKeyHops deep, which took minutes.
func TestFederation_RequiresCycle(t *testing.T) {
	head := fedSupergraph[:strings.Index(fedSupergraph, "type Query")]
	sdl := head + `type Query @join__type(graph: PRODUCTS) @join__type(graph: REVIEWS) { products: [Product!]! @join__field(graph: PRODUCTS) }
type Product @join__type(graph: PRODUCTS, key: "id") @join__type(graph: REVIEWS, key: "id") @join__type(graph: EXTRA, key: "id") {
  id: ID!
  x: String @join__field(graph: REVIEWS, requires: "y") @join__field(graph: EXTRA, external: true)
  y: String @join__field(graph: EXTRA, requires: "x") @join__field(graph: REVIEWS, external: true)
}`
	sg, err := schema.Parse("conflux.yaml", []byte("supergraph: supergraph.graphql\n"), fstest.MapFS{"supergraph.graphql": {Data: []byte(sdl)}})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`{ products { x } }`, `{ products { x y } }`} {
		done := make(chan []string, 1)
		go func() { done <- subgraphCalls(t, sg, q, nil) }()
		select {
		case calls := <-done:
			if len(calls) == 0 || !strings.HasPrefix(calls[0], "s0 products (root)") {
				t.Errorf("%s: %q", q, calls)
			}
		case <-time.After(3 * time.Second):
			t.Fatalf("%s: planning has not ended after 3s", q)
		}
	}
}
