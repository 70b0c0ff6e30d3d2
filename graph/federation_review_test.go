package graph_test

import (
	"context"
	"strings"
	"testing"
)

// aliasingProducts answers Query.products as a subgraph would for documents that select `id: name` and,
// when asked, the id under the planner's own key "__fed_id".
func aliasingProducts() *subgraphFake {
	return &subgraphFake{name: "products", root: func(q string) map[string]any {
		var list []any
		for _, p := range [][2]string{{"1", "One"}, {"2", "Two"}} {
			m := map[string]any{"__typename": "Product"}
			if strings.Contains(q, "id: name") {
				m["id"] = p[1]
			} else if strings.Contains(q, "id") {
				m["id"] = p[0]
			}
			if strings.Contains(q, "__fed_id: id") {
				m["__fed_id"] = p[0]
			}
			list = append(list, m)
		}
		return map[string]any{"products": list}
	}}
}

// TestFederation_AliasCollidesWithKey: a client alias that takes a key field's name (`id: name`) does not
// replace the key the planner adds: the subgraph is asked for the real id under another response key, the
// representation carries it, and the client still gets its alias.
func TestFederation_AliasCollidesWithKey(t *testing.T) {
	for _, q := range []string{`{ products { id: name reviews } }`, `{ products { reviews id: name } }`} {
		t.Run(q, func(t *testing.T) {
			reviews := &subgraphFake{name: "reviews", entity: func(rep map[string]any) any {
				id, _ := rep["id"].(string)
				return map[string]any{"reviews": []any{"about " + id}}
			}}
			e := newFedEngine(t, "", aliasingProducts(), reviews)
			data, codes := executeWith(context.Background(), t, e, q)
			want := `{"products":[{"id":"One","reviews":["about 1"]},{"id":"Two","reviews":["about 2"]}]}`
			if strings.HasPrefix(q, "{ products { reviews") {
				want = `{"products":[{"reviews":["about 1"],"id":"One"},{"reviews":["about 2"],"id":"Two"}]}`
			}
			if data != want || len(codes) > 0 {
				p, _ := e.Plan(q, "", nil)
				t.Errorf("data = %s %v\nwant   %s\n%s", data, codes, want, p)
			}
		})
	}
}

