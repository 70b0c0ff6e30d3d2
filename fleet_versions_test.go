package main

import (
	"bytes"
	"context"
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

	"github.com/conflux-gql/conflux/admin"
	"github.com/conflux-gql/conflux/examples/mock"
	"github.com/conflux-gql/conflux/examples/posts"
	"github.com/conflux-gql/conflux/fleet"
	"github.com/conflux-gql/conflux/fleet/fleettest"
	"github.com/conflux-gql/conflux/runtime"
	"github.com/conflux-gql/conflux/schema"
	"go.uber.org/goleak"
)

// fleetEnv is a cluster of Conflux replicas in this process (issue 15): one real redis-server, one posts backend,
// and replicas that each serve their own temp copy of examples/posts over httptest, with the admin API, /metrics,
// the file watch and the synchronisation with Redis running as `conflux serve` runs them.
type fleetEnv struct {
	t       *testing.T
	redis   *fleettest.Server
	backend *mock.Backend
	client  *http.Client
}

// replica is one Conflux process of a fleetEnv.
type replica struct {
	name string
	env  *fleetEnv
	file string
	rt   *runtime.Runtime
	fc   *fleet.Client
	srv  *httptest.Server

	mu       sync.Mutex
	stopSync func()
}

func newFleetEnv(t *testing.T) *fleetEnv {
	t.Helper()
	leaks := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, leaks) }) // runs last: after every replica has stopped
	redis := fleettest.Start(t)
	b, err := posts.Start(posts.Options{}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	client := &http.Client{Transport: &http.Transport{}, Timeout: 5 * time.Second}
	t.Cleanup(client.CloseIdleConnections)
	return &fleetEnv{t: t, redis: redis, backend: b, client: client}
}

// replica starts a replica on a fresh copy of examples/posts whose conflux.yaml names the env's Redis.
func (e *fleetEnv) replica(name string) *replica {
	t := e.t
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"conflux.yaml", "schema/posts.graphqls"} {
		data, err := os.ReadFile(filepath.Join("examples/posts", f))
		if err != nil {
			t.Fatal(err)
		}
		data = bytes.ReplaceAll(data, []byte("http://"+posts.DefaultAddr), []byte(e.backend.URL()))
		if f == "conflux.yaml" {
			data = append(data, fmt.Sprintf("redis: {url: %q, prefix: fleettest}\n", e.redis.URL())...)
		}
		dst := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(dir, "conflux.yaml")
	sg, err := schema.Load(file, loadOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	// As serve does: the Redis settings come from the local file, the configuration from the cluster.
	fc, err := fleet.New(*fleetConfig(sg, func(string) (string, bool) { return "", false }), discardLogger())
	if err != nil || fc == nil {
		t.Fatalf("fleet client: %v", err)
	}
	tel, err := newTelemetry()
	if err != nil {
		t.Fatal(err)
	}
	versions := fleet.NewVersions(fc)
	rt, err := newRuntime(sg, tel, discardLogger(), func(c *runtime.Config) { c.Versions = versions; c.Replica = name })
	if err != nil {
		t.Fatal(err)
	}
	if err := tel.observeFleet(rt.Fleet, func() string { return rt.Current().Version }); err != nil {
		t.Fatal(err)
	}
	fc.OnUp(rt.SyncNow)
	s := newServer(rt)
	s.mux.Handle("/admin/graphql", admin.NewHandler(rt, ""))
	s.mux.Handle("GET /metrics", tel.Handler())
	s.ready.Store(true)
	r := &replica{name: name, env: e, file: file, rt: rt, fc: fc, srv: httptest.NewServer(s)}
	r.startSync()
	watchCtx, stopWatch := context.WithCancel(context.Background())
	ready, watchDone := make(chan struct{}), make(chan error, 1)
	go func() { watchDone <- rt.Watch(watchCtx, ready) }()
	<-ready
	t.Cleanup(func() {
		r.pauseSync()
		stopWatch()
		<-watchDone
		r.srv.Close()
		rt.Close()
		fc.Close()
	})
	return r
}

// startSync runs the replica's synchronisation with Redis, as serve does.
func (r *replica) startSync() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.rt.Sync(ctx) }()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopSync = func() {
		cancel()
		<-done
	}
}

