package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// GraphQLConfig is how a subscription reaches an upstream GraphQL server.
type GraphQLConfig struct {
	// Protocol is "ws" (graphql-transport-ws; also "") or "sse" (graphql-sse, distinct connections mode).
	Protocol string
	// URL is the endpoint: ws://, wss://, http:// or https:// for ws; http:// or https:// for sse.
	URL string
	// Header is sent on the upgrade (ws) or the POST (sse).
	Header http.Header
	// InitPayload is the connection_init payload (ws); nil sends none.
	InitPayload map[string]any
	// Client makes the ws handshake and the sse request; nil = http.DefaultClient. Its Timeout never cuts the
	// stream: when shorter than ConnectTimeout, it bounds the connection instead.
	Client    *http.Client
	Reconnect Reconnect
	// MaxEventBytes bounds one upstream message (a ws message, an sse event); a larger one fails the stream with
	// BAD_UPSTREAM_RESPONSE. 0 is DefaultMaxEventBytes.
	MaxEventBytes int64
	// KeepAlive is the ws ping interval (0 = none). A ping that gets no message back before the next one drops the
	// connection (which is then re-made).
	KeepAlive time.Duration
	// ConnectTimeout bounds making a connection: the handshake and the wait for connection_ack (ws), or the wait
	// for the response headers (sse). 0 is 10s.
	ConnectTimeout time.Duration
	// OnReconnect, when set, is called before each attempt to re-make a dropped connection (for a metric).
	OnReconnect func()
}

// GraphQLRequest is the subscription operation sent upstream.
type GraphQLRequest struct {
	Query         string
	OperationName string
	Variables     map[string]any
}

// MarshalJSON writes the GraphQL-over-HTTP request body, omitting an empty operationName and nil variables.
func (r GraphQLRequest) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Query         string         `json:"query"`
		OperationName string         `json:"operationName,omitempty"`
		Variables     map[string]any `json:"variables,omitempty"`
	}{r.Query, r.OperationName, r.Variables})
}

// SubscribeGraphQL subscribes upstream; each event is the JSON of a `next` payload ({"data":…,"errors":…}). It
// returns after the first connection is made (ws: connected, acknowledged and subscribed; sse: the response
// headers arrived), or failed: the *Error, with no retry, so that a refusal reaches the client at once. An
// upstream `error` message for the subscription ends the stream with UPSTREAM_GRAPHQL_ERROR: graphql-transport-ws
// has no message that accepts a subscription, so one that arrives after SubscribeGraphQL returned is the first
// Next's error. A connection that drops is re-made with Reconnect, re-subscribing; `complete` ends the stream
// with io.EOF. The ctx bounds the stream's whole life.
func SubscribeGraphQL(ctx context.Context, cfg GraphQLConfig, req GraphQLRequest) (Stream, error) {
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	if cfg.Client == nil {
		cfg.Client = http.DefaultClient
	}
	if t := cfg.Client.Timeout; t > 0 {
		// A client timeout would cut the stream: it bounds the connection instead.
		cfg.ConnectTimeout = min(cfg.ConnectTimeout, t)
		cl := *cfg.Client
		cl.Timeout = 0
		cfg.Client = &cl
	}
	cfg.Reconnect = cfg.Reconnect.normalized()
	cfg.MaxEventBytes = maxBytes(cfg.MaxEventBytes)
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("events: encoding the subscription request: %w", err)
	}
	switch cfg.Protocol {
	case "", "ws":
		return subscribeWS(ctx, cfg, body)
	case "sse":
		return subscribeGraphQLSSE(ctx, cfg, body)
	}
	return nil, fmt.Errorf("events: unknown GraphQL subscription protocol %q (have: ws, sse)", cfg.Protocol)
}

// graphQLError is the UPSTREAM_GRAPHQL_ERROR of an upstream's errors (a JSON array of GraphQL errors).
func graphQLError(errs json.RawMessage) error {
	var list []struct {
		Message string `json:"message"`
	}
	if err := json.Unmarshal(errs, &list); err != nil || len(list) == 0 {
		return &Error{Code: CodeBadResponse, Err: errors.New("an error message without a list of GraphQL errors")}
	}
	msgs := make([]string, len(list))
	for i, e := range list {
		msgs[i] = e.Message
	}
	return &Error{Code: CodeGraphQLError, Err: errors.New(strings.Join(msgs, "; "))}
}
