package fleet

import (
	"context"
	"encoding/binary"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conflux-gql/conflux/fleet/fleettest"
)

// TestResponseCache_HostileValues: what the shared level holds under the prefix is checked like input (Redis may
// be shared with others): a value too short for its header, too large, or without an expiry is a miss, and a
// lifetime is never longer than MaxCacheTTL, whatever TTL the key was given.
func TestResponseCache_HostileValues(t *testing.T) {
	srv := fleettest.Start(t)
	c := newTestClient(t, srv)
	rc := NewResponseCache(c, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	stamped := func(body string) string {
		b := make([]byte, 8, 8+len(body))
		binary.BigEndian.PutUint64(b, uint64(time.Now().Add(-time.Second).UnixMicro()))
		return string(append(b, body...))
	}
	for _, tc := range []struct {
		name    string
		val     string
		ttl     time.Duration
		wantOK  bool
		wantMax time.Duration
	}{
		{"well formed", stamped(`{"a":1}`), time.Minute, true, time.Minute},
		{"too short", "abc", time.Minute, false, 0},
		{"too large", stamped(strings.Repeat("x", MaxCacheValueBytes+1)), time.Minute, false, 0},
		{"no expiry", stamped(`{"a":1}`), 0, false, 0},
		{"a year", stamped(`{"a":1}`), 365 * 24 * time.Hour, true, MaxCacheTTL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := c.rdb.Set(ctx, c.Key("cache", "k"), tc.val, tc.ttl).Err(); err != nil {
				t.Fatal(err)
			}
			_, ttl, ok := rc.Get(ctx, "k", "T.f", "")
			if ok != tc.wantOK || ttl > tc.wantMax {
				t.Fatalf("Get: ok %v, ttl %v; want ok %v, ttl at most %v", ok, ttl, tc.wantOK, tc.wantMax)
			}
		})
	}
	t.Run("fetched across a purge", func(t *testing.T) {
		begun := time.Now()
		if err := rc.Purge(ctx, "T.f", ""); err != nil {
			t.Fatal(err)
		}
		rc.Set(ctx, "k2", "T.f", "", []byte("v"), time.Minute, begun)
		if _, _, ok := rc.Get(ctx, "k2", "T.f", ""); ok {
			t.Fatal("an answer fetched across a purge is served")
		}
		rc.Set(ctx, "k2", "T.f", "", []byte("v"), time.Minute, time.Now())
		if _, _, ok := rc.Get(ctx, "k2", "T.f", ""); !ok {
			t.Fatal("an answer fetched after the purge is a miss")
		}
	})
}

// TestResponseCache_ClockSkew: a replica whose clock is ahead of the others' cannot make an answer it stored
// before another replica's purge outlive that purge (times in Redis are in Redis's clock).
func TestResponseCache_ClockSkew(t *testing.T) {
	srv := fleettest.Start(t)
	ahead, behind := newTestClient(t, srv), newTestClient(t, srv)
	ahead.now = func() time.Time { return time.Now().Add(5 * time.Second) }
	ahead.probe()
	a, b := NewResponseCache(ahead, nil), NewResponseCache(behind, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	a.Set(ctx, "k", "T.f", "", []byte("v"), time.Minute, ahead.now())
	if err := b.Purge(ctx, "T.f", ""); err != nil {
		t.Fatal(err)
	}
	for name, rc := range map[string]*ResponseCache{"ahead": a, "behind": b} {
		if _, _, ok := rc.Get(ctx, "k", "T.f", ""); ok {
			t.Errorf("%s: the answer stored before the purge, by the replica whose clock is ahead, survived it", name)
		}
	}
}

// TestResponseCache_WatchReconnect: when the purge subscription drops and is made again (purges may have been
// missed meanwhile), Watch calls lost, and purges announced afterwards are heard again.
func TestResponseCache_WatchReconnect(t *testing.T) {
	noLeaks(t)
	srv := fleettest.Start(t)
	c := newTestClient(t, srv)
	rc := NewResponseCache(c, nil)
	var lost atomic.Int32
	purged := make(chan string, 16)
	stop := rc.Watch(func(binding, _ string) { purged <- binding }, func() { lost.Add(1) })
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	waitFor(t, "the subscription", func() bool {
		n, _ := c.rdb.PubSubNumSub(ctx, c.Key("cache", "purged")).Result()
		return n[c.Key("cache", "purged")] == 1
	})
	if lost.Load() != 0 {
		t.Fatal("lost called on the first subscription")
	}
	if err := c.rdb.ClientKillByFilter(ctx, "TYPE", "pubsub").Err(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "lost after the subscription was made again", func() bool { return lost.Load() == 1 })
	if err := rc.Purge(ctx, "T.f", ""); err != nil {
		t.Fatal(err)
	}
	select {
	case b := <-purged:
		if b != "T.f" {
			t.Fatalf("purge of %q heard, want T.f", b)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("a purge after the reconnection was not heard")
	}
}
