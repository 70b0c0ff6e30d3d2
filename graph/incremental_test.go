package graph_test

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/conflux-gql/conflux/graph"
	"github.com/conflux-gql/conflux/sources"
	"github.com/vektah/gqlparser/v2"
	"go.uber.org/goleak"
)

// payloads runs query for a client that accepts incremental delivery and returns each payload as the wire
// carries it: the initial one, then {"incremental":[…],"hasNext":…} ones. each, when set, is called after each
// payload with its index (to release a slow backend, or to leave).
func payloads(t *testing.T, ctx context.Context, e *graph.Engine, query string, vars map[string]any, each func(int)) []string {
	t.Helper()
	doc, errs := gqlparser.LoadQuery(e.Schema(), query)
	if errs != nil {
		t.Fatalf("invalid query: %v", errs)
	}
	ctx = graph.WithIncremental(ctx)
	ctx = graphql.WithOperationContext(ctx, &graphql.OperationContext{RawQuery: query, Doc: doc, Operation: doc.Operations[0], Variables: vars})
	h := e.Exec(ctx)
	var out []string
	for {
		resp := h(ctx)
		if resp == nil {
			return out
		}
		if entries, ok := graph.Subsequent(resp); ok {
			out = append(out, fmt.Sprintf(`{"incremental":%s,"hasNext":%t}`, entries, *resp.HasNext))
		} else {
			b, err := json.Marshal(resp)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, string(b))
		}
		if each != nil {
			each(len(out) - 1)
		}
	}
}

// gatedPosts is the posts fake of shop, answering only once gate is closed (or erring with fail).
func gatedPosts(gate <-chan struct{}, fail bool) *fakeSource {
	return &fakeSource{name: "posts", do: func(ctx context.Context, req *sources.Request) (any, error) {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if fail {
			return nil, &sources.Error{Source: "posts", Code: sources.CodeHTTPError, Status: 503, Err: fmt.Errorf("upstream answered HTTP 503")}
		}
		return postsFor(req), nil
	}}
}

func usersFake(n int) *fakeSource {
	return &fakeSource{name: "users", do: func(context.Context, *sources.Request) (any, error) { return userList(n), nil }}
}

