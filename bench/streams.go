package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/conflux-gql/conflux/examples/mock"
)

// The streams scenarios of issue 17: events per second through one subscription with an enriched child field
// (subscription), and the time to the first payload of a query with a slow deferred field against the same query
// without @defer (defer).

const streamsSDL = `type Query {
  customer(id: ID!): Customer
}

type Customer {
  id: ID!
  name: String!
  "GET /slow/{id}: answers after the scenario's slow delay."
  slow: String
}

type Subscription {
  "The backend's Server-Sent Events, as fast as the client reads them."
  events: Event!
}

type Event {
  seq: Int!
  sentAt: String!
  "Batched per event: GET /products?id=…"
  product: Product
}

type Product {
  id: ID!
  name: String!
}
`

const streamsConfigYAML = `schema: [streams.graphqls]
sources:
  api:
    http: {endpoints: [%s], dedup: false, timeout: 10s}
bindings:
  Query.customer: {source: api, path: "/customers/{{args.id}}"}
  Customer.slow: {source: api, path: "/slow/{{parent.id}}", select: value}
  Subscription.events: {source: api, path: /events, subscribe: {mode: sse}}
  Event.product:
    source: api
    path: "/products/{{parent.productId}}"
    batch: {key: "{{parent.productId}}", path: /products, query: {id: "{{keys}}"}, match: id}
`

const (
	// eventWindow is how far the SSE backend may run ahead of what the benchmark's client has received: it emits
	// as fast as the client reads, and never more than Conflux's default buffer (64) could hold, so no event is
	// dropped and every one is counted.
	eventWindow = 32
	// deferSlow is the slow field's delay in the defer scenario.
	deferSlow = 50 * time.Millisecond
)

const (
	eventsSubscription = `subscription { events { seq sentAt product { id name } } }`
	deferQuery         = `query Customer($id: ID!) { customer(id: $id) { id name ... @defer { slow } } }`
	plainQuery         = `query Customer($id: ID!) { customer(id: $id) { id name slow } }`
)

// streamsBackend serves the customers, the slow field, the products and the event stream. One subscription
// reads the stream at a time: received counts what the benchmark's client got, and the stream waits on it.
type streamsBackend struct {
	*mock.Backend
	received atomic.Int64
	read     chan struct{} // a token per event the client received (buffered)
}

