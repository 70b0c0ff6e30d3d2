package fleet

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/conflux-gql/conflux/fleet/fleettest"
)

// TestAPQ: a query registered through one replica's client is found through another's; what Redis holds is
// checked like input; large queries and malformed hashes are not shared.
func TestAPQ(t *testing.T) {
	noLeaks(t)
	srv := fleettest.Start(t)
	m := newTestMetrics(t)
	a, b := NewAPQ(newTestClient(t, srv), m), NewAPQ(newTestClient(t, srv), m)
	ctx := context.Background()
	const query = "{ customers { name } }"
	hash := queryHash(query)
	big := "{ a }" + strings.Repeat(" ", MaxQueryBytes)

	a.Add(ctx, hash, query)
	a.Add(ctx, queryHash(big), big)
	a.Add(ctx, strings.ToUpper(queryHash("{ b }")), "{ b }")
	// Someone with access to Redis maps a hash to another query.
	forged := queryHash("{ me { id } }")
	if err := a.c.rdb.Set(ctx, a.c.Key("apq", forged), "{ admin { secrets } }", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, hash, want string
		ok               bool
	}{
		{name: "registered on the other replica", hash: hash, want: query, ok: true},
		{name: "never registered", hash: queryHash("{ c }"), ok: false},
		{name: "too large to share", hash: queryHash(big), ok: false},
		{name: "not a lower-case sha256", hash: strings.ToUpper(queryHash("{ b }")), ok: false},
		{name: "value does not hash to the key", hash: forged, ok: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := b.Get(ctx, tc.hash)
			if ok != tc.ok || got != tc.want {
				t.Errorf("Get = %q, %v; want %q, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
	if ttl := a.c.rdb.TTL(ctx, a.c.Key("apq", hash)).Val(); ttl <= APQTTL-time.Minute || ttl > APQTTL {
		t.Errorf("TTL %s, want %s", ttl, APQTTL)
	}
	if hits, misses := value(t, m.apqHits), value(t, m.apqMisses); hits != 1 || misses != 4 {
		t.Errorf("hits %v misses %v, want 1 and 4", hits, misses)
	}
}

// TestAPQ_RedisDown: with Redis gone or paused, Get is a miss and Add does nothing, each within about
// CallTimeout.
func TestAPQ_RedisDown(t *testing.T) {
	noLeaks(t)
	srv := fleettest.Start(t)
	m := newTestMetrics(t)
	c := newTestClient(t, srv)
	a := NewAPQ(c, m)
	ctx := context.Background()
	hash := queryHash("{ a }")
	a.Add(ctx, hash, "{ a }")
	if err := c.rdb.ClientPause(ctx, 2*time.Second).Err(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, ok := a.Get(ctx, hash); ok {
		t.Error("a hit from a paused Redis")
	}
	if d := time.Since(start); d > 3*CallTimeout {
		t.Errorf("Get with Redis paused took %s", d)
	}
	if value(t, m.errors.WithLabelValues("apq")) != 1 {
		t.Error("the slow call is not counted in conflux_redis_errors_total{use=apq}")
	}
	srv.Stop()
	start = time.Now()
	a.Add(ctx, queryHash("{ b }"), "{ b }")
	if _, ok := a.Get(ctx, hash); ok {
		t.Error("a hit with Redis down")
	}
	if d := time.Since(start); d > 2*CallTimeout {
		t.Errorf("Add and Get with Redis down took %s", d)
	}
}
