package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/conflux-gql/conflux/schema"
	"github.com/prometheus/client_golang/prometheus"
)

// This file is the HTTP server's edge (issue 13, "Connections"): what stands between the network and the
// handlers. Before it, the server had a ReadHeaderTimeout only: 21,000 slow-body connections exhausted the file
// descriptors and locked every client out, idle keep-alive connections stayed open for ever, and 20 clients that
// never read a 7.5 MB answer pinned 162 MB. An edge bounds each of those:
//
//   - timeouts: reading the request head (server.readHeaderTimeout), the whole request with its body
//     (server.readTimeout), idling between keep-alive requests (server.idleTimeout), and writing the answer once
//     it is ready (server.writeTimeout, see writeDeadline);
//   - open connections, overall (server.maxConnections, never more than the file descriptors allow, see
//     connectionCap) and per client address (server.maxConnectionsPerClient): the listener closes a connection
//     over either cap the moment it accepts it, so refused clients neither queue in the kernel's backlog nor hold
//     a descriptor;
//   - requests being served at once (server.maxInFlight), counted from the moment their body is in: more are
//     answered at once with 503 and Retry-After. Streams that last as long as their client wants (issue 17) are
//     not counted, so that subscribers cannot starve queries: a WebSocket upgrade takes no slot, and a
//     subscription over SSE or multipart/mixed gives its slot back once it streams (releaseInFlight); server.subscriptions.max and
//     the connection caps bound them instead.
//
// The settings are read when the listener opens; a configuration reload does not change them.

// edgeMain and edgeAdmin name the listeners (--addr, --admin-addr) in metrics.
const (
	edgeMain  = "main"
	edgeAdmin = "admin"
)

// Reasons a connection is refused, as conflux_connections_refused_total labels them.
const (
	refusedMaxConnections          = "max_connections"
	refusedMaxConnectionsPerClient = "max_connections_per_client"
)

// fdReserve is how many file descriptors connectionCap keeps out of the client connections' share for
// everything else the process opens: connections to backends (the sources' shared transport alone keeps up to
// 1024 idle ones), the configuration files and their watch, the listeners.
const fdReserve = 1024

// connectionCap is the cap on open client connections of each of listeners listeners: the configured cap
// (0: none) but never more than the open-file limit (nofile, RLIMIT_NOFILE; 0 when unknown) minus a reserve
// (fdReserve, at most half of the limit), shared out among the listeners. Past the descriptor limit accept
// fails with EMFILE, net/http backs off and retries, and the process can open no backend connection either:
// every client is locked out, which is what 21,000 slow connections did (issue 13). Go raises the soft limit to
// the hard limit at start, so nofile is normally the hard limit.
func connectionCap(configured int, nofile uint64, listeners int) int {
	if nofile == 0 || nofile > math.MaxInt32 {
		return configured
	}
	budget := int(nofile - min(fdReserve, nofile/2))
	budget /= max(listeners, 1)
	if configured <= 0 || configured > budget {
		return max(budget, 1)
	}
	return configured
}

// edgeMetrics are the edge's Prometheus series, labelled by listener (edgeMain, edgeAdmin).
type edgeMetrics struct {
	open     *prometheus.GaugeVec
	refused  *prometheus.CounterVec
	inFlight *prometheus.GaugeVec
	shed     *prometheus.CounterVec
}

// newEdgeMetrics registers the edge's series in reg.
func newEdgeMetrics(reg prometheus.Registerer) (*edgeMetrics, error) {
	m := &edgeMetrics{
		open: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "conflux", Name: "connections_open",
			Help: "Open client connections, by listener."}, []string{"listener"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "conflux", Name: "connections_refused_total",
			Help: "Client connections closed on accept because a connection cap was reached, by listener and cap."},
			[]string{"listener", "reason"}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "conflux", Name: "requests_in_flight",
			Help: "Requests being served, by listener (health and metrics requests excluded)."}, []string{"listener"}),
		shed: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "conflux", Name: "requests_shed_total",
			Help: "Requests answered 503 SERVER_BUSY because server.maxInFlight requests were being served, by listener."},
			[]string{"listener"}),
	}
	if err := registerAll(reg, m.open, m.refused, m.inFlight, m.shed); err != nil {
		return nil, err
	}
	return m, nil
}