func newStreamsBackend() *streamsBackend {
	s := &streamsBackend{read: make(chan struct{}, 1)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /customers/{id}", func(w http.ResponseWriter, r *http.Request) {
		mock.WriteJSON(w, http.StatusOK, map[string]string{"id": r.PathValue("id"), "name": "Customer " + r.PathValue("id")})
	})
	mux.HandleFunc("GET /slow/{id}", func(w http.ResponseWriter, r *http.Request) {
		t := time.NewTimer(deferSlow)
		defer t.Stop()
		select {
		case <-t.C:
			mock.WriteJSON(w, http.StatusOK, map[string]string{"value": "slow " + r.PathValue("id")})
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("GET /products", func(w http.ResponseWriter, r *http.Request) {
		out := []map[string]string{}
		for _, id := range mock.Values(r, "id") {
			out = append(out, map[string]string{"id": id, "name": "Product " + id})
		}
		mock.WriteJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("GET /events", s.events)
	s.Backend = mock.NewBackend("api", mux)
	return s
}

// events streams {"seq", "sentAt", "productId"} events, seq from 1, each at most eventWindow ahead of what the
// client received, flushing whenever it has to wait.
func (s *streamsBackend) events(w http.ResponseWriter, r *http.Request) {
	s.received.Store(0)
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	f := w.(http.Flusher)
	var buf []byte
	for seq := int64(1); ; seq++ {
		for seq > s.received.Load()+eventWindow {
			f.Flush()
			select {
			case <-s.read:
			case <-r.Context().Done():
				return
			}
		}
		buf = fmt.Appendf(buf[:0], "data: {\"seq\":%d,\"sentAt\":\"%d\",\"productId\":\"p%d\"}\n\n", seq, time.Now().UnixNano(), seq%100)
		if _, err := w.Write(buf); err != nil {
			return
		}
	}
}

// got records one event the client received and wakes the stream.
func (s *streamsBackend) got() {
	s.received.Add(1)
	select {
	case s.read <- struct{}{}:
	default:
	}
}

func streamsConfig(dir, url string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "streams.graphqls"), []byte(streamsSDL), 0o644); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "conflux.yaml")
	return path, os.WriteFile(path, fmt.Appendf(nil, streamsConfigYAML, url), 0o644)
}

func startStreams(ctx context.Context, b *bench, name string) (*streamsBackend, *server, error) {
	backend := newStreamsBackend()
	if err := backend.Start("127.0.0.1:0"); err != nil {
		return nil, nil, err
	}
	backend.SetRecording(false)
	config, err := streamsConfig(filepath.Join(b.dir, name), backend.URL())
	if err != nil {
		backend.Close()
		return nil, nil, err
	}
	cf, err := b.startConflux(ctx, "conflux", config)
	if err != nil {
		backend.Close()
		return nil, nil, err
	}
	return backend, cf, nil
}

// eventStream is one subscription of the benchmark's client: next returns the data of its next event.
type eventStream struct {
	next  func() ([]byte, error)
	close func()
}

// subscribeSSE subscribes over GraphQL over SSE (distinct connections mode).
func subscribeSSE(ctx context.Context, url string) (*eventStream, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/graphql", bytes.NewReader(gqlBody(eventsSubscription, nil)))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1000))
		resp.Body.Close()
		return nil, fmt.Errorf("subscribe over SSE: status %d, %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	rd := bufio.NewReaderSize(resp.Body, 64<<10)
	event := ""
	return &eventStream{
		next: func() ([]byte, error) {
			for {
				line, err := rd.ReadSlice('\n')
				if err != nil {
					return nil, fmt.Errorf("SSE stream: %w", err)
				}
				line = bytes.TrimRight(line, "\r\n")
				switch {
				case bytes.HasPrefix(line, []byte("event:")):
					event = string(bytes.TrimSpace(line[6:]))
				case bytes.HasPrefix(line, []byte("data:")) && event == "next":
					return bytes.TrimSpace(line[5:]), nil
				case bytes.HasPrefix(line, []byte("data:")) && event == "complete":
					return nil, io.EOF
				}
			}
		},
		close: func() { resp.Body.Close() },
	}, nil
}

// subscribeWS subscribes over graphql-transport-ws.
func subscribeWS(ctx context.Context, url string) (*eventStream, error) {
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(url, "http")+"/graphql",
		&websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		return nil, err
	}
	conn.SetReadLimit(1 << 20)
	write := func(msg string) error { return conn.Write(ctx, websocket.MessageText, []byte(msg)) }
	var msg struct {
		Type    string          `json:"type"`
		Payload json.RawMessage `json:"payload"`
	}
	read := func() error {
		_, b, err := conn.Read(ctx)
		if err != nil {
			return err
		}
		msg.Type, msg.Payload = "", nil
		return json.Unmarshal(b, &msg)
	}
	if err := write(`{"type":"connection_init"}`); err != nil {
		return nil, err
	}
	if err := read(); err != nil || msg.Type != "connection_ack" {
		conn.CloseNow()
		return nil, fmt.Errorf("graphql-transport-ws: want connection_ack, got %q (%v)", msg.Type, err)
	}
	if err := write(`{"type":"subscribe","id":"1","payload":{"query":` + strconv.Quote(eventsSubscription) + `}}`); err != nil {
		conn.CloseNow()
		return nil, err
	}
	return &eventStream{
		next: func() ([]byte, error) {
			for {
				if err := read(); err != nil {
					return nil, err
				}
				switch msg.Type {
				case "next":
					return msg.Payload, nil
				case "ping":
					if err := write(`{"type":"pong"}`); err != nil {
						return nil, err
					}
				case "pong":
				default:
					return nil, fmt.Errorf("graphql-transport-ws: %s %s", msg.Type, msg.Payload)
				}
			}
		},
		close: func() { conn.Close(websocket.StatusNormalClosure, "") },
	}, nil
}

// subscriptionScenario: one subscription to an SSE backend that emits as fast as the client reads, each event
// enriched with a product batched to the REST backend, over each client transport: events/s, the gateway's CPU
// per event, upstream calls per event, and the latency of an event from the backend's write to the client.
func subscriptionScenario(ctx context.Context, b *bench) error {
	backend, cf, err := startStreams(ctx, b, "subscription")
	if err != nil {
		return err
	}
	defer backend.Close()
	defer stopAll(cf)
	for _, tr := range []struct {
		name      string
		subscribe func(context.Context, string) (*eventStream, error)
	}{{"graphql-transport-ws", subscribeWS}, {"sse", subscribeSSE}} {
		r, err := b.measureEvents(ctx, cf, backend, tr.name, tr.subscribe)
		if err != nil {
			return fmt.Errorf("%s: %w", tr.name, err)
		}
		b.facts = append(b.facts, fact{"subscription, " + tr.name, fmt.Sprintf("%.0f events/s through one subscription, gateway CPU %s/event, %s allocated/event, %.2f upstream calls/event, backend→client latency p50 %s p99 %s",
			r.out.rate(), us(r.cpu), bytesOf(r.alloc), r.upstream, ms(r.out.p50), ms(r.out.p99))})
	}
	return nil
}

// measureEvents subscribes, reads events for the warm-up, then for the measured window, checking each event's
// order and enrichment, and returns the window as a row whose requests are events.
func (b *bench) measureEvents(ctx context.Context, s *server, backend *streamsBackend, name string,
	subscribe func(context.Context, string) (*eventStream, error)) (row, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	st, err := subscribe(ctx, s.url)
	if err != nil {
		return row{}, err
	}
	defer st.close()
	var ev struct {
		Data struct {
			Events struct {
				Seq     int64  `json:"seq"`
				SentAt  string `json:"sentAt"`
				Product struct {
					ID   string `json:"id"`
					Name string `json:"name"`
				} `json:"product"`
			} `json:"events"`
		} `json:"data"`
		Errors json.RawMessage `json:"errors"`
	}
	var seq int64
	var lat []time.Duration
	read := func(until time.Time, keep bool) (int, error) {
		n := 0
		for time.Now().Before(until) {
			data, err := st.next()
			if err != nil {
				return n, err
			}
			now := time.Now()
			backend.got()
			seq++
			ev.Errors = nil
			if err := json.Unmarshal(data, &ev); err != nil {
				return n, fmt.Errorf("event %d: %w: %.200s", seq, err, data)
			}
			e := ev.Data.Events
			if e.Seq != seq || ev.Errors != nil || e.Product.Name != "Product "+e.Product.ID || e.Product.ID != fmt.Sprint("p", seq%100) {
				return n, fmt.Errorf("event %d: got %.300s", seq, data)
			}
			if keep {
				sent, _ := strconv.ParseInt(e.SentAt, 10, 64)
				lat = append(lat, now.Sub(time.Unix(0, sent)))
			}
			n++
		}
		return n, nil
	}
	if _, err := read(time.Now().Add(b.o.warmup), false); err != nil {
		return row{}, err
	}
	u0, err := s.usage()
	if err != nil {
		return row{}, err
	}
	c0 := backend.Requests()
	began := time.Now()
	n, err := read(began.Add(b.o.duration), true)
	if err != nil {
		return row{}, err
	}
	elapsed := time.Since(began)
	u1, err := s.usage()
	if err != nil {
		return row{}, err
	}
	c1 := backend.Requests()
	r := row{scenario: "subscription", server: "conflux, " + name, clients: 1, rss: u1.peakRSS,
		out: outcome{requests: n, elapsed: elapsed, p50: percentile(lat, 50), p99: percentile(lat, 99)}}
	if n > 0 {
		r.cpu = (u1.cpu - u0.cpu) / time.Duration(n)
		r.alloc = (u1.alloc - u0.alloc) / float64(n)
		r.upstream = float64(c1-c0) / float64(n)
	}
	fmt.Fprintf(b.log, "  %-30s %8.0f events/s  cpu/event %s\n", r.server, r.out.rate(), us(r.cpu))
	b.rows = append(b.rows, r)
	return r, nil
}

func percentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}

