package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/coder/websocket"
	"github.com/conflux-gql/conflux/graph"
	"github.com/conflux-gql/conflux/resolvers"
	"github.com/conflux-gql/conflux/schema"
	"github.com/golang-jwt/jwt/v5"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// subprotocolWS is the WebSocket subprotocol of graphql-ws's GraphQL over WebSocket Protocol
// (https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md), the only one served.
const subprotocolWS = "graphql-transport-ws"

// Close codes of graphql-transport-ws.
const (
	closeBadRequest          websocket.StatusCode = 4400 // invalid message received
	closeUnauthorized        websocket.StatusCode = 4401 // subscribe before connection_ack
	closeForbidden           websocket.StatusCode = 4403 // connection_init's token refused
	closeBadSubprotocol      websocket.StatusCode = 4406 // subprotocol not acceptable
	closeInitTimeout         websocket.StatusCode = 4408 // no connection_init within server.subscriptions.initTimeout
	closeDuplicateID         websocket.StatusCode = 4409 // subscriber for <id> already exists
	closeTooManyInitRequests websocket.StatusCode = 4429 // a second connection_init
)

// wsTransport serves GraphQL over WebSocket, graphql-transport-ws, on GET /graphql upgrades (issue 17). Each
// connection is a wsConn: one goroutine reads, one per operation executes, and writes are serialized, each
// bounded by server.writeTimeout (a client that stops reading is disconnected, it does not pile messages up).
//
// Origins: a browser's WebSocket is not subject to CORS, so the handshake checks its Origin here. With
// server.cors on, its origins are the ones allowed (a "*" origin allows any); off, only the server's own origin
// (the Origin host is the request's Host) — what a page served by Conflux itself, the playground, uses. Clients
// that send no Origin (not browsers) are always allowed. A browser sends the user's cookies with the handshake
// whatever page opens it, and CORS does not apply: unless server.cors.credentials is on, the operations of a
// connection opened from another origin do not get the Cookie header, as a page of that origin could not read an
// HTTP answer made with the cookies either.
type wsTransport struct {
	sg *schema.Supergraph // the version served
}

var _ graphql.Transport = wsTransport{}

// Supports implements graphql.Transport.
func (wsTransport) Supports(r *http.Request) bool {
	return r.Method == http.MethodGet && headerHasToken(r.Header, "Upgrade", "websocket")
}

// headerHasToken reports whether the comma-separated header name has token (case-insensitively).
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// Do implements graphql.Transport.
func (t wsTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	opts := &websocket.AcceptOptions{Subprotocols: []string{subprotocolWS}}
	settings := t.sg.Settings
	if cors := settings.CORS; cors.Enabled() {
		for _, o := range cors.Origins {
			if o == "*" {
				opts.InsecureSkipVerify = true
				break
			}
			opts.OriginPatterns = append(opts.OriginPatterns, o)
		}
	}
	c, err := websocket.Accept(w, r, opts)
	if err != nil {
		return // Accept answered the handshake's failure
	}
	header := r.Header.Clone()
	if !settings.CORS.Credentials && crossOrigin(r) {
		// The browser sent the user's cookies with another site's page's WebSocket: CORS would not let that page
		// read an HTTP answer made with them (server.cors.credentials is off), so its operations do not get them.
		delete(header, "Cookie")
	}
	sub := settings.Subscriptions
	ctx, cancel := context.WithCancel(r.Context())
	// The access log line is the connection's (its record is not for concurrent operations to fill in).
	ctx = context.WithValue(ctx, accessKey{}, (*accessRecord)(nil))
	conn := &wsConn{c: c, exec: exec, sg: t.sg, reg: streamsFrom(r.Context()), edge: edgeFrom(r.Context()), sub: sub, writeTimeout: settings.WriteTimeout,
		client:     remoteClient(r.RemoteAddr),
		maxMessage: settings.MaxBodyBytes,
		ctx:        ctx, cancel: cancel, opBase: ctx, header: header, verifier: upgradeVerifier(r.Context()),
		ops: map[string]*wsOp{}, opsChanged: make(chan struct{})}
	conn.serve()
}

