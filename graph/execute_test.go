package graph_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conflux-gql/conflux/graph"
	"github.com/conflux-gql/conflux/sources"
	"github.com/vektah/gqlparser/v2"
)

// fakeSource is a func-field fake that records every request it gets.
type fakeSource struct {
	name string
	do   func(ctx context.Context, req *sources.Request) (any, error)

	mu    sync.Mutex
	calls []string
}

var _ sources.Source = (*fakeSource)(nil)

func (f *fakeSource) Name() string { return f.name }

func (f *fakeSource) Do(ctx context.Context, req *sources.Request) (*sources.Response, error) {
	f.mu.Lock()
	call := req.Method + " " + req.Path
	if q := req.Query.Encode(); q != "" {
		call += "?" + q
	}
	if req.Body != nil {
		call += " " + string(req.Body)
	}
	f.calls = append(f.calls, call)
	f.mu.Unlock()
	v, err := f.do(ctx, req)
	if err != nil {
		return nil, err
	}
	b, _ := json.Marshal(v)
	return &sources.Response{Status: 200, Body: b}, nil
}

func (f *fakeSource) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

const shopSDL = `
type Query { users(n: Int!): [User!]! user(id: ID!): User }
type User { id: ID! name: String posts: [Post!]! best: Post friend: User }
type Post { id: ID! title: String }
`

// shop serves n users whose posts come from the "posts" fake and whose friends from "users".
func shop(t testing.TB, config string, users, posts *fakeSource) *graph.Engine {
	return newEngine(t, shopSDL, config, map[string]sources.Source{"users": users, "posts": posts})
}

const shopConfig = `
schema: [s.graphqls]
sources:
  users: {http: {endpoints: [http://127.0.0.1:1]}}
  posts: {http: {endpoints: [http://127.0.0.1:1]}}
bindings:
  Query.users: {source: users, path: /users, query: {n: "{{args.n}}"}}
  Query.user: {source: users, path: "/users/{{args.id}}"}
  User.posts:
    source: posts
    path: /posts
    query: {userId: "{{parent.id}}"}
    batch: {key: "{{parent.id}}", query: {userId: "{{keys}}"}, match: userId, maxSize: %d}
  User.best:
    source: posts
    path: /posts
    query: {userId: "{{parent.id}}"}
    batch: {key: "{{parent.id}}", query: {userId: "{{keys}}"}, match: userId, maxSize: %d}
  User.friend:
    source: users
    path: "/users/{{parent.friendId}}"
`

func userList(n int) []any {
	out := make([]any, n)
	for i := range out {
		// Users 0 and 1 share a friend and every third user repeats an id, to exercise duplicate keys.
		id := i + 1
		if i%3 == 2 {
			id = i
		}
		out[i] = map[string]any{"id": fmt.Sprint(id), "name": fmt.Sprint("u", id), "friendId": "1"}
	}
	return out
}

func postsFor(req *sources.Request) any {
	var out []any
	for _, id := range req.Query["userId"] {
		out = append(out, map[string]any{"id": "p" + id, "userId": id, "title": "t" + id},
			map[string]any{"id": "q" + id, "userId": json.Number(id), "title": "u" + id})
	}
	return out
}

// TestEngine_Batching counts upstream calls: every parent of a list costs one batched call per binding,
// duplicate keys are fetched once, maxSize splits, and two paths using the same binding share one batch.
func TestEngine_Batching(t *testing.T) {
	tests := []struct {
		name      string
		maxSize   int
		n         int
		query     string
		wantPosts int
		wantUsers int
	}{
		{name: "one call for 20 parents", maxSize: 100, n: 20, query: `{ users(n: 20) { id posts { id } } }`, wantPosts: 1, wantUsers: 1},
		{name: "aliases of one binding share the batch", maxSize: 100, n: 20, query: `{ users(n: 20) { a: posts { id } b: posts { title } } }`, wantPosts: 1, wantUsers: 1},
		{name: "maxSize splits distinct keys", maxSize: 5, n: 20, query: `{ users(n: 20) { posts { id } } }`, wantPosts: 3, wantUsers: 1},
		{name: "different bindings are different batches", maxSize: 100, n: 6, query: `{ users(n: 6) { posts { id } best { id } } }`, wantPosts: 2, wantUsers: 1},
		{name: "unbatched field sends identical requests once", maxSize: 100, n: 10, query: `{ users(n: 10) { friend { name } } }`, wantPosts: 0, wantUsers: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			users := &fakeSource{name: "users", do: func(_ context.Context, req *sources.Request) (any, error) {
				if req.Path == "/users" {
					return userList(tc.n), nil
				}
				return map[string]any{"id": strings.TrimPrefix(req.Path, "/users/"), "name": "friend"}, nil
			}}
			posts := &fakeSource{name: "posts", do: func(_ context.Context, req *sources.Request) (any, error) { return postsFor(req), nil }}
			e := shop(t, fmt.Sprintf(shopConfig, tc.maxSize, tc.maxSize), users, posts)
			got := execute(t, e, tc.query, nil)
			if strings.Contains(got, `"errors"`) {
				t.Fatalf("errors: %s", got)
			}
			if n := len(posts.Calls()); n != tc.wantPosts {
				t.Errorf("posts calls = %d, want %d: %q", n, tc.wantPosts, posts.Calls())
			}
			if n := len(users.Calls()); n != tc.wantUsers {
				t.Errorf("users calls = %d, want %d: %q", n, tc.wantUsers, users.Calls())
			}
			// Every distinct key is sent exactly once across all calls.
			seen := map[string]int{}
			for _, c := range posts.Calls() {
				for _, part := range strings.Split(strings.SplitN(c, "?", 2)[1], "&") {
					seen[part]++
				}
			}
			for k, n := range seen {
				if n > 1 && tc.wantPosts == 1 {
					t.Errorf("key %s sent %d times", k, n)
				}
			}
		})
	}
}

