package main

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/conflux-gql/conflux/events"
	"github.com/conflux-gql/conflux/fleet"
	"github.com/conflux-gql/conflux/resolvers"
	"github.com/conflux-gql/conflux/sources"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/trace"
)

// maxOperationLabels caps the distinct operation names used as metric labels; clients choose the names, so
// past the cap they are counted as "other" to keep the series bounded.
const maxOperationLabels = 500

// telemetry holds the process's metrics. It outlives configuration versions: every runtime reports to it.
type telemetry struct {
	registry  *prometheus.Registry
	sources   *sources.Metrics
	streams   *streamMetrics // streams.go (issue 17)
	duration  *prometheus.HistogramVec
	errors    *prometheus.CounterVec
	uploads   uploadMetrics
	mu        sync.Mutex
	operation map[string]bool

	// subscriptions are the engines' subscription metrics (issue 17).
	subscriptions *resolvers.SubscriptionMetrics
	// subBudget is the process's budget of events held for slow subscribers (server.subscriptions.bufferBytesTotal),
	// reported as conflux_subscription_buffered_bytes.
	subBudget *events.Budget
}

func newTelemetry() (*telemetry, error) {
	reg := prometheus.NewRegistry()
	m, err := sources.NewMetrics(reg)
	if err != nil {
		return nil, err
	}
	sm, err := newStreamMetrics(reg)
	if err != nil {
		return nil, err
	}
	subs, err := resolvers.NewSubscriptionMetrics(reg)
	if err != nil {
		return nil, err
	}
	budget := events.NewBudget(0)
	t := &telemetry{registry: reg, sources: m, streams: sm, subscriptions: subs, subBudget: budget, operation: map[string]bool{},
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "conflux", Name: "operation_duration_seconds",
			Help: "Time to answer a GraphQL operation, by operation name and type.", Buckets: prometheus.DefBuckets},
			[]string{"operation", "type"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "conflux", Name: "operation_errors_total",
			Help: "GraphQL errors in answers, by operation name and error code."}, []string{"operation", "code"}),
		uploads: uploadMetrics{
			requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "conflux", Name: "uploads_total",
				Help: "GraphQL multipart requests (file uploads) on /graphql, by outcome: ok, too_large (413), refused (400), failed (the body broke off or could not be read)."},
				[]string{"outcome"}),
			bytes: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "conflux", Name: "upload_bytes_total",
				Help: "Bytes of uploaded files streamed to backends (again for a retry that sends a file again)."}),
		},
	}
	buffered := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "conflux", Name: "subscription_buffered_bytes",
		Help: "Bytes of the events waiting for slow subscribers, every subscription together (bounded by server.subscriptions.bufferBytesTotal)."},
		func() float64 { return float64(budget.Used()) })
	if err := registerAll(reg, t.duration, t.errors, t.uploads.requests, t.uploads.bytes, buffered, collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, err
	}
	return t, nil
}

// uploadMetrics returns the upload transport's counters; none for a nil t.
func (t *telemetry) uploadMetrics() uploadMetrics {
	if t == nil {
		return uploadMetrics{}
	}
	return t.uploads
}

// Handler serves /metrics.
func (t *telemetry) Handler() http.Handler {
	return promhttp.HandlerFor(t.registry, promhttp.HandlerOpts{EnableOpenMetrics: true})
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
	obs := t.duration.WithLabelValues(name, typ)
	if sc := trace.SpanContextFromContext(ctx); sc.IsSampled() {
		// An exemplar links the latency to a trace that was kept (issue 16); the exposition shows exemplars to
		// scrapers that ask for OpenMetrics.
		obs.(prometheus.ExemplarObserver).ObserveWithExemplar(time.Since(start).Seconds(), prometheus.Labels{"trace_id": sc.TraceID().String()})
	} else {
		obs.Observe(time.Since(start).Seconds())
	}
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

// observeFleet exports how the replica stands with the cluster's configuration (issue 15): whether Redis answers,
// the configuration version served (content hash and cluster number), synchronisation errors, the last
// synchronisation and whether a change made during an outage waits to be published. status is read at each
// scrape; it is runtime.Runtime.Fleet.
func (t *telemetry) observeFleet(status func() (fleet.SyncStatus, bool), version func() string) error {
	read := func(f func(fleet.SyncStatus) float64) func() float64 {
		return func() float64 {
			st, _ := status()
			return f(st)
		}
	}
	cs := []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "conflux", Name: "redis_up",
			Help: "1 when Redis, which the replicas share, answered the last probe."},
			read(func(st fleet.SyncStatus) float64 { return boolFloat(st.Connected) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "conflux", Name: "config_sync_errors_total",
			Help: "Failed synchronisations of the configuration with Redis (calls that failed, cluster versions that did not load here)."},
			read(func(st fleet.SyncStatus) float64 { return float64(st.Errors) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "conflux", Name: "config_last_sync_timestamp_seconds",
			Help: "When the replica last agreed with Redis on the configuration version (Unix time; 0: never)."},
			read(func(st fleet.SyncStatus) float64 {
				if st.LastSync.IsZero() {
					return 0
				}
				return float64(st.LastSync.UnixNano()) / 1e9
			})),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "conflux", Name: "config_change_pending",
			Help: "1 when a configuration change made on this replica while Redis was unreachable waits to be published."},
			read(func(st fleet.SyncStatus) float64 { return boolFloat(st.Pending) })),
		&versionInfo{status: status, version: version, desc: prometheus.NewDesc("conflux_config_version_info",
			"The configuration version served: its content hash and its number in the cluster (0 before the first synchronisation).",
			[]string{"version", "seq"}, nil)},
	}
	return registerAll(t.registry, cs...)
}

// registerAll registers each of cs in reg, stopping at the first failure.
func registerAll(reg prometheus.Registerer, cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// versionInfo is conflux_config_version_info: one series, labelled with the version served at scrape time (a
// collector rather than a GaugeVec, so that no series of an earlier version lingers).
type versionInfo struct {
	status  func() (fleet.SyncStatus, bool)
	version func() string
	desc    *prometheus.Desc
}

func (v *versionInfo) Describe(ch chan<- *prometheus.Desc) { ch <- v.desc }

func (v *versionInfo) Collect(ch chan<- prometheus.Metric) {
	st, _ := v.status()
	ch <- prometheus.MustNewConstMetric(v.desc, prometheus.GaugeValue, 1, v.version(), strconv.FormatInt(st.Seq, 10))
}
