package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestBench runs every scenario for a moment: the servers build and start, Conflux and the baselines give the
// same answers (runBench fails otherwise), no request fails, and the table has every row. It checks that the
// benchmark works, not how fast anything is: speed is for `go run ./bench`.
func TestBench(t *testing.T) {
	if testing.Short() {
		t.Skip("builds three servers and runs each for a moment")
	}
	ctx := context.Background()
	root, err := moduleRoot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	o := options{duration: 300 * time.Millisecond, warmup: 50 * time.Millisecond, clients: 4,
		scenarios: []string{"posts", "c360", "lists", "planning"}, sizes: []int{100, 1000}}
	var log bytes.Buffer
	b, err := runBench(ctx, o, root, &log)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	want := []struct {
		scenario, server string
		upstream         float64 // upstream requests per client request; -1: not checked
	}{
		{"posts", "conflux", 2},
		{"posts", "baseline", -1}, // its 1 ms windows split batches now and then
		{"posts", "conflux (dedup on)", -1},
		{"posts", "baseline (GOGC=200)", -1},
		{"c360", "conflux", -1},
		{"c360", "baseline360", -1},
		{"lists", "conflux, 100 items", 2},
		{"lists", "conflux, 1000 items", 2},
		{"planning", "conflux, cached plan", 2},
		{"planning", "conflux, new document each request", 2},
		{"planning", "conflux, introspection", 0},
	}
	if len(b.rows) != len(want) {
		t.Fatalf("%d rows, want %d:\n%s", len(b.rows), len(want), b.report("test", "test", 0))
	}
	for i, w := range want {
		r := b.rows[i]
		if r.scenario != w.scenario || r.server != w.server {
			t.Errorf("row %d is %s/%s, want %s/%s", i, r.scenario, r.server, w.scenario, w.server)
		}
		if r.out.requests == 0 || r.out.errors != 0 {
			t.Errorf("%s/%s: %d errors in %d requests: %s", r.scenario, r.server, r.out.errors, r.out.requests, r.out.firstErr)
		}
		if w.upstream >= 0 && r.upstream != w.upstream {
			t.Errorf("%s/%s: %.3f upstream requests per request, want %v", r.scenario, r.server, r.upstream, w.upstream)
		}
		// CPU time comes in 10 ms ticks, which a short run of a light scenario may not reach; memory always shows.
		if r.cpu < 0 || r.rss <= 0 || r.alloc <= 0 || (r.scenario == "posts" && r.cpu == 0) {
			t.Errorf("%s/%s: no server-side figures: cpu %v, rss %d, alloc %.0f", r.scenario, r.server, r.cpu, r.rss, r.alloc)
		}
	}
	// The Customer 360 query waits for three backends one after the other at least.
	if c := b.rows[4]; c.out.p50 < 25*time.Millisecond {
		t.Errorf("c360 p50 %v is below the injected latency's chain", c.out.p50)
	}
	report := b.report("test machine", "go run ./bench", time.Second)
	for _, s := range []string{"| posts", "Ratios", "c360 critical path: 35.00ms (crm → orders → recommendations → catalog", "Targets:"} {
		if !strings.Contains(report, s) {
			t.Errorf("report lacks %q:\n%s", s, report)
		}
	}
}
