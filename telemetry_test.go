package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/conflux-gql/conflux/examples/posts"
	"github.com/conflux-gql/conflux/schema"
)

func TestMetrics(t *testing.T) {
	env := newPosts(t, posts.Options{})
	sg, err := schema.Load(env.rt.Supergraph().File)
	if err != nil {
		t.Fatal(err)
	}
	tel, err := newTelemetry()
	if err != nil {
		t.Fatal(err)
	}
	rt, err := newRuntime(sg, tel, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	s := newServer(rt)
	s.mux.Handle("GET /metrics", tel.Handler())
	srv := httptest.NewServer(s)
	defer srv.Close()
	for _, q := range []string{`query Feed { posts { id user { name } } }`, `query Broken { post(id: 999) { id } }`} {
		resp, err := http.Post(srv.URL+"/graphql", "application/json", strings.NewReader(`{"query":"`+strings.ReplaceAll(q, `"`, `\"`)+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	srv.Client().CloseIdleConnections()
	http.DefaultClient.CloseIdleConnections()
	for _, want := range []string{
		`conflux_operation_duration_seconds_count{operation="Feed",type="query"} 1`,
		`conflux_operation_errors_total{code="UPSTREAM_HTTP_ERROR",operation="Broken"} 1`,
		`conflux_upstream_requests_total{endpoint="` + env.backends["api"].URL() + `",outcome="ok",source="api"} 2`,
		`conflux_upstream_breaker_state{endpoint="` + env.backends["api"].URL() + `",source="api"} 0`,
		`conflux_upstream_request_duration_seconds_bucket`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