// crossOrigin reports whether r, a WebSocket handshake, comes from a page of another origin than the server's
// (its Origin's host is not the request's Host); false without an Origin (not a browser).
func crossOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	u, err := url.Parse(origin)
	return err != nil || !strings.EqualFold(u.Host, r.Host)
}

// wsConn is one graphql-transport-ws connection. Its read loop (serve) handles the client's messages in order;
// each subscribe runs in a goroutine of its own (wsOp) until its handler ends or the client completes it.
type wsConn struct {
	c            *websocket.Conn
	exec         graphql.GraphExecutor // the version's, for every operation of the connection
	sg           *schema.Supergraph    // that version
	reg          *streams              // nil: no registry (no total limit)
	edge         *edge                 // its queries and mutations take in-flight slots of it; nil: none
	sub          schema.Subscriptions
	writeTimeout time.Duration
	maxMessage   int64 // server.maxBodyBytes

	ctx    context.Context // the connection's life: cancelled when it ends
	cancel context.CancelFunc

	writeMu sync.Mutex

	// header is the upgrade's headers, then connection_init's string entries; read loop only, read-only after
	// the ack (the operations share it).
	header http.Header
	// client is the connection's client address (remoteClient), for server.subscriptions.maxPerClient.
	client netip.Addr
	// verifier: auth on and no token on the upgrade: connection_init's token is checked with it.
	verifier *verifier

	mu       sync.Mutex
	initSeen bool
	acked    bool
	opBase   context.Context  // the operations' parent: ctx, with the claims of connection_init's token; read loop only
	ops      map[string]*wsOp // by id, until the operation's last message or the client's complete
	running  int              // operations whose goroutine has not ended
	// counted is the operations counted against maxPerConnection: from their subscribe until their last message
	// (error or complete) is written, or, completed by the client, until their goroutine ends.
	counted int
	// opsChanged is closed and replaced when an operation ends.
	opsChanged chan struct{}
	wg         sync.WaitGroup // the operations' and the keep-alive's goroutines

	closeOnce  sync.Once
	retireOnce sync.Once
}

// wsOp is one operation in progress; cancel ends it.
type wsOp struct {
	cancel  context.CancelFunc
	counted bool // in wsConn.counted; under wsConn.mu
}

// uncountLocked takes op out of c.counted, once; c.mu is held.
func (c *wsConn) uncountLocked(op *wsOp) {
	if op.counted {
		op.counted = false
		c.counted--
	}
}

