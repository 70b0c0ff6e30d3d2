package sources

import (
	"math/rand/v2"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// latencySamples is how many recent latencies an endpoint keeps for its percentiles.
const latencySamples = 512

// endpoint is one base URL of a source with its live health: passive (outcomes, latency, breaker) and active
// (probe). Safe for concurrent use.
type endpoint struct {
	url     *url.URL
	name    string
	weight  int
	breaker *breaker

	inFlight  atomic.Int64
	successes atomic.Int64
	failures  atomic.Int64
	probeOK   atomic.Bool

	mu        sync.Mutex
	ewma      float64 // milliseconds
	samples   [latencySamples]float64
	nSamples  int
	lastErr   string
	lastErrAt time.Time
	current   int // smooth weighted round robin state
}

// record notes one attempt's outcome.
func (e *endpoint) record(latency time.Duration, failed bool, errText string, now time.Time) {
	ms := float64(latency) / float64(time.Millisecond)
	e.mu.Lock()
	if e.nSamples == 0 {
		e.ewma = ms
	} else {
		e.ewma = 0.8*e.ewma + 0.2*ms
	}
	e.samples[e.nSamples%latencySamples] = ms
	e.nSamples++
	if failed {
		e.lastErr, e.lastErrAt = errText, now
	}
	e.mu.Unlock()
	if failed {
		e.failures.Add(1)
	} else {
		e.successes.Add(1)
	}
	e.breaker.Record(failed)
}

// score orders endpoints for least_latency: expected wait for one more request.
func (e *endpoint) score() float64 {
	e.mu.Lock()
	ewma := e.ewma
	e.mu.Unlock()
	return (ewma + 1) * float64(e.inFlight.Load()+1)
}

// EndpointStatus is an endpoint's live state, for the admin API and metrics.
type EndpointStatus struct {
	URL       string
	Healthy   bool
	Breaker   BreakerState
	InFlight  int64
	Successes int64
	Failures  int64
	// Latencies in milliseconds: an EWMA and percentiles of the last 512 attempts.
	LatencyEWMA, P50, P95, P99 float64
	LastError                  string
	LastErrorAt                time.Time
}

func (e *endpoint) status() EndpointStatus {
	st := EndpointStatus{URL: e.name, Breaker: e.breaker.State(), InFlight: e.inFlight.Load(),
		Successes: e.successes.Load(), Failures: e.failures.Load()}
	st.Healthy = e.probeOK.Load() && st.Breaker != BreakerOpen
	e.mu.Lock()
	n := min(e.nSamples, latencySamples)
	lat := slices.Clone(e.samples[:n])
	st.LatencyEWMA, st.LastError, st.LastErrorAt = e.ewma, e.lastErr, e.lastErrAt
	e.mu.Unlock()
	if n > 0 {
		slices.Sort(lat)
		at := func(q float64) float64 { return lat[min(n-1, int(q*float64(n)))] }
		st.P50, st.P95, st.P99 = at(0.50), at(0.95), at(0.99)
	}
	return st
}

// pool picks an endpoint per attempt by the source's strategy. An endpoint leaves rotation while its breaker is
// open or its probe failed, and comes back through a half-open trial or a passing probe. Safe for concurrent use.
type pool struct {
	endpoints []*endpoint
	strategy  string
	next      atomic.Uint64
	wmu       sync.Mutex
}

// pick returns the endpoint for an attempt, avoiding exclude (the endpoint that just failed) when another is
// available, or nil when every breaker is open. The caller must record the attempt's outcome.
//
// A retry (exclude set) does not take a turn of round_robin or weighted: it goes to the endpoint the next request
// would get. Otherwise, with two endpoints and one failing, every request would start on the failing one (its
// retry having moved the rotation past the healthy one).
func (p *pool) pick(exclude *endpoint) *endpoint {
	order := p.order(exclude != nil)
	for _, pass := range []int{0, 1, 2} {
		for _, e := range order {
			switch {
			case pass == 0 && (e == exclude || !e.probeOK.Load()):
				continue
			case pass == 1 && !e.probeOK.Load():
				continue
			}
			if e.breaker.Allow() {
				return e
			}
		}
	}
	return nil
}

// order lists the endpoints in the order the strategy prefers them for this attempt; a retry peeks at the
// rotation without advancing it.
func (p *pool) order(retry bool) []*endpoint {
	n := len(p.endpoints)
	if n == 1 {
		return p.endpoints
	}
	out := make([]*endpoint, 0, n)
	switch p.strategy {
	case "failover":
		return p.endpoints
	case "least_latency":
		// Power of two choices: compare two random endpoints by expected wait, prefer the better one.
		i, j := rand.IntN(n), rand.IntN(n-1)
		if j >= i {
			j++
		}
		a, b := p.endpoints[i], p.endpoints[j]
		if b.score() < a.score() {
			a, b = b, a
		}
		out = append(out, a, b)
		for _, e := range p.endpoints {
			if e != a && e != b {
				out = append(out, e)
			}
		}
		return out
	case "weighted":
		// Smooth weighted round robin (as nginx): deterministic, spreads the heavy endpoint's turns.
		p.wmu.Lock()
		total := 0
		var best *endpoint
		for _, e := range p.endpoints {
			total += e.weight
			if best == nil || e.current+e.weight > best.current+best.weight {
				best = e
			}
		}
		if !retry {
			for _, e := range p.endpoints {
				e.current += e.weight
			}
			best.current -= total
		}
		p.wmu.Unlock()
		out = append(out, best)
		for _, e := range p.endpoints {
			if e != best {
				out = append(out, e)
			}
		}
		return out
	}
	next := p.next.Load()
	if !retry {
		next = p.next.Add(1) - 1
	}
	start := int(next % uint64(n))
	for k := 0; k < n; k++ {
		out = append(out, p.endpoints[(start+k)%n])
	}
	return out
}
