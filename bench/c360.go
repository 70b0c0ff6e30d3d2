package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/conflux-gql/conflux/examples/customer360"
)

// c360Latency is the injected latency of each Customer 360 backend.
var c360Latency = map[string]time.Duration{
	"crm": 5 * time.Millisecond, "orders": 10 * time.Millisecond, "catalog": 5 * time.Millisecond,
	"billing": 20 * time.Millisecond, "support": 10 * time.Millisecond, "recommendations": 15 * time.Millisecond,
	"loyalty": 5 * time.Millisecond,
}

// c360Chains are the chains of backend calls the deep query has to wait for, one after the other: the customer
// first, then its orders, then the lines' products and recommendations, then the products' categories and the
// recommended products. The critical path is the longest.
var c360Chains = [][]string{
	{"crm", "orders", "catalog", "catalog"},
	{"crm", "orders", "recommendations", "catalog"},
	{"crm", "billing"},
	{"crm", "support"},
	{"crm", "loyalty"},
}

func criticalPath() (time.Duration, []string) {
	var best time.Duration
	var chain []string
	for _, c := range c360Chains {
		var d time.Duration
		for _, n := range c {
			d += c360Latency[n]
		}
		if d > best {
			best, chain = d, c
		}
	}
	return best, chain
}

// c360Scenario: the deep Customer 360 query with injected latency against Conflux and bench/baseline360.
func c360Scenario(ctx context.Context, b *bench) error {
	g, err := customer360.Start(customer360.Options{Latency: c360Latency}, nil)
	if err != nil {
		return err
	}
	defer g.Close()
	urls := g.URLs()
	for _, n := range g.Names() {
		g.Backend(n).SetRecording(false)
	}
	for _, n := range []string{"support", "loyalty"} {
		urls[n] += "/graphql"
	}
	config, err := exampleConfig(filepath.Join(b.root, "examples/customer360"), filepath.Join(b.dir, "c360"), urls, false)
	if err != nil {
		return err
	}
	query, err := os.ReadFile(filepath.Join(b.root, "bench/baseline360/testdata/query.graphql"))
	if err != nil {
		return err
	}
	var bodies [][]byte
	for id := 1; id <= 21; id++ {
		if id == 13 { // the support service fails this customer's tickets on purpose (partial results)
			continue
		}
		bodies = append(bodies, gqlBody(string(query), map[string]any{"id": fmt.Sprint(id)}))
	}
	l := load{clients: b.o.clients, duration: b.o.duration, warmup: b.o.warmup, bodies: bodies, ok: graphQLOK}
	upstream := func() int64 {
		var n int64
		for _, name := range g.Names() {
			n += g.Backend(name).Requests()
		}
		return n
	}
	var flags []string
	for _, n := range g.Names() {
		flags = append(flags, "--"+n, urls[n])
	}
	base, err := b.startBaseline(ctx, "baseline360", "baseline360", nil, flags...)
	if err != nil {
		return err
	}
	defer stopAll(base)
	cf, err := b.startConflux(ctx, "conflux", config)
	if err != nil {
		return err
	}
	defer stopAll(cf)
	cmpConfig, err := b.compareExampleConfig("examples/customer360", filepath.Join(b.dir, "c360-compare"), urls, false)
	if err != nil {
		return err
	}
	cmp, err := b.startCompare(ctx, "conflux", cmpConfig)
	if err != nil {
		return err
	}
	defer stopAll(cmp)
	if err := sameAnswers(withCompare(cmp, cf, base), bodies); err != nil {
		return err
	}
	cfs, err := b.measureAll("c360", withCompare(cmp, cf), l, upstream)
	if err != nil {
		return err
	}
	stopAll(withCompare(cmp, cf)...)
	c := cfs[0]
	bl, err := b.measure("c360", base, l, upstream)
	if err != nil {
		return err
	}
	b.compare(c, bl)
	if cmp != nil {
		b.compare(c, cfs[1])
	}
	crit, chain := criticalPath()
	b.facts = append(b.facts, fact{"c360 critical path", fmt.Sprintf("%s (%s; injected latency per backend: %v)", ms(crit), strings.Join(chain, " → "), c360Latency)})
	direct, err := directChain(g.URLs())
	if err != nil {
		return err
	}
	b.facts = append(b.facts, fact{"c360 critical path called directly", fmt.Sprintf("p50 %s: the four calls of that chain one after the other from this process, the floor any gateway stands on (Conflux p50 is %s above it)", ms(direct), ms(c.out.p50-direct))})
	b.target("c360: p50 ≤ critical path + 1 ms", c.out.p50 <= crit+time.Millisecond, "p50 %s, critical path %s: +%s (baseline +%s)",
		ms(c.out.p50), ms(crit), ms(c.out.p50-crit), ms(bl.out.p50-crit))
	b.target("c360: p50 ≤ 0.8 × baseline p50", ratio(c.out.p50, bl.out.p50) <= 0.8, "%.3f (%s vs %s)", ratio(c.out.p50, bl.out.p50), ms(c.out.p50), ms(bl.out.p50))
	return nil
}

// directChain calls the critical path's backends one after the other, 21 times, as a gateway would for customer
// 1 (its customer, orders, the recommendations of its products, the recommended products), and returns the
// median time of the chain.
func directChain(urls map[string]string) (time.Duration, error) {
	steps := []string{urls["crm"] + "/customers/1", urls["orders"] + "/orders?customerId=1",
		urls["recommendations"] + "/recommendations?productId=p6&productId=p9", urls["catalog"] + "/products/p2,p7"}
	var times []time.Duration
	for range 21 {
		began := time.Now()
		for _, u := range steps {
			resp, err := httpClient.Get(u)
			if err != nil {
				return 0, err
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return 0, fmt.Errorf("GET %s: status %d", u, resp.StatusCode)
			}
		}
		times = append(times, time.Since(began))
	}
	slices.Sort(times)
	return times[len(times)/2], nil
}
