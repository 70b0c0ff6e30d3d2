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
	// spread, when set, are the base URLs of several servers the requests go to in turn (the url attack is given
	// is then unused).
	spread []string
	// ok reports whether an answer is correct; a request that fails it counts as an error.
	ok func(status int, body []byte) bool
}

// outcome is what a load run measured on the client side, over one window or the sum of several.
type outcome struct {
	requests int
	errors   int
	elapsed  time.Duration // the measured windows' total time
	p50, p99 time.Duration
	bytesIn  uint64 // answer bytes received in total
	firstErr string
}

func (o outcome) rate() float64 { return float64(o.requests) / o.elapsed.Seconds() }

// respBytes is the mean size of an answer's body.
func (o outcome) respBytes() float64 {
	if o.requests == 0 {
		return 0
	}
	return float64(o.bytesIn) / float64(o.requests)
}

// done sets the percentiles and bytes from m, which holds the results of every window of o.
func (o *outcome) done(m *vegeta.Metrics) {
	m.Close()
	o.p50, o.p99, o.bytesIn = m.Latencies.P50, m.Latencies.P99, m.BytesIn.Total
}

// graphQLOK accepts a 200 answer without a top-level errors member.
func graphQLOK(status int, body []byte) bool {
	return status == http.StatusOK && !bytes.Contains(body, []byte(`"errors":`))
}

// warm runs the load for its warm-up time, unmeasured.
func (l load) warm(url string) {
	if l.warmup > 0 {
		l.attack(url, l.warmup, &vegeta.Metrics{}, &outcome{})
	}
}

// attack drives url+"/graphql" with l for d and adds what it measured to m and o; call o.done(m) after the last
// window.
func (l load) attack(url string, d time.Duration, m *vegeta.Metrics, o *outcome) {
	urls := l.spread
	if len(urls) == 0 {
		urls = []string{url}
	}
	var targets []vegeta.Target
	header := http.Header{"Content-Type": []string{"application/json"}}
	for _, b := range l.bodies {
		for _, u := range urls {
			targets = append(targets, vegeta.Target{Method: http.MethodPost, URL: u + "/graphql", Body: b, Header: header})
		}
	}
	n := uint64(l.clients)
	// Our own transport, so that its keep-alive connections are closed when the window ends: the interleaved
	// windows of -compare would otherwise leave every earlier window's connections open against the server, as
	// a client that leaks its connection pool does (Conflux's server.maxConnectionsPerClient then refuses it).
	tr := http.DefaultTransport.(*http.Transport).Clone()
	defer tr.CloseIdleConnections()
	atk := vegeta.NewAttacker(vegeta.Client(&http.Client{Transport: tr}), vegeta.Workers(n), vegeta.MaxWorkers(n),
		vegeta.Connections(l.clients), vegeta.KeepAlive(true), vegeta.Timeout(30*time.Second), vegeta.Redirects(vegeta.NoFollow))
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
	o.elapsed += time.Since(began)
}
