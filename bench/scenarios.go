package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/conflux-gql/conflux/examples/mock"
	"github.com/conflux-gql/conflux/examples/posts"
)

// scenarios are the benchmark's scenarios by name, with the servers each runs.
var scenarios = map[string]struct {
	run     func(context.Context, *bench) error
	servers []string
}{
	"posts":    {postsScenario, []string{"conflux", "baseline"}},
	"c360":     {c360Scenario, []string{"conflux", "baseline360"}},
	"lists":    {listsScenario, []string{"conflux"}},
	"planning": {planningScenario, []string{"conflux"}},
	"cache":    {cacheScenario, []string{"conflux"}},
	"fleet":    {fleetScenario, []string{"conflux"}},
	// Issue 17: streams.
	"subscription": {subscriptionScenario, []string{"conflux"}},
	"defer":        {deferScenario, []string{"conflux"}},
}

const postsQuery = `{ posts { id title user { id name email } } }`

// gqlBody is a POST /graphql body.
func gqlBody(query string, vars map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	return b
}

// startConflux runs the Conflux binary on config and a free port.
func (b *bench) startConflux(ctx context.Context, name, config string) (*server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	return start(ctx, name, b.bins["conflux"], "http://"+addr, nil, "--addr", addr, "--config", config)
}

// startBaseline runs a baseline binary, named name in the table, on a free port with extra environment and flags.
func (b *bench) startBaseline(ctx context.Context, name, bin string, env []string, flags ...string) (*server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	return start(ctx, name, b.bins[bin], "http://"+addr, env, append([]string{"--addr", addr}, flags...)...)
}

// sameAnswers checks that every server answers each body with the same bytes and no errors, so the servers
// compared do the same work.
func sameAnswers(servers []*server, bodies [][]byte) error {
	for _, body := range bodies {
		var first []byte
		for _, s := range servers {
			got, err := post(s.url, body)
			switch {
			case err != nil:
				return fmt.Errorf("%s: %w", s.name, err)
			case !graphQLOK(http.StatusOK, got):
				return fmt.Errorf("%s answers with errors: %.300s", s.name, got)
			case first == nil:
				first = got
			case !bytes.Equal(got, first):
				return fmt.Errorf("%s and %s answer differently:\n%.400s\n%.400s", servers[0].name, s.name, first, got)
			}
		}
	}
	return nil
}

func post(url string, body []byte) ([]byte, error) {
	resp, err := httpClient.Post(url+"/graphql", "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d: %.300s", resp.StatusCode, buf.Bytes())
	}
	return bytes.TrimSpace(buf.Bytes()), nil
}

func stopAll(servers ...*server) {
	for _, s := range servers {
		if s != nil {
			s.stop()
		}
	}
}

// startPostsBackend starts the posts example's backend on a free port, not recording requests (only counting
// them), and returns it with the source URLs of the example's configuration.
func startPostsBackend() (*mock.Backend, map[string]string, error) {
	backend, err := posts.Start(posts.Options{}, "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	backend.SetRecording(false)
	return backend, map[string]string{"api": backend.URL()}, nil
}

// postsScenario: the posts+users query against Conflux (dedup off, then on) and the baseline.
func postsScenario(ctx context.Context, b *bench) error {
	backend, urls, err := startPostsBackend()
	if err != nil {
		return err
	}
	defer backend.Close()
	noDedup, err := exampleConfig(filepath.Join(b.root, "examples/posts"), filepath.Join(b.dir, "posts"), urls, false)
	if err != nil {
		return err
	}
	withDedup, err := exampleConfig(filepath.Join(b.root, "examples/posts"), filepath.Join(b.dir, "posts-dedup"), urls, true)
	if err != nil {
		return err
	}
	l := load{clients: b.o.clients, duration: b.o.duration, warmup: b.o.warmup, bodies: [][]byte{gqlBody(postsQuery, nil)}, ok: graphQLOK}

	base, err := b.startBaseline(ctx, "baseline", "baseline", nil, "--backend", backend.URL())
	if err != nil {
		return err
	}
	defer stopAll(base)
	// One server at a time: the other is started only for the answer check.
	cf, err := b.startConflux(ctx, "conflux", noDedup)
	if err != nil {
		return err
	}
	defer stopAll(cf)
	// With -compare, the compared Conflux runs with the same settings, interleaved with this one.
	cmpConfig, err := b.compareExampleConfig("examples/posts", filepath.Join(b.dir, "posts-compare"), urls, false)
	if err != nil {
		return err
	}
	cmp, err := b.startCompare(ctx, "conflux", cmpConfig)
	if err != nil {
		return err
	}
	defer stopAll(cmp)
	if err := sameAnswers(withCompare(cmp, cf, base), l.bodies); err != nil {
		return err
	}
	cfs, err := b.measureAll("posts", withCompare(cmp, cf), l, backend.Requests)
	if err != nil {
		return err
	}
	stopAll(withCompare(cmp, cf)...)
	c := cfs[0]
	bl, err := b.measure("posts", base, l, backend.Requests)
	if err != nil {
		return err
	}
	base.stop()
	cfd, err := b.startConflux(ctx, "conflux (dedup on)", withDedup)
	if err != nil {
		return err
	}
	defer stopAll(cfd)
	rd, err := b.measure("posts", cfd, l, backend.Requests)
	if err != nil {
		return err
	}
	cfd.stop()
	// Conflux sets GOGC=200 for itself (server.go); the baseline, as gqlgen's docs leave it, runs with Go's 100.
	// This row shows how much of the difference that setting is.
	gc200, err := b.startBaseline(ctx, "baseline (GOGC=200)", "baseline", []string{"GOGC=200"}, "--backend", backend.URL())
	if err != nil {
		return err
	}
	defer stopAll(gc200)
	rg, err := b.measure("posts", gc200, l, backend.Requests)
	if err != nil {
		return err
	}
	b.compare(c, bl)
	if cmp != nil {
		b.compare(c, cfs[1])
	}
	b.compare(rd, bl)
	b.compare(c, rg)
	b.target("posts: exactly 2 upstream requests per client request (dedup off)", c.upstream == 2 && c.out.errors == 0, "%.3f", c.upstream)
	b.target("posts: throughput ≥ 3× the baseline", c.out.rate() >= 3*bl.out.rate(), "%.2f× (%.0f vs %.0f req/s); with dedup on %.2f×",
		c.out.rate()/bl.out.rate(), c.out.rate(), bl.out.rate(), rd.out.rate()/bl.out.rate())
	b.target("posts: Conflux p99 ≤ baseline p50", c.out.p99 <= bl.out.p50, "p99 %s vs baseline p50 %s", ms(c.out.p99), ms(bl.out.p50))
	b.target("posts: gateway CPU per request ≤ 60 µs", c.cpu <= 60*time.Microsecond, "%s (baseline %s)", us(c.cpu), us(bl.cpu))
	return nil
}

func nsOf(d time.Duration) string { return fmt.Sprintf("%dns", d.Nanoseconds()) }

var httpClient = &http.Client{Timeout: 30 * time.Second}

func timePerOp(r testing.BenchmarkResult) time.Duration { return time.Duration(r.NsPerOp()) }
