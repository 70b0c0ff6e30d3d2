package graph_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/conflux-gql/conflux/graph"
	"github.com/conflux-gql/conflux/schema"
	"github.com/conflux-gql/conflux/sources"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

// FuzzForward: any valid client query against the Customer 360 schema plans, and every selection it forwards
// to the GraphQL support backend validates against that backend's schema (the planner checks it and refuses
// otherwise, so a refusal here is a rewriter bug).
func FuzzForward(f *testing.F) {
	sg, err := schema.Load("../examples/customer360/conflux.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, q := range []string{
		`{ customers { tickets { id } } }`,
		`{ customers { t: tickets { __typename ... on EmailTicket { fromAddress m: messages(last: 1) { text author { name } } } } } }`,
		`query($n: Int) { customer(id: 3) { tickets { ...F } } } fragment F on Ticket { subject messages(last: $n) { at } }`,
		`{ customers { tickets { ... on ChatTicket { transcriptUrl id } ... on Ticket { status } } } }`,
		`mutation { openTicket(input: {customerId: 1, subject: "x"}) { id ... on EmailTicket { messages { author { id } } } } }`,
		`{ customers(limit: 2) { a: tickets { id } b: tickets { subject } } }`,
	} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, q string) {
		doc, errs := gqlparser.LoadQuery(sg.Schema, q)
		if errs != nil || len(doc.Operations) != 1 {
			return
		}
		_, err := graph.NewPlan(sg, doc, doc.Operations[0], map[string]any{"n": 1})
		if err != nil && strings.Contains(err.Error(), "cannot be sent to source") {
			t.Fatalf("valid query %q forwards an invalid selection: %v", q, err)
		}
	})
}

const inlineSDL = `
scalar JSON
type Query { items: [Item] }
type Item { id: ID! name(fmt: String, opts: JSON, n: Int): String more: [Item] }
`

const inlineConfig = `
schema: [s.graphqls]
sources:
  up: {graphql: {endpoints: ["http://127.0.0.1:1/graphql"]}}
bindings:
  Query.items: {source: up, field: items}
  Item.more:
    source: up
    field: more
    args: {id: "{{parent.id}}"}
    batch: {key: "{{parent.id}}"}
`

// upstreamBodies decodes the GraphQL requests a fake source received (calls are "POST  <body>").
func upstreamBodies(t *testing.T, calls []string) []struct {
	Query     string
	Variables map[string]any
} {
	t.Helper()
	var out []struct {
		Query     string
		Variables map[string]any
	}
	for _, c := range calls {
		var body struct {
			Query     string
			Variables map[string]any
		}
		_, raw, _ := strings.Cut(c, "{")
		if err := json.Unmarshal([]byte("{"+raw), &body); err != nil {
			t.Fatalf("upstream body %q: %v", c, err)
		}
		out = append(out, body)
	}
	return out
}

// TestForward_InlineValuesAreVariables: the values a client writes inline in a forwarded selection reach the
// upstream as variables of the public argument's type (issue 13), also around client variables; fetches with
// different inline values do not share a batch.
func TestForward_InlineValuesAreVariables(t *testing.T) {
	up := &fakeSource{name: "up", do: func(_ context.Context, req *sources.Request) (any, error) {
		if strings.Contains(string(req.Body), "items") {
			return map[string]any{"data": map[string]any{"r": []any{map[string]any{"id": "1", "name": "n"}}}}, nil
		}
		return map[string]any{"data": map[string]any{"_0": []any{map[string]any{"name": "m"}}}}, nil
	}}
	e := newEngine(t, inlineSDL, inlineConfig, map[string]sources.Source{"up": up})
	q := `query($v: Int) { items { id name(fmt: "a\"}) { x } #", opts: {k: [1, $v], s: "}"}) a: more { name(fmt: "1") } b: more { name(fmt: "2") } } }`
	got := execute(t, e, q, map[string]any{"v": 5})
	if want := `{"data":{"items":[{"id":"1","name":"n","a":[{"name":"m"}],"b":[{"name":"m"}]}]}}`; got != want {
		t.Fatalf("answer %s, want %s", got, want)
	}
	bodies := upstreamBodies(t, up.Calls())
	if len(bodies) != 3 {
		t.Fatalf("%d upstream calls, want 3 (items, and one batch per inline value): %v", len(bodies), up.Calls())
	}
	if want := `query($_f1_0: String!, $_f1_1: JSON!) { r: items { id name(fmt: $_f1_0, opts: $_f1_1) } }`; bodies[0].Query != want {
		t.Errorf("items sent\n%s\nwant\n%s", bodies[0].Query, want)
	}
	wantVars := map[string]any{"_f1_0": `a"}) { x } #`, "_f1_1": map[string]any{"k": []any{1.0, 5.0}, "s": "}"}}
	if !reflect.DeepEqual(bodies[0].Variables, wantVars) {
		t.Errorf("items variables %v, want %v", bodies[0].Variables, wantVars)
	}
	fmts := map[any]bool{}
	for _, b := range bodies[1:] {
		for name, v := range b.Variables {
			if strings.HasPrefix(name, "_f") {
				fmts[v] = true
			}
		}
		if _, err := parser.ParseQuery(&ast.Source{Input: b.Query}); err != nil {
			t.Errorf("%s: %v", b.Query, err)
		}
	}
	if !fmts["1"] || !fmts["2"] {
		t.Errorf("batches sent inline values %v, want 1 and 2", fmts)
	}
}

