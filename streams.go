package main

import (
	"bytes"
	"context"
	"encoding/json"
	"mime"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/coder/websocket"
	"github.com/conflux-gql/conflux/graph"
	"github.com/conflux-gql/conflux/schema"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Streams (issue 17): the client-facing transports that answer in more than one part — graphql-transport-ws
// (transport_ws.go), GraphQL over Server-Sent Events (transport_sse.go) and multipart/mixed incremental delivery
// (transport_multipart.go) — and what they share: the registry of open subscriptions, its limits and its
// shutdown, and the JSON of one payload.
//
// Limits (server.subscriptions): max bounds the subscriptions open at once over WebSocket and SSE together,
// across configuration versions; maxPerConnection bounds the operations in progress on one WebSocket connection
// (queries and mutations too; a WebSocket holds no server.maxInFlight slot, but each query or mutation on it
// holds one while it runs, see edge.go); maxPerClient bounds the subscriptions of one client address over every
// transport, so that one client cannot take every place of max. A refused operation gets a GraphQL error with
// code SUBSCRIPTION_LIMIT.

// Error codes of the stream transports.
const (
	// codeSubscriptionLimit: refused by server.subscriptions.max, maxPerConnection or maxPerClient.
	codeSubscriptionLimit = "SUBSCRIPTION_LIMIT"
	// codeSubscriptionClosed: the stream was ended by the server (shutdown); subscribe again. The engine uses the
	// same code when a reload replaces the configuration version.
	codeSubscriptionClosed = "SUBSCRIPTION_CLOSED"
)

// Transport labels of the stream metrics.
const (
	transportWS        = "ws"
	transportSSE       = "sse"
	transportMultipart = "multipart"
)

// streamMetrics are the transports' series (STREAMS.md, "Metrics").
type streamMetrics struct {
	open     *prometheus.GaugeVec
	refused  *prometheus.CounterVec
	messages *prometheus.CounterVec
}

func newStreamMetrics(reg prometheus.Registerer) (*streamMetrics, error) {
	m := &streamMetrics{
		open: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "conflux", Name: "subscriptions_open",
			Help: "Subscriptions open, by client transport (ws, sse, multipart)."}, []string{"transport"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "conflux", Name: "subscriptions_refused_total",
			Help: "Subscriptions refused, by client transport and reason (max, maxPerConnection, maxPerClient, shutdown)."},
			[]string{"transport", "reason"}),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "conflux", Name: "stream_messages_total",
			Help: "Payloads sent to clients over streams (ws next messages, SSE next events, multipart parts), by transport."},
			[]string{"transport"}),
	}
	if err := registerAll(reg, m.open, m.refused, m.messages); err != nil {
		return nil, err
	}
	return m, nil
}

// Reasons of conflux_subscriptions_refused_total.
const (
	refusedMax              = "max"
	refusedMaxPerConnection = "maxPerConnection"
	refusedMaxPerClient     = "maxPerClient"
	refusedShutdown         = "shutdown"
)

// streams is the process's registry of open streams: subscriptions (ws, sse) counted against
// server.subscriptions.max, and WebSocket connections, which Shutdown closes. It outlives configuration versions
// (a reload must not reset the count). Safe for concurrent use; a nil *streams counts nothing and has nothing
// to shut down (a handler served without a server, as in some tests).
type streams struct {
	metrics *streamMetrics // nil: none
	// current, when set, is the version served (runtime.Runtime.Current): a WebSocket connection of another
	// version closes (wsConn.retire). Set before serving.
	current func() *schema.Supergraph

	mu   sync.Mutex
	open int
	// byClient counts the open subscriptions of each client address.
	byClient map[netip.Addr]int
	closing  bool
	subs     map[*streamSub]struct{}
	conns    map[*wsConn]struct{}
	changed  chan struct{} // closed and replaced whenever open or conns shrink
}

// streamSub is one admitted subscription; cancel ends it (the engine then releases its stream).
type streamSub struct {
	transport string
	cancel    context.CancelFunc
}

func newStreams(m *streamMetrics) *streams {
	return &streams{metrics: m, subs: map[*streamSub]struct{}{}, conns: map[*wsConn]struct{}{}, byClient: map[netip.Addr]int{},
		changed: make(chan struct{})}
}

// subLimits are the limits admit applies: server.subscriptions.max and maxPerClient (0: no limit).
type subLimits struct {
	max, perClient int
}

