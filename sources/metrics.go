package sources

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the Prometheus collectors every source reports to. Create one per process with NewMetrics and
// hand it to each source (sources are rebuilt on every configuration change; the collectors outlive them).
type Metrics struct {
	requests   *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	retries    *prometheus.CounterVec
	breaker    *prometheus.GaugeVec
	inFlight   *prometheus.GaugeVec
	rejections *prometheus.CounterVec
	dedupHits  *prometheus.CounterVec
}

// NewMetrics creates the collectors and registers them with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "conflux", Subsystem: "upstream", Name: "requests_total",
			Help: "Attempts sent to backends, by source, endpoint and outcome."}, []string{"source", "endpoint", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "conflux", Subsystem: "upstream", Name: "request_duration_seconds",
			Help: "Latency of attempts to backends.", Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}},
			[]string{"source", "endpoint"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "conflux", Subsystem: "upstream", Name: "retries_total",
			Help: "Retries sent, by source."}, []string{"source"}),
		breaker: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "conflux", Subsystem: "upstream", Name: "breaker_state",
			Help: "Circuit breaker state per endpoint: 0 closed, 1 open, 2 half-open."}, []string{"source", "endpoint"}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "conflux", Subsystem: "upstream", Name: "in_flight",
			Help: "Attempts in flight per endpoint."}, []string{"source", "endpoint"}),
		rejections: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "conflux", Subsystem: "upstream", Name: "rejections_total",
			Help: "Requests refused before reaching a backend, by reason: rate, concurrency, circuit_open, retry_budget, bad_request (a request the client's input made invalid)."},
			[]string{"source", "reason"}),
		dedupHits: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "conflux", Subsystem: "upstream", Name: "dedup_hits_total",
			Help: "Requests answered by an identical request already in flight."}, []string{"source"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.latency, m.retries, m.breaker, m.inFlight, m.rejections, m.dedupHits} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register source metrics: %w", err)
		}
	}
	return m, nil
}
