package sources

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// clock is a fake time source for breaker tests.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestBreaker(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	var states []string
	b := newBreaker(BreakerConfig{Failures: 3, Cooldown: time.Second}, c.now)
	b.onChange = func(s BreakerState) { states = append(states, s.String()) }

	for i := 0; i < 3; i++ {
		if !b.Allow() {
			t.Fatalf("closed breaker refused request %d", i)
		}
		b.Record(true)
	}
	if b.State() != BreakerOpen || b.Allow() {
		t.Fatal("3 consecutive failures must open the breaker")
	}
	c.advance(time.Second)
	if !b.Allow() {
		t.Fatal("after the cooldown one trial must pass")
	}
	if b.Allow() {
		t.Fatal("only one trial at a time in half-open")
	}
	b.Record(true) // the trial fails: open again
	if b.State() != BreakerOpen {
		t.Fatal("a failed trial must reopen")
	}
	c.advance(time.Second)
	b.Allow()
	b.Record(false) // the trial passes: closed
	if b.State() != BreakerClosed || !b.Allow() {
		t.Fatal("a passing trial must close")
	}
	if got := strings.Join(states, ","); got != "open,half_open,open,half_open,closed" {
		t.Errorf("transitions = %s", got)
	}
}

func TestBreaker_ErrorRate(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	b := newBreaker(BreakerConfig{ErrorRate: 0.5, MinRequests: 10, Window: time.Minute, Cooldown: time.Second}, c.now)
	for i := 0; i < 9; i++ {
		b.Allow()
		b.Record(i%2 == 0) // 5 failures of 9: below MinRequests
	}
	if b.State() != BreakerClosed {
		t.Fatal("opened before MinRequests")
	}
	b.Allow()
	b.Record(true) // 6 of 10 failed
	if b.State() != BreakerOpen {
		t.Fatal("60% errors over 10 requests must open at a 50% threshold")
	}
}

func TestPool_Strategies(t *testing.T) {
	mk := func(strategy string, weights ...int) *pool {
		p := &pool{strategy: strategy}
		for i, w := range weights {
			e := &endpoint{name: string(rune('a' + i)), weight: w, breaker: newBreaker(BreakerConfig{}, time.Now)}
			e.probeOK.Store(true)
			p.endpoints = append(p.endpoints, e)
		}
		return p
	}
	count := func(p *pool, n int) string {
		got := map[string]int{}
		for i := 0; i < n; i++ {
			got[p.pick(nil).name]++
		}
		var b strings.Builder
		for _, e := range p.endpoints {
			b.WriteString(e.name)
			b.WriteString("=")
			b.WriteString(strings.Repeat("|", got[e.name]))
			b.WriteString(" ")
		}
		return b.String()
	}
	if got := count(mk("round_robin", 1, 1, 1), 6); got != "a=|| b=|| c=|| " {
		t.Errorf("round_robin: %s", got)
	}
	if got := count(mk("weighted", 3, 1), 8); got != "a=|||||| b=|| " {
		t.Errorf("weighted 3:1: %s", got)
	}
	if got := count(mk("failover", 1, 1), 4); got != "a=|||| b= " {
		t.Errorf("failover: %s", got)
	}
	// failover moves on when the first endpoint leaves rotation.
	p := mk("failover", 1, 1)
	p.endpoints[0].probeOK.Store(false)
	if got := count(p, 3); got != "a= b=||| " {
		t.Errorf("failover with a: down: %s", got)
	}
	// least_latency prefers the endpoint with the lower latency EWMA.
	p = mk("least_latency", 1, 1)
	p.endpoints[0].record(50*time.Millisecond, false, "", time.Now())
	p.endpoints[1].record(time.Millisecond, false, "", time.Now())
	if got := count(p, 20); got != "a= b=|||||||||||||||||||| " {
		t.Errorf("least_latency: %s", got)
	}
	// An open breaker takes its endpoint out; with every breaker open there is none.
	p = mk("round_robin", 1)
	p.endpoints[0].breaker = newBreaker(BreakerConfig{Failures: 1, Cooldown: time.Hour}, time.Now)
	p.endpoints[0].breaker.Allow()
	p.endpoints[0].breaker.Record(true)
	if p.pick(nil) != nil {
		t.Error("pick returned an endpoint whose breaker is open")
	}
}

