package resolvers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/conflux-gql/conflux/schema"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/formatter"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
)

// docCase is one way a document is built: call sends it through r for the hostile (or benign) value, and
// returns, by root field response key, the argument values the upstream must receive.
type docCase struct {
	name    string
	binding string
	call    func(t *testing.T, r *Resolver, in docInput) (sent, error)
}

// sent is what the upstream must receive: the argument values by root field response key, and the variables
// that carry the client's own variables and inline values.
type sent struct {
	args map[string]map[string]any
	vars map[string]any
}

// docInput is what a client controls: argument values, a header, and (through the backends it writes to)
// parent fields.
type docInput struct {
	str  string // a string value
	json any    // an arbitrary JSON value (for JSON-typed arguments)
}

func (in docInput) vars() Vars {
	return Vars{
		Args: map[string]any{
			"filter": in.json, "term": in.str, "input": in.json, "fmt": in.str, "id": in.str,
			"f": map[string]any{"name": in.str, "color": "RED", "tags": []any{in.str, "t"}},
			"q": map[string]any{"sub": in.json},
		},
		Headers: http.Header{"X-User": {in.str}},
	}
}

// docForward is the client's selection under an Item root field: a client variable whose name is the one the
// binding's argument variable would get (_r_filter), and an inline client value hoisted into a variable.
func docForward(in docInput, item bool) (*Forward, map[string]any, map[string]any) {
	if !item {
		return &Forward{Selection: "{ itemId text }"}, nil, map[string]any{}
	}
	fw := &Forward{
		Selection: "{ id related(filter: $_r_filter) { id } detail(fmt: $_f1_0) { text } }",
		Variables: []ForwardVar{{Name: "_r_filter", Type: "JSON"}},
		Literals:  []ForwardLiteral{{Name: "_f1_0", Type: VarType(ast.NamedType("String", nil), in.str), Value: in.str}},
	}
	cv := map[string]any{"_r_filter": in.json}
	return fw, cv, map[string]any{"_r_filter": in.json, "_f1_0": in.str}
}

func single(item bool) func(t *testing.T, r *Resolver, in docInput) (sent, error) {
	return func(t *testing.T, r *Resolver, in docInput) (sent, error) {
		vs := in.vars()
		vs.Parent = map[string]any{"id": in.str, "name": in.str}
		fw, cv, want := docForward(in, item)
		_, err := r.FetchGraphQL(context.Background(), vs, fw, cv)
		return sent{args: map[string]map[string]any{rootAlias: r.renderArgs(r.Binding.Args, &vs)}, vars: want}, err
	}
}

func batch(item bool) func(t *testing.T, r *Resolver, in docInput) (sent, error) {
	return func(t *testing.T, r *Resolver, in docInput) (sent, error) {
		vs := in.vars()
		var keys []Key
		for _, id := range []any{in.str, in.str + "x"} { // two keys, always distinct
			pv := vs
			pv.Parent = map[string]any{"id": id}
			k, ok := r.GraphQLKey(pv)
			if !ok {
				t.Fatalf("no key for %v", id)
			}
			keys = append(keys, k)
		}
		fw, cv, wantVars := docForward(in, item)
		_, err := r.graphqlBatch(context.Background(), vs, fw, cv, keys)
		want := map[string]map[string]any{}
		bt := r.Binding.Batch
		switch {
		case bt.Entities != "":
			var reps []any
			for _, k := range keys {
				reps = append(reps, map[string]any{"__typename": bt.Entities, "id": k.Value})
			}
			want["_entities"] = map[string]any{"representations": reps}
		case bt.KeysInArgs():
			kv := vs
			for _, k := range keys {
				kv.Keys = append(kv.Keys, k.Value)
			}
			want[rootAlias] = r.renderArgs(bt.Args, &kv)
		default:
			for i, k := range keys {
				want[fmt.Sprint("_", i)] = k.Value.(map[string]any)
			}
		}
		return sent{args: want, vars: wantVars}, err
	}
}

var docCases = []docCase{
	{"single JSON and String args", "Query.search", single(true)},
	{"single ID arg", "Query.item", single(true)},
	{"single value of a type that cannot be named", "Query.deep", single(true)},
	{"mutation with a header in a text template", "Mutation.act", single(true)},
	{"configured object around parent values", "Item.fixed", single(true)},
	{"aliased batch", "Item.related", batch(true)},
	{"list-argument batch", "Item.detail", batch(false)},
	{"federation entities", "Item.loyalty", batch(false)},
}

