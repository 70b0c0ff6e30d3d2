package graph

import (
	"context"

	"github.com/conflux-gql/conflux/resolvers"
)

// graphqlKind is the kind of upstream GraphQL sources bound field by field (not federated): the planner prints
// the client's sub-selection to forward under the binding's upstream field (prepare, forward.go), and package
// resolvers builds the document per parent or per batch around it.
type graphqlKind struct{}

// prepare prints the selection the fetch forwards upstream (Fetch.Forward).
func (graphqlKind) prepare(p *planner, f *Field) error {
	fw, err := p.forward(f)
	if err != nil {
		return err
	}
	f.Fetch.Forward = fw
	return nil
}

func (graphqlKind) one(ctx context.Context, x *execution, res *resolvers.Resolver, f *Fetch, vs resolvers.Vars) (any, error) {
	if err := x.loaders.Start(); err != nil {
		return nil, err
	}
	return res.FetchGraphQL(ctx, vs, f.Forward, x.vars)
}

func (graphqlKind) key(res *resolvers.Resolver, vs resolvers.Vars) (resolvers.Key, bool) {
	return res.GraphQLKey(vs)
}

// loader is the loader of the binding, forwarded selection and client variables: fetches that forward
// different selections go to different batches.
func (graphqlKind) loader(x *execution, res *resolvers.Resolver, f *Fetch, vs resolvers.Vars) resolvers.Loader {
	return x.loaders.GraphQLLoader(res, vs, f.Forward, x.vars)
}

// describe names the upstream root field a graphql fetch calls, and how a batch is shaped.
func (graphqlKind) describe(f *Fetch) (method, path string) {
	bd := f.Binding
	switch bt := bd.Batch; {
	case bt == nil || !f.Batched:
		return "graphql", bd.UpstreamField
	case bt.Entities != "":
		return "graphql", "_entities(" + bt.Entities + "." + bd.UpstreamField + ")"
	case bt.KeysInArgs():
		field := bd.UpstreamField
		if bt.UpstreamField != "" {
			field = bt.UpstreamField
		}
		return "graphql", field + "(list)"
	}
	field := bd.UpstreamField
	if bt := bd.Batch; bt.UpstreamField != "" {
		field = bt.UpstreamField
	}
	return "graphql", field + "(aliased per key)"
}
