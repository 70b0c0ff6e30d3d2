package resolvers

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/conflux-gql/conflux/events"
	"github.com/conflux-gql/conflux/respcache"
	"github.com/conflux-gql/conflux/schema"
	"github.com/conflux-gql/conflux/sources"
	"github.com/vektah/gqlparser/v2/ast"
)

// Resolver fetches one binding's field. It is immutable and safe for concurrent use.
type Resolver struct {
	Binding *schema.Binding
	// log receives what clients are not told (WithLogger).
	log    *slog.Logger
	Source sources.Source
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
	// cache is the version's response cache when the binding has `cache` (issue 15), with its policy.
	cache  *respcache.Cache
	policy respcache.Policy
	// jwt says a template of the binding reads {{jwt.*}}, so Vars decodes the request's claims.
	jwt bool
	// httpCfg, gqlSubs and subMetrics serve a Subscription binding's stream (subscribe.go).
	httpCfg    *sources.HTTPConfig
	gqlSubs    *schema.GraphQLSubscriptions
	subMetrics *SubscriptionMetrics
	subBudget  *events.Budget
}

// Set holds the resolvers of one configuration version.
type Set struct {
	byBinding map[*schema.Binding]*Resolver
	// sources and forward serve federated fetches, which call subgraphs by source name (PostGraphQL).
	sources map[string]sources.Source
	forward map[string][]string
	// cache is the response cache of the bindings with `cache`; nil when none has.
	cache *respcache.Cache
}

// New builds a resolver for every fetching binding of sg, using srcs by source name.
func New(sg *schema.Supergraph, srcs map[string]sources.Source, opts ...Option) (*Set, error) {
	o := options{log: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		opt(&o)
	}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	if o.subBudget == nil {
		o.subBudget = events.NewBudget(0)
	}
	o.subBudget.SetMax(sg.Settings.Subscriptions.BufferBytesTotal)
	s := &Set{byBinding: map[*schema.Binding]*Resolver{}, sources: srcs, forward: map[string][]string{}}
	for _, b := range sg.Bindings() {
		if b.Cache != nil && b.Fetches() {
			cfg := o.cache
			if cfg.MaxBytes == 0 {
				cfg.MaxBytes = sg.Settings.ResponseCacheBytes
			}
			c, err := respcache.New(cfg)
			if err != nil {
				return nil, fmt.Errorf("response cache: %w", err)
			}
			s.cache = c
			break
		}
	}
	for name, cfg := range sg.Sources {
		if cfg.HTTP != nil {
			s.forward[name] = cfg.HTTP.ForwardHeaders
		}
	}
	for _, b := range sg.Bindings() {
		r := &Resolver{Binding: b, env: sg.Env, jwt: readsJWT(b), log: o.log, subMetrics: o.subMetrics, subBudget: o.subBudget}
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
				r.httpCfg, r.gqlSubs = cfg.HTTP, cfg.Subscriptions
			}
			r.mutation = sg.Schema.Mutation != nil && sg.Schema.Mutation.Name == b.Type
			if r.GraphQL && !b.Federated {
				if sg.Schema.Subscription != nil && sg.Schema.Subscription.Name == b.Type {
					r.gql = newSubscriptionArgs(sg, b, r.upstream)
				} else {
					r.gql = newGraphQLArgs(sg, b, r.upstream, r.mutation)
				}
			}
			if b.Cache != nil && !r.GraphQL {
				// Answers of graphql sources are not cached: they are POSTs whose answers carry errors.
				r.cache, r.policy = s.cache, respcache.Policy{TTL: b.Cache.TTL, HonorCacheControl: b.Cache.HonorCacheControl}
			}
		}
		s.byBinding[b] = r
	}
	return s, nil
}

// For returns the resolver of b.
func (s *Set) For(b *schema.Binding) *Resolver { return s.byBinding[b] }

func isList(t *ast.Type) bool { return t.Elem != nil }

// logger is where r logs; a Resolver built without New logs nowhere.
func (r *Resolver) logger() *slog.Logger {
	if r.log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.log
}

// Vars returns the template variables for one parent. The request's claims come from headers (ClaimsHeader).
func (r *Resolver) Vars(args map[string]any, parent any, headers http.Header) Vars {
	vs := Vars{Args: args, Parent: parent, Headers: headers, Env: r.env}
	if r.jwt {
		vs.JWT = claimsOf(headers)
	}
	return vs
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

// forwardHeaders copies the incoming headers the source forwards into h.
func (r *Resolver) forwardHeaders(incoming, h http.Header) http.Header {
	for _, name := range r.forward {
		if vals := incoming.Values(name); len(vals) > 0 {
			if h == nil {
				h = http.Header{}
			}
			h[name] = vals
		}
	}
	return h
}
