package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conflux-gql/conflux/admin"
	"github.com/conflux-gql/conflux/fleet/fleettest"
	"github.com/conflux-gql/conflux/runtime"
	"github.com/conflux-gql/conflux/schema"
)

// fakeClock is the response cache's clock in these tests: time moves only when the test says.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// cacheBackend is a REST backend that counts its calls by path (with the query) and answers users, posts and
// Cache-Control variants.
type cacheBackend struct {
	srv   *httptest.Server
	mu    sync.Mutex
	calls []string
	// during, when set, runs on each call before the backend answers it.
	during func(uri string)
}

var cacheDate = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func newCacheBackend(t *testing.T) *cacheBackend {
	b := &cacheBackend{}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.calls = append(b.calls, r.URL.RequestURI())
		during := b.during
		b.mu.Unlock()
		if during != nil {
			during(r.URL.RequestURI())
		}
		w.Header().Set("Content-Type", "application/json")
		parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
		switch {
		case parts[0] == "users" && len(parts) == 2:
			fmt.Fprintf(w, `{"id":%q,"name":"user %s","auth":%q}`, parts[1], parts[1], r.Header.Get("Authorization"))
		case parts[0] == "users":
			var items []string
			for _, id := range r.URL.Query()["id"] {
				items = append(items, fmt.Sprintf(`{"id":%q,"name":"user %s","auth":""}`, id, id))
			}
			fmt.Fprintf(w, "[%s]", strings.Join(items, ","))
		case parts[0] == "posts":
			// /posts/1,2: posts 1 and 2, by users 1 and 2.
			var items []string
			for _, id := range strings.Split(parts[1], ",") {
				items = append(items, fmt.Sprintf(`{"id":%q,"userId":%q}`, id, id))
			}
			fmt.Fprintf(w, "[%s]", strings.Join(items, ","))
		case parts[0] == "cc":
			// /cc/<mode>: an answer with the Cache-Control (or Expires) of the mode.
			switch parts[1] {
			case "expires":
				w.Header().Set("Date", cacheDate.Format(http.TimeFormat))
				w.Header().Set("Expires", cacheDate.Add(10*time.Second).Format(http.TimeFormat))
			case "none":
			case "aged":
				w.Header().Set("Age", "5")
				w.Header().Set("Cache-Control", r.URL.Query().Get("cc"))
			default:
				w.Header().Set("Cache-Control", r.URL.Query().Get("cc"))
			}
			fmt.Fprintf(w, `{"id":%q,"name":"cc","auth":""}`, parts[1])
		case parts[0] == "fail":
			http.Error(w, "no", http.StatusInternalServerError)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(b.srv.Close)
	return b
}

// count returns the calls whose path and query start with prefix.
func (b *cacheBackend) count(prefix string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, c := range b.calls {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}

func (b *cacheBackend) callsTo(prefix string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, c := range b.calls {
		if strings.HasPrefix(c, prefix) {
			out = append(out, c)
		}
	}
	return out
}

const cacheSDL = `type Query {
  user(id: ID!): User
  publicUser(id: ID!): User
  cc(mode: String!, cc: String): User
  capped(mode: String!, cc: String): User
  posts(ids: String!): [Post!]!
  uncached(id: ID!): User
  failing: User
}
type Mutation { touch(id: ID!): User }
type User { id: ID!, name: String, auth: String }
type Post { id: ID!, userId: ID!, user: User }
`

func cacheConfig(backend, redisURL string) string {
	redis := ""
	if redisURL != "" {
		redis = fmt.Sprintf("redis: {url: %q, prefix: rc}\n", redisURL)
	}
	return redis + fmt.Sprintf(`schema: [schema.graphqls]
sources:
  api:
    http: {endpoints: [%s], forwardHeaders: [Authorization]}
bindings:
  Query.user: {source: api, path: "/users/{{args.id}}", cache: {ttl: 30s}}
  Query.publicUser: {source: api, path: "/users/{{args.id}}", cache: {ttl: 30s}, public: true}
  Query.cc: {source: api, path: "/cc/{{args.mode}}", query: {cc: "{{args.cc}}"}, cache: {honorCacheControl: true}}
  Query.capped: {source: api, path: "/cc/{{args.mode}}", query: {cc: "{{args.cc}}"}, cache: {ttl: 20s, honorCacheControl: true}}
  Query.posts: {source: api, path: "/posts/{{args.ids}}", cache: {ttl: 60s}}
  Query.uncached: {source: api, path: "/users/{{args.id}}"}
  Query.failing: {source: api, path: /fail, cache: {ttl: 30s}}
  Mutation.touch: {source: api, method: POST, path: "/users/{{args.id}}"}
  Post.user:
    source: api
    path: "/users/{{parent.userId}}"
    cache: {ttl: 30s}
    batch: {key: "{{parent.userId}}", path: /users, query: {id: "{{keys}}"}, match: id}
`, backend)
}

// cacheServer is one Conflux replica over the cache test configuration.
type cacheServer struct {
	t   *testing.T
	srv *httptest.Server
	rt  *runtime.Runtime
}

func startCacheServer(t *testing.T, backend *cacheBackend, redisURL string, clock *fakeClock) *cacheServer {
	t.Helper()
	dir := t.TempDir()
	for name, content := range map[string]string{"conflux.yaml": cacheConfig(backend.srv.URL, redisURL), "schema.graphqls": cacheSDL} {
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
	if err != nil {
		t.Fatal(err)
	}
	rt, err := newReplicaRuntime(sg, tel, fl, discardLogger(), func(c *runtime.Config) {
		if clock != nil {
			c.ResponseCache.Now = clock.Now
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(rt)
	s.mux.Handle("GET /metrics", tel.Handler())
	s.mux.Handle("/admin/graphql", admin.NewHandler(rt, ""))
	s.ready.Store(true)
	srv := httptest.NewServer(s)
	t.Cleanup(func() {
		srv.Close()
		rt.Close()
		fl.Close()
	})
	return &cacheServer{t: t, srv: srv, rt: rt}
}

// query posts a query (Authorization auth when not empty) and returns the response's Cache-Control and body;
// a status other than 200 fails the test.
func (s *cacheServer) query(q, auth string) (string, map[string]any) {
	s.t.Helper()
	return s.send("/graphql", q, auth)
}

func (s *cacheServer) send(path, q, auth string) (string, map[string]any) {
	s.t.Helper()
	raw, _ := json.Marshal(map[string]any{"query": q})
	req, _ := http.NewRequest(http.MethodPost, s.srv.URL+path, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := s.srv.Client().Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &out) != nil {
		s.t.Fatalf("%s: status %d: %s", q, resp.StatusCode, body)
	}
	return resp.Header.Get("Cache-Control"), out
}

func newClock() *fakeClock { return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func TestResponseCache_TTL(t *testing.T) {
	b := newCacheBackend(t)
	clock := newClock()
	s := startCacheServer(t, b, "", clock)
	for i, step := range []struct {
		advance time.Duration
		calls   int
	}{
		{0, 1},                // first request: a miss
		{0, 1},                // a hit
		{29 * time.Second, 1}, // still fresh
		{2 * time.Second, 2},  // 31 s after it was stored: expired
		{0, 2},                // stored again
	} {
		clock.Advance(step.advance)
		s.query(`{user(id: 1) {name}}`, "")
		if got := b.count("/users/1"); got != step.calls {
			t.Fatalf("step %d: backend called %d times, want %d", i, got, step.calls)
		}
	}
}

func TestResponseCache_CacheControl(t *testing.T) {
	for _, tc := range []struct {
		name, field, mode, cc string
		auth                  string
		advance               time.Duration
		// want is the backend's calls after two requests, and after two more once advance has passed.
		want [2]int
	}{
		{name: "max-age", field: "cc", mode: "m", cc: "max-age=10", advance: 11 * time.Second, want: [2]int{1, 2}},
		{name: "max-age still fresh", field: "cc", mode: "m", cc: "max-age=10", advance: 9 * time.Second, want: [2]int{1, 1}},
		{name: "s-maxage preferred", field: "cc", mode: "m", cc: "max-age=100, s-maxage=5", advance: 6 * time.Second, want: [2]int{1, 2}},
		{name: "age subtracted", field: "cc", mode: "aged", cc: "max-age=10", advance: 6 * time.Second, want: [2]int{1, 2}},
		{name: "no-store", field: "cc", mode: "m", cc: "no-store, max-age=100", want: [2]int{2, 4}},
		{name: "no-cache", field: "cc", mode: "m", cc: "no-cache", want: [2]int{2, 4}},
		{name: "private without credentials", field: "cc", mode: "m", cc: "private, max-age=100", want: [2]int{2, 4}},
		{name: "private with credentials", field: "cc", mode: "m", cc: "private, max-age=100", auth: "Bearer a", advance: time.Second, want: [2]int{1, 1}},
		{name: "no header, no ttl", field: "cc", mode: "none", want: [2]int{2, 4}},
		{name: "no header, ttl default", field: "capped", mode: "none", advance: 21 * time.Second, want: [2]int{1, 2}},
		{name: "ttl caps max-age", field: "capped", mode: "m", cc: "max-age=100", advance: 21 * time.Second, want: [2]int{1, 2}},
		{name: "expires", field: "cc", mode: "expires", advance: 9 * time.Second, want: [2]int{1, 1}},
		{name: "expires passed", field: "cc", mode: "expires", advance: 11 * time.Second, want: [2]int{1, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newCacheBackend(t)
			clock := newClock()
			s := startCacheServer(t, b, "", clock)
			q := fmt.Sprintf(`{%s(mode: %q, cc: %q) {name}}`, tc.field, tc.mode, tc.cc)
			s.query(q, tc.auth)
			s.query(q, tc.auth)
			if got := b.count("/cc/"); got != tc.want[0] {
				t.Fatalf("after two requests: backend called %d times, want %d", got, tc.want[0])
			}
			clock.Advance(tc.advance)
			s.query(q, tc.auth)
			s.query(q, tc.auth)
			if got := b.count("/cc/"); got != tc.want[1] {
				t.Fatalf("after %s and two more: backend called %d times, want %d", tc.advance, got, tc.want[1])
			}
		})
	}
}

func TestResponseCache_Credentials(t *testing.T) {
	for _, tc := range []struct {
		name  string
		field string
		auths []string
		calls int
	}{
		{"different credentials are not shared", "user", []string{"Bearer a", "Bearer b", "Bearer a", "Bearer b"}, 2},
		{"anonymous and credentials are not shared", "user", []string{"", "Bearer a", "", "Bearer a"}, 2},
		{"public shares across credentials", "publicUser", []string{"Bearer a", "Bearer b", ""}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newCacheBackend(t)
			s := startCacheServer(t, b, "", newClock())
			for _, auth := range tc.auths {
				_, out := s.query(fmt.Sprintf(`{%s(id: 7) {auth}}`, tc.field), auth)
				got := out["data"].(map[string]any)[tc.field].(map[string]any)["auth"]
				if tc.field == "user" && got != auth {
					t.Fatalf("client %q got the answer made for %q", auth, got)
				}
			}
			if got := b.count("/users/7"); got != tc.calls {
				t.Fatalf("backend called %d times, want %d", got, tc.calls)
			}
		})
	}
}

func TestResponseCache_BatchPartialHits(t *testing.T) {
	b := newCacheBackend(t)
	s := startCacheServer(t, b, "", newClock())
	for _, step := range []struct {
		ids  string
		want []string // the batch calls to /users?…, cumulated
	}{
		{"1,2", []string{"/users?id=1&id=2"}},
		{"2,3", []string{"/users?id=1&id=2", "/users?id=3"}},
		{"3,1,2", []string{"/users?id=1&id=2", "/users?id=3"}},
	} {
		_, out := s.query(fmt.Sprintf(`{posts(ids: %q) {id user {id name}}}`, step.ids), "")
		posts := out["data"].(map[string]any)["posts"].([]any)
		for _, p := range posts {
			p := p.(map[string]any)
			if u := p["user"].(map[string]any); u["id"] != p["id"] || u["name"] != "user "+p["id"].(string) {
				t.Fatalf("posts %s: post %v got user %v", step.ids, p["id"], u)
			}
		}
		if got := b.callsTo("/users?"); !slices.Equal(got, step.want) {
			t.Fatalf("posts %s: batch calls %v, want %v", step.ids, got, step.want)
		}
	}
}

func TestResponseCache_Header(t *testing.T) {
	for _, tc := range []struct {
		name, query, auth, want string
		path                    string
	}{
		{name: "cached parts: the smallest max-age", query: `{user(id: 1) {name} capped(mode: "m", cc: "max-age=15") {name}}`, want: "public, max-age=15"},
		{name: "batched parts", query: `{posts(ids: "1,2") {user {name}}}`, want: "public, max-age=30"},
		{name: "credentials make it private", query: `{user(id: 1) {name}}`, auth: "Bearer a", want: "private, max-age=30"},
		{name: "an uncached fetch", query: `{user(id: 1) {name} uncached(id: 2) {name}}`, want: "no-store"},
		{name: "a no-store part", query: `{user(id: 1) {name} cc(mode: "m", cc: "no-store") {name}}`, want: "no-store"},
		{name: "errors", query: `{user(id: 1) {name} failing {name}}`, want: "no-store"},
		{name: "no fetch", query: `{__typename}`, want: "no-store"},
		{name: "request error", query: `{nope}`, want: "no-store"},
		{name: "mutation", query: `mutation {touch(id: 1) {name}}`, want: "no-store"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newCacheBackend(t)
			s := startCacheServer(t, b, "", newClock())
			for i := range 2 { // a miss, then a hit: the same header
				if got, _ := s.query(tc.query, tc.auth); got != tc.want {
					t.Fatalf("request %d: Cache-Control %q, want %q", i, got, tc.want)
				}
			}
		})
	}
	t.Run("GET", func(t *testing.T) {
		b := newCacheBackend(t)
		s := startCacheServer(t, b, "", newClock())
		resp, err := s.srv.Client().Get(s.srv.URL + "/graphql?query=" + "%7Buser(id%3A1)%7Bname%7D%7D")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Cache-Control"); got != "public, max-age=30" {
			t.Fatalf("GET: Cache-Control %q", got)
		}
	})
}

func TestResponseCache_Shared(t *testing.T) {
	redis := fleettest.Start(t)
	b := newCacheBackend(t)
	a := startCacheServer(t, b, redis.URL(), nil)
	c := startCacheServer(t, b, redis.URL(), nil)
	waitHealthy(t, a, c)
	a.query(`{user(id: 1) {name} posts(ids: "1,2") {user {name}}}`, "")
	a.query(`{cc(mode: "m", cc: "private, max-age=60") {name}}`, "Bearer a")
	calls := len(b.callsTo("/"))
	if _, out := c.query(`{user(id: 1) {name} posts(ids: "1,2") {user {name}}}`, ""); out["errors"] != nil {
		t.Fatalf("second replica: %v", out)
	}
	if got := len(b.callsTo("/")); got != calls {
		t.Fatalf("the second replica made %d upstream calls for answers the first cached", got-calls)
	}
	// A private answer is never shared: the second replica asks for it again.
	c.query(`{cc(mode: "m", cc: "private, max-age=60") {name}}`, "Bearer a")
	if got := b.count("/cc/"); got != 2 {
		t.Fatalf("private answer: backend called %d times, want 2 (one per replica)", got)
	}
	metrics := c.metrics()
	if !strings.Contains(metrics, `conflux_response_cache_hits_total{binding="Query.user",level="shared"} 1`) {
		t.Fatalf("metrics lack the shared hit:\n%s", grepLines(metrics, "response_cache"))
	}

	// Redis down: every lookup is a miss, no request fails.
	redis.Stop()
	for i := range 3 {
		if _, out := c.query(fmt.Sprintf(`{user(id: %d) {name}}`, 100+i), ""); out["errors"] != nil {
			t.Fatalf("with Redis down: %v", out)
		}
	}
	if got := b.count("/users/10"); got != 3 {
		t.Fatalf("with Redis down: backend called %d times, want 3", got)
	}
}

// waitHealthy waits until the replicas' fleet clients have reached Redis.
func waitHealthy(t *testing.T, servers ...*cacheServer) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for _, s := range servers {
		for !strings.Contains(s.metrics(), "conflux_fleet_replicas") || strings.Contains(s.metrics(), "conflux_fleet_replicas 0") {
			if time.Now().After(deadline) {
				t.Fatal("the replicas did not reach Redis")
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func (s *cacheServer) metrics() string {
	resp, err := s.srv.Client().Get(s.srv.URL + "/metrics")
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

// purge calls the admin API's purgeCache and returns its errors' messages.
func (s *cacheServer) purge(binding, key string) string {
	s.t.Helper()
	args := fmt.Sprintf("binding: %q", binding)
	if key != "" {
		args += fmt.Sprintf(", key: %q", key)
	}
	_, out := s.send("/admin/graphql", "mutation {purgeCache("+args+")}", "")
	if errs, ok := out["errors"].([]any); ok {
		return errs[0].(map[string]any)["message"].(string)
	}
	if out["data"].(map[string]any)["purgeCache"] != true {
		s.t.Fatalf("purgeCache: %v", out)
	}
	return ""
}

func TestResponseCache_Purge(t *testing.T) {
	warm := `{u1: user(id: 1) {name} u2: user(id: 2) {name} posts(ids: "1,2") {user {name}}}`
	for _, tc := range []struct {
		name, binding, key string
		// want is the calls to /users/1, /users/2 and the batch /users? after warming, purging and warming
		// again.
		want [3]int
		err  string
	}{
		{name: "one unbatched key", binding: "Query.user", key: "/users/1", want: [3]int{2, 1, 1}},
		{name: "a binding", binding: "Query.user", want: [3]int{2, 2, 1}},
		{name: "one batch key", binding: "Post.user", key: "2", want: [3]int{1, 1, 2}},
		{name: "a batched binding", binding: "Post.user", want: [3]int{1, 1, 2}},
		{name: "a binding without cache", binding: "Query.uncached", want: [3]int{1, 1, 1}, err: "no cache"},
		{name: "no such binding", binding: "Query.nope", want: [3]int{1, 1, 1}, err: "no such binding"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newCacheBackend(t)
			s := startCacheServer(t, b, "", newClock())
			s.query(warm, "")
			if msg := s.purge(tc.binding, tc.key); !strings.Contains(msg, tc.err) || (msg == "") != (tc.err == "") {
				t.Fatalf("purge error %q, want %q", msg, tc.err)
			}
			s.query(warm, "")
			got := [3]int{b.count("/users/1"), b.count("/users/2"), b.count("/users?")}
			if got != tc.want {
				t.Fatalf("calls (/users/1, /users/2, batch) = %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("batch key asks only for it", func(t *testing.T) {
		b := newCacheBackend(t)
		s := startCacheServer(t, b, "", newClock())
		s.query(warm, "")
		s.purge("Post.user", "2")
		s.query(warm, "")
		if got := b.callsTo("/users?"); !slices.Equal(got, []string{"/users?id=1&id=2", "/users?id=2"}) {
			t.Fatalf("batch calls %v", got)
		}
	})
	t.Run("shared level", func(t *testing.T) {
		redis := fleettest.Start(t)
		b := newCacheBackend(t)
		a := startCacheServer(t, b, redis.URL(), nil)
		c := startCacheServer(t, b, redis.URL(), nil)
		waitHealthy(t, a, c)
		a.query(warm, "")
		c.query(warm, "") // from the shared level, now in c's in-process level too
		a.purge("Query.user", "/users/1")
		// The purge reaches c's in-process level through Redis (pub/sub): wait for it.
		deadline := time.Now().Add(2 * time.Second)
		for b.count("/users/1") < 2 && time.Now().Before(deadline) {
			c.query(`{user(id: 1) {name}}`, "")
			time.Sleep(5 * time.Millisecond)
		}
		c.query(warm, "") // /users/1 purged everywhere; the rest is served from the caches
		if got := [3]int{b.count("/users/1"), b.count("/users/2"), b.count("/users?")}; got != [3]int{2, 1, 1} {
			t.Fatalf("calls (/users/1, /users/2, batch) = %v, want [2 1 1]", got)
		}
	})
}

// TestResponseCache_PurgeDuringFetch: an answer fetched across a purge (the fetch began before it, the answer came
// after) is not stored as fresh, in this process nor in the shared level: the next request asks the backend.
func TestResponseCache_PurgeDuringFetch(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run(map[bool]string{false: "in-process", true: "shared"}[shared], func(t *testing.T) {
			b := newCacheBackend(t)
			var a, c *cacheServer
			if shared {
				redis := fleettest.Start(t)
				a = startCacheServer(t, b, redis.URL(), nil)
				c = startCacheServer(t, b, redis.URL(), nil)
				waitHealthy(t, a, c)
			} else {
				a = startCacheServer(t, b, "", newClock())
				c = a
			}
			var once sync.Once
			b.mu.Lock()
			b.during = func(uri string) {
				// The purge is made, and done, while the backend is answering the first request.
				once.Do(func() { c.purge("Query.user", "") })
			}
			b.mu.Unlock()
			a.query(`{user(id: 1) {name}}`, "")
			c.query(`{user(id: 1) {name}}`, "")
			if n := b.count("/users/1"); n != 2 {
				t.Fatalf("backend called %d times for /users/1, want 2: the answer fetched across the purge was cached", n)
			}
		})
	}
}

// TestResponseCache_ClientCredentialsPrivate: a response to a client request that carries credentials is at most
// `private` for caches in front, even when every part came from a public binding: what the client is shown may
// depend on who it is (auth rules, {{jwt.*}} rendered into a request) and a shared cache would serve it to others.
func TestResponseCache_ClientCredentialsPrivate(t *testing.T) {
	b := newCacheBackend(t)
	s := startCacheServer(t, b, "", newClock())
	for _, tc := range []struct{ auth, want string }{
		{"", "public, max-age=30"},
		{"Bearer a", "private, max-age=30"},
		{"", "public, max-age=30"},
	} {
		if cc, _ := s.query(`{publicUser(id: 7) {name}}`, tc.auth); cc != tc.want {
			t.Fatalf("Authorization %q: Cache-Control %q, want %q", tc.auth, cc, tc.want)
		}
	}
}
