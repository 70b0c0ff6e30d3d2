package graph_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/conflux-gql/conflux/graph"
	"github.com/conflux-gql/conflux/sources"
	"github.com/vektah/gqlparser/v2"
)

// benchShop serves n users with two posts each through in-memory fakes, so the benchmark measures the engine
// (plan, execute, batch, write) and not the network.
func benchShop(b *testing.B, n int) (*graph.Engine, string) {
	list := make([]any, n)
	for i := range list {
		list[i] = map[string]any{"id": fmt.Sprint(i), "name": fmt.Sprint("user ", i), "friendId": "1"}
	}
	users := &fakeSource{name: "users", do: func(context.Context, *sources.Request) (any, error) { return list, nil }}
	posts := &fakeSource{name: "posts", do: func(_ context.Context, req *sources.Request) (any, error) { return postsFor(req), nil }}
	e := shop(b, fmt.Sprintf(shopConfig, 1000000, 1000000), users, posts)
	return e, fmt.Sprintf(`{ users(n: %d) { id name posts { id title } } }`, n)
}

func BenchmarkEngine_Execute(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		b.Run(fmt.Sprint("users=", n), func(b *testing.B) {
			e, q := benchShop(b, n)
			doc, errs := gqlparser.LoadQuery(e.Schema(), q)
			if errs != nil {
				b.Fatal(errs)
			}
			resp := e.Execute(context.Background(), q, doc, doc.Operations[0], nil, nil)
			if len(resp.Errors) > 0 || !strings.Contains(string(resp.Data), `"title":"t1"`) {
				b.Fatalf("bad response: %s %v", resp.Data[:min(200, len(resp.Data))], resp.Errors)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				e.Execute(context.Background(), q, doc, doc.Operations[0], nil, nil)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/item")
		})
	}
}

func BenchmarkNewPlan(b *testing.B) {
	e, q := benchShop(b, 10)
	doc, _ := gqlparser.LoadQuery(e.Schema(), q)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := graph.NewPlan(e.Supergraph(), doc, doc.Operations[0], nil); err != nil {
			b.Fatal(err)
		}
	}
}
