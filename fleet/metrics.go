package fleet

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the Prometheus collectors of what replicas share: persisted queries found in Redis, the mode of
// each source's rate limiter, the live replicas and the Redis calls that failed. Create one per process with
// NewMetrics; a nil *Metrics reports nothing.
type Metrics struct {
	apqHits   prometheus.Counter
	apqMisses prometheus.Counter
	errors    *prometheus.CounterVec
	rateMode  *prometheus.GaugeVec
	replicas  prometheus.Gauge
}

// NewMetrics creates the collectors and registers them with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		apqHits: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "conflux", Subsystem: "apq", Name: "shared_hits_total",
			Help: "Persisted queries this replica did not have and found in Redis (registered on another replica)."}),
		apqMisses: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "conflux", Subsystem: "apq", Name: "shared_misses_total",
			Help: "Persisted queries neither this replica nor Redis had, or that Redis could not be asked for (PERSISTED_QUERY_NOT_FOUND)."}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "conflux", Subsystem: "redis", Name: "errors_total",
			Help: "Redis calls that failed or took longer than the call timeout, by use (apq, rate, replicas); the replica decided on its own instead."},
			[]string{"use"}),
		rateMode: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "conflux", Name: "rate_limit_mode",
			Help: "1 for the mode a source's limits.rate is enforced in: global (one budget in Redis) or local (this replica's share)."},
			[]string{"source", "mode"}),
		replicas: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "conflux", Subsystem: "fleet", Name: "replicas",
			Help: "Live replicas as last seen in Redis (heartbeats); the local rate limits divide their budget by it."}),
	}
	for _, c := range []prometheus.Collector{m.apqHits, m.apqMisses, m.errors, m.rateMode, m.replicas} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register fleet metrics: %w", err)
		}
	}
	return m, nil
}

func (m *Metrics) apqHit() {
	if m != nil {
		m.apqHits.Inc()
	}
}

func (m *Metrics) apqMiss() {
	if m != nil {
		m.apqMisses.Inc()
	}
}

func (m *Metrics) failed(use string) {
	if m != nil {
		m.errors.WithLabelValues(use).Inc()
	}
}

// mode sets the gauges of source to say it is enforced in mode ("global" or "local").
func (m *Metrics) mode(source, mode string) {
	if m == nil {
		return
	}
	for _, each := range []string{ModeGlobal, ModeLocal} {
		v := 0.0
		if each == mode {
			v = 1
		}
		m.rateMode.WithLabelValues(source, each).Set(v)
	}
}

func (m *Metrics) live(n int) {
	if m != nil {
		m.replicas.Set(float64(n))
	}
}
