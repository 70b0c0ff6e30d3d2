package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conflux-gql/conflux/fleet"
	"github.com/conflux-gql/conflux/fleet/fleettest"
	"github.com/conflux-gql/conflux/schema"
)

// countingBackend answers GET /hello/<n> with "hi <n>" and counts the requests.
type countingBackend struct {
	*httptest.Server
	hits atomic.Int64
}

func newCountingBackend(t *testing.T) *countingBackend {
	t.Helper()
	b := &countingBackend{}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, "%q", "hi "+strings.TrimPrefix(r.URL.Path, "/hello/"))
	}))
	t.Cleanup(b.Close)
	return b
}

// fleetReplica is one Conflux replica of a fleet, in process: its own configuration file, telemetry, Redis
// client and runtime, served over httptest.
type fleetReplica struct {
	t   *testing.T
	srv *httptest.Server
}

// startFleetReplica serves a configuration with one source (api, at backend, with `limits: {rate: rate}` when
// rate > 0) bound to Query.hello, sharing state through the Redis at redisURL under prefix.
func startFleetReplica(t *testing.T, redisURL, prefix, backend string, rate int) *fleetReplica {
	t.Helper()
	dir := t.TempDir()
	limits := ""
	if rate > 0 {
		limits = fmt.Sprintf(", limits: {rate: %d}", rate)
	}
	config := fmt.Sprintf(`schema: [schema.graphqls]
redis: {url: %q, prefix: %s}
sources:
  api:
    http: {endpoints: [%s]%s}
bindings:
  Query.hello: {source: api, path: "/hello/{{args.n}}"}
`, redisURL, prefix, backend, limits)
	for name, content := range map[string]string{"conflux.yaml": config, "schema.graphqls": "type Query { hello(n: Int!): String }\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sg, err := schema.Load(filepath.Join(dir, "conflux.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tel, err := newTelemetry()
	if err != nil {
		t.Fatal(err)
	}
	fl, err := joinFleet(sg, tel, discardLogger())
	if err != nil || fl == nil {
		t.Fatalf("joinFleet: %v, %v", fl, err)
	}
	rt, err := newReplicaRuntime(sg, tel, fl, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(rt)
	s.mux.Handle("GET /metrics", tel.Handler())
	s.ready.Store(true)
	srv := httptest.NewServer(s)
	t.Cleanup(func() {
		srv.Close()
		rt.Close()
		fl.Close()
	})
	return &fleetReplica{t: t, srv: srv}
}

// gqlResult is the part of a GraphQL response the fleet tests read.
type gqlResult struct {
	Data   map[string]any `json:"data"`
	Errors []struct {
		Message    string         `json:"message"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
}

func (r gqlResult) code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

// post sends body to /graphql; a transport failure or a status other than 200 is an error.
func (r *fleetReplica) post(body any) (gqlResult, error) {
	raw, _ := json.Marshal(body)
	resp, err := r.srv.Client().Post(r.srv.URL+"/graphql", "application/json", bytes.NewReader(raw))
	if err != nil {
		return gqlResult{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return gqlResult{}, err
	}
	var out gqlResult
	if resp.StatusCode != http.StatusOK || json.Unmarshal(data, &out) != nil {
		return out, fmt.Errorf("status %d: %s", resp.StatusCode, data)
	}
	return out, nil
}

// persisted sends a persisted query: its hash, and the query itself when register is set.
func (r *fleetReplica) persisted(query string, register bool) gqlResult {
	r.t.Helper()
	sum := sha256.Sum256([]byte(query))
	body := map[string]any{"variables": map[string]any{"n": 1},
		"extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hex.EncodeToString(sum[:])}}}
	if register {
		body["query"] = query
	}
	start := time.Now()
	out, err := r.post(body)
	if err != nil {
		r.t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		r.t.Errorf("a persisted query took %s", d)
	}
	return out
}

// metrics returns the replica's /metrics.
func (r *fleetReplica) metrics() string {
	r.t.Helper()
	resp, err := r.srv.Client().Get(r.srv.URL + "/metrics")
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return string(data)
}

// TestFleet_APQ: a persisted query registered on replica A is found on replica B; with Redis down a replica
// still registers and serves its own persisted queries, and one it never saw is PERSISTED_QUERY_NOT_FOUND as
// on a replica of its own — never a failed request.
func TestFleet_APQ(t *testing.T) {
	redis := fleettest.Start(t)
	backend := newCountingBackend(t)
	a := startFleetReplica(t, redis.URL(), "apq", backend.URL, 0)
	b := startFleetReplica(t, redis.URL(), "apq", backend.URL, 0)
	const q1 = `query One($n: Int!) { hello(n: $n) }`
	const q2 = `query Two($n: Int!) { again: hello(n: $n) }`

	steps := []struct {
		name     string
		replica  *fleetReplica
		query    string
		register bool
		redis    string // "stop" stops Redis before the step
		wantCode string
	}{
		{name: "unknown on B", replica: b, query: q1, wantCode: "PERSISTED_QUERY_NOT_FOUND"},
		{name: "registered on A", replica: a, query: q1, register: true},
		{name: "found on B", replica: b, query: q1},
		{name: "Redis down: registered on A", replica: a, query: q2, register: true, redis: "stop"},
		{name: "Redis down: A has it", replica: a, query: q2},
		{name: "Redis down: B never saw it", replica: b, query: q2, wantCode: "PERSISTED_QUERY_NOT_FOUND"},
		{name: "Redis down: B kept what it found", replica: b, query: q1},
	}
	for _, st := range steps {
		if st.redis == "stop" {
			redis.Stop()
		}
		out := st.replica.persisted(st.query, st.register)
		if out.code() != st.wantCode {
			t.Fatalf("%s: code %q (%+v), want %q", st.name, out.code(), out.Errors, st.wantCode)
		}
		if st.wantCode == "" && len(out.Data) != 1 {
			t.Fatalf("%s: data %v", st.name, out.Data)
		}
	}
	if m := b.metrics(); !strings.Contains(m, "conflux_apq_shared_hits_total 1\n") || !strings.Contains(m, "conflux_apq_shared_misses_total 2\n") {
		t.Errorf("B's /metrics lacks the shared hit and the misses:\n%s", grepLines(m, "conflux_apq", "conflux_redis"))
	}
}

// grepLines returns the lines of s that start with one of the prefixes.
func grepLines(s string, prefixes ...string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		for _, p := range prefixes {
			if strings.HasPrefix(l, p) {
				out = append(out, l)
			}
		}
	}
	return strings.Join(out, "\n")
}

// load sends requests to every replica from workers goroutines each until stop is closed, each request with
// its own argument (so that no two are deduplicated). It counts the answers by code ("" for data) and returns
// the first failure: a transport error, a status other than 200, or an error code other than RATE_LIMITED.
type load struct {
	wg     sync.WaitGroup
	stop   chan struct{}
	n      atomic.Int64
	ok     atomic.Int64
	shed   atomic.Int64
	mu     sync.Mutex
	failed error
}

func startLoad(replicas []*fleetReplica, workers int) *load {
	l := &load{stop: make(chan struct{})}
	for _, r := range replicas {
		for range workers {
			l.wg.Go(func() {
				for {
					select {
					case <-l.stop:
						return
					default:
					}
					out, err := r.post(map[string]any{"query": `query($n: Int!) { hello(n: $n) }`, "variables": map[string]any{"n": l.n.Add(1)}})
					switch {
					case err == nil && out.code() == "":
						l.ok.Add(1)
					case err == nil && out.code() == "RATE_LIMITED":
						l.shed.Add(1)
						// A client backs off a little, as Retry-After asks.
						time.Sleep(2 * time.Millisecond)
					default:
						l.mu.Lock()
						if l.failed == nil {
							l.failed = fmt.Errorf("a request failed: %v %+v", err, out.Errors)
						}
						l.mu.Unlock()
					}
				}
			})
		}
	}
	return l
}

func (l *load) end() error {
	close(l.stop)
	l.wg.Wait()
	return l.failed
}

// hits sums the backends' counters.
func hits(backends []*countingBackend) int64 {
	var n int64
	for _, b := range backends {
		n += b.hits.Load()
	}
	return n
}

// TestFleet_RateLimit: three replicas share one source's `limits: {rate: 60}` (default burst 6). While clients
// hammer all three, the backends together see at most the budget (rate × window + burst); with Redis killed
// mid-load no request fails other than RATE_LIMITED, and each replica then lets through its share, the budget
// divided by the 3 live replicas (20/s, burst 2); when Redis is back the limit is global again. The lower bounds
// of the counts only show that the load reached the limits; they are loose because a loaded machine (CI, -race)
// can stall the replicas for a while, and tokens are not saved up past the burst.
func TestFleet_RateLimit(t *testing.T) {
	redis := fleettest.Start(t)
	const rate, burst = 60, 6
	// One backend per replica (the same source of each replica's configuration), so that each replica's share
	// shows.
	var backends []*countingBackend
	var replicas []*fleetReplica
	for range 3 {
		b := newCountingBackend(t)
		backends = append(backends, b)
		replicas = append(replicas, startFleetReplica(t, redis.URL(), "rate", b.URL, rate))
	}
	// Every replica counts 3 live replicas (heartbeats) before Redis goes.
	deadline := time.Now().Add(5 * time.Second)
	for _, r := range replicas {
		for !strings.Contains(r.metrics(), "conflux_fleet_replicas 3\n") {
			if time.Now().After(deadline) {
				t.Fatalf("a replica does not count 3 live replicas:\n%s", grepLines(r.metrics(), "conflux_fleet"))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	l := startLoad(replicas, 3)
	defer func() {
		if err := l.end(); err != nil {
			t.Error(err)
		}
	}()

	// Global: one budget.
	before := hits(backends)
	start := time.Now()
	time.Sleep(1500 * time.Millisecond)
	got, window := hits(backends)-before, time.Since(start)
	budget := int64(rate*window.Seconds()) + burst
	t.Logf("global: %d backend requests in %s (budget %d); %d answered, %d RATE_LIMITED", got, window, budget, l.ok.Load(), l.shed.Load())
	if got > budget+2 || got < budget/4 {
		t.Errorf("global: the backends saw %d requests in %s from 3 replicas; want about the budget %d, never more", got, window, budget)
	}
	if l.shed.Load() == 0 {
		t.Fatal("no request was RATE_LIMITED: the load does not reach the budget")
	}
	for i, r := range replicas {
		if m := r.metrics(); !strings.Contains(m, `conflux_rate_limit_mode{mode="global",source="api"} 1`) {
			t.Errorf("replica %d not in global mode:\n%s", i, grepLines(m, "conflux_rate_limit_mode"))
		}
	}

	// Redis killed mid-load: each replica falls back to its share.
	redis.Stop()
	time.Sleep(fleet.CallTimeout + 50*time.Millisecond) // requests in flight when Redis went wait up to CallTimeout
	var each []int64
	for _, b := range backends {
		each = append(each, b.hits.Load())
	}
	ok0, shed0 := l.ok.Load(), l.shed.Load()
	start = time.Now()
	time.Sleep(1500 * time.Millisecond)
	window = time.Since(start)
	t.Logf("local: %d answered, %d RATE_LIMITED", l.ok.Load()-ok0, l.shed.Load()-shed0)
	if l.shed.Load() == shed0 {
		t.Error("no request was RATE_LIMITED with Redis down: the load does not reach the replicas' shares")
	}
	share := int64(rate/3*window.Seconds()) + burst/3
	for i, b := range backends {
		got := b.hits.Load() - each[i]
		t.Logf("local: replica %d sent %d requests in %s (share %d)", i, got, window, share)
		if got > share+2 || got < share/4 {
			t.Errorf("Redis down: replica %d sent %d requests in %s; want about its share %d (rate %d/s over 3 replicas), never more", i, got, window, share, rate)
		}
	}
	for i, r := range replicas {
		if m := r.metrics(); !strings.Contains(m, `conflux_rate_limit_mode{mode="local",source="api"} 1`) || !strings.Contains(m, "conflux_fleet_replicas 3\n") {
			t.Errorf("replica %d with Redis down:\n%s", i, grepLines(m, "conflux_rate_limit_mode", "conflux_fleet"))
		}
	}

	// Redis back: global again, within the probe's interval and a request.
	redis.Start()
	deadline = time.Now().Add(5 * time.Second)
	for i, r := range replicas {
		for !strings.Contains(r.metrics(), `conflux_rate_limit_mode{mode="global",source="api"} 1`) {
			if time.Now().After(deadline) {
				t.Fatalf("replica %d not global again after Redis returned", i)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// fakeAPQ is a shared APQ level that records its calls.
type fakeAPQ struct {
	m          map[string]string
	gets, adds int
}

func (f *fakeAPQ) Get(_ context.Context, hash string) (string, bool) {
	f.gets++
	q, ok := f.m[hash]
	return q, ok
}

func (f *fakeAPQ) Add(_ context.Context, hash, query string) {
	f.adds++
	f.m[hash] = query
}

// TestAPQCache_Shared: the local LRU answers first; a local miss reads through to the shared level and keeps
// what it found; a registration writes through, unless this replica already had that query.
func TestAPQCache_Shared(t *testing.T) {
	ctx := context.Background()
	local, err := newAPQCache(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	shared := &fakeAPQ{m: map[string]string{"remote": "{ b }"}}
	c := sharedAPQ(local, shared)
	steps := []struct {
		name               string
		do                 func() (string, bool)
		want               string
		ok                 bool
		wantGets, wantAdds int
	}{
		{name: "miss everywhere", do: func() (string, bool) { return c.Get(ctx, "none") }, wantGets: 1},
		{name: "register", do: func() (string, bool) { c.Add(ctx, "mine", "{ a }"); return "", false }, wantGets: 1, wantAdds: 1},
		{name: "register again: not rewritten", do: func() (string, bool) { c.Add(ctx, "mine", "{ a }"); return "", false }, wantGets: 1, wantAdds: 1},
		{name: "local hit", do: func() (string, bool) { return c.Get(ctx, "mine") }, want: "{ a }", ok: true, wantGets: 1, wantAdds: 1},
		{name: "shared hit", do: func() (string, bool) { return c.Get(ctx, "remote") }, want: "{ b }", ok: true, wantGets: 2, wantAdds: 1},
		{name: "then local", do: func() (string, bool) { return c.Get(ctx, "remote") }, want: "{ b }", ok: true, wantGets: 2, wantAdds: 1},
	}
	for _, st := range steps {
		got, ok := st.do()
		if got != st.want || ok != st.ok || shared.gets != st.wantGets || shared.adds != st.wantAdds {
			t.Errorf("%s: %q, %v with %d shared gets, %d adds; want %q, %v, %d, %d", st.name, got, ok, shared.gets, shared.adds, st.want, st.ok, st.wantGets, st.wantAdds)
		}
	}
	if got, ok := sharedAPQ(local, nil).(lruCache[string]); !ok || got.lru != local.lru {
		t.Errorf("without Redis the cache is %T, want the local LRU alone", sharedAPQ(local, nil))
	}
}