// TestHTTP_CircuitOpen: after the breaker opens, requests fail fast with CIRCUIT_OPEN without reaching the
// backend, or go to the other endpoint.
func TestHTTP_CircuitOpen(t *testing.T) {
	bad := newBackend(t, status(500))
	h := newHTTP(t, HTTPConfig{Endpoints: []string{bad.URL}, Breaker: BreakerConfig{Failures: 2, Cooldown: time.Hour}})
	for i := 0; i < 2; i++ {
		h.Do(context.Background(), &Request{Path: "/x"})
	}
	_, err := h.Do(context.Background(), &Request{Path: "/x"})
	var se *Error
	if !errors.As(err, &se) || se.Code != CodeCircuitOpen {
		t.Fatalf("err = %v, want CIRCUIT_OPEN", err)
	}
	if bad.hits.Load() != 2 {
		t.Errorf("backend hits = %d, want 2 (the open breaker must not call it)", bad.hits.Load())
	}
	if st := h.Status(); st.Endpoints[0].Breaker != BreakerOpen || st.Endpoints[0].Healthy || st.Endpoints[0].Failures != 2 {
		t.Errorf("status = %+v", st.Endpoints[0])
	}

	good := newBackend(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`1`)) })
	h2 := newHTTP(t, HTTPConfig{Endpoints: []string{bad.URL, good.URL}, Breaker: BreakerConfig{Failures: 1, Cooldown: time.Hour}})
	for i := 0; i < 6; i++ {
		h2.Do(context.Background(), &Request{Path: "/x"})
	}
	if good.hits.Load() < 5 {
		t.Errorf("good endpoint hits = %d, want the traffic once the bad one's breaker opened", good.hits.Load())
	}
}

// TestHTTP_Limits: past the concurrency cap a request waits briefly, then fails fast with RATE_LIMITED; past the
// rate it fails with a Retry-After.
func TestHTTP_Limits(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{}, 4)
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		w.Write([]byte(`1`))
	})
	h := newHTTP(t, HTTPConfig{Endpoints: []string{b.URL}, Dedup: new(false), Limits: LimitsConfig{Concurrency: 2, QueueTimeout: 10 * time.Millisecond}})
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); h.Do(context.Background(), &Request{Path: "/x"}) }()
	}
	<-arrived
	<-arrived
	_, err := h.Do(context.Background(), &Request{Path: "/x"})
	var se *Error
	if !errors.As(err, &se) || se.Code != CodeRateLimited || !strings.Contains(se.Error(), "concurrency limit") {
		t.Errorf("third request: %v, want RATE_LIMITED by concurrency", err)
	}
	close(release)
	wg.Wait()

	r := newBackend(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`1`)) })
	h = newHTTP(t, HTTPConfig{Endpoints: []string{r.URL}, Dedup: new(false), Limits: LimitsConfig{Rate: 1, Burst: 1}})
	h.Do(context.Background(), &Request{Path: "/x"})
	_, err = h.Do(context.Background(), &Request{Path: "/x"})
	if !errors.As(err, &se) || se.Code != CodeRateLimited || se.RetryAfter <= 0 {
		t.Errorf("over the rate: %v, want RATE_LIMITED with RetryAfter", err)
	}
}

// TestHTTP_RetryBudget: with every request failing, retries stay within the budget's share of requests.
func TestHTTP_RetryBudget(t *testing.T) {
	b := newBackend(t, status(503))
	h := newHTTP(t, HTTPConfig{Endpoints: []string{b.URL}, Dedup: new(false),
		Retry: RetryConfig{Attempts: 3, Backoff: time.Microsecond, Budget: 0.1}})
	const requests = 100
	for i := 0; i < requests; i++ {
		h.Do(context.Background(), &Request{Path: "/x"})
	}
	retries := b.hits.Load() - requests
	// 3 initial tokens plus 0.1 per request.
	if retries > 3+requests/10 || retries < requests/10 {
		t.Errorf("%d retries for %d requests with a 10%% budget", retries, requests)
	}
}

func TestHTTP_Dedup(t *testing.T) {
	release := make(chan struct{})
	var hits atomic.Int64
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		<-release
		w.Write([]byte(`{"v":1}`))
	})
	h := newHTTP(t, HTTPConfig{Endpoints: []string{b.URL}})
	const n = 10
	var wg sync.WaitGroup
	var started sync.WaitGroup
	started.Add(n)
	results := make([]string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			started.Done()
			resp, err := h.Do(context.Background(), &Request{Path: "/same", Header: http.Header{"Authorization": {"a"}}})
			if err == nil {
				results[i] = string(resp.Body)
			}
		}()
	}
	started.Wait()
	// A request with other credentials is never shared.
	other := make(chan int64, 1)
	go func() {
		h.Do(context.Background(), &Request{Path: "/same", Header: http.Header{"Authorization": {"b"}}})
		other <- 1
	}()
	for hits.Load() < 2 {
		time.Sleep(time.Millisecond)
	}
	// Proving that nothing else arrives needs a window: singleflight does not say who has joined. The
	// goroutines are all running; 200 ms is ample for them to reach Do, and the answer is held until then.
	time.Sleep(200 * time.Millisecond)
	close(release)
	wg.Wait()
	<-other
	if hits.Load() != 2 {
		t.Errorf("backend hits = %d, want 2 (one per credential)", hits.Load())
	}
	for i, r := range results {
		if r != `{"v":1}` {
			t.Errorf("result %d = %q", i, r)
		}
	}
}

