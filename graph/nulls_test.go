package graph_test

import (
	"context"
	"encoding/json"
	"testing"
	"testing/fstest"

	"github.com/conflux-gql/conflux/graph"
	"github.com/conflux-gql/conflux/resolvers"
	"github.com/conflux-gql/conflux/schema"
	"github.com/conflux-gql/conflux/sources"
	"github.com/vektah/gqlparser/v2"
)

const valuesSDL = `
type Query {
  a: A
  strict: A!
  list: [Item!]
  items: [Item]
  nums: [Int]
  big: Int
  color: Color
  colors: [Color!]!
  echo(id: ID!, n: Int = 3, input: In): String
  pet: Pet
}
type A { name: String! b: String }
type Item { name: String! }
enum Color { RED GREEN }
input In { x: Int = 5, y: [ID!] }
union Pet = Cat | Dog
type Cat { meow: String }
type Dog { bark: String }
`

const valuesConfig = `
schema: [s.graphqls]
bindings:
  Query.a: {value: {name: null, b: "x"}}
  Query.strict: {value: {b: "no name"}}
  Query.list: {value: [{name: "x"}, {name: null}]}
  Query.items: {value: [{name: "x"}, {name: null}]}
  Query.nums: {value: [1, "x", 3, 2.5]}
  Query.big: {value: 3000000000}
  Query.color: {value: PURPLE}
  Query.colors: {value: [RED, GREEN]}
  Query.echo: {value: "{{args.id}}/{{args.n}}/{{args.input}}"}
  Query.pet: {value: {kind: dog, bark: woof}, discriminator: {field: kind, types: {dog: Dog, cat: Cat}}}
`

func newValuesEngine(t *testing.T) *graph.Engine {
	return newEngine(t, valuesSDL, valuesConfig, nil)
}

// newEngine builds an engine from SDL and configuration text, fetching through srcs.
func newEngine(t testing.TB, sdl, config string, srcs map[string]sources.Source) *graph.Engine {
	t.Helper()
	return engineFor(t, config, fstest.MapFS{"s.graphqls": {Data: []byte(sdl)}}, srcs)
}

