package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/conflux-gql/conflux/schema"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// injectionUpstreamSDL is a GraphQL upstream with a destructive mutation the public schema does not expose.
const injectionUpstreamSDL = `
scalar JSON
type Query { item(id: ID!): Item  search(filter: JSON): [Item] }
type Mutation { act(input: JSON): Item  wipe(all: JSON): Item }
type Item { id: ID! name: String }
`

const injectionPublicSDL = `
scalar JSON
type Query { item(id: ID!): Item  find(q: JSON): [Item] }
type Mutation { act(input: JSON): Item }
type Item { id: ID! name: String }
`

// injectionConfig names no sdl for the source, and the upstream refuses introspection: its schema is unknown
// (a warning at load), the case of issue 13.
const injectionConfig = `
schema: [public.graphqls]
sources:
  up:
    graphql: {endpoints: ["%s/graphql"]}
bindings:
  Query.item: {source: up, field: item, args: {id: "{{args.id}}"}}
  Query.find: {source: up, field: search, args: {filter: "{{args.q.where}}"}}
  Mutation.act: {source: up, field: act, args: {input: "{{args.input}}"}}
`

// recordingUpstream is a real GraphQL server over httptest: it refuses introspection, validates each document
// against injectionUpstreamSDL, records it, and runs it (wipe only counts that it ran).
type recordingUpstream struct {
	schema *ast.Schema
	mu     sync.Mutex
	docs   []recordedDoc
	wiped  int
}

type recordedDoc struct {
	Query     string         `json:"query"`
	Variables map[string]any `json:"variables"`
	roots     []string
}

func (u *recordingUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req recordedDoc
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if strings.Contains(req.Query, "__schema") {
		http.Error(w, "introspection is disabled", http.StatusForbidden)
		return
	}
	doc, errs := gqlparser.LoadQuery(u.schema, req.Query)
	u.mu.Lock()
	defer u.mu.Unlock()
	if errs != nil {
		u.docs = append(u.docs, req)
		json.NewEncoder(w).Encode(map[string]any{"errors": errs})
		return
	}
	data := map[string]any{}
	for _, op := range doc.Operations {
		for _, sel := range op.SelectionSet {
			f := sel.(*ast.Field)
			req.roots = append(req.roots, f.Name)
			args := f.ArgumentMap(req.Variables)
			switch f.Name {
			case "wipe":
				u.wiped++
				data[f.Alias] = map[string]any{"id": "w", "name": "wiped"}
			case "item":
				data[f.Alias] = map[string]any{"id": args["id"], "name": "item"}
			case "act":
				in, _ := json.Marshal(args["input"])
				data[f.Alias] = map[string]any{"id": "a1", "name": string(in)}
			case "search":
				in, _ := json.Marshal(args["filter"])
				data[f.Alias] = []any{map[string]any{"id": "s1", "name": string(in)}}
			}
		}
	}
	u.docs = append(u.docs, req)
	json.NewEncoder(w).Encode(map[string]any{"data": data})
}

func (u *recordingUpstream) take() []recordedDoc {
	u.mu.Lock()
	defer u.mu.Unlock()
	d := u.docs
	u.docs = nil
	return d
}

