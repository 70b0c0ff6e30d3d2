package graph_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/conflux-gql/conflux/graph"
	"github.com/conflux-gql/conflux/resolvers"
	"github.com/conflux-gql/conflux/schema"
	"github.com/conflux-gql/conflux/sources"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/vektah/gqlparser/v2"
	"go.uber.org/goleak"
)

const subSDL = `
type Query { order(id: ID!): Order }
type Subscription { orderEvents(customerId: ID): [Order!]! orderStatus(id: ID!): Order orderFeed: [Order!]! }
type Order { id: ID! status: String customerId: ID customer: Customer }
type Customer { id: ID! name: String }
`

const subConfig = `
schema: [s.graphqls]
sources:
  orders: {http: {endpoints: [%s], timeout: 200ms}}
  customers: {http: {endpoints: [http://127.0.0.1:1]}}
bindings:
  Query.order: {source: orders, path: "/orders/{{args.id}}"}
  Subscription.orderEvents:
    source: orders
    path: /orders/events
    query: {customerId: "{{args.customerId}}"}
    select: orders
    subscribe: {mode: sse, event: orders}
  Subscription.orderFeed:
    source: orders
    path: /orders/events
    select: orders
    subscribe: {mode: sse, buffer: 1, overflow: close, reconnect: {attempts: 2, backoff: 10ms, maxBackoff: 20ms}}
  Subscription.orderStatus:
    source: orders
    path: "/orders/{{args.id}}"
    subscribe: {mode: poll, interval: 100ms}
  Order.customer:
    source: customers
    path: "/customers/{{parent.customerId}}"
    batch: {key: "{{parent.customerId}}", path: /customers, query: {id: "{{keys}}"}, match: id}
`

// orderBackend is the REST backend of the subscription tests: /orders/events streams the Server-Sent Events
// the test pushes on events (one stream at a time); /orders/{id} answers the next of statuses (the last one
// repeated); status, when not 200, fails every request.
type orderBackend struct {
	events   chan string
	statuses []string
	polls    atomic.Int32
	status   atomic.Int32
	opened   chan string
}

func (b *orderBackend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s := b.status.Load(); s != 0 && s != 200 {
		w.WriteHeader(int(s))
		return
	}
	if r.URL.Path == "/orders/events" {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		select {
		case b.opened <- r.URL.RawQuery:
		case <-r.Context().Done():
			return
		}
		for {
			select {
			case ev := <-b.events:
				if ev == "" {
					return // drops the stream
				}
				fmt.Fprint(w, ev)
				w.(http.Flusher).Flush()
			case <-r.Context().Done():
				return
			}
		}
	}
	n := int(b.polls.Add(1)) - 1
	status := b.statuses[min(n, len(b.statuses)-1)]
	fmt.Fprintf(w, `{"id":%q,"status":%q,"customerId":"c1"}`, strings.TrimPrefix(r.URL.Path, "/orders/"), status)
}

type subEnv struct {
	engine    *graph.Engine
	registry  *prometheus.Registry
	backend   *orderBackend
	customers *fakeSource
}

// newSubEnv starts the REST backend and the engine; everything is closed when the test ends, and goleak checks
// that nothing the test started outlives it.
func newSubEnv(t *testing.T, server ...string) *subEnv {
	t.Helper()
	// Cleanups run last first: this one after the servers are closed.
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	b := &orderBackend{events: make(chan string), opened: make(chan string, 1), statuses: []string{"new", "new", "new", "shipped"}}
	srv := httptest.NewServer(b)
	config := fmt.Sprintf(subConfig, srv.URL)
	if len(server) > 0 {
		config += "server: " + server[0] + "\n"
	}
	sg, err := schema.Parse("conflux.yaml", []byte(config), fstest.MapFS{"s.graphqls": {Data: []byte(subSDL)}})
	if err != nil {
		t.Fatal(err)
	}
	orders, err := sources.NewHTTP(*sg.Sources["orders"].HTTP)
	if err != nil {
		t.Fatal(err)
	}
	customers := &fakeSource{name: "customers", do: func(_ context.Context, req *sources.Request) (any, error) {
		var out []any
		for _, id := range req.Query["id"] {
			out = append(out, map[string]any{"id": id, "name": "Customer " + id})
		}
		return out, nil
	}}
	reg := prometheus.NewRegistry()
	metrics, err := resolvers.NewSubscriptionMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	set, err := resolvers.New(sg, map[string]sources.Source{"orders": orders, "customers": customers}, resolvers.WithSubscriptionMetrics(metrics))
	if err != nil {
		t.Fatal(err)
	}
	e, err := graph.New(sg, set)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		orders.Close()
	})
	return &subEnv{engine: e, registry: reg, backend: b, customers: customers}
}