// TestHTTP_Probe: an endpoint whose probe fails leaves rotation and comes back when it passes again.
func TestHTTP_Probe(t *testing.T) {
	var down atomic.Bool
	probed := make(chan bool, 100)
	a := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			probed <- down.Load()
			if down.Load() {
				w.WriteHeader(503)
				return
			}
		}
		w.Write([]byte(`"a"`))
	})
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`"b"`)) })
	down.Store(true)
	h := newHTTP(t, HTTPConfig{Endpoints: []string{a.URL, b.URL},
		Health: ProbeConfig{Path: "/healthz", Interval: 5 * time.Millisecond, Failures: 1, Successes: 1}})
	waitProbe := func(wantDown bool) {
		for {
			select {
			case d := <-probed:
				if d == wantDown {
					<-probed // one more round, so the result is stored
					return
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no probe")
			}
		}
	}
	waitProbe(true)
	for i := 0; i < 4; i++ {
		if resp, err := h.Do(context.Background(), &Request{Path: "/x"}); err != nil || string(resp.Body) != `"b"` {
			t.Fatalf("with a's probe failing: %v %s", err, resp.Body)
		}
	}
	down.Store(false)
	waitProbe(false)
	seen := map[string]bool{}
	for i := 0; i < 4; i++ {
		resp, err := h.Do(context.Background(), &Request{Path: "/x"})
		if err != nil {
			t.Fatal(err)
		}
		seen[string(resp.Body)] = true
	}
	if !seen[`"a"`] {
		t.Error("a did not come back into rotation after its probe passed")
	}
}

func TestHTTP_Faults(t *testing.T) {
	tests := []struct {
		name     string
		handle   http.HandlerFunc
		timeout  time.Duration
		wantCode Code
	}{
		{name: "connection reset", handle: func(w http.ResponseWriter, r *http.Request) {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.(*net.TCPConn).SetLinger(0)
			conn.Close()
		}, wantCode: CodeUnavailable},
		{name: "slow-drip body is cut by the deadline", handle: func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`[`))
			w.(http.Flusher).Flush()
			for i := 0; ; i++ {
				select {
				case <-r.Context().Done():
					return
				case <-time.After(5 * time.Millisecond):
					w.Write([]byte(`1,`))
					w.(http.Flusher).Flush()
				}
			}
		}, timeout: 50 * time.Millisecond, wantCode: CodeTimeout},
		{name: "429 with Retry-After", handle: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(429)
		}, wantCode: CodeRateLimited},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBackend(t, tc.handle)
			h := newHTTP(t, HTTPConfig{Endpoints: []string{b.URL}, Timeout: tc.timeout})
			_, err := h.Do(context.Background(), &Request{Path: "/x"})
			var se *Error
			if !errors.As(err, &se) || se.Code != tc.wantCode {
				t.Fatalf("err = %v, want %s", err, tc.wantCode)
			}
			if tc.wantCode == CodeRateLimited && se.RetryAfter != 7*time.Second {
				t.Errorf("RetryAfter = %s, want 7s", se.RetryAfter)
			}
		})
	}
}

func BenchmarkPool_Pick(b *testing.B) {
	for _, strategy := range []string{"round_robin", "least_latency", "weighted", "failover"} {
		b.Run(strategy, func(b *testing.B) {
			p := &pool{strategy: strategy}
			for i := 0; i < 3; i++ {
				e := &endpoint{weight: i + 1, breaker: newBreaker(BreakerConfig{Failures: 5}, time.Now)}
				e.probeOK.Store(true)
				p.endpoints = append(p.endpoints, e)
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					e := p.pick(nil)
					e.record(time.Millisecond, false, "", time.Now())
				}
			})
		})
	}
}

func BenchmarkLimiter_Acquire(b *testing.B) {
	l := newLimiter(LimitsConfig{Concurrency: 1024, Rate: 1e9, Burst: 1 << 20})
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			release, _, _ := l.acquire(ctx)
			release()
		}
	})
}
