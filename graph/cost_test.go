package graph_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/conflux-gql/conflux/graph"
	"github.com/conflux-gql/conflux/schema"
	"github.com/vektah/gqlparser/v2"
)

const costSDL = `
type Query {
  items(first: Int, after: String): [Item!]!
  all: [Item!]!
  sized: [Item!]!
  page(size: Int, first: Int): [Item]
  grid: [[Item!]!]!
  one: Item
  node: Node
}
interface Node { id: ID! }
type Item implements Node { id: ID! name: String children(limit: Int = 4): [Item!]! tags: [String!]! }
type Other implements Node { id: ID! items: [Item!]! }
`

const costConfig = `
schema: schema.graphqls
sources:
  s: {static: []}
bindings:
  Query.items: {source: s}
  Query.all: {source: s}
  Query.sized: {source: s, listSize: 3}
  Query.page: {source: s, listSize: {slicingArguments: [size], assumedSize: 7}}
  Query.grid: {source: s}
  Query.one: {source: s}
  Query.node: {source: s}
server:
  defaultListSize: 10
  maxCost: %d
`

func costSupergraph(t testing.TB, maxCost int) *schema.Supergraph {
	t.Helper()
	fsys := fstest.MapFS{"schema.graphqls": {Data: []byte(costSDL)}}
	sg, err := schema.Parse("conflux.yaml", fmt.Appendf(nil, costConfig, maxCost), fsys)
	if err != nil {
		t.Fatal(err)
	}
	return sg
}

func TestPlan_Cost(t *testing.T) {
	sg := costSupergraph(t, 0)
	tests := []struct {
		name  string
		query string
		vars  string
		want  int64
	}{
		{name: "a scalar under an object", query: `{ one { name } }`, want: 2},
		{name: "__typename is free", query: `{ one { __typename name } }`, want: 2},
		{name: "default list size", query: `{ all { name } }`, want: 1 + 10},
		{name: "first literal", query: `{ items(first: 3) { id name } }`, want: 1 + 3*2},
		{name: "first variable", query: `query($n: Int) { items(first: $n) { id } }`, vars: `{"n": 5}`, want: 1 + 5},
		{name: "first variable unset", query: `query($n: Int) { items(first: $n) { id } }`, vars: `{}`, want: 1 + 10},
		{name: "negative first counts as empty", query: `{ items(first: -4) { id } }`, want: 1},
		{name: "argument default", query: `{ one { children { id } } }`, want: 1 + 1 + 4},
		{name: "listSize assumed", query: `{ sized { id } }`, want: 1 + 3},
		{name: "listSize slicing argument wins", query: `{ page(size: 2) { id } }`, want: 1 + 2},
		{name: "listSize slicing arguments replace the defaults", query: `{ page(first: 2) { id } }`, want: 1 + 7},
		{name: "nested lists multiply", query: `{ all { children(limit: 5) { tags } } }`, want: 1 + 10*(1+5*1)},
		{name: "a list of lists counts both levels", query: `{ grid { id } }`, want: 1 + 100},
		{name: "abstract: the costliest type", query: `{ node { id ... on Other { items { id name } } } }`, want: 1 + 1 + 1 + 10*2},
		{name: "introspection counts each field once", query: `{ __schema { types { name fields { name } } } }`, want: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, errs := gqlparser.LoadQuery(sg.Schema, tt.query)
			if errs != nil {
				t.Fatal(errs)
			}
			vars := map[string]any{}
			if tt.vars != "" {
				d := json.NewDecoder(strings.NewReader(tt.vars))
				d.UseNumber()
				if err := d.Decode(&vars); err != nil {
					t.Fatal(err)
				}
			}
			p, err := graph.NewPlan(sg, doc, doc.Operations[0], vars)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Cost(vars, 10); got != tt.want {
				t.Errorf("Cost = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestPlan_CostLimit(t *testing.T) {
	sg := costSupergraph(t, 100)
	tests := []struct {
		name     string
		query    string
		vars     map[string]any
		planErr  bool // refused while planning (the refusal is cached with the plan)
		checkErr bool // refused per request, for these variables
	}{
		{name: "under", query: `{ items(first: 9) { id name } }`},
		{name: "over with literals", query: `{ all { children(limit: 20) { id } } }`, planErr: true},
		{name: "over by a variable", query: `query($n: Int) { items(first: $n) { id name } }`, vars: map[string]any{"n": json.Number("1000")}, checkErr: true},
		{name: "same document under by a variable", query: `query($n: Int) { items(first: $n) { id name } }`, vars: map[string]any{"n": json.Number("10")}},
		{name: "saturates instead of overflowing", query: `{ grid { children(limit: 2147483647) { children(limit: 2147483647) { children(limit: 2147483647) { id } } } } }`, planErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, errs := gqlparser.LoadQuery(sg.Schema, tt.query)
			if errs != nil {
				t.Fatal(errs)
			}
			p, err := graph.NewPlan(sg, doc, doc.Operations[0], tt.vars)
			if tt.planErr {
				assertCostError(t, err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			err = p.CheckCost(tt.vars, sg.Settings.DefaultListSize, sg.Settings.MaxCost, nil)
			if tt.checkErr {
				assertCostError(t, err)
			} else if err != nil {
				t.Errorf("CheckCost: %v", err)
			}
		})
	}
}

func assertCostError(t *testing.T, err error) {
	t.Helper()
	var pe *graph.PlanError
	if !errors.As(err, &pe) || pe.Code != graph.CodeCostLimit {
		t.Fatalf("err = %v, want a %s PlanError", err, graph.CodeCostLimit)
	}
}

// TestNewPlan_FragmentExplosion: fragments that spread each other twice per level describe an answer that doubles
// at every level while the document stays small. Planning stops at the field budget (server.maxCost) instead of
// building the whole tree first.
func TestNewPlan_FragmentExplosion(t *testing.T) {
	sg := costSupergraph(t, 1000)
	var b strings.Builder
	b.WriteString("{ one { ...F0 } }\n")
	const levels = 12 // within the default depth limit; 2^12 leaves

	for i := range levels {
		fmt.Fprintf(&b, "fragment F%d on Item { a%d: children { ...F%d } b%d: children { ...F%d } }\n", i, i, i+1, i, i+1)
	}
	fmt.Fprintf(&b, "fragment F%d on Item { id }\n", levels)
	doc, errs := gqlparser.LoadQuery(sg.Schema, b.String())
	if errs != nil {
		t.Fatal(errs)
	}
	_, err := graph.NewPlan(sg, doc, doc.Operations[0], nil)
	assertCostError(t, err)
	if !strings.Contains(err.Error(), "more than 1000 fields") {
		t.Errorf("refused after planning, not by the field budget: %v", err)
	}
}

// TestPlan_CostReadmeExample pins the worked example of the README's Limits section on the Customer 360 example.
func TestPlan_CostReadmeExample(t *testing.T) {
	sg, err := schema.Load("../examples/customer360/conflux.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc, errs := gqlparser.LoadQuery(sg.Schema, `{ customers(limit: 3) { name orders { status } } }`)
	if errs != nil {
		t.Fatal(errs)
	}
	p, err := graph.NewPlan(sg, doc, doc.Operations[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Cost(nil, sg.Settings.DefaultListSize); got != 37 {
		t.Errorf("Cost = %d, want 37 as the README says", got)
	}
}
