package resolvers

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/conflux-gql/conflux/schema"
	"github.com/conflux-gql/conflux/sources"
	"go.uber.org/goleak"
)

// styledSource answers GET /items?id=…&style=… with one item per id and records each call as "style:ids".
type styledSource struct {
	mu    sync.Mutex
	calls []string
}

func (s *styledSource) Name() string { return "items" }

func (s *styledSource) Do(_ context.Context, req *sources.Request) (*sources.Response, error) {
	ids, style := req.Query["id"], req.Query.Get("style")
	s.mu.Lock()
	s.calls = append(s.calls, style+":"+strings.Join(ids, ","))
	s.mu.Unlock()
	var items []any
	for _, id := range ids {
		items = append(items, map[string]any{"id": id, "v": "item-" + id + style})
	}
	b, _ := json.Marshal(items)
	return &sources.Response{Status: 200, Body: b}, nil
}

func (s *styledSource) recorded() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// styledResolver is itemResolver whose batch request also reads {{args.style}}: Loads with other args go to
// other loaders.
func styledResolver(t testing.TB, src sources.Source, maxSize int) *Resolver {
	r := itemResolver(t, src, maxSize)
	r.Binding.Batch.Request.Query = append(r.Binding.Batch.Request.Query,
		schema.Param{Name: "style", Values: []*schema.Template{mustTemplate(t, "{{args.style}}")}})
	return r
}

// TestBatch_Flush (issue 14): the Loads of one Batch — the fetches of one binding ready together, one Load per
// path — send nothing until Flush, which makes one call per loader with the union of their distinct keys in
// first-loaded order; Loads whose batch requests differ (args) are separate calls; maxSize splits the union.
func TestBatch_Flush(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	type load struct {
		style string
		keys  []any
	}
	tests := []struct {
		name      string
		maxSize   int
		loads     []load
		wantCalls []string // sorted: the calls of one Flush run in parallel
	}{
		{name: "two paths", loads: []load{{"", []any{"1", "2", "1"}}, {"", []any{"3"}}}, wantCalls: []string{":1,2,3"}},
		{name: "overlapping keys", loads: []load{{"", []any{"1", "2"}}, {"", []any{"2", "3", json.Number("1")}}}, wantCalls: []string{":1,2,3"}},
		{name: "three paths", loads: []load{{"", []any{"4"}}, {"", []any{"2"}}, {"", []any{"4", "1"}}}, wantCalls: []string{":4,2,1"}},
		{name: "different args", loads: []load{{"a", []any{"1", "2"}}, {"b", []any{"2", "3"}}, {"a", []any{"4"}}}, wantCalls: []string{"a:1,2,4", "b:2,3"}},
		{name: "maxSize splits the union", maxSize: 2, loads: []load{{"", []any{"1"}}, {"", []any{"2", "3"}}}, wantCalls: []string{":1,2", ":3"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := &styledSource{}
			r := styledResolver(t, src, tc.maxSize)
			l := NewLoaders()
			b := l.Batch()
			values := make([][]Pending, len(tc.loads))
			for i, ld := range tc.loads {
				values[i] = b.Load(context.Background(), r, Vars{Args: map[string]any{"style": ld.style}}, keysOf(r, ld.keys...))
			}
			if calls := src.recorded(); len(calls) != 0 {
				t.Fatalf("calls before Flush: %q", calls)
			}
			b.Flush()
			for i, ld := range tc.loads {
				for j, v := range wait(t, values[i]) {
					if m, _ := v.(map[string]any); m == nil || m["v"] != fmt.Sprint("item-", ld.keys[j], ld.style) {
						t.Errorf("load %d value %d = %v", i, j, v)
					}
				}
			}
			l.Wait()
			calls := src.recorded()
			slices.Sort(calls)
			if !slices.Equal(calls, tc.wantCalls) {
				t.Errorf("calls = %q, want %q", calls, tc.wantCalls)
			}
		})
	}
}

// TestBatch_StagedKeys: a key one Batch has staged is promised to the other fetches of the client request that
// load it meanwhile — they wait for that Batch's Flush instead of fetching it again — and a Batch is reusable
// after Flush, whose next flush sends only keys never loaded.
func TestBatch_StagedKeys(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	src := &styledSource{}
	r := styledResolver(t, src, 0)
	l := NewLoaders()
	ctx := context.Background()
	a, b := l.Batch(), l.Batch()
	av := a.Load(ctx, r, Vars{}, keysOf(r, "1", "2"))
	bv := b.Load(ctx, r, Vars{}, keysOf(r, "2", "3"))
	b.Flush()
	wait(t, bv[1:]) // key 3: b's own call
	done, cancel := context.WithCancel(ctx)
	cancel()
	if v, err := bv[0].Wait(done); err == nil {
		t.Fatalf("key 2 has a value (%v) before the Batch that staged it flushed", v)
	}
	a.Flush()
	for i, v := range wait(t, append(av, bv[0])) {
		if m, _ := v.(map[string]any); m == nil {
			t.Errorf("value %d = %v", i, v)
		}
	}
	// Reused: key 1 is known, key 4 is new.
	again := a.Load(ctx, r, Vars{}, keysOf(r, "1", "4"))
	a.Flush()
	wait(t, again)
	a.Flush() // nothing staged: nothing sent
	l.Wait()
	if calls := src.recorded(); !slices.Equal(calls, []string{":3", ":1,2", ":4"}) {
		t.Errorf("calls = %q, want [:3 :1,2 :4]", calls)
	}
}
