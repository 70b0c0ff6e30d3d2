package graph

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/conflux-gql/conflux/resolvers"
	"github.com/conflux-gql/conflux/schema"
	"github.com/conflux-gql/conflux/sources"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"go.uber.org/goleak"
)

// TestWriter_PartsBounded: an object with thousands of deferred fragments stops being written once the parts it
// leaves for later pass maxBytes, rather than after recording them all (a part is checked as it is recorded).
func TestWriter_PartsBounded(t *testing.T) {
	const n, maxBytes = 10000, 2000
	sel := &Selection{}
	for i := range n {
		sel.Fields = append(sel.Fields, &Field{Alias: "id", Index: i, Defer: &Defer{ID: i + 1}})
	}
	w := &writer{incremental: true, maxBytes: maxBytes, log: slog.New(slog.DiscardHandler)}
	w.write(&object{sel: sel, values: make([]any, n)})
	if w.abort == nil {
		t.Fatalf("not aborted, %d parts", len(w.parts))
	}
	if limit := maxBytes/partCost(0) + 1; int64(len(w.parts)) > limit {
		t.Errorf("%d parts recorded, want at most %d", len(w.parts), limit)
	}
}

// TestIncremental_PanicEndsRun: a panic while writing a subsequent payload is the run's last payload, with an
// error at the part's path, and the execution is released; the transport's goroutine does not panic.
func TestIncremental_PanicEndsRun(t *testing.T) {
	d := &Defer{ID: 1}
	released := 0
	r := &incrementalRun{
		x:       &execution{engine: &Engine{log: slog.New(slog.DiscardHandler)}, track: newTracker()},
		w:       &writer{incremental: true, log: slog.New(slog.DiscardHandler)},
		release: func() { released++ },
	}
	// An object without its selection: writing it panics.
	r.add(part{group: d, wait: d, obj: &object{}, path: ast.Path{ast.PathName("users"), ast.PathIndex(0)}})
	resp := r.next(context.Background())
	entries, ok := Subsequent(resp)
	if !ok || resp.HasNext == nil || *resp.HasNext {
		t.Fatalf("got %+v, want a last subsequent payload", resp)
	}
	want := `[{"data":null,"path":["users",0],"errors":[{"message":"internal server error","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}]`
	if string(entries) != want {
		t.Errorf("entries %s, want %s", entries, want)
	}
	if released != 1 {
		t.Errorf("released %d times, want 1", released)
	}
	if resp := r.next(context.Background()); resp != nil {
		t.Errorf("a payload after the last: %+v", resp)
	}
}

// funcSource answers each request with do's value as JSON.
type funcSource struct {
	name string
	do   func(ctx context.Context, req *sources.Request) (any, error)
}

func (s *funcSource) Name() string { return s.name }

func (s *funcSource) Do(ctx context.Context, req *sources.Request) (*sources.Response, error) {
	v, err := s.do(ctx, req)
	if err != nil {
		return nil, err
	}
	b, _ := json.Marshal(v)
	return &sources.Response{Status: 200, Body: b}, nil
}

// hookCtx runs hook (once) at its first Err call once hook is set: the writer asks it between two entries.
type hookCtx struct {
	context.Context
	hook atomic.Pointer[func()]
}

func (c *hookCtx) Err() error {
	if h := c.hook.Swap(nil); h != nil {
		(*h)()
	}
	return c.Context.Err()
}

