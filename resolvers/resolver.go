package resolvers

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/conflux-gql/conflux/schema"
	"github.com/conflux-gql/conflux/sources"
	"github.com/vektah/gqlparser/v2/ast"
	"golang.org/x/net/http/httpguts"
)

// Resolver fetches one binding's field. It is immutable and safe for concurrent use.
type Resolver struct {
	Binding *schema.Binding
	Source  sources.Source
	// List reports whether the field returns a list, which decides how batch matches are handed out.
	List bool
	// GraphQL reports a binding to a graphql source.
	GraphQL bool
	env     map[string]string
	// forward names the incoming headers the source forwards.
	forward []string
	// upstream is a graphql source's schema (nil when unknown); mutation says the binding is on the Mutation type.
	upstream *ast.Schema
	mutation bool
	// gql says how a graphql binding's arguments are sent (graphql.go).
	gql *graphqlArgs
}

// Set holds the resolvers of one configuration version.
type Set struct {
	byBinding map[*schema.Binding]*Resolver
	// sources and forward serve federated fetches, which call subgraphs by source name (PostGraphQL).
	sources map[string]sources.Source
	forward map[string][]string
}

// New builds a resolver for every fetching binding of sg, using srcs by source name.
func New(sg *schema.Supergraph, srcs map[string]sources.Source) (*Set, error) {
	s := &Set{byBinding: map[*schema.Binding]*Resolver{}, sources: srcs, forward: map[string][]string{}}
	for name, cfg := range sg.Sources {
		if cfg.HTTP != nil {
			s.forward[name] = cfg.HTTP.ForwardHeaders
		}
	}
	for _, b := range sg.Bindings() {
		r := &Resolver{Binding: b, env: sg.Env}
		if def := sg.Schema.Types[b.Type]; def != nil {
			if f := def.Fields.ForName(b.Field); f != nil {
				r.List = isList(f.Type)
			}
		}
		if b.Fetches() {
			src, ok := srcs[b.Source]
			if !ok {
				return nil, fmt.Errorf("binding %s: source %q was not built", b.Name(), b.Source)
			}
			r.Source = src
			if cfg := sg.Sources[b.Source]; cfg != nil {
				r.GraphQL = cfg.Kind == schema.KindGraphQL
				r.upstream = cfg.Upstream
				if cfg.HTTP != nil {
					r.forward = cfg.HTTP.ForwardHeaders
				}
			}
			r.mutation = sg.Schema.Mutation != nil && sg.Schema.Mutation.Name == b.Type
			if r.GraphQL && !b.Federated {
				r.gql = newGraphQLArgs(sg, b, r.upstream, r.mutation)
			}
		}
		s.byBinding[b] = r
	}
	return s, nil
}

// For returns the resolver of b.
func (s *Set) For(b *schema.Binding) *Resolver { return s.byBinding[b] }

func isList(t *ast.Type) bool { return t.Elem != nil }

// Vars returns the template variables for one parent.
func (r *Resolver) Vars(args map[string]any, parent any, headers http.Header) Vars {
	return Vars{Args: args, Parent: parent, Headers: headers, Env: r.env}
}

// Value renders a `value` binding: the constant, with its templates filled from vs.
func (r *Resolver) Value(vs Vars) any {
	return renderValue(r.Binding.Value, &vs)
}

// Fallback renders the binding's fallback answer for a failed fetch; ok is false when it has none.
func (r *Resolver) Fallback(vs Vars) (v any, ok bool) {
	if r.Binding.Fallback == nil {
		return nil, false
	}
	return renderValue(r.Binding.Fallback, &vs), true
}

// Build renders the binding's request (the batch request when batch is true) from vs.
func (r *Resolver) Build(vs Vars, batch bool) (*sources.Request, error) {
	req := &r.Binding.Request
	if batch {
		req = &r.Binding.Batch.Request
	}
	out := &sources.Request{Method: req.Method, Timeout: r.Binding.Timeout, RetrySafe: r.Binding.RetrySafe}
	if out.Method == "" {
		out.Method = http.MethodGet
	}
	if req.Path != nil {
		p, err := renderPath(req.Path, &vs, r.Binding.Name())
		if err != nil {
			return nil, err
		}
		out.Path = p
	}
	if len(req.Query) > 0 {
		out.Query = url.Values{}
		for _, p := range req.Query {
			if vals := renderParam(p, &vs); len(vals) > 0 {
				out.Query[p.Name] = vals
			}
		}
	}
	out.Header = r.forwardHeaders(vs.Headers, nil)
	if len(req.Headers) > 0 {
		if out.Header == nil {
			out.Header = http.Header{}
		}
		for _, p := range req.Headers {
			for _, v := range renderParam(p, &vs) {
				// A value a header cannot carry (a control character from the client's input) is the client's
				// error, refused here rather than sent, or stripped into another value (issue 13).
				if !httpguts.ValidHeaderFieldValue(v) {
					return nil, &InputError{Binding: r.Binding.Name(),
						Msg: "header " + p.Name + " would carry a control character, which a header cannot"}
				}
				out.Header.Add(p.Name, v)
			}
		}
	}
	if req.Body != nil {
		body, err := renderBody(req.Body, &vs)
		if err != nil {
			return nil, err
		}
		out.Body = body
	}
	return out, nil
}

// Do sends a rendered request and returns the decoded answer after select.
func (r *Resolver) Do(ctx context.Context, req *sources.Request, batch bool) (any, error) {
	v, err := r.send(ctx, req, decodeJSON)
	if err != nil {
		return nil, err
	}
	sel := r.Binding.Select
	if batch {
		sel = r.Binding.Batch.Select
	}
	return Dig(v, sel), nil
}

// send sends req and decodes the answer's body with decode; an answer it cannot decode is BAD_UPSTREAM_RESPONSE.
func (r *Resolver) send(ctx context.Context, req *sources.Request, decode func([]byte) (any, error)) (any, error) {
	resp, err := r.Source.Do(ctx, req)
	if err != nil {
		return nil, sources.AsError(r.Binding.Source, err)
	}
	v, err := decode(resp.Body)
	if err != nil {
		return nil, &sources.Error{Source: r.Binding.Source, Code: sources.CodeBadResponse, Status: resp.Status,
			Method: req.Method, Path: req.Path, Err: err}
	}
	return v, nil
}

// Fetch renders, sends and decodes the single (unbatched) request for vs.
func (r *Resolver) Fetch(ctx context.Context, vs Vars) (any, error) {
	req, err := r.Build(vs, false)
	if err != nil {
		return nil, err
	}
	return r.Do(ctx, req, false)
}
