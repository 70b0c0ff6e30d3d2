package sources

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// rateLimiterFunc is a RateLimiter fake that records its calls.
type rateLimiterFunc struct {
	allow func() (bool, time.Duration)
	calls int
}

func (f *rateLimiterFunc) Allow(context.Context) (bool, time.Duration) {
	f.calls++
	return f.allow()
}

// TestWithRateLimiter: an external limiter takes the place of limits.rate's token bucket: what it refuses is
// RATE_LIMITED with its Retry-After and never reaches the backend; what it admits goes, however far past the
// local bucket's rate. A source without limits.rate ignores it.
func TestWithRateLimiter(t *testing.T) {
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`1`)) })
	for _, tc := range []struct {
		name      string
		limits    LimitsConfig
		allow     bool
		requests  int
		wantCalls int
		wantHits  int64
		wantCode  Code
	}{
		{name: "admitted past the local rate", limits: LimitsConfig{Rate: 1, Burst: 1}, allow: true, requests: 5, wantCalls: 5, wantHits: 5},
		{name: "refused", limits: LimitsConfig{Rate: 1000, Burst: 100}, allow: false, requests: 3, wantCalls: 3, wantHits: 0, wantCode: CodeRateLimited},
		{name: "no limits.rate: not asked", limits: LimitsConfig{}, allow: false, requests: 2, wantCalls: 0, wantHits: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b.hits.Store(0)
			rl := &rateLimiterFunc{allow: func() (bool, time.Duration) { return tc.allow, 7 * time.Second }}
			h, err := NewHTTP(HTTPConfig{Name: "crm", Endpoints: []string{b.URL}, Dedup: new(false), Limits: tc.limits}, WithRateLimiter(rl))
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			for range tc.requests {
				_, err := h.Do(context.Background(), &Request{Path: "/x"})
				var se *Error
				switch {
				case tc.wantCode == "" && err != nil:
					t.Fatalf("Do: %v", err)
				case tc.wantCode != "" && (!errors.As(err, &se) || se.Code != tc.wantCode || se.RetryAfter != 7*time.Second):
					t.Fatalf("Do: %v, want %s with Retry-After 7s", err, tc.wantCode)
				}
			}
			if rl.calls != tc.wantCalls || b.hits.Load() != tc.wantHits {
				t.Errorf("limiter asked %d times, backend hit %d times; want %d and %d", rl.calls, b.hits.Load(), tc.wantCalls, tc.wantHits)
			}
		})
	}
}

// TestLimiter_RateUnderContention: callers hammering the token bucket together get the rate and the burst,
// not less, and every refusal says when to come back.
func TestLimiter_RateUnderContention(t *testing.T) {
	const rate, burst, window = 100, 10, time.Second
	l := newLimiter(LimitsConfig{Rate: rate, Burst: burst})
	var admitted atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range 8 {
		wg.Go(func() {
			for time.Since(start) < window {
				release, _, retryAfter := l.acquire(context.Background())
				if release == nil {
					if retryAfter <= 0 {
						t.Error("refused without a retry-after")
						return
					}
				} else {
					admitted.Add(1)
					release()
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
	wg.Wait()
	want := int64(rate*time.Since(start).Seconds()) + burst
	if got := admitted.Load(); got < want-3 || got > want+1 {
		t.Errorf("admitted %d in %s, want the rate and burst: %d", got, time.Since(start), want)
	}
}
