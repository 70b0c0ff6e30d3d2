package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/conflux-gql/conflux/schema"
)

// cachedBindings are the bindings the cache scenario caches (issue 15): the posts list and each post's user
// (batched, so cached per user).
var cachedBindings = map[string]string{
	"Query.posts": `{source: api, path: /posts, cache: {ttl: 60s}}`,
	"Post.user": `{source: api, path: "/users/{{parent.userId}}", cache: {ttl: 60s},
  batch: {key: "{{parent.userId}}", path: /users, query: {id: "{{keys}}"}, match: id}}`,
}

// cacheConfig is the posts example (dedup off) with cachedBindings.
func cacheConfig(example, dir string, urls map[string]string) (string, error) {
	path, err := exampleConfig(example, dir, urls, false)
	if err != nil {
		return "", err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	for field, value := range cachedBindings {
		if data, err = schema.SetEntry(data, "bindings", field, []byte(value)); err != nil {
			return "", fmt.Errorf("cache scenario: binding %s: %w", field, err)
		}
	}
	return path, os.WriteFile(path, data, 0o644)
}

// cacheScenario: the posts query against Conflux without cache, then with `cache: {ttl: 60s}` on Query.posts and
// Post.user, warm (the warm-up fills the cache): req/s, gateway CPU per request and upstream calls per request.
func cacheScenario(ctx context.Context, b *bench) error {
	backend, urls, err := startPostsBackend()
	if err != nil {
		return err
	}
	defer backend.Close()
	example := filepath.Join(b.root, "examples/posts")
	plain, err := exampleConfig(example, filepath.Join(b.dir, "cache-off"), urls, false)
	if err != nil {
		return err
	}
	cached, err := cacheConfig(example, filepath.Join(b.dir, "cache-on"), urls)
	if err != nil {
		return err
	}
	l := load{clients: b.o.clients, duration: b.o.duration, warmup: b.o.warmup, bodies: [][]byte{gqlBody(postsQuery, nil)}, ok: graphQLOK}
	off, err := b.startConflux(ctx, "conflux (no cache)", plain)
	if err != nil {
		return err
	}
	defer stopAll(off)
	on, err := b.startConflux(ctx, "conflux (cache, warm)", cached)
	if err != nil {
		return err
	}
	defer stopAll(on)
	if err := sameAnswers([]*server{off, on}, l.bodies); err != nil {
		return err
	}
	on.stop()
	r0, err := b.measure("cache", off, l, backend.Requests)
	if err != nil {
		return err
	}
	off.stop()
	on, err = b.startConflux(ctx, "conflux (cache, warm)", cached)
	if err != nil {
		return err
	}
	defer stopAll(on)
	r1, err := b.measure("cache", on, l, backend.Requests)
	if err != nil {
		return err
	}
	b.compare(r1, r0)
	b.target("cache: warm cache ≥ 3× the uncached req/s", r1.out.rate() >= 3*r0.out.rate() && r1.out.errors == 0,
		"%.2f× (%.0f vs %.0f req/s); CPU/req %s vs %s; upstream calls/req %.3f vs %.3f",
		r1.out.rate()/r0.out.rate(), r1.out.rate(), r0.out.rate(), us(r1.cpu), us(r0.cpu), r1.upstream, r0.upstream)
	return nil
}
