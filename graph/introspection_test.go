package graph_test

import (
	"encoding/json"
	"reflect"
	"testing"
)

// introSDL has one type of every kind, interfaces that implement interfaces, implementations and union members
// declared out of alphabetical order, and default values and deprecations of every shape.
const introSDL = `
directive @tag(name: String!) repeatable on FIELD_DEFINITION | OBJECT
scalar DateTime @specifiedBy(url: "https://datatracker.ietf.org/doc/html/rfc3339")
scalar JSON
interface Node { id: ID! }
interface Named implements Node { id: ID! name: String }
type Zebra implements Named & Node @tag(name: "z") { id: ID! name: String stripes: Int @deprecated }
type Mango implements Node { id: ID! ripe: Boolean @deprecated(reason: "use ripeness") }
type Apple implements Named & Node { id: ID! name: String }
union Thing = Zebra | Apple | Mango
enum Kind { B A @deprecated C @deprecated(reason: "gone") }
input Pick @oneOf { byId: ID byName: String }
input Inner { a: Int = 1 b: Int c: [Int] = [1, 2] }
type Query {
  node(id: ID!): Node
  thing: Thing
  kind: Kind
  at: DateTime
  defaults(
    int: Int = 10
    float: Float = 1.0
    floatInt: Float = 3
    big: Float = 1e25
    small: Float = 0.0000001
    third: Float = 0.333
    negative: Float = -2.50
    one: [String] = "x"
    nested: [[Kind!]] = [[A, B], C]
    idInt: ID = "42"
    idLit: ID = 7
    idStr: ID = "abc"
    enum: Kind = A
    object: Inner = {b: 2}
    objectEmpty: Inner = {}
    text: String = "quote\" back\\slash \u0001 \u007f tab\t nl\n é"
    block: String = """
      two
        lines
    """
    nothing: String = null
    date: DateTime = "2020-01-01"
    json: JSON = {a: [1, "x", 2.50], b: ENUMLIKE}
    jsonNum: JSON = 12.50
    none: Int
  ): String
  old(keep: Int, gone: Int @deprecated, why: Int @deprecated(reason: "use keep")): Int
  pick(p: Pick): Int
}
`

const introConfig = "schema: [s.graphqls]\n"

// decode unmarshals a response into plain values for comparison.
func decode(t *testing.T, raw string) map[string]any {
	t.Helper()
	var out map[string]any
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		t.Fatalf("not JSON: %v: %s", err, raw)
	}
	if out["errors"] != nil {
		t.Fatalf("errors: %s", raw)
	}
	return out["data"].(map[string]any)
}

