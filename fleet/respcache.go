package fleet

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// The shared response cache's bounds: values larger than MaxCacheValueBytes stay in the storing replica's own
// cache, and nothing is kept longer than MaxCacheTTL, which is also how long a purge is remembered.
const (
	MaxCacheValueBytes = 1 << 20
	MaxCacheTTL        = 24 * time.Hour
)

// Times of stores and purges are in Redis's clock (Client.RedisTime), so that replicas' clock skew does not let
// an answer stored before a purge on another replica outlive it.
//
// ResponseCache is the second level of the response cache (issue 15): backend answers by key hash in Redis
// ("<prefix>:cache:<hash>", expiring with the entry), so that an answer fetched by one replica is served by all.
// It implements respcache.Shared. Each value starts with the time it was stored; a purge records its time per
// binding, or per binding and purge key, in "<prefix>:cache:purge:<binding>", and a value stored before it is
// a miss. Redis being down or slower than CallTimeout makes Get a miss and Set a no-op: never an error. Safe
// for concurrent use.
type ResponseCache struct {
	c *Client
	m *Metrics
}

// NewResponseCache returns the shared response cache of c; m may be nil.
func NewResponseCache(c *Client, m *Metrics) *ResponseCache { return &ResponseCache{c: c, m: m} }

// purgeAll is the purge hash's field of a purge of the whole binding (a purge key is never empty).
const purgeAll = ""

// Get returns the value under key, unless a purge of binding or purgeKey came after it was stored, with its
// remaining lifetime. One round trip: the value, its TTL and the purge times are read in one pipeline.
func (rc *ResponseCache) Get(ctx context.Context, key, binding, purgeKey string) ([]byte, time.Duration, bool) {
	if !rc.c.Healthy() {
		return nil, 0, false
	}
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	k := rc.c.Key("cache", key)
	pipe := rc.c.rdb.Pipeline()
	get := pipe.GetRange(ctx, k, 0, MaxCacheValueBytes+8)
	ttl := pipe.PTTL(ctx, k)
	fields := []string{purgeAll}
	if purgeKey != "" {
		fields = append(fields, purgeKey)
	}
	purged := pipe.HMGet(ctx, rc.c.Key("cache", "purge", binding), fields...)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		rc.failed(ctx, err)
		return nil, 0, false
	}
	val := []byte(get.Val())
	if len(val) < 8 || len(val) > MaxCacheValueBytes+8 || ttl.Val() <= 0 {
		return nil, 0, false
	}
	stored := int64(binary.BigEndian.Uint64(val[:8]))
	for _, p := range purged.Val() {
		if s, ok := p.(string); ok {
			if at, err := strconv.ParseInt(s, 10, 64); err == nil && stored <= at {
				return nil, 0, false
			}
		}
	}
	// Set never stores for longer; a key given a longer TTL was not stored by Set.
	return val[8:], min(ttl.Val(), MaxCacheTTL), true
}

// Set stores val under key for ttl (at most MaxCacheTTL). A value over MaxCacheValueBytes is not shared. It is
// recorded as stored at begun, when its fetch began (now when zero), so that a purge made while it was being
// fetched makes it stale.
func (rc *ResponseCache) Set(ctx context.Context, key, _, _ string, val []byte, ttl time.Duration, begun time.Time) {
	if len(val) > MaxCacheValueBytes || ttl <= 0 || !rc.c.Healthy() {
		return
	}
	ttl = min(ttl, MaxCacheTTL)
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	buf := make([]byte, 8+len(val))
	if begun.IsZero() {
		begun = rc.c.now()
	}
	binary.BigEndian.PutUint64(buf, uint64(rc.c.RedisTime(begun).UnixMicro()))
	copy(buf[8:], val)
	if err := rc.c.rdb.Set(ctx, rc.c.Key("cache", key), buf, ttl).Err(); err != nil {
		rc.failed(ctx, err)
	}
}

// Purge makes the values of binding (purgeKey "") or of one purge key stored until now stale on every replica.
// Unlike Get and Set it reports a failure: the caller asked for it.
func (rc *ResponseCache) Purge(ctx context.Context, binding, purgeKey string) error {
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	k := rc.c.Key("cache", "purge", binding)
	pipe := rc.c.rdb.TxPipeline()
	pipe.HSet(ctx, k, purgeKey, strconv.FormatInt(rc.c.RedisTime(rc.c.now()).UnixMicro(), 10))
	pipe.Expire(ctx, k, MaxCacheTTL)
	pipe.Publish(ctx, rc.c.Key("cache", "purged"), binding+"\x00"+purgeKey)
	if _, err := pipe.Exec(ctx); err != nil {
		rc.failed(ctx, err)
		return fmt.Errorf("purge the shared response cache: %w", err)
	}
	return nil
}

// Watch calls f, on its own goroutine, for every purge any replica makes (this one's included), so that each
// replica also purges its in-process level. A purge announced while this replica could not hear it (its
// subscription dropped, or Redis restarted) is missed: when the subscription is made again, lost (which may be
// nil) is called, so that the replica drops what its in-process level holds (the shared level, where every
// purge is recorded, answers for it again). stop ends the watch and waits.
func (rc *ResponseCache) Watch(f func(binding, purgeKey string), lost func()) (stop func()) {
	ps := rc.c.rdb.Subscribe(context.Background(), rc.c.Key("cache", "purged"))
	done := make(chan struct{})
	go func() {
		defer close(done)
		subscribed := false
		for msg := range ps.ChannelWithSubscriptions() {
			switch m := msg.(type) {
			case *redis.Subscription:
				if m.Kind != "subscribe" {
					continue
				}
				if subscribed && lost != nil {
					lost()
				}
				subscribed = true
			case *redis.Message:
				if binding, key, ok := strings.Cut(m.Payload, "\x00"); ok {
					f(binding, key)
				}
			}
		}
	}()
	return func() {
		ps.Close() // closes the channel
		<-done
	}
}

func (rc *ResponseCache) failed(ctx context.Context, err error) {
	if errors.Is(ctx.Err(), context.Canceled) {
		return
	}
	rc.c.Failed(err)
	rc.m.failed("cache")
}
