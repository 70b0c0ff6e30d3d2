package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/conflux-gql/conflux/examples/customer360"
	"github.com/conflux-gql/conflux/examples/posts"
)

// BenchmarkServer_PostsUsers measures one posts+users request through the whole in-process stack: HTTP in,
// gqlgen (cached document), plan cache, two upstream calls over loopback to the posts backend, JSON out.
func BenchmarkServer_PostsUsers(b *testing.B) {
	env := newPosts(b, posts.Options{})
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
	env.backends["api"].Reset()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			check()
		}
	})
	b.StopTimer()
	// At most 2 each: concurrent identical GETs are shared by the source's in-flight dedup.
	got := env.backends["api"].Requests()
	if got > int64(2*b.N) || got == 0 {
		b.Errorf("%d upstream requests for %d client requests, want at most 2 each", got, b.N)
	}
	b.ReportMetric(float64(got)/float64(b.N), "upstream/op")
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
