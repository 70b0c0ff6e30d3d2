package graph

import (
	"context"

	"github.com/conflux-gql/conflux/resolvers"
	"github.com/vektah/gqlparser/v2/ast"
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
	fw.Uploads = p.forwardsUploads(f, fw)
	f.Fetch.Forward = fw
	return nil
}

// forwardsUploads reports whether a client variable whose type holds the Upload scalar (an Upload, a list of
// them, or an input object with one inside) reaches the fetch: in the forwarded selection, its inline values, or
// the field's own arguments, which the binding's args read (issue 17). Explain shows such fetches.
func (p *planner) forwardsUploads(f *Field, fw *resolvers.Forward) bool {
	if p.sg == nil || p.sg.Schema == nil || p.sg.Schema.Types["Upload"] == nil {
		return false
	}
	holds := func(name string) bool {
		def := p.op.VariableDefinitions.ForName(name)
		return def != nil && typeHoldsUpload(p.sg.Schema, def.Type, map[string]bool{})
	}
	var uses func(v *ast.Value) bool
	uses = func(v *ast.Value) bool {
		if v == nil {
			return false
		}
		if v.Kind == ast.Variable {
			return holds(v.Raw)
		}
		for _, c := range v.Children {
			if uses(c.Value) {
				return true
			}
		}
		return false
	}
	for _, v := range fw.Variables {
		if holds(v.Name) {
			return true
		}
	}
	for _, l := range fw.Literals {
		if uses(l.Expr) {
			return true
		}
	}
	for _, a := range f.Arguments {
		if uses(a.Value) {
			return true
		}
	}
	return false
}

// typeHoldsUpload reports whether t is the Upload scalar, a list of it, or an input object holding it.
func typeHoldsUpload(s *ast.Schema, t *ast.Type, seen map[string]bool) bool {
	for t.Elem != nil {
		t = t.Elem
	}
	if t.NamedType == "Upload" {
		return true
	}
	def := s.Types[t.NamedType]
	if def == nil || def.Kind != ast.InputObject || seen[def.Name] {
		return false
	}
	seen[def.Name] = true
	for _, fd := range def.Fields {
		if typeHoldsUpload(s, fd.Type, seen) {
			return true
		}
	}
	return false
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

// describe names the upstream root field a graphql fetch calls, and how a batch is shaped; "graphql+uploads" when
// the fetch may forward files as a GraphQL multipart request.
func (graphqlKind) describe(f *Fetch) (method, path string) {
	method, path = describeGraphQL(f)
	if f.Forward != nil && f.Forward.Uploads {
		method = "graphql+uploads"
	}
	return method, path
}

func describeGraphQL(f *Fetch) (method, path string) {
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