// subscribe starts a subscription as a transport would: the handler Exec returns, with the operation context
// ctx. The test cancels ctx to unsubscribe.
func subscribe(t *testing.T, ctx context.Context, e *graph.Engine, query string, vars map[string]any) graphql.ResponseHandler {
	t.Helper()
	return subscribeWith(t, ctx, e, query, vars, http.Header{})
}

// subscribeWith is subscribe with the client's request headers.
func subscribeWith(t *testing.T, ctx context.Context, e *graph.Engine, query string, vars map[string]any, headers http.Header) graphql.ResponseHandler {
	t.Helper()
	doc, errs := gqlparser.LoadQuery(e.Schema(), query)
	if errs != nil {
		t.Fatalf("invalid query: %v", errs)
	}
	oc := &graphql.OperationContext{RawQuery: query, Doc: doc, Operation: doc.Operations[0], Variables: vars, Headers: headers}
	ctx = graphql.WithOperationContext(ctx, oc)
	return e.Exec(ctx)
}

// response is the JSON of a handler's next answer ("nil" when it answered nil), within a deadline.
func response(t *testing.T, ctx context.Context, h graphql.ResponseHandler) string {
	t.Helper()
	got := make(chan string, 1)
	go func() {
		r := h(ctx)
		if r == nil {
			got <- "nil"
			return
		}
		b, _ := json.Marshal(r)
		got <- string(b)
	}()
	select {
	case s := <-got:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("no response within 5s")
		return ""
	}
}

