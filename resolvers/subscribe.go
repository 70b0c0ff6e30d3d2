package resolvers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/conflux-gql/conflux/events"
	"github.com/conflux-gql/conflux/schema"
	"github.com/conflux-gql/conflux/sources"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/vektah/gqlparser/v2/ast"
)

// SubscriptionMetrics are the collectors of subscriptions' upstream streams (issue 17). Create one per process
// with NewSubscriptionMetrics and pass it to every version's New (WithSubscriptionMetrics); nil reports none.
type SubscriptionMetrics struct {
	events     *prometheus.CounterVec
	dropped    *prometheus.CounterVec
	reconnects *prometheus.CounterVec
}

// NewSubscriptionMetrics creates the collectors and registers them with reg.
func NewSubscriptionMetrics(reg prometheus.Registerer) (*SubscriptionMetrics, error) {
	m := &SubscriptionMetrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "conflux", Subsystem: "subscription", Name: "events_total",
			Help: "Events received from upstream streams, by Subscription binding."}, []string{"binding"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "conflux", Subsystem: "subscription", Name: "events_dropped_total",
			Help: "Events dropped because a client was slower than its events, by binding and overflow action (drop_oldest, drop_newest, close)."},
			[]string{"binding", "action"}),
		reconnects: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "conflux", Subsystem: "subscription", Name: "upstream_reconnects_total",
			Help: "Upstream streams made again after they dropped (SSE) or a poll that failed, by source."}, []string{"source"}),
	}
	for _, c := range []prometheus.Collector{m.events, m.dropped, m.reconnects} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register subscription metrics: %w", err)
		}
	}
	return m, nil
}

// WithSubscriptionMetrics sets where subscriptions report their events, drops and reconnects.
func WithSubscriptionMetrics(m *SubscriptionMetrics) Option {
	return func(o *options) { o.subMetrics = m }
}

// WithSubscriptionBudget shares b between the subscriptions of every version (the process's): the events waiting
// for slow clients are within server.subscriptions.bufferBytesTotal together. New sets b's bound from the
// version's settings. Without it, the set's subscriptions share a budget of their own.
func WithSubscriptionBudget(b *events.Budget) Option {
	return func(o *options) { o.subBudget = b }
}

// SubscribeOptions are the server's settings for one subscription's stream; the binding's subscribe overrides
// Buffer and Overflow.
type SubscribeOptions struct {
	Buffer int
	// BufferBytes bounds the bytes of the events held (server.subscriptions.bufferBytes); 0: no bound.
	BufferBytes int64
	Overflow    string
	KeepAlive   time.Duration
}

// Subscription is one client subscription's upstream event stream, each event decoded into the value of the
// Subscription field. Not safe for concurrent use: one consumer (Next), and Close from any goroutine.
type Subscription struct {
	stream  events.Stream
	decode  func([]byte) (any, error)
	source  string
	binding string
	metrics *SubscriptionMetrics
}

// Next blocks until the next event and returns the field's value: for a graphql source a *ForwardResult (the
// upstream data.<field> with the upstream errors re-based under the field), for an http source the JSON value
// after select. It returns io.EOF when the stream ended, ctx.Err() when ctx is done, and a *sources.Error (or a
// *StreamError for an overflow) when the stream failed.
func (s *Subscription) Next(ctx context.Context) (any, error) {
	data, err := s.stream.Next(ctx)
	if err != nil {
		return nil, s.failure(err)
	}
	if m := s.metrics; m != nil {
		m.events.WithLabelValues(s.binding).Inc()
	}
	v, err := s.decode(data)
	if err != nil {
		return nil, &sources.Error{Source: s.source, Code: sources.CodeBadResponse, Err: fmt.Errorf("event: %w", err)}
	}
	return v, nil
}

// failure is the error a stream's failure err is to the engine: a *sources.Error with the source's code (the
// source's own error when a request failed), a *StreamError, or err itself (io.EOF, a context's error).
func (s *Subscription) failure(err error) error {
	var ee *events.Error
	if !errors.As(err, &ee) {
		var se *sources.Error
		if errors.As(err, &se) {
			return se
		}
		return err
	}
	switch ee.Code {
	case CodeSubscriptionOverflow:
		return &StreamError{Code: CodeSubscriptionOverflow, Msg: "the subscription's events came faster than they were read: subscribe again"}
	case codeUpstreamGraphQL:
		// The upstream ended the subscription with GraphQL errors: their messages are its answer, as a forwarded
		// query's errors are.
		return &StreamError{Code: codeUpstreamGraphQL, Source: s.source, Msg: s.source + ": " + ee.Err.Error()}
	}
	var se *sources.Error
	if errors.As(ee.Err, &se) {
		if se.Source == "" {
			se.Source = s.source
		}
		return se
	}
	return &sources.Error{Source: s.source, Code: sources.Code(ee.Code), Status: ee.Status, Err: ee.Err}
}

// Close ends the stream and waits for its goroutines; idempotent.
func (s *Subscription) Close() { s.stream.Close() }

