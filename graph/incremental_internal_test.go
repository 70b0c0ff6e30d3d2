package graph

import (
	"context"
	"log/slog"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
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
		x: &execution{engine: &Engine{log: slog.New(slog.DiscardHandler)}, track: newTracker()},
		w: &writer{incremental: true, log: slog.New(slog.DiscardHandler)},
		// An object without its selection: writing it panics.
		parts:   []part{{group: d, wait: d, obj: &object{}, path: ast.Path{ast.PathName("users"), ast.PathIndex(0)}}},
		release: func() { released++ },
	}
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
