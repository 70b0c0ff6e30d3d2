package main

import (
	"bytes"
	"fmt"
	"net/http"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// load is one closed-loop run: clients workers each send a request as soon as their previous answer arrived.
type load struct {
	clients  int
	duration time.Duration
	warmup   time.Duration
	bodies   [][]byte // request bodies, sent round-robin
	// ok reports whether an answer is correct; a request that fails it counts as an error.
	ok func(status int, body []byte) bool
}

// outcome is what a load run measured on the client side.
type outcome struct {
	requests int
	errors   int
	elapsed  time.Duration
	p50, p99 time.Duration
	firstErr string
}

func (o outcome) rate() float64 { return float64(o.requests) / o.elapsed.Seconds() }

// graphQLOK accepts a 200 answer without a top-level errors member.
func graphQLOK(status int, body []byte) bool {
	return status == http.StatusOK && !bytes.Contains(body, []byte(`"errors":`))
}

// run drives url+"/graphql" with l: first a warm-up (not measured), then the measured window, with before and
// after called at its edges so the caller can read server-side counters there.
func (l load) run(url string, before, after func()) outcome {
	if l.warmup > 0 {
		l.attack(url, l.warmup)
	}
	before()
	o := l.attack(url, l.duration)
	after()
	return o
}

func (l load) attack(url string, d time.Duration) outcome {
	targets := make([]vegeta.Target, len(l.bodies))
	header := http.Header{"Content-Type": []string{"application/json"}}
	for i, b := range l.bodies {
		targets[i] = vegeta.Target{Method: http.MethodPost, URL: url + "/graphql", Body: b, Header: header}
	}
	n := uint64(l.clients)
	atk := vegeta.NewAttacker(vegeta.Workers(n), vegeta.MaxWorkers(n), vegeta.Connections(l.clients),
		vegeta.KeepAlive(true), vegeta.Timeout(30*time.Second), vegeta.Redirects(vegeta.NoFollow))
	var m vegeta.Metrics
	var o outcome
	began := time.Now()
	// Frequency 0 with a fixed number of workers is vegeta's closed loop: each worker fires when it is free.
	for res := range atk.Attack(vegeta.NewStaticTargeter(targets...), vegeta.Rate{Freq: 0}, d, "bench") {
		m.Add(res)
		o.requests++
		if res.Error != "" || !l.ok(int(res.Code), res.Body) {
			o.errors++
			if o.firstErr == "" {
				o.firstErr = fmt.Sprintf("status %d %s %.200s", res.Code, res.Error, res.Body)
			}
		}
	}
	o.elapsed = time.Since(began)
	m.Close()
	o.p50, o.p99 = m.Latencies.P50, m.Latencies.P99
	return o
}
