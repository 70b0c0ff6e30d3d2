package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/conflux-gql/conflux/examples/customer360"
	"github.com/conflux-gql/conflux/schema"
	"go.opentelemetry.io/otel/trace"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpReceiver is an OTLP/HTTP trace receiver: it decodes each protobuf export request and keeps its spans.
type otlpReceiver struct {
	srv      *httptest.Server
	mu       sync.Mutex
	spans    []*tracepb.Span
	services []string
	requests atomic.Int64
}

func newOTLPReceiver(t *testing.T) *otlpReceiver {
	t.Helper()
	rc := &otlpReceiver{}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc.requests.Add(1)
		if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
			t.Errorf("export: %s %s (%s), want POST /v1/traces (application/x-protobuf)", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Error(err)
			return
		}
		var req collectortrace.ExportTraceServiceRequest
		if err := proto.Unmarshal(body, &req); err != nil {
			t.Errorf("decode export request: %v", err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		rc.mu.Lock()
		for _, rs := range req.ResourceSpans {
			for _, a := range rs.GetResource().GetAttributes() {
				if a.Key == "service.name" {
					rc.services = append(rc.services, a.Value.GetStringValue())
				}
			}
			for _, ss := range rs.ScopeSpans {
				rc.spans = append(rc.spans, ss.Spans...)
			}
		}
		rc.mu.Unlock()
		out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

// take returns the spans received so far and forgets them.
func (rc *otlpReceiver) take() []*tracepb.Span {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	s := rc.spans
	rc.spans = nil
	return s
}

func attr(s *tracepb.Span, key string) *commonpb.AnyValue {
	for _, a := range s.Attributes {
		if a.Key == key {
			return a.Value
		}
	}
	return nil
}

func spansNamed(spans []*tracepb.Span, name string) []*tracepb.Span {
	var out []*tracepb.Span
	for _, s := range spans {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

func childrenOf(spans []*tracepb.Span, parent *tracepb.Span) []*tracepb.Span {
	var out []*tracepb.Span
	for _, s := range spans {
		if bytes.Equal(s.ParentSpanId, parent.SpanId) {
			out = append(out, s)
		}
	}
	return out
}

// tracedBackend answers /items/{id}: "flaky" fails its first request with 503, "down" always answers 500. It
// records the traceparent header of every request.
type tracedBackend struct {
	srv          *httptest.Server
	mu           sync.Mutex
	traceparents []string
	flaky        atomic.Int64
}

func newTracedBackend(t *testing.T) *tracedBackend {
	b := &tracedBackend{}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.traceparents = append(b.traceparents, r.Header.Get("Traceparent"))
		b.mu.Unlock()
		id := strings.TrimPrefix(r.URL.Path, "/items/")
		switch {
		case id == "down", id == "flaky" && b.flaky.Add(1) == 1:
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"id": id})
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *tracedBackend) takeTraceparents() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.traceparents
	b.traceparents = nil
	return s
}

// tracedConflux serves a one-source configuration in front of backend, with tracing as tr says and the metrics
// of tel.
func tracedConflux(t *testing.T, backend string, tr *tracing, tel *telemetry) *httptest.Server {
	t.Helper()
	return tracedServe(t, itemConfig(t, backend, ""), tr, tel)
}

// itemConfig writes the configuration of one source in front of backend, with the YAML of extra at its end, and
// returns its path.
func itemConfig(t *testing.T, backend, extra string) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"schema.graphqls": "type Query { item(id: ID!): Item }\ntype Item { id: ID }\n",
		"conflux.yaml": `schema: [schema.graphqls]
sources:
  api:
    http:
      endpoints: [` + backend + `]
      retry: {attempts: 2, backoff: 1ms}
      breaker: {failures: 100, cooldown: 1s}
bindings:
  Query.item:
    source: api
    path: /items/{{args.id}}
    query: {secret: s3cr3t}
` + extra,
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "conflux.yaml")
}

// tracedServe serves the configuration file with tracing as tr says, the metrics of tel and the access log of
// access (nil: none).
func tracedServe(t *testing.T, file string, tr *tracing, tel *telemetry, access ...*slog.Logger) *httptest.Server {
	t.Helper()
	sg, err := schema.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := newRuntime(sg, tel, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(rt)
	s.ready.Store(true)
	if len(access) > 0 {
		s.access = access[0]
	}
	if tel != nil {
		s.mux.Handle("GET /metrics", tel.Handler())
	}
	srv := httptest.NewServer(tr.Handler(s))
	t.Cleanup(func() {
		srv.Close()
		rt.Close()
	})
	return srv
}

func postTraced(t *testing.T, url, query string, vars map[string]any, traceparent string) map[string]any {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, url+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if traceparent != "" {
		req.Header.Set("Traceparent", traceparent)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

const (
	getItem       = `query GetItem($id: ID!) { item(id: $id) { id } }`
	clientTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	clientSpanID  = "00f067aa0ba902b7"
)

// TestTracing_Spans follows requests from a client that sends a traceparent through Conflux to a backend: the
// spans reach an OTLP/HTTP receiver with their names, attributes and parentage (client → server → plan, fetch →
// attempts), a retry is a second attempt span, every upstream request carries a traceparent of the trace, a
// failing backend makes the fetch span an error, and the latency metric's exemplar names the trace.
func TestTracing_Spans(t *testing.T) {
	rc := newOTLPReceiver(t)
	backend := newTracedBackend(t)
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	t.Setenv("OTEL_SERVICE_NAME", "gateway-test")
	tr, flush := tracingOn(t, rc)
	if !tr.enabled() {
		t.Fatal("tracing is off with OTEL_EXPORTER_OTLP_TRACES_ENDPOINT set")
	}
	tel, err := newTelemetry()
	if err != nil {
		t.Fatal(err)
	}
	srv := tracedConflux(t, backend.srv.URL, tr, tel)

	// A retried fetch, in the client's trace.
	out := postTraced(t, srv.URL, getItem, map[string]any{"id": "flaky"}, "00-"+clientTraceID+"-"+clientSpanID+"-01")
	if got := out["data"]; got == nil || out["errors"] != nil {
		t.Fatalf("answer: %v", out)
	}
	spans := flush()
	servers := spansNamed(spans, "query GetItem")
	if len(servers) != 1 {
		t.Fatalf("server spans named %q: %d in %v", "query GetItem", len(servers), names(spans))
	}
	server := servers[0]
	if hex.EncodeToString(server.TraceId) != clientTraceID || hex.EncodeToString(server.ParentSpanId) != clientSpanID {
		t.Errorf("server span: trace %x parent %x, want the client's %s %s", server.TraceId, server.ParentSpanId, clientTraceID, clientSpanID)
	}
	if server.Kind != tracepb.Span_SPAN_KIND_SERVER {
		t.Errorf("server span kind %v", server.Kind)
	}
	for key, want := range map[string]any{"http.request.method": "POST", "http.route": "/graphql", "http.response.status_code": int64(200),
		"graphql.operation.type": "query", "graphql.operation.name": "GetItem"} {
		if got := value(attr(server, key)); got != want {
			t.Errorf("server span %s = %v, want %v", key, got, want)
		}
	}
	for _, s := range spans {
		if hex.EncodeToString(s.TraceId) != clientTraceID {
			t.Errorf("span %q is in trace %x, not the client's", s.Name, s.TraceId)
		}
	}
	if plans := spansNamed(childrenOf(spans, server), "plan"); len(plans) != 1 {
		t.Errorf("plan spans under the server span: %d, want 1 (first run of the operation)", len(plans))
	}
	fetches := spansNamed(childrenOf(spans, server), "fetch Query.item")
	if len(fetches) != 1 {
		t.Fatalf("fetch spans under the server span: %d in %v", len(fetches), names(spans))
	}
	fetch := fetches[0]
	want := map[string]any{"conflux.source": "api", "conflux.field": "Query.item", "conflux.batch.size": int64(1),
		"http.request.method": "GET", "http.response.status_code": int64(200), "url.full": backend.srv.URL + "/items/flaky",
		"server.address": "127.0.0.1"}
	for key, w := range want {
		if got := value(attr(fetch, key)); got != w {
			t.Errorf("fetch span %s = %v, want %v", key, got, w)
		}
	}
	if fetch.Status.GetCode() == tracepb.Status_STATUS_CODE_ERROR {
		t.Errorf("fetch span status %v after a successful retry", fetch.Status)
	}
	attempts := childrenOf(spans, fetch)
	if len(attempts) != 2 {
		t.Fatalf("attempt spans under the fetch: %d (%v), want 2 (a retry)", len(attempts), names(attempts))
	}
	statuses := map[int64]*tracepb.Span{}
	for _, a := range attempts {
		if a.Name != "GET" || a.Kind != tracepb.Span_SPAN_KIND_CLIENT {
			t.Errorf("attempt span %q kind %v, want GET client", a.Name, a.Kind)
		}
		code, _ := value(attr(a, "http.response.status_code")).(int64)
		statuses[code] = a
	}
	if a := statuses[503]; a == nil || a.Status.GetCode() != tracepb.Status_STATUS_CODE_ERROR {
		t.Errorf("first attempt: want status 503 with Error status; attempts %v", statuses)
	}
	if a := statuses[200]; a == nil || value(attr(a, "http.request.resend_count")) != int64(1) {
		t.Errorf("second attempt: want status 200 and http.request.resend_count 1; attempts %v", statuses)
	}
	// Each attempt sent a traceparent naming the trace and the attempt's own span, sampled.
	sent := backend.takeTraceparents()
	if len(sent) != 2 {
		t.Fatalf("backend saw %d requests, want 2", len(sent))
	}
	for i, tp := range sent {
		var matched bool
		for _, a := range attempts {
			if tp == "00-"+clientTraceID+"-"+hex.EncodeToString(a.SpanId)+"-01" {
				matched = true
			}
		}
		if !matched {
			t.Errorf("request %d traceparent %q names no attempt span of trace %s", i, tp, clientTraceID)
		}
	}

	// The latency metric's exemplar leads to the trace (OpenMetrics exposition).
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/metrics", nil)
	req.Header.Set("Accept", "application/openmetrics-text; version=1.0.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metrics), `conflux_operation_duration_seconds_bucket{operation="GetItem",type="query",le=`) ||
		!strings.Contains(string(metrics), `# {trace_id="`+clientTraceID+`"}`) {
		t.Errorf("no exemplar with the trace id in /metrics:\n%s", linesWith(string(metrics), "conflux_operation_duration_seconds_bucket"))
	}

	// A failing backend: Error status on the fetch; the plan is cached now; a new trace without a traceparent.
	out = postTraced(t, srv.URL, getItem, map[string]any{"id": "down"}, "")
	if out["errors"] == nil {
		t.Fatalf("answer from a failing backend has no error: %v", out)
	}
	spans = flush()
	if len(spansNamed(spans, "plan")) != 0 {
		t.Errorf("plan span for a cached plan")
	}
	fetches = spansNamed(spans, "fetch Query.item")
	if len(fetches) != 1 {
		t.Fatalf("fetch spans: %v", names(spans))
	}
	if fetches[0].Status.GetCode() != tracepb.Status_STATUS_CODE_ERROR {
		t.Errorf("fetch span of a failing backend: status %v, want Error", fetches[0].Status)
	}
	if got := value(attr(fetches[0], "http.response.status_code")); got != int64(503) {
		t.Errorf("fetch span status code %v, want 503", got)
	}
	if hex.EncodeToString(fetches[0].TraceId) == clientTraceID {
		t.Errorf("a request without traceparent joined the earlier client's trace")
	}
	if n := len(childrenOf(spans, fetches[0])); n != 3 {
		t.Errorf("attempts of an always failing GET: %d spans, want 3 (retry attempts: 2)", n)
	}
	if rc.services[0] != "gateway-test" {
		t.Errorf("service.name %q, want OTEL_SERVICE_NAME's", rc.services[0])
	}
}

// tracingOn turns tracing on towards rc (the test's environment) and returns it with its flush: it exports the
// spans ended so far and returns them.
func tracingOn(t *testing.T, rc *otlpReceiver) (*tracing, func() []*tracepb.Span) {
	t.Helper()
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", rc.srv.URL+"/v1/traces")
	tr, err := newTracing(context.Background(), os.Getenv, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.Close)
	return tr, func() []*tracepb.Span {
		t.Helper()
		if err := tr.provider.ForceFlush(context.Background()); err != nil {
			t.Fatal(err)
		}
		return rc.take()
	}
}

// TestTracing_Federation: each subgraph call of a federated fetch is a fetch span named by its subgraph, with the
// entities it asks for and its attempts below it (the Customer 360 federation case: REST customers, their
// loyalty and tickets from two subgraphs).
func TestTracing_Federation(t *testing.T) {
	dir := filepath.Join(fedCasesDir, "customer360")
	sgs := startSubgraphs(t, dir)
	g, err := customer360.Start(customer360.Options{}, nil)
	if err != nil {
		t.Fatalf("start backends: %v", err)
	}
	t.Cleanup(func() { g.Close() })
	tmp := filepath.Dir(sgs.Supergraph(t, dir))
	for _, f := range []string{"conflux.yaml", "rest.graphqls"} {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		s := string(data)
		for name, addr := range customer360.DefaultAddrs {
			s = strings.ReplaceAll(s, "http://"+addr, g.URLs()[name])
		}
		if err := os.WriteFile(filepath.Join(tmp, f), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rc := newOTLPReceiver(t)
	tr, flush := tracingOn(t, rc)
	srv := tracedServe(t, filepath.Join(tmp, "conflux.yaml"), tr, nil)
	out := postTraced(t, srv.URL, `query Mixed { customers(limit: 4) { id loyalty { tier } tickets { id } } }`, nil, "")
	if out["errors"] != nil {
		t.Fatalf("answer: %v", out)
	}
	spans := flush()
	server := spansNamed(spans, "query Mixed")
	if len(server) != 1 {
		t.Fatalf("server spans: %v", names(spans))
	}
	for _, sub := range []string{"loyalty", "support"} {
		fetch := spansNamed(childrenOf(spans, server[0]), "fetch "+sub)
		if len(fetch) != 1 {
			t.Errorf("fetch spans of subgraph %s under the server span: %d in %v", sub, len(fetch), names(spans))
			continue
		}
		for key, want := range map[string]any{"conflux.source": sub, "conflux.field": "_entities(Customer)",
			"conflux.batch.size": int64(4), "http.request.method": "POST", "http.response.status_code": int64(200)} {
			if got := value(attr(fetch[0], key)); got != want {
				t.Errorf("fetch %s: %s = %v, want %v", sub, key, got, want)
			}
		}
		if a := childrenOf(spans, fetch[0]); len(a) != 1 || a[0].Name != "POST" {
			t.Errorf("attempts of fetch %s: %v, want one POST", sub, names(a))
		}
	}
	if n := len(spansNamed(childrenOf(spans, server[0]), "fetch Query.customers")); n != 1 {
		t.Errorf("fetch spans of the REST root field: %d in %v", n, names(spans))
	}
}

// TestTracing_Unsampled: the sampler comes from OTEL_TRACES_SAMPLER (read by the SDK). A trace it drops exports
// no span, yet the backend still gets a traceparent of the client's trace, marked not sampled, so that the
// backends' own decisions agree.
func TestTracing_Unsampled(t *testing.T) {
	rc := newOTLPReceiver(t)
	backend := newTracedBackend(t)
	t.Setenv("OTEL_TRACES_SAMPLER", "always_off")
	tr, flush := tracingOn(t, rc)
	srv := tracedConflux(t, backend.srv.URL, tr, nil)
	postTraced(t, srv.URL, getItem, map[string]any{"id": "1"}, "00-"+clientTraceID+"-"+clientSpanID+"-01")
	if spans := flush(); len(spans) != 0 {
		t.Errorf("spans exported with OTEL_TRACES_SAMPLER=always_off: %v", names(spans))
	}
	sent := backend.takeTraceparents()
	if len(sent) != 1 || !strings.HasPrefix(sent[0], "00-"+clientTraceID+"-") || !strings.HasSuffix(sent[0], "-00") ||
		strings.Contains(sent[0], clientSpanID) {
		t.Errorf("upstream traceparent %q, want the client's trace, a span of Conflux, not sampled", sent)
	}
}

// TestTracing_File: the `telemetry.tracing` keys turn tracing on without variables; a variable wins over its key.
func TestTracing_File(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     map[string]string
		ratio   string
		spans   bool
		service string
	}{
		{name: "file only", ratio: "1", spans: true, service: "from-file"},
		{name: "OTEL_SERVICE_NAME wins", env: map[string]string{"OTEL_SERVICE_NAME": "from-env"}, ratio: "1", spans: true, service: "from-env"},
		{name: "ratio 0 keeps no new trace", ratio: "0"},
		{name: "OTEL_TRACES_SAMPLER wins", env: map[string]string{"OTEL_TRACES_SAMPLER": "always_on"}, ratio: "0", spans: true, service: "from-file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := newOTLPReceiver(t)
			backend := newTracedBackend(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			file := itemConfig(t, backend.srv.URL, "telemetry:\n  tracing: {endpoint: "+rc.srv.URL+"/v1/traces, ratio: "+tc.ratio+", serviceName: from-file}\n")
			sg, err := schema.Load(file)
			if err != nil {
				t.Fatal(err)
			}
			tr, err := newTracing(context.Background(), os.Getenv, tracingSettings(sg))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(tr.Close)
			srv := tracedServe(t, file, tr, nil)
			postTraced(t, srv.URL, getItem, map[string]any{"id": "1"}, "")
			if err := tr.provider.ForceFlush(context.Background()); err != nil {
				t.Fatal(err)
			}
			spans := rc.take()
			if got := len(spansNamed(spans, "query GetItem")) == 1; got != tc.spans {
				t.Fatalf("server span exported: %v, want %v (spans %v)", got, tc.spans, names(spans))
			}
			if tc.spans && (len(rc.services) == 0 || rc.services[0] != tc.service) {
				t.Errorf("service.name %v, want %q", rc.services, tc.service)
			}
			if sent := backend.takeTraceparents(); len(sent) != 1 || sent[0] == "" {
				t.Errorf("upstream traceparent: %q", sent)
			}
		})
	}
}

// TestTracing_ConfigErrors: the `telemetry:` section is checked like the rest of the file.
func TestTracing_ConfigErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, errorHas string }{
		{"telemetry:\n  tracing: {endpoint: collector:4318}\n", `telemetry.tracing.endpoint: "collector:4318" is not an OTLP/HTTP URL`},
		{"telemetry:\n  tracing: {ratio: 2}\n", "telemetry.tracing.ratio: expected a share between 0 and 1"},
		{"telemetry:\n  tracing: {sampler: always_on}\n", "telemetry.tracing: unknown key"},
		{"telemetry:\n  tracng: {}\n", "telemetry: unknown key"},
	} {
		_, err := schema.Load(itemConfig(t, "http://127.0.0.1:1", tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.errorHas) {
			t.Errorf("%q: error %v, want one with %q", tc.yaml, err, tc.errorHas)
		}
	}
}

// TestTracing_AccessLog: with tracing on, the access log line and the upstream-failure warning of a request carry
// its trace id, once each.
func TestTracing_AccessLog(t *testing.T) {
	rc := newOTLPReceiver(t)
	backend := newTracedBackend(t)
	tr, _ := tracingOn(t, rc)
	var out syncBuffer
	logger := slog.New(withTraceIDs(slog.NewJSONHandler(&out, nil)))
	prev := slog.Default()
	slog.SetDefault(logger)
	t.Cleanup(func() { slog.SetDefault(prev) })
	srv := tracedServe(t, itemConfig(t, backend.srv.URL, ""), tr, nil, logger)
	postTraced(t, srv.URL, getItem, map[string]any{"id": "down"}, "00-"+clientTraceID+"-"+clientSpanID+"-01")
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var sawWarning, sawAccess bool
	for _, l := range lines {
		if n := strings.Count(l, `"trace_id"`); n != 1 {
			t.Errorf("%d trace_id keys in %s", n, l)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not JSON: %s", l)
		}
		if m["trace_id"] != clientTraceID {
			t.Errorf("trace_id %v, want the client's %s: %s", m["trace_id"], clientTraceID, l)
		}
		sawWarning = sawWarning || m["msg"] == "upstream request failed"
		sawAccess = sawAccess || m["msg"] == "request"
	}
	if !sawWarning || !sawAccess {
		t.Errorf("want the upstream warning and the access line, got:\n%s", out.String())
	}
}

// TestTracing_Off: with no OTLP endpoint configured (or tracing disabled) there is no tracer provider, the
// handler is the server itself, no span is exported, and a client's traceparent is not forwarded upstream.
func TestTracing_Off(t *testing.T) {
	rc := newOTLPReceiver(t)
	for name, env := range map[string]map[string]string{
		"nothing set":       {},
		"sdk disabled":      {"OTEL_EXPORTER_OTLP_ENDPOINT": rc.srv.URL, "OTEL_SDK_DISABLED": "true"},
		"exporter none":     {"OTEL_EXPORTER_OTLP_ENDPOINT": rc.srv.URL, "OTEL_TRACES_EXPORTER": "none"},
		"only service name": {"OTEL_SERVICE_NAME": "x", "OTEL_TRACES_SAMPLER": "always_on"},
	} {
		t.Run(name, func(t *testing.T) {
			tr, err := newTracing(context.Background(), func(k string) string { return env[k] }, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tr.enabled() {
				t.Fatal("tracing is on")
			}
			h := http.NewServeMux()
			if got, ok := tr.Handler(h).(*http.ServeMux); !ok || got != h {
				t.Error("Handler wraps the server with tracing off")
			}
		})
	}
	backend := newTracedBackend(t)
	tr, _ := newTracing(context.Background(), func(string) string { return "" }, nil)
	srv := tracedConflux(t, backend.srv.URL, tr, nil)
	postTraced(t, srv.URL, `{ item(id: "1") { id } }`, nil, "00-"+clientTraceID+"-"+clientSpanID+"-01")
	if sent := backend.takeTraceparents(); len(sent) != 1 || sent[0] != "" {
		t.Errorf("upstream traceparent with tracing off: %q", sent)
	}
	if n := rc.requests.Load(); n != 0 {
		t.Errorf("%d exports with tracing off", n)
	}
}

// TestTracing_Protocol: only http/protobuf is accepted; the signal's own variable wins over the general one.
func TestTracing_Protocol(t *testing.T) {
	for _, tc := range []struct {
		name     string
		env      map[string]string
		errorHas string
	}{
		{name: "default", env: map[string]string{}},
		{name: "http/protobuf", env: map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}},
		{name: "grpc", env: map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, errorHas: `OTEL_EXPORTER_OTLP_PROTOCOL="grpc" is not supported`},
		{name: "http/json", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json"}, errorHas: `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL="http/json" is not supported`},
		{name: "traces protocol wins", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}},
		{name: "unknown exporter", env: map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, errorHas: `OTEL_TRACES_EXPORTER="zipkin" is not supported`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"}
			for k, v := range tc.env {
				env[k] = v
			}
			tr, err := newTracing(context.Background(), func(k string) string { return env[k] }, nil)
			if tc.errorHas == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !tr.enabled() {
					t.Error("tracing is off")
				}
				_ = tr.Shutdown(context.Background())
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.errorHas) {
				t.Errorf("error %v, want one with %q", err, tc.errorHas)
			}
		})
	}
}

// TestTraceLogHandler: a record logged with a context that carries a span has its trace and span ids; one
// without has neither.
func TestTraceLogHandler(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(withTraceIDs(slog.NewJSONHandler(&buf, nil))).With("component", "test")
	tid, _ := trace.TraceIDFromHex(clientTraceID)
	sid, _ := trace.SpanIDFromHex(clientSpanID)
	ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid}))
	log.WarnContext(ctx, "upstream request failed")
	log.Warn("no context")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("lines: %q", lines)
	}
	var with, without map[string]any
	_ = json.Unmarshal([]byte(lines[0]), &with)
	_ = json.Unmarshal([]byte(lines[1]), &without)
	if with["trace_id"] != clientTraceID || with["span_id"] != clientSpanID || with["component"] != "test" {
		t.Errorf("record with a span: %v", with)
	}
	if _, ok := without["trace_id"]; ok {
		t.Errorf("record without a span has a trace id: %v", without)
	}
}

func value(v *commonpb.AnyValue) any {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_IntValue:
		return x.IntValue
	case *commonpb.AnyValue_BoolValue:
		return x.BoolValue
	}
	return nil
}

func names(spans []*tracepb.Span) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return out
}

func linesWith(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
