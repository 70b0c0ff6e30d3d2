package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/conflux-gql/conflux/graph"
	"github.com/conflux-gql/conflux/respcache"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

const (
	mediaJSON            = "application/json"
	mediaGraphQLResponse = "application/graphql-response+json"
)

// Error codes of requests refused before execution that gqlgen would otherwise report as a plain parse or
// validation failure (issue 13).
const (
	// codeTokenLimit: the document has more tokens than server.maxTokens (gqlgen's parser token limit).
	codeTokenLimit = "TOKEN_LIMIT_EXCEEDED"
	// codeBadRequest: the HTTP request is not a GraphQL-over-HTTP request: a body that is not one JSON object,
	// parameters of the wrong type, no query.
	codeBadRequest = "BAD_REQUEST"
)

// The status codes of GraphQL over HTTP (https://graphql.github.io/graphql-over-http/draft/), as Conflux applies
// them to POST and GET alike:
//
//   - A request that is not a well-formed GraphQL request (body not one JSON object, trailing data after it,
//     a parameter of the wrong type, no query and no persisted-query hash, variables that are not JSON in a
//     GET) is 400 whatever the client accepts.
//   - A request error (parse or validation failure, variable coercion failure, an unknown operationName, a
//     limit refused before execution such as TOKEN_LIMIT_EXCEEDED or, from the engine, COST_LIMIT_EXCEEDED):
//     200 for a client that accepts application/json (or sends no Accept), 400 for one that accepts
//     application/graphql-response+json. Its body has no "data" entry at all, as the GraphQL spec says of an
//     error raised before execution begins.
//   - An executed operation is 200, with partial data and located errors when some fields failed.
//   - A mutation over GET is 405 with Allow: POST; a POST whose Content-Type is not application/json is 415.
//
// The engine's contract (graph/): its response has Data == nil exactly when it refused the operation before
// executing it; such a response is a request error here.

// postTransport serves POST /graphql with a JSON body. It writes a successful response's data as the engine
// wrote it: gqlgen's transport.POST re-encodes it with encoding/json, which scans and copies the whole
// already-compact document again (about a tenth of the CPU of a posts request).
type postTransport struct {
	stream streamConfig // answers as a stream (transport_sse.go, transport_multipart.go)
}

var _ graphql.Transport = postTransport{}

// Supports implements graphql.Transport.
func (postTransport) Supports(r *http.Request) bool {
	if r.Header.Get("Upgrade") != "" || r.Method != http.MethodPost {
		return false
	}
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mediaType == mediaJSON
}

// Do implements graphql.Transport.
func (t postTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	contentType := responseType(r.Header.Get("Accept"))
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-store") // execute relaxes it for a query whose parts allow it
	start := graphql.Now()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		badRequest(w, "could not read the request body")
		return
	}
	var params graphql.RawParams
	if msg := decodeJSON(body, &params); msg != "" {
		badRequest(w, "the request body is not a GraphQL request: "+msg)
		return
	}
	params.Headers = r.Header
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}
	executeStream(w, r, exec, &params, contentType, false, t.stream)
}

// getTransport serves GET /graphql?query=&operationName=&variables=&extensions= (queries only). It replaces
// gqlgen's transport.GET for the status codes and the absent "data" entry of GraphQL over HTTP.
type getTransport struct {
	stream streamConfig // answers as a stream (transport_sse.go, transport_multipart.go)
}

var _ graphql.Transport = getTransport{}

// Supports implements graphql.Transport.
func (getTransport) Supports(r *http.Request) bool {
	return r.Header.Get("Upgrade") == "" && r.Method == http.MethodGet
}

// Do implements graphql.Transport.
func (t getTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	contentType := responseType(r.Header.Get("Accept"))
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-store") // execute relaxes it for a query whose parts allow it
	start := graphql.Now()
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		badRequest(w, "the URL query is malformed")
		return
	}
	params := graphql.RawParams{Query: query.Get("query"), OperationName: query.Get("operationName"), Headers: r.Header}
	if v := query.Get("variables"); v != "" {
		if msg := decodeJSON([]byte(v), &params.Variables); msg != "" {
			badRequest(w, "variables is not a JSON object: "+msg)
			return
		}
	}
	if v := query.Get("extensions"); v != "" {
		if msg := decodeJSON([]byte(v), &params.Extensions); msg != "" {
			badRequest(w, "extensions is not a JSON object: "+msg)
			return
		}
	}
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}
	executeStream(w, r, exec, &params, contentType, true, t.stream)
}

// unsupportedTransport answers, last, every request the other transports did not take: 415 for a POST whose
// Content-Type is not application/json, 405 for other methods.
type unsupportedTransport struct{}

var _ graphql.Transport = unsupportedTransport{}

// Supports implements graphql.Transport.
func (unsupportedTransport) Supports(r *http.Request) bool { return r.Header.Get("Upgrade") == "" }

