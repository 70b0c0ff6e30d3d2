package loyalty_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/conflux-gql/conflux/examples/customer360/loyalty"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// post sends one GraphQL request and returns the status and the compacted body.
func post(t *testing.T, srv *httptest.Server, query string, variables map[string]any) (int, string) {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": variables})
	if err != nil {
		t.Fatal(err)
	}
	res, err := srv.Client().Post(srv.URL+"/graphql", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, compact(t, string(b))
}

func compact(t *testing.T, s string) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(s)); err != nil {
		t.Fatalf("not JSON: %v: %s", err, s)
	}
	return buf.String()
}

func TestNewHandler(t *testing.T) {
	const entities = `query($representations: [_Any!]!) {
		_entities(representations: $representations) { __typename ... on Customer { id loyalty { points tier } } }
	}`
	reps := func(ids ...string) map[string]any {
		var r []map[string]any
		for _, id := range ids {
			r = append(r, map[string]any{"__typename": "Customer", "id": id})
		}
		return map[string]any{"representations": r}
	}
	tests := []struct {
		name      string
		query     string
		variables map[string]any
		want      string
	}{
		{
			name:  "_entities inline",
			query: `{ _entities(representations: [{__typename: "Customer", id: "1"}]) { ... on Customer { loyalty { points tier } } } }`,
			want:  `{"data":{"_entities":[{"loyalty":{"points":100,"tier":"BRONZE"}}]}}`,
		},
		{
			name:      "_entities batch in order: known, unknown and non-numeric ids",
			query:     entities,
			variables: reps("1", "20", "abc", "5", "14", "15", "0"),
			want: `{"data":{"_entities":[
				{"__typename":"Customer","id":"1","loyalty":{"points":100,"tier":"BRONZE"}},
				{"__typename":"Customer","id":"20","loyalty":{"points":2000,"tier":"GOLD"}},
				{"__typename":"Customer","id":"abc","loyalty":null},
				{"__typename":"Customer","id":"5","loyalty":{"points":500,"tier":"SILVER"}},
				{"__typename":"Customer","id":"14","loyalty":{"points":1400,"tier":"SILVER"}},
				{"__typename":"Customer","id":"15","loyalty":{"points":1500,"tier":"GOLD"}},
				{"__typename":"Customer","id":"0","loyalty":null}]}}`,
		},
		{
			name:      "_entities: points past GraphQL's Int",
			query:     entities,
			variables: reps("21474837", "21474836"),
			want: `{"data":{"_entities":[
				{"__typename":"Customer","id":"21474837","loyalty":null},
				{"__typename":"Customer","id":"21474836","loyalty":{"points":2147483600,"tier":"GOLD"}}]}}`,
		},
		{
			name:  "topLoyal, five by default",
			query: `{ topLoyal { id loyalty { points tier } } }`,
			want: `{"data":{"topLoyal":[
				{"id":"25","loyalty":{"points":2500,"tier":"GOLD"}},
				{"id":"24","loyalty":{"points":2400,"tier":"GOLD"}},
				{"id":"23","loyalty":{"points":2300,"tier":"GOLD"}},
				{"id":"22","loyalty":{"points":2200,"tier":"GOLD"}},
				{"id":"21","loyalty":{"points":2100,"tier":"GOLD"}}]}}`,
		},
		{
			name:  "topLoyal with a limit",
			query: `{ a: topLoyal(limit: 2) { id } b: topLoyal(limit: 0) { id } }`,
			want:  `{"data":{"a":[{"id":"25"},{"id":"24"}],"b":[]}}`,
		},
		{
			name:  "topLoyal, negative limit",
			query: `{ topLoyal(limit: -1) { id } }`,
			want:  `{"errors":[{"message":"topLoyal: limit must not be negative, got -1","path":["topLoyal"],"locations":[{"line":1,"column":3}]}],"data":null}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(loyalty.NewHandler())
			defer srv.Close()
			status, got := post(t, srv, tt.query, tt.variables)
			if want := compact(t, tt.want); status != http.StatusOK || got != want {
				t.Errorf("got %d %s\nwant 200 %s", status, got, want)
			}
		})
	}
}

func TestNewHandler_service(t *testing.T) {
	srv := httptest.NewServer(loyalty.NewHandler())
	defer srv.Close()
	_, got := post(t, srv, `{ _service { sdl } }`, nil)
	var res struct {
		Data struct {
			Service struct{ SDL string } `json:"_service"`
		}
	}
	if err := json.Unmarshal([]byte(got), &res); err != nil {
		t.Fatal(err)
	}
	sdl := res.Data.Service.SDL
	if !strings.Contains(sdl, `type Customer @key(fields: "id")`) || !strings.Contains(sdl, "@link(") {
		t.Errorf("_service sdl lacks the entity or the @link: %s", got)
	}
	if sdl != loyalty.SDL {
		t.Errorf("_service sdl:\n%s\nwant SDL:\n%s", sdl, loyalty.SDL)
	}
}

func TestNewHandler_methods(t *testing.T) {
	srv := httptest.NewServer(loyalty.NewHandler())
	defer srv.Close()
	res, err := srv.Client().Get(srv.URL + "/graphql?query=%7B__typename%7D")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /graphql: got %d, want 405", res.StatusCode)
	}
}