// TestIncremental_StreamStartsDeferredFetches: below a stream's late items, a plain fetch starts the fetches of a
// fragment deferred there, which is not nested in the stream. A payload that finds that fragment done and then,
// after that fetch ended, the stream done must not write the fragment's part of a late item whose fetch has only
// just started: the fragments' states are read at one instant. The hook lets the fetch end between the two.
func TestIncremental_StreamStartsDeferredFetches(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	const sdl = "type Query { users: [User!]! }\ntype User { id: ID! friends: [User!]! friend: User best: Post }\ntype Post { id: ID! }\n"
	const config = `
schema: [s.graphqls]
sources:
  users: {http: {endpoints: [http://127.0.0.1:1]}}
  posts: {http: {endpoints: [http://127.0.0.1:1]}}
bindings:
  Query.users: {source: users, path: /users}
  User.friends: {source: users, path: "/friends/{{parent.id}}"}
  User.friend: {source: users, path: "/users/{{parent.friendId}}"}
  User.best: {source: posts, path: "/best/{{parent.id}}"}
`
	friendGate, bestGate := make(chan struct{}), make(chan struct{})
	openBest := sync.OnceFunc(func() { close(bestGate) })
	defer openBest()
	wait := func(ctx context.Context, gate chan struct{}) error {
		select {
		case <-gate:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	users := &funcSource{name: "users", do: func(ctx context.Context, req *sources.Request) (any, error) {
		switch req.Path {
		case "/users":
			return []any{map[string]any{"id": "1"}, map[string]any{"id": "2"}}, nil
		case "/friends/1":
			return []any{map[string]any{"id": "11", "friendId": "a"}}, nil
		case "/friends/2":
			return []any{map[string]any{"id": "21", "friendId": "b"}, map[string]any{"id": "22", "friendId": "c"}}, nil
		case "/users/c": // the late item's friend
			if err := wait(ctx, friendGate); err != nil {
				return nil, err
			}
		}
		return map[string]any{"id": strings.TrimPrefix(req.Path, "/users/")}, nil
	}}
	posts := &funcSource{name: "posts", do: func(ctx context.Context, req *sources.Request) (any, error) {
		if req.Path == "/best/c" {
			if err := wait(ctx, bestGate); err != nil {
				return nil, err
			}
		}
		return map[string]any{"id": "p" + strings.TrimPrefix(req.Path, "/best/")}, nil
	}}
	sg, err := schema.Parse("conflux.yaml", []byte(config), fstest.MapFS{"s.graphqls": {Data: []byte(sdl)}})
	if err != nil {
		t.Fatal(err)
	}
	set, err := resolvers.New(sg, map[string]sources.Source{"users": users, "posts": posts})
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(sg, set)
	if err != nil {
		t.Fatal(err)
	}
	q := `{ users { id friends @stream(initialCount: 1) { id friend { id ... @defer { best { id } } } } } }`
	doc, errs := gqlparser.LoadQuery(sg.Schema, q)
	if errs != nil {
		t.Fatal(errs)
	}
	base, cancel := context.WithCancel(context.Background())
	defer cancel()
	ctx := &hookCtx{Context: base}
	resp, run := e.execute(ctx, q, doc, doc.Operations[0], nil, nil, true)
	if run == nil {
		t.Fatalf("no incremental run: %+v", resp)
	}
	stream := run.x.plan.Streamed[0].Stream.group
	hook := func() {
		// The late item's friend fetch answers, starts the deferred best fetch (held) and ends.
		close(friendGate)
		deadline := time.After(5 * time.Second)
		for !run.x.track.done(stream) {
			select {
			case <-run.x.track.changed:
			case <-deadline:
				t.Error("the late item's friend fetch did not end")
				return
			}
		}
	}
	ctx.hook.Store(&hook)
	var got []string
	for {
		resp := run.next(ctx)
		if resp == nil {
			break
		}
		entries, _ := Subsequent(resp)
		got = append(got, string(entries))
		if strings.Contains(string(entries), `"items"`) {
			openBest() // the fragment of the late item waits for this, in a later payload
		}
	}
	all := strings.Join(got, "\n")
	if want := `{"data":{"best":{"id":"pc"}},"path":["users",1,"friends",1,"friend"]}`; !strings.Contains(all, want) {
		t.Errorf("payloads:\n%s\nwant an entry %s", all, want)
	}
}
