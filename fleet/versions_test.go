package fleet_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conflux-gql/conflux/fleet"
	"github.com/conflux-gql/conflux/fleet/fleettest"
	"go.uber.org/goleak"
)

// leakCheck verifies, after every cleanup of the test has run, that the test left no goroutine behind.
func leakCheck(t *testing.T) {
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
}

func newVersions(t *testing.T, srv *fleettest.Server) *fleet.Versions {
	t.Helper()
	c, err := fleet.New(fleet.Config{URL: srv.URL(), Prefix: "v"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return fleet.NewVersions(c)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	t.Cleanup(cancel)
	return c
}

// TestVersions_PublishCompareAndSet: versions are numbered 1, 2, 3…; a publish on a base that is no longer the
// newest is refused with a ConflictError naming the newest, and stores nothing.
func TestVersions_PublishCompareAndSet(t *testing.T) {
	leakCheck(t)
	srv := fleettest.Start(t)
	s := newVersions(t, srv)
	if h, err := s.Head(ctx(t)); err != nil || h != (fleet.Head{}) {
		t.Fatalf("Head of an empty store = %v, %v", h, err)
	}
	if _, ok, err := s.Latest(ctx(t)); ok || err != nil {
		t.Fatalf("Latest of an empty store: ok %v, %v", ok, err)
	}
	v1 := fleet.Version{ID: "a", Config: []byte("schema: [a.graphqls]\n"), Files: map[string][]byte{"a.graphqls": []byte("type Query { a: Int }")}, Origin: "r1"}
	h1, err := s.Publish(ctx(t), fleet.Head{}, v1)
	if err != nil || h1 != (fleet.Head{Seq: 1, ID: "a"}) {
		t.Fatalf("first publish = %v, %v", h1, err)
	}
	_, err = s.Publish(ctx(t), fleet.Head{}, fleet.Version{ID: "b", Origin: "r2"})
	var ce *fleet.ConflictError
	if !errors.Is(err, fleet.ErrConflict) || !errors.As(err, &ce) || ce.Newest != 1 || ce.Base != 0 {
		t.Fatalf("publish on a stale base: %v", err)
	}
	// The same number with another content (Redis lost its data and was seeded again) is another head.
	if _, err := s.Publish(ctx(t), fleet.Head{Seq: 1, ID: "other"}, fleet.Version{ID: "b"}); !errors.Is(err, fleet.ErrConflict) {
		t.Fatalf("publish on a head with the newest number but another content: %v", err)
	}
	if h, err := s.Publish(ctx(t), h1, fleet.Version{ID: "b", Origin: "r2"}); err != nil || h.Seq != 2 {
		t.Fatalf("publish on the newest = %v, %v", h, err)
	}
	if h, err := s.Head(ctx(t)); err != nil || h != (fleet.Head{Seq: 2, ID: "b"}) {
		t.Fatalf("Head = %v, %v", h, err)
	}
	got, ok, err := s.Get(ctx(t), 1)
	if err != nil || !ok || got.ID != "a" || string(got.Files["a.graphqls"]) != "type Query { a: Int }" || got.Seq != 1 || got.Origin != "r1" || got.At.IsZero() {
		t.Fatalf("Get(1) = %+v, %v, %v", got, ok, err)
	}
	latest, ok, err := s.Latest(ctx(t))
	if err != nil || !ok || latest.ID != "b" || latest.Seq != 2 {
		t.Fatalf("Latest = %+v, %v, %v", latest, ok, err)
	}
}

// TestVersions_ConcurrentPublish: of many replicas publishing on the same base at once, exactly one wins.
func TestVersions_ConcurrentPublish(t *testing.T) {
	srv := fleettest.Start(t)
	s := newVersions(t, srv)
	var wg sync.WaitGroup
	var mu sync.Mutex
	won, lost := 0, 0
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Publish(ctx(t), fleet.Head{}, fleet.Version{ID: fmt.Sprint(i)})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case errors.Is(err, fleet.ErrConflict):
				lost++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if won != 1 || lost != 7 {
		t.Fatalf("won %d, lost %d; want 1 and 7", won, lost)
	}
}

// TestVersions_ListKeepsTheLast50: history is bounded; List returns the kept versions oldest first.
func TestVersions_ListKeepsTheLast50(t *testing.T) {
	srv := fleettest.Start(t)
	s := newVersions(t, srv)
	const total = fleet.KeepVersions + 7
	var h fleet.Head
	for i := range int64(total) {
		var err error
		if h, err = s.Publish(ctx(t), h, fleet.Version{ID: fmt.Sprint(i + 1)}); err != nil {
			t.Fatal(err)
		}
	}
	vs, err := s.List(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != fleet.KeepVersions || vs[0].Seq != total-fleet.KeepVersions+1 || vs[len(vs)-1].Seq != total {
		t.Fatalf("List: %d versions, %d..%d", len(vs), vs[0].Seq, vs[len(vs)-1].Seq)
	}
	if _, ok, _ := s.Get(ctx(t), 1); ok {
		t.Error("version 1 is still kept")
	}
}

// TestVersions_Subscribe: a publish is announced to subscribers; the subscription ends with its context, and it
// survives Redis restarting.
func TestVersions_Subscribe(t *testing.T) {
	leakCheck(t)
	srv := fleettest.Start(t)
	s := newVersions(t, srv)
	sctx, cancel := context.WithCancel(context.Background())
	sub := s.Subscribe(sctx)
	publish := func(base fleet.Head) {
		t.Helper()
		// The subscription may not be registered yet: publish until announced.
		deadline := time.Now().Add(5 * time.Second)
		for {
			h, err := s.Publish(ctx(t), base, fleet.Version{ID: "x"})
			if err != nil && !errors.Is(err, fleet.ErrUnavailable) {
				t.Fatal(err)
			}
			select {
			case got := <-sub:
				if err == nil && got == h.Seq {
					return
				}
				if err == nil && got != h.Seq {
					t.Fatalf("announced %d, published %d", got, h.Seq)
				}
			case <-time.After(100 * time.Millisecond):
			}
			if err == nil {
				base = h
			}
			if time.Now().After(deadline) {
				t.Fatal("no announcement")
			}
		}
	}
	publish(fleet.Head{})
	srv.Stop()
	srv.Start() // empty again: --save ""
	waitFor(t, s.Healthy)
	publish(fleet.Head{})
	cancel()
	for range sub {
	}
}

// TestVersions_Unavailable: with Redis gone, calls fail at once with ErrUnavailable instead of waiting.
func TestVersions_Unavailable(t *testing.T) {
	srv := fleettest.Start(t)
	s := newVersions(t, srv)
	srv.Stop()
	waitFor(t, func() bool { return !s.Healthy() })
	start := time.Now()
	if _, err := s.Publish(ctx(t), fleet.Head{}, fleet.Version{ID: "a"}); !errors.Is(err, fleet.ErrUnavailable) {
		t.Errorf("Publish: %v", err)
	}
	if _, err := s.Head(ctx(t)); !errors.Is(err, fleet.ErrUnavailable) {
		t.Errorf("Head: %v", err)
	}
	if d := time.Since(start); d > 50*time.Millisecond {
		t.Errorf("calls took %v with Redis known down", d)
	}
}

// TestVersions_HostileValues: what Redis holds under the prefix is checked like input (Redis may be shared, or
// written by an incompatible Conflux): a head or a version that is huge, does not parse, or is not the version
// it is stored as is an error, read without reading it whole, and never a panic.
func TestVersions_HostileValues(t *testing.T) {
	srv := fleettest.Start(t)
	c, err := fleet.New(fleet.Config{URL: srv.URL(), Prefix: "h"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := fleet.NewVersions(c)
	huge := strings.Repeat("x", fleet.MaxVersionBytes+10)
	valid := func(seq int64) string {
		b, _ := json.Marshal(fleet.Version{Seq: seq, ID: "id", Config: []byte("schema: [a.graphqls]\n")})
		return string(b)
	}
	for _, tc := range []struct{ name, head, version string }{
		{"huge version", "1 id", `{"seq":1,"config":"` + huge + `"}`},
		{"not JSON", "1 id", "\x00\x01garbage"},
		{"another version's seq", "1 id", valid(7)},
		{"negative head", "-5 id", valid(1)},
		{"head not a number", "one id", valid(1)},
		{"huge head", "1 " + huge, valid(1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rdb := c.Redis()
			if err := rdb.Set(ctx(t), "h:config:head", tc.head, 0).Err(); err != nil {
				t.Fatal(err)
			}
			if err := rdb.Set(ctx(t), "h:config:v:1", tc.version, 0).Err(); err != nil {
				t.Fatal(err)
			}
			if _, ok, err := s.Latest(ctx(t)); err == nil || ok {
				t.Errorf("Latest: ok %v, error %v; want an error", ok, err)
			}
			if _, err := s.List(ctx(t)); err == nil {
				t.Error("List: no error")
			}
		})
	}
	t.Run("a version too large to publish", func(t *testing.T) {
		if _, err := s.Publish(ctx(t), fleet.Head{Seq: 1, ID: "id"}, fleet.Version{ID: "big", Config: []byte(huge)}); err == nil || errors.Is(err, fleet.ErrConflict) {
			t.Fatalf("Publish: %v, want refused for its size", err)
		}
	})
}