// Do implements graphql.Transport.
func (unsupportedTransport) Do(w http.ResponseWriter, r *http.Request, _ graphql.GraphExecutor) {
	w.Header().Set("Content-Type", responseType(r.Header.Get("Accept")))
	if r.Method == http.MethodPost {
		writeRequestError(w, http.StatusUnsupportedMediaType, codeBadRequest, "a POST body must be application/json")
		return
	}
	w.Header().Set("Allow", "GET, POST, OPTIONS")
	writeRequestError(w, http.StatusMethodNotAllowed, codeBadRequest, "method "+r.Method+" is not allowed")
}

// decodeJSON decodes data, which must be exactly one JSON value (whitespace around it is allowed), into v. It
// returns "" on success, else what is wrong, in words that never quote the input: an error message must not
// echo a request body back (issue 13: a malformed 900 KB body came back whole).
func decodeJSON(data []byte, v any) string {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		var syntax *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.Is(err, io.EOF):
			return "it is empty"
		case errors.Is(err, io.ErrUnexpectedEOF):
			return "unexpected end of JSON input"
		case errors.As(err, &syntax):
			return "invalid JSON at offset " + strconv.FormatInt(syntax.Offset, 10)
		case errors.As(err, &typ):
			if typ.Field != "" {
				return typ.Field + " must not be a JSON " + typ.Value
			}
			return "it must be a JSON object, not " + typ.Value
		}
		return "invalid JSON"
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return "trailing data after the JSON value at offset " + strconv.FormatInt(dec.InputOffset(), 10)
	}
	return ""
}

// execute runs the request described by params and writes its response; onlyQueries refuses mutations (GET).
//
// The response's Cache-Control (issue 15) is no-store for request errors, mutations and responses with errors;
// else what the fetches it was made of allow (respcache.Collector.CacheControl), private when the client sent credentials.
func execute(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor, params *graphql.RawParams, contentType string, onlyQueries bool) {
	executeStream(w, r, exec, params, contentType, onlyQueries, streamConfig{})
}

// executeStream is execute, answering as a stream when the client accepts one (issue 17): Server-Sent Events
// for Accept text/event-stream (transport_sse.go; subscriptions too, over GET as well), multipart/mixed
// incremental delivery for Accept multipart/mixed (transport_multipart.go); cfg bounds the stream.
func executeStream(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor, params *graphql.RawParams, contentType string,
	onlyQueries bool, cfg streamConfig) {
	ctx, col := respcache.WithCollector(r.Context())
	if params.Query == "" && params.Extensions["persistedQuery"] == nil {
		badRequest(w, "the request has no query")
		return
	}
	format := streamFormat(r.Header.Get("Accept"))
	reg := streamsFrom(ctx)
	// requestError answers a request error: over SSE an event stream of it, else the JSON answer.
	requestError := func(resp *graphql.Response) {
		if format == formatSSE {
			serveSSEError(ctx, w, resp, cfg, reg)
			return
		}
		w.WriteHeader(requestErrorStatus(contentType))
		writeResponse(w, resp)
	}
	rc, opErr := exec.CreateOperationContext(ctx, params)
	if opErr != nil {
		refineCodes(opErr)
		requestError(exec.DispatchError(graphql.WithOperationContext(ctx, rc), opErr))
		return
	}
	op := rc.Operation.Operation
	// Subscriptions: over SSE, or Apollo's multipart subscriptions (Accept multipart/mixed;subscriptionSpec=1.0).
	subStream := format == formatSSE || format == formatMultipart && multipartSubscriptions(r.Header.Get("Accept"))
	if onlyQueries && op != ast.Query && (op != ast.Subscription || !subStream) {
		w.Header().Set("Allow", "POST")
		writeRequestError(w, http.StatusMethodNotAllowed, codeBadRequest, "GET requests only allow query operations (and subscriptions over a stream)")
		return
	}
	if op == ast.Subscription && !subStream {
		writeRequestError(w, http.StatusBadRequest, codeBadRequest,
			"a subscription is served over WebSocket (graphql-transport-ws), Server-Sent Events (Accept: text/event-stream) "+
				"or multipart/mixed (Accept: multipart/mixed;subscriptionSpec=1.0)")
		return
	}
	if format != "" {
		ctx = graph.WithIncremental(ctx)
	}
	if op == ast.Subscription {
		subCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		transport := transportSSE
		if format == formatMultipart {
			transport = transportMultipart
		}
		release, refusal := reg.admit(transport, cfg.limits, remoteClient(r.RemoteAddr), cancel)
		if refusal != nil {
			requestError(&graphql.Response{Errors: gqlerror.List{refusal}})
			return
		}
		defer release()
		ctx = subCtx
	}
	responses, ctx := exec.DispatchOperation(ctx, rc)
	if op == ast.Subscription {
		// The handler's first call waits for the first event: the stream starts at once. A subscription lasts:
		// server.subscriptions.max bounds them, not server.maxInFlight (edge.go).
		releaseInFlight(w)
		if format == formatMultipart {
			serveMultipartSubscription(ctx, w, responses, cfg, reg)
			return
		}
		serveSSE(ctx, w, nil, responses, cfg, reg)
		return
	}
	resp := responses(ctx)
	if format == formatSSE && resp != nil {
		serveSSE(ctx, w, resp, responses, cfg, reg)
		return
	}
	if format == formatMultipart && resp != nil && resp.HasNext != nil {
		serveMultipart(ctx, w, resp, responses, cfg, reg)
		return
	}
	if resp != nil && len(resp.Errors) == 0 && rc.Operation.Operation == ast.Query {
		w.Header().Set("Cache-Control", responseCacheControl(col, r.Header))
	}
	if refusedBeforeExecution(resp) {
		w.WriteHeader(requestErrorStatus(contentType))
	}
	writeResponse(w, resp)
}

