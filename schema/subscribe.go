package schema

import (
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/vektah/gqlparser/v2/ast"
	"go.yaml.in/yaml/v3"
)

// The modes of a binding's `subscribe` on an http source (issue 17).
const (
	// SubscribeSSE reads the binding's request as a stream of Server-Sent Events.
	SubscribeSSE = "sse"
	// SubscribePoll sends the binding's request every interval and emits each answer that changed.
	SubscribePoll = "poll"
)

// SubscribeModes lists the modes of `subscribe.mode`, for messages and the JSON Schema.
var SubscribeModes = []string{SubscribeSSE, SubscribePoll}

// The protocols of a graphql source's `subscriptions.protocol`.
const (
	// ProtocolWS is graphql-transport-ws over a WebSocket.
	ProtocolWS = "ws"
	// ProtocolSSE is graphql-sse in its distinct connections mode.
	ProtocolSSE = "sse"
)

// SubscriptionProtocols lists the protocols of `graphql.subscriptions.protocol`.
var SubscriptionProtocols = []string{ProtocolWS, ProtocolSSE}

// DefaultPollInterval is `subscribe.interval` when a poll binding leaves it out; MinPollInterval is the
// smallest interval accepted.
const (
	DefaultPollInterval = 5 * time.Second
	MinPollInterval     = 100 * time.Millisecond
)

var (
	subscribeKeys    = []string{"mode", "event", "interval", "buffer", "overflow", "reconnect"}
	reconnectKeys    = []string{"attempts", "backoff", "maxBackoff"}
	gqlSubscribeKeys = []string{"protocol", "url", "initPayload"}
)

// Subscribe is a Subscription field binding's `subscribe` (issue 17): how its source's events are read and
// buffered. Zero Buffer and empty Overflow take server.subscriptions'; a nil Reconnect the default
// (DefaultReconnect).
type Subscribe struct {
	// Mode is sse or poll for an http source; empty for a graphql source (which subscribes upstream).
	Mode string
	// Event keeps only the Server-Sent Events of this type (sse); empty keeps all.
	Event string
	// Interval is the time between two polls (poll).
	Interval  time.Duration
	Buffer    int
	Overflow  string
	Reconnect *Reconnect
	Pos       Position

	given map[string]bool
}

// Reconnect says how a subscription's upstream stream is re-made when it drops: Attempts in a row without an
// event before giving up (0: never), waiting Backoff, doubled each time up to MaxBackoff.
type Reconnect struct {
	Attempts   int
	Backoff    time.Duration
	MaxBackoff time.Duration
}

// DefaultReconnect is the reconnect policy of a subscription that sets none.
func DefaultReconnect() Reconnect {
	return Reconnect{Attempts: 5, Backoff: 250 * time.Millisecond, MaxBackoff: 5 * time.Second}
}

// GraphQLSubscriptions is a graphql source's `subscriptions`: how subscriptions reach the upstream (issue 17).
type GraphQLSubscriptions struct {
	// Protocol is ws (graphql-transport-ws) or sse (graphql-sse, distinct connections).
	Protocol string
	// URL is where to subscribe; empty: the first endpoint (http→ws, https→wss for ws).
	URL string
	// InitPayload is the connection_init payload (ws); its templates read env.* and headers.*.
	InitPayload *Value
	Pos         Position
}

// subscribe decodes a binding's `subscribe`.
func (d *decoder) subscribe(n *yaml.Node, path string) *Subscribe {
	s := &Subscribe{Pos: d.pos(resolve(n)), given: map[string]bool{}}
	entries, ok := d.mapping(n, path, subscribeKeys)
	if !ok {
		return nil
	}
	for _, e := range entries {
		s.given[e.key] = true
		p := join(path, e.key)
		switch e.key {
		case "mode":
			s.Mode, _ = d.enum(e.value, p, "mode", SubscribeModes)
		case "event":
			s.Event, _ = d.str(e.value, p)
		case "interval":
			if v, ok := d.duration(e.value, p); ok {
				if v < MinPollInterval {
					d.errorf(d.pos(e.value), p, "interval %s is under the minimum of %s: poll less often, e.g. interval: 2s", v, MinPollInterval)
				}
				s.Interval = v
			}
		case "buffer":
			s.Buffer, _ = d.integer(e.value, p, 1)
		case "overflow":
			s.Overflow, _ = d.enum(e.value, p, "overflow action", OverflowActions)
		case "reconnect":
			r := DefaultReconnect()
			rs, _ := d.mapping(e.value, p, reconnectKeys)
			for _, re := range rs {
				rp := join(p, re.key)
				switch re.key {
				case "attempts":
					r.Attempts, _ = d.integer(re.value, rp, 0)
				case "backoff":
					r.Backoff, _ = d.duration(re.value, rp)
				case "maxBackoff":
					r.MaxBackoff, _ = d.duration(re.value, rp)
				}
			}
			if r.MaxBackoff < r.Backoff {
				d.errorf(d.pos(e.value), p, "maxBackoff %s is under backoff %s: give maxBackoff at least backoff", r.MaxBackoff, r.Backoff)
			}
			s.Reconnect = &r
		}
	}
	if s.Mode == SubscribePoll && s.Interval == 0 && !s.given["interval"] {
		s.Interval = DefaultPollInterval
	}
	return s
}

