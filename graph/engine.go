// Package graph compiles GraphQL operations into execution plans and runs them.
//
// An Engine serves one Supergraph version as a gqlgen graphql.ExecutableSchema. For each operation it builds
// (or takes from its cache) a Plan — the merged selection tree plus a DAG of fetch nodes — and executes it: each
// fetch starts the moment its parent fetch has produced the objects it needs, fetches of one batched binding
// are coalesced into one dataloader batch, and the finished tree is written straight to JSON bytes with null
// propagation. Failing fetches null only the fields they fill and add located errors.
package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/99designs/gqlgen/graphql"
	"github.com/conflux-gql/conflux/cache"
	"github.com/conflux-gql/conflux/resolvers"
	"github.com/conflux-gql/conflux/schema"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"golang.org/x/sync/singleflight"
)

// Engine executes operations against one Supergraph version. It is safe for concurrent use and immutable apart
// from its plan cache; a new configuration version gets a new Engine, so plans never cross versions.
type Engine struct {
	// log receives what clients are not told (WithLogger).
	log       *slog.Logger
	sg        *schema.Supergraph
	resolvers *resolvers.Set
	plans     *cache.LRU[string, *cachedPlan]
	planning  singleflight.Group
	// subs are the open subscriptions, which Close ends (subscribe.go).
	subs subscriptions
}

var _ graphql.ExecutableSchema = (*Engine)(nil)

type cachedPlan struct {
	plan *Plan
	err  error
	// key is the plan's cache key and bytes its estimated size without a static response (planBytes).
	key   string
	bytes int64
	// static holds the response of a Static plan after its first execution.
	static atomic.Pointer[graphql.Response]
	// size is the length of the plan's last response: the next one's buffer starts that big (plus slack), so
	// the writer does not grow it step by step.
	size atomic.Int64
}

// New builds the engine of sg, fetching through set. Its plan cache holds at most server.planCacheSize plans and
// about server.planCacheBytes bytes (plans, their keys and their cached static responses).
func New(sg *schema.Supergraph, set *resolvers.Set, opts ...Option) (*Engine, error) {
	size := sg.Settings.PlanCacheSize
	if size <= 0 {
		size = 1000
	}
	plans, err := cache.New[string, *cachedPlan](size, sg.Settings.PlanCacheBytes)
	if err != nil {
		return nil, fmt.Errorf("plan cache: %w", err)
	}
	e := &Engine{sg: sg, resolvers: set, plans: plans, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(e)
	}
	return e, nil
}

// Option adjusts an Engine.
type Option func(*Engine)

// WithLogger sets where the engine logs what clients are not told (panics, upstream failure details); the
// default discards it.
func WithLogger(l *slog.Logger) Option {
	return func(e *Engine) {
		if l != nil {
			e.log = l
		}
	}
}

// Supergraph returns the configuration version the engine serves.
func (e *Engine) Supergraph() *schema.Supergraph { return e.sg }

// Schema implements graphql.ExecutableSchema.
func (e *Engine) Schema() *ast.Schema { return e.sg.Schema }

// Complexity implements graphql.ExecutableSchema: every field costs 1 plus its children.
func (e *Engine) Complexity(_ context.Context, _, _ string, childComplexity int, _ map[string]any) (int, bool) {
	return childComplexity + 1, true
}

// Exec implements graphql.ExecutableSchema. The work happens in the returned handler, which answers once, or,
// for a request marked WithIncremental whose operation defers or streams, once per payload (incremental.go).
func (e *Engine) Exec(ctx context.Context) graphql.ResponseHandler {
	oc := graphql.GetOperationContext(ctx)
	if oc.Operation != nil && oc.Operation.Operation == ast.Subscription {
		return e.subscribe(ctx, oc)
	}
	var done atomic.Bool
	var more *incrementalRun
	return func(ctx context.Context) *graphql.Response {
		if more != nil {
			return more.next(ctx)
		}
		if done.Swap(true) {
			return nil
		}
		nameOperation(ctx, oc.Operation)
		var resp *graphql.Response
		resp, more = e.execute(ctx, oc.RawQuery, oc.Doc, oc.Operation, oc.Variables, oc.Headers, incremental(ctx))
		if e.sg.Settings.PlanExtension && oc.Operation != nil {
			// Off by default: the plan shows the backends' paths, which a public API may not want to reveal.
			if cp := e.plan(ctx, oc.RawQuery, oc.Doc, oc.Operation, oc.Variables); cp.plan != nil {
				graphql.RegisterExtension(ctx, "plan", map[string]any{"text": cp.plan.String(), "fetches": cp.plan.Explain().Fetches})
			}
		}
		return resp
	}
}