// responseCacheControl is the Cache-Control of a query's response: what its parts allow, and never public for a
// client request with credentials (what it is shown may depend on who it is: auth rules, {{jwt.*}} rendered into
// a backend request), so that a shared cache in front never serves it to another client.
func responseCacheControl(col *respcache.Collector, h http.Header) string {
	cc := col.CacheControl()
	if rest, ok := strings.CutPrefix(cc, "public, "); ok && respcache.Credentials(h) {
		return "private, " + rest
	}
	return cc
}

// requestErrorStatus is the status of a request error: 200 for application/json, 400 for
// application/graphql-response+json.
func requestErrorStatus(contentType string) int {
	if contentType == mediaGraphQLResponse {
		return http.StatusBadRequest
	}
	return http.StatusOK
}

// refineCodes gives the refusals gqlgen reports as plain parse or validation failures their own codes.
func refineCodes(errs gqlerror.List) {
	for _, err := range errs {
		switch {
		case err.Rule == overlapBudgetRule:
			errcode.Set(err, codeValidationLimit)
		case strings.HasPrefix(err.Message, "exceeded token limit of "):
			errcode.Set(err, codeTokenLimit)
		}
	}
}

// badRequest answers 400 with a GraphQL error: the request is not a GraphQL request at all.
func badRequest(w http.ResponseWriter, msg string) {
	writeRequestError(w, http.StatusBadRequest, codeBadRequest, msg)
}

func writeRequestError(w http.ResponseWriter, status int, code, msg string) {
	w.WriteHeader(status)
	writeResponse(w, &graphql.Response{Errors: gqlerror.List{{Message: msg, Extensions: map[string]any{"code": code}}}})
}

// responseType picks the response media type from the Accept header as gqlgen's transports do: the first of
// application/json or application/graphql-response+json it names, application/json for */* or no header.
func responseType(accept string) string {
	if accept == "" {
		return mediaJSON
	}
	for part := range strings.SplitSeq(accept, ",") {
		mediaType, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mediaType {
		case "*/*", "application/*", mediaJSON:
			return mediaJSON
		case mediaGraphQLResponse:
			return mediaGraphQLResponse
		}
	}
	return mediaGraphQLResponse
}

// writeResponse writes resp with the field order of graphql.Response's JSON encoding, but with no "data" entry
// when Data is nil: a request refused before execution has none (GraphQL spec, "Response"; GraphQL over HTTP,
// application/graphql-response+json). Data, which the engine wrote as compact JSON, goes out as it is, between
// a head and a tail, without being copied, and the Content-Length is known up front.
func writeResponse(w http.ResponseWriter, resp *graphql.Response) {
	if resp == nil || resp.Label != "" || resp.Path != nil || resp.HasNext != nil {
		// Incremental delivery, which the engine does not produce: encoding/json writes it all.
		b, _ := json.Marshal(resp)
		_, _ = w.Write(b)
		return
	}
	head := make([]byte, 0, 64)
	head = append(head, '{')
	if len(resp.Errors) > 0 {
		errs, _ := json.Marshal(resp.Errors)
		head = append(append(head, `"errors":`...), errs...)
	}
	data := []byte(resp.Data)
	if data != nil {
		if len(head) > 1 {
			head = append(head, ',')
		}
		head = append(head, `"data":`...)
	}
	var tail []byte
	if len(resp.Extensions) > 0 {
		ext, _ := json.Marshal(resp.Extensions)
		if len(head) > 1 || data != nil {
			tail = append(tail, ',')
		}
		tail = append(append(tail, `"extensions":`...), ext...)
	}
	tail = append(tail, '}')
	w.Header().Set("Content-Length", strconv.Itoa(len(head)+len(data)+len(tail)))
	_, _ = w.Write(head)
	_, _ = w.Write(data)
	_, _ = w.Write(tail)
}
