package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
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
	want := []wantRow{
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
	checkRows(t, b, want)
	for _, r := range b.rows {
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

// TestBench_Compare runs posts, c360 and lists for a moment with -compare set to this very tree: the second
// Conflux builds from the other directory, starts on its own config, gives the same answers, is measured
// interleaved with the first, and gets its rows, its ratios to this tree and its peak RSS per answer.
func TestBench_Compare(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the servers and runs each for a moment")
	}
	ctx := context.Background()
	root, err := moduleRoot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	o := options{duration: 400 * time.Millisecond, warmup: 50 * time.Millisecond, clients: 4,
		scenarios: []string{"posts", "c360", "lists"}, sizes: []int{100, 1000}, compare: root}
	var log bytes.Buffer
	b, err := runBench(ctx, o, root, &log)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if b.cmp == nil || !strings.HasPrefix(b.cmp.name, "conflux (compare: ") {
		t.Fatalf("compared checkout: %+v", b.cmp)
	}
	cmp := b.cmp.name
	want := []wantRow{
		{"posts", "conflux", 2},
		{"posts", cmp, 2},
		{"posts", "baseline", -1},
		{"posts", "conflux (dedup on)", -1},
		{"posts", "baseline (GOGC=200)", -1},
		{"c360", "conflux", -1},
		{"c360", cmp, -1},
		{"c360", "baseline360", -1},
		{"lists", "conflux, 100 items", 2},
		{"lists", cmp + ", 100 items", 2},
		{"lists", "conflux, 1000 items", 2},
		{"lists", cmp + ", 1000 items", 2},
	}
	checkRows(t, b, want)
	for _, r := range b.rows {
		if r.rss <= 0 || r.alloc <= 0 || r.out.respBytes() <= 0 {
			t.Errorf("%s/%s: no server-side figures: rss %d, alloc %.0f, answer %.0f B", r.scenario, r.server, r.rss, r.alloc, r.out.respBytes())
		}
	}
	// Interleaved, each of the two got its share of the measured time, not the whole of it nor none.
	for _, i := range []int{0, 5} {
		for _, r := range b.rows[i : i+2] {
			if r.out.elapsed < o.duration*3/4 || r.out.elapsed > o.duration*2 {
				t.Errorf("%s/%s measured for %v, want about %v", r.scenario, r.server, r.out.elapsed, o.duration)
			}
		}
	}
	report := b.report("test machine", "go run ./bench -compare .", time.Second)
	for _, s := range []string{
		"posts: conflux / " + cmp + ": req/s",
		"c360: conflux / " + cmp + ": req/s",
		"lists: conflux, 1000 items / " + cmp + ", 1000 items: req/s",
		"lists, " + cmp + ", 1000 items: p50",
		"× the answer (",
		"- compare: \"" + cmp + "\" is Conflux built from " + root,
	} {
		if !strings.Contains(report, s) {
			t.Errorf("report lacks %q:\n%s", s, report)
		}
	}
}

// TestCompareCheckout: -compare refuses, before building anything, a directory that is not a checkout of
// Conflux, and names the one it accepts by its git revision.
func TestCompareCheckout(t *testing.T) {
	ctx := context.Background()
	root, err := moduleRoot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "go.mod"), []byte("// another module\nmodule \"example.com/other\"\n\ngo 1.22\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, dir, err string
	}{
		{"no go.mod", t.TempDir(), "not a checkout of Conflux"},
		{"another module", other, `declares module "example.com/other"`},
		{"this tree", root, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := compareCheckout(ctx, tc.dir)
			switch {
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("error %v, want one with %q", err, tc.err)
			case tc.err == "" && err != nil:
				t.Fatal(err)
			case tc.err == "":
				rev, _ := exec.Command("git", "-C", root, "rev-parse", "--short", "HEAD").Output()
				if want := strings.TrimSpace(string(rev)); !strings.HasPrefix(c.rev, want) || c.name != "conflux (compare: "+c.rev+")" {
					t.Errorf("rev %q, name %q; want rev %q", c.rev, c.name, want)
				}
			}
		})
	}
	// The error comes from the flag as well, before any build.
	err = run([]string{"-compare", other, "-scenarios", "posts"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "not a checkout of Conflux") {
		t.Errorf("run -compare %s: %v", other, err)
	}
}

// wantRow is one row a run must report, in order: its scenario and server, and its upstream requests per client
// request (-1: not checked).
type wantRow struct {
	scenario, server string
	upstream         float64
}

// checkRows checks that b reported exactly the rows of want, in order, each without errors and with the upstream
// requests per client request it expects.
func checkRows(t *testing.T, b *bench, want []wantRow) {
	t.Helper()
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
	}
}

// TestBench_CacheFleet runs the cache and fleet scenarios for a moment (issue 15): warm caches make no upstream
// call, and three replicas sharing one Redis warm their caches with the upstream calls of one.
func TestBench_CacheFleet(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Conflux and runs five instances for a moment")
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("redis-server is not installed (.ci/run installs it)")
		}
		t.Skip("redis-server is not installed")
	}
	ctx := context.Background()
	root, err := moduleRoot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	o := options{duration: 300 * time.Millisecond, warmup: 50 * time.Millisecond, clients: 4, scenarios: []string{"cache", "fleet"}}
	var log bytes.Buffer
	b, err := runBench(ctx, o, root, &log)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	checkRows(t, b, []wantRow{
		{"cache", "conflux (no cache)", 2},
		{"cache", "conflux (cache, warm)", 0},
		{"fleet", "conflux ×3, each alone", 0},
		{"fleet", "conflux ×3, one Redis", 0},
	})
	for _, tg := range b.targets {
		if strings.HasPrefix(tg.name, "fleet:") && !tg.met {
			t.Errorf("%s: %s", tg.name, tg.measured)
		}
	}
}
