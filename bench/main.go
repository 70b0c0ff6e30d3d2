// Command bench measures Conflux side by side with hand-written gqlgen servers (bench/baseline for the posts
// schema, bench/baseline360 for Customer 360) in one run on one machine, and prints one table.
//
//	go run ./bench                          # every scenario, about three minutes
//	go run ./bench -results bench/RESULTS.md # also append the run, with date, machine and command
//	go run ./bench -scenarios posts -duration 5s
//	go run ./bench -scenarios posts,c360,lists -compare ../before # also Conflux built from another checkout
//
// The mock backends and the load generator (vegeta, closed loop: each client sends its next request when the
// previous answer arrived) run in this process; every gateway runs as its own process, built once per run
// without the race detector, so its CPU time (/proc/<pid>/stat), peak RSS (VmHWM) and Go allocations (its
// /metrics) are its own. Everything listens on loopback.
//
// Scenarios:
//   - posts: { posts { id title user { id name email } } } over examples/posts (100 posts, 10 users); Conflux
//     with in-flight dedup off (each request pays its own upstream calls, as the baseline does) and on (the
//     default), against bench/baseline, which also runs with GOGC=200 (Conflux's default) to show what that
//     setting alone is worth.
//   - c360: the Customer 360 deep query (bench/baseline360/testdata/query.graphql) with 5–20 ms of latency per
//     backend; p50 against the critical path (the longest chain of backend latencies the query must wait for)
//     and against bench/baseline360.
//   - lists: 1k, 10k, 100k items with a batched child field (owner), one client: time and bytes per item.
//   - planning: the posts query with a cached plan and with a new document per request (gqlgen parses and
//     validates it, Conflux plans it), the full introspection query (from the per-version cache), and the
//     planner in process (testing.Benchmark).
//   - cache: the posts query without cache and with cache: {ttl: 60s} on Query.posts and Post.user, warm
//     (issue 15): req/s, gateway CPU per request, upstream calls per request.
//   - subscription: one subscription to a Server-Sent Events backend that emits as fast as the client reads,
//     each event's product batched to a REST backend, over graphql-transport-ws and over SSE (issue 17):
//     events/s, gateway CPU per event, upstream calls per event, backend→client latency per event.
//   - defer: a query whose slow field (50 ms) is deferred (multipart/mixed) and the same query without @defer,
//     alternately from one client (issue 17): time to the first payload, median and p90, and to the whole answer.
//
// With -compare DIR, DIR being another checkout of Conflux (a git worktree of the commit before a change, say),
// the run also builds Conflux there and measures it in posts, c360 and lists with the same workload, interleaved
// with this tree's in short alternating windows so that noise on the machine hits both alike, with rows named
// after DIR's git revision, a ratio line (this tree / DIR) and, in lists, peak RSS per answer byte for both.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

type options struct {
	duration  time.Duration // measured window of each run
	warmup    time.Duration
	clients   int
	scenarios []string
	sizes     []int
	results   string
	compare   string // another checkout of Conflux to measure side by side with this one
}

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var o options
	fs.DurationVar(&o.duration, "duration", 8*time.Second, "measured window of each load run")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured warm-up before each load run")
	fs.IntVar(&o.clients, "clients", 16, "concurrent closed-loop clients (the lists scenario uses one)")
	list := fs.String("scenarios", "posts,c360,lists,planning,cache,fleet,subscription,defer", "comma-separated scenarios to run")
	sizes := fs.String("sizes", "1000,10000,100000", "list sizes of the lists scenario")
	fs.StringVar(&o.results, "results", "", "append the run (date, machine, command, table) to this Markdown file")
	fs.StringVar(&o.compare, "compare", "", "another checkout of Conflux (e.g. a git worktree of an older commit): build it too and measure it interleaved with this one in posts, c360 and lists")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o.scenarios = strings.Split(*list, ",")
	for _, s := range strings.Split(*sizes, ",") {
		var n int
		if _, err := fmt.Sscan(s, &n); err != nil || n <= 0 {
			return fmt.Errorf("-sizes: %q is not a positive number", s)
		}
		o.sizes = append(o.sizes, n)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	began := time.Now()
	b, err := runBench(ctx, o, root, stdout)
	if err != nil {
		return err
	}
	report := b.report(machine(), "go run ./bench "+strings.Join(args, " "), time.Since(began))
	fmt.Fprint(stdout, "\n"+report)
	if o.results != "" {
		f, err := os.OpenFile(o.results, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		if _, err := fmt.Fprint(f, "\n"+report); err != nil {
			return err
		}
	}
	return nil
}

// runBench builds the servers the chosen scenarios need and runs the scenarios in order.
func runBench(ctx context.Context, o options, root string, log io.Writer) (*bench, error) {
	dir, err := os.MkdirTemp("", "conflux-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	var need []string
	for _, s := range o.scenarios {
		sc, ok := scenarios[s]
		if !ok {
			return nil, fmt.Errorf("-scenarios: unknown scenario %q (posts, c360, lists, planning)", s)
		}
		need = append(need, sc.servers...)
	}
	var cmp *checkout
	if o.compare != "" && slices.ContainsFunc(o.scenarios, func(s string) bool { return s == "posts" || s == "c360" || s == "lists" }) {
		if cmp, err = compareCheckout(ctx, o.compare); err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(log, "building the servers (go build) …\n")
	bins, err := build(ctx, root, dir, need)
	if err != nil {
		return nil, err
	}
	b := &bench{o: o, root: root, bins: bins, dir: dir, log: log}
	if cmp != nil {
		fmt.Fprintf(log, "building Conflux in %s (%s) …\n", cmp.dir, cmp.rev)
		if err := cmp.build(ctx, dir); err != nil {
			return nil, err
		}
		b.cmp = cmp
		b.facts = append(b.facts, fact{"compare", fmt.Sprintf("%q is Conflux built from %s at %s (%s), with its own examples' configs; "+
			"measured interleaved with this tree's in posts, c360 and lists: both warm up, then the measured time is cut into %d rounds (lists: %d), each server's window in the order A B, B A, …",
			cmp.name, cmp.dir, cmp.rev, cmp.subject, interleaveRounds(o.duration), interleaveRounds(o.duration/2))})
	}
	for _, s := range o.scenarios {
		fmt.Fprintf(log, "scenario %s …\n", s)
		if err := scenarios[s].run(ctx, b); err != nil {
			return nil, fmt.Errorf("scenario %s: %w", s, err)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	return b, nil
}

// moduleRoot is the directory of Conflux's go.mod: the examples and the baselines' files are read from there,
// wherever in the module the command runs.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("run the benchmark inside the Conflux module (go env GOMOD: %q, %v)", gomod, err)
	}
	return filepath.Dir(gomod), nil
}

// machine describes where the run happened: cores, CPU model, OS, Go.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%d cores, %s, %s/%s, %s", runtime.NumCPU(), model, runtime.GOOS, runtime.GOARCH, runtime.Version())
}
