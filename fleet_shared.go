package main

import (
	"log/slog"
	"os"

	"github.com/99designs/gqlgen/graphql"
	"github.com/conflux-gql/conflux/admin"
	"github.com/conflux-gql/conflux/fleet"
	"github.com/conflux-gql/conflux/respcache"
	"github.com/conflux-gql/conflux/runtime"
	"github.com/conflux-gql/conflux/schema"
	"github.com/conflux-gql/conflux/sources"
	"github.com/prometheus/client_golang/prometheus"
)

// fleetShared is what this replica shares with the others through Redis (issue 15): persisted queries
// (fleet.APQ) and one budget per source's limits.rate (fleet.RateLimiter, with the replica heartbeat its local
// fallback divides by). The nil *fleetShared is a replica on its own: everything stays in-process. It outlives
// configuration versions; Close stops the heartbeat (and closes the client when it owns it).
type fleetShared struct {
	client   *fleet.Client
	owned    bool
	replicas *fleet.Replicas
	apq      *fleet.APQ
	cache    *fleet.ResponseCache
	metrics  *fleet.Metrics
	// purges records the purges of every replica (Watch), for every version's in-process response cache.
	purges    *respcache.Purges
	stopWatch func()
}

// fleetConfig is the Redis the configuration names (`redis:`), else CONFLUX_REDIS_URL's, else nil.
func fleetConfig(sg *schema.Supergraph, env func(string) (string, bool)) *fleet.Config {
	if sg.Redis != nil {
		return sg.Redis
	}
	if url, ok := env(fleet.EnvURL); ok && url != "" {
		return &fleet.Config{URL: url}
	}
	return nil
}

// joinFleet connects to the Redis sg names (fleetConfig) and shares APQ and rate limits through it, reporting
// to tel (nil for none); without Redis it returns nil, nil. Redis being down is no error: the replica serves on
// its own until Redis answers.
func joinFleet(sg *schema.Supergraph, tel *telemetry, logger *slog.Logger) (*fleetShared, error) {
	cfg := fleetConfig(sg, os.LookupEnv)
	if cfg == nil {
		return nil, nil
	}
	c, err := fleet.New(*cfg, logger)
	if err != nil {
		return nil, err
	}
	var reg prometheus.Registerer = prometheus.NewRegistry()
	if tel != nil {
		reg = tel.registry
	}
	f, err := newFleetShared(c, reg)
	if err != nil {
		c.Close()
		return nil, err
	}
	f.owned = true
	return f, nil
}

// newFleetShared shares APQ and rate limits through c, which stays the caller's, registering the metrics with reg.
func newFleetShared(c *fleet.Client, reg prometheus.Registerer) (*fleetShared, error) {
	m, err := fleet.NewMetrics(reg)
	if err != nil {
		return nil, err
	}
	f := &fleetShared{client: c, metrics: m, apq: fleet.NewAPQ(c, m), cache: fleet.NewResponseCache(c, m),
		replicas: fleet.NewReplicas(c, fleet.NewReplicaID(), m), purges: respcache.NewPurges()}
	f.stopWatch = f.cache.Watch(f.purges.Record, f.purges.RecordAll)
	return f, nil
}

// Close leaves the fleet: the heartbeat stops and this replica is removed from the live set.
func (f *fleetShared) Close() {
	if f == nil {
		return
	}
	f.replicas.Close()
	f.stopWatch()
	if f.owned {
		f.client.Close()
	}
}

// apqCache is the shared second level of the APQ cache, or nil.
func (f *fleetShared) apqCache() graphql.Cache[string] {
	if f == nil {
		return nil
	}
	return f.apq
}

// rateLimiter returns the fleet-wide limiter of a source's limits.rate (runtime.Config.RateLimiter), or nil.
func (f *fleetShared) rateLimiter(source string, limits sources.LimitsConfig) sources.RateLimiter {
	if f == nil || limits.Rate <= 0 {
		return nil
	}
	return fleet.NewRateLimiter(f.client, f.replicas, source, limits.Rate, limits.RateBurst(), f.metrics)
}

// The admin API's purgeCache purges the running version's response cache.
var _ admin.CachePurger = (*runtime.Runtime)(nil)

// responseCache is the shared level of the response cache, or nil.
func (f *fleetShared) responseCache() respcache.Shared {
	if f == nil {
		return nil
	}
	return f.cache
}

// newReplicaRuntime is newRuntime for a replica that shares APQ, rate limits and cached responses through fl
// (nil for none).
func newReplicaRuntime(sg *schema.Supergraph, tel *telemetry, fl *fleetShared, logger *slog.Logger, opts ...func(*runtime.Config)) (*runtime.Runtime, error) {
	cfg := runtime.Config{Supergraph: sg, Handler: graphqlHandler(tel, fl.apqCache()), LoadOptions: loadOptions(), Logger: logger}
	cfg.ResponseCache.Shared = fl.responseCache()
	if fl != nil {
		cfg.ResponseCache.Purges = fl.purges
	}
	if tel != nil {
		cfg.SourceMetrics = tel.sources
		cfg.SubscriptionMetrics = tel.subscriptions
		cfg.SubscriptionBudget = tel.subBudget
		m, err := respcache.NewMetrics(tel.registry)
		if err != nil {
			return nil, err
		}
		cfg.ResponseCache.Metrics = m
	}
	if fl != nil {
		cfg.RateLimiter = fl.rateLimiter
	}
	for _, o := range opts {
		o(&cfg)
	}
	return runtime.New(cfg)
}