// TestIncremental_Defer: the initial payload is delivered while the deferred fields' backend still holds its
// answer; each deferred fragment then comes at its object's path, with its label, nested fragments after the
// one they are in, and a null in a non-null field of a fragment nulls that fragment's data only.
func TestIncremental_Defer(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	tests := []struct {
		name, query string
		fail        bool
		// open is the payload after which posts answers.
		open int
		want []string
	}{
		{
			name:  "deferred batched field",
			query: `{ users(n: 2) { id ... @defer(label: "slow") { posts { id } } } }`,
			want: []string{
				`{"data":{"users":[{"id":"1"},{"id":"2"}]},"hasNext":true}`,
				`{"incremental":[{"data":{"posts":[{"id":"p1"},{"id":"q1"}]},"path":["users",0],"label":"slow"},{"data":{"posts":[{"id":"p2"},{"id":"q2"}]},"path":["users",1],"label":"slow"}],"hasNext":false}`,
			},
		},
		{
			name:  "nested fragments and a field also selected outside",
			query: `{ users(n: 2) { id ... @defer(label: "a") { id name ... @defer(label: "b") { best { title } } } } }`,
			open:  1,
			want: []string{
				`{"data":{"users":[{"id":"1"},{"id":"2"}]},"hasNext":true}`,
				// "a" needs no fetch: it comes at once; "b" once posts answers.
				`{"incremental":[{"data":{"name":"u1"},"path":["users",0],"label":"a"},{"data":{"name":"u2"},"path":["users",1],"label":"a"}],"hasNext":true}`,
				`{"incremental":[{"data":{"best":{"title":"t1"}},"path":["users",0],"label":"b"},{"data":{"best":{"title":"t2"}},"path":["users",1],"label":"b"}],"hasNext":false}`,
			},
		},
		{
			name:  "an error in a fragment nulls the fragment only",
			query: `{ users(n: 1) { id ... @defer { name posts { id } } } }`,
			fail:  true,
			want: []string{
				`{"data":{"users":[{"id":"1"},{"id":"2"}]},"hasNext":true}`,
				`{"incremental":[{"data":null,"path":["users",0],"errors":[{"message":"posts: upstream answered HTTP 503","path":["users",0,"posts"],"locations":[{"line":1,"column":38}],"extensions":{"code":"UPSTREAM_HTTP_ERROR","source":"posts","status":503}}]},` +
					`{"data":null,"path":["users",1],"errors":[{"message":"posts: upstream answered HTTP 503","path":["users",1,"posts"],"locations":[{"line":1,"column":38}],"extensions":{"code":"UPSTREAM_HTTP_ERROR","source":"posts","status":503}}]}],"hasNext":false}`,
			},
		},
		{
			name:  "a fragment whose only selection is a nested fragment",
			query: `{ users(n: 1) { id ... @defer(label: "a") { ... @defer(label: "b") { name } } } }`,
			want: []string{
				`{"data":{"users":[{"id":"1"},{"id":"2"}]},"hasNext":true}`,
				`{"incremental":[{"data":{},"path":["users",0],"label":"a"},{"data":{"name":"u1"},"path":["users",0],"label":"b"},` +
					`{"data":{},"path":["users",1],"label":"a"},{"data":{"name":"u2"},"path":["users",1],"label":"b"}],"hasNext":false}`,
			},
		},
		{
			name:  "a fragment whose fields are all selected outside, with a nested fragment",
			query: `{ users(n: 1) { id ... @defer(label: "a") { name ... @defer(label: "b") { best { id } } } name } }`,
			open:  1,
			want: []string{
				`{"data":{"users":[{"id":"1","name":"u1"},{"id":"2","name":"u2"}]},"hasNext":true}`,
				`{"incremental":[{"data":{},"path":["users",0],"label":"a"},{"data":{},"path":["users",1],"label":"a"}],"hasNext":true}`,
				`{"incremental":[{"data":{"best":{"id":"p1"}},"path":["users",0],"label":"b"},{"data":{"best":{"id":"p2"}},"path":["users",1],"label":"b"}],"hasNext":false}`,
			},
		},
		{
			name:  "a field selected in a fragment and in one nested in it comes with the outer one",
			query: `{ users(n: 1) { id ... @defer(label: "a") { ... @defer(label: "b") { name best { id } } name } } }`,
			open:  1,
			want: []string{
				`{"data":{"users":[{"id":"1"},{"id":"2"}]},"hasNext":true}`,
				`{"incremental":[{"data":{"name":"u1"},"path":["users",0],"label":"a"},{"data":{"name":"u2"},"path":["users",1],"label":"a"}],"hasNext":true}`,
				`{"incremental":[{"data":{"best":{"id":"p1"}},"path":["users",0],"label":"b"},{"data":{"best":{"id":"p2"}},"path":["users",1],"label":"b"}],"hasNext":false}`,
			},
		},
		{
			name:  "a field selected in two sibling fragments comes with their object",
			query: `{ users(n: 1) { id ... @defer(label: "a") { name best { id } } ... @defer(label: "b") { name } } }`,
			want: []string{
				// b has nothing left of its own: no payload.
				`{"data":{"users":[{"id":"1","name":"u1"},{"id":"2","name":"u2"}]},"hasNext":true}`,
				`{"incremental":[{"data":{"best":{"id":"p1"}},"path":["users",0],"label":"a"},{"data":{"best":{"id":"p2"}},"path":["users",1],"label":"a"}],"hasNext":false}`,
			},
		},
		{
			name:  "a fragment of the root object",
			query: `{ ... @defer(label: "root") { users(n: 1) { id } } }`,
			want: []string{
				`{"data":{},"hasNext":true}`,
				`{"incremental":[{"data":{"users":[{"id":"1"},{"id":"2"}]},"path":[],"label":"root"}],"hasNext":false}`,
			},
		},
		{
			name:  "defer off by its if argument",
			query: `{ users(n: 1) { id ... @defer(if: false) { name } } }`,
			want:  []string{`{"data":{"users":[{"id":"1","name":"u1"},{"id":"2","name":"u2"}]}}`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gate := make(chan struct{})
			posts := gatedPosts(gate, tt.fail)
			e := shop(t, fmt.Sprintf(shopConfig, 100, 100), usersFake(2), posts)
			got := payloads(t, context.Background(), e, tt.query, nil, func(i int) {
				if i == tt.open {
					if n := len(posts.Calls()); n > 1 {
						t.Errorf("%d posts calls before payload %d", n, i)
					}
					close(gate) // the payloads so far came while posts held its answer
				}
			})
			if len(got) <= tt.open {
				select {
				case <-gate:
				default:
					close(gate)
				}
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("payloads:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// TestIncremental_Stream: a streamed list's first initialCount items come in the initial payload, the rest at
// the index they start from.
func TestIncremental_Stream(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	gate := make(chan struct{})
	close(gate)
	e := shop(t, fmt.Sprintf(shopConfig, 100, 100), usersFake(3), gatedPosts(gate, false))
	tests := []struct {
		query string
		vars  map[string]any
		want  []string
	}{
		{`{ users(n: 3) @stream(initialCount: 1, label: "u") { id best { id } } }`, nil, []string{
			`{"data":{"users":[{"id":"1","best":{"id":"p1"}}]},"hasNext":true}`,
			`{"incremental":[{"items":[{"id":"2","best":{"id":"p2"}},{"id":"2","best":{"id":"p2"}}],"path":["users",1],"label":"u"}],"hasNext":false}`,
		}},
		{`query($n: Int) { users(n: 3) @stream(initialCount: $n) { id } }`, map[string]any{"n": int64(0)}, []string{
			`{"data":{"users":[]},"hasNext":true}`,
			`{"incremental":[{"items":[{"id":"1"},{"id":"2"},{"id":"2"}],"path":["users",0]}],"hasNext":false}`,
		}},
		{`{ users(n: 3) @stream(initialCount: 5) { id } }`, nil, []string{
			`{"data":{"users":[{"id":"1"},{"id":"2"},{"id":"2"}]}}`,
		}},
	}
	for _, tt := range tests {
		got := payloads(t, context.Background(), e, tt.query, tt.vars, nil)
		if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
			t.Errorf("%s: payloads:\n%s\nwant:\n%s", tt.query, strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
		}
	}
}

// TestIncremental_JSONClient: a client that did not ask for incremental delivery gets the deferred fields in place,
// in one response.
func TestIncremental_JSONClient(t *testing.T) {
	gate := make(chan struct{})
	close(gate)
	e := shop(t, fmt.Sprintf(shopConfig, 100, 100), usersFake(1), gatedPosts(gate, false))
	got := execute(t, e, `{ users(n: 1) { id ... @defer { best { id } } } }`, nil)
	if want := `{"data":{"users":[{"id":"1","best":{"id":"p1"}}]}}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// TestIncremental_ClientLeaves: a client that leaves after the initial payload releases the execution: the slow
// fetch is cancelled and no goroutine is left.
func TestIncremental_ClientLeaves(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	gate := make(chan struct{})
	defer close(gate)
	e := shop(t, fmt.Sprintf(shopConfig, 100, 100), usersFake(1), gatedPosts(gate, false))
	ctx, cancel := context.WithCancel(context.Background())
	doc, _ := gqlparser.LoadQuery(e.Schema(), `{ users(n: 1) { id ... @defer { best { id } } } }`)
	octx := graphql.WithOperationContext(graph.WithIncremental(ctx), &graphql.OperationContext{Doc: doc, Operation: doc.Operations[0]})
	h := e.Exec(octx)
	if resp := h(octx); resp == nil || resp.HasNext == nil || !*resp.HasNext {
		t.Fatalf("initial payload %+v, want hasNext", resp)
	}
	cancel() // goleak (deferred) waits for the execution's goroutines to end
}

// TestIncremental_Explain: a plan shows its deferred fragments, which fetch each waits for, and its streams.
func TestIncremental_Explain(t *testing.T) {
	e := shop(t, fmt.Sprintf(shopConfig, 100, 100), usersFake(1), gatedPosts(nil, false))
	q := `{ users(n: 1) @stream { id ... @defer(label: "slow") { name posts { id } } } }`
	doc, errs := gqlparser.LoadQuery(e.Schema(), q)
	if errs != nil {
		t.Fatal(errs)
	}
	p, err := e.CachedPlan(q, doc, doc.Operations[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "query: 2 fetches\n" +
		"  #1 Query.users <- users GET /users (root) at users\n" +
		"    #2 User.posts <- posts GET /posts (batched match userId max 100, deferred #1 \"slow\") at users.@.posts\n" +
		"deferred #1 \"slow\" at users.@\n" +
		"streamed Query.users\n"
	if got := p.String(); got != want {
		t.Errorf("plan:\n%s\nwant:\n%s", got, want)
	}
	ex, _ := json.Marshal(p.Explain())
	for _, part := range []string{`"deferred":1`, `"deferred":[{"id":1,"label":"slow","at":"users.@","fields":["name","posts"]}]`, `"streamed":[{"at":"Query.users"}]`} {
		if !strings.Contains(string(ex), part) {
			t.Errorf("explanation lacks %s: %s", part, ex)
		}
	}
}

// TestIncremental_StreamDoesNotWait: the fetches below the items of a stream past initialCount run apart: the
// initial payload comes while their batch is still held, and the rest comes when it answers.
func TestIncremental_StreamDoesNotWait(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	gate := make(chan struct{})
	posts := &fakeSource{name: "posts", do: func(ctx context.Context, req *sources.Request) (any, error) {
		if ids := req.Query["userId"]; len(ids) != 1 || ids[0] != "1" {
			select { // the late items' batch waits
			case <-gate:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return postsFor(req), nil
	}}
	e := shop(t, fmt.Sprintf(shopConfig, 100, 100), usersFake(3), posts)
	got := payloads(t, context.Background(), e, `{ users(n: 3) @stream(initialCount: 1) { id best { id } } }`, nil, func(i int) {
		if i == 0 {
			close(gate)
		}
	})
	want := []string{
		`{"data":{"users":[{"id":"1","best":{"id":"p1"}}]},"hasNext":true}`,
		`{"incremental":[{"items":[{"id":"2","best":{"id":"p2"}},{"id":"2","best":{"id":"p2"}}],"path":["users",1]}],"hasNext":false}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("payloads:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if calls := posts.Calls(); len(calls) != 2 {
		t.Errorf("posts calls %q, want 2: one batch for the initial items, one for the rest", calls)
	}
}

// TestIncremental_PartsCountAgainstResponseBytes: the deferred fragments waiting for later payloads count against
// server.maxResponseBytes, so a fragment on each item of a long list cannot hold more memory than the answer may
// take.
func TestIncremental_PartsCountAgainstResponseBytes(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	gate := make(chan struct{})
	close(gate)
	e := shop(t, fmt.Sprintf(shopConfig, 100, 100)+"server: {maxResponseBytes: 2000}\n", usersFake(50), gatedPosts(gate, false))
	small := payloads(t, context.Background(), e, `{ users(n: 50) { id } }`, nil, nil)
	if len(small) != 1 || strings.Contains(small[0], "RESPONSE_TOO_LARGE") {
		t.Fatalf("the list without fragments: %s", small)
	}
	got := payloads(t, context.Background(), e, `{ users(n: 50) { id ... @defer { name } } }`, nil, nil)
	if len(got) != 1 || !strings.Contains(got[0], "RESPONSE_TOO_LARGE") {
		t.Errorf("payloads %s, want one RESPONSE_TOO_LARGE answer", got)
	}
}

// TestIncremental_Planning: a fragment spread with @defer and again without has its fields in the initial payload;
// @defer(if: $d) defers unless $d is false; a label must be a literal (a plan serves every request of its
// operation) and unique, @stream takes a list field, and deferred fragments count against server.maxCost's bound on the plan's size, with fields or not.
func TestIncremental_Planning(t *testing.T) {
	gate := make(chan struct{})
	close(gate)
	e := shop(t, fmt.Sprintf(shopConfig, 100, 100)+"server: {maxCost: 40}\n", usersFake(1), gatedPosts(gate, false))
	many := strings.Repeat(` ... @defer { id }`, 50)
	tests := []struct {
		query string
		vars  map[string]any
		want  string
	}{
		{`{ users(n: 1) { ...F @defer ...F } } fragment F on User { name }`, nil, `{"data":{"users":[{"name":"u1"}]}}`},
		{`{ users(n: 1) { ...F @defer id } } fragment F on User { name }`, nil, `{"data":{"users":[{"id":"1"}]},"hasNext":true}`},
		{`query($l: String) { users(n: 1) { id ... @defer(label: $l) { name } } }`, map[string]any{"l": "x"},
			`{"errors":[{"message":"the label of @defer must be a static string","locations":[{"line":1,"column":56}],"extensions":{"code":"GRAPHQL_VALIDATION_FAILED"}}],"data":null}`},
		{`{ users(n: 1) @stream(label: "x") { ... @defer(label: "x") { name } } }`, nil,
			`{"errors":[{"message":"the label \"x\" names two @defer or @stream directives: labels must be unique","locations":[{"line":1,"column":42}],"extensions":{"code":"GRAPHQL_VALIDATION_FAILED"}}],"data":null}`},
		{`{ users(n: 1) { best @stream { id } } }`, nil,
			`{"errors":[{"message":"@stream cannot be used on User.best, which is not a list","locations":[{"line":1,"column":23}],"extensions":{"code":"GRAPHQL_VALIDATION_FAILED"}}],"data":null}`},
		{`query($d: Boolean) { users(n: 1) { id ... @defer(if: $d) { name } } }`, nil, `{"data":{"users":[{"id":"1"}]},"hasNext":true}`},
		{`query($d: Boolean) { users(n: 1) { id ... @defer(if: $d) { name } } }`, map[string]any{"d": false}, `{"data":{"users":[{"id":"1","name":"u1"}]}}`},
		{`{ users(n: 1) { id` + strings.Repeat(` ... @defer { id }`, 10) + ` } }`, nil, `{"data":{"users":[{"id":"1"}]}}`},
		{`{ users(n: 1) { id` + many + ` } }`, nil, `"code":"COST_LIMIT_EXCEEDED"`},
	}
	for _, tt := range tests {
		got := payloads(t, context.Background(), e, tt.query, tt.vars, nil)
		if len(got) == 0 || !strings.Contains(got[0], tt.want) {
			t.Errorf("%s: payloads:\n%s\nwant the first to hold %s", tt.query, strings.Join(got, "\n"), tt.want)
		}
	}
}

// TestIncremental_StreamItemError: a streamed item that is null where its type is not ends the stream as graphql-js
// does: the items before it come, then {"items":null} at its index with its errors, and the items after it do not;
// an item of a nullable type is null in place and the stream goes on.
func TestIncremental_StreamItemError(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	const sdl = "type Query { list: [Item!] items: [Item] }\ntype Item { name: String! }\n"
	const config = "schema: [s.graphqls]\nbindings:\n" +
		"  Query.list: {value: [{name: a}, {name: b}, {name: null}, {name: d}]}\n" +
		"  Query.items: {value: [{name: a}, {name: b}, {name: null}, {name: d}]}\n"
	e := newEngine(t, sdl, config, nil)
	nameErr := func(path string, col int) string {
		return fmt.Sprintf(`"errors":[{"message":"cannot return null for non-nullable field Item.name","path":%s,"locations":[{"line":1,"column":%d}],"extensions":{"code":"BAD_UPSTREAM_RESPONSE"}}]`, path, col)
	}
	tests := []struct {
		query string
		want  []string
	}{
		{`{ list @stream(initialCount: 1, label: "s") { name } }`, []string{
			`{"data":{"list":[{"name":"a"}]},"hasNext":true}`,
			`{"incremental":[{"items":[{"name":"b"}],"path":["list",1],"label":"s"},{"items":null,"path":["list",2],"label":"s",` + nameErr(`["list",2,"name"]`, 47) + `}],"hasNext":false}`,
		}},
		{`{ list @stream(initialCount: 2) { name } }`, []string{
			`{"data":{"list":[{"name":"a"},{"name":"b"}]},"hasNext":true}`,
			`{"incremental":[{"items":null,"path":["list",2],` + nameErr(`["list",2,"name"]`, 35) + `}],"hasNext":false}`,
		}},
		{`{ items @stream(initialCount: 1) { name } }`, []string{
			`{"data":{"items":[{"name":"a"}]},"hasNext":true}`,
			`{"incremental":[{"items":[{"name":"b"},null,{"name":"d"}],"path":["items",1],` + nameErr(`["items",2,"name"]`, 36) + `}],"hasNext":false}`,
		}},
	}
	for _, tt := range tests {
		got := payloads(t, context.Background(), e, tt.query, nil, nil)
		if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
			t.Errorf("%s: payloads:\n%s\nwant:\n%s", tt.query, strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
		}
	}
}

// TestIncremental_ManyParts: a deferred fragment on each of thousands of items costs time and memory linear in the
// parts: a payload moves each part once (every entry copied every part still waiting: 27 s for 20,000 items).
func TestIncremental_ManyParts(t *testing.T) {
	const n = 4000
	gate := make(chan struct{})
	close(gate)
	e := shop(t, fmt.Sprintf(shopConfig, 100, 100), usersFake(n), gatedPosts(gate, false))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	got := payloads(t, context.Background(), e, `{ users(n: 1) { ... @defer { id } } }`, nil, nil)
	runtime.ReadMemStats(&after)
	if len(got) != 2 || strings.Count(got[1], `"data":{"id"`) != n {
		t.Fatalf("%d payloads, want the initial one and one with %d entries", len(got), n)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 40<<20 {
		t.Errorf("%d MB allocated for %d parts, want less than 40 MB", alloc>>20, n)
	}
}

// TestIncremental_NullsBeforeParts: a deferred fragment below an object the initial payload nulls (a non-null
// field of it failed, up to the root) is dropped with it: no later payload refers to a path that is null.
func TestIncremental_NullsBeforeParts(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	e := newValuesEngine(t)
	nameErr := func(field string) string {
		return fmt.Sprintf(`{"errors":[{"message":"cannot return null for non-nullable field A.name","path":[%q,"name"],"locations":[{"line":1,"column":%d}],"extensions":{"code":"BAD_UPSTREAM_RESPONSE"}}],`, field, 6+len(field))
	}
	tests := []struct{ query, want string }{
		{`{ a { name ... @defer { b } } }`, nameErr("a") + `"data":{"a":null}}`},
		{`{ strict { name ... @defer { b } } }`, nameErr("strict") + `"data":null}`},
	}
	for _, tt := range tests {
		got := payloads(t, context.Background(), e, tt.query, nil, nil)
		if len(got) != 1 || got[0] != tt.want {
			t.Errorf("%s: payloads:\n%s\nwant:\n%s", tt.query, strings.Join(got, "\n"), tt.want)
		}
	}
}