// TestGraphQL_InjectionThroughJSONVariable reproduces issue 13's injection: a JSON variable whose object keys
// spell GraphQL, sent to a mutation binding on an upstream whose schema Conflux does not know. The upstream
// receives one root field with the value intact as a variable; where a value is printed as a literal (inside a
// JSON value no type can be named for), strings are escaped and a key that is not a Name is BAD_USER_INPUT, with
// nothing sent. Another client's request still succeeds.
func TestGraphQL_InjectionThroughJSONVariable(t *testing.T) {
	up := &recordingUpstream{schema: gqlparser.MustLoadSchema(&ast.Source{Input: injectionUpstreamSDL})}
	backend := httptest.NewServer(up)
	t.Cleanup(backend.Close)
	dir := t.TempDir()
	for name, data := range map[string]string{
		"conflux.yaml":    strings.Replace(injectionConfig, "%s", backend.URL, 1),
		"public.graphqls": injectionPublicSDL,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sg, err := schema.Load(filepath.Join(dir, "conflux.yaml"), loadOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	if sg.Sources["up"].Upstream != nil {
		t.Fatal("the upstream schema is known; the test needs it unknown")
	}
	if !strings.Contains(warningsText(sg), "introspecting the upstream failed") {
		t.Fatalf("no introspection warning: %s", warningsText(sg))
	}
	up.take()
	env := serveSupergraph(t, sg, nil)

	const key = `x: 1}) { id } evil: wipe(all: {y`
	for _, tc := range []struct {
		name      string
		query     string
		vars      map[string]any
		wantCode  string // the error code when refused
		wantRoots []string
		wantValue string // the value the upstream field answers with (it echoes its argument)
	}{{
		name:      "JSON variable into a mutation",
		query:     `mutation($in: JSON) { act(input: $in) { id name } }`,
		vars:      map[string]any{"in": map[string]any{key: 1}},
		wantRoots: []string{"act"},
		wantValue: `{"x: 1}) { id } evil: wipe(all: {y":1}`,
	}, {
		name:      "JSON literal with the same key written inline",
		query:     `mutation { act(input: {x: "}) { id } evil: wipe(all: {y: 1}) { id } #"}) { id name } }`,
		wantRoots: []string{"act"},
		wantValue: `{"x":"}) { id } evil: wipe(all: {y: 1}) { id } #"}`,
	}, {
		name:      "string inside a value printed as a literal",
		query:     `query($q: JSON) { find(q: $q) { id name } }`,
		vars:      map[string]any{"q": map[string]any{"where": map[string]any{"k": `"}) { id } evil: wipe { id } #`}}},
		wantRoots: []string{"search"},
		wantValue: `{"k":"\"}) { id } evil: wipe { id } #"}`,
	}, {
		name:     "key that is not a Name inside a value printed as a literal",
		query:    `query($q: JSON) { find(q: $q) { id name } }`,
		vars:     map[string]any{"q": map[string]any{"where": map[string]any{key: 1}}},
		wantCode: "BAD_USER_INPUT",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			_, resp := env.post(tc.query, tc.vars)
			docs := up.take()
			if tc.wantCode != "" {
				errs, _ := resp["errors"].([]any)
				if len(errs) == 0 || errCode(errs[0]) != tc.wantCode {
					t.Fatalf("answer %v, want an error with code %s", resp, tc.wantCode)
				}
				if len(docs) != 0 {
					t.Fatalf("refused, yet the upstream received %v", docs)
				}
			} else {
				if len(docs) != 1 {
					t.Fatalf("the upstream received %d documents, want 1: %v", len(docs), docs)
				}
				if strings.Join(docs[0].roots, ",") != strings.Join(tc.wantRoots, ",") {
					t.Fatalf("the upstream ran root fields %v, want %v\n%s", docs[0].roots, tc.wantRoots, docs[0].Query)
				}
				b, _ := json.Marshal(resp)
				if want, _ := json.Marshal(tc.wantValue); !strings.Contains(string(b), `"name":`+string(want)) {
					t.Fatalf("answer %s, want the value %s intact", b, tc.wantValue)
				}
			}
			if up.wiped != 0 {
				t.Fatal("the upstream ran wipe")
			}
			// Another client's ordinary request still succeeds.
			_, normal := env.post(`{ item(id: "7") { id name } }`, nil)
			if b, _ := json.Marshal(normal); string(b) != `{"data":{"item":{"id":"7","name":"item"}}}` {
				t.Fatalf("normal request: %s", b)
			}
			up.take()
		})
	}
}

func warningsText(sg *schema.Supergraph) string {
	var b strings.Builder
	for _, w := range sg.Warnings {
		b.WriteString(w.String())
		b.WriteByte('\n')
	}
	return b.String()
}

func errCode(e any) string {
	m, _ := e.(map[string]any)
	ext, _ := m["extensions"].(map[string]any)
	code, _ := ext["code"].(string)
	return code
}
