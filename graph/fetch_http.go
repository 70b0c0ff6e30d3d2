package graph

import (
	"context"

	"github.com/conflux-gql/conflux/resolvers"
)

// httpKind is the kind of HTTP (REST) and static sources: the binding's request templates, rendered per parent
// or per batch by package resolvers, and sent through the source.
type httpKind struct{}

func (httpKind) prepare(*planner, *Field) error { return nil }

// one sends the parent's request; identical idempotent requests of one client request are sent once.
func (httpKind) one(ctx context.Context, x *execution, res *resolvers.Resolver, _ *Fetch, vs resolvers.Vars) (any, error) {
	return x.loaders.Fetch(ctx, res, vs)
}

func (httpKind) key(res *resolvers.Resolver, vs resolvers.Vars) (resolvers.Key, bool) {
	return res.Key(vs)
}

func (httpKind) loader(x *execution, res *resolvers.Resolver, _ *Fetch, vs resolvers.Vars) resolvers.Loader {
	return x.loaders.Loader(res, vs)
}

// describe names the binding's request (its batch request when f is batched).
func (httpKind) describe(f *Fetch) (method, path string) {
	req := &f.Binding.Request
	if f.Batched {
		req = &f.Binding.Batch.Request
	}
	method = req.Method
	if method == "" {
		method = "GET"
	}
	if req.Path != nil {
		path = req.Path.Raw
	}
	return method, path
}
