package graph_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/coder/websocket"
	"github.com/conflux-gql/conflux/graph"
	"github.com/conflux-gql/conflux/resolvers"
	"github.com/conflux-gql/conflux/schema"
	"github.com/conflux-gql/conflux/sources"
	"go.uber.org/goleak"
)

// wsUpstream is a graphql-transport-ws server for one subscription at a time: it acknowledges the connection,
// hands the test the subscribe message (subscribed), then sends each payload pushed on next as a `next`
// message, or, for a payload starting with "error:", an `error` message with that text.
type wsUpstream struct {
	subscribed chan map[string]any
	next       chan string
}

func (u *wsUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		return
	}
	defer c.CloseNow()
	ctx := r.Context()
	read := func() map[string]any {
		_, data, err := c.Read(ctx)
		if err != nil {
			return nil
		}
		var m map[string]any
		_ = json.Unmarshal(data, &m)
		return m
	}
	init := read()
	if init == nil || init["type"] != "connection_init" {
		return
	}
	_ = c.Write(ctx, websocket.MessageText, []byte(`{"type":"connection_ack"}`))
	sub := read()
	if sub == nil || sub["type"] != "subscribe" {
		return
	}
	sub["auth"], sub["tenant"], sub["init"] = r.Header.Get("Authorization"), r.Header.Get("X-Tenant"), init["payload"]
	select {
	case u.subscribed <- sub:
	case <-ctx.Done():
		return
	}
	closed := make(chan struct{})
	go func() { defer close(closed); read() }() // until the client leaves
	for {
		select {
		case p := <-u.next:
			msg := fmt.Sprintf(`{"id":%q,"type":"next","payload":%s}`, sub["id"], p)
			if text, ok := strings.CutPrefix(p, "error:"); ok {
				msg = fmt.Sprintf(`{"id":%q,"type":"error","payload":[{"message":%q}]}`, sub["id"], text)
			}
			if c.Write(ctx, websocket.MessageText, []byte(msg)) != nil {
				return
			}
		case <-closed:
			return
		}
	}
}

const wsSDL = `
type Query { ticket(id: ID!): Ticket }
type Subscription { ticketUpdates(customerId: ID!): Ticket }
type Ticket { id: ID! subject: String customerId: ID customer: Customer }
type Customer { id: ID! name: String }
`

const wsUpstreamSDL = `
type Query { ticket(id: ID!): Ticket }
type Subscription { ticketUpdates(customerId: ID!): Ticket }
type Ticket { id: ID! subject: String customerId: ID }
`

const wsConfig = `
schema: [s.graphqls]
sources:
  support:
    graphql:
      endpoints: [%s]
      sdl: up.graphqls
      headers: {Authorization: Bearer upstream}
      forwardHeaders: [x-tenant]
      subscriptions: {initPayload: {token: "{{headers.x-token}}", client: conflux}}
  customers: {http: {endpoints: [http://127.0.0.1:1]}}
bindings:
  Query.ticket: {source: support, field: ticket, args: {id: "{{args.id}}"}}
  Subscription.ticketUpdates: {source: support, field: ticketUpdates, args: {customerId: "{{args.customerId}}"}}
  Ticket.customer:
    source: customers
    path: "/customers/{{parent.customerId}}"
    batch: {key: "{{parent.customerId}}", path: /customers, query: {id: "{{keys}}"}, match: id}
`

