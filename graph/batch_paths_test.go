package graph_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/conflux-gql/conflux/sources"
)

const feedSDL = `
type Query { feed: Feed }
type Feed { items: [Post] pinned: [Post] top: Post }
type Post { id: ID! user: User }
type User { id: ID! name: String friend: User }
`

const feedConfig = `
schema: [s.graphqls]
sources:
  api: {http: {endpoints: [http://127.0.0.1:1]}}
bindings:
  Query.feed: {source: api, path: /feed}
  Post.user:
    source: api
    path: /users/{{parent.userId}}
    batch: {key: "{{parent.userId}}", path: /users, query: {id: "{{keys}}"}, match: id}
  User.friend:
    source: api
    path: /users/{{parent.friendId}}
    batch: {key: "{{parent.friendId}}", path: /friends, query: {id: "{{keys}}"}, match: id}
`

// TestEngine_BatchAcrossPaths (issue 14): the fetches of one batched binding that one parent fetch hands out on
// several paths share one call, with every distinct key once, and so do the fetches below them, which that
// shared call hands out together.
func TestEngine_BatchAcrossPaths(t *testing.T) {
	tests := []struct {
		name      string
		query     string
		wantCalls []string
		wantData  string
	}{
		{
			name:      "two paths",
			query:     `{ feed { items { user { name } } pinned { user { name } } } }`,
			wantCalls: []string{"GET /feed", "GET /users?id=1&id=2&id=3"},
			wantData:  `{"feed":{"items":[{"user":{"name":"u1"}},{"user":{"name":"u2"}}],"pinned":[{"user":{"name":"u3"}}]}}`,
		},
		{
			name:      "the fetches below the shared batch share one too",
			query:     `{ feed { items { user { friend { name } } } pinned { user { friend { id } } } top { user { friend { name } } } } }`,
			wantCalls: []string{"GET /feed", "GET /friends?id=11&id=12&id=13&id=14", "GET /users?id=1&id=2&id=3&id=4"},
			wantData: `{"feed":{"items":[{"user":{"friend":{"name":"u11"}}},{"user":{"friend":{"name":"u12"}}}],` +
				`"pinned":[{"user":{"friend":{"id":"13"}}}],"top":{"user":{"friend":{"name":"u14"}}}}}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			api := &fakeSource{name: "api", do: func(_ context.Context, req *sources.Request) (any, error) {
				if req.Path == "/feed" {
					return map[string]any{
						"items":  []any{map[string]any{"id": "p1", "userId": "1"}, map[string]any{"id": "p2", "userId": "2"}},
						"pinned": []any{map[string]any{"id": "p3", "userId": "3"}},
						"top":    map[string]any{"id": "p4", "userId": "4"},
					}, nil
				}
				var out []any
				for _, id := range req.Query["id"] {
					out = append(out, map[string]any{"id": id, "name": "u" + id, "friendId": "1" + id})
				}
				return out, nil
			}}
			e := newEngine(t, feedSDL, feedConfig, map[string]sources.Source{"api": api})
			got := execute(t, e, tc.query, nil)
			if want := `{"data":` + tc.wantData + `}`; got != want {
				t.Errorf("response:\n got %s\nwant %s", got, want)
			}
			// The calls run in parallel, and the order of the keys of one call is the order the paths were
			// loaded in, which is not part of the contract: compare sorted.
			var calls []string
			for _, c := range api.Calls() {
				path, query, _ := strings.Cut(c, "?")
				params := strings.Split(query, "&")
				slices.Sort(params)
				calls = append(calls, strings.TrimSuffix(path+"?"+strings.Join(params, "&"), "?"))
			}
			slices.Sort(calls)
			if !slices.Equal(calls, tc.wantCalls) {
				t.Errorf("calls:\n got %s\nwant %s", strings.Join(calls, "\n     "), strings.Join(tc.wantCalls, "\n     "))
			}
		})
	}
}
