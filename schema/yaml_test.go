package schema_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/conflux-gql/conflux/schema"
)

// TestParse_YAMLMistakes: the commonest YAML mistakes are reported at the line and column of the mistake, with
// a hint (issue 16): the parser itself names only a line, for an unclosed flow mapping the line it began on.
func TestParse_YAMLMistakes(t *testing.T) {
	const head = "schema: [s.graphqls]\nsources:\n  crm:\n    http: {endpoints: [http://127.0.0.1:1]}\nbindings:\n  Query.a:\n    source: crm\n"
	tests := []struct {
		name, yaml, want string
	}{
		{"unquoted template in a flow mapping", head + "    batch: {key: \"{{parent.id}}\",\n       path: /c/{{keys}}}\n",
			`conflux.yaml:9:17: YAML syntax error: did not find expected ',' or '}': quote a value with a {{…}} template`},
		{"a whole value that is a template", head + "    path: {{args.id}}\n",
			`conflux.yaml:8:11: bindings.Query.a.path: expected a string, got a mapping: quote the {{…}} template`},
		{"a key indented off its mapping", head + "     path: /x\n",
			`conflux.yaml:8:6: YAML syntax error: mapping values are not allowed in this context: check this line's indentation`},
		{"a tab in the indentation", "schema: [s.graphqls]\nsources:\n\tcrm:\n    http: {endpoints: [http://x]}\n",
			`conflux.yaml:3:1: YAML syntax error: found character that cannot start any token: indent with spaces`},
		{"a quoted template is fine; the next unquoted one is reported", head + "    path: \"/a/{{args.id}}\" # {{not this}}\n    query: {a: {{args.id}}}\n",
			`conflux.yaml:9:16: bindings.Query.a.query.a: expected a string, number or list of them, got a mapping: quote the {{…}} template`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := schema.Parse("conflux.yaml", []byte(tc.yaml), fstest.MapFS{"s.graphqls": {Data: []byte("type Query { a(id: ID): Int }")}})
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error:\n%v\nwant it to contain:\n%s", err, tc.want)
			}
		})
	}
}

// TestParse_CacheNeedsAFetch: `cache` on a binding that calls no source is an error; on a graphql source's, a
// warning (its answers are not cached).
func TestParse_CacheNeedsAFetch(t *testing.T) {
	const sdl = "type Query { a: Int b: Int }"
	_, err := schema.Parse("conflux.yaml", []byte("schema: [s.graphqls]\nbindings:\n  Query.a: {value: 1, cache: {ttl: 1s}}\n"),
		fstest.MapFS{"s.graphqls": {Data: []byte(sdl)}})
	if err == nil || !strings.Contains(err.Error(), "and cache need a `source:`") {
		t.Errorf("cache without a source: %v", err)
	}
	sg, err := schema.Parse("conflux.yaml", []byte("schema: [s.graphqls]\nsources:\n  up: {graphql: {endpoints: [http://127.0.0.1:1/graphql]}}\n"+
		"bindings:\n  Query.a: {source: up, field: a, cache: {ttl: 1s}}\n  Query.b: {value: 2}\n"),
		fstest.MapFS{"s.graphqls": {Data: []byte(sdl)}})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, w := range sg.Warnings {
		found = found || strings.Contains(w.String(), "answers of graphql sources are not cached")
	}
	if !found {
		t.Errorf("no warning for cache on a graphql source: %v", sg.Warnings)
	}
}
