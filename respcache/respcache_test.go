package respcache

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestPolicy_Lifetime(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	date := now.Format(http.TimeFormat)
	for _, tc := range []struct {
		name   string
		policy Policy
		header map[string]string
		want   Lifetime
		wantOK bool
	}{
		{"fixed ttl ignores the header", Policy{TTL: 30 * time.Second}, map[string]string{"Cache-Control": "no-store"}, Lifetime{TTL: 30 * time.Second}, true},
		{"max-age", Policy{HonorCacheControl: true}, map[string]string{"Cache-Control": "max-age=10"}, Lifetime{TTL: 10 * time.Second}, true},
		{"s-maxage preferred", Policy{HonorCacheControl: true}, map[string]string{"Cache-Control": "max-age=10, s-maxage=20"}, Lifetime{TTL: 20 * time.Second}, true},
		{"age subtracted", Policy{HonorCacheControl: true}, map[string]string{"Cache-Control": "max-age=10", "Age": "4"}, Lifetime{TTL: 6 * time.Second}, true},
		{"older than max-age", Policy{HonorCacheControl: true}, map[string]string{"Cache-Control": "max-age=10", "Age": "11"}, Lifetime{}, false},
		{"ttl caps", Policy{TTL: 5 * time.Second, HonorCacheControl: true}, map[string]string{"Cache-Control": "max-age=10"}, Lifetime{TTL: 5 * time.Second}, true},
		{"ttl is the default", Policy{TTL: 5 * time.Second, HonorCacheControl: true}, nil, Lifetime{TTL: 5 * time.Second}, true},
		{"nothing to go by", Policy{HonorCacheControl: true}, nil, Lifetime{}, false},
		{"no-store", Policy{TTL: 5 * time.Second, HonorCacheControl: true}, map[string]string{"Cache-Control": "max-age=10, no-store"}, Lifetime{}, false},
		{"vary star", Policy{TTL: 5 * time.Second, HonorCacheControl: true}, map[string]string{"Cache-Control": "max-age=10", "Vary": "Accept, *"}, Lifetime{}, false},
		{"vary on a request header", Policy{HonorCacheControl: true}, map[string]string{"Cache-Control": "max-age=10", "Vary": "Accept-Language"}, Lifetime{TTL: 10 * time.Second}, true},
		{"no-cache", Policy{TTL: 5 * time.Second, HonorCacheControl: true}, map[string]string{"Cache-Control": "No-Cache"}, Lifetime{}, false},
		{"private", Policy{HonorCacheControl: true}, map[string]string{"Cache-Control": "private, max-age=10"}, Lifetime{TTL: 10 * time.Second, Private: true}, true},
		{"max-age=0", Policy{TTL: 5 * time.Second, HonorCacheControl: true}, map[string]string{"Cache-Control": "max-age=0"}, Lifetime{}, false},
		{"expires", Policy{HonorCacheControl: true}, map[string]string{"Date": date, "Expires": now.Add(time.Minute).Format(http.TimeFormat)}, Lifetime{TTL: time.Minute}, true},
		{"max-age beats expires", Policy{HonorCacheControl: true}, map[string]string{"Cache-Control": "max-age=10", "Expires": now.Add(time.Minute).Format(http.TimeFormat)}, Lifetime{TTL: 10 * time.Second}, true},
		{"invalid expires", Policy{TTL: 5 * time.Second, HonorCacheControl: true}, map[string]string{"Expires": "0"}, Lifetime{}, false},
		{"expires in the past", Policy{HonorCacheControl: true}, map[string]string{"Date": date, "Expires": now.Add(-time.Minute).Format(http.TimeFormat)}, Lifetime{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tc.header {
				h.Set(k, v)
			}
			got, ok := tc.policy.Lifetime(h, now)
			if ok != tc.wantOK || (ok && got != tc.want) {
				t.Fatalf("Lifetime = %+v, %v; want %+v, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestCollector_CacheControl(t *testing.T) {
	for _, tc := range []struct {
		name   string
		record func(c *Collector)
		want   string
	}{
		{"nothing fetched", func(c *Collector) {}, "no-store"},
		{"smallest max-age", func(c *Collector) { c.Cached(30*time.Second, false); c.Cached(12500*time.Millisecond, false) }, "public, max-age=12"},
		{"private wins", func(c *Collector) { c.Cached(30*time.Second, false); c.Cached(60*time.Second, true) }, "private, max-age=30"},
		{"an uncached fetch", func(c *Collector) { c.Cached(30*time.Second, false); c.Uncached() }, "no-store"},
		{"under a second", func(c *Collector) { c.Cached(500*time.Millisecond, false) }, "no-store"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, c := WithCollector(context.Background())
			tc.record(c)
			if got := c.CacheControl(); got != tc.want {
				t.Fatalf("CacheControl = %q, want %q", got, tc.want)
			}
		})
	}
	var none *Collector
	none.Cached(time.Second, false) // a request without a collector records nothing
	if got := none.CacheControl(); got != "no-store" {
		t.Fatalf("nil collector: %q", got)
	}
}

func TestCache_BoundsAndPurge(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c, err := New(Config{MaxBytes: 10 << 10, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	big := []byte(strings.Repeat("x", 1000))
	for i := range 50 {
		c.Put(ctx, c.Mark(), string(rune('a'+i)), "T.f", "", big, nil, time.Minute, true)
	}
	if c.lru.Bytes() > 10<<10 || c.Len() >= 50 {
		t.Fatalf("cache holds %d bytes in %d entries, bound 10 KiB", c.lru.Bytes(), c.Len())
	}
	c.Put(ctx, c.Mark(), "k1", "T.f", "1", []byte("one"), "one", time.Minute, true)
	c.Put(ctx, c.Mark(), "k2", "T.f", "2", []byte("two"), "two", time.Minute, true)
	c.Put(ctx, c.Mark(), "k3", "T.g", "1", []byte("three"), "three", time.Minute, true)
	if err := c.Purge(ctx, "T.f", "1"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		key, binding, pk string
		want             bool
	}{{"k1", "T.f", "1", false}, {"k2", "T.f", "2", true}, {"k3", "T.g", "1", true}} {
		if _, _, ok := c.Get(ctx, tc.key, tc.binding, tc.pk, decodeText); ok != tc.want {
			t.Fatalf("after purging T.f key 1: %s found %v, want %v", tc.key, ok, tc.want)
		}
	}
	c.Put(ctx, c.Mark(), "k1", "T.f", "1", []byte("one again"), "one again", time.Minute, true)
	if v, _, ok := c.Get(ctx, "k1", "T.f", "1", decodeText); !ok || v != "one again" {
		t.Fatalf("stored after the purge: %q, %v", v, ok)
	}
	_ = c.Purge(ctx, "T.f", "")
	if _, _, ok := c.Get(ctx, "k2", "T.f", "2", decodeText); ok {
		t.Fatal("k2 survived the purge of its binding")
	}
}

func decodeText(b []byte) (any, error) { return string(b), nil }

// TestCache_PutAcrossPurge: an answer whose fetch began before a purge of its binding or key is stored nowhere;
// one that began after it is stored.
func TestCache_PutAcrossPurge(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, purgeBinding, purgeKey string
		want                         bool
	}{
		{"binding purged", "T.f", "", false},
		{"key purged", "T.f", "1", false},
		{"another key purged", "T.f", "2", true},
		{"another binding purged", "T.g", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sh := &recShared{}
			c, err := New(Config{Shared: sh})
			if err != nil {
				t.Fatal(err)
			}
			mark := c.Mark()
			_ = c.Purge(ctx, tc.purgeBinding, tc.purgeKey)
			c.Put(ctx, mark, "k", "T.f", "1", []byte("v"), "v", time.Minute, true)
			if _, _, ok := c.Get(ctx, "k", "T.f", "1", decodeText); ok != tc.want {
				t.Fatalf("found %v, want %v", ok, tc.want)
			}
			if (sh.sets > 0) != tc.want {
				t.Fatalf("shared Set called %d times, want stored %v", sh.sets, tc.want)
			}
		})
	}
}

// recShared is a Shared that stores nothing and counts Sets.
type recShared struct{ sets int }

func (s *recShared) Get(context.Context, string, string, string) ([]byte, time.Duration, bool) {
	return nil, 0, false
}
func (s *recShared) Set(context.Context, string, string, string, []byte, time.Duration, time.Time) {
	s.sets++
}
func (s *recShared) Purge(context.Context, string, string) error { return nil }

// TestPurges_RecordAll: after RecordAll (purges may have been missed) every entry stored before is a miss, and
// what is stored afterwards is kept.
func TestPurges_RecordAll(t *testing.T) {
	ctx := context.Background()
	p := NewPurges()
	c, err := New(Config{Purges: p})
	if err != nil {
		t.Fatal(err)
	}
	c.Put(ctx, c.Mark(), "a", "T.f", "1", []byte("a"), "a", time.Minute, false)
	c.Put(ctx, c.Mark(), "b", "T.g", "", []byte("b"), "b", time.Minute, false)
	p.RecordAll()
	for _, k := range []string{"a", "b"} {
		if _, _, ok := c.Get(ctx, k, map[string]string{"a": "T.f", "b": "T.g"}[k], "", decodeText); ok {
			t.Fatalf("%s survived RecordAll", k)
		}
	}
	c.Put(ctx, c.Mark(), "a", "T.f", "1", []byte("a2"), "a2", time.Minute, false)
	if v, _, ok := c.Get(ctx, "a", "T.f", "1", decodeText); !ok || v != "a2" {
		t.Fatalf("stored after RecordAll: %v, %v", v, ok)
	}
}

// TestPurges_Bounded: purges of ever new bindings (announcements come through a Redis that may be shared) are
// recorded in bounded memory, and what they purge stays purged.
func TestPurges_Bounded(t *testing.T) {
	ctx := context.Background()
	p := NewPurges()
	c, err := New(Config{Purges: p})
	if err != nil {
		t.Fatal(err)
	}
	c.Put(ctx, c.Mark(), "a", "T.f", "", []byte("a"), "a", time.Minute, false)
	p.Record("T.f", "")
	for i := range 3 * maxPurged {
		p.Record("B"+strconv.Itoa(i), "")
	}
	p.mu.Lock()
	n := len(p.purged)
	p.mu.Unlock()
	if n > maxPurged {
		t.Fatalf("%d purges recorded, bound %d", n, maxPurged)
	}
	if _, _, ok := c.Get(ctx, "a", "T.f", "", decodeText); ok {
		t.Fatal("an entry purged before the bound was reached is served")
	}
}
