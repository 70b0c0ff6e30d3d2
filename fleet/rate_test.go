package fleet

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conflux-gql/conflux/fleet/fleettest"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
)

func newTestClient(t *testing.T, srv *fleettest.Server) *Client {
	t.Helper()
	c, err := New(Config{URL: srv.URL(), Prefix: "t"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func newTestMetrics(t *testing.T) *Metrics {
	t.Helper()
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// hammer calls Allow on every limiter from 4 goroutines each for d and returns how many were allowed.
func hammer(limiters []*RateLimiter, d time.Duration) int64 {
	var allowed atomic.Int64
	var wg sync.WaitGroup
	end := time.Now().Add(d)
	for _, l := range limiters {
		for range 4 {
			wg.Go(func() {
				for time.Now().Before(end) {
					if ok, retry := l.Allow(context.Background()); ok {
						allowed.Add(1)
					} else if retry <= 0 {
						panic("refused without a retry-after")
					}
					time.Sleep(time.Millisecond)
				}
			})
		}
	}
	wg.Wait()
	return allowed.Load()
}

// TestRateLimiter_Global: three replicas' limiters of one source share one budget: over a window they allow at
// most rate × window + burst together (each alone would allow that much), and enough to show it is not
// refusing everything.
func TestRateLimiter_Global(t *testing.T) {
	noLeaks(t)
	srv := fleettest.Start(t)
	const rate, burst, window = 40, 4, 1500 * time.Millisecond
	m := newTestMetrics(t)
	var limiters []*RateLimiter
	for range 3 {
		c := newTestClient(t, srv)
		reps := NewReplicas(c, NewReplicaID(), m)
		t.Cleanup(reps.Close)
		limiters = append(limiters, NewRateLimiter(c, reps, "crm", rate, burst, m))
	}
	got := hammer(limiters, window)
	budget := int64(rate*window.Seconds()) + burst
	t.Logf("allowed %d, budget %d", got, budget)
	if got > budget+1 || got < budget/2 {
		t.Errorf("allowed %d over %s across 3 replicas; want about the budget %d (rate %d/s, burst %d)", got, window, budget, rate, burst)
	}
	for i, l := range limiters {
		if l.Mode() != ModeGlobal {
			t.Errorf("limiter %d in mode %s, want global", i, l.Mode())
		}
	}
	if v := value(t, m.rateMode.WithLabelValues("crm", ModeGlobal)); v != 1 {
		t.Errorf("conflux_rate_limit_mode{mode=global} = %v, want 1", v)
	}
}

// TestRateLimiter_RedisDown: with Redis gone, each replica allows its share: the budget divided by the live
// replicas it last saw (3 here), never failing; when Redis returns the limiter is global again.
func TestRateLimiter_RedisDown(t *testing.T) {
	noLeaks(t)
	srv := fleettest.Start(t)
	const rate, burst, window = 60, 6, time.Second
	m := newTestMetrics(t)
	c := newTestClient(t, srv)
	var reps []*Replicas
	for range 3 {
		r := NewReplicas(c, NewReplicaID(), m)
		t.Cleanup(r.Close)
		reps = append(reps, r)
	}
	waitFor(t, "3 live replicas", func() bool { return reps[0].Live() == 3 })
	l := NewRateLimiter(c, reps[0], "crm", rate, burst, m)
	srv.Stop()
	start := time.Now()
	got := hammer([]*RateLimiter{l}, window)
	if l.Mode() != ModeLocal {
		t.Fatalf("mode %s with Redis down, want local", l.Mode())
	}
	// The share: 20/s, burst 2; the first calls may still have reached the dying Redis.
	share := int64(rate/3*time.Since(start).Seconds()) + burst/3
	t.Logf("allowed %d, share %d", got, share)
	if got > share+2 || got < share/4 {
		t.Errorf("allowed %d in %s with Redis down; want this replica's share, about %d (rate %d/s over 3 replicas)", got, time.Since(start), share, rate)
	}
	if reps[0].Live() != 3 {
		t.Errorf("live replicas %d with Redis down, want the last count 3", reps[0].Live())
	}
	if v := value(t, m.rateMode.WithLabelValues("crm", ModeLocal)); v != 1 {
		t.Errorf("conflux_rate_limit_mode{mode=local} = %v, want 1", v)
	}
	srv.Start()
	waitFor(t, "the global mode again", func() bool {
		l.Allow(context.Background())
		return l.Mode() == ModeGlobal
	})
}

// TestRateLimiter_Slow: a Redis that does not answer (paused for 2s) delays a decision by about CallTimeout, and
// the decision is local.
func TestRateLimiter_Slow(t *testing.T) {
	noLeaks(t)
	srv := fleettest.Start(t)
	c := newTestClient(t, srv)
	reps := NewReplicas(c, NewReplicaID(), nil)
	defer reps.Close()
	l := NewRateLimiter(c, reps, "crm", 100, 10, nil)
	if ok, _ := l.Allow(context.Background()); !ok || l.Mode() != ModeGlobal {
		t.Fatalf("first request: allowed %v in mode %s, want allowed, global", ok, l.Mode())
	}
	pause := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer pause.Close()
	if err := pause.ClientPause(context.Background(), 2*time.Second).Err(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	ok, _ := l.Allow(context.Background())
	// About CallTimeout; the bound leaves room for a loaded machine, far below the 2s pause.
	if d := time.Since(start); d > 3*CallTimeout {
		t.Errorf("a decision with Redis paused took %s, want about CallTimeout (%s)", d, CallTimeout)
	}
	if !ok || l.Mode() != ModeLocal {
		t.Errorf("with Redis paused: allowed %v in mode %s, want allowed, local", ok, l.Mode())
	}
	start = time.Now()
	l.Allow(context.Background())
	if d := time.Since(start); d > 20*time.Millisecond {
		t.Errorf("the next decision took %s: Redis should not be asked until the probe reaches it", d)
	}
}

// TestReplicas_Close: a replica that leaves is no longer counted.
func TestReplicas_Close(t *testing.T) {
	noLeaks(t)
	srv := fleettest.Start(t)
	c := newTestClient(t, srv)
	a := NewReplicas(c, "a", nil)
	defer a.Close()
	b := NewReplicas(c, "b", nil)
	if b.Live() != 2 {
		t.Errorf("b sees %d live replicas, want 2", b.Live())
	}
	b.Close()
	waitFor(t, "a to count 1 replica", func() bool { return a.Live() == 1 })
}

// value reads a counter's or gauge's value.
func value(t *testing.T, m prometheus.Metric) float64 {
	t.Helper()
	var out dto.Metric
	if err := m.Write(&out); err != nil {
		t.Fatal(err)
	}
	if out.Counter != nil {
		return out.Counter.GetValue()
	}
	return out.Gauge.GetValue()
}

// noLeaks checks, after the test's cleanups have run, that it left no goroutine behind.
func noLeaks(t *testing.T) {
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
}

// TestRateLimiter_BurstBoundary: the GCRA allows exactly burst requests at once, then refuses with the time until
// the next emission is due (one interval), and allows again once it is.
func TestRateLimiter_BurstBoundary(t *testing.T) {
	srv := fleettest.Start(t)
	c := newTestClient(t, srv)
	for _, burst := range []int{1, 3} {
		l := NewRateLimiter(c, nil, "burst"+strconv.Itoa(burst), 5, burst, nil) // one request per 200ms
		for i := range burst {
			if ok, _ := l.Allow(context.Background()); !ok {
				t.Fatalf("burst %d: request %d refused", burst, i+1)
			}
		}
		ok, retry := l.Allow(context.Background())
		if ok || retry <= 150*time.Millisecond || retry > 200*time.Millisecond {
			t.Fatalf("burst %d: request %d allowed %v, retry after %v; want refused for about 200ms", burst, burst+1, ok, retry)
		}
		if l.Mode() != ModeGlobal {
			t.Fatalf("mode %s", l.Mode())
		}
		time.Sleep(retry + 10*time.Millisecond)
		if ok, _ := l.Allow(context.Background()); !ok {
			t.Fatalf("burst %d: refused after the retry-after", burst)
		}
	}
}