// edgeConfig is what an edge is built from.
type edgeConfig struct {
	// Name labels the listener in metrics: edgeMain or edgeAdmin.
	Name string
	// Settings gives the timeouts, MaxConnectionsPerClient, MaxInFlight and MaxBodyBytes (how much of a body is
	// read before the request takes an in-flight slot); MaxConnections is ignored.
	Settings schema.Settings
	// MaxConnections is the cap on open connections, normally connectionCap of Settings.MaxConnections.
	MaxConnections int
	// Metrics receives the edge's series; nil for none (they go to a registry of their own).
	Metrics *edgeMetrics
}

// edge applies issue 13's connection limits to one listener and its http.Server: Listener wraps the listener,
// Server builds the server. It is safe for concurrent use; one edge serves one listener.
type edge struct {
	cfg   edgeConfig
	conns connLimiter

	inFlight atomic.Int64
	// bodies is the bytes of request bodies held in memory, by requests being received and being served; see
	// bodyBudget.
	bodies atomic.Int64

	open, inFlightGauge prometheus.Gauge
	refusedAll          prometheus.Counter
	refusedClient       prometheus.Counter
	shed                prometheus.Counter
}

func newEdge(cfg edgeConfig) *edge {
	e := &edge{cfg: cfg, conns: connLimiter{max: cfg.MaxConnections, perClient: cfg.Settings.MaxConnectionsPerClient,
		clients: map[netip.Addr]int{}}}
	m := cfg.Metrics
	if m == nil {
		m, _ = newEdgeMetrics(prometheus.NewRegistry()) // a new registry refuses nothing
	}
	e.open = m.open.WithLabelValues(cfg.Name)
	e.inFlightGauge = m.inFlight.WithLabelValues(cfg.Name)
	e.refusedAll = m.refused.WithLabelValues(cfg.Name, refusedMaxConnections)
	e.refusedClient = m.refused.WithLabelValues(cfg.Name, refusedMaxConnectionsPerClient)
	e.shed = m.shed.WithLabelValues(cfg.Name)
	return e
}

// Listen listens on addr (TCP) and returns the listener, wrapped by Listener, and the server for h, built by
// Server, for the caller to Serve.
func (e *edge) Listen(addr string, h http.Handler) (net.Listener, *http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	return e.Listener(ln), e.Server(h), nil
}

// Listener wraps ln so that connections over the caps are closed as soon as they are accepted. The returned
// listener's Accept returns only admitted connections; closing one frees its slot (once, however often it is
// closed).
func (e *edge) Listener(ln net.Listener) net.Listener {
	return &limitListener{Listener: ln, e: e}
}

// Server returns an http.Server that serves h with the edge's timeouts and in-flight cap. Serve it on a
// listener from Listener.
//
// http.Server.WriteTimeout is not set: net/http starts it when the request head has been read, so it would bound
// the operation's execution too and cut a slow operation that server.operationTimeout allows. writeDeadline
// bounds the writing alone.
func (e *edge) Server(h http.Handler) *http.Server {
	s := e.cfg.Settings
	return &http.Server{
		Handler:           e.handler(h),
		ReadHeaderTimeout: s.ReadHeaderTimeout, // 0: net/http applies ReadTimeout, which covers the head too
		ReadTimeout:       s.ReadTimeout,
		IdleTimeout:       idleOff(s.IdleTimeout),
	}
}

