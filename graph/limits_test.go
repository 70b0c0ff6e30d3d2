package graph_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/conflux-gql/conflux/graph"
	"github.com/conflux-gql/conflux/sources"
	"github.com/vektah/gqlparser/v2"
	"go.uber.org/goleak"
)

// blockingSource answers nothing: each call blocks until its context ends and records that it did.
type blockingSource struct {
	name      string
	started   chan string // receives each call's path as it starts
	cancelled atomic.Int32
}

func newBlockingSource(name string) *blockingSource {
	return &blockingSource{name: name, started: make(chan string, 100)}
}

func (s *blockingSource) Name() string { return s.name }

func (s *blockingSource) Do(ctx context.Context, req *sources.Request) (*sources.Response, error) {
	s.started <- req.Path
	<-ctx.Done()
	s.cancelled.Add(1)
	return nil, &sources.Error{Source: s.name, Code: sources.CodeTimeout, Err: ctx.Err()}
}

// codes returns each error's path and code, as "path=code" (path "-" when the error has none).
func codes(resp *graphql.Response) []string {
	var out []string
	for _, e := range resp.Errors {
		p := "-"
		if len(e.Path) > 0 {
			p = e.Path.String()
		}
		out = append(out, fmt.Sprintf("%s=%v", p, e.Extensions["code"]))
	}
	return out
}

