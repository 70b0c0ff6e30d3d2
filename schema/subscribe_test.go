package schema

import (
	"os"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

const subscribeSDL = `type Query { order(id: ID!): Order }
type Subscription { orderEvents(customerId: ID): Order, orderStatus(id: ID!): Order, ticketUpdates(customerId: ID!): Ticket }
type Order { id: ID, status: String }
type Ticket { id: ID, subject: String }
`

const upstreamSDL = `type Query { ticket(id: ID!): Ticket }
type Subscription { ticketUpdates(customerId: ID!): Ticket }
type Ticket { id: ID, subject: String }
`

// subscribeConfig is a valid configuration with every Subscription field bound; a case replaces one binding
// (or adds lines) to make it what it tests.
func subscribeConfig(orderEvents, extraSources, extraBindings string) string {
	if orderEvents == "" {
		orderEvents = "{source: orders, path: /orders/events, subscribe: {mode: sse, event: order}}"
	}
	return `schema: s.graphqls
sources:
  orders:
    http: {endpoints: [http://127.0.0.1:9102]}
  support:
    graphql:
      endpoints: [http://127.0.0.1:9104/graphql]
      sdl: up.graphqls
` + extraSources + `bindings:
  Query.order: {source: orders, path: "/orders/{{args.id}}"}
  Subscription.orderEvents: ` + orderEvents + `
  Subscription.orderStatus: {source: orders, path: "/orders/{{args.id}}", subscribe: {mode: poll, interval: 2s}}
  Subscription.ticketUpdates: {source: support, field: ticketUpdates, args: {customerId: "{{args.customerId}}"}}
` + extraBindings
}

// TestLoad_Subscribe: a Subscription binding's subscribe and a graphql source's subscriptions decode with their
// defaults, and every misuse is refused at its line with the fix (issue 17).
func TestLoad_Subscribe(t *testing.T) {
	fsys := fstest.MapFS{"s.graphqls": {Data: []byte(subscribeSDL)}, "up.graphqls": {Data: []byte(upstreamSDL)}}
	tests := []struct {
		name                                string
		orderEvents, sources, bindings, sdl string
		want                                *Subscribe // of Subscription.orderEvents
		wantErr                             []string
	}{
		{name: "sse with event", want: &Subscribe{Mode: "sse", Event: "order"}},
		{name: "poll takes the default interval", orderEvents: "{source: orders, path: /orders, subscribe: {mode: poll}}",
			want: &Subscribe{Mode: "poll", Interval: 5 * time.Second}},
		{name: "buffer, overflow and reconnect",
			orderEvents: "{source: orders, path: /e, subscribe: {mode: sse, buffer: 8, overflow: close, reconnect: {attempts: 0, backoff: 1s}}}",
			want:        &Subscribe{Mode: "sse", Buffer: 8, Overflow: "close", Reconnect: &Reconnect{Attempts: 0, Backoff: time.Second, MaxBackoff: 5 * time.Second}}},
		{name: "http source without mode", orderEvents: "{source: orders, path: /orders/events}",
			wantErr: []string{"conflux.yaml:11:3: bindings.Subscription.orderEvents.subscribe.mode: orders is an http source: say how to read its events, subscribe: {mode: sse}"}},
		{name: "unknown mode", orderEvents: "{source: orders, path: /e, subscribe: {mode: websocket}}",
			wantErr: []string{`conflux.yaml:11:74: bindings.Subscription.orderEvents.subscribe.mode: unknown mode "websocket"`}},
		{name: "interval under 100ms", orderEvents: "{source: orders, path: /e, subscribe: {mode: poll, interval: 50ms}}",
			wantErr: []string{"conflux.yaml:11:90: bindings.Subscription.orderEvents.subscribe.interval: interval 50ms is under the minimum of 100ms"}},
		{name: "interval with sse", orderEvents: "{source: orders, path: /e, subscribe: {mode: sse, interval: 1s}}",
			wantErr: []string{"bindings.Subscription.orderEvents.subscribe.interval: interval is for mode poll"}},
		{name: "event with poll", orderEvents: "{source: orders, path: /e, subscribe: {mode: poll, event: x}}",
			wantErr: []string{"subscribe.event: event filters Server-Sent Events (mode sse)"}},
		{name: "unknown key", orderEvents: "{source: orders, path: /e, subscribe: {mode: sse, events: x}}",
			wantErr: []string{`conflux.yaml:11:79: bindings.Subscription.orderEvents.subscribe: unknown key "events"`}},
		{name: "unknown overflow", orderEvents: "{source: orders, path: /e, subscribe: {mode: sse, overflow: block}}",
			wantErr: []string{`unknown overflow action "block"`}},
		{name: "batch on a Subscription field", orderEvents: "{source: orders, path: /e, subscribe: {mode: sse}, batch: {key: '{{parent.id}}', query: {id: '{{keys}}'}}}",
			wantErr: []string{"bindings.Subscription.orderEvents.batch: a Subscription field has one event at a time, never a batch: remove batch"}},
		{name: "subscribe on a non-Subscription field", bindings: "  Order.status: {source: orders, path: /s, subscribe: {mode: sse}}\n",
			wantErr: []string{"conflux.yaml:14:3: bindings.Order.status.subscribe: subscribe is for fields of the Subscription type; Order.status is not one"}},
		{name: "static source", orderEvents: "{source: fixed}", sources: "  fixed:\n    static: {id: 1}\n",
			wantErr: []string{"bindings.Subscription.orderEvents.source: fixed is a static source: it has no events to subscribe to"}},
		{name: "graphql subscriptions", sources: "  chat:\n    graphql:\n      endpoints: [http://127.0.0.1:9105/graphql]\n      subscriptions: {protocol: sse, url: http://127.0.0.1:9105/stream}\n",
			want: &Subscribe{Mode: "sse", Event: "order"}},
		{name: "graphql subscriptions unknown protocol", sources: "  chat:\n    graphql:\n      endpoints: [http://127.0.0.1:9105/graphql]\n      subscriptions: {protocol: mqtt}\n",
			wantErr: []string{`conflux.yaml:12:33: sources.chat.graphql.subscriptions.protocol: unknown protocol "mqtt"`}},
		{name: "graphql subscriptions ws protocol with an http url", sources: "  chat:\n    graphql:\n      endpoints: [http://127.0.0.1:9105/graphql]\n      subscriptions: {url: http://x/graphql}\n",
			wantErr: []string{"sources.chat.graphql.subscriptions.url: protocol ws subscribes over a WebSocket: use a ws(s) url"}},
		{name: "initPayload reads args", sources: "  chat:\n    graphql:\n      endpoints: [http://127.0.0.1:9105/graphql]\n      subscriptions: {initPayload: {id: \"{{args.id}}\"}}\n",
			wantErr: []string{"sources.chat.graphql.subscriptions.initPayload: {{args.id}}: initPayload reads only {{env.*}} and {{headers.*}}"}},
		{name: "unknown subscriptions key", sources: "  chat:\n    graphql:\n      endpoints: [http://127.0.0.1:9105/graphql]\n      subscriptions: {protocl: ws}\n",
			wantErr: []string{`sources.chat.graphql.subscriptions: unknown key "protocl"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sg, err := Parse("conflux.yaml", []byte(subscribeConfig(tc.orderEvents, tc.sources, tc.bindings)), fsys, noEnv)
			if tc.wantErr != nil {
				wantErrors(t, err, tc.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := sg.Binding("Subscription", "orderEvents").Subscribe
			got.Pos, got.given = Position{}, nil
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("subscribe = %+v, want %+v", got, tc.want)
			}
			if s := sg.Binding("Subscription", "orderStatus").Subscribe; s.Interval != 2*time.Second {
				t.Errorf("interval = %s", s.Interval)
			}
		})
	}
}

// TestLoad_SubscribeGraphQL: graphql bindings on Subscription fields are checked against the upstream
// Subscription type, take subscribe with buffer/overflow/reconnect only, and every Subscription field needs a
// binding.
func TestLoad_SubscribeGraphQL(t *testing.T) {
	tests := []struct {
		name, binding, sources string
		wantErr                []string
	}{
		{name: "ok", binding: "{source: support, field: ticketUpdates, args: {customerId: \"{{args.customerId}}\"}, subscribe: {buffer: 4, overflow: drop_newest}}"},
		{name: "mode on a graphql binding", binding: "{source: support, field: ticketUpdates, args: {customerId: \"{{args.customerId}}\"}, subscribe: {mode: sse}}",
			wantErr: []string{"bindings.Subscription.ticketUpdates.subscribe.mode: support is a graphql source: it subscribes upstream; mode (sse, poll) is for http sources, remove it"}},
		{name: "upstream has no such subscription field", binding: "{source: support, field: ticketUpdate, args: {customerId: \"{{args.customerId}}\"}}",
			wantErr: []string{`bindings.Subscription.ticketUpdates.field: upstream Subscription has no field "ticketUpdate"`}},
		{name: "unbound Subscription field", binding: "",
			wantErr: []string{"s.graphqls:2:86: Subscription.ticketUpdates: no binding: a Subscription field needs one to get events"}},
		{name: "from on a Subscription field", binding: "{from: x}",
			wantErr: []string{"bindings.Subscription.ticketUpdates: a Subscription field needs a source to subscribe to"}},
		{name: "graphql source subscriptions", binding: "{source: support, field: ticketUpdates, args: {customerId: \"{{args.customerId}}\"}}",
			sources: "      subscriptions: {protocol: ws, url: ws://127.0.0.1:9104/ws, initPayload: {token: \"{{headers.authorization}}\"}}\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{"s.graphqls": {Data: []byte(subscribeSDL)}, "up.graphqls": {Data: []byte(upstreamSDL)}}
			config := subscribeConfig("", tc.sources, "")
			line := "  Subscription.ticketUpdates: {source: support, field: ticketUpdates, args: {customerId: \"{{args.customerId}}\"}}\n"
			if tc.binding == "" {
				config = strings.Replace(config, line, "", 1)
			} else {
				config = strings.Replace(config, line, "  Subscription.ticketUpdates: "+tc.binding+"\n", 1)
			}
			sg, err := Parse("conflux.yaml", []byte(config), fsys, noEnv)
			if tc.wantErr != nil {
				wantErrors(t, err, tc.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.sources != "" {
				gs := sg.Sources["support"].Subscriptions
				if gs == nil || gs.Protocol != "ws" || gs.URL != "ws://127.0.0.1:9104/ws" || gs.InitPayload == nil {
					t.Errorf("subscriptions = %+v", gs)
				}
			}
		})
	}
}

// TestLoad_SupergraphSubscription: a supergraph's Subscription field is bound to the subgraph that resolves it as
// a plain graphql binding (forwarded, not planned as a federated root field), so a supergraph with subscriptions
// loads; a binding in the configuration still wins.
func TestLoad_SupergraphSubscription(t *testing.T) {
	base, err := os.ReadFile("../testdata/federation/entities/supergraph.graphql")
	if err != nil {
		t.Fatal(err)
	}
	super := strings.Replace(string(base), "  query: Query\n", "  query: Query\n  subscription: Subscription\n", 1) +
		"type Subscription @join__type(graph: ACCOUNTS) { userCreated: User @join__field(graph: ACCOUNTS) }\n"
	sg, err := Parse("conflux.yaml", []byte("supergraph: supergraph.graphql\n"), fstest.MapFS{"supergraph.graphql": {Data: []byte(super)}})
	if err != nil {
		t.Fatal(err)
	}
	b := sg.Binding("Subscription", "userCreated")
	if b == nil || b.Source != "accounts" || b.UpstreamField != "userCreated" || b.Federated {
		t.Fatalf("Subscription.userCreated binding %+v, want a graphql binding to accounts, not federated", b)
	}
	if q := sg.Binding("Query", "me"); q == nil || !q.Federated {
		t.Errorf("Query.me binding %+v, want federated", q)
	}
}

// wantErrors checks that loading failed with an error holding each of want.
func wantErrors(t *testing.T, err error, want []string) {
	t.Helper()
	if err == nil {
		t.Fatal("loaded, want an error")
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error\n%v\nwant it to contain\n%s", err, w)
		}
	}
}
