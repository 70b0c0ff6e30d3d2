package resolvers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conflux-gql/conflux/schema"
	"github.com/conflux-gql/conflux/sources"
	"go.uber.org/goleak"
)

// recordingSource answers GET /items?id=… with one item per id and records each call's ids.
type recordingSource struct {
	mu    sync.Mutex
	calls [][]string
}

func (s *recordingSource) Name() string { return "items" }

func (s *recordingSource) Do(_ context.Context, req *sources.Request) (*sources.Response, error) {
	ids := req.Query["id"]
	s.mu.Lock()
	s.calls = append(s.calls, ids)
	s.mu.Unlock()
	var items []any
	for _, id := range ids {
		items = append(items, map[string]any{"id": id, "v": "item-" + id})
	}
	b, _ := json.Marshal(items)
	return &sources.Response{Status: 200, Body: b}, nil
}

func itemResolver(t testing.TB, src sources.Source, maxSize int) *Resolver {
	t.Helper()
	b := &schema.Binding{Type: "P", Field: "item", Source: "items"}
	b.Batch = &schema.Batch{
		Key:     []*schema.Template{mustTemplate(t, "{{parent.itemId}}")},
		Match:   [][]string{{"id"}},
		MaxSize: maxSize,
		Request: schema.Request{Method: "GET", Path: mustTemplate(t, "/items"),
			Query: []schema.Param{{Name: "id", Values: []*schema.Template{mustTemplate(t, "{{keys}}")}}}},
	}
	return &Resolver{Binding: b, Source: src}
}

func keysOf(r *Resolver, ids ...any) []Key {
	var keys []Key
	for _, id := range ids {
		k, _ := r.Key(Vars{Parent: map[string]any{"itemId": id}})
		keys = append(keys, k)
	}
	return keys
}

// wait resolves pending values with a guard, so that a batch that was not dispatched at Load shows up as a
// failure here rather than as a hang.
func wait(t *testing.T, values []Pending) []any {
	t.Helper()
	out := make([]any, len(values))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i, p := range values {
			v, err := p.Wait(context.Background())
			if err != nil {
				out[i] = err
				continue
			}
			out[i] = v
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("batch was not dispatched at Load: it waited for the timer")
	}
	return out
}

func TestLoaders_Load(t *testing.T) {
	src := &recordingSource{}
	r := itemResolver(t, src, 0)
	l := NewLoaders()
	// Duplicate keys, and 1 vs "1": one key.
	got := wait(t, l.Load(context.Background(), r, Vars{}, keysOf(r, "1", json.Number("1"), "2", "1")))
	if len(src.calls) != 1 || fmt.Sprint(src.calls[0]) != "[1 2]" {
		t.Fatalf("calls = %v, want one call with [1 2]", src.calls)
	}
	for i, want := range []string{"item-1", "item-1", "item-2", "item-1"} {
		if m, _ := got[i].(map[string]any); m == nil || m["v"] != want {
			t.Errorf("result %d = %v, want %s", i, got[i], want)
		}
	}
	// A second flush fetches only the new key.
	wait(t, l.Load(context.Background(), r, Vars{}, keysOf(r, "2", "3")))
	if len(src.calls) != 2 || fmt.Sprint(src.calls[1]) != "[3]" {
		t.Fatalf("calls = %v, want a second call with [3] only", src.calls)
	}
}

func TestLoaders_LoadMaxSize(t *testing.T) {
	src := &recordingSource{}
	r := itemResolver(t, src, 2)
	got := wait(t, NewLoaders().Load(context.Background(), r, Vars{}, keysOf(r, "1", "2", "3", "4", "5")))
	if len(src.calls) != 3 {
		t.Fatalf("calls = %v, want 3 (2+2+1)", src.calls)
	}
	for i, g := range got {
		if m, _ := g.(map[string]any); m == nil || m["v"] != fmt.Sprint("item-", i+1) {
			t.Errorf("result %d = %v", i, g)
		}
	}
}

func TestLoaders_LoadConcurrent(t *testing.T) {
	src := &recordingSource{}
	r := itemResolver(t, src, 0)
	l := NewLoaders()
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j, v := range wait(t, l.Load(context.Background(), r, Vars{}, keysOf(r, "1", "2", fmt.Sprint(i+10)))) {
				if _, ok := v.(map[string]any); !ok {
					t.Errorf("load %d/%d: %v", i, j, v)
				}
			}
		}()
	}
	wg.Wait()
	fetched := map[string]int{}
	for _, c := range src.calls {
		for _, id := range c {
			fetched[id]++
		}
	}
	for id, n := range fetched {
		if n != 1 {
			t.Errorf("key %s fetched %d times", id, n)
		}
	}
	if len(fetched) != 22 {
		t.Errorf("fetched %d distinct keys, want 22", len(fetched))
	}
}

// blockingItems blocks every call until its context ends, counting the calls that started.
type blockingItems struct {
	started chan struct{}
	calls   atomic.Int32
}

func (s *blockingItems) Name() string { return "items" }

func (s *blockingItems) Do(ctx context.Context, _ *sources.Request) (*sources.Response, error) {
	s.calls.Add(1)
	s.started <- struct{}{}
	<-ctx.Done()
	return nil, &sources.Error{Source: "items", Code: sources.CodeTimeout, Err: ctx.Err()}
}

