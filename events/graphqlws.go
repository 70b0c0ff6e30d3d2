package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// The graphql-transport-ws protocol (github.com/enisdenjo/graphql-ws, PROTOCOL.md): the client sends
// connection_init, the server answers connection_ack, the client subscribes with an id, the server sends next
// messages, then complete or error; either side may ping, the other answers pong. Each stream has its own
// connection, so its subscription id is always the same.
const (
	wsSubprotocol = "graphql-transport-ws"
	wsID          = "1"
)

// Close codes the protocol defines that this client sends.
const (
	wsInvalidMessage websocket.StatusCode = 4400
)

type wsMessage struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

var (
	wsPing     = []byte(`{"type":"ping"}`)
	wsPong     = []byte(`{"type":"pong"}`)
	wsComplete = []byte(`{"id":"` + wsID + `","type":"complete"}`)
)

// wsClient makes the connections of one graphql-transport-ws subscription.
type wsClient struct {
	cfg       GraphQLConfig
	init      []byte // the connection_init message
	subscribe []byte // the subscribe message
}

func subscribeWS(ctx context.Context, cfg GraphQLConfig, request []byte) (Stream, error) {
	c := &wsClient{cfg: cfg}
	init := wsMessage{Type: "connection_init"}
	if cfg.InitPayload != nil {
		payload, err := json.Marshal(cfg.InitPayload)
		if err != nil {
			return nil, fmt.Errorf("events: encoding the connection_init payload: %w", err)
		}
		init.Payload = payload
	}
	c.init, _ = json.Marshal(init)
	c.subscribe, _ = json.Marshal(wsMessage{ID: wsID, Type: "subscribe", Payload: request})

	return subscribeGraphQLWith(ctx, cfg, c.dial)
}

// subscribeGraphQLWith makes the first session of a GraphQL subscription with dial, returning its failure as it
// is, then starts the stream that reads it and re-makes it with cfg.Reconnect when it drops.
func subscribeGraphQLWith(ctx context.Context, cfg GraphQLConfig, dial func(context.Context) (session, error)) (Stream, error) {
	ctx, cancel := context.WithCancel(ctx)
	first, err := dial(ctx)
	if err != nil {
		err = firstError(ctx, err) // before cancel, which ends ctx
		cancel()
		return nil, err
	}
	backoff := func() time.Duration { return cfg.Reconnect.Backoff }
	return start(ctx, cancel, func(ctx context.Context, p *pipe) error {
		return reconnecting(ctx, p, first, dial, cfg.Reconnect, backoff, cfg.OnReconnect)
	}), nil
}

// dial connects, waits for connection_ack and subscribes, all within ConnectTimeout.
func (c *wsClient) dial(ctx context.Context) (session, error) {
	hctx, cancel := context.WithTimeout(ctx, c.cfg.ConnectTimeout)
	defer cancel()
	conn, resp, err := websocket.Dial(hctx, c.cfg.URL, &websocket.DialOptions{
		HTTPClient:   c.cfg.Client,
		HTTPHeader:   c.cfg.Header,
		Subprotocols: []string{wsSubprotocol},
	})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			return nil, &Error{Code: CodeHTTPError, Status: resp.StatusCode,
				Err: fmt.Errorf("graphql-transport-ws handshake: upstream answered HTTP %d", resp.StatusCode)}
		}
		return nil, fmt.Errorf("graphql-transport-ws handshake: %w", err)
	}
	if conn.Subprotocol() != wsSubprotocol {
		_ = conn.CloseNow()
		return nil, &Error{Code: CodeBadResponse, Err: errors.New("the upstream does not speak graphql-transport-ws")}
	}
	conn.SetReadLimit(c.cfg.MaxEventBytes)
	if err := c.ack(hctx, conn); err != nil {
		_ = conn.CloseNow()
		if hctx.Err() != nil && ctx.Err() == nil {
			return nil, fmt.Errorf("graphql-transport-ws: no connection_ack within %s", c.cfg.ConnectTimeout)
		}
		return nil, err
	}
	if err := conn.Write(hctx, websocket.MessageText, c.subscribe); err != nil {
		_ = conn.CloseNow()
		return nil, fmt.Errorf("graphql-transport-ws: sending subscribe: %w", err)
	}
	return c.session(conn), nil
}

// ack sends connection_init and waits for connection_ack, answering pings meanwhile.
func (c *wsClient) ack(ctx context.Context, conn *websocket.Conn) error {
	if err := conn.Write(ctx, websocket.MessageText, c.init); err != nil {
		return fmt.Errorf("graphql-transport-ws: sending connection_init: %w", err)
	}
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			return c.readError(err)
		}
		var msg wsMessage
		if err := json.Unmarshal(data, &msg); err != nil {
			return &Error{Code: CodeBadResponse, Err: errors.New("graphql-transport-ws: a message that is not JSON")}
		}
		switch msg.Type {
		case "connection_ack":
			return nil
		case "ping":
			if err := conn.Write(ctx, websocket.MessageText, wsPong); err != nil {
				return fmt.Errorf("graphql-transport-ws: answering a ping: %w", err)
			}
		case "pong":
		default:
			return &Error{Code: CodeBadResponse, Err: fmt.Errorf("graphql-transport-ws: expected connection_ack, got %q", msg.Type)}
		}
	}
}