// idleOff maps a zero idle timeout (off in the configuration) to a negative one: net/http reads a zero
// IdleTimeout as "use ReadTimeout", a negative one as none.
func idleOff(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// InFlight is the number of requests being served (health and metrics requests excluded).
func (e *edge) InFlight() int64 { return e.inFlight.Load() }

// OpenConnections is the number of connections admitted and not yet closed.
func (e *edge) OpenConnections() int {
	e.conns.mu.Lock()
	defer e.conns.mu.Unlock()
	return e.conns.open
}

// handler wraps h with the write deadline and the in-flight cap. A request takes its in-flight slot once its body
// is in (receive): a client that sends its body slowly holds a connection, which the connection caps and
// server.readTimeout bound, but never a slot, so that a few slow uploads cannot get every other client's
// requests shed.
func (e *edge) handler(h http.Handler) http.Handler {
	max := int64(e.cfg.Settings.MaxInFlight)
	wt := e.cfg.Settings.WriteTimeout
	maxBody := e.cfg.Settings.MaxBodyBytes
	budget := bodyBudget(e.cfg.Settings.MaxInFlight, maxBody)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if wt > 0 {
			w = &writeDeadline{ResponseWriter: w, timeout: wt}
		}
		if unshed(r.URL.Path) {
			h.ServeHTTP(w, r)
			return
		}
		if r.Method == http.MethodGet && headerHasToken(r.Header, "Upgrade", "websocket") {
			// A WebSocket (issue 17) lives as long as its client wants: holding a slot for its whole life would
			// let a few hundred subscribers shed every query. The connection caps and server.subscriptions bound
			// them instead; the upgrade itself has no body. Each query or mutation it runs takes a slot of its
			// own while it runs (acquireInFlight), as over HTTP: else a client's maxConnectionsPerClient
			// connections × maxPerConnection operations would run outside server.maxInFlight.
			h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), edgeKey{}, e)))
			return
		}
		if max > 0 && e.inFlight.Load() >= max {
			// Full already: shed before reading a body that would be thrown away.
			e.serverBusy(w)
			return
		}
		held, ok := e.receive(r, maxBody, budget)
		defer e.bodies.Add(-held)
		if !ok {
			e.serverBusy(w)
			return
		}
		if !e.takeInFlight() {
			e.serverBusy(w)
			return
		}
		if accept := r.Header.Get("Accept"); containsFold(accept, mediaEventStream) || containsFold(accept, "subscriptionSpec") {
			// Maybe a subscription over SSE or multipart/mixed, which gives its slot back once it streams
			// (releaseInFlight).
			slot := &inFlightSlot{ResponseWriter: w, e: e}
			defer slot.releaseInFlight()
			h.ServeHTTP(slot, r)
			return
		}
		defer e.releaseInFlight()
		h.ServeHTTP(w, r)
	})
}

// edgeKey carries the edge in the context of a WebSocket upgrade (edgeFrom).
type edgeKey struct{}

// edgeFrom returns the edge that serves the WebSocket upgrade of ctx; nil without one.
func edgeFrom(ctx context.Context) *edge {
	e, _ := ctx.Value(edgeKey{}).(*edge)
	return e
}

// acquireInFlight takes an in-flight slot for an operation that is not a request of its own (a query or
// mutation over a WebSocket); false, counted as shed, when server.maxInFlight are in flight. A nil edge has
// slots for all. The caller gives a slot taken back with releaseInFlight.
func (e *edge) acquireInFlight() bool {
	if e == nil {
		return true
	}
	if !e.takeInFlight() {
		e.shed.Inc()
		return false
	}
	return true
}

// takeInFlight takes an in-flight slot; false, having taken none, when server.maxInFlight are in flight.
func (e *edge) takeInFlight() bool {
	if n := e.inFlight.Add(1); e.cfg.Settings.MaxInFlight > 0 && n > int64(e.cfg.Settings.MaxInFlight) {
		e.inFlight.Add(-1)
		return false
	}
	e.inFlightGauge.Inc()
	return true
}

// releaseInFlight gives back a slot of takeInFlight (or acquireInFlight).
func (e *edge) releaseInFlight() {
	if e != nil {
		e.inFlight.Add(-1)
		e.inFlightGauge.Dec()
	}
}

// inFlightSlot is the writer of a request holding an in-flight slot that it may give back before it ends.
type inFlightSlot struct {
	http.ResponseWriter
	e    *edge
	once sync.Once
}

