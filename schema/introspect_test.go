package schema_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql/introspection"
	"github.com/conflux-gql/conflux/examples/customer360/loyalty"
	"github.com/conflux-gql/conflux/examples/customer360/support"
	"github.com/conflux-gql/conflux/schema"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/formatter"
)

// introspect asks h the full introspection query, as the server's Introspector does.
func introspect(t *testing.T, h http.Handler) []byte {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	body, _ := json.Marshal(map[string]string{"query": introspection.Query})
	resp, err := http.Post(srv.URL+"/graphql", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	return answer
}

// format prints a schema's own types (not the built-in ones) in gqlparser's canonical SDL.
func format(t *testing.T, sdl ...string) string {
	t.Helper()
	var srcs []*ast.Source
	for i, s := range sdl {
		srcs = append(srcs, &ast.Source{Name: "s", Input: s, BuiltIn: i < len(sdl)-1})
	}
	s, err := gqlparser.LoadSchema(srcs...)
	if err != nil {
		t.Fatalf("%v\n%s", err, sdl[len(sdl)-1])
	}
	var b strings.Builder
	formatter.NewFormatter(&b, formatter.WithComments()).FormatSchema(s)
	return b.String()
}

// TestIntrospectionSDL introspects the example's support service (gqlgen) and prints its schema: the result is
// the same schema as the SDL file the example ships (upstream/support.graphqls), type by type.
func TestIntrospectionSDL(t *testing.T) {
	sdl, err := schema.IntrospectionSDL(introspect(t, support.NewHandler(nil)))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../examples/customer360/upstream/support.graphqls")
	if err != nil {
		t.Fatal(err)
	}
	got, wantSDL := format(t, sdl), format(t, string(want))
	if !strings.Contains(got, "ticketsByCustomers(customerIds: [ID!]!): [Ticket]!") {
		t.Errorf("the introspected schema lacks the support service's fields:\n%s", got)
	}
	if got != wantSDL {
		t.Errorf("introspected schema differs from the SDL file:\n--- introspected\n%s\n--- file\n%s", got, wantSDL)
	}
}

// TestIntrospectionSDL_federation: a federation subgraph's introspection (with _Any, _Entity, _service and its
// directives) prints SDL that loads.
func TestIntrospectionSDL_federation(t *testing.T) {
	sdl, err := schema.IntrospectionSDL(introspect(t, loyalty.NewHandler()))
	if err != nil {
		t.Fatal(err)
	}
	got := format(t, sdl)
	for _, want := range []string{"_entities(representations: [_Any!]!): [_Entity]!", "union _Entity = Customer", "loyalty: Loyalty"} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in\n%s", want, got)
		}
	}
}

// TestIntrospectionSDL_bad: answers that are not an introspection result are errors, not empty schemas.
func TestIntrospectionSDL_bad(t *testing.T) {
	for _, answer := range []string{`not json`, `{"errors":[{"message":"introspection is disabled"}]}`, `{"data":{}}`,
		`{"data":{"__schema":{"queryType":{"name":"Query"},"types":[{"kind":"WHAT","name":"X"}]}}}`} {
		if _, err := schema.IntrospectionSDL([]byte(answer)); err == nil {
			t.Errorf("%s: no error", answer)
		}
	}
}

// FuzzIntrospectionSDL feeds arbitrary upstream answers to IntrospectionSDL: it returns SDL or an error, and never
// panics (an upstream is outside input).
func FuzzIntrospectionSDL(f *testing.F) {
	f.Add([]byte(`{"data":{"__schema":{"queryType":{"name":"Query"},"types":[{"kind":"OBJECT","name":"Query","fields":[{"name":"a","args":[{"name":"x","type":{"kind":"NON_NULL","ofType":{"kind":"LIST","ofType":{"kind":"SCALAR","name":"Int"}}},"defaultValue":"[1]"}],"type":{"kind":"SCALAR","name":"String"},"isDeprecated":true,"deprecationReason":"old"}]}],"directives":[{"name":"d","locations":["FIELD"],"args":[]}]}}}`))
	f.Add([]byte(`{"data":{"__schema":{"types":[{"kind":"UNION","name":"U","possibleTypes":[{"kind":"OBJECT","name":"A"}]},{"kind":"INPUT_OBJECT","name":"I","inputFields":[{"name":"f","type":{"kind":"NON_NULL"}}]}]}}}`))
	f.Add([]byte(`{"errors":[{"message":"no"}]}`))
	f.Fuzz(func(t *testing.T, answer []byte) {
		_, _ = schema.IntrospectionSDL(answer)
	})
}