// Execute runs one validated operation and returns its response. It recovers panics into an error response.
//
// The response's Data is nil only when the operation was refused before execution (it could not be planned);
// an executed operation always has Data, the JSON null at least (the HTTP layer relies on this).
//
// Execution ends with ctx (the client left: nothing more is fetched, built or written), at
// server.operationTimeout (the fields not filled yet are null with OPERATION_TIMEOUT errors), or at a limit:
// server.maxFetches and server.maxItems stop the operation the same way (FETCH_LIMIT_EXCEEDED,
// ITEM_LIMIT_EXCEEDED); past server.maxResponseBytes (its data and errors) the answer is data null with one
// RESPONSE_TOO_LARGE error.
// No goroutine it started outlives it.
func (e *Engine) Execute(ctx context.Context, query string, doc *ast.QueryDocument, op *ast.OperationDefinition,
	vars map[string]any, headers map[string][]string) *graphql.Response {
	resp, _ := e.execute(ctx, query, doc, op, vars, headers, false)
	return resp
}

// execute is Execute; with inc, a query that defers or streams answers its initial payload, and more gives the
// others (incremental.go).
func (e *Engine) execute(ctx context.Context, query string, doc *ast.QueryDocument, op *ast.OperationDefinition,
	vars map[string]any, headers map[string][]string, inc bool) (resp *graphql.Response, more *incrementalRun) {
	executing := false
	defer func() {
		if p := recover(); p != nil {
			e.log.ErrorContext(ctx, "panic while executing", "panic", p, "stack", string(debug.Stack()))
			resp = &graphql.Response{Errors: internalError()}
			if executing {
				resp.Data = json.RawMessage("null")
			}
			more = nil
		}
	}()
	if op == nil {
		return errorResponse(&PlanError{Message: "no operation to execute"}), nil
	}
	cp := e.plan(ctx, query, doc, op, vars)
	if cp.err != nil {
		return errorResponse(cp.err), nil
	}
	if err := cp.plan.CheckCost(vars, e.sg.Settings.DefaultListSize, e.sg.Settings.MaxCost, op.Position); err != nil {
		return errorResponse(err), nil
	}
	if r := cp.static.Load(); r != nil {
		// gqlgen appends to the response it gets: hand out a copy that shares nothing writable.
		c := *r
		c.Errors = slices.Clip(r.Errors)
		return &c, nil
	}
	executing = true
	client := ctx
	x, cancelTimeout := e.newExecution(ctx, cp.plan, vars, headers)
	if inc && cp.plan.Operation == ast.Query && len(cp.plan.Deferred)+len(cp.plan.Streamed) > 0 {
		resp, more = e.startIncremental(client, x, cp, cancelTimeout)
		return resp, more
	}
	defer cancelTimeout()
	root := x.run()
	stopped := x.stopped() != nil
	// Every fetch has settled; a batch call whose waiters gave up when the operation stopped ends with x.ctx.
	x.cancel(nil)
	x.loaders.Wait()
	if client.Err() != nil {
		// Nobody reads the answer: do not write it.
		return cancelledResponse(), nil
	}
	w := e.newWriter(client, cp.size.Load())
	data := w.write(root)
	if w.abort == nil {
		cp.size.Store(int64(len(data)))
	}
	resp = &graphql.Response{Data: data, Errors: w.errs}
	if cp.plan.Static && !stopped && w.abort == nil {
		c := *resp
		c.Errors = slices.Clip(resp.Errors)
		if cp.static.CompareAndSwap(nil, &c) {
			// The cached answer counts against the plan cache's bytes, with its plan.
			e.plans.Resize(cp.key, cp.bytes+staticBytes(&c))
		}
	}
	return resp, nil
}

// internalError is the one error of an answer that a panic cut short (the panic is logged, not told).
func internalError() gqlerror.List {
	return gqlerror.List{{Message: "internal server error", Extensions: map[string]any{"code": "INTERNAL_SERVER_ERROR"}}}
}

func cancelledResponse() *graphql.Response {
	return &graphql.Response{Data: json.RawMessage("null"), Errors: gqlerror.List{{Message: errCancelled.msg,
		Extensions: map[string]any{"code": string(errCancelled.code)}}}}
}