// TestSubscribe_GraphQLUpstream: a Subscription field bound to a graphql source is forwarded upstream as a
// subscription with the client's sub-selection (the fields bound elsewhere cut, the keys their bindings read
// added) and variables; each upstream event is enriched by the REST binding below it, with the upstream's
// errors re-based; an upstream `error` ends the subscription with a located error.
func TestSubscribe_GraphQLUpstream(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	up := &wsUpstream{subscribed: make(chan map[string]any, 1), next: make(chan string)}
	srv := httptest.NewServer(up)
	t.Cleanup(srv.Close)
	sg, err := schema.Parse("conflux.yaml", []byte(fmt.Sprintf(wsConfig, srv.URL+"/graphql")),
		fstest.MapFS{"s.graphqls": {Data: []byte(wsSDL)}, "up.graphqls": {Data: []byte(wsUpstreamSDL)}})
	if err != nil {
		t.Fatal(err)
	}
	support, err := sources.NewHTTP(*sg.Sources["support"].HTTP)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(support.Close)
	customers := &fakeSource{name: "customers", do: func(_ context.Context, req *sources.Request) (any, error) {
		var out []any
		for _, id := range req.Query["id"] {
			out = append(out, map[string]any{"id": id, "name": "Customer " + id})
		}
		return out, nil
	}}
	set, err := resolvers.New(sg, map[string]sources.Source{"support": support, "customers": customers})
	if err != nil {
		t.Fatal(err)
	}
	e, err := graph.New(sg, set)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := subscribeWith(t, ctx, e, "subscription Watch($c: ID!) {\n  ticketUpdates(customerId: $c) { id title: subject customer { name } }\n}", map[string]any{"c": "c7"},
		http.Header{"X-Token": {"t0k"}, "X-Tenant": {"acme"}, "X-Other": {"no"}})

	first := make(chan string, 1)
	go func() { first <- response(t, ctx, h) }()
	sub := <-up.subscribed
	payload, _ := sub["payload"].(map[string]any)
	if q, want := payload["query"], "subscription($_r_customerId: ID!) { r: ticketUpdates(customerId: $_r_customerId) { id title: subject customerId } }"; q != want {
		t.Errorf("upstream document:\n got %v\nwant %s", q, want)
	}
	if v := fmt.Sprint(payload["variables"]); v != "map[_r_customerId:c7]" {
		t.Errorf("upstream variables = %s", v)
	}
	if sub["auth"] != "Bearer upstream" || sub["tenant"] != "acme" {
		t.Errorf("upgrade headers Authorization %v, X-Tenant %v: want the source's and the forwarded one", sub["auth"], sub["tenant"])
	}
	if p := fmt.Sprint(sub["init"]); p != "map[client:conflux token:t0k]" {
		t.Errorf("connection_init payload = %s", p)
	}
	up.next <- `{"data":{"r":{"id":"1","title":"Broken","customerId":"c7"}}}`
	if got, want := <-first, `{"data":{"ticketUpdates":{"id":"1","title":"Broken","customer":{"name":"Customer c7"}}}}`; got != want {
		t.Errorf("first event:\n got %s\nwant %s", got, want)
	}
	up.next <- `{"data":{"r":{"id":"1","title":null,"customerId":"c7"}},"errors":[{"message":"subject hidden","path":["r","title"]}]}`
	want := `{"errors":[{"message":"subject hidden","path":["ticketUpdates","title"],"locations":[{"line":2,"column":38}],` +
		`"extensions":{"code":"UPSTREAM_GRAPHQL_ERROR","source":"support"}}],"data":{"ticketUpdates":{"id":"1","title":null,"customer":{"name":"Customer c7"}}}}`
	if got := response(t, ctx, h); got != want {
		t.Errorf("event with an upstream error:\n got %s\nwant %s", got, want)
	}
	if calls := customers.Calls(); len(calls) != 2 {
		t.Errorf("customer calls = %v, want one per event", calls)
	}
	up.next <- `error:ticket stream gone`
	want = `{"errors":[{"message":"support: ticket stream gone","path":["ticketUpdates"],"locations":[{"line":2,"column":3}],` +
		`"extensions":{"code":"UPSTREAM_GRAPHQL_ERROR","source":"support"}}],"data":null}`
	if got := response(t, ctx, h); got != want {
		t.Errorf("upstream error message:\n got %s\nwant %s", got, want)
	}
	if got := response(t, ctx, h); got != "nil" {
		t.Errorf("then %s, want nil", got)
	}
}
