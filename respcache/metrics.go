package respcache

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the response cache's Prometheus collectors. One serves every configuration version; a nil
// *Metrics reports nothing.
type Metrics struct {
	hits   *prometheus.CounterVec
	misses *prometheus.CounterVec
	bytes  prometheus.Gauge
}

// NewMetrics creates the collectors and registers them with reg; collectors reg already has are reused, so
// that servers built twice in one process share them.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		hits: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "conflux", Subsystem: "response_cache", Name: "hits_total",
			Help: "Backend answers served from the response cache, by binding and level (local: this process; shared: Redis)."},
			[]string{"binding", "level"}),
		misses: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "conflux", Subsystem: "response_cache", Name: "misses_total",
			Help: "Lookups of bindings with cache that neither level answered, by binding."}, []string{"binding"}),
		bytes: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "conflux", Subsystem: "response_cache", Name: "bytes",
			Help: "Approximate bytes held by the running version's in-process response cache."}),
	}
	var err error
	m.hits, err = register(reg, m.hits)
	if err != nil {
		return nil, err
	}
	if m.misses, err = register(reg, m.misses); err != nil {
		return nil, err
	}
	if m.bytes, err = register(reg, m.bytes); err != nil {
		return nil, err
	}
	return m, nil
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if old, ok := are.ExistingCollector.(C); ok {
				return old, nil
			}
		}
		return c, fmt.Errorf("register response cache metrics: %w", err)
	}
	return c, nil
}

func (m *Metrics) hit(binding, level string) {
	if m != nil {
		m.hits.WithLabelValues(binding, level).Inc()
	}
}

func (m *Metrics) miss(binding string) {
	if m != nil {
		m.misses.WithLabelValues(binding).Inc()
	}
}

func (m *Metrics) setBytes(n int64) {
	if m != nil {
		m.bytes.Set(float64(n))
	}
}