// pauseSync stops the replica's synchronisation: it hears of no version until startSync, which opens the window
// in which two replicas change the configuration at once.
func (r *replica) pauseSync() {
	r.mu.Lock()
	stop := r.stopSync
	r.stopSync = nil
	r.mu.Unlock()
	if stop != nil {
		stop()
	}
}

// post sends a GraphQL request and returns the status and body; err is a transport failure.
func (r *replica) post(path, query string, vars map[string]any) (int, []byte, error) {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	resp, err := r.env.client.Post(r.srv.URL+path, "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, err
}

// query returns the body of a GraphQL query on the replica.
func (r *replica) query(q string) string {
	r.env.t.Helper()
	status, raw, err := r.post("/graphql", q, nil)
	if err != nil {
		r.env.t.Fatalf("%s: %v", r.name, err)
	}
	_ = status
	return string(raw)
}

// admin runs an admin operation and returns its data.
func (r *replica) admin(q string, vars map[string]any) map[string]any {
	r.env.t.Helper()
	status, raw, err := r.post("/admin/graphql", q, vars)
	var resp struct {
		Data   map[string]any `json:"data"`
		Errors []any          `json:"errors"`
	}
	if err != nil || status != 200 || json.Unmarshal(raw, &resp) != nil || resp.Errors != nil {
		r.env.t.Fatalf("%s: admin call failed (%d, %v): %s", r.name, status, err, raw)
	}
	return resp.Data
}

// change runs an admin mutation and returns its ChangeResult.
func (r *replica) change(q string, vars map[string]any) map[string]any {
	r.env.t.Helper()
	for _, v := range r.admin(q, vars) {
		return v.(map[string]any)
	}
	r.env.t.Fatal("no result")
	return nil
}

func (r *replica) metrics() string {
	r.env.t.Helper()
	resp, err := r.env.client.Get(r.srv.URL + "/metrics")
	if err != nil {
		r.env.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return string(raw)
}

// within fails the test unless cond holds within d.
func within(t *testing.T, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > d {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

const (
	extendMotd  = `mutation { extendSchema(sdl: "extend type Query { motd: String }") { applied version problems { message } } }`
	declareMotd = `mutation($v: String!) { declareBinding(field: "Query.motd", config: $v) { applied version problems { message } } }`
	motdQuery   = `{ motd }`
)

func motd(v string) map[string]any { return map[string]any{"v": fmt.Sprintf("{value: %q}", v)} }

func motdIs(v string) string { return fmt.Sprintf(`{"data":{"motd":%q}}`, v) }

// setMotd adds Query.motd (SDL and binding) through r's admin API.
func setMotd(t *testing.T, r *replica, v string) {
	t.Helper()
	for _, res := range []map[string]any{r.change(extendMotd, nil), r.change(declareMotd, motd(v))} {
		if res["applied"] != true {
			t.Fatalf("%s: change not applied: %v", r.name, res["problems"])
		}
	}
}

// TestFleet_ChangeReachesEveryReplica: a change through one replica's admin API (new SDL and a binding) is served
// by the others within 2 s, and a replica started later serves it at once, though every replica's files are
// the original example; the admin API and /metrics show the cluster version.
func TestFleet_ChangeReachesEveryReplica(t *testing.T) {
	e := newFleetEnv(t)
	a, b, c := e.replica("a"), e.replica("b"), e.replica("c")
	seed := a.rt.Current().Version
	for _, r := range []*replica{a, b, c} {
		if got := r.query(motdQuery); !strings.Contains(got, "GRAPHQL_VALIDATION_FAILED") {
			t.Fatalf("%s before the change: %s", r.name, got)
		}
	}
	setMotd(t, a, "hello fleet")
	for _, r := range []*replica{a, b, c} {
		took := within(t, 2*time.Second, r.name+" serves the change", func() bool { return r.query(motdQuery) == motdIs("hello fleet") })
		t.Logf("%s: served after %v", r.name, took)
	}
	// A replica that starts now serves the newest version before it answers anything.
	late := e.replica("late")
	if got := late.query(motdQuery); got != motdIs("hello fleet") {
		t.Fatalf("late replica: %s", got)
	}
	// The files stay the seed: the version lives in Redis.
	if data, _ := os.ReadFile(b.file); bytes.Contains(data, []byte("motd")) {
		t.Error("a received version was written to the replica's file")
	}
	st := b.admin(`{ fleet { connected version seq newest lastSync pending syncErrors } }`, nil)["fleet"].(map[string]any)
	if st["connected"] != true || st["seq"] != float64(3) || st["newest"] != float64(3) || st["pending"] != false || st["lastSync"] == nil ||
		st["version"] != a.rt.Current().Version || st["version"] == seed {
		t.Errorf("fleet status: %v", st)
	}
	m := c.metrics()
	for _, want := range []string{"conflux_redis_up 1", fmt.Sprintf(`conflux_config_version_info{seq="3",version=%q} 1`, a.rt.Current().Version),
		"conflux_config_sync_errors_total 0", "conflux_config_change_pending 0"} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestFleet_FileEdit: a replica's files are its seed: rewriting them unchanged publishes nothing (the replica
// serves a newer cluster version than its files), while an edit makes a new cluster version — the whole
// configuration as it is on that replica's disk — that every replica serves.
func TestFleet_FileEdit(t *testing.T) {
	e := newFleetEnv(t)
	a, b, c := e.replica("a"), e.replica("b"), e.replica("c")
	setMotd(t, a, "from the api")
	within(t, 2*time.Second, "b has the change", func() bool { return b.query(motdQuery) == motdIs("from the api") })
	head, _ := b.rt.Fleet()

	cfg, _ := os.ReadFile(b.file)
	if err := replaceFile(b.file, cfg); err != nil {
		t.Fatal(err)
	}
	// The watch reloads after its debounce (150ms); a no-op has no event to wait on.
	time.Sleep(600 * time.Millisecond)
	if st, _ := b.rt.Fleet(); st.Seq != head.Seq || b.query(motdQuery) != motdIs("from the api") {
		t.Fatalf("an unchanged file was published: seq %d → %d, %s", head.Seq, st.Seq, b.query(motdQuery))
	}

	dir := filepath.Dir(b.file)
	sdlFile := filepath.Join(dir, "schema", "posts.graphqls")
	sdl, _ := os.ReadFile(sdlFile)
	sdl = bytes.Replace(sdl, []byte("type Query {"), []byte("type Query {\n  motd: String"), 1)
	cfg = bytes.Replace(cfg, []byte("bindings:\n"), []byte("bindings:\n  Query.motd: {value: \"from a file\"}\n"), 1)
	if err := replaceFile(sdlFile, sdl); err != nil {
		t.Fatal(err)
	}
	if err := replaceFile(b.file, cfg); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*replica{a, b, c} {
		within(t, 3*time.Second, r.name+" serves the file edit", func() bool { return r.query(motdQuery) == motdIs("from a file") })
	}
	if data, _ := os.ReadFile(a.file); bytes.Contains(data, []byte("motd")) {
		t.Error("the edit was written to another replica's file")
	}
}

// TestFleet_StartWhileRedisDown: a replica started while Redis is down serves its own files at once; when Redis
// comes back without its data, the replica that was in sync seeds it with the newest configuration (not the
// late replica's older files), and the late replica takes it.
func TestFleet_StartWhileRedisDown(t *testing.T) {
	e := newFleetEnv(t)
	a := e.replica("a")
	setMotd(t, a, "newest")
	e.redis.Stop()
	within(t, 3*time.Second, "a sees redis down", func() bool { st, _ := a.rt.Fleet(); return !st.Connected })
	start := time.Now()
	late := e.replica("late")
	if d := time.Since(start); d > time.Second {
		t.Errorf("starting with Redis down took %v", d)
	}
	if got := late.query(motdQuery); !strings.Contains(got, "GRAPHQL_VALIDATION_FAILED") {
		t.Fatalf("late replica during the outage: %s", got)
	}
	// a is slower to notice than late: late must still not seed Redis with its older files.
	a.pauseSync()
	e.redis.Start()
	within(t, 3*time.Second, "late sees redis", func() bool { st, _ := late.rt.Fleet(); return st.Connected })
	time.Sleep(300 * time.Millisecond) // late's synchronisation runs when Redis answers; give it the time to err
	a.startSync()
	within(t, 4*time.Second, "late takes the newest", func() bool { return late.query(motdQuery) == motdIs("newest") })
	if got := a.query(motdQuery); got != motdIs("newest") {
		t.Errorf("a after the outage: %s", got)
	}
}

// TestFleet_ConcurrentChanges: two replicas change the configuration on the same version; one wins, the other is
// told that another change won and, retrying, builds on it: no change is lost.
func TestFleet_ConcurrentChanges(t *testing.T) {
	e := newFleetEnv(t)
	a, b := e.replica("a"), e.replica("b")
	setMotd(t, a, "one")
	within(t, 2*time.Second, "b has the first change", func() bool { return b.query(motdQuery) == motdIs("one") })

	// b does not hear of a's next change before making its own: both are made on the same version.
	b.pauseSync()
	if res := a.change(declareMotd, motd("from a")); res["applied"] != true {
		t.Fatalf("a: %v", res)
	}
	res := b.change(`mutation { declareBinding(field: "Query.post", config: "{source: api, path: \"/posts/1\"}") { applied problems { message } } }`, nil)
	if res["applied"] != false || !strings.Contains(fmt.Sprint(res["problems"]), "another configuration change won") || !strings.Contains(fmt.Sprint(res["problems"]), "retry") {
		t.Fatalf("the losing change: %v", res)
	}
	if got := b.query(motdQuery); got != motdIs("one") {
		t.Errorf("b applied a change that lost: %s", got)
	}
	b.startSync()
	within(t, 2*time.Second, "b takes the winning change", func() bool { return b.query(motdQuery) == motdIs("from a") })
	if res := b.change(`mutation { declareBinding(field: "Query.post", config: "{source: api, path: \"/posts/1\"}") { applied problems { message } } }`, nil); res["applied"] != true {
		t.Fatalf("the retry: %v", res)
	}
	for _, r := range []*replica{a, b} {
		within(t, 2*time.Second, r.name+" has both changes", func() bool {
			return r.query(motdQuery) == motdIs("from a") && strings.Contains(r.query(`{ post(id: 7) { id } }`), `"id":"1"`)
		})
	}

	// Both at once, several times: every change is either applied, and then a cluster version, or refused with the
	// retry error; the replicas end on the same version, the last applied.
	var wg sync.WaitGroup
	versions := make([]string, 6) // the version each applied change made; "" when refused
	for i := range versions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := []*replica{a, b}[i%2]
			res := r.change(declareMotd, motd(fmt.Sprintf("m%d", i)))
			if res["applied"] == true {
				versions[i] = res["version"].(string)
			} else if !strings.Contains(fmt.Sprint(res["problems"]), "another configuration change won") {
				t.Errorf("change %d: %v", i, res)
			}
		}()
	}
	wg.Wait()
	within(t, 2*time.Second, "the replicas agree", func() bool { return a.rt.Current().Version == b.rt.Current().Version })
	hist := a.admin(`{ history { id } }`, nil)["history"].([]any)
	inHistory := map[string]bool{}
	for _, v := range hist {
		inHistory[v.(map[string]any)["id"].(string)] = true
	}
	applied := 0
	for i, v := range versions {
		if v == "" {
			continue
		}
		applied++
		if !inHistory[v] {
			t.Errorf("applied change m%d (%s) is not in the cluster's history", i, v)
		}
	}
	if applied == 0 {
		t.Fatal("no concurrent change applied")
	}
	if newest := hist[len(hist)-1].(map[string]any)["id"]; newest != a.rt.Current().Version {
		t.Errorf("replicas serve %s, the cluster's newest is %s", a.rt.Current().Version, newest)
	}
	t.Logf("%d of %d concurrent changes applied, the others told to retry", applied, len(versions))
}

// TestFleet_HistoryAndRollback: history is the cluster's, and a rollback on one replica rolls every replica back.
func TestFleet_HistoryAndRollback(t *testing.T) {
	e := newFleetEnv(t)
	a, b, c := e.replica("a"), e.replica("b"), e.replica("c")
	seed := a.rt.Current().Version
	setMotd(t, a, "v1")
	within(t, 2*time.Second, "c has the change", func() bool { return c.query(motdQuery) == motdIs("v1") })
	hist := c.admin(`{ history { id } }`, nil)["history"].([]any)
	if len(hist) != 3 || hist[0].(map[string]any)["id"] != seed || hist[2].(map[string]any)["id"] != a.rt.Current().Version {
		t.Fatalf("history on c: %v (seed %s, newest %s)", hist, seed, a.rt.Current().Version)
	}
	res := b.change(`mutation($v: String!) { rollback(version: $v) { applied version problems { message } } }`, map[string]any{"v": seed})
	if res["applied"] != true || res["version"] != seed {
		t.Fatalf("rollback on b: %v", res)
	}
	for _, r := range []*replica{a, b, c} {
		within(t, 2*time.Second, r.name+" rolled back", func() bool { return strings.Contains(r.query(motdQuery), "GRAPHQL_VALIDATION_FAILED") })
	}
	if n := len(a.admin(`{ history { id } }`, nil)["history"].([]any)); n != 4 {
		t.Errorf("history after the rollback has %d versions, want 4 (a rollback is a new version)", n)
	}
}

// TestFleet_RedisOutage: Redis killed while replicas serve a load: no client request fails, a change still
// applies at once (on its replica), and when Redis comes back (empty) the change is resynchronised to every
// replica. /metrics and the admin API show the outage.
func TestFleet_RedisOutage(t *testing.T) {
	e := newFleetEnv(t)
	a, b := e.replica("a"), e.replica("b")
	var ok, failed atomic.Int64
	var firstFailure atomic.Value
	ctx, stopLoad := context.WithCancel(context.Background())
	var load sync.WaitGroup
	for i := range 4 {
		load.Add(1)
		go func() {
			defer load.Done()
			r := []*replica{a, b}[i%2]
			for ctx.Err() == nil {
				status, raw, err := r.post("/graphql", `{ posts { id title user { name } } }`, nil)
				if err != nil || status != 200 || !bytes.HasPrefix(raw, []byte(`{"data":{"posts":[{`)) || bytes.Contains(raw, []byte(`"errors"`)) {
					failed.Add(1)
					firstFailure.CompareAndSwap(nil, fmt.Sprintf("%d %v %.200s", status, err, raw))
					continue
				}
				ok.Add(1)
			}
		}()
	}
	defer func() {
		stopLoad()
		load.Wait()
	}()

	within(t, time.Second, "load runs", func() bool { return ok.Load() > 20 })
	e.redis.Stop()
	within(t, 3*time.Second, "a sees redis down", func() bool { st, _ := a.rt.Fleet(); return !st.Connected })
	start := time.Now()
	setMotd(t, a, "made during the outage")
	if d := time.Since(start); d > time.Second {
		t.Errorf("a change took %v with Redis down", d)
	}
	if got := a.query(motdQuery); got != motdIs("made during the outage") {
		t.Fatalf("a during the outage: %s", got)
	}
	if st, _ := a.rt.Fleet(); !st.Pending {
		t.Error("the change is not pending")
	}
	if m := a.metrics(); !strings.Contains(m, "conflux_redis_up 0") || !strings.Contains(m, "conflux_config_change_pending 1") {
		t.Error("/metrics does not show the outage")
	}
	if st := a.admin(`{ fleet { connected pending } }`, nil)["fleet"].(map[string]any); st["connected"] != false || st["pending"] != true {
		t.Errorf("fleet status during the outage: %v", st)
	}
	if got := b.query(motdQuery); !strings.Contains(got, "GRAPHQL_VALIDATION_FAILED") {
		t.Errorf("b during the outage: %s", got)
	}
	before := ok.Load()
	within(t, 2*time.Second, "load continues", func() bool { return ok.Load() > before+20 })

	e.redis.Start() // without its data (--save "")
	within(t, 4*time.Second, "b receives the change made during the outage", func() bool { return b.query(motdQuery) == motdIs("made during the outage") })
	within(t, 2*time.Second, "a is no longer pending", func() bool { st, _ := a.rt.Fleet(); return !st.Pending && st.Connected && st.Seq > 0 })
	stopLoad()
	load.Wait()
	if n := failed.Load(); n > 0 {
		t.Fatalf("%d of %d client requests failed; first: %v", n, n+ok.Load(), firstFailure.Load())
	}
	t.Logf("%d requests, none failed", ok.Load())
}