// engineFor builds an engine from configuration text and the files it names, fetching through srcs.
func engineFor(t testing.TB, config string, files fstest.MapFS, srcs map[string]sources.Source) *graph.Engine {
	t.Helper()
	sg, err := schema.Parse("conflux.yaml", []byte(config), files)
	if err != nil {
		t.Fatal(err)
	}
	set, err := resolvers.New(sg, srcs)
	if err != nil {
		t.Fatal(err)
	}
	e, err := graph.New(sg, set)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func execute(t *testing.T, e *graph.Engine, query string, vars map[string]any) string {
	t.Helper()
	doc, errs := gqlparser.LoadQuery(e.Schema(), query)
	if errs != nil {
		t.Fatalf("invalid query: %v", errs)
	}
	resp := e.Execute(context.Background(), query, doc, doc.Operations[0], vars, nil)
	b, err := json.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestEngine_NullPropagation pins the GraphQL spec's rules (6.4.4): a null (or an error) in a non-null position
// nulls the nearest nullable ancestor, with one error at the deepest path.
func TestEngine_NullPropagation(t *testing.T) {
	e := newValuesEngine(t)
	tests := []struct {
		name, query, want string
	}{
		{
			name:  "non-null field nulls its object",
			query: `{ a { b name } }`,
			want:  `{"errors":[{"message":"cannot return null for non-nullable field A.name","path":["a","name"],"locations":[{"line":1,"column":9}],"extensions":{"code":"BAD_UPSTREAM_RESPONSE"}}],"data":{"a":null}}`,
		},
		{
			name:  "non-null root field nulls data",
			query: `{ strict { name } a { b } }`,
			want:  `{"errors":[{"message":"cannot return null for non-nullable field A.name","path":["strict","name"],"locations":[{"line":1,"column":12}],"extensions":{"code":"BAD_UPSTREAM_RESPONSE"}}],"data":null}`,
		},
		{
			name:  "non-null item nulls the list",
			query: `{ list { name } }`,
			want:  `{"errors":[{"message":"cannot return null for non-nullable field Item.name","path":["list",1,"name"],"locations":[{"line":1,"column":10}],"extensions":{"code":"BAD_UPSTREAM_RESPONSE"}}],"data":{"list":null}}`,
		},
		{
			name:  "nullable item nulls only itself",
			query: `{ items { name } }`,
			want:  `{"errors":[{"message":"cannot return null for non-nullable field Item.name","path":["items",1,"name"],"locations":[{"line":1,"column":11}],"extensions":{"code":"BAD_UPSTREAM_RESPONSE"}}],"data":{"items":[{"name":"x"},null]}}`,
		},
		{
			name:  "bad leaves are located errors",
			query: `{ nums big }`,
			want:  `{"errors":[{"message":"expected an Int (32-bit integer), got \"x\"","path":["nums",1],"locations":[{"line":1,"column":3}],"extensions":{"code":"BAD_UPSTREAM_RESPONSE"}},{"message":"expected an Int (32-bit integer), got 2.5","path":["nums",3],"locations":[{"line":1,"column":3}],"extensions":{"code":"BAD_UPSTREAM_RESPONSE"}},{"message":"expected an Int (32-bit integer), got 3000000000","path":["big"],"locations":[{"line":1,"column":8}],"extensions":{"code":"BAD_UPSTREAM_RESPONSE"}}],"data":{"nums":[1,null,3,null],"big":null}}`,
		},
		{
			name:  "enums",
			query: `{ color colors }`,
			want:  `{"errors":[{"message":"\"PURPLE\" is not a value of enum Color","path":["color"],"locations":[{"line":1,"column":3}],"extensions":{"code":"BAD_UPSTREAM_RESPONSE"}}],"data":{"color":null,"colors":["RED","GREEN"]}}`,
		},
		{
			name:  "argument coercion: ID literal as string, defaults, input-object defaults, single value as list",
			query: `{ echo(id: 42, input: {y: 7}) }`,
			want:  `{"data":{"echo":"42/3/{\"x\":5,\"y\":[\"7\"]}"}}`,
		},
		{
			name:  "discriminator picks the union member",
			query: `{ pet { __typename ... on Dog { bark } ... on Cat { meow } } }`,
			want:  `{"data":{"pet":{"__typename":"Dog","bark":"woof"}}}`,
		},
		{
			name:  "typename and aliases in order",
			query: `{ z: __typename c: colors t: __typename }`,
			want:  `{"data":{"z":"Query","c":["RED","GREEN"],"t":"Query"}}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := execute(t, e, tc.query, nil); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestEngine_Variables(t *testing.T) {
	e := newValuesEngine(t)
	q := `query($id: ID!, $in: In, $skip: Boolean!) { echo(id: $id, input: $in) color @skip(if: $skip) }`
	tests := []struct {
		name string
		vars map[string]any
		want string
	}{
		{name: "numeric ID variable becomes a string", vars: map[string]any{"id": json.Number("5"), "in": map[string]any{"y": []any{"a"}}, "skip": true},
			want: `{"data":{"echo":"5/3/{\"x\":5,\"y\":[\"a\"]}"}}`},
		{name: "skip evaluated per variables", vars: map[string]any{"id": "x", "skip": false},
			want: `{"errors":[{"message":"\"PURPLE\" is not a value of enum Color","path":["color"],"locations":[{"line":1,"column":71}],"extensions":{"code":"BAD_UPSTREAM_RESPONSE"}}],"data":{"echo":"x/3/","color":null}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := execute(t, e, q, tc.vars); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// TestEngine_FetchBelowValue: a field bound to a source below a root `value` list is fetched once per item,
// with each item as its parent (it was planned against the root object, and crashed the process).
func TestEngine_FetchBelowValue(t *testing.T) {
	files := &fakeSource{name: "files", do: func(_ context.Context, req *sources.Request) (any, error) { return req.Path, nil }}
	e := newEngine(t, `type Query { users: [User] } type User { id: ID info: String }`, `
schema: [s.graphqls]
sources:
  files: {http: {endpoints: [http://127.0.0.1:1]}}
bindings:
  Query.users: {value: [{id: "1"}, {id: "2"}]}
  User.info: {source: files, path: "/x/{{parent.id}}"}
`, map[string]sources.Source{"files": files})
	got := execute(t, e, `{ users { id info } }`, nil)
	if want := `{"data":{"users":[{"id":"1","info":"/x/1"},{"id":"2","info":"/x/2"}]}}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
