package resolvers

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkGraphQLDocument measures building and sending one upstream document (to an in-memory source) per
// mode, with the upstream schema known and unknown.
func BenchmarkGraphQLDocument(b *testing.B) {
	fw := &Forward{Selection: "{ id name }"}
	args := map[string]any{"filter": map[string]any{"name": "a", "tags": []any{"x", "y"}}, "term": "t", "fmt": "short"}
	for _, known := range []bool{true, false} {
		sg, set := docGraph(b, known)
		run := func(name string, f func(ctx context.Context) error) {
			b.Run(fmt.Sprintf("%s/known=%v", name, known), func(b *testing.B) {
				ctx := context.Background()
				if err := f(ctx); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if err := f(ctx); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		search := set.For(sg.Binding("Query", "search"))
		run("single", func(ctx context.Context) error {
			_, err := search.FetchGraphQL(ctx, Vars{Args: args}, fw, nil)
			return err
		})
		for _, field := range []string{"related", "detail", "loyalty"} {
			r := set.For(sg.Binding("Item", field))
			keys := make([]Key, 100)
			for i := range keys {
				keys[i], _ = r.GraphQLKey(Vars{Args: args, Parent: map[string]any{"id": fmt.Sprint(i)}})
			}
			run(field+"/keys=100", func(ctx context.Context) error {
				_, err := r.graphqlBatch(ctx, Vars{Args: args}, fw, nil, keys)
				return err
			})
		}
	}
}
