package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"runtime/pprof"
	"syscall"
	"testing"
	"time"

	"github.com/conflux-gql/conflux/examples/customer360"
	"github.com/conflux-gql/conflux/examples/mock"
	"github.com/conflux-gql/conflux/examples/posts"
)

// BenchmarkServer_PostsUsers measures one posts+users request through the whole in-process stack: HTTP in,
// gqlgen (cached document), plan cache, two upstream calls over loopback to the posts backend, JSON out. The
// source's in-flight dedup is on (its default), so concurrent requests share some upstream calls.
func BenchmarkServer_PostsUsers(b *testing.B) { benchPostsUsers(b, true) }

// BenchmarkServer_PostsUsersNoDedup is the benchmark issue's workload: every request makes its own two upstream
// calls (/posts and /users?id=1&…&id=10), as the gqlgen+dataloader baseline does.
func BenchmarkServer_PostsUsersNoDedup(b *testing.B) { benchPostsUsers(b, false) }

// benchPostsUsers runs the posts query from b.RunParallel clients. The client, the gateway and the backend share
// the process, so ns/op and cpu-µs/op (the process's user+system CPU per request) are all three together. To
// see the gateway's own share, every goroutine carries a pprof label role=client|gateway|backend (goroutines
// inherit their creator's labels, so the servers' connection goroutines and the HTTP clients' read and write
// loops are labelled too); only the runtime's own goroutines (background GC, scavenger) stay unlabelled:
//
//	go test -run X -bench PostsUsersNoDedup -cpuprofile /tmp/cpu.out .
//	go tool pprof -tags /tmp/cpu.out                       # CPU by role
//	go tool pprof -tagfocus role=gateway -top /tmp/cpu.out  # the gateway's profile alone
func benchPostsUsers(b *testing.B, dedup bool) {
	defer pprof.SetGoroutineLabels(context.Background())
	role := func(name string) {
		pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(), pprof.Labels("role", name)))
	}
	role("backend")
	backend, err := posts.Start(posts.Options{}, "127.0.0.1:0")
	if err != nil {
		b.Fatalf("start backend: %v", err)
	}
	b.Cleanup(func() { backend.Close() })
	replace := map[string]string{"http://" + posts.DefaultAddr: backend.URL()}
	if !dedup {
		replace["http: {endpoints:"] = "http: {dedup: false, endpoints:"
	}
	role("gateway")
	env := startConflux(b, "examples/posts", replace, map[string]*mock.Backend{"api": backend})
	role("client")
	body := []byte(`{"query":"{ posts { id title user { id name email } } }"}`)
	client := env.srv.Client()
	check := func() int64 {
		resp, err := client.Post(env.srv.URL+"/graphql", "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
		return n
	}
	if n := check(); n < 10000 {
		b.Fatalf("short answer: %d bytes", n)
	}
	backend.Reset()
	b.ReportAllocs()
	cpu0 := processCPU()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			check()
		}
	})
	b.StopTimer()
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
	got := backend.Requests()
	if dedup {
		// At most 2 each: concurrent identical GETs are shared by the source's in-flight dedup.
		if got > int64(2*b.N) || got == 0 {
			b.Errorf("%d upstream requests for %d client requests, want at most 2 each", got, b.N)
		}
	} else if got != int64(2*b.N) {
		b.Errorf("%d upstream requests for %d client requests, want 2 each", got, b.N)
	}
	b.ReportMetric(float64(got)/float64(b.N), "upstream/op")
}

// processCPU returns the user+system CPU time the process has used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkServer_C360 measures the Customer 360 deep query (bench/baseline360/testdata/query.graphql), one
// request at a time, with no backend latency: what remains is the gateway's own work along the chain of eight
// fetches (the backends run in process too).
func BenchmarkServer_C360(b *testing.B) {
	zero := map[string]time.Duration{}
	for name := range customer360.DefaultLatency {
		zero[name] = 0
	}
	env := newCustomer360(b, customer360.Options{Latency: zero})
	query, err := os.ReadFile("bench/baseline360/testdata/query.graphql")
	if err != nil {
		b.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"query": string(query), "variables": map[string]any{"id": "1"}})
	client := env.srv.Client()
	b.ReportAllocs()
	for b.Loop() {
		resp, err := client.Post(env.srv.URL+"/graphql", "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || bytes.Contains(out, []byte(`"errors"`)) {
			b.Fatalf("status %d: %.300s", resp.StatusCode, out)
		}
	}
}