// admit takes a place for a subscription of client (its address, as the edge counts connections: clientOf) on
// transport within lim; cancel ends it at shutdown. It returns the release to call when the subscription is over,
// or the error to send the client.
func (s *streams) admit(transport string, lim subLimits, client netip.Addr, cancel context.CancelFunc) (release func(), refusal *gqlerror.Error) {
	if s == nil {
		return func() {}, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		s.refused(transport, refusedShutdown)
		return nil, streamError(codeSubscriptionClosed, "the server is shutting down: subscribe again")
	}
	if lim.max > 0 && s.open >= lim.max {
		s.refused(transport, refusedMax)
		return nil, streamError(codeSubscriptionLimit, "too many subscriptions are open on this server (server.subscriptions.max)")
	}
	if lim.perClient > 0 && s.byClient[client] >= lim.perClient {
		// One client cannot take every place of max (issue 17: one client never degrades another).
		s.refused(transport, refusedMaxPerClient)
		return nil, streamError(codeSubscriptionLimit, "too many subscriptions are open from this client (server.subscriptions.maxPerClient)")
	}
	sub := &streamSub{transport: transport, cancel: cancel}
	s.subs[sub] = struct{}{}
	s.open++
	s.byClient[client]++
	if s.metrics != nil {
		s.metrics.open.WithLabelValues(transport).Inc()
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			delete(s.subs, sub)
			s.open--
			if s.byClient[client]--; s.byClient[client] <= 0 {
				delete(s.byClient, client)
			}
			if s.metrics != nil {
				s.metrics.open.WithLabelValues(transport).Dec()
			}
			s.signalLocked()
		})
	}, nil
}

// refused counts a refusal; s.mu may be held.
func (s *streams) refused(transport, reason string) {
	if s != nil && s.metrics != nil {
		s.metrics.refused.WithLabelValues(transport, reason).Inc()
	}
}

// sent counts one payload sent on transport.
func (s *streams) sent(transport string) {
	if s != nil && s.metrics != nil {
		s.metrics.messages.WithLabelValues(transport).Inc()
	}
}

func (s *streams) signalLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// addConn registers a WebSocket connection for Shutdown; false when the server is shutting down.
func (s *streams) addConn(c *wsConn) bool {
	if s == nil {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *streams) removeConn(c *wsConn) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
	s.signalLocked()
}

// Open is the number of subscriptions open.
func (s *streams) Open() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.open
}

// Shutdown ends the streams for a server that stops. It refuses new subscriptions and WebSocket connections,
// waits for the open subscriptions to end — the caller has closed the runtime first (runtime.Runtime.Close),
// whose engine ends each with a SUBSCRIPTION_CLOSED error that the transports pass on before their complete —
// and, when ctx ends first, cancels those left. Then it closes every WebSocket connection with 1001 (going away)
// once its operations are over, and waits for the connections' goroutines. It returns ctx's error when ctx
// ended before the subscriptions did.
func (s *streams) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	var err error
	for {
		s.mu.Lock()
		open, changed := s.open, s.changed
		if open == 0 || err != nil {
			for sub := range s.subs {
				sub.cancel()
			}
		}
		s.mu.Unlock()
		if open == 0 {
			break
		}
		if err != nil {
			// Cancelled: each ends without another handler call; wait for them to release.
			<-changed
			continue
		}
		select {
		case <-changed:
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	s.mu.Lock()
	conns := make([]*wsConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	// At once: each waits for its operations and its client's close frame (coder/websocket gives it 5 s).
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() { c.goAway(websocket.StatusGoingAway, "the server is shutting down") })
	}
	wg.Wait()
	for {
		s.mu.Lock()
		n, changed := len(s.conns), s.changed
		s.mu.Unlock()
		if n == 0 {
			return err
		}
		<-changed
	}
}

func streamError(code, msg string) *gqlerror.Error {
	return &gqlerror.Error{Message: msg, Extensions: map[string]any{"code": code}}
}

// streamsKey carries the server's *streams in the context of a request that may become a stream.
type streamsKey struct{}

func withStreams(ctx context.Context, s *streams) context.Context {
	return context.WithValue(ctx, streamsKey{}, s)
}

// streamsFrom returns the registry the server put in ctx; nil without one.
func streamsFrom(ctx context.Context) *streams {
	s, _ := ctx.Value(streamsKey{}).(*streams)
	return s
}

// mayStream reports whether r may be answered as a stream (a WebSocket upgrade, or a client that accepts SSE or
// multipart/mixed): only those requests get the registry in their context, so that plain requests pay nothing.
func mayStream(r *http.Request) bool {
	if r.Header.Get("Upgrade") != "" {
		return true
	}
	return mayAcceptStream(r.Header.Get("Accept"))
}