// readError says why a read failed: an oversized message, a close code that mirrors an HTTP status (44xx, 45xx),
// or a dropped connection.
func (c *wsClient) readError(err error) error {
	if errors.Is(err, websocket.ErrMessageTooBig) {
		return tooBig(c.cfg.MaxEventBytes)
	}
	if code := websocket.CloseStatus(err); code >= 4400 && code < 4600 {
		return &Error{Code: CodeHTTPError, Status: int(code) - 4000, Err: fmt.Errorf("graphql-transport-ws: upstream closed the connection: %w", err)}
	}
	return fmt.Errorf("graphql-transport-ws: %w", err)
}

// session reads the connection until it ends. A second goroutine sends the keep-alive pings and, when ctx ends,
// unsubscribes (complete) and closes the connection with 1000, which is what unblocks the read.
func (c *wsClient) session(conn *websocket.Conn) session {
	return func(ctx context.Context, p *pipe) (got bool, err error) {
		var heard, silent atomic.Bool // heard: a message since the last ping; silent: a ping went unanswered
		var once sync.Once
		unsubscribe := func() { once.Do(func() { c.unsubscribe(conn) }) }
		done := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() { c.watch(ctx, conn, done, &heard, &silent, unsubscribe) })
		closeCode := websocket.StatusNormalClosure
		defer func() {
			close(done)
			wg.Wait()
			if ctx.Err() != nil {
				unsubscribe() // done by watch, unless it saw done first
				return
			}
			_ = conn.Close(closeCode, "")
		}()
		for {
			_, data, err := conn.Read(context.Background())
			if err != nil {
				if silent.Load() {
					return got, fmt.Errorf("graphql-transport-ws: no answer to a ping within %s", c.cfg.KeepAlive)
				}
				return got, c.readError(err)
			}
			heard.Store(true)
			var msg wsMessage
			if err := json.Unmarshal(data, &msg); err != nil || msg.Type == "" {
				closeCode = wsInvalidMessage
				return got, &Error{Code: CodeBadResponse, Err: errors.New("graphql-transport-ws: a message that is not a protocol message")}
			}
			switch msg.Type {
			case "next":
				if msg.ID != wsID {
					continue
				}
				if len(msg.Payload) == 0 || msg.Payload[0] != '{' {
					closeCode = wsInvalidMessage
					return got, &Error{Code: CodeBadResponse, Err: errors.New("graphql-transport-ws: a next message without an execution result")}
				}
				got = true
				if !p.send(ctx, msg.Payload) {
					return got, ctx.Err()
				}
			case "error":
				if msg.ID == wsID {
					return got, graphQLError(msg.Payload)
				}
			case "complete":
				if msg.ID == wsID {
					return got, io.EOF
				}
			case "ping":
				if err := c.write(ctx, conn, wsPong); err != nil {
					return got, fmt.Errorf("graphql-transport-ws: answering a ping: %w", err)
				}
			case "pong", "connection_ack":
			default:
				closeCode = wsInvalidMessage
				return got, &Error{Code: CodeBadResponse, Err: fmt.Errorf("graphql-transport-ws: unknown message type %q", msg.Type)}
			}
		}
	}
}

// watch pings every KeepAlive and drops a connection that stays silent from one ping to the next; when ctx ends
// it unsubscribes, which unblocks the session's read. It returns when done is closed or after closing.
func (c *wsClient) watch(ctx context.Context, conn *websocket.Conn, done <-chan struct{}, heard, silent *atomic.Bool, unsubscribe func()) {
	var tick <-chan time.Time
	if c.cfg.KeepAlive > 0 {
		t := time.NewTicker(c.cfg.KeepAlive)
		defer t.Stop()
		tick = t.C
	}
	pinged := false
	for {
		select {
		case <-done:
			return
		case <-ctx.Done():
			unsubscribe()
			return
		case <-tick:
			if pinged && !heard.Load() {
				silent.Store(true)
				_ = conn.CloseNow()
				return
			}
			heard.Store(false)
			pinged = true
			if err := c.write(ctx, conn, wsPing); err != nil {
				_ = conn.CloseNow()
				return
			}
		}
	}
}

// unsubscribe ends the subscription when the stream is closed: complete, then the close handshake with 1000 (which
// the library bounds to 5s for a silent peer).
func (c *wsClient) unsubscribe(conn *websocket.Conn) {
	// A fresh context: the stream's is done, and the complete must still go out.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	err := conn.Write(ctx, websocket.MessageText, wsComplete)
	cancel()
	if err != nil {
		_ = conn.CloseNow()
		return
	}
	_ = conn.Close(websocket.StatusNormalClosure, "")
}

// write sends msg within ConnectTimeout.
func (c *wsClient) write(ctx context.Context, conn *websocket.Conn, msg []byte) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.ConnectTimeout)
	defer cancel()
	return conn.Write(ctx, websocket.MessageText, msg)
}