func TestEngine_BatchMatchesKeysToParents(t *testing.T) {
	users := &fakeSource{name: "users", do: func(context.Context, *sources.Request) (any, error) { return userList(4), nil }}
	posts := &fakeSource{name: "posts", do: func(_ context.Context, req *sources.Request) (any, error) { return postsFor(req), nil }}
	e := shop(t, fmt.Sprintf(shopConfig, 100, 100), users, posts)
	got := execute(t, e, `{ users(n: 4) { id posts { id } best { title } } }`, nil)
	want := `{"data":{"users":[` +
		`{"id":"1","posts":[{"id":"p1"},{"id":"q1"}],"best":{"title":"t1"}},` +
		`{"id":"2","posts":[{"id":"p2"},{"id":"q2"}],"best":{"title":"t2"}},` +
		`{"id":"2","posts":[{"id":"p2"},{"id":"q2"}],"best":{"title":"t2"}},` +
		`{"id":"4","posts":[{"id":"p4"},{"id":"q4"}],"best":{"title":"t4"}}]}}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if calls := posts.Calls(); len(calls) != 2 || calls[0] != "GET /posts?userId=1&userId=2&userId=4" && calls[1] != "GET /posts?userId=1&userId=2&userId=4" {
		t.Errorf("calls = %q", calls)
	}
}

// TestEngine_PartialFailure: a failing batch nulls only its fields, with one located error per parent path.
func TestEngine_PartialFailure(t *testing.T) {
	users := &fakeSource{name: "users", do: func(context.Context, *sources.Request) (any, error) { return userList(2), nil }}
	posts := &fakeSource{name: "posts", do: func(context.Context, *sources.Request) (any, error) {
		return nil, &sources.Error{Source: "posts", Code: sources.CodeHTTPError, Status: 503, Method: "GET", Path: "/posts"}
	}}
	e := shop(t, fmt.Sprintf(shopConfig, 100, 100), users, posts)
	got := execute(t, e, `{ users(n: 2) { id best { id } } }`, nil)
	want := `{"errors":[` +
		`{"message":"posts: upstream answered HTTP 503","path":["users",0,"best"],"locations":[{"line":1,"column":20}],"extensions":{"code":"UPSTREAM_HTTP_ERROR","source":"posts","status":503}},` +
		`{"message":"posts: upstream answered HTTP 503","path":["users",1,"best"],"locations":[{"line":1,"column":20}],"extensions":{"code":"UPSTREAM_HTTP_ERROR","source":"posts","status":503}}],` +
		`"data":{"users":[{"id":"1","best":null},{"id":"2","best":null}]}}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// A non-null list field bubbles: users[i] is non-null, so the whole list (non-null) nulls data.
	got = execute(t, e, `{ users(n: 2) { id posts { id } } }`, nil)
	if !strings.HasSuffix(got, `"data":null}`) || strings.Count(got, `"UPSTREAM_HTTP_ERROR"`) != 2 {
		t.Errorf("got %s", got)
	}
}

// TestEngine_Parallel: independent fetches overlap. Each root fetch waits until the other has started; run one
// after the other, they would never both start and the test would fail at its deadline instead of hanging.
func TestEngine_Parallel(t *testing.T) {
	var arrived sync.WaitGroup
	arrived.Add(2)
	both := make(chan struct{})
	go func() { arrived.Wait(); close(both) }()
	wait := func(ctx context.Context) error {
		arrived.Done()
		select {
		case <-both:
			return nil
		case <-time.After(5 * time.Second):
			return fmt.Errorf("the other fetch never started: fetches ran sequentially")
		}
	}
	users := &fakeSource{name: "users", do: func(ctx context.Context, req *sources.Request) (any, error) {
		if err := wait(ctx); err != nil {
			return nil, err
		}
		return map[string]any{"id": "1"}, nil
	}}
	e := shop(t, fmt.Sprintf(shopConfig, 100, 100), users, &fakeSource{name: "posts"})
	got := execute(t, e, `{ a: user(id: 1) { id } b: user(id: 2) { id } }`, nil)
	if got != `{"data":{"a":{"id":"1"},"b":{"id":"1"}}}` {
		t.Errorf("got %s", got)
	}
}