// wsMessage is a graphql-transport-ws message.
type wsMessage struct {
	Type    string          `json:"type"`
	ID      string          `json:"id,omitempty"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// Message types of graphql-transport-ws.
const (
	wsConnectionInit = "connection_init"
	wsConnectionAck  = "connection_ack"
	wsPing           = "ping"
	wsPong           = "pong"
	wsSubscribe      = "subscribe"
	wsNext           = "next"
	wsError          = "error"
	wsComplete       = "complete"
)

// maxWSID bounds an operation id (graphql-ws's are UUIDs): every message of the operation repeats it, and the
// connection holds it while the operation runs.
const maxWSID = 256

// errWSMessage is a message the protocol does not allow; the connection is closed with 4400.
var errWSMessage = errors.New("invalid message")

// decodeWSMessage decodes and checks one message from a client: a JSON object with a type the client may send,
// an id where the type needs one, and a payload that is an object where there is one (subscribe's, required;
// connection_init's and ping's and pong's, optional, null allowed).
func decodeWSMessage(data []byte) (wsMessage, error) {
	var m struct {
		Type    *string         `json:"type"`
		ID      *string         `json:"id"`
		Payload json.RawMessage `json:"payload"`
	}
	if msg := decodeJSON(data, &m); msg != "" {
		return wsMessage{}, fmt.Errorf("%w: %s", errWSMessage, msg)
	}
	if m.Type == nil {
		return wsMessage{}, fmt.Errorf("%w: no type", errWSMessage)
	}
	out := wsMessage{Type: *m.Type, Payload: m.Payload}
	if string(out.Payload) == "null" {
		out.Payload = nil
	}
	switch out.Type {
	case wsConnectionInit, wsPing, wsPong:
		if out.Payload != nil && out.Payload[0] != '{' {
			return wsMessage{}, fmt.Errorf("%w: %s payload must be an object", errWSMessage, out.Type)
		}
	case wsSubscribe, wsComplete:
		if m.ID == nil || *m.ID == "" {
			return wsMessage{}, fmt.Errorf("%w: %s has no id", errWSMessage, out.Type)
		}
		if len(*m.ID) > maxWSID {
			return wsMessage{}, fmt.Errorf("%w: %s id longer than %d bytes", errWSMessage, out.Type, maxWSID)
		}
		out.ID = *m.ID
		if out.Type == wsSubscribe && (out.Payload == nil || out.Payload[0] != '{') {
			return wsMessage{}, fmt.Errorf("%w: subscribe payload must be an object", errWSMessage)
		}
	default:
		return wsMessage{}, fmt.Errorf("%w: type %q", errWSMessage, truncate(out.Type, 32))
	}
	return out, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// serve runs the connection until the client or the server closes it, then ends its operations and waits for
// them.
func (c *wsConn) serve() {
	defer func() {
		c.cancel()
		c.wg.Wait()
		_ = c.c.CloseNow()
	}()
	if c.c.Subprotocol() != subprotocolWS {
		c.close(closeBadSubprotocol, "Subprotocol not acceptable")
		return
	}
	if !c.reg.addConn(c) {
		c.close(websocket.StatusGoingAway, "the server is shutting down")
		return
	}
	defer c.reg.removeConn(c)
	if c.maxMessage > 0 {
		c.c.SetReadLimit(c.maxMessage) // a larger message closes the connection (1009, message too big)
	} else {
		c.c.SetReadLimit(-1)
	}
	if d := c.sub.InitTimeout; d > 0 {
		t := time.AfterFunc(d, func() {
			c.mu.Lock()
			acked := c.acked
			c.mu.Unlock()
			if !acked {
				c.close(closeInitTimeout, "Connection initialisation timeout")
			}
		})
		defer t.Stop()
	}
	if d := c.sub.KeepAlive; d > 0 {
		c.wg.Add(1)
		go c.keepAlive(d)
	}
	for {
		typ, data, err := c.c.Read(c.ctx)
		if err != nil {
			return // closed by the client, by the server (close), or the read limit (1009)
		}
		if typ != websocket.MessageText {
			c.close(closeBadRequest, "Invalid message received")
			return
		}
		msg, err := decodeWSMessage(data)
		if err != nil {
			c.close(closeBadRequest, "Invalid message received")
			return
		}
		if !c.handle(msg) {
			return
		}
	}
}

// handle acts on one message from the client; false when the connection was closed.
func (c *wsConn) handle(msg wsMessage) bool {
	switch msg.Type {
	case wsConnectionInit:
		return c.connectionInit(msg.Payload)
	case wsPing:
		return c.send(wsMessage{Type: wsPong}) == nil
	case wsPong:
		return true
	case wsComplete:
		c.mu.Lock()
		op := c.ops[msg.ID]
		delete(c.ops, msg.ID) // the id may be reused at once; the operation sends nothing more
		c.mu.Unlock()
		if op != nil {
			op.cancel()
		}
		return true
	}
	// wsSubscribe
	c.mu.Lock()
	acked := c.acked
	_, dup := c.ops[msg.ID]
	// Operations the client completed count until their goroutine ends: it may not end at once (a query's parse,
	// validation or planning does not stop at cancellation), and a client churning subscribe and complete must
	// not start goroutines without bound.
	n := c.counted
	c.mu.Unlock()
	switch {
	case !acked:
		c.close(closeUnauthorized, "Unauthorized")
		return false
	case dup:
		c.close(closeDuplicateID, "Subscriber for "+truncate(msg.ID, 64)+" already exists")
		return false
	}
	if c.tokenExpired() {
		// Over HTTP, a request with this token would be refused now: so is a new operation on the connection.
		c.close(closeForbidden, "Forbidden: the token has expired")
		return false
	}
	if c.stale() {
		// The configuration changed: this connection's operations would run on the old version, whose
		// subscriptions are closed. The client resends the subscribe on the connection it makes again.
		c.retire()
		return true
	}
	var params graphql.RawParams
	if m := decodeJSON(msg.Payload, &params); m != "" {
		c.close(closeBadRequest, "Invalid message received")
		return false
	}
	if max := c.sub.MaxPerConnection; max > 0 && n >= max {
		c.reg.refused(transportWS, refusedMaxPerConnection)
		return c.sendErrors(msg.ID, gqlerror.List{streamError(codeSubscriptionLimit,
			"too many operations in progress on this connection (server.subscriptions.maxPerConnection)")}) == nil
	}
	params.ReadTime = graphql.TraceTiming{Start: graphql.Now(), End: graphql.Now()}
	// Shared, read-only, as an HTTP request's operation gets r.Header: a copy per operation would let a client
	// with a large upgrade or connection_init hold maxPerConnection copies of it.
	params.Headers = c.header
	ctx, cancel := context.WithCancel(c.opBase)
	op := &wsOp{cancel: cancel, counted: true}
	c.mu.Lock()
	c.ops[msg.ID] = op
	c.running++
	c.counted++
	c.mu.Unlock()
	c.wg.Add(1)
	go c.operate(ctx, op, msg.ID, &params)
	return true
}

// connectionInit acknowledges the connection: connection_init's string entries join the headers of its
// operations (the upgrade's own headers win; never those of initHeaderAllowed's list), and with server.auth.jwt on and no token on the upgrade, its
// Authorization (or authorization) entry is checked as the header would be: a bad token, or none when one is
// required, closes the connection with 4403.
func (c *wsConn) connectionInit(payload json.RawMessage) bool {
	c.mu.Lock()
	seen := c.initSeen
	c.initSeen = true
	c.mu.Unlock()
	if seen {
		c.close(closeTooManyInitRequests, "Too many initialisation requests")
		return false
	}
	var entries map[string]any
	if payload != nil {
		if m := decodeJSON(payload, &entries); m != "" {
			c.close(closeBadRequest, "Invalid message received")
			return false
		}
	}
	header := c.header
	for k, v := range entries {
		s, ok := v.(string)
		if !ok || !validHeaderName(k) {
			continue // never ":conflux-jwt-claims" (resolvers.ClaimsHeader): it is not a header name
		}
		if key := http.CanonicalHeaderKey(k); len(header.Values(key)) == 0 && initHeaderAllowed(key) {
			header[key] = []string{s}
		}
	}
	if v := c.verifier; v != nil {
		token, present := bearer(header)
		if !present && v.cfg.Required {
			c.close(closeForbidden, "Forbidden: this API requires a bearer token")
			return false
		}
		if present {
			claims, raw, err := v.verify(c.ctx, token)
			if err != nil {
				c.close(closeForbidden, "Forbidden: invalid token")
				return false
			}
			c.opBase = resolvers.WithClaims(c.opBase, header, claims, raw)
		}
	}
	c.mu.Lock()
	c.acked = true
	c.mu.Unlock()
	return c.send(wsMessage{Type: wsConnectionAck}) == nil
}

// initHeaderForbidden are the headers connection_init never sets (initHeaderAllowed).
var initHeaderForbidden = map[string]bool{}

func init() {
	for _, h := range []string{
		// The Fetch standard's forbidden request headers.
		"Accept-Charset", "Accept-Encoding", "Access-Control-Request-Headers", "Access-Control-Request-Method",
		"Connection", "Content-Length", "Cookie", "Cookie2", "Date", "Dnt", "Expect", "Host", "Keep-Alive", "Origin",
		"Referer", "Set-Cookie", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "Via",
		"X-Http-Method", "X-Http-Method-Override", "X-Method-Override",
		// What proxies in front of Conflux set (and strip from what clients send).
		"Forwarded", "X-Real-Ip", "True-Client-Ip", "Cf-Connecting-Ip", "Fastly-Client-Ip", "X-Client-Ip",
	} {
		initHeaderForbidden[h] = true
	}
}

// initHeaderAllowed reports whether connection_init may set the header key (canonical): not a header a
// browser's script may not set on a request (the Fetch standard's forbidden request headers: a page's script
// sends connection_init, so it must not pose as what only the browser sends, such as Cookie or Origin), nor one
// that a proxy in front of Conflux sets and strips from what clients send (X-Forwarded-*, Forwarded, X-Real-Ip,
// …): the proxy never sees connection_init, so it could not strip it there.
func initHeaderAllowed(key string) bool {
	if initHeaderForbidden[key] {
		return false
	}
	for _, p := range []string{"Proxy-", "Sec-", "X-Forwarded-"} {
		if strings.HasPrefix(key, p) {
			return false
		}
	}
	return true
}

// validHeaderName reports whether s is an HTTP field name (an RFC 9110 token).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch >= 'a' && ch <= 'z', ch >= 'A' && ch <= 'Z', ch >= '0' && ch <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", ch) >= 0:
		default:
			return false
		}
	}
	return true
}

// operate runs one operation: a subscription sends a next per event, a query or mutation its payload(s) (one,
// or an initial and subsequent ones with @defer/@stream), then complete. A request error (parse, validation, a
// refusal before execution, a limit) is one error message instead. After the client's complete it sends
// nothing more.
func (c *wsConn) operate(ctx context.Context, op *wsOp, id string, params *graphql.RawParams) {
	defer c.wg.Done()
	defer func() {
		op.cancel()
		c.mu.Lock()
		if c.ops[id] == op {
			delete(c.ops, id)
		}
		c.running--
		c.uncountLocked(op)
		close(c.opsChanged)
		c.opsChanged = make(chan struct{})
		c.mu.Unlock()
	}()
	// current reports whether the operation is still the id's (the client has not completed it).
	current := func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.ops[id] == op
	}
	// last frees the id, and the operation's place in maxPerConnection, when its last message (error or
	// complete) is about to be written (sendIf), after which the client may use them again; false when the client
	// completed the operation (nothing more is sent).
	last := func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.ops[id] != op {
			return false
		}
		delete(c.ops, id)
		c.uncountLocked(op)
		return true
	}
	sendErrors := func(errs gqlerror.List) {
		payload, _ := json.Marshal(errs)
		_, _ = c.sendIf(wsMessage{Type: wsError, ID: id, Payload: payload}, last)
	}
	rc, errs := c.exec.CreateOperationContext(ctx, params)
	if errs != nil {
		refineCodes(errs)
		resp := c.exec.DispatchError(graphql.WithOperationContext(ctx, rc), errs)
		sendErrors(resp.Errors)
		return
	}
	if rc.Operation.Operation == ast.Subscription {
		release, refusal := c.reg.admit(transportWS, subLimits{max: c.sub.Max, perClient: c.sub.MaxPerClient}, c.client, op.cancel)
		if refusal != nil {
			sendErrors(gqlerror.List{refusal})
			return
		}
		defer release()
	} else {
		// A query or mutation holds a server.maxInFlight slot while it runs, as over HTTP.
		if !c.edge.acquireInFlight() {
			sendErrors(gqlerror.List{streamError("SERVER_BUSY", "the server is busy: too many requests in flight; retry later")})
			return
		}
		defer c.edge.releaseInFlight()
	}
	responses, ctx := c.exec.DispatchOperation(graph.WithIncremental(ctx), rc)
	for first := true; ; first = false {
		resp := responses(ctx)
		if resp == nil {
			break
		}
		if !current() {
			return
		}
		if first && refusedBeforeExecution(resp) {
			sendErrors(resp.Errors)
			return
		}
		// current again once the write is ours: the client's complete may come while the operation waits for
		// another's write, and then the id may be the client's next operation's.
		if sent, err := c.sendIf(wsMessage{Type: wsNext, ID: id, Payload: encodePayload(resp)}, current); err != nil || !sent {
			return
		}
		c.reg.sent(transportWS)
	}
	_, _ = c.sendIf(wsMessage{Type: wsComplete, ID: id}, last)
	if c.stale() {
		c.retire() // the engine closed the subscription for a reload (SUBSCRIPTION_CLOSED)
	}
}

// tokenExpired reports whether the token the connection was authenticated with (on the upgrade or in
// connection_init) has expired, past server.auth.jwt.clockSkew.
func (c *wsConn) tokenExpired() bool {
	claims := resolvers.ClaimsFrom(c.opBase)
	if claims == nil {
		return false
	}
	exp, err := jwt.MapClaims(claims).GetExpirationTime()
	if err != nil || exp == nil {
		return false
	}
	return time.Now().After(exp.Add(c.sg.Settings.Auth.JWT.ClockSkew))
}

// stale reports whether the version the connection runs on is no longer the one served (a reload).
func (c *wsConn) stale() bool {
	return c.reg != nil && c.reg.current != nil && c.reg.current() != c.sg
}

// retire closes, once, a connection whose version was replaced: 1012 (service restart) once its operations are
// over, so that the client connects again, to the version served, and subscribes again.
func (c *wsConn) retire() {
	c.retireOnce.Do(func() {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.goAway(websocket.StatusServiceRestart, "the configuration changed: connect again")
		}()
	})
}

// sendErrors sends an error message: the operation's GraphQL errors.
func (c *wsConn) sendErrors(id string, errs gqlerror.List) error {
	payload, _ := json.Marshal(errs)
	return c.send(wsMessage{Type: wsError, ID: id, Payload: payload})
}

// send writes one message, within server.writeTimeout; a client that does not take it in time is disconnected
// (the failed write closes the connection). Safe for concurrent use: writes are serialized.
func (c *wsConn) send(m wsMessage) error {
	_, err := c.sendIf(m, nil)
	return err
}

// sendIf is send when ok (nil: always) reports true once the write is this message's turn; sent is false when it
// did not.
func (c *wsConn) sendIf(m wsMessage, ok func() bool) (sent bool, err error) {
	data, err := json.Marshal(m)
	if err != nil {
		return false, err
	}
	// Not the operation's context: an operation completed in the middle of a write must not cut the connection.
	ctx, cancel := c.writeContext()
	defer cancel()
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if ok != nil && !ok() {
		return false, nil
	}
	return true, c.c.Write(ctx, websocket.MessageText, data)
}

func (c *wsConn) writeContext() (context.Context, context.CancelFunc) {
	if c.writeTimeout > 0 {
		return context.WithTimeout(context.Background(), c.writeTimeout)
	}
	return context.WithCancel(context.Background())
}

// keepAlive pings the client every interval; a client that does not answer within the interval (or the write
// timeout when that is longer) is disconnected. A connection whose configuration version was replaced is retired
// then too, even when it has nothing running: an idle connection would otherwise hold its old version (the
// engine, the schema) for as long as its client keeps it open.
func (c *wsConn) keepAlive(interval time.Duration) {
	defer c.wg.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		}
		if c.stale() {
			c.retire()
		}
		ctx, cancel := context.WithTimeout(c.ctx, max(interval, c.writeTimeout))
		err := c.c.Ping(ctx)
		cancel()
		if err != nil {
			if c.ctx.Err() == nil {
				_ = c.c.CloseNow()
			}
			return
		}
	}
}

// close closes the connection with code and reason (once) and ends its operations.
func (c *wsConn) close(code websocket.StatusCode, reason string) {
	c.closeOnce.Do(func() {
		// Close before cancelling: the read loop's Read, cut by its context, would drop the connection without
		// the close frame.
		_ = c.c.Close(code, reason)
		c.cancel()
	})
}

// goAway closes the connection with code (for a server that shuts down: 1001, going away) once its operations
// are over
// (streams.Shutdown has ended the subscriptions: they sent their last messages and complete; queries still
// running finish, bounded by server.operationTimeout).
func (c *wsConn) goAway(code websocket.StatusCode, reason string) {
	for {
		c.mu.Lock()
		n, changed := c.running, c.opsChanged
		c.mu.Unlock()
		if n == 0 {
			break
		}
		select {
		case <-changed:
		case <-c.ctx.Done():
		}
		if c.ctx.Err() != nil {
			break
		}
	}
	c.close(code, reason)
}
