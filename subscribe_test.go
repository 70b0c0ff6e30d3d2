package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/conflux-gql/conflux/runtime"
	"github.com/conflux-gql/conflux/schema"
	"github.com/vektah/gqlparser/v2"
	"go.uber.org/goleak"
)

const subsE2ESDL = `type Query { order(id: ID!): Order }
type Subscription { orderStatus(id: ID!): Order }
type Order { id: ID! status: String customerId: ID customer: Customer }
type Customer { id: ID! name: String }
`

const subsE2EConfig = `schema: s.graphqls
sources:
  orders: {http: {endpoints: [%s]}}
  customers: {http: {endpoints: [%s]}}
bindings:
  Query.order: {source: orders, path: "/orders/{{args.id}}"}
  Subscription.orderStatus:
    source: orders
    path: "/orders/{{args.id}}"
    subscribe: {mode: poll, interval: %s}
  Order.customer:
    source: customers
    path: "/customers/{{parent.customerId}}"
    batch: {key: "{{parent.customerId}}", path: /customers, query: {id: "{{keys}}"}, match: id}
`

// subscribeOn starts a subscription on a runtime's running version as a transport does, with the operation
// context ctx.
func subscribeOn(t *testing.T, ctx context.Context, rt *runtime.Runtime, query string) graphql.ResponseHandler {
	t.Helper()
	e := rt.Load().Engine()
	doc, errs := gqlparser.LoadQuery(e.Schema(), query)
	if errs != nil {
		t.Fatal(errs)
	}
	oc := &graphql.OperationContext{RawQuery: query, Doc: doc, Operation: doc.Operations[0], Headers: http.Header{}}
	return e.Exec(graphql.WithOperationContext(ctx, oc))
}

// nextJSON is the JSON of a handler's next answer ("nil" for nil), within a deadline.
func nextJSON(t *testing.T, ctx context.Context, h graphql.ResponseHandler) string {
	t.Helper()
	got := make(chan string, 1)
	go func() {
		if r := h(ctx); r == nil {
			got <- "nil"
		} else {
			b, _ := json.Marshal(r)
			got <- string(b)
		}
	}()
	select {
	case s := <-got:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("no answer within 10s")
		return ""
	}
}

// TestSubscriptions_Reload: a polled subscription through the runtime, each event enriched by a batched REST
// call; a reload closes the old version's subscriptions with SUBSCRIPTION_CLOSED (clients subscribe again, on
// the new version), the runtime's Close closes the new one's, and the events are counted in /metrics. Nothing
// outlives the subscriptions.
func TestSubscriptions_Reload(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	var polls, customerCalls atomic.Int32
	orders := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status := "new"
		if polls.Add(1) > 2 {
			status = "shipped"
		}
		fmt.Fprintf(w, `{"id":%q,"status":%q,"customerId":"c1"}`, strings.TrimPrefix(r.URL.Path, "/orders/"), status)
	}))
	customers := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		customerCalls.Add(1)
		fmt.Fprintf(w, `[{"id":%q,"name":"Ada"}]`, r.URL.Query().Get("id"))
	}))
	dir := t.TempDir()
	file := filepath.Join(dir, "conflux.yaml")
	write := func(interval string) {
		if err := os.WriteFile(filepath.Join(dir, "s.graphqls"), []byte(subsE2ESDL), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(fmt.Sprintf(subsE2EConfig, orders.URL, customers.URL, interval)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("100ms")
	sg, err := schema.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	tel, err := newTelemetry()
	if err != nil {
		t.Fatal(err)
	}
	rt, err := newRuntime(sg, tel, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		rt.Close()
		orders.Close()
		customers.Close()
		goleak.VerifyNone(t, ignore)
	}()
	ctx := context.Background()
	const closed = `{"errors":[{"message":"the server's configuration changed or it is shutting down: subscribe again","extensions":{"code":"SUBSCRIPTION_CLOSED"}}],"data":null}`

	h := subscribeOn(t, ctx, rt, `subscription { orderStatus(id: "7") { status customer { name } } }`)
	if got, want := nextJSON(t, ctx, h), `{"data":{"orderStatus":{"status":"new","customer":{"name":"Ada"}}}}`; got != want {
		t.Errorf("first event: %s, want %s", got, want)
	}
	if got, want := nextJSON(t, ctx, h), `{"data":{"orderStatus":{"status":"shipped","customer":{"name":"Ada"}}}}`; got != want {
		t.Errorf("second event: %s, want %s", got, want)
	}
	if n := customerCalls.Load(); n != 2 {
		t.Errorf("%d customer calls for 2 events", n)
	}

	// A reload: the subscription on the old version is told to subscribe again; a new one runs on the new version.
	waiting := make(chan string, 1)
	go func() { waiting <- nextJSON(t, ctx, h) }()
	write("200ms")
	if _, err := rt.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := <-waiting; got != closed {
		t.Errorf("after reload: %s, want %s", got, closed)
	}
	if got := nextJSON(t, ctx, h); got != "nil" {
		t.Errorf("then %s, want nil", got)
	}
	again := subscribeOn(t, ctx, rt, `subscription { orderStatus(id: "7") { status } }`)
	if got := nextJSON(t, ctx, again); got != `{"data":{"orderStatus":{"status":"shipped"}}}` {
		t.Errorf("on the new version: %s", got)
	}

	// Shutting down closes the running version's subscriptions the same way.
	waiting2 := make(chan string, 1)
	go func() { waiting2 <- nextJSON(t, ctx, again) }()
	rt.Close()
	if got := <-waiting2; got != closed {
		t.Errorf("after Close: %s, want %s", got, closed)
	}

	mfs, err := tel.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var events float64
	buffered := -1.0
	for _, mf := range mfs {
		switch mf.GetName() {
		case "conflux_subscription_events_total":
			for _, m := range mf.GetMetric() {
				events += m.GetCounter().GetValue()
			}
		case "conflux_subscription_buffered_bytes":
			buffered = mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	if events != 3 {
		t.Errorf("conflux_subscription_events_total = %v, want 3", events)
	}
	// Every subscription ended: the process's budget of events held for slow clients is back to nothing.
	if buffered != 0 {
		t.Errorf("conflux_subscription_buffered_bytes = %v, want 0", buffered)
	}
}
