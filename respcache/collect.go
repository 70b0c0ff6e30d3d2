package respcache

import (
	"context"
	"strconv"
	"sync"
	"time"
)

// Collector records, for one client request, what its response was made of: each backend fetch (a cache hit,
// an answer stored, or an answer that cannot be cached), so that the response's Cache-Control can say how long
// the whole may be kept (issue 15). The transport puts one in the request's context (WithCollector); the
// resolvers record into it (FromContext). Safe for concurrent use.
type Collector struct {
	mu        sync.Mutex
	fetches   int
	uncached  bool
	private   bool
	minMaxAge time.Duration
}

type collectorKey struct{}

// WithCollector returns ctx carrying a new Collector, and the Collector.
func WithCollector(ctx context.Context) (context.Context, *Collector) {
	c := &Collector{}
	return context.WithValue(ctx, collectorKey{}, c), c
}

// FromContext returns the request's Collector, or nil (on which the methods do nothing).
func FromContext(ctx context.Context) *Collector {
	c, _ := ctx.Value(collectorKey{}).(*Collector)
	return c
}

// Cached records a fetch answered from, or stored in, the cache with ttl left to live.
func (c *Collector) Cached(ttl time.Duration, private bool) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fetches == 0 || ttl < c.minMaxAge {
		c.minMaxAge = ttl
	}
	c.fetches++
	c.private = c.private || private
}

// Uncached records a fetch whose answer cannot be cached: a binding without cache, a failure, no-store.
func (c *Collector) Uncached() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fetches++
	c.uncached = true
}

// CacheControl is the response's Cache-Control: "no-store" unless the response fetched something and every
// fetch was cacheable (a response with no fetch has nothing that bounds its lifetime, and the transport adds
// errors and mutations itself); else "max-age=<smallest remaining lifetime of the parts>", as "private, max-age"
// when a part was private (keyed by credentials). A max-age under one second is no-store.
func (c *Collector) CacheControl() string {
	if c == nil {
		return "no-store"
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	secs := int64(c.minMaxAge / time.Second)
	if c.fetches == 0 || c.uncached || secs <= 0 {
		return "no-store"
	}
	cc := "max-age=" + strconv.FormatInt(secs, 10)
	if c.private {
		return "private, " + cc
	}
	return "public, " + cc
}
