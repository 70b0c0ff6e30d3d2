package main

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql/introspection"
	"github.com/conflux-gql/conflux/graph"
	"github.com/conflux-gql/conflux/resolvers"
	"github.com/conflux-gql/conflux/schema"
	"github.com/conflux-gql/conflux/sources"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/validator/rules"
)

// introspectionBody asks the full introspection query (gqlgen's introspection.Query, what GraphiQL sends).
var introspectionBody = gqlBody(introspection.Query, nil)

// planningScenario: the cost of planning (a new document every request) against a cached plan, and of the full
// introspection query, over HTTP against Conflux on the posts example; then the planner in process.
func planningScenario(ctx context.Context, b *bench) error {
	backend, urls, err := startPostsBackend()
	if err != nil {
		return err
	}
	defer backend.Close()
	config, err := exampleConfig(filepath.Join(b.root, "examples/posts"), filepath.Join(b.dir, "planning"), urls, false)
	if err != nil {
		return err
	}
	cf, err := b.startConflux(ctx, "conflux", config)
	if err != nil {
		return err
	}
	defer stopAll(cf)
	// A distinct alias makes every document new to gqlgen's query cache and Conflux's plan cache alike.
	fresh := make([][]byte, 200000)
	for i := range fresh {
		fresh[i] = gqlBody(fmt.Sprintf(`{ p%d: posts { id title user { id name email } } }`, i), nil)
	}
	runs := []struct {
		name   string
		bodies [][]byte
	}{
		{"conflux, cached plan", [][]byte{gqlBody(postsQuery, nil)}},
		{"conflux, new document each request", fresh},
		{"conflux, introspection", [][]byte{introspectionBody}},
	}
	var rows []row
	for _, r := range runs {
		cf.name = r.name
		l := load{clients: b.o.clients, duration: b.o.duration / 2, warmup: b.o.warmup / 2, bodies: r.bodies, ok: graphQLOK}
		if r.name == "conflux, new document each request" {
			l.warmup = 0 // warm-up would use up documents the measured window then finds cached
		}
		row, err := b.measure("planning", cf, l, backend.Requests)
		if err != nil {
			return err
		}
		rows = append(rows, row)
	}
	hit, miss, intro := rows[0], rows[1], rows[2]
	b.facts = append(b.facts, fact{"planning over HTTP", fmt.Sprintf("a new document costs %s more gateway CPU than a cached one (gqlgen parse + validate, Conflux plan; %s vs %s)",
		us(miss.cpu-hit.cpu), us(miss.cpu), us(hit.cpu))})
	facts, targets, err := plannerBenchmarks(config)
	if err != nil {
		return err
	}
	b.facts = append(b.facts, facts...)
	b.targets = append(b.targets, targets...)
	b.facts = append(b.facts, fact{"introspection over HTTP", fmt.Sprintf("gateway CPU %s per full introspection query, HTTP and gqlgen included (p50 %s with %d clients)",
		us(intro.cpu), ms(intro.out.p50), intro.clients)})
	return nil
}

// plannerBenchmarks measures in process what the planning scenario measures over HTTP: parsing and validating
// the posts query (gqlparser, what gqlgen's query cache saves), planning it (a plan-cache miss), taking its plan
// from the engine's cache (a hit), and the engine's answer to the full introspection query (served from the
// per-version cache after the first).
func plannerBenchmarks(config string) ([]fact, []target, error) {
	sg, err := schema.Load(config)
	if err != nil {
		return nil, nil, err
	}
	srcs := map[string]sources.Source{}
	for _, name := range sg.SourceNames() {
		// Nothing is fetched: planning and introspection never call a source.
		if srcs[name], err = sources.NewStatic(name, nil); err != nil {
			return nil, nil, err
		}
	}
	set, err := resolvers.New(sg, srcs)
	if err != nil {
		return nil, nil, err
	}
	engine, err := graph.New(sg, set)
	if err != nil {
		return nil, nil, err
	}
	doc, errs := gqlparser.LoadQueryWithRules(sg.Schema, postsQuery, rules.NewDefaultRules())
	if errs != nil {
		return nil, nil, errs
	}
	op := doc.Operations[0]
	if _, err := engine.CachedPlan(postsQuery, doc, op, nil); err != nil {
		return nil, nil, err
	}
	idoc, errs := gqlparser.LoadQueryWithRules(sg.Schema, introspection.Query, rules.NewDefaultRules())
	if errs != nil {
		return nil, nil, errs
	}
	ctx := context.Background()
	if r := engine.Execute(ctx, introspection.Query, idoc, idoc.Operations[0], nil, nil); len(r.Errors) > 0 || len(r.Data) < 1000 {
		return nil, nil, fmt.Errorf("introspection: %v", r.Errors)
	}
	bench := func(fn func()) testing.BenchmarkResult {
		return testing.Benchmark(func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				fn()
			}
		})
	}
	parse := bench(func() { gqlparser.LoadQueryWithRules(sg.Schema, postsQuery, rules.NewDefaultRules()) })
	miss := bench(func() { _, _ = graph.NewPlan(sg, doc, op, nil) })
	hit := bench(func() { _, _ = engine.CachedPlan(postsQuery, doc, op, nil) })
	intro := bench(func() { engine.Execute(ctx, introspection.Query, idoc, idoc.Operations[0], nil, nil) })
	line := func(r testing.BenchmarkResult) string {
		return fmt.Sprintf("%s/op, %d B/op, %d allocs/op", nsOf(timePerOp(r)), r.AllocedBytesPerOp(), r.AllocsPerOp())
	}
	facts := []fact{
		{"in process: parse + validate the posts query (gqlparser)", line(parse)},
		{"in process: plan the posts query (graph.NewPlan, a plan-cache miss)", line(miss)},
		{"in process: the posts query's plan from the cache (Engine.CachedPlan, a hit)", line(hit)},
		{"in process: the full introspection query answered by the engine from its cache", line(intro)},
	}
	targets := []target{
		{"planning: a cached plan ≤ 5 µs per operation", nsOf(timePerOp(hit)) + " per hit in process", timePerOp(hit) <= 5*time.Microsecond},
		{"planning: introspection from cache ≤ 100 µs (engine, in process)", nsOf(timePerOp(intro)), timePerOp(intro) <= 100*time.Microsecond},
	}
	return facts, targets, nil
}