// TestSubscribe_SSE: each Server-Sent Event of the binding's request is one response, executed like a query:
// the customers of the event's orders are fetched in one batched call per event.
func TestSubscribe_SSE(t *testing.T) {
	env := newSubEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := subscribe(t, ctx, env.engine, `subscription($c: ID) { orderEvents(customerId: $c) { id status customer { name } } }`, map[string]any{"c": "c1"})

	first := make(chan string, 1)
	go func() { first <- response(t, ctx, h) }()
	select {
	case q := <-env.backend.opened:
		if q != "customerId=c1" {
			t.Errorf("stream query = %q", q)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the stream was not opened")
	}
	env.backend.events <- "event: ping\ndata: {}\n\n" // another type: skipped
	env.backend.events <- "event: orders\ndata: {\"orders\":[{\"id\":\"1\",\"status\":\"new\",\"customerId\":\"c1\"},\n" +
		"data: {\"id\":\"2\",\"status\":\"new\",\"customerId\":\"c2\"}]}\n\n"
	want := `{"data":{"orderEvents":[{"id":"1","status":"new","customer":{"name":"Customer c1"}},{"id":"2","status":"new","customer":{"name":"Customer c2"}}]}}`
	if got := <-first; got != want {
		t.Errorf("first event:\n got %s\nwant %s", got, want)
	}
	if calls := env.customers.Calls(); len(calls) != 1 || calls[0] != "GET /customers?id=c1&id=c2" {
		t.Errorf("customer calls after one event = %v, want one batched call", calls)
	}
	next := make(chan string, 1)
	go func() { next <- response(t, ctx, h) }()
	env.backend.events <- "event: orders\ndata: {\"orders\":[{\"id\":\"3\",\"status\":\"paid\",\"customerId\":\"c1\"}]}\n\n"
	if got, want := <-next, `{"data":{"orderEvents":[{"id":"3","status":"paid","customer":{"name":"Customer c1"}}]}}`; got != want {
		t.Errorf("second event:\n got %s\nwant %s", got, want)
	}
	if calls := env.customers.Calls(); len(calls) != 2 {
		t.Errorf("customer calls after two events = %v, want one per event", calls)
	}

	// Unsubscribing: the transport cancels the operation's context; the handler answers nil and nothing is left.
	last := make(chan string, 1)
	go func() { last <- response(t, ctx, h) }()
	cancel()
	if got := <-last; got != "nil" {
		t.Errorf("after cancel: %s, want nil", got)
	}
}

// TestSubscribe_Poll: a polled binding emits its first answer, then only answers that differ from the last.
func TestSubscribe_Poll(t *testing.T) {
	env := newSubEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := subscribe(t, ctx, env.engine, `subscription { orderStatus(id: "7") { id status customer { id } } }`, nil)
	for _, want := range []string{
		`{"data":{"orderStatus":{"id":"7","status":"new","customer":{"id":"c1"}}}}`,
		`{"data":{"orderStatus":{"id":"7","status":"shipped","customer":{"id":"c1"}}}}`,
	} {
		if got := response(t, ctx, h); got != want {
			t.Errorf("got %s\nwant %s", got, want)
		}
	}
	if n := env.backend.polls.Load(); n < 4 {
		t.Errorf("%d polls before the change, want 4", n)
	}
	if calls := env.customers.Calls(); len(calls) != 2 {
		t.Errorf("customer calls = %v, want one per emitted event", calls)
	}
	cancel()
	if got := response(t, ctx, h); got != "nil" {
		t.Errorf("after cancel: %s, want nil", got)
	}
	if n := counter(t, env.registry, "conflux_subscription_events_total", "Subscription.orderStatus"); n != 2 {
		t.Errorf("conflux_subscription_events_total = %v, want 2", n)
	}
}

// counter reads the value of a counter of reg whose binding label is binding.
func counter(t *testing.T, reg *prometheus.Registry, name, binding string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "binding" && l.GetValue() == binding {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// TestPlan_ExplainSubscription: explain shows a subscription's stream and the fetches each event runs.
func TestPlan_ExplainSubscription(t *testing.T) {
	env := newSubEnv(t)
	for _, tc := range []struct{ query, stream string }{
		{`subscription { orderEvents { id customer { name } } }`, "sse event orders"},
		{`subscription { orderStatus(id: 1) { id customer { name } } }`, "poll every 100ms"},
	} {
		p, err := env.engine.Plan(tc.query, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		ex := p.Explain()
		if len(ex.Fetches) != 2 {
			t.Fatalf("%s: fetches %+v", tc.query, ex.Fetches)
		}
		if f := ex.Fetches[0]; f.Mode != "stream" || f.Stream != tc.stream || f.Method != "GET" {
			t.Errorf("%s: root fetch %+v, want mode stream, stream %q", tc.query, f, tc.stream)
		}
		if f := ex.Fetches[1]; f.Mode != "batched" || len(f.DependsOn) != 1 || f.DependsOn[0] != 1 {
			t.Errorf("%s: per-event fetch %+v", tc.query, f)
		}
	}
}

// TestSubscribe_CancelReleases: a transport that cancels the operation's context and never calls the handler
// again leaves nothing behind (goleak, at the test's end): the engine releases the stream itself.
func TestSubscribe_CancelReleases(t *testing.T) {
	env := newSubEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	h := subscribe(t, ctx, env.engine, `subscription { orderFeed { id } }`, nil)
	first := make(chan string, 1)
	go func() { first <- response(t, ctx, h) }()
	<-env.backend.opened
	env.backend.events <- "data: {\"orders\":[]}\n\n"
	if got := <-first; got != `{"data":{"orderFeed":[]}}` {
		t.Fatalf("first event: %s", got)
	}
	cancel()
}

// TestSubscribe_Reconnect: a stream the upstream drops is made again (counted by source), the subscription goes
// on; when reconnecting gives up, the last response is the upstream's failure.
func TestSubscribe_Reconnect(t *testing.T) {
	env := newSubEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := subscribe(t, ctx, env.engine, `subscription { orderFeed { id } }`, nil)
	got := make(chan string, 1)
	go func() { got <- response(t, ctx, h) }()
	<-env.backend.opened
	env.backend.events <- "" // dropped before any event
	<-env.backend.opened
	env.backend.events <- "data: {\"orders\":[{\"id\":\"after\"}]}\n\n"
	if g := <-got; g != `{"data":{"orderFeed":[{"id":"after"}]}}` {
		t.Errorf("after the reconnect: %s", g)
	}
	if n := sourceCounter(t, env.registry, "conflux_subscription_upstream_reconnects_total", "orders"); n != 1 {
		t.Errorf("reconnects = %v, want 1", n)
	}
	// The upstream now refuses: two attempts in a row fail, and the subscription ends with the failure.
	env.backend.status.Store(503)
	go func() { got <- response(t, ctx, h) }()
	env.backend.events <- ""
	want := `{"errors":[{"message":"orders: upstream answered HTTP 503","path":["orderFeed"],"locations":[{"line":1,"column":16}],"extensions":{"code":"UPSTREAM_HTTP_ERROR","source":"orders","status":503}}],"data":null}`
	if g := <-got; g != want {
		t.Errorf("giving up:\n got %s\nwant %s", g, want)
	}
	if g := response(t, ctx, h); g != "nil" {
		t.Errorf("then %s, want nil", g)
	}
}

// sourceCounter reads the value of a counter of reg whose source label is source.
func sourceCounter(t *testing.T, reg *prometheus.Registry, name, source string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if mf.GetName() == name && l.GetName() == "source" && l.GetValue() == source {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// TestSubscribe_OpenFails: an upstream that refuses the stream gives one response with data null and the
// error located at the subscription field, with the codes of a failed fetch; then nil.
func TestSubscribe_OpenFails(t *testing.T) {
	env := newSubEnv(t)
	env.backend.status.Store(503)
	ctx := context.Background()
	h := subscribe(t, ctx, env.engine, "subscription {\n  orderEvents { id }\n}", nil)
	want := `{"errors":[{"message":"orders: upstream answered HTTP 503","path":["orderEvents"],"locations":[{"line":2,"column":3}],` +
		`"extensions":{"code":"UPSTREAM_HTTP_ERROR","source":"orders","status":503}}],"data":null}`
	if got := response(t, ctx, h); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if got := response(t, ctx, h); got != "nil" {
		t.Errorf("then %s, want nil", got)
	}
}

// TestSubscribe_Overflow: a client slower than its events, with overflow close, gets the events buffered, then
// one SUBSCRIPTION_OVERFLOW error, then nil; the dropped event is counted.
func TestSubscribe_Overflow(t *testing.T) {
	env := newSubEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := subscribe(t, ctx, env.engine, `subscription { orderFeed { id } }`, nil)
	first := make(chan string, 1)
	go func() { first <- response(t, ctx, h) }()
	<-env.backend.opened
	env.backend.events <- "data: {\"orders\":[{\"id\":\"A\"}]}\n\n"
	if got := <-first; got != `{"data":{"orderFeed":[{"id":"A"}]}}` {
		t.Fatalf("first event: %s", got)
	}
	// The client reads nothing while two more events come: the second finds the buffer (1) full.
	env.backend.events <- "data: {\"orders\":[{\"id\":\"B\"}]}\n\n"
	env.backend.events <- "data: {\"orders\":[{\"id\":\"C\"}]}\n\n"
	deadline := time.Now().Add(5 * time.Second)
	for counter(t, env.registry, "conflux_subscription_events_dropped_total", "Subscription.orderFeed") != 1 {
		if time.Now().After(deadline) {
			t.Fatal("no event was dropped")
		}
		time.Sleep(5 * time.Millisecond)
	}
	for _, want := range []string{
		`{"data":{"orderFeed":[{"id":"B"}]}}`,
		`{"errors":[{"message":"the subscription's events came faster than they were read: subscribe again","path":["orderFeed"],"locations":[{"line":1,"column":16}],"extensions":{"code":"SUBSCRIPTION_OVERFLOW"}}],"data":null}`,
		"nil",
	} {
		if got := response(t, ctx, h); got != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	}
}

// TestSubscribe_LimitsPerEvent: the server's limits apply to each event's execution alone: events under
// server.maxItems pass however many came before; an event over it answers ITEM_LIMIT_EXCEEDED, and the
// subscription goes on.
func TestSubscribe_LimitsPerEvent(t *testing.T) {
	env := newSubEnv(t, "{maxItems: 3}")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := subscribe(t, ctx, env.engine, `subscription { orderFeed { id } }`, nil)
	for i, tc := range []struct{ event, want string }{
		{`{"orders":[{"id":"1"},{"id":"2"}]}`, `{"data":{"orderFeed":[{"id":"1"},{"id":"2"}]}}`},
		{`{"orders":[{"id":"3"},{"id":"4"},{"id":"5"}]}`, `{"data":{"orderFeed":[{"id":"3"},{"id":"4"},{"id":"5"}]}}`},
		{`{"orders":[{"id":"6"},{"id":"7"},{"id":"8"},{"id":"9"}]}`, `{"errors":[{"message":"the operation returns more than 3 list items (server.maxItems)","path":["orderFeed"],"locations":[{"line":1,"column":16}],"extensions":{"code":"ITEM_LIMIT_EXCEEDED"}}],"data":null}`},
		{`{"orders":[{"id":"10"}]}`, `{"data":{"orderFeed":[{"id":"10"}]}}`},
	} {
		got := make(chan string, 1)
		go func() { got <- response(t, ctx, h) }()
		if i == 0 {
			<-env.backend.opened
		}
		env.backend.events <- "data: " + tc.event + "\n\n"
		if g := <-got; g != tc.want {
			t.Errorf("event %d:\n got %s\nwant %s", i, g, tc.want)
		}
	}
}

// TestEngine_Close: Close ends every open subscription with SUBSCRIPTION_CLOSED (then nil), refuses new ones
// the same way, is idempotent, and leaves queries working.
func TestEngine_Close(t *testing.T) {
	env := newSubEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const closed = `{"errors":[{"message":"the server's configuration changed or it is shutting down: subscribe again","extensions":{"code":"SUBSCRIPTION_CLOSED"}}],"data":null}`
	var hs []graphql.ResponseHandler
	for range 2 {
		hs = append(hs, subscribe(t, ctx, env.engine, `subscription { orderStatus(id: "1") { status } }`, nil))
	}
	for _, h := range hs {
		if got := response(t, ctx, h); !strings.Contains(got, `"status":"new"`) {
			t.Fatalf("first event: %s", got)
		}
	}
	var wg sync.WaitGroup
	got := make([]string, len(hs))
	for i, h := range hs {
		wg.Add(1)
		go func() { defer wg.Done(); got[i] = response(t, ctx, h) }()
	}
	env.engine.Close()
	env.engine.Close()
	wg.Wait()
	for i, h := range hs {
		if got[i] != closed {
			t.Errorf("subscription %d: %s, want %s", i, got[i], closed)
		}
		if r := response(t, ctx, h); r != "nil" {
			t.Errorf("subscription %d then: %s, want nil", i, r)
		}
	}
	late := subscribe(t, ctx, env.engine, `subscription { orderStatus(id: "1") { status } }`, nil)
	if r := response(t, ctx, late); r != closed {
		t.Errorf("a subscription after Close: %s", r)
	}
	if r := execute(t, env.engine, `{ order(id: "9") { id } }`, nil); r != `{"data":{"order":{"id":"9"}}}` {
		t.Errorf("a query after Close: %s", r)
	}
}

// TestEngine_CloseRacesOpen: Close while subscriptions are opening, waiting for events, or being cancelled by
// their clients: each one that the client did not leave ends with SUBSCRIPTION_CLOSED then nil, and nothing is
// left running (goleak, in newSubEnv).
func TestEngine_CloseRacesOpen(t *testing.T) {
	env := newSubEnv(t)
	const closed = `{"errors":[{"message":"the server's configuration changed or it is shutting down: subscribe again","extensions":{"code":"SUBSCRIPTION_CLOSED"}}],"data":null}`
	const n = 16
	var wg sync.WaitGroup
	start := make(chan struct{})
	last := make([]string, n)
	for i := range n {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		h := subscribe(t, ctx, env.engine, `subscription { orderStatus(id: "1") { status } }`, nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if i%4 == 3 {
				cancel() // this client leaves while the others open
			}
			for {
				r := h(ctx)
				if r == nil {
					return
				}
				b, _ := json.Marshal(r)
				last[i] = string(b)
			}
		}()
	}
	close(start)
	env.engine.Close()
	wg.Wait()
	for i, got := range last {
		if i%4 != 3 && got != closed {
			t.Errorf("subscription %d ended with %s, want %s", i, got, closed)
		}
	}
}