// mayAcceptStream reports whether accept may name a stream format (streamFormat): it names text/event-stream or
// multipart/mixed, in any case (media types are case-insensitive: a check that is not would let a subscription
// served over "TEXT/event-stream" go uncounted by server.subscriptions.max and by Shutdown).
func mayAcceptStream(accept string) bool {
	return containsFold(accept, mediaEventStream) || containsFold(accept, "multipart/mixed")
}

// containsFold reports whether s contains substr (ASCII lower case), ignoring ASCII case.
func containsFold(s, substr string) bool {
	for i := 0; i+len(substr) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(substr)], substr) {
			return true
		}
	}
	return false
}

// encodePayload is the JSON of one payload of a stream (STREAMS.md, deferSpec=20220824):
//
//   - a subsequent payload of incremental delivery: {"incremental":[…],"hasNext":…};
//   - any other response: {"data":…,"errors":[…],"extensions":{…},"hasNext":…}, each entry only when set (an
//     initial payload of incremental delivery has hasNext true; a subscription's event has none).
func encodePayload(resp *graphql.Response) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	sep := func() {
		if b.Len() > 1 {
			b.WriteByte(',')
		}
	}
	if entries, ok := graph.Subsequent(resp); ok {
		b.WriteString(`"incremental":`)
		if entries == nil {
			entries = json.RawMessage("[]")
		}
		b.Write(entries)
	} else {
		if resp.Data != nil {
			b.WriteString(`"data":`)
			b.Write(resp.Data)
		}
		if len(resp.Errors) > 0 {
			sep()
			errs, _ := json.Marshal(resp.Errors)
			b.WriteString(`"errors":`)
			b.Write(errs)
		}
	}
	if len(resp.Extensions) > 0 {
		sep()
		ext, _ := json.Marshal(resp.Extensions)
		b.WriteString(`"extensions":`)
		b.Write(ext)
	}
	if resp.HasNext != nil {
		sep()
		if *resp.HasNext {
			b.WriteString(`"hasNext":true`)
		} else {
			b.WriteString(`"hasNext":false`)
		}
	}
	b.WriteByte('}')
	return b.Bytes()
}

// refusedBeforeExecution reports whether resp, the first of an operation, is the engine's refusal before
// execution (its contract: Data nil exactly then).
func refusedBeforeExecution(resp *graphql.Response) bool {
	return resp != nil && resp.Data == nil && len(resp.Errors) > 0
}

// streamWriter writes the parts of an HTTP stream (SSE, multipart/mixed): each part gets server.writeTimeout of
// its own (the edge's writeDeadline gives an answer writeTimeout in all, which a stream that lasts would
// outlive), and is flushed at once. Not safe for concurrent use.
type streamWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	err     error
}

// startStream answers 200 with the head of a stream of contentType, never stored (no-store) and of no known
// length, and returns the writer of its parts, each bounded by cfg.writeTimeout. The head is sent with the first
// write.
func startStream(w http.ResponseWriter, contentType string, cfg streamConfig) *streamWriter {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "no-store")
	h.Del("Content-Length")
	w.WriteHeader(http.StatusOK)
	return &streamWriter{w: w, rc: http.NewResponseController(w), timeout: cfg.writeTimeout}
}

// write writes the parts and flushes them; after a failure (the client left or stopped reading past the write
// timeout) it does nothing and returns that failure.
func (s *streamWriter) write(parts ...[]byte) error {
	if s.err != nil {
		return s.err
	}
	if s.timeout > 0 {
		_ = s.rc.SetWriteDeadline(time.Now().Add(s.timeout))
	}
	for _, p := range parts {
		if _, err := s.w.Write(p); err != nil {
			s.err = err
			return err
		}
	}
	if err := s.rc.Flush(); err != nil {
		s.err = err
	}
	return s.err
}

// streamConfig is what bounds an HTTP stream (SSE, multipart/mixed): the version's server.writeTimeout per part,
// server.subscriptions.keepAlive and max. The zero value bounds nothing.
type streamConfig struct {
	writeTimeout, keepAlive time.Duration
	limits                  subLimits
}

// Stream formats a client accepts (streamFormat).
const (
	formatSSE       = "sse"
	formatMultipart = "multipart"
)

// streamFormat is the stream format the Accept header asks for: formatSSE for text/event-stream, formatMultipart
// for multipart/mixed (the first named wins), "" for neither.
func streamFormat(accept string) string {
	if !mayAcceptStream(accept) {
		return "" // the common case, without parsing
	}
	for part := range strings.SplitSeq(accept, ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch strings.ToLower(mt) {
		case mediaEventStream:
			return formatSSE
		case "multipart/mixed":
			return formatMultipart
		}
	}
	return ""
}