// releaseInFlight gives the slot back (once).
func (s *inFlightSlot) releaseInFlight() {
	s.once.Do(s.e.releaseInFlight)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (s *inFlightSlot) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Flush implements http.Flusher.
func (s *inFlightSlot) Flush() { _ = http.NewResponseController(s.ResponseWriter).Flush() }

// releaseInFlight gives back the in-flight slot of the request w answers, when it holds one it may give back:
// a subscription over SSE or multipart/mixed (issue 17) lasts as long as its client wants, so it is bounded by
// server.subscriptions.max rather than server.maxInFlight, which it would otherwise starve queries of.
func releaseInFlight(w http.ResponseWriter) {
	for {
		switch t := w.(type) {
		case interface{ releaseInFlight() }:
			t.releaseInFlight()
			return
		case interface{ Unwrap() http.ResponseWriter }:
			w = t.Unwrap()
		default:
			return
		}
	}
}

// receive reads r's body into memory (a receivedBody) before the request takes an in-flight slot. It reads no
// more than limit+1 bytes, and nothing of a body whose Content-Length is over limit, so that limitBody still
// refuses a body over server.maxBodyBytes at once (413); the body it hands on yields the bytes read and then
// the rest, or the read error, as the original would have. The limit is the one the listener opened with: after
// a reload that raises server.maxBodyBytes, the part of a body past the old limit is read with the slot held.
// What it reads counts against budget (bodyBudget): it returns the bytes it holds, which the caller gives back
// when the request is done, and ok false when the budget ran out, for the caller to shed the request.
func (e *edge) receive(r *http.Request, limit, budget int64) (held int64, ok bool) {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength > limit {
		return 0, true
	}
	body := &budgeted{r: r.Body, held: &e.bodies, budget: budget}
	data, err := io.ReadAll(io.LimitReader(body, limit+1))
	switch {
	case errors.Is(err, errBodyBudget):
		return body.n, false
	case err != nil:
		r.Body = readCloser{io.MultiReader(bytes.NewReader(data), errReader{err}), r.Body}
	case int64(len(data)) > limit:
		r.Body = readCloser{io.MultiReader(bytes.NewReader(data), r.Body), r.Body}
	default:
		r.Body = receivedBody{bytes.NewReader(data)}
	}
	return body.n, true
}

// bodyBudget is how many bytes of request bodies may be held in memory at once: as many as maxInFlight requests
// of maxBodyBytes, the bound there was when bodies were read inside an in-flight slot. Receiving bodies before
// taking a slot (so that slow uploads hold no slot) must not raise it to maxConnections × maxBodyBytes: a body
// that would pass it is shed with 503 like a request over maxInFlight. 0 means no budget.
func bodyBudget(maxInFlight int, maxBodyBytes int64) int64 {
	if maxInFlight <= 0 || maxBodyBytes <= 0 {
		return 0
	}
	return int64(maxInFlight) * maxBodyBytes
}

// errBodyBudget ends the reading of a body that would take the bodies held past bodyBudget.
var errBodyBudget = errors.New("request bodies in memory are over their budget")

// budgeted counts the bytes read from r into held, failing a read that takes held past budget (0: none); n is
// what this body added, which its request gives back when it is done.
type budgeted struct {
	r      io.Reader
	held   *atomic.Int64
	budget int64
	n      int64
}

func (b *budgeted) Read(p []byte) (int, error) {
	k, err := b.r.Read(p)
	if k > 0 {
		b.n += int64(k)
		if total := b.held.Add(int64(k)); b.budget > 0 && total > b.budget {
			return k, errBodyBudget
		}
	}
	return k, err
}

// receivedBody is a request body read in full into memory; limitBody takes it as it is.
type receivedBody struct{ *bytes.Reader }

func (receivedBody) Close() error { return nil }

type readCloser struct {
	io.Reader
	io.Closer
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// unshed reports whether a path is served whatever the load: a load balancer or orchestrator that reads a busy
// server as dead (failed /healthz) would restart it, and /metrics is how the operator sees the load.
func unshed(path string) bool {
	return path == "/healthz" || path == "/readyz" || path == "/metrics"
}

// busyBody is the answer to a request shed by server.maxInFlight.
const busyBody = `{"errors":[{"message":"the server is busy: too many requests in flight; retry later","extensions":{"code":"SERVER_BUSY"}}]}` + "\n"

// serverBusy answers a request shed by server.maxInFlight, and counts it: 503 Service Unavailable (what GraphQL
// over HTTP allows for a request the server cannot take now) with Retry-After.
func (e *edge) serverBusy(w http.ResponseWriter) {
	e.shed.Inc()
	h := w.Header()
	h.Set("Content-Type", mediaJSON)
	h.Set("Retry-After", "1")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = io.WriteString(w, busyBody)
}

// writeDeadline gives the writing of an answer server.writeTimeout from the moment the handler starts it (its
// first WriteHeader, Write or Flush): past it the connection's writes fail, the handler returns, the connection is
// closed and the answer's memory is freed. So a client that never reads its answer holds it for writeTimeout at
// most (issue 13: 20 such clients pinned 162 MB).
//
// The clock starts at the first write rather than when the request arrives (as http.Server.WriteTimeout does)
// because execution is bounded on its own, by server.operationTimeout: Conflux writes an answer once its
// execution is over (postTransport writes it in one piece), so the first write is the moment the answer is
// ready, and writeTimeout means what the configuration says — how long writing the answer may take. A stream
// (SSE, multipart/mixed: issue 17) extends the deadline before each part it writes (streamWriter), so that
// writeTimeout bounds each part rather than the stream's whole life; a WebSocket's hijacked connection has its
// deadlines cleared by net/http, and each of its messages is written within writeTimeout (transport_ws.go).
//
// It sets the deadline on the connection (http.ResponseController.SetWriteDeadline), so it covers the bytes
// net/http still buffers when the handler returns; net/http clears it after each request.
type writeDeadline struct {
	http.ResponseWriter
	timeout time.Duration
	armed   bool
}

func (w *writeDeadline) arm() {
	if w.armed {
		return
	}
	w.armed = true
	deadline := time.Now().Add(w.timeout)
	if d, ok := w.ResponseWriter.(interface{ SetWriteDeadline(time.Time) error }); ok {
		_ = d.SetWriteDeadline(deadline) // net/http's own writer: no ResponseController to allocate
		return
	}
	_ = http.NewResponseController(w.ResponseWriter).SetWriteDeadline(deadline)
}

func (w *writeDeadline) WriteHeader(status int) {
	w.arm()
	w.ResponseWriter.WriteHeader(status)
}

func (w *writeDeadline) Write(p []byte) (int, error) {
	w.arm()
	return w.ResponseWriter.Write(p)
}

// Flush implements http.Flusher.
func (w *writeDeadline) Flush() {
	w.arm()
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *writeDeadline) Unwrap() http.ResponseWriter { return w.ResponseWriter }

var _ http.Flusher = (*writeDeadline)(nil)

// connLimiter counts open connections, overall and per client. Its zero caps are off.
type connLimiter struct {
	max, perClient int

	mu      sync.Mutex
	open    int
	clients map[netip.Addr]int // only clients with open connections
}

// acquire takes a slot for a connection of client (the zero Addr: not counted per client), or says which cap
// refuses it.
func (l *connLimiter) acquire(client netip.Addr) (refused string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.max > 0 && l.open >= l.max {
		return refusedMaxConnections
	}
	if client.IsValid() {
		if l.perClient > 0 && l.clients[client] >= l.perClient {
			return refusedMaxConnectionsPerClient
		}
		l.clients[client]++
	}
	l.open++
	return ""
}

func (l *connLimiter) release(client netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if client.IsValid() {
		if l.clients[client] <= 1 {
			delete(l.clients, client)
		} else {
			l.clients[client]--
		}
	}
}

// clientOf is the address a connection counts against for server.maxConnectionsPerClient: the peer's IPv4
// address, or the /64 network of its IPv6 address (one host is routinely given a whole /64, so counting single
// IPv6 addresses would cap nothing). The zero Addr (not counted per client) for a peer that is not TCP.
func clientOf(a net.Addr) netip.Addr {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return netip.Addr{}
	}
	ip := ta.AddrPort().Addr().Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.Addr()
	}
	return ip
}

