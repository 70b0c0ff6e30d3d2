package resolvers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/conflux-gql/conflux/sources"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

func TestWriteLiteral(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   any
		want string // empty: refused
	}{
		{"null", nil, `null`},
		{"string with quote, backslash and newline", "a\"b\\c\nd", `"a\"b\\c\nd"`},
		{"control characters and DEL", "\x00\x01\x1f\x7f\t\r\b\f", `"\u0000\u0001\u001F\u007F\t\r\b\f"`},
		{"a closing brace and comment stay inside the string", `"}) { x } #`, `"\"}) { x } #"`},
		{"unicode kept, invalid UTF-8 replaced", "é\u2028\xff", `"é` + "\u2028" + `\uFFFD"`},
		{"numbers", []any{json.Number("-1.5e3"), 7, int64(-8), 2.5, true}, `[-1.5e3, 7, -8, 2.5, true]`},
		{"object keys sorted", map[string]any{"b": 1, "_a": []any{"x"}}, `{_a: ["x"], b: 1}`},
		{"nested", map[string]any{"o": map[string]any{"l": []any{map[string]any{"k": nil}}}}, `{o: {l: [{k: null}]}}`},
		{"other Go values through JSON", map[string]string{"k": "v"}, `{k: "v"}`},
		{"key that is not a Name", map[string]any{"a: 1}) { x } y: f(b": 1}, ""},
		{"key with a dollar", map[string]any{"$x": 1}, ""},
		{"empty key", map[string]any{"": 1}, ""},
		{"key starting with a digit", map[string]any{"1a": 1}, ""},
		{"nested bad key", []any{map[string]any{"ok": map[string]any{"no way": 1}}}, ""},
		{"not a number", json.Number("1 } x"), ""},
		{"number with exponent sign", json.Number("-0.5E+3"), `-0.5E+3`},
		{"empty number", json.Number(""), ""},
		{"lone minus", json.Number("-"), ""},
		{"leading zero", json.Number("01"), ""},
		{"bare decimal point", json.Number("1."), ""},
		{"bare exponent", json.Number("1e+"), ""},
		{"NaN", math.NaN(), ""},
		{"Inf", math.Inf(1), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			err := writeLiteral(&b, tc.in)
			if tc.want == "" {
				if !errors.Is(err, errLiteral) {
					t.Fatalf("got %s, %v; want a refusal", b.String(), err)
				}
				return
			}
			if err != nil || b.String() != tc.want {
				t.Fatalf("got %s, %v; want %s", b.String(), err, tc.want)
			}
			// The literal parses as one argument value equal to the input.
			doc, perr := parser.ParseQuery(&ast.Source{Input: "{ f(a: " + b.String() + ") }"})
			if perr != nil {
				t.Fatalf("%s does not parse: %v", b.String(), perr)
			}
			f := doc.Operations[0].SelectionSet[0].(*ast.Field)
			if g, w := normJSON(t, LiteralValue(f.Arguments[0].Value, nil)), normJSON(t, tc.in); !reflect.DeepEqual(g, w) {
				t.Fatalf("parses to %v, want %v", g, w)
			}
		})
	}
}

func TestVarType(t *testing.T) {
	typ := func(s string) *ast.Type {
		doc, err := parser.ParseQuery(&ast.Source{Input: "query($v: " + s + ") { f }"})
		if err != nil {
			t.Fatal(err)
		}
		return doc.Operations[0].VariableDefinitions[0].Type
	}
	for _, tc := range []struct {
		public string
		value  any
		want   string
	}{
		{"String", "x", "String!"},
		{"String!", "x", "String!"},
		{"JSON", map[string]any{"a": nil}, "JSON!"},
		{"[ID]", []any{"1", "2"}, "[ID!]!"},
		{"[ID]", []any{"1", nil}, "[ID]!"},
		{"[ID!]", []any{}, "[ID!]!"},
		{"[ID]", "1", "[ID!]!"}, // a single value is a list of one
		{"[[Int]]", []any{[]any{json.Number("1")}, []any{nil}}, "[[Int]!]!"},
		{"Filter", nil, "Filter"},
	} {
		if got := VarType(typ(tc.public), tc.value); got != tc.want {
			t.Errorf("VarType(%s, %v) = %s, want %s", tc.public, tc.value, got, tc.want)
		}
	}
}