// TestLoaders_WaitEndsWithContext: a wait for a batch ends as soon as its context does, the batch call sees
// the cancellation, and Loaders.Wait returns once the call has ended (no goroutine outlives the request).
func TestLoaders_WaitEndsWithContext(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	src := &blockingItems{started: make(chan struct{}, 10)}
	r := itemResolver(t, src, 2)
	l := NewLoaders()
	ctx, cancel := context.WithCancel(context.Background())
	values := l.Load(ctx, r, Vars{}, keysOf(r, "1", "2", "3"))
	<-src.started
	<-src.started // both chunks (2+1 keys) are in flight
	cancel()
	for i, p := range values {
		_, err := p.Wait(ctx)
		var se *sources.Error
		if !errors.As(err, &se) || se.Code != sources.CodeTimeout {
			t.Errorf("value %d: err = %v, want an UPSTREAM_TIMEOUT error", i, err)
		}
	}
	l.Wait()
	if n := src.calls.Load(); n != 2 {
		t.Errorf("%d calls, want 2", n)
	}
}

// TestLoaders_MaxCalls: the calls actually sent count (a duplicate key or an identical request is not a call);
// past MaxCalls no call is sent and the values fail with ErrCallLimit.
func TestLoaders_MaxCalls(t *testing.T) {
	tests := []struct {
		name      string
		maxCalls  int64
		loads     [][]any // each Load's keys, one after the other
		wantCalls int
		wantLimit int // values failing with ErrCallLimit
	}{
		{name: "no cap", loads: [][]any{{"1", "2"}, {"3"}}, wantCalls: 2},
		{name: "duplicates are not calls", maxCalls: 1, loads: [][]any{{"1", "1", "2"}, {"2", "1"}}, wantCalls: 1},
		{name: "past the cap", maxCalls: 1, loads: [][]any{{"1"}, {"2", "3"}}, wantCalls: 1, wantLimit: 2},
		{name: "chunks count", maxCalls: 1, loads: [][]any{{"1", "2", "3", "4"}}, wantCalls: 1, wantLimit: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := &recordingSource{}
			r := itemResolver(t, src, 2)
			l := NewLoaders()
			l.MaxCalls = tc.maxCalls
			limited := 0
			for _, keys := range tc.loads {
				for _, p := range l.Load(context.Background(), r, Vars{}, keysOf(r, keys...)) {
					if _, err := p.Wait(context.Background()); errors.Is(err, ErrCallLimit) {
						limited++
					} else if err != nil {
						t.Errorf("err = %v", err)
					}
				}
			}
			l.Wait()
			if len(src.calls) != tc.wantCalls || limited != tc.wantLimit {
				t.Errorf("calls %v (want %d), %d values over the limit (want %d)", src.calls, tc.wantCalls, limited, tc.wantLimit)
			}
		})
	}
}

type ctxKey struct{}

// ctxSource is recordingSource that also records the ctxKey value of each call's ctx, and panics on id "boom".
type ctxSource struct {
	recordingSource
	seen []any
}

func (s *ctxSource) Do(ctx context.Context, req *sources.Request) (*sources.Response, error) {
	s.mu.Lock()
	s.seen = append(s.seen, ctx.Value(ctxKey{}))
	s.mu.Unlock()
	for _, id := range req.Query["id"] {
		if id == "boom" {
			panic("boom")
		}
	}
	return s.recordingSource.Do(ctx, req)
}

// TestLoaders_Flush: each flush of new keys is one dataloader batch dispatched by its last Load (no wait window,
// however many keys, past the dataloader's default input capacity of 1000 too), made with the Load's ctx; a
// panicking batch fails its keys only; Loaders.Wait leaves no goroutine behind.
func TestLoaders_Flush(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ids := func(from, n int) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = fmt.Sprint(from + i)
		}
		return out
	}
	tests := []struct {
		name      string
		maxSize   int
		loads     [][]any
		wantCalls []int // keys per call, in order (chunks of one flush are sorted)
		wantErrs  int
	}{
		{name: "one key", loads: [][]any{{"1"}}, wantCalls: []int{1}},
		{name: "many keys", loads: [][]any{ids(0, 2500)}, wantCalls: []int{2500}},
		{name: "flushes", loads: [][]any{ids(0, 3), append(ids(0, 3), ids(3, 2)...), ids(0, 5)}, wantCalls: []int{3, 2}},
		{name: "maxSize", maxSize: 1000, loads: [][]any{ids(0, 2500)}, wantCalls: []int{500, 1000, 1000}},
		{name: "panic", loads: [][]any{{"1", "boom"}, {"2"}}, wantCalls: []int{1}, wantErrs: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := &ctxSource{}
			r := itemResolver(t, src, tc.maxSize)
			l := NewLoaders()
			errs := 0
			for i, keys := range tc.loads {
				ctx := context.WithValue(context.Background(), ctxKey{}, i)
				for j, v := range wait(t, l.Load(ctx, r, Vars{}, keysOf(r, keys...))) {
					if err, ok := v.(error); ok {
						errs++
						if strings.Contains(err.Error(), "boom") {
							t.Errorf("a panic's value reaches the client: %v", err)
						}
						continue
					}
					if m, _ := v.(map[string]any); m == nil || m["v"] != "item-"+keys[j].(string) {
						t.Fatalf("load %d value %d = %v", i, j, v)
					}
				}
			}
			l.Wait()
			var sizes []int
			for _, c := range src.calls {
				sizes = append(sizes, len(c))
			}
			if len(tc.wantCalls) > 1 && tc.maxSize > 0 {
				slices.Sort(sizes)
			}
			if fmt.Sprint(sizes) != fmt.Sprint(tc.wantCalls) || errs != tc.wantErrs {
				t.Errorf("calls of %v keys (want %v), %d errors (want %d)", sizes, tc.wantCalls, errs, tc.wantErrs)
			}
			// Each call carries the ctx of the Load that flushed it.
			for i, v := range src.seen {
				if v == nil {
					t.Errorf("call %d: the Load's ctx did not reach the batch call", i)
				}
			}
		})
	}
}