// remoteClient is clientOf for an http.Request's RemoteAddr ("ip:port"); the zero Addr when it is not one.
func remoteClient(remoteAddr string) netip.Addr {
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return clientOf(net.TCPAddrFromAddrPort(ap))
}

// limitListener is a net.Listener whose Accept closes connections over the edge's caps at once.
type limitListener struct {
	net.Listener
	e *edge
}

// Accept waits for and returns the next connection within the caps. A connection over a cap is reset (closed
// with linger 0, so it leaves no state behind) and counted, and Accept goes on waiting: an error would make
// http.Server back off, which slows every client down.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		client := clientOf(c.RemoteAddr())
		switch l.e.conns.acquire(client) {
		case "":
			l.e.open.Inc()
			return &limitConn{Conn: c, e: l.e, client: client}, nil
		case refusedMaxConnections:
			l.e.refusedAll.Inc()
		case refusedMaxConnectionsPerClient:
			l.e.refusedClient.Inc()
		}
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		_ = c.Close()
	}
}

// limitConn is an admitted connection; its first Close frees its slot.
type limitConn struct {
	net.Conn
	e      *edge
	client netip.Addr
	once   sync.Once
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.e.conns.release(c.client)
		c.e.open.Dec()
	})
	return err
}

// CloseWrite half-closes the connection, as net/http does (through this interface) to let a client read the
// answer before the connection is reset.
func (c *limitConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
