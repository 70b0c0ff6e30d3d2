package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestBench_Streams runs the subscription and defer scenarios for a moment (issue 17): events arrive in order
// and enriched over both transports with one product call each, and the deferred query's first payload comes
// before the slow field could have answered, while the query without @defer waits for it.
func TestBench_Streams(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Conflux and runs it for a moment")
	}
	ctx := context.Background()
	root, err := moduleRoot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	o := options{duration: 500 * time.Millisecond, warmup: 100 * time.Millisecond, clients: 1, scenarios: []string{"subscription", "defer"}}
	var log bytes.Buffer
	b, err := runBench(ctx, o, root, &log)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	checkRows(t, b, []wantRow{
		{"subscription", "conflux, graphql-transport-ws", -1},
		{"subscription", "conflux, sse", -1},
		{"defer", "conflux, no @defer", 2},
		{"defer", "conflux, @defer", 2},
	})
	for _, r := range b.rows[:2] {
		// Events at the window's edges may have their product call on the other side of it.
		if r.upstream < 0.9 || r.upstream > 1.1 || r.out.requests < 100 {
			t.Errorf("%s: %d events, %.3f upstream calls per event, want about 1", r.server, r.out.requests, r.upstream)
		}
	}
	plain, deferred := b.rows[2], b.rows[3]
	if plain.out.p50 < deferSlow || deferred.out.p50 >= deferSlow {
		t.Errorf("first payload: without @defer %v, with @defer %v; the slow field takes %v", plain.out.p50, deferred.out.p50, deferSlow)
	}
	report := b.report("test machine", "go run ./bench -scenarios subscription,defer", time.Second)
	for _, s := range []string{"subscription, sse: ", "events/s through one subscription", "defer, conflux, @defer: time to the first payload median"} {
		if !strings.Contains(report, s) {
			t.Errorf("report lacks %q:\n%s", s, report)
		}
	}
}