// deferScenario: one client sends the query with its slow field deferred (Accept: multipart/mixed) and the same
// query without @defer (Accept: application/json), alternately, for the measured window: the time to the first
// payload (the initial one; without @defer the whole answer), median and p90, and the time to the complete
// answer.
func deferScenario(ctx context.Context, b *bench) error {
	backend, cf, err := startStreams(ctx, b, "defer")
	if err != nil {
		return err
	}
	defer backend.Close()
	defer stopAll(cf)
	kinds := []struct {
		name, query, accept string
		incremental         bool
	}{
		{"conflux, no @defer", plainQuery, "application/json", false},
		{"conflux, @defer", deferQuery, "multipart/mixed;deferSpec=20220824,application/json", true},
	}
	type tally struct {
		first, header, total []time.Duration
		cpu                  time.Duration
		alloc                float64
		upstream             int64
		elapsed              time.Duration
	}
	ts := make([]tally, len(kinds))
	once := func(i int) error {
		k := kinds[i]
		f, h, t, err := timeQuery(ctx, cf.url, k.query, k.accept, k.incremental)
		if err != nil {
			return fmt.Errorf("%s: %w", k.name, err)
		}
		ts[i].first, ts[i].header, ts[i].total = append(ts[i].first, f), append(ts[i].header, h), append(ts[i].total, t)
		return nil
	}
	for end := time.Now().Add(b.o.warmup); time.Now().Before(end); {
		for i := range kinds {
			if err := once(i); err != nil {
				return err
			}
		}
	}
	for i := range ts {
		ts[i] = tally{}
	}
	// Rounds of a few requests of each kind in turn, so that the machine's other load falls on both alike; each
	// round's gateway CPU and upstream calls are its kind's.
	const perRound = 5
	for end, round := time.Now().Add(b.o.duration), 0; time.Now().Before(end); round++ {
		for j := range kinds {
			i := j
			if round%2 == 1 {
				i = len(kinds) - 1 - j
			}
			u0, err := cf.usage()
			if err != nil {
				return err
			}
			c0, began := backend.Requests(), time.Now()
			for range perRound {
				if err := once(i); err != nil {
					return err
				}
			}
			u1, err := cf.usage()
			if err != nil {
				return err
			}
			ts[i].elapsed += time.Since(began)
			ts[i].cpu += u1.cpu - u0.cpu
			ts[i].alloc += u1.alloc - u0.alloc
			ts[i].upstream += backend.Requests() - c0
		}
	}
	u, err := cf.usage()
	if err != nil {
		return err
	}
	for i, k := range kinds {
		t := ts[i]
		n := len(t.first)
		r := row{scenario: "defer", server: k.name, clients: 1, rss: u.peakRSS,
			out:      outcome{requests: n, elapsed: t.elapsed, p50: percentile(t.first, 50), p99: percentile(t.first, 99)},
			cpu:      t.cpu / time.Duration(n),
			alloc:    t.alloc / float64(n),
			upstream: float64(t.upstream) / float64(n)}
		b.rows = append(b.rows, r)
		fmt.Fprintf(b.log, "  %-22s first payload p50 %s p90 %s, complete p50 %s\n", k.name, ms(r.out.p50), ms(percentile(t.first, 90)), ms(percentile(t.total, 50)))
		b.facts = append(b.facts, fact{"defer, " + k.name, fmt.Sprintf("time to the first payload median %s, p90 %s; to the response headers median %s; to the complete answer median %s, p90 %s (slow field: %s; %d requests)",
			ms(percentile(t.first, 50)), ms(percentile(t.first, 90)), ms(percentile(t.header, 50)), ms(percentile(t.total, 50)), ms(percentile(t.total, 90)), ms(deferSlow), n)})
	}
	return nil
}