// TestEngine_Cancellation: the client leaving or server.operationTimeout cancels every fetch in flight, starts
// none, and returns at once with located errors; no goroutine outlives Execute.
func TestEngine_Cancellation(t *testing.T) {
	tests := []struct {
		name    string
		server  string
		query   string
		block   string // which source blocks: users or posts
		cancel  bool   // the client leaves once a call has started
		want    []string
		wantDat string
	}{
		{name: "client leaves during a root fetch", query: `{ user(id: 1) { id } }`, block: "users", cancel: true,
			want: []string{"-=OPERATION_CANCELLED"}, wantDat: `null`},
		{name: "client leaves during a batch", query: `{ users(n: 2) { id best { id } } }`, block: "posts", cancel: true,
			want: []string{"-=OPERATION_CANCELLED"}, wantDat: `null`},
		{name: "timeout during a root fetch", server: `{operationTimeout: 200ms}`, query: `{ user(id: 1) { id } a: user(id: 2) { id } }`, block: "users",
			want: []string{"user=OPERATION_TIMEOUT", "a=OPERATION_TIMEOUT"}, wantDat: `{"user":null,"a":null}`},
		{name: "timeout during a batch keeps what was fetched", server: `{operationTimeout: 200ms}`, query: `{ users(n: 2) { id best { id } } }`, block: "posts",
			want:    []string{"users[0].best=OPERATION_TIMEOUT", "users[1].best=OPERATION_TIMEOUT"},
			wantDat: `{"users":[{"id":"1","best":null},{"id":"2","best":null}]}`},
		{name: "timeout during unbatched fetches under a list", server: `{operationTimeout: 200ms}`, query: `{ users(n: 2) { id friend { id } } }`, block: "users-friends",
			want:    []string{"users[0].friend=OPERATION_TIMEOUT", "users[1].friend=OPERATION_TIMEOUT"},
			wantDat: `{"users":[{"id":"1","friend":null},{"id":"2","friend":null}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			blocking := newBlockingSource(strings.SplitN(tc.block, "-", 2)[0])
			srcs := map[string]sources.Source{
				"users": &fakeSource{name: "users", do: func(_ context.Context, req *sources.Request) (any, error) {
					return []any{map[string]any{"id": "1", "friendId": "7"}, map[string]any{"id": "2", "friendId": "8"}}, nil
				}},
				"posts": &fakeSource{name: "posts", do: func(_ context.Context, req *sources.Request) (any, error) { return postsFor(req), nil }},
			}
			if tc.block == "users-friends" {
				// /users answers, /users/{id} blocks.
				list := srcs["users"]
				srcs["users"] = &routeSource{name: "users", routes: map[string]sources.Source{"/users": list}, other: blocking}
			} else {
				srcs[tc.block] = blocking
			}
			config := fmt.Sprintf(shopConfig, 100, 100)
			if tc.server != "" {
				config += "server: " + tc.server + "\n"
			}
			e := newEngine(t, shopSDL, config, srcs)
			doc, errs := gqlparser.LoadQuery(e.Schema(), tc.query)
			if errs != nil {
				t.Fatal(errs)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var wg sync.WaitGroup
			if tc.cancel {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-blocking.started
					cancel()
				}()
			}
			resp := e.Execute(ctx, tc.query, doc, doc.Operations[0], nil, nil)
			wg.Wait()
			if got := codes(resp); strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("errors = %q, want %q", got, tc.want)
			}
			if string(resp.Data) != tc.wantDat {
				t.Errorf("data = %s, want %s", resp.Data, tc.wantDat)
			}
			// Every call that started saw its context end before Execute returned.
			if started, cancelled := len(blocking.started), int(blocking.cancelled.Load()); cancelled == 0 || started != cancelled-btoi(tc.cancel) {
				t.Errorf("calls started (still queued) %d, cancelled %d", started, cancelled)
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// routeSource sends the paths it knows to their source and the others to other.
type routeSource struct {
	name   string
	routes map[string]sources.Source
	other  sources.Source
}

func (s *routeSource) Name() string { return s.name }

func (s *routeSource) Do(ctx context.Context, req *sources.Request) (*sources.Response, error) {
	if src, ok := s.routes[req.Path]; ok {
		return src.Do(ctx, req)
	}
	return s.other.Do(ctx, req)
}

// TestEngine_Limits: an operation past server.maxFetches, server.maxItems or server.maxResponseBytes stops and
// answers located errors with the limit's code, while an operation within them on the same engine succeeds.
func TestEngine_Limits(t *testing.T) {
	tests := []struct {
		name      string
		server    string
		query     string
		want      []string // "path=code" of every error
		wantData  string
		maxCalls  int
		normal    string // within the limits
		checkData func(t *testing.T, data string)
	}{
		{
			name: "fetches: no call past the limit", server: `{maxFetches: 3}`,
			query: `{ users(n: 6) { id friend { id } } }`, maxCalls: 3,
			normal: `{ users(n: 2) { id friend { id } } }`,
		},
		{
			name: "items: a list past the limit is not built", server: `{maxItems: 10}`,
			query: `{ users(n: 20) { id } }`, want: []string{"users=ITEM_LIMIT_EXCEEDED"}, wantData: `null`,
			normal: `{ users(n: 10) { id } }`,
		},
		{
			name: "items: nested lists count", server: `{maxItems: 12}`,
			query: `{ users(n: 6) { id posts { id } } }`, wantData: `null`,
			normal: `{ users(n: 4) { id posts { id } } }`,
		},
		{
			name: "response bytes: data null and one error", server: `{maxResponseBytes: 200}`,
			query: `{ users(n: 20) { id name } }`, want: []string{"-=RESPONSE_TOO_LARGE"}, wantData: `null`,
			normal: `{ users(n: 2) { id name } }`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			users := &fakeSource{name: "users", do: func(_ context.Context, req *sources.Request) (any, error) {
				if req.Path == "/users" {
					var n int
					fmt.Sscan(req.Query.Get("n"), &n)
					list := make([]any, n)
					for i := range list {
						list[i] = map[string]any{"id": fmt.Sprint(i + 1), "name": fmt.Sprint("user ", i+1), "friendId": fmt.Sprint(100 + i)}
					}
					return list, nil
				}
				return map[string]any{"id": strings.TrimPrefix(req.Path, "/users/")}, nil
			}}
			posts := &fakeSource{name: "posts", do: func(_ context.Context, req *sources.Request) (any, error) { return postsFor(req), nil }}
			e := shop(t, fmt.Sprintf(shopConfig, 100, 100)+"server: "+tc.server+"\n", users, posts)

			resp := executeResp(t, e, tc.query)
			got := codes(resp)
			if tc.want != nil && strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("errors = %q, want %q", got, tc.want)
			}
			if len(got) == 0 {
				t.Errorf("no error past the limit: %s", resp.Data)
			}
			if tc.wantData != "" && string(resp.Data) != tc.wantData {
				t.Errorf("data = %s, want %s", resp.Data, tc.wantData)
			}
			if tc.maxCalls > 0 {
				calls := len(users.Calls()) + len(posts.Calls())
				if calls > tc.maxCalls {
					t.Errorf("%d calls, the limit is %d: %q", calls, tc.maxCalls, users.Calls())
				}
				// Each friend is there, or null with the limit's error at its path.
				var data struct {
					Users []struct{ Friend any } `json:"users"`
				}
				if err := json.Unmarshal(resp.Data, &data); err != nil || len(data.Users) != 6 {
					t.Fatalf("data = %s (%v)", resp.Data, err)
				}
				for i, u := range data.Users {
					want := fmt.Sprintf("users[%d].friend=FETCH_LIMIT_EXCEEDED", i)
					if u.Friend == nil && !strings.Contains(strings.Join(got, " "), want) {
						t.Errorf("friend %d is null without %s: %q", i, want, got)
					}
				}
			}
			for _, g := range got {
				if !strings.Contains(g, "LIMIT_EXCEEDED") && !strings.Contains(g, "RESPONSE_TOO_LARGE") {
					t.Errorf("unexpected error %s", g)
				}
			}

			// A request within the limits, on the same engine, is answered in full.
			if resp := executeResp(t, e, tc.normal); len(resp.Errors) > 0 || string(resp.Data) == "null" {
				t.Errorf("normal request: %s %v", resp.Data, resp.Errors)
			}
		})
	}
}

// TestEngine_StopErrorsAreBounded: a timeout under a long list reports the first fields' errors at their paths
// and counts the rest in one error, instead of one error per item.
func TestEngine_StopErrorsAreBounded(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	users := &fakeSource{name: "users", do: func(context.Context, *sources.Request) (any, error) { return userList(1000), nil }}
	e := newEngine(t, shopSDL, fmt.Sprintf(shopConfig, 1000, 1000)+"server: {operationTimeout: 200ms}\n",
		map[string]sources.Source{"users": users, "posts": newBlockingSource("posts")})
	resp := executeResp(t, e, `{ users(n: 1000) { id best { id } } }`)
	got := codes(resp)
	if len(got) != 101 || got[0] != "users[0].best=OPERATION_TIMEOUT" || got[100] != "-=OPERATION_TIMEOUT" ||
		resp.Errors[100].Message != "900 more fields were not filled for the same reason" {
		t.Errorf("%d errors: %q ... %q", len(got), got[:min(3, len(got))], got[max(0, len(got)-2):])
	}
	if !strings.HasPrefix(string(resp.Data), `{"users":[{"id":"1","best":null},`) {
		t.Errorf("data = %.100s", resp.Data)
	}
}

// TestEngine_ErrorsCountAgainstResponseBytes: a backend whose list items all have a field of the wrong type makes
// one error per item; those errors count against server.maxResponseBytes with the data, so a small data cannot
// carry errors many times the cap. A request of another client within the cap is answered in full.
func TestEngine_ErrorsCountAgainstResponseBytes(t *testing.T) {
	users := &fakeSource{name: "users", do: func(_ context.Context, req *sources.Request) (any, error) {
		var n int
		fmt.Sscan(req.Query.Get("n"), &n)
		list := make([]any, n)
		for i := range list {
			list[i] = map[string]any{"id": fmt.Sprint(i + 1), "name": map[string]any{"not": "a string"}}
		}
		return list, nil
	}}
	e := shop(t, fmt.Sprintf(shopConfig, 100, 100)+"server: {maxResponseBytes: 4096}\n", users, &fakeSource{name: "posts"})

	// 100 items: about 2,600 bytes of data, but 100 errors of some 150 bytes each.
	resp := executeResp(t, e, `{ users(n: 100) { id name } }`)
	if got := codes(resp); strings.Join(got, " ") != "-=RESPONSE_TOO_LARGE" || string(resp.Data) != "null" {
		t.Errorf("data = %.80s, %d errors: %q", resp.Data, len(got), got[:min(3, len(got))])
	}

	resp = executeResp(t, e, `{ users(n: 3) { id name } }`)
	if raw, _ := json.Marshal(resp.Errors); int64(len(raw)) > 3*190 {
		t.Errorf("errors are %d bytes, more than errorBytes' estimate allows for", len(raw))
	}
	if len(resp.Errors) != 3 || string(resp.Data) != `{"users":[{"id":"1","name":null},{"id":"2","name":null},{"id":"3","name":null}]}` {
		t.Errorf("within the cap: data = %s, errors %v", resp.Data, resp.Errors)
	}
}

func executeResp(t *testing.T, e *graph.Engine, query string) *graphql.Response {
	t.Helper()
	doc, errs := gqlparser.LoadQuery(e.Schema(), query)
	if errs != nil {
		t.Fatalf("invalid query: %v", errs)
	}
	return e.Execute(context.Background(), query, doc, doc.Operations[0], nil, nil)
}

// TestEngine_DataContract pins what the HTTP layer relies on: Data is nil only for an operation refused before
// execution; an executed one always has Data, if only null.
func TestEngine_DataContract(t *testing.T) {
	users := &fakeSource{name: "users", do: func(context.Context, *sources.Request) (any, error) { return userList(3), nil }}
	posts := &fakeSource{name: "posts", do: func(context.Context, *sources.Request) (any, error) {
		return nil, &sources.Error{Source: "posts", Code: sources.CodeHTTPError, Status: 500}
	}}
	e := shop(t, fmt.Sprintf(shopConfig, 100, 100)+"server: {maxAliases: 1, maxResponseBytes: 100}\n", users, posts)
	tests := []struct {
		name  string
		query string
		data  string // "" for nil
	}{
		{name: "refused by the planner", query: `{ a: user(id: 1) { id } b: user(id: 2) { id } }`, data: ""},
		{name: "executed", query: `{ users(n: 3) { id } }`, data: `{"users":[{"id":"1"},{"id":"2"},{"id":"2"}]}`},
		{name: "executed, a non-null field failed", query: `{ users(n: 3) { posts { id } } }`, data: `null`},
		{name: "executed, too large", query: `{ users(n: 3) { id name } x: users(n: 3) { id name } }`, data: `null`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := executeResp(t, e, tc.query)
			if (resp.Data == nil) != (tc.data == "") || resp.Data != nil && string(resp.Data) != tc.data {
				t.Errorf("data = %q (nil: %v), want %q; errors %v", resp.Data, resp.Data == nil, tc.data, resp.Errors)
			}
			if tc.name != "executed" && len(resp.Errors) == 0 {
				t.Errorf("no error")
			}
		})
	}
}
