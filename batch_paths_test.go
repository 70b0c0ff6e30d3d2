package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// batchPathsBackend is one httptest server that is both a REST API (/feed, /later, /users) and a GraphQL
// service (/graphql), and records the keys of every /users and /graphql call it gets.
type batchPathsBackend struct {
	srv *httptest.Server

	mu    sync.Mutex
	users []string // one entry per /users call: its style and its sorted ids, e.g. "a:1,2"
	gql   []string // one entry per /graphql call: its mode and its sorted ids, e.g. "entities:1,2,3"

	// firstUsers closes when /users gets its first request; /later answers only then, so that its parents are
	// handed out after the first batch was sent.
	firstUsers chan struct{}
	once       sync.Once
}

var aliasedProfileOf = regexp.MustCompile(`(_\d+): profileOf\(id: \$(\w+)\)`)

func newBatchPathsBackend(t *testing.T) *batchPathsBackend {
	t.Helper()
	b := &batchPathsBackend{firstUsers: make(chan struct{})}
	post := func(id, userID string) map[string]any { return map[string]any{"id": id, "userId": userID} }
	feeds := map[string]any{
		"/feed": map[string]any{
			"items":  []any{post("p1", "1"), post("p2", "2"), post("p3", "1")},
			"pinned": []any{post("p9", "3")},
			"top":    post("p8", "4"),
		},
		"/later":       map[string]any{"items": []any{post("l1", "2"), post("l2", "5")}},
		"/later-known": map[string]any{"items": []any{post("k1", "2"), post("k2", "1")}},
	}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		switch r.URL.Path {
		case "/feed", "/later", "/later-known":
			if r.URL.Path != "/feed" {
				select {
				case <-b.firstUsers:
				case <-r.Context().Done():
					return
				case <-time.After(10 * time.Second):
					http.Error(w, "no /users call came", http.StatusServiceUnavailable)
					return
				}
			}
			enc.Encode(feeds[r.URL.Path])
		case "/users":
			ids := r.URL.Query()["id"]
			style := r.URL.Query().Get("style")
			b.record(&b.users, style, ids)
			b.once.Do(func() { close(b.firstUsers) })
			var out []any
			for _, id := range ids {
				out = append(out, map[string]any{"id": id, "name": "u" + id + style})
			}
			enc.Encode(out)
		case "/graphql":
			var body struct {
				Query     string         `json:"query"`
				Variables map[string]any `json:"variables"`
			}
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			data := map[string]any{}
			if reps, ok := body.Variables["_representations"].([]any); ok {
				var ids []string
				var ents []any
				for _, rep := range reps {
					id := fmt.Sprint(rep.(map[string]any)["id"])
					ids = append(ids, id)
					ents = append(ents, map[string]any{"profile": map[string]any{"bio": "bio" + id, "since": len(id)}})
				}
				b.record(&b.gql, "entities", ids)
				data["_entities"] = ents
			} else {
				var ids []string
				for _, m := range aliasedProfileOf.FindAllStringSubmatch(body.Query, -1) {
					id := fmt.Sprint(body.Variables[m[2]])
					ids = append(ids, id)
					data[m[1]] = map[string]any{"bio": "card" + id, "since": len(id)}
				}
				b.record(&b.gql, "aliased", ids)
			}
			enc.Encode(map[string]any{"data": data})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *batchPathsBackend) record(to *[]string, label string, ids []string) {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	b.mu.Lock()
	defer b.mu.Unlock()
	*to = append(*to, label+":"+strings.Join(ids, ","))
}

// calls returns the recorded calls, sorted: calls that run in parallel arrive in any order.
func (b *batchPathsBackend) calls() (users, gql []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	users, gql = slices.Clone(b.users), slices.Clone(b.gql)
	slices.Sort(users)
	slices.Sort(gql)
	return users, gql
}

const batchPathsSDL = `type Query { feed: Feed  later: Feed  laterKnown: Feed }
type Feed { items: [Post]  pinned: [Post]  top: Post }
type Post {
  id: ID!
  userId: ID
  user: User
  styled(style: String): User
  profile: Profile
  card: Profile
}
type User { id: ID!  name: String }
type Profile { bio: String  since: Int }
`

const batchPathsUpstreamSDL = `type Query { profileOf(id: ID!): Profile }
type User @key(fields: "id") { id: ID!  profile: Profile }
type Profile { bio: String  since: Int }
`

const batchPathsConfig = `schema: [schema.graphqls]
sources:
  api:
    http: {endpoints: [%[1]s]}
  gql:
    graphql: {endpoints: [%[1]s/graphql], sdl: upstream.graphqls}
bindings:
  Query.feed: {source: api, path: /feed}
  Query.later: {source: api, path: /later}
  Query.laterKnown: {source: api, path: /later-known}
  Post.user:
    source: api
    path: /users/{{parent.userId}}
    batch: {key: "{{parent.userId}}", path: /users, query: {id: "{{keys}}"}, match: id}
  Post.styled:
    source: api
    path: /users/{{parent.userId}}
    query: {style: "{{args.style}}"}
    batch: {key: "{{parent.userId}}", path: /users, query: {id: "{{keys}}", style: "{{args.style}}"}, match: id}
  Post.profile:
    source: gql
    field: profile
    batch: {key: "{{parent.userId}}", entities: User, match: id}
  Post.card:
    source: gql
    field: profileOf
    args: {id: "{{parent.userId}}"}
    batch: {key: "{{parent.userId}}"}
`

func newBatchPathsEnv(t *testing.T) (*testEnv, *batchPathsBackend) {
	t.Helper()
	b := newBatchPathsBackend(t)
	dir := t.TempDir()
	for name, data := range map[string]string{
		"schema.graphqls":   batchPathsSDL,
		"upstream.graphqls": batchPathsUpstreamSDL,
		"conflux.yaml":      fmt.Sprintf(batchPathsConfig, b.srv.URL),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return serveConfig(t, filepath.Join(dir, "conflux.yaml"), nil), b
}

// TestBatch_Paths (issue 14): the fetches of one batched binding that become ready together — handed out by
// the same parent fetch, on any number of paths — share one batch: one upstream call with the union of their
// distinct keys. Paths whose batch requests differ (other arguments, another forwarded selection) are separate
// batches. A parent fetch that finishes after the batch was sent starts a batch of its own, with only the keys
// not fetched (or in flight) yet.
func TestBatch_Paths(t *testing.T) {
	tests := []struct {
		name      string
		query     string
		wantUsers []string
		wantGQL   []string
		wantData  string
	}{
		{
			name:      "two list paths under one parent fetch",
			query:     `{ feed { items { id user { name } } pinned { id user { name } } } }`,
			wantUsers: []string{":1,2,3"},
			wantData:  `{"feed":{"items":[{"id":"p1","user":{"name":"u1"}},{"id":"p2","user":{"name":"u2"}},{"id":"p3","user":{"name":"u1"}}],"pinned":[{"id":"p9","user":{"name":"u3"}}]}}`,
		},
		{
			name:      "a list path and a single path",
			query:     `{ feed { items { user { name } } top { user { name } } } }`,
			wantUsers: []string{":1,2,4"},
			wantData:  `{"feed":{"items":[{"user":{"name":"u1"}},{"user":{"name":"u2"}},{"user":{"name":"u1"}}],"top":{"user":{"name":"u4"}}}}`,
		},
		{
			name:      "three paths, one of them aliased",
			query:     `{ feed { items { user { name } } pinned { user { name } } top { owner: user { name } } } }`,
			wantUsers: []string{":1,2,3,4"},
			wantData:  `{"feed":{"items":[{"user":{"name":"u1"}},{"user":{"name":"u2"}},{"user":{"name":"u1"}}],"pinned":[{"user":{"name":"u3"}}],"top":{"owner":{"name":"u4"}}}}`,
		},
		{
			name:      "same arguments on both paths",
			query:     `{ feed { items { styled(style: "a") { name } } pinned { styled(style: "a") { name } } } }`,
			wantUsers: []string{"a:1,2,3"},
			wantData:  `{"feed":{"items":[{"styled":{"name":"u1a"}},{"styled":{"name":"u2a"}},{"styled":{"name":"u1a"}}],"pinned":[{"styled":{"name":"u3a"}}]}}`,
		},
		{
			name:      "different arguments are different batches",
			query:     `{ feed { items { styled(style: "a") { name } } pinned { styled(style: "b") { name } } top { styled(style: "a") { name } } } }`,
			wantUsers: []string{"a:1,2,4", "b:3"},
			wantData:  `{"feed":{"items":[{"styled":{"name":"u1a"}},{"styled":{"name":"u2a"}},{"styled":{"name":"u1a"}}],"pinned":[{"styled":{"name":"u3b"}}],"top":{"styled":{"name":"u4a"}}}}`,
		},
		{
			name:     "graphql entities on two paths",
			query:    `{ feed { items { profile { bio } } pinned { profile { bio } } } }`,
			wantGQL:  []string{"entities:1,2,3"},
			wantData: `{"feed":{"items":[{"profile":{"bio":"bio1"}},{"profile":{"bio":"bio2"}},{"profile":{"bio":"bio1"}}],"pinned":[{"profile":{"bio":"bio3"}}]}}`,
		},
		{
			name:     "graphql aliased root fields on two paths",
			query:    `{ feed { items { card { bio } } top { card { bio } } } }`,
			wantGQL:  []string{"aliased:1,2,4"},
			wantData: `{"feed":{"items":[{"card":{"bio":"card1"}},{"card":{"bio":"card2"}},{"card":{"bio":"card1"}}],"top":{"card":{"bio":"card4"}}}}`,
		},
		{
			name:     "graphql paths forwarding different selections are different batches",
			query:    `{ feed { items { profile { bio } } pinned { profile { since } } } }`,
			wantGQL:  []string{"entities:1,2", "entities:3"},
			wantData: `{"feed":{"items":[{"profile":{"bio":"bio1"}},{"profile":{"bio":"bio2"}},{"profile":{"bio":"bio1"}}],"pinned":[{"profile":{"since":1}}]}}`,
		},
		{
			// /later answers only once the first /users call arrived: its parents come after that batch was
			// sent, so they make a second call, with the one key not fetched yet.
			name:      "a parent fetch that finishes later makes its own batch of new keys",
			query:     `{ feed { items { user { name } } } later { items { user { name } } } }`,
			wantUsers: []string{":1,2", ":5"},
			wantData:  `{"feed":{"items":[{"user":{"name":"u1"}},{"user":{"name":"u2"}},{"user":{"name":"u1"}}]},"later":{"items":[{"user":{"name":"u2"}},{"user":{"name":"u5"}}]}}`,
		},
		{
			name:      "a parent fetch that finishes later with known keys makes no call",
			query:     `{ feed { items { user { name } } } laterKnown { items { user { name } } } }`,
			wantUsers: []string{":1,2"},
			wantData:  `{"feed":{"items":[{"user":{"name":"u1"}},{"user":{"name":"u2"}},{"user":{"name":"u1"}}]},"laterKnown":{"items":[{"user":{"name":"u2"}},{"user":{"name":"u1"}}]}}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env, backend := newBatchPathsEnv(t)
			status, raw := env.postRaw(tc.query, nil)
			var got struct {
				Data   json.RawMessage `json:"data"`
				Errors []any           `json:"errors"`
			}
			if err := json.Unmarshal(raw, &got); err != nil || status != http.StatusOK || len(got.Errors) > 0 {
				t.Fatalf("status %d: %s", status, raw)
			}
			if string(got.Data) != tc.wantData {
				t.Errorf("data:\n got %s\nwant %s", got.Data, tc.wantData)
			}
			users, gql := backend.calls()
			if !slices.Equal(users, tc.wantUsers) {
				t.Errorf("/users calls = %q, want %q", users, tc.wantUsers)
			}
			if !slices.Equal(gql, tc.wantGQL) {
				t.Errorf("/graphql calls = %q, want %q", gql, tc.wantGQL)
			}
		})
	}
}