// errNotIncremental is a deferred query answered in one body.
var errNotIncremental = errors.New("the deferred query was answered in one body, not incrementally")

// timeQuery sends one query and times the response headers, the first payload (with incremental delivery: the
// first multipart part, which must not hold the slow field yet; otherwise the whole body) and the complete
// answer, checking the answer's content.
func timeQuery(ctx context.Context, url, query, accept string, incremental bool) (first, header, total time.Duration, err error) {
	var gotHeader time.Time
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotFirstResponseByte: func() { gotHeader = time.Now() }})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/graphql", bytes.NewReader(gqlBody(query, map[string]any{"id": "7"})))
	if err != nil {
		return 0, 0, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", accept)
	began := time.Now()
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, 0, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, 0, 0, fmt.Errorf("status %d", resp.StatusCode)
	}
	var body []byte
	buf := make([]byte, 32<<10)
	var firstAt time.Time
	multipart := strings.HasPrefix(resp.Header.Get("Content-Type"), "multipart/mixed")
	for {
		n, rerr := resp.Body.Read(buf)
		body = append(body, buf[:n]...)
		// The first part ends where the second delimiter begins.
		if multipart && firstAt.IsZero() && bytes.Count(body, []byte("\r\n---")) >= 2 {
			firstAt = time.Now()
			if part := body[:bytes.Index(body[1:], []byte("\r\n---"))+1]; bytes.Contains(part, []byte(`"slow"`)) {
				return 0, 0, 0, fmt.Errorf("the first payload holds the deferred field: %.300s", part)
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return 0, 0, 0, rerr
		}
	}
	end := time.Now()
	if firstAt.IsZero() {
		firstAt = end
	}
	switch {
	case incremental && !multipart:
		return 0, 0, 0, fmt.Errorf("%w: %s %.300s", errNotIncremental, resp.Header.Get("Content-Type"), body)
	case !bytes.Contains(body, []byte(`"slow":"slow 7"`)) || !bytes.Contains(body, []byte(`"name":"Customer 7"`)) || bytes.Contains(body, []byte(`"errors"`)):
		return 0, 0, 0, fmt.Errorf("unexpected answer: %.500s", body)
	}
	return firstAt.Sub(began), gotHeader.Sub(began), end.Sub(began), nil
}
