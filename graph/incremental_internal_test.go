package graph

import (
	"log/slog"
	"testing"
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