// FuzzGraphQLDocument feeds arbitrary values through the building of upstream documents in every mode, with the
// upstream schema known and unknown. Whatever the value, the document parses, has one operation and no
// fragments, validates against the upstream schema with its variables, has the same root fields and
// selections as for a benign value, and carries the value intact: the arguments evaluated from the document and
// its variables equal the ones the binding rendered. The only other outcome allowed is a refusal with
// BAD_USER_INPUT (an object key that is not a Name, in a value sent as a literal), and then nothing is sent.
func FuzzGraphQLDocument(f *testing.F) {
	for _, seed := range []struct{ s, j string }{
		{"plain", `{"a":1}`},
		{`x: 1}) { id } evil: act(input: {y`, `{"x: 1}) { id } evil: act(input: {y": 1}`},
		{`"}) { __typename } mutation M { act }#`, `["\"}) { x }", {"k": [null, true, 1.5e300]}]`},
		{`\u0022 \" \\ """ block """`, `"\u0000\u001f\u007f\u2028"`},
		{"#comment\n} fragment F on Item { id }", `{"__typename": "Item", "a b": "c", "$x": 1}`},
		{"... F @skip(if: true)", `{"nested": {"deeper": [{"k": "}"}]}}`},
		{"\xff\xfe invalid utf-8 \xc3", `12345678901234567890123`},
		{"", `null`},
		{"1", `-0.0e-0`},
	} {
		f.Add(seed.s, seed.j)
	}
	knownSG, knownSet := docGraph(f, true)
	unknownSG, unknownSet := docGraph(f, false)
	up := knownSG.Sources["up"].Upstream
	benign := docInput{str: "b", json: map[string]any{"b": "b"}}
	f.Fuzz(func(t *testing.T, s, j string) {
		in := docInput{str: s, json: s}
		if v, err := decodeJSON([]byte(j)); err == nil {
			in.json = v
		}
		for _, g := range []struct {
			sg  *schema.Supergraph
			set *Set
		}{{knownSG, knownSet}, {unknownSG, unknownSet}} {
			for _, c := range docCases {
				typ, field, _ := strings.Cut(c.binding, ".")
				r := *g.set.For(g.sg.Binding(typ, field))
				src := &docSource{}
				r.Source = src
				if _, err := c.call(t, &r, benign); err != nil {
					t.Fatalf("%s: benign value: %v", c.name, err)
				}
				benignDoc, _ := src.sent(t)
				src.bodies = nil
				want, err := c.call(t, &r, in)
				if err != nil {
					var ie *InputError
					if !errors.As(err, &ie) {
						t.Fatalf("%s (known=%v): %v", c.name, r.upstream != nil, err)
					}
					if len(src.bodies) > 0 {
						t.Fatalf("%s: refused with %v, but sent %s", c.name, err, src.bodies[0])
					}
					continue
				}
				q, vars := src.sent(t)
				checkDoc(t, c.name, up, q, vars, benignDoc, want)
			}
		}
	})
}

// checkDoc asserts what FuzzGraphQLDocument promises of one document q with variables vars.
func checkDoc(t *testing.T, name string, up *ast.Schema, q string, vars map[string]any, benign string, want sent) {
	t.Helper()
	doc, err := parser.ParseQuery(&ast.Source{Input: q})
	if err != nil {
		t.Fatalf("%s: the document does not parse: %v\n%s", name, err, q)
	}
	if len(doc.Operations) != 1 || len(doc.Fragments) != 0 {
		t.Fatalf("%s: %d operations and %d fragments, want 1 and 0:\n%s", name, len(doc.Operations), len(doc.Fragments), q)
	}
	if errs := validator.Validate(up, doc); len(errs) > 0 {
		t.Fatalf("%s: the document is not valid upstream: %v\n%s", name, errs, q)
	}
	op := doc.Operations[0]
	if _, err := validator.VariableValues(up, op, vars); err != nil {
		t.Fatalf("%s: the variables do not fit: %v\n%s\n%v", name, err, q, vars)
	}
	got := map[string]map[string]any{}
	for _, sel := range op.SelectionSet {
		fld, ok := sel.(*ast.Field)
		if !ok {
			t.Fatalf("%s: a root selection is not a field:\n%s", name, q)
		}
		args := map[string]any{}
		for _, a := range fld.Arguments {
			args[a.Name] = LiteralValue(a.Value, vars)
		}
		got[fld.Alias] = args
	}
	if g, w := normJSON(t, got), normJSON(t, want.args); !reflect.DeepEqual(g, w) {
		t.Fatalf("%s: the upstream receives arguments\n%s\nwant\n%s\ndocument: %s", name, mustJSON(g), mustJSON(w), q)
	}
	// Client variables and hoisted inline values arrive as they were given.
	for n, w := range want.vars {
		if g, w := normJSON(t, vars[n]), normJSON(t, w); !reflect.DeepEqual(g, w) {
			t.Fatalf("%s: variable $%s is %s, want %s", name, n, mustJSON(g), mustJSON(w))
		}
	}
	if shape(t, q) != shape(t, benign) {
		t.Fatalf("%s: the document's shape changed with the value:\n%s\nbenign:\n%s", name, shape(t, q), shape(t, benign))
	}
}

// shape prints a document's operation type, root fields and selections, without arguments or variables.
func shape(t *testing.T, q string) string {
	doc, err := parser.ParseQuery(&ast.Source{Input: q})
	if err != nil {
		t.Fatal(err)
	}
	op := doc.Operations[0]
	op.VariableDefinitions = nil
	for _, sel := range op.SelectionSet {
		sel.(*ast.Field).Arguments = nil
	}
	var b bytes.Buffer
	formatter.NewFormatter(&b).FormatQueryDocument(doc)
	return b.String()
}

// normJSON is v as encoding/json carries it: invalid UTF-8 replaced, numbers as float64.
func normJSON(t *testing.T, v any) any {
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
