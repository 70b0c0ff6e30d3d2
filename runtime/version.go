package runtime

import (
	"fmt"
	"net/http"
	"sync"

	"github.com/conflux-gql/conflux/graph"
	"github.com/conflux-gql/conflux/resolvers"
	"github.com/conflux-gql/conflux/respcache"
	"github.com/conflux-gql/conflux/schema"
	"github.com/conflux-gql/conflux/sources"
)

// Version is everything built from one configuration version: its sources, resolvers, engine and GraphQL
// handler. A new configuration gets a new Version; sources whose configuration did not change are carried over.
// It is immutable once built and safe for concurrent use; Close releases what it owns.
type Version struct {
	sg      *schema.Supergraph
	srcs    map[string]sources.Source
	engine  *graph.Engine
	handler http.Handler
	// cache is the version's response cache (issue 15); nil when no binding has cache.
	cache *respcache.Cache

	mu sync.Mutex
	// owned closes the sources this version owns, by name; a source carried over to the next version is handed
	// over with it.
	owned map[string]func()
}

var _ http.Handler = (*Version)(nil)

// Supergraph returns the configuration the version was built from.
func (v *Version) Supergraph() *schema.Supergraph { return v.sg }

// Engine returns the version's planner and executor.
func (v *Version) Engine() *graph.Engine { return v.engine }

// Source returns the version's source of that name, or nil.
func (v *Version) Source(name string) sources.Source { return v.srcs[name] }

// ServeHTTP serves a GraphQL request on this version, through the handler Config.Handler built for it.
func (v *Version) ServeHTTP(w http.ResponseWriter, r *http.Request) { v.handler.ServeHTTP(w, r) }

// build builds the serving stack of sg. A source of prev whose configuration is the same in sg is carried over,
// with its endpoint health, breakers, limits, probes and open connections, instead of starting afresh: a change
// to one binding does not reset every backend's circuit breaker. It is handed over (prev no longer closes it)
// only when the new version is complete.
func build(sg *schema.Supergraph, cfg *Config, prev *Version) (*Version, error) {
	v := &Version{sg: sg, srcs: map[string]sources.Source{}, owned: map[string]func(){}}
	var carried []string
	for _, name := range sg.SourceNames() {
		if prev != nil && prev.srcs[name] != nil && sourceConfig(prev.sg, name) == sourceConfig(sg, name) {
			v.srcs[name] = prev.srcs[name]
			carried = append(carried, name)
			continue
		}
		src, err := buildSource(sg.Sources[name], cfg.SourceMetrics, cfg.RateLimiter)
		if err != nil {
			v.Close()
			return nil, fmt.Errorf("source %s (%s): %w", name, sg.Sources[name].Pos, err)
		}
		v.srcs[name] = src
		if c, ok := src.(interface{ Close() }); ok {
			v.owned[name] = c.Close
		}
	}
	set, err := resolvers.New(sg, v.srcs, resolvers.WithResponseCache(cfg.ResponseCache), resolvers.WithLogger(cfg.Logger),
		resolvers.WithSubscriptionMetrics(cfg.SubscriptionMetrics), resolvers.WithSubscriptionBudget(cfg.SubscriptionBudget))
	if err != nil {
		v.Close()
		return nil, err
	}
	v.cache = set.Cache()
	v.engine, err = graph.New(sg, set, graph.WithLogger(cfg.Logger))
	if err != nil {
		v.Close()
		return nil, err
	}
	v.handler, err = cfg.Handler(sg, v.engine)
	if err != nil {
		v.Close()
		return nil, err
	}
	if prev != nil {
		prev.handOver(v, carried)
	}
	return v, nil
}

// handOver gives next the closing of the named sources, which next carried over from v.
func (v *Version) handOver(next *Version, names []string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, name := range names {
		if c, ok := v.owned[name]; ok {
			next.owned[name] = c
			delete(v.owned, name)
		}
	}
}

// sourceConfig is what a source is built from: its entry in the configuration file, the headers rendered from
// the environment at load, and its endpoints and weights (which a subgraph's source takes from the supergraph's
// url, not from the entry: a changed url must build a new source).
func sourceConfig(sg *schema.Supergraph, name string) string {
	key := string(schema.Entry(sg.Raw, "sources", name))
	if h := sg.Sources[name].HTTP; h != nil {
		key += fmt.Sprint(h.Headers, h.Endpoints, h.Weights)
	}
	return key
}

// Close ends the version's subscriptions (each told SUBSCRIPTION_CLOSED: subscribe again, on the new version)
// and releases the sources the version owns (idle connections, probes); those carried over to a newer version
// are that version's to close. Requests still running on the version are not interrupted. Close may be called
// more than once.
func (v *Version) Close() {
	if v.engine != nil {
		v.engine.Close()
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	for name, c := range v.owned {
		c()
		delete(v.owned, name)
	}
}

// buildSource builds a source's transport from its decoded configuration.
func buildSource(s *schema.Source, m *sources.Metrics, rl func(string, sources.LimitsConfig) sources.RateLimiter) (sources.Source, error) {
	switch s.Kind {
	case schema.KindStatic:
		return sources.NewStatic(s.Name, s.Static)
	case schema.KindHTTP, schema.KindGraphQL:
		// A graphql source is HTTP underneath: POSTs of {query, variables} to its endpoints, with the same
		// pools, retries (only for retrySafe bindings: POST is not idempotent), breakers and limits.
		cfg := *s.HTTP
		cfg.Metrics = m
		if rl != nil {
			return sources.NewHTTP(cfg, sources.WithRateLimiter(rl(s.Name, cfg.Limits)))
		}
		return sources.NewHTTP(cfg)
	}
	return nil, fmt.Errorf("%s sources are not supported yet", s.Kind)
}
