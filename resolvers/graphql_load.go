package resolvers

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/conflux-gql/conflux/schema"
)

// LoadGraphQL is Load for a graphql binding (see Batch.LoadGraphQL).
func (l *Loaders) LoadGraphQL(ctx context.Context, r *Resolver, vs Vars, fw *Forward, clientVars map[string]any, keys []Key) []Pending {
	b := Batch{l: l}
	defer b.Flush()
	return b.LoadGraphQL(ctx, r, vs, fw, clientVars, keys)
}

// LoadGraphQL is Load for a graphql binding: the batch forwards fw, so fetches with different selections (or
// client variables) go to different loaders. Each value is a *ForwardResult.
func (b *Batch) LoadGraphQL(ctx context.Context, r *Resolver, vs Vars, fw *Forward, clientVars map[string]any, keys []Key) []Pending {
	return b.Stage(ctx, b.l.GraphQLLoader(r, vs, fw, clientVars), keys)
}

// GraphQLLoader is Loader for a graphql binding whose batch forwards fw with the client's variables clientVars:
// fetches with different selections (or client variables) get different loaders.
func (l *Loaders) GraphQLLoader(r *Resolver, vs Vars, fw *Forward, clientVars map[string]any) Loader {
	var id strings.Builder
	id.WriteString(r.Binding.Name() + "\x00" + fw.Selection + "\x00" + loaderID(r.Binding.Batch, &vs))
	for _, v := range fw.Variables {
		raw, _ := json.Marshal(clientVars[v.Name])
		id.Write(raw)
		id.WriteByte(0x1f)
	}
	for _, a := range r.Binding.Batch.Args {
		for _, t := range a.Value.Templates() {
			for _, v := range t.Vars() {
				if v.Scope != schema.ScopeKeys {
					val, _ := vs.lookup(&v)
					id.WriteString(Text(val))
					id.WriteByte(0x1f)
				}
			}
		}
	}
	return Loader{l.loader(id.String(), r, vs, func() batchCall { return &graphqlBatchCall{fw: fw, clientVars: clientVars} })}
}

// graphqlBatchCall makes the batch calls of a graphql binding's loader: the selection fw forwards, with the
// client's variables, in the binding's batching mode (Resolver.graphqlBatch). Each value is a *ForwardResult.
type graphqlBatchCall struct {
	fw         *Forward
	clientVars map[string]any
}

func (g *graphqlBatchCall) call(ctx context.Context, r *Resolver, vs Vars, keys []Key, out []*result) error {
	vals, err := r.graphqlBatch(ctx, vs, g.fw, g.clientVars, keys)
	if err != nil {
		return err
	}
	for i, res := range out {
		res.Data = vals[i]
	}
	return nil
}