// TestEngine_IntrospectionNullsByKind pins __Type's fields that apply only to some kinds (the spec's "The __Type Type"): null on
// every other kind, a list (possibly empty) on the kinds they apply to.
func TestEngine_IntrospectionNullsByKind(t *testing.T) {
	e := newEngine(t, introSDL, introConfig, nil)
	const query = `query($n: String!) { __type(name: $n) {
		kind name
		fields(includeDeprecated: true) { name }
		interfaces { name }
		possibleTypes { name }
		enumValues(includeDeprecated: true) { name }
		inputFields { name }
		isOneOf specifiedByURL
		ofType { name }
	} }`
	// list marks the fields that must be lists on this kind; the others must be null.
	tests := []struct {
		name, kind string
		list       []string
		isOneOf    any
		specified  any
	}{
		{name: "Int", kind: "SCALAR"},
		{name: "DateTime", kind: "SCALAR", specified: "https://datatracker.ietf.org/doc/html/rfc3339"},
		{name: "Zebra", kind: "OBJECT", list: []string{"fields", "interfaces"}},
		{name: "Query", kind: "OBJECT", list: []string{"fields", "interfaces"}},
		{name: "Node", kind: "INTERFACE", list: []string{"fields", "interfaces", "possibleTypes"}},
		{name: "Named", kind: "INTERFACE", list: []string{"fields", "interfaces", "possibleTypes"}},
		{name: "Thing", kind: "UNION", list: []string{"possibleTypes"}},
		{name: "Kind", kind: "ENUM", list: []string{"enumValues"}},
		{name: "__TypeKind", kind: "ENUM", list: []string{"enumValues"}},
		{name: "Inner", kind: "INPUT_OBJECT", list: []string{"inputFields"}, isOneOf: false},
		{name: "Pick", kind: "INPUT_OBJECT", list: []string{"inputFields"}, isOneOf: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			typ := decode(t, execute(t, e, query, map[string]any{"n": tt.name}))["__type"].(map[string]any)
			if typ["kind"] != tt.kind || typ["name"] != tt.name {
				t.Fatalf("kind %v name %v, want %s %s", typ["kind"], typ["name"], tt.kind, tt.name)
			}
			for _, f := range []string{"fields", "interfaces", "possibleTypes", "enumValues", "inputFields"} {
				_, isList := typ[f].([]any)
				if want := contains(tt.list, f); isList != want {
					t.Errorf("%s: %v, want a list: %v", f, typ[f], want)
				}
			}
			if typ["isOneOf"] != tt.isOneOf {
				t.Errorf("isOneOf: %v, want %v", typ["isOneOf"], tt.isOneOf)
			}
			if typ["specifiedByURL"] != tt.specified {
				t.Errorf("specifiedByURL: %v, want %v", typ["specifiedByURL"], tt.specified)
			}
			if typ["ofType"] != nil {
				t.Errorf("ofType of a named type: %v, want null", typ["ofType"])
			}
		})
	}

	t.Run("wrappers", func(t *testing.T) {
		// Query.defaults(nested: [[Kind!]]): LIST of LIST of NON_NULL of Kind. A wrapper has kind and ofType only.
		const q = `{ __type(name: "Query") { fields { name args { name type { ...W ofType { ...W ofType { ...W ofType { kind name } } } } } } } }
			fragment W on __Type { kind name description fields { name } interfaces { name } possibleTypes { name }
				enumValues { name } inputFields { name } isOneOf specifiedByURL }`
		data := decode(t, execute(t, e, q, nil))
		var nested map[string]any
		for _, f := range data["__type"].(map[string]any)["fields"].([]any) {
			for _, a := range f.(map[string]any)["args"].([]any) {
				if a.(map[string]any)["name"] == "nested" {
					nested = a.(map[string]any)["type"].(map[string]any)
				}
			}
		}
		if nested == nil {
			t.Fatal("no nested argument")
		}
		typ := nested
		for _, kind := range []string{"LIST", "LIST", "NON_NULL"} {
			if typ["kind"] != kind {
				t.Fatalf("kind %v, want %s", typ["kind"], kind)
			}
			for k, v := range typ {
				if k != "kind" && k != "ofType" && v != nil {
					t.Errorf("%s.%s = %v, want null", kind, k, v)
				}
			}
			typ = typ["ofType"].(map[string]any)
		}
		if typ["kind"] != "ENUM" || typ["name"] != "Kind" {
			t.Errorf("innermost type %v, want ENUM Kind", typ)
		}
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestEngine_IntrospectionOrder pins the orders graphql-js keeps when it rebuilds a schema from introspection:
// types by name, an interface's possible types (objects only) in that same order, a union's members as declared,
// and the directives Conflux implements (@defer and @stream included, issue 17), with the SDL's own.
func TestEngine_IntrospectionOrder(t *testing.T) {
	e := newEngine(t, introSDL, introConfig, nil)
	data := decode(t, execute(t, e, `{
		__schema { types { name } directives { name isRepeatable locations } }
		node: __type(name: "Node") { possibleTypes { name } }
		named: __type(name: "Named") { possibleTypes { name } interfaces { name } }
		zebra: __type(name: "Zebra") { interfaces { name } }
		thing: __type(name: "Thing") { possibleTypes { name } }
	}`, nil))
	names := func(v any) []string {
		var out []string
		for _, x := range v.([]any) {
			out = append(out, x.(map[string]any)["name"].(string))
		}
		return out
	}
	schema := data["__schema"].(map[string]any)
	types := names(schema["types"])
	for i := 1; i < len(types); i++ {
		if types[i-1] >= types[i] {
			t.Fatalf("types not sorted by name: %q before %q", types[i-1], types[i])
		}
	}
	for _, tt := range []struct {
		what string
		got  any
		want []string
	}{
		{"Node.possibleTypes", data["node"].(map[string]any)["possibleTypes"], []string{"Apple", "Mango", "Zebra"}},
		{"Named.possibleTypes", data["named"].(map[string]any)["possibleTypes"], []string{"Apple", "Zebra"}},
		{"Named.interfaces", data["named"].(map[string]any)["interfaces"], []string{"Node"}},
		{"Zebra.interfaces", data["zebra"].(map[string]any)["interfaces"], []string{"Named", "Node"}},
		{"Thing.possibleTypes", data["thing"].(map[string]any)["possibleTypes"], []string{"Zebra", "Apple", "Mango"}},
		{"directives", schema["directives"], []string{"defer", "deprecated", "include", "oneOf", "skip", "specifiedBy", "stream", "tag"}},
	} {
		if got := names(tt.got); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %q, want %q", tt.what, got, tt.want)
		}
	}
	for _, d := range schema["directives"].([]any) {
		if d := d.(map[string]any); d["name"] == "tag" && d["isRepeatable"] != true {
			t.Errorf("@tag: isRepeatable %v, want true", d["isRepeatable"])
		}
	}
}

// TestEngine_IntrospectionDefaultValues pins defaultValue as graphql-js prints a default after reading it back
// (print(astFromValue(valueFromAST(v)))): testdata/js/reintrospect.js checks the same against graphql-js itself.
func TestEngine_IntrospectionDefaultValues(t *testing.T) {
	e := newEngine(t, introSDL, introConfig, nil)
	data := decode(t, execute(t, e, `{ __type(name: "Query") { fields { name args { name defaultValue } } } }`, nil))
	got := map[string]any{}
	for _, f := range data["__type"].(map[string]any)["fields"].([]any) {
		if f.(map[string]any)["name"] != "defaults" {
			continue
		}
		for _, a := range f.(map[string]any)["args"].([]any) {
			a := a.(map[string]any)
			got[a["name"].(string)] = a["defaultValue"]
		}
	}
	tests := []struct {
		arg  string
		want any
	}{
		{"int", "10"},
		{"float", "1"},                        // a whole Float prints as an Int literal
		{"floatInt", "3"},                     // an Int literal for a Float
		{"big", "1e+25"},                      // JavaScript's Number#toString
		{"small", "1e-7"},                     // below 1e-6: exponent
		{"third", "0.333"},                    //
		{"negative", "-2.5"},                  // shortest digits
		{"one", `["x"]`},                      // a single value for a list becomes a list
		{"nested", "[[A, B], [C]]"},           // at every level
		{"idInt", "42"},                       // an integer-string ID prints as an Int literal
		{"idLit", "7"},                        //
		{"idStr", `"abc"`},                    //
		{"enum", "A"},                         //
		{"object", "{a: 1, b: 2, c: [1, 2]}"}, // declaration order, with the defaults of the fields left out
		{"objectEmpty", "{a: 1, c: [1, 2]}"},  //
		{"text", `"quote\" back\\slash \u0001 \u007F tab\t nl\n é"`},
		{"block", `"two\n  lines"`},                   // a block string as a plain one
		{"nothing", "null"},                           // an explicit null default
		{"date", `"2020-01-01"`},                      // a custom scalar: its literal
		{"json", `{a: [1, "x", 2.5], b: "ENUMLIKE"}`}, // read untyped, as graphql-js does
		{"jsonNum", "12.5"},                           //
		{"none", nil},                                 // no default: null
	}
	for _, tt := range tests {
		if g, ok := got[tt.arg]; !ok || g != tt.want {
			t.Errorf("%s: defaultValue %#v, want %#v", tt.arg, g, tt.want)
		}
	}
}

// TestEngine_IntrospectionDeprecation pins deprecations: a deprecated element always has a reason (the spec's
// default when the SDL gives none, since graphql-js derives isDeprecated from it), and includeDeprecated: false
// leaves them out.
func TestEngine_IntrospectionDeprecation(t *testing.T) {
	e := newEngine(t, introSDL, introConfig, nil)
	data := decode(t, execute(t, e, `{
		kind: __type(name: "Kind") { all: enumValues(includeDeprecated: true) { name isDeprecated deprecationReason } current: enumValues { name } }
		zebra: __type(name: "Zebra") { all: fields(includeDeprecated: true) { name isDeprecated deprecationReason } current: fields { name } }
		query: __type(name: "Query") { fields { name all: args(includeDeprecated: true) { name isDeprecated deprecationReason } current: args { name } } }
	}`, nil))
	type item = map[string]any
	find := func(list any, name string) item {
		for _, x := range list.([]any) {
			if x.(item)["name"] == name {
				return x.(item)
			}
		}
		t.Fatalf("%s missing from %v", name, list)
		return nil
	}
	var old item
	for _, f := range data["query"].(item)["fields"].([]any) {
		if f.(item)["name"] == "old" {
			old = f.(item)
		}
	}
	tests := []struct {
		what     string
		all      any
		current  any
		name     string
		reason   any
		isHidden bool
	}{
		{"enum value, no reason", data["kind"].(item)["all"], data["kind"].(item)["current"], "A", "No longer supported", true},
		{"enum value, reason", data["kind"].(item)["all"], data["kind"].(item)["current"], "C", "gone", true},
		{"enum value", data["kind"].(item)["all"], data["kind"].(item)["current"], "B", nil, false},
		{"field, no reason", data["zebra"].(item)["all"], data["zebra"].(item)["current"], "stripes", "No longer supported", true},
		{"field", data["zebra"].(item)["all"], data["zebra"].(item)["current"], "name", nil, false},
		{"argument, no reason", old["all"], old["current"], "gone", "No longer supported", true},
		{"argument, reason", old["all"], old["current"], "why", "use keep", true},
		{"argument", old["all"], old["current"], "keep", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.what, func(t *testing.T) {
			x := find(tt.all, tt.name)
			if x["isDeprecated"] != (tt.reason != nil) || x["deprecationReason"] != tt.reason {
				t.Errorf("isDeprecated %v deprecationReason %#v, want %v %#v", x["isDeprecated"], x["deprecationReason"], tt.reason != nil, tt.reason)
			}
			shown := false
			for _, c := range tt.current.([]any) {
				shown = shown || c.(item)["name"] == tt.name
			}
			if shown == tt.isHidden {
				t.Errorf("listed without includeDeprecated: %v, want %v", shown, !tt.isHidden)
			}
		})
	}
}
