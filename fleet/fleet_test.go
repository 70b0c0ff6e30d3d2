package fleet_test

import (
	"context"
	"testing"
	"time"

	"github.com/conflux-gql/conflux/fleet"
	"github.com/conflux-gql/conflux/fleet/fleettest"
	"go.uber.org/goleak"
)

// TestClient_Health: the client reports Redis's health, turns unhealthy when Redis dies and runs its OnUp hooks
// when Redis comes back; New never fails because Redis is down.
func TestClient_Health(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv := fleettest.Start(t)
	c, err := fleet.New(fleet.Config{URL: srv.URL(), Prefix: "t"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	up := make(chan struct{}, 4)
	c.OnUp(func() { up <- struct{}{} })
	if !c.Healthy() {
		t.Fatal("not healthy with Redis up")
	}
	if got := c.Key("apq", "abc"); got != "t:apq:abc" {
		t.Errorf("Key = %q", got)
	}
	srv.Stop()
	waitFor(t, func() bool { return !c.Healthy() })
	srv.Start()
	select {
	case <-up:
	case <-time.After(5 * time.Second):
		t.Fatal("OnUp not called after Redis came back")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := c.Redis().Set(ctx, c.Key("x"), "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
}

// TestNew_RedisDown: a client of a Redis that is not there starts, unhealthy; a bad URL is an error.
func TestNew_RedisDown(t *testing.T) {
	c, err := fleet.New(fleet.Config{URL: "redis://127.0.0.1:1/0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Healthy() {
		t.Error("healthy without Redis")
	}
	if _, err := fleet.New(fleet.Config{URL: "http://x"}, nil); err == nil {
		t.Error("a non-redis URL was accepted")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