// TestEngine_PanicBecomesError: a panicking source call is a located error, not a crash.
func TestEngine_PanicBecomesError(t *testing.T) {
	users := &fakeSource{name: "users", do: func(context.Context, *sources.Request) (any, error) { panic("boom") }}
	e := shop(t, fmt.Sprintf(shopConfig, 100, 100), users, &fakeSource{name: "posts"})
	got := execute(t, e, `{ user(id: 1) { id } }`, nil)
	if !strings.Contains(got, `"path":["user"]`) || !strings.Contains(got, `"data":{"user":null}`) {
		t.Errorf("got %s", got)
	}
}

// TestEngine_PanicUnderListBecomesErrors: a source call that panics for each parent of a list, whose calls run
// in parallel, answers a located error per parent instead of crashing the process, and a parent waiting for an
// identical call that panicked gets its error instead of waiting for the operation's end; the engine serves the
// next request.
func TestEngine_PanicUnderListBecomesErrors(t *testing.T) {
	users := &fakeSource{name: "users", do: func(_ context.Context, req *sources.Request) (any, error) {
		if req.Path == "/users" {
			list := userList(3)
			for i, u := range list {
				u.(map[string]any)["friendId"] = fmt.Sprint(10 + i/2) // users 0 and 1 share their friend
			}
			return list, nil
		}
		panic("boom")
	}}
	e := shop(t, fmt.Sprintf(shopConfig, 100, 100), users, &fakeSource{name: "posts"})
	query := `{ users(n: 3) { id friend { id } } }`
	doc, errs := gqlparser.LoadQuery(e.Schema(), query)
	if errs != nil {
		t.Fatal(errs)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp := e.Execute(ctx, query, doc, doc.Operations[0], nil, nil)
	if ctx.Err() != nil {
		t.Fatal("the operation waited for its context to end")
	}
	if got := codes(resp); strings.Join(got, " ") != "users[0].friend=INTERNAL_SERVER_ERROR users[1].friend=INTERNAL_SERVER_ERROR users[2].friend=INTERNAL_SERVER_ERROR" {
		t.Errorf("errors = %q", got)
	}
	if want := `{"users":[{"id":"1","friend":null},{"id":"2","friend":null},{"id":"2","friend":null}]}`; string(resp.Data) != want {
		t.Errorf("data = %s, want %s", resp.Data, want)
	}
	if resp := executeResp(t, e, `{ users(n: 2) { id } }`); len(resp.Errors) > 0 {
		t.Errorf("next request: %v", resp.Errors)
	}
}

var _ = http.MethodGet

// TestEngine_LongList: a list long enough to be decoded item by item (and read through one map) answers exactly
// as a short one does, batched children included.
func TestEngine_LongList(t *testing.T) {
	for _, n := range []int{10, 300, 800} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			users := &fakeSource{name: "users", do: func(_ context.Context, req *sources.Request) (any, error) {
				if req.Path != "/users" {
					// A friend: read from each parent's own backend object when its fetch starts.
					return map[string]any{"id": strings.TrimPrefix(req.Path, "/users/")}, nil
				}
				list := userList(n)
				for _, u := range list {
					u.(map[string]any)["friendId"] = "f" + u.(map[string]any)["id"].(string)
				}
				list[5] = map[string]any{"id": "99999", "name": map[string]any{"nested": true}, "friendId": "f99999"}
				return list, nil
			}}
			posts := &fakeSource{name: "posts", do: func(_ context.Context, req *sources.Request) (any, error) { return postsFor(req), nil }}
			e := shop(t, fmt.Sprintf(shopConfig, 100, 100), users, posts)
			got := execute(t, e, fmt.Sprintf(`{ users(n: %d) { id name posts { id } } a: users(n: %d) { friend { id } } }`, n, n), nil)
			var want strings.Builder
			want.WriteString(`{"errors":[{"message":"expected a String, got an object","path":["users",5,"name"],"locations":[{"line":1,"column":%d}],"extensions":{"code":"BAD_UPSTREAM_RESPONSE"}}],"data":{"users":[`)
			for i, u := range userList(n) {
				id := u.(map[string]any)["id"].(string)
				name := `"u` + id + `"`
				if i == 5 {
					id, name = "99999", "null"
				}
				if i > 0 {
					want.WriteByte(',')
				}
				fmt.Fprintf(&want, `{"id":"%s","name":%s,"posts":[{"id":"p%s"},{"id":"q%s"}]}`, id, name, id, id)
			}
			want.WriteString(`],"a":[`)
			for i, u := range userList(n) {
				id := u.(map[string]any)["id"].(string)
				if i == 5 {
					id = "99999"
				}
				if i > 0 {
					want.WriteByte(',')
				}
				fmt.Fprintf(&want, `{"friend":{"id":"f%s"}}`, id)
			}
			want.WriteString(`]}}`)
			w := strings.Replace(want.String(), "%d", fmt.Sprint(len(fmt.Sprintf(`{ users(n: %d) { id `, n))+1), 1)
			if got != w {
				t.Errorf("got  %.300s\nwant %.300s", got, w)
			}
		})
	}
}