// graphqlSubscriptions decodes a graphql source's `subscriptions`.
func (d *decoder) graphqlSubscriptions(n *yaml.Node, path string) *GraphQLSubscriptions {
	g := &GraphQLSubscriptions{Protocol: ProtocolWS, Pos: d.pos(resolve(n))}
	entries, ok := d.mapping(n, path, gqlSubscribeKeys)
	if !ok {
		return nil
	}
	for _, e := range entries {
		p := join(path, e.key)
		switch e.key {
		case "protocol":
			g.Protocol, _ = d.enum(e.value, p, "protocol", SubscriptionProtocols)
		case "url":
			if v, ok := d.str(e.value, p); ok {
				u, err := url.Parse(v)
				if err != nil || u.Host == "" || !slices.Contains([]string{"ws", "wss", "http", "https"}, u.Scheme) {
					d.errorf(d.pos(e.value), p, "url %q is not an absolute ws(s) or http(s) URL, e.g. ws://127.0.0.1:9104/graphql", v)
				}
				g.URL = v
			}
		case "initPayload":
			if v, ok := d.value(e.value, p); ok {
				if resolve(e.value).Kind != yaml.MappingNode {
					d.errorf(d.pos(e.value), p, "initPayload is an object, e.g. {token: \"{{headers.authorization}}\"}")
				}
				for _, tv := range v.Vars() {
					if tv.Scope != ScopeEnv && tv.Scope != ScopeHeaders {
						d.errorf(v.Pos, p, "{{%s}}: initPayload reads only {{env.*}} and {{headers.*}}", tv)
					}
				}
				g.InitPayload = v
			}
		}
	}
	if g.URL != "" {
		u, _ := url.Parse(g.URL)
		if u != nil && g.Protocol == ProtocolSSE && u.Scheme != "http" && u.Scheme != "https" {
			d.errorf(g.Pos, join(path, "url"), "protocol sse subscribes over http(s): use an http(s) url, or protocol: ws")
		}
		if u != nil && g.Protocol == ProtocolWS && u.Scheme != "ws" && u.Scheme != "wss" {
			d.errorf(g.Pos, join(path, "url"), "protocol ws subscribes over a WebSocket: use a ws(s) url, or protocol: sse")
		}
	}
	if g.InitPayload != nil && g.Protocol != ProtocolWS {
		d.errorf(g.Pos, join(path, "initPayload"), "initPayload is the connection_init payload of protocol ws")
	}
	return g
}

// subscription checks what is particular to a binding on a Subscription field, and refuses subscribe
// elsewhere.
func (v *validator) subscription(b *Binding, src *Source, path string) {
	isSub := v.sg.Schema.Subscription != nil && v.sg.Schema.Subscription.Name == b.Type
	s := b.Subscribe
	if !isSub {
		if s != nil || b.given["subscribe"] {
			v.errorf(b.Pos, path+".subscribe", "subscribe is for fields of the Subscription type; %s is not one", b.Name())
		}
		return
	}
	sp := path + ".subscribe"
	if b.Batch != nil {
		v.errorf(b.Batch.Pos, path+".batch", "a Subscription field has one event at a time, never a batch: remove batch")
	}
	if b.Fallback != nil {
		v.errorf(b.Pos, path+".fallback", "a Subscription field's failure ends the subscription: fallback does not apply")
	}
	if src == nil {
		if b.Source == "" {
			v.errorf(b.Pos, path, "a Subscription field needs a source to subscribe to: a graphql source (field:), or an http source with subscribe: {mode: sse} or {mode: poll}")
		}
		return
	}
	switch src.Kind {
	case KindGraphQL:
		if s != nil && (s.Mode != "" || s.given["mode"]) {
			v.errorf(s.Pos, sp+".mode", "%s is a graphql source: it subscribes upstream; mode (sse, poll) is for http sources, remove it", b.Source)
		}
		if s != nil && (s.Event != "" || s.given["interval"]) {
			v.errorf(s.Pos, sp, "event and interval are for http sources (mode sse, poll); %s is a graphql source", b.Source)
		}
	case KindHTTP:
		if s == nil || s.Mode == "" {
			if s == nil || !s.given["mode"] {
				v.errorf(b.Pos, sp+".mode", "%s is an http source: say how to read its events, subscribe: {mode: sse} (Server-Sent Events) or {mode: poll, interval: 5s}", b.Source)
			}
			return
		}
		if s.Mode == SubscribeSSE && s.given["interval"] {
			v.errorf(s.Pos, sp+".interval", "interval is for mode poll; mode sse reads events as they come")
		}
		if s.Mode == SubscribePoll && s.Event != "" {
			v.errorf(s.Pos, sp+".event", "event filters Server-Sent Events (mode sse); mode poll has none")
		}
	case KindStatic:
		v.errorf(b.Pos, path+".source", "%s is a static source: it has no events to subscribe to", b.Source)
	}
}

// subscriptionFields reports every field of the Subscription type without a binding that can subscribe: a
// subscription to it could never deliver an event.
func (v *validator) subscriptionFields() {
	sub := v.sg.Schema.Subscription
	if sub == nil {
		return
	}
	for _, f := range sub.Fields {
		if strings.HasPrefix(f.Name, "__") || v.declared[sub.Name+"."+f.Name] {
			continue
		}
		pos := Position{File: v.file}
		if f.Position != nil && f.Position.Src != nil {
			pos = Position{File: f.Position.Src.Name, Line: f.Position.Line, Column: f.Position.Column}
		}
		v.errorf(pos, sub.Name+"."+f.Name, "no binding: a Subscription field needs one to get events; add bindings.%s.%s with a graphql source (field:) or an http source with subscribe: {mode: sse|poll}",
			sub.Name, f.Name)
	}
}

// upstreamRoot returns the root type of upstream schema up that a binding on type typ calls.
func (v *validator) upstreamRoot(up *ast.Schema, typ string) *ast.Definition {
	s := v.sg.Schema
	switch {
	case s.Mutation != nil && typ == s.Mutation.Name:
		return up.Mutation
	case s.Subscription != nil && typ == s.Subscription.Name:
		return up.Subscription
	}
	return up.Query
}
