package resolvers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/conflux-gql/conflux/schema"
	"github.com/conflux-gql/conflux/sources"
)

// docSDL is the public schema of the document-building tests: a JSON custom scalar (the injection
// carrier), an input object, an enum, and one binding per batching mode.
const docSDL = `
scalar JSON
enum Color { RED GREEN }
input Filter { name: String, color: Color, tags: [String!] }
type Query {
  search(filter: JSON, term: String, f: Filter): [Item]
  item(id: ID!): Item
  deep(q: JSON): [Item]
}
type Mutation { act(input: JSON, note: String): Item }
type Item {
  id: ID!
  name: String
  related(filter: JSON): [Item]
  detail(fmt: String): Detail
  loyalty: Detail
  fixed: Item
}
type Detail { itemId: ID! text: String }
`

// docUpstreamSDL mirrors the public schema on the upstream side, for the source whose schema is known.
const docUpstreamSDL = `
scalar JSON
enum Color { RED GREEN }
input Filter { name: String, color: Color, tags: [String!] }
scalar _Any
union _Entity = Item
type Query {
  search(filter: JSON, term: String, f: Filter): [Item]
  item(id: ID!): Item
  related(id: ID!, filter: JSON): [Item]
  details(itemIds: [ID!]!, fmt: String): [Detail]
  _entities(representations: [_Any!]!): [_Entity]!
}
type Mutation { act(input: JSON, note: String): Item }
type Item { id: ID! name: String related(filter: JSON): [Item] detail(fmt: String): Detail loyalty: Detail fixed: Item }
type Detail { itemId: ID! text: String }
`

// docConfig binds every field to source "up" in each mode: single (Query.search, Query.item, Mutation.act),
// aliased batch (Item.related), list-argument batch (Item.detail), federation entities (Item.loyalty), and a
// binding whose args are a config object around a client value (Item.fixed). %s is the source's extra keys.
const docConfig = `
schema: [public.graphqls]
sources:
  up:
    graphql: {endpoints: ["http://127.0.0.1:1/graphql"]%s}
bindings:
  Query.search:
    source: up
    field: search
    args: {filter: "{{args.filter}}", term: "{{args.term}}", f: "{{args.f}}"}
  Query.deep:
    source: up
    field: search
    args: {filter: "{{args.q.sub}}"}
  Query.item:
    source: up
    field: item
    args: {id: "{{args.id}}"}
  Mutation.act:
    source: up
    field: act
    args: {input: "{{args.input}}", note: "by {{headers.x-user}}"}
  Item.related:
    source: up
    field: related
    args: {id: "{{parent.id}}", filter: "{{args.filter}}"}
    batch: {key: "{{parent.id}}"}
  Item.detail:
    source: up
    field: details
    args: {itemIds: ["{{parent.id}}"]}
    batch: {key: "{{parent.id}}", args: {itemIds: "{{keys}}", fmt: "{{args.fmt}}"}, match: itemId}
  Item.loyalty:
    source: up
    field: loyalty
    batch: {key: "{{parent.id}}", entities: Item, match: id}
  Item.fixed:
    source: up
    field: search
    args: {filter: {name: "{{parent.name}}", by: ["{{parent.id}}", 1, true]}, term: "x-{{parent.name}}"}
`

// docGraph loads the document tests' configuration; with known, the source names the upstream SDL.
func docGraph(t testing.TB, known bool) (*schema.Supergraph, *Set) {
	t.Helper()
	extra := ""
	if known {
		extra = ", sdl: upstream.graphqls"
	}
	fsys := fstest.MapFS{
		"conflux.yaml":      {Data: []byte(fmt.Sprintf(docConfig, extra))},
		"public.graphqls":   {Data: []byte(docSDL)},
		"upstream.graphqls": {Data: []byte(docUpstreamSDL)},
	}
	data := fsys["conflux.yaml"].Data
	sg, err := schema.Parse("conflux.yaml", data, fsys)
	if err != nil {
		t.Fatal(err)
	}
	if known == (sg.Sources["up"].Upstream == nil) {
		t.Fatalf("known=%v but upstream schema is %v", known, sg.Sources["up"].Upstream)
	}
	set, err := New(sg, map[string]sources.Source{"up": &docSource{}})
	if err != nil {
		t.Fatal(err)
	}
	return sg, set
}

// docSource records the GraphQL requests it gets and answers {"data": {}} (or answer, when set).
type docSource struct {
	mu     sync.Mutex
	bodies [][]byte
	answer []byte
}

func (s *docSource) Name() string { return "up" }

func (s *docSource) Do(_ context.Context, req *sources.Request) (*sources.Response, error) {
	s.mu.Lock()
	s.bodies = append(s.bodies, req.Body)
	s.mu.Unlock()
	if s.answer != nil {
		return &sources.Response{Status: 200, Body: s.answer}, nil
	}
	return &sources.Response{Status: 200, Body: []byte(`{"data":{}}`)}, nil
}

// sent returns the last document s received and its variables.
func (s *docSource) sent(t testing.TB) (string, map[string]any) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.bodies) == 0 {
		t.Fatal("nothing was sent")
	}
	var body struct {
		Query     string         `json:"query"`
		Variables map[string]any `json:"variables"`
	}
	dec := json.NewDecoder(bytes.NewReader(s.bodies[len(s.bodies)-1]))
	dec.UseNumber()
	if err := dec.Decode(&body); err != nil {
		t.Fatalf("upstream body is not JSON: %v", err)
	}
	return body.Query, body.Variables
}