// TestFetchGraphQL_UnknownUpstream pins the documents sent to an upstream whose schema is unknown: the issue's
// injection through a JSON argument is one variable, typed by the public schema; values no type can be named for
// are escaped literals; an object key that is not a Name there is refused before anything is sent.
func TestFetchGraphQL_UnknownUpstream(t *testing.T) {
	sg, set := docGraph(t, false)
	attack := map[string]any{"x: 1}) { id } evil: act(input: {y": 1}
	for _, tc := range []struct {
		name     string
		binding  [2]string
		vars     Vars
		wantDoc  string
		wantVars string
		wantErr  string
	}{{
		name:     "JSON argument of a mutation is a variable",
		binding:  [2]string{"Mutation", "act"},
		vars:     Vars{Args: map[string]any{"input": attack}},
		wantDoc:  `mutation($_r_input: JSON!) { r: act(input: $_r_input, note: "by ") { id } }`,
		wantVars: `{"_r_input":{"x: 1}) { id } evil: act(input: {y":1}}`,
	}, {
		name:     "header in a text template is an escaped literal",
		binding:  [2]string{"Mutation", "act"},
		vars:     Vars{Args: map[string]any{}, Headers: map[string][]string{"X-User": {`") { id } evil: act { id } #`}}},
		wantDoc:  `mutation { r: act(note: "by \") { id } evil: act { id } #") { id } }`,
		wantVars: `{}`,
	}, {
		name:     "input object, String and ID arguments are variables of their public types",
		binding:  [2]string{"Query", "search"},
		vars:     Vars{Args: map[string]any{"term": "t", "f": map[string]any{"color": "RED", "tags": []any{"a"}}}},
		wantDoc:  `query($_r_f: Filter!, $_r_term: String!) { r: search(f: $_r_f, term: $_r_term) { id } }`,
		wantVars: `{"_r_f":{"color":"RED","tags":["a"]},"_r_term":"t"}`,
	}, {
		name:     "inside a JSON value no type can be named: a literal",
		binding:  [2]string{"Query", "deep"},
		vars:     Vars{Args: map[string]any{"q": map[string]any{"sub": map[string]any{"k": []any{"}", json.Number("1")}}}}},
		wantDoc:  `query { r: search(filter: {k: ["}", 1]}) { id } }`,
		wantVars: `{}`,
	}, {
		name:    "inside a JSON value, a key that is not a Name is refused",
		binding: [2]string{"Query", "deep"},
		vars:    Vars{Args: map[string]any{"q": map[string]any{"sub": attack}}},
		wantErr: `Query.deep: value cannot be sent as a GraphQL literal: the object key "x: 1}) { id } evil: act(input: {"… is not a GraphQL name`,
	}, {
		name:     "configured object: structure printed, parent values as variables",
		binding:  [2]string{"Item", "fixed"},
		vars:     Vars{Parent: map[string]any{"id": "7", "name": `n"`}},
		wantDoc:  `query($_r_filter_name: String!, $_r_filter_by_0: ID!) { r: search(filter: {name: $_r_filter_name, by: [$_r_filter_by_0, 1, true]}, term: "x-n\"") { id } }`,
		wantVars: `{"_r_filter_by_0":"7","_r_filter_name":"n\""}`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			r := *set.For(sg.Binding(tc.binding[0], tc.binding[1]))
			src := &docSource{}
			r.Source = src
			_, err := r.FetchGraphQL(context.Background(), tc.vars, &Forward{Selection: "{ id }"}, nil)
			if tc.wantErr != "" {
				var ie *InputError
				if !errors.As(err, &ie) || err.Error() != tc.wantErr {
					t.Fatalf("error %v, want InputError %s", err, tc.wantErr)
				}
				if len(src.bodies) != 0 {
					t.Fatalf("refused, yet sent %s", src.bodies[0])
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			q, vars := src.sent(t)
			if q != tc.wantDoc || mustJSON(vars) != tc.wantVars {
				t.Fatalf("sent\n%s\n%s\nwant\n%s\n%s", q, mustJSON(vars), tc.wantDoc, tc.wantVars)
			}
		})
	}
}

// TestFetchGraphQL_VariableNames: variables the document makes step aside for the client's and the hoisted
// inline values' names, so that none is declared twice or takes another's value.
func TestFetchGraphQL_VariableNames(t *testing.T) {
	for _, known := range []bool{true, false} {
		sg, set := docGraph(t, known)
		r := *set.For(sg.Binding("Query", "search"))
		src := &docSource{}
		r.Source = src
		fw := &Forward{
			Selection: "{ related(filter: $_r_term) { id } a: related(filter: $__r_term) { id } detail(fmt: $_r_filter) { text } }",
			Variables: []ForwardVar{{Name: "_r_term", Type: "JSON"}, {Name: "__r_term", Type: "JSON"}},
			Literals:  []ForwardLiteral{{Name: "_r_filter", Type: "String!", Value: "lit"}},
		}
		_, err := r.FetchGraphQL(context.Background(), Vars{Args: map[string]any{"term": "binding", "filter": "f"}}, fw,
			map[string]any{"_r_term": "client", "__r_term": "client2"})
		if err != nil {
			t.Fatal(err)
		}
		q, vars := src.sent(t)
		want := `{"___r_term":"binding","__r_filter":"f","__r_term":"client2","_r_filter":"lit","_r_term":"client"}`
		if mustJSON(vars) != want {
			t.Errorf("known=%v: variables %s, want %s\n%s", known, mustJSON(vars), want, q)
		}
		if !strings.Contains(q, "search(filter: $__r_filter, term: $___r_term)") {
			t.Errorf("known=%v: %s", known, q)
		}
	}
}

// TestGraphQLBatch_UnplacedErrors: the errors a batch answer does not place reach every parent once each, the
// first maxUnplacedErrors distinct messages of them, and one more error counts the rest; an upstream answering
// thousands of distinct messages cannot make parents × thousands of errors, in any batching mode.
func TestGraphQLBatch_UnplacedErrors(t *testing.T) {
	answer := func(data string, messages ...string) []byte {
		var b strings.Builder
		b.WriteString(`{"data":` + data + `,"errors":[`)
		for i, m := range messages {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`{"message":"` + m + `"}`)
		}
		b.WriteString(`]}`)
		return []byte(b.String())
	}
	many := make([]string, 5000)
	for i := range many {
		many[i] = "error " + strconv.Itoa(i)
	}
	for _, tc := range []struct {
		field, data string
	}{
		{"loyalty", `{"_entities":[]}`},
		{"detail", `{"r":[]}`},
		{"related", `{}`},
	} {
		for _, known := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/known=%v", tc.field, known), func(t *testing.T) {
				sg, _ := docGraph(t, known)
				src := &docSource{}
				set, err := New(sg, map[string]sources.Source{"up": src})
				if err != nil {
					t.Fatal(err)
				}
				r := set.For(sg.Binding("Item", tc.field))
				keys := make([]Key, 50)
				for i := range keys {
					keys[i], _ = r.GraphQLKey(Vars{Parent: map[string]any{"id": strconv.Itoa(i)}})
				}
				fw := &Forward{Selection: "{ __typename }"}

				src.answer = answer(tc.data, "boom", "bang", "boom")
				out, err := r.graphqlBatch(context.Background(), Vars{}, fw, nil, keys)
				if err != nil {
					t.Fatal(err)
				}
				for i, o := range out {
					if len(o.Errors) != 2 || o.Errors[0].Message != "boom" || o.Errors[1].Message != "bang" {
						t.Fatalf("parent %d: %+v", i, o.Errors)
					}
				}

				src.answer = answer(tc.data, many...)
				out, err = r.graphqlBatch(context.Background(), Vars{}, fw, nil, keys)
				if err != nil {
					t.Fatal(err)
				}
				for i, o := range out {
					if len(o.Errors) != maxUnplacedErrors+1 || o.Errors[0].Message != "error 0" ||
						o.Errors[maxUnplacedErrors].Message != fmt.Sprintf("%d more upstream errors", len(many)-maxUnplacedErrors) {
						t.Fatalf("parent %d: %d errors, first %+v, last %+v", i, len(o.Errors), o.Errors[0], o.Errors[len(o.Errors)-1])
					}
				}
			})
		}
	}
}