// CodeSubscriptionOverflow is the code of a subscription closed by its overflow action `close` (STREAMS.md).
const CodeSubscriptionOverflow = "SUBSCRIPTION_OVERFLOW"

// codeUpstreamGraphQL is the code of upstream GraphQL errors (rebase) and of an upstream subscription that
// ended with an `error` message.
const codeUpstreamGraphQL = "UPSTREAM_GRAPHQL_ERROR"

// StreamError ends a subscription for a reason that is not a failed request: its overflow, or the upstream's
// GraphQL errors (Source names the source then).
type StreamError struct {
	Code   string
	Source string
	Msg    string
}

func (e *StreamError) Error() string { return e.Msg }

// Subscribe opens the upstream event stream of a Subscription field's binding for one client subscription:
// for a graphql source, the forwarded selection as a `subscription` operation (events.SubscribeGraphQL, over
// the source's subscriptions protocol and URL); for an http source, its request read as Server-Sent Events
// (mode sse) or sent every interval (mode poll, through the source as any fetch). Events pass through a buffer
// of the binding's (or the server's) size and overflow action. ctx bounds the stream's whole life; the caller
// closes it. It returns once the first connection is made, or with its failure.
func (r *Resolver) Subscribe(ctx context.Context, vs Vars, fw *Forward, clientVars map[string]any, o SubscribeOptions) (*Subscription, error) {
	b := r.Binding
	sub := &Subscription{source: b.Source, binding: b.Name(), metrics: r.subMetrics}
	buffer, overflow := o.Buffer, o.Overflow
	reconnect := schema.DefaultReconnect()
	mode := ""
	if s := b.Subscribe; s != nil {
		if s.Buffer > 0 {
			buffer = s.Buffer
		}
		if s.Overflow != "" {
			overflow = s.Overflow
		}
		if s.Reconnect != nil {
			reconnect = *s.Reconnect
		}
		mode = s.Mode
	}
	rc := events.Reconnect{Attempts: reconnect.Attempts, Backoff: reconnect.Backoff, MaxBackoff: reconnect.MaxBackoff}
	var stream events.Stream
	var err error
	switch {
	case r.GraphQL:
		stream, err = r.subscribeGraphQL(ctx, vs, fw, clientVars, rc, o)
		sub.decode = r.graphqlEvent
	case mode == schema.SubscribeSSE:
		stream, err = r.subscribeSSE(ctx, vs, rc)
		sub.decode = func(data []byte) (any, error) {
			v, err := decodeJSON(data)
			if err != nil {
				return nil, err
			}
			return Dig(v, b.Select), nil
		}
	case mode == schema.SubscribePoll:
		stream, err = r.subscribePoll(ctx, vs, rc)
		sub.decode = decodeJSON
	default:
		return nil, fmt.Errorf("binding %s cannot subscribe: it has no subscribe.mode", b.Name())
	}
	if err != nil {
		return nil, sub.failure(err)
	}
	var onDrop func(string)
	if m := r.subMetrics; m != nil {
		onDrop = func(action string) { m.dropped.WithLabelValues(b.Name(), action).Inc() }
	}
	sub.stream = events.NewBuffer(stream, events.BufferLimits{Events: buffer, Bytes: o.BufferBytes, Shared: r.subBudget}, overflow, onDrop)
	return sub, nil
}

// reconnected counts a stream made again.
func (r *Resolver) reconnected() {
	if m := r.subMetrics; m != nil {
		m.reconnects.WithLabelValues(r.Binding.Source).Inc()
	}
}

// subscribeGraphQL subscribes upstream with the forwarded selection under the binding's field.
func (r *Resolver) subscribeGraphQL(ctx context.Context, vs Vars, fw *Forward, clientVars map[string]any, rc events.Reconnect, o SubscribeOptions) (events.Stream, error) {
	var b docBuilder
	b.start(r, fw, clientVars)
	b.opType = "subscription"
	if err := b.root(rootAlias, r.Binding.UpstreamField, r.argSpecs(false), r.renderArgs(r.Binding.Args, &vs), fw.Selection); err != nil {
		return nil, err
	}
	call := b.call()
	cfg := events.GraphQLConfig{Protocol: schema.ProtocolWS, Reconnect: rc, KeepAlive: o.KeepAlive, Header: http.Header{},
		OnReconnect: r.reconnected}
	if r.httpCfg != nil {
		for k, v := range r.httpCfg.Headers {
			cfg.Header[k] = v
		}
		cfg.MaxEventBytes = r.httpCfg.MaxResponseBytes
		if len(r.httpCfg.Endpoints) > 0 {
			cfg.URL = r.httpCfg.Endpoints[0]
		}
	}
	cfg.Header = r.forwardHeaders(vs.Headers, cfg.Header)
	if s := r.gqlSubs; s != nil {
		cfg.Protocol = s.Protocol
		if s.URL != "" {
			cfg.URL = s.URL
		}
		if s.InitPayload != nil {
			cfg.InitPayload, _ = renderValue(s.InitPayload, &vs).(map[string]any)
		}
	}
	if cfg.Protocol == schema.ProtocolWS {
		// The WebSocket handshake goes through a client of its own (events' default): the source's transport may
		// negotiate HTTP/2 over TLS, where an upgrade cannot happen.
		cfg.URL = wsURL(cfg.URL)
	} else if st, ok := r.Source.(sources.Streamer); ok {
		cfg.Client = st.StreamClient()
	}
	return events.SubscribeGraphQL(ctx, cfg, events.GraphQLRequest{Query: call.query, Variables: call.vars})
}

