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

// bytesSource answers every request with the bytes its do func returns, so a benchmark measures the engine and
// not encoding/json on the fake's side.
type bytesSource struct {
	name string
	do   func(req *sources.Request) []byte
}

func (s *bytesSource) Name() string { return s.name }

func (s *bytesSource) Do(_ context.Context, req *sources.Request) (*sources.Response, error) {
	return &sources.Response{Status: 200, Body: s.do(req)}, nil
}

const itemsBenchSDL = `
type Query { items(n: Int!): [Item!]! }
type Item { id: ID! name: String! owner: Owner }
type Owner { id: ID! name: String! }
`

const itemsBenchConfig = `
schema: [s.graphqls]
sources:
  items: {http: {endpoints: [http://127.0.0.1:1]}}
bindings:
  Query.items: {source: items, path: /items, query: {n: "{{args.n}}"}}
  Item.owner:
    source: items
    path: /owners/{{parent.ownerId}}
    batch: {key: "{{parent.ownerId}}", path: /owners, query: {id: "{{keys}}"}, match: id, maxSize: 1000}
`

// BenchmarkEngine_ExecuteList is bench/lists.go's scenario in process: n items, ten per owner, each with its
// batched owner. It reports the bytes allocated per item and per response byte.
func BenchmarkEngine_ExecuteList(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		b.Run(fmt.Sprint("items=", n), func(b *testing.B) {
			var list []byte
			list = append(list, '[')
			for i := 0; i < n; i++ {
				if i > 0 {
					list = append(list, ',')
				}
				list = fmt.Appendf(list, `{"id":%d,"name":"item %d","ownerId":%d}`, i, i, i/10)
			}
			list = append(list, ']')
			src := &bytesSource{name: "items", do: func(req *sources.Request) []byte {
				if req.Path == "/items" {
					return list
				}
				out := []byte{'['}
				for i, id := range req.Query["id"] {
					if i > 0 {
						out = append(out, ',')
					}
					out = fmt.Appendf(out, `{"id":%s,"name":"owner %s"}`, id, id)
				}
				return append(out, ']')
			}}
			e := newEngine(b, itemsBenchSDL, itemsBenchConfig, map[string]sources.Source{"items": src})
			q := fmt.Sprintf(`{ items(n: %d) { id name owner { id name } } }`, n)
			doc, errs := gqlparser.LoadQuery(e.Schema(), q)
			if errs != nil {
				b.Fatal(errs)
			}
			resp := e.Execute(context.Background(), q, doc, doc.Operations[0], nil, nil)
			want := fmt.Sprintf(`"owner":{"id":"%d","name":"owner %d"}}]}`, (n-1)/10, (n-1)/10)
			if len(resp.Errors) > 0 || !strings.HasSuffix(string(resp.Data), want) {
				b.Fatalf("bad response: %.200s %v", resp.Data, resp.Errors)
			}
			size := len(resp.Data)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				e.Execute(context.Background(), q, doc, doc.Operations[0], nil, nil)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/item")
			b.ReportMetric(float64(size), "resp-bytes")
		})
	}
}
