package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// replicas is how many Conflux processes the fleet scenario runs.
const replicas = 3

// fleetScenario (issue 15): three replicas of the posts example with the cache scenario's bindings, the
// requests spread over them in turn, once each replica on its own (in-process caches only) and once sharing one
// Redis (its second cache level, one rate budget, configuration versions): the upstream calls that warm the three
// replicas' caches, then req/s, gateway CPU per request (all three processes) and upstream calls per request.
func fleetScenario(ctx context.Context, b *bench) error {
	redis, err := startRedis(ctx, b.dir)
	if err != nil {
		return err
	}
	defer redis.stop()
	backend, urls, err := startPostsBackend()
	if err != nil {
		return err
	}
	defer backend.Close()
	example := filepath.Join(b.root, "examples/posts")
	alone, err := fleetConfig(example, filepath.Join(b.dir, "fleet-alone"), urls, "")
	if err != nil {
		return err
	}
	shared, err := fleetConfig(example, filepath.Join(b.dir, "fleet-shared"), urls, fmt.Sprintf("\nredis: {url: %q, prefix: bench}\n", redis.url))
	if err != nil {
		return err
	}
	l := load{clients: b.o.clients, duration: b.o.duration, warmup: b.o.warmup, bodies: [][]byte{gqlBody(postsQuery, nil)}, ok: graphQLOK}
	var rows []row
	var fills []int64
	for _, g := range []struct{ name, config string }{
		{fmt.Sprintf("conflux ×%d, each alone", replicas), alone},
		{fmt.Sprintf("conflux ×%d, one Redis", replicas), shared},
	} {
		// Every upstream call from the replicas' start on: filling their caches (the first answer of each replica),
		// then what the load costs.
		calls := backend.Requests()
		var group []*server
		for i := range replicas {
			s, err := b.startConflux(ctx, fmt.Sprintf("%s #%d", g.name, i+1), g.config)
			if err != nil {
				stopAll(group...)
				return err
			}
			group = append(group, s)
		}
		if err := sameAnswers(group, l.bodies); err != nil {
			stopAll(group...)
			return err
		}
		fills = append(fills, backend.Requests()-calls)
		r, err := b.measureGroup("fleet", g.name, group, l, backend.Requests)
		stopAll(group...)
		if err != nil {
			return err
		}
		rows = append(rows, r)
	}
	b.compare(rows[1], rows[0])
	b.facts = append(b.facts, fact{name: fmt.Sprintf("fleet: upstream calls to answer the first request on each of %d replicas (cold caches)", replicas),
		value: fmt.Sprintf("%d each alone, %d with one Redis (its shared level answers the second and third)", fills[0], fills[1])})
	b.target("fleet: a replica serves what another one cached (shared level)", fills[1] < fills[0] && rows[1].out.errors == 0,
		"%d vs %d upstream calls to warm %d replicas", fills[1], fills[0], replicas)
	return nil
}

// fleetConfig is cacheConfig with extra appended (the redis section).
func fleetConfig(example, dir string, urls map[string]string, extra string) (string, error) {
	path, err := cacheConfig(example, dir, urls)
	if err != nil {
		return "", err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	data = append(data, extra...)
	return path, os.WriteFile(path, data, 0o644)
}

// measureGroup measures servers as one: the load's requests go to each in turn, and the row sums their CPU and
// allocations (peak RSS: the largest).
func (b *bench) measureGroup(scenario, name string, servers []*server, l load, upstream func() int64) (row, error) {
	for _, s := range servers {
		l.spread = append(l.spread, s.url)
	}
	l.warm("")
	var m vegeta.Metrics
	var out outcome
	before := make([]usage, len(servers))
	for i, s := range servers {
		u, err := s.usage()
		if err != nil {
			return row{}, err
		}
		before[i] = u
	}
	c0 := upstream()
	l.attack("", l.duration, &m, &out)
	c1 := upstream()
	r := row{scenario: scenario, server: name, clients: l.clients}
	var cpu time.Duration
	var alloc float64
	for i, s := range servers {
		u, err := s.usage()
		if err != nil {
			return row{}, err
		}
		cpu += u.cpu - before[i].cpu
		alloc += u.alloc - before[i].alloc
		r.rss = max(r.rss, u.peakRSS)
	}
	out.done(&m)
	r.out = out
	if out.requests > 0 {
		n := float64(out.requests)
		r.upstream = float64(c1-c0) / n
		r.cpu = time.Duration(float64(cpu) / n)
		r.alloc = alloc / n
	}
	if out.errors > 0 {
		fmt.Fprintf(b.log, "  %s: %d errors, first: %s\n", name, out.errors, out.firstErr)
	}
	fmt.Fprintf(b.log, "  %-22s %8.0f req/s  p50 %-9s p99 %-9s cpu/req %s upstream/req %.3f\n", name, out.rate(), ms(out.p50), ms(out.p99),
		us(r.cpu), r.upstream)
	b.rows = append(b.rows, r)
	return r, nil
}

// redisServer is a redis-server child process for the fleet scenario.
type redisServer struct {
	url string
	cmd *exec.Cmd
}

// startRedis runs redis-server on a free loopback port, without persistence, and waits until it answers PING.
func startRedis(ctx context.Context, dir string) (*redisServer, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("the fleet scenario runs redis-server, which is not installed (apt-get install redis-server): %w", err)
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.CommandContext(ctx, bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	r := &redisServer{url: "redis://" + addr + "/0", cmd: cmd}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			_ = c.SetDeadline(time.Now().Add(time.Second))
			_, _ = c.Write([]byte("PING\r\n"))
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if strings.HasPrefix(line, "+PONG") {
				return r, nil
			}
		}
		if time.Now().After(deadline) {
			r.stop()
			return nil, fmt.Errorf("redis-server on %s does not answer", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *redisServer) stop() {
	if r.cmd.Process != nil {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
	}
}
