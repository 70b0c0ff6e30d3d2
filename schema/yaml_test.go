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