// FuzzForward_InlineValues: whatever string a client writes inline, the forwarded selection is the same text
// and the value arrives in the hoisted variable exactly as the client's document spelled it.
func FuzzForward_InlineValues(f *testing.F) {
	for _, s := range []string{"x", `"}) { evil } #`, "\\u0022", "\x00\n\"\"\"", "\xff"} {
		f.Add(s)
	}
	sg, err := schema.Parse("conflux.yaml", []byte(inlineConfig), fstest.MapFS{"s.graphqls": {Data: []byte(inlineSDL)}})
	if err != nil {
		f.Fatal(err)
	}
	const want = "{ name(fmt: $_f1_0, opts: $_f1_1) }"
	f.Fuzz(func(t *testing.T, s string) {
		lit := (&ast.Value{Kind: ast.StringValue, Raw: s}).String()
		q := "{ items { name(fmt: " + lit + ", opts: {k: " + lit + "}) } }"
		doc, errs := gqlparser.LoadQuery(sg.Schema, q)
		if errs != nil {
			t.Skip() // not a string the client could have sent
		}
		parsed := doc.Operations[0].SelectionSet[0].(*ast.Field).SelectionSet[0].(*ast.Field).Arguments[0].Value.Raw
		p, err := graph.NewPlan(sg, doc, doc.Operations[0], nil)
		if err != nil {
			t.Fatal(err)
		}
		fw := p.Fetches[0].Forward
		if fw.Selection != want || len(fw.Literals) != 2 || len(fw.Variables) != 0 {
			t.Fatalf("forwarded %q with %d literals, want %q", fw.Selection, len(fw.Literals), want)
		}
		if fw.Literals[0].Value != parsed || fw.Literals[0].Type != "String!" {
			t.Fatalf("hoisted %q: %s, want %q", fw.Literals[0].Value, fw.Literals[0].Type, parsed)
		}
		if o, _ := fw.Literals[1].Value.(map[string]any); o["k"] != parsed {
			t.Fatalf("hoisted %v, want {k: %q}", fw.Literals[1].Value, parsed)
		}
	})
}

// TestForward_UpstreamErrorsCountAgainstResponseBytes: the upstream errors a batch answer does not place reach
// every parent, with the upstream's extensions; their size counts against server.maxResponseBytes, so an
// upstream's 10 errors of 100 KB each cannot make a response of parents × 1 MB. A request within the cap is
// answered in full.
func TestForward_UpstreamErrorsCountAgainstResponseBytes(t *testing.T) {
	blob := strings.Repeat("x", 100<<10)
	up := &fakeSource{name: "up", do: func(_ context.Context, req *sources.Request) (any, error) {
		if strings.Contains(string(req.Body), "items") {
			list := make([]any, 50)
			for i := range list {
				list[i] = map[string]any{"id": strings.Repeat("1", i+1)}
			}
			return map[string]any{"data": map[string]any{"r": list}}, nil
		}
		if strings.Contains(string(req.Body), "small") {
			return map[string]any{"data": map[string]any{}, "errors": []any{map[string]any{"message": "small"}}}, nil
		}
		errs := make([]any, 10)
		for i := range errs {
			errs[i] = map[string]any{"message": "e" + strings.Repeat("!", i), "extensions": map[string]any{"blob": blob}}
		}
		return map[string]any{"data": map[string]any{}, "errors": errs}, nil
	}}
	e := newEngine(t, inlineSDL, inlineConfig+"server: {maxResponseBytes: 1048576}\n", map[string]sources.Source{"up": up})
	resp := executeResp(t, e, `{ items { id more { id } } }`)
	if got := codes(resp); strings.Join(got, " ") != "-=RESPONSE_TOO_LARGE" || string(resp.Data) != "null" {
		t.Errorf("data = %.80s, %d errors: %q", resp.Data, len(got), got[:min(3, len(got))])
	}
	resp = executeResp(t, e, `{ items { id more { small: id } } }`)
	if len(resp.Errors) != 50 || resp.Errors[0].Message != "small" {
		t.Errorf("within the cap: %d errors, data %.80s", len(resp.Errors), resp.Data)
	}
}