// wsURL turns an http(s) endpoint into the ws(s) URL of the same place.
func wsURL(u string) string {
	switch {
	case strings.HasPrefix(u, "http://"):
		return "ws://" + strings.TrimPrefix(u, "http://")
	case strings.HasPrefix(u, "https://"):
		return "wss://" + strings.TrimPrefix(u, "https://")
	}
	return u
}

// graphqlEvent decodes one upstream `next` payload into the field's value and its re-based errors.
func (r *Resolver) graphqlEvent(data []byte) (any, error) {
	var resp graphqlResponse
	if err := json.Unmarshal(data, &resp); err != nil {
		return nil, fmt.Errorf("invalid GraphQL event: %w", err)
	}
	for _, e := range resp.Errors {
		// Paths hold numbers as float64 here (json.Unmarshal); make them the json.Number the rest uses.
		for i, p := range e.Path {
			if f, ok := p.(float64); ok {
				e.Path[i] = json.Number(fmt.Sprint(int64(f)))
			}
		}
	}
	return r.forwardResult(&resp)
}

// streamError is a source's failure as the events package reads it, to decide whether to retry: an HTTP status
// or an unusable answer as what it is, anything else (a timeout, the source's limits, an open circuit) as a
// connection failure, worth another attempt. The source's error stays inside, for the client.
func streamError(err error) error {
	se := sources.AsError("", err)
	switch se.Code {
	case sources.CodeHTTPError, sources.CodeBadResponse:
		return &events.Error{Code: string(se.Code), Status: se.Status, Err: se}
	}
	return &events.Error{Code: string(sources.CodeUnavailable), Err: se}
}

// subscribeSSE reads the binding's request as Server-Sent Events, through the source's endpoint and headers,
// unbounded by the source's timeout (sources.Streamer).
func (r *Resolver) subscribeSSE(ctx context.Context, vs Vars, rc events.Reconnect) (events.Stream, error) {
	st, ok := r.Source.(sources.Streamer)
	if !ok {
		return nil, fmt.Errorf("source %s cannot stream", r.Binding.Source)
	}
	req, err := r.Build(vs, false)
	if err != nil {
		return nil, err
	}
	cfg := events.SSEConfig{Event: r.Binding.Subscribe.Event, Reconnect: rc}
	if r.httpCfg != nil {
		cfg.MaxEventBytes = r.httpCfg.MaxResponseBytes
	}
	cfg.OnReconnect = r.reconnected
	cfg.Open = func(ctx context.Context, lastEventID string) (io.ReadCloser, error) {
		req := *req
		req.Header = req.Header.Clone()
		if lastEventID != "" {
			if req.Header == nil {
				req.Header = http.Header{}
			}
			req.Header.Set("Last-Event-ID", lastEventID)
		}
		body, err := st.Open(ctx, &req)
		if err != nil {
			return nil, streamError(err)
		}
		return body, nil
	}
	return events.SubscribeSSE(ctx, cfg)
}

// subscribePoll sends the binding's request every interval through the source like any fetch (timeouts,
// retries, limits), never from the response cache, and hands the selected value's JSON to the poller, which
// emits it when it changed.
func (r *Resolver) subscribePoll(ctx context.Context, vs Vars, rc events.Reconnect) (events.Stream, error) {
	req, err := r.Build(vs, false)
	if err != nil {
		return nil, err
	}
	failed := false
	fetch := func(ctx context.Context) ([]byte, error) {
		if failed {
			r.reconnected() // a poll after a failed one: the stream is being made again
		}
		v, err := r.send(ctx, req, decodeJSON)
		failed = err != nil
		if err != nil {
			return nil, streamError(err)
		}
		return json.Marshal(Dig(v, r.Binding.Select))
	}
	return events.Poll(ctx, events.PollConfig{Interval: r.Binding.Subscribe.Interval, Fetch: fetch, Reconnect: rc})
}

// newSubscriptionArgs prepares how a Subscription binding's arguments are sent: typed by the upstream
// Subscription field's arguments when the upstream schema is known.
func newSubscriptionArgs(sg *schema.Supergraph, b *schema.Binding, up *ast.Schema) *graphqlArgs {
	return &graphqlArgs{args: argSpecsFor(sg, b, up, ast.Subscription, b.UpstreamField, b.Args, nil)}
}
