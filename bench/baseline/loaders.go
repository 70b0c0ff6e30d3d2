package main

import (
	"context"
	"net/http"
	"time"

	"github.com/conflux-gql/conflux/bench/baseline/model"
	"github.com/conflux-gql/conflux/bench/internal/gqlserver"
	"github.com/graph-gophers/dataloader/v7"
)

// loaders are one request's dataloaders, as the gqlgen dataloader guide sets them up: created per request by
// middleware, so nothing is cached across requests, each batching the keys asked for within a 1 ms window.
type loaders struct {
	user         *dataloader.Loader[int, *model.User]
	postComments *dataloader.Loader[int, []*model.Comment]
	userPosts    *dataloader.Loader[int, []*model.Post]
}

type loadersKey struct{}

func newLoaders(b *backend) *loaders {
	wait := dataloader.WithWait[int, *model.User](time.Millisecond)
	return &loaders{
		user: dataloader.NewBatchedLoader(func(ctx context.Context, keys []int) []*dataloader.Result[*model.User] {
			var users []*model.User
			_, err := b.get(ctx, "/users", ids("id", keys), &users)
			byID := make(map[int]*model.User, len(users))
			for _, u := range users {
				byID[u.ID] = u
			}
			return gqlserver.Results(keys, err, func(k int) *model.User { return byID[k] })
		}, wait),
		postComments: dataloader.NewBatchedLoader(func(ctx context.Context, keys []int) []*dataloader.Result[[]*model.Comment] {
			var comments []*model.Comment
			_, err := b.get(ctx, "/comments", ids("postId", keys), &comments)
			byPost := map[int][]*model.Comment{}
			for _, c := range comments {
				byPost[c.PostID] = append(byPost[c.PostID], c)
			}
			return gqlserver.Results(keys, err, func(k int) []*model.Comment { return gqlserver.NonNil(byPost[k]) })
		}, dataloader.WithWait[int, []*model.Comment](time.Millisecond)),
		userPosts: dataloader.NewBatchedLoader(func(ctx context.Context, keys []int) []*dataloader.Result[[]*model.Post] {
			var posts []*model.Post
			_, err := b.get(ctx, "/posts", ids("userId", keys), &posts)
			byUser := map[int][]*model.Post{}
			for _, p := range posts {
				byUser[p.UserID] = append(byUser[p.UserID], p)
			}
			return gqlserver.Results(keys, err, func(k int) []*model.Post { return gqlserver.NonNil(byUser[k]) })
		}, dataloader.WithWait[int, []*model.Post](time.Millisecond)),
	}
}

// withLoaders gives each request its own loaders.
func withLoaders(b *backend, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := context.WithValue(r.Context(), loadersKey{}, newLoaders(b))
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func loadersFor(ctx context.Context) *loaders { return ctx.Value(loadersKey{}).(*loaders) }