// newExecution prepares the execution of plan p for a client whose context is ctx: bounded by
// server.operationTimeout, which cancelTimeout releases, and by server.maxFetches.
func (e *Engine) newExecution(ctx context.Context, p *Plan, vars map[string]any, headers map[string][]string) (x *execution, cancelTimeout context.CancelFunc) {
	settings := &e.sg.Settings
	cancelTimeout = func() {}
	if d := settings.OperationTimeout; d > 0 {
		ctx, cancelTimeout = context.WithTimeoutCause(ctx, d, errTimeout(d))
	}
	x = &execution{engine: e, plan: p, vars: vars, headers: headers,
		loaders: resolvers.NewLoaders(), args: map[*Field]map[string]any{}}
	x.ctx, x.cancel = context.WithCancelCause(ctx)
	x.loaders.MaxCalls = int64(settings.MaxFetches)
	return x, cancelTimeout
}

// newWriter returns the writer of a response to client; hint is the size of the last answer of its plan (0:
// unknown).
func (e *Engine) newWriter(client context.Context, hint int64) *writer {
	settings := &e.sg.Settings
	w := &writer{schema: e.sg.Schema, client: client, maxBytes: settings.MaxResponseBytes, expose: settings.ExposeUpstreamDetails, log: e.log}
	if hint > 0 {
		// The last answer's size, plus slack, so that the buffer is not grown (and copied) step by step; never
		// more than the cap allows.
		hint += hint / 8
		if w.maxBytes > 0 {
			hint = min(hint, w.maxBytes+1)
		}
		w.buf = make([]byte, 0, hint)
	}
	return w
}

func errorResponse(err error) *graphql.Response {
	e := &gqlerror.Error{Message: err.Error(), Extensions: map[string]any{"code": "GRAPHQL_VALIDATION_FAILED"}}
	var pe *PlanError
	if errors.As(err, &pe) {
		if pe.Location != nil {
			e.Locations = []gqlerror.Location{{Line: pe.Location.Line, Column: pe.Location.Column}}
		}
		for k, v := range pe.Extensions {
			e.Extensions[k] = v
		}
		if pe.Code != "" {
			e.Extensions["code"] = pe.Code
		}
	}
	return &graphql.Response{Errors: gqlerror.List{e}}
}

// CachedPlan returns the operation's plan from the engine's plan cache, planning it on a miss, as every
// execution does (the benchmark measures a hit with it).
func (e *Engine) CachedPlan(query string, doc *ast.QueryDocument, op *ast.OperationDefinition, vars map[string]any) (*Plan, error) {
	cp := e.plan(context.Background(), query, doc, op, vars)
	return cp.plan, cp.err
}

// plan returns the cached plan for the operation, planning it once however many requests ask at the same time.
// The key holds the document, the operation and the Boolean variables (the only ones @skip/@include can read).
// Planning is a "plan" span under ctx's when that one records (issue 16).
func (e *Engine) plan(ctx context.Context, query string, doc *ast.QueryDocument, op *ast.OperationDefinition, vars map[string]any) *cachedPlan {
	key := planKey(query, op, vars)
	if cp, ok := e.plans.Get(key); ok {
		return cp
	}
	v, _, _ := e.planning.Do(key, func() (any, error) {
		if cp, ok := e.plans.Get(key); ok {
			return cp, nil
		}
		_, span := startSpan(ctx, "plan")
		p, err := NewPlan(e.sg, doc, op, vars)
		endSpan(span, err)
		cp := &cachedPlan{plan: p, err: err, key: key, bytes: planBytes(key, p)}
		e.plans.Add(key, cp, cp.bytes)
		return cp, nil
	})
	return v.(*cachedPlan)
}

func planKey(query string, op *ast.OperationDefinition, vars map[string]any) string {
	var b strings.Builder
	b.Grow(len(query) + len(op.Name) + 8)
	b.WriteString(op.Name)
	b.WriteByte(0)
	b.WriteString(query)
	for _, d := range op.VariableDefinitions {
		if d.Type.NamedType != "Boolean" {
			continue
		}
		b.WriteByte(0)
		switch vars[d.Variable] {
		case true:
			b.WriteByte('t')
		case false:
			b.WriteByte('f')
		default:
			b.WriteByte('n')
		}
	}
	return b.String()
}
