package main

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/conflux-gql/conflux/sources"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// maxOperationLabels caps the distinct operation names used as metric labels; clients choose the names, so
// past the cap they are counted as "other" to keep the series bounded.
const maxOperationLabels = 500

// telemetry holds the process's metrics. It outlives configuration versions: every runtime reports to it.
type telemetry struct {
	registry  *prometheus.Registry
	sources   *sources.Metrics
	duration  *prometheus.HistogramVec
	errors    *prometheus.CounterVec
	mu        sync.Mutex
	operation map[string]bool
}

func newTelemetry() (*telemetry, error) {
	reg := prometheus.NewRegistry()
	m, err := sources.NewMetrics(reg)
	if err != nil {
		return nil, err
	}
	t := &telemetry{registry: reg, sources: m, operation: map[string]bool{},
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "conflux", Name: "operation_duration_seconds",
			Help: "Time to answer a GraphQL operation, by operation name and type.", Buckets: prometheus.DefBuckets},
			[]string{"operation", "type"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "conflux", Name: "operation_errors_total",
			Help: "GraphQL errors in answers, by operation name and error code."}, []string{"operation", "code"}),
	}
	for _, c := range []prometheus.Collector{t.duration, t.errors, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// Handler serves /metrics.
func (t *telemetry) Handler() http.Handler {
	return promhttp.HandlerFor(t.registry, promhttp.HandlerOpts{})
}

// ExtensionName implements graphql.HandlerExtension.
func (t *telemetry) ExtensionName() string { return "ConfluxMetrics" }

// Validate implements graphql.HandlerExtension.
func (t *telemetry) Validate(graphql.ExecutableSchema) error { return nil }

// InterceptResponse records each operation's latency and errors.
func (t *telemetry) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	start := time.Now()
	resp := next(ctx)
	name, typ := "anonymous", "unknown"
	if graphql.HasOperationContext(ctx) {
		oc := graphql.GetOperationContext(ctx)
		if oc.Operation != nil {
			typ = string(oc.Operation.Operation)
			if oc.Operation.Name != "" {
				name = t.label(oc.Operation.Name)
			}
		}
	}
	t.duration.WithLabelValues(name, typ).Observe(time.Since(start).Seconds())
	if resp != nil {
		for _, e := range resp.Errors {
			code, _ := e.Extensions["code"].(string)
			if code == "" {
				code = "unknown"
			}
			t.errors.WithLabelValues(name, code).Inc()
		}
	}
	return resp
}

func (t *telemetry) label(name string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.operation[name] {
		return name
	}
	if len(t.operation) >= maxOperationLabels || len(name) > 64 {
		return "other"
	}
	t.operation[name] = true
	return name
}

var (
	_ graphql.HandlerExtension    = (*telemetry)(nil)
	_ graphql.ResponseInterceptor = (*telemetry)(nil)
)
