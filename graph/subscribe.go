package graph

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"runtime/debug"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/conflux-gql/conflux/resolvers"
	"github.com/conflux-gql/conflux/schema"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Subscriptions (issue 17). A subscription operation plans like a query, against the Subscription type: its one
// root field is a fetch whose binding opens an upstream event stream (resolvers.Subscribe). Each event is the
// root field's value, and the plan runs once per event like a query would: the fetches below the root field are
// batched per event, and the server's limits (maxFetches, maxItems, operationTimeout, maxResponseBytes) apply
// to each event's execution.

// The codes that end a subscription for a reason the client must hear (STREAMS.md).
const (
	// CodeSubscriptionClosed: the configuration version was replaced or the server shuts down (Engine.Close).
	CodeSubscriptionClosed = "SUBSCRIPTION_CLOSED"
	// CodeSubscriptionOverflow: the client was slower than its events and the overflow action is close.
	CodeSubscriptionOverflow = resolvers.CodeSubscriptionOverflow
)

// errEngineClosed is the cause of the contexts of the subscriptions Engine.Close ends.
var errEngineClosed = errors.New("the engine was closed")

// subscriptions tracks an engine's open subscriptions, so that Close can end them.
type subscriptions struct {
	mu     sync.Mutex
	closed bool
	open   map[*subscription]struct{}
}

// Close ends every open subscription of the engine: each one's handler answers one last response with data
// null and a SUBSCRIPTION_CLOSED error, then nil. Subscriptions started afterwards get the same answer at once.
// Queries and mutations keep working. Close is idempotent and does not wait for the handlers.
func (e *Engine) Close() {
	e.subs.mu.Lock()
	defer e.subs.mu.Unlock()
	e.subs.closed = true
	for s := range e.subs.open {
		s.cancel(errEngineClosed)
	}
	e.subs.open = nil
}

// add registers s; it reports false when the engine is closed.
func (ss *subscriptions) add(s *subscription) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.closed {
		return false
	}
	if ss.open == nil {
		ss.open = map[*subscription]struct{}{}
	}
	ss.open[s] = struct{}{}
	return true
}

func (ss *subscriptions) remove(s *subscription) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.open, s)
}

// subscription is one client subscription: its plan, its upstream stream and the state of its handler. The
// handler is called by one goroutine at a time (the transport's); cancel may be called from any.
type subscription struct {
	e  *Engine
	oc *graphql.OperationContext
	// ctx is the operation's context (Exec's) with cancel, which Engine.Close calls with errEngineClosed; it
	// bounds the upstream stream's life.
	ctx    context.Context
	cancel context.CancelCauseFunc
	plan   *Plan
	field  *Field
	// mu guards stream, which the handler sets and the release after the context ends (release) reads.
	mu     sync.Mutex
	stream *resolvers.Subscription
	// started: the first handler call has run; done: the handler answers nil from now on.
	started, done bool
}

// subscribe returns the handler of a subscription operation (STREAMS.md): the first call plans it and opens the
// upstream stream; every call blocks until the next event and answers its response; it answers nil once the
// stream ended or the operation's context is done, after one last response with data null and an error when the
// client must hear why (SUBSCRIPTION_CLOSED, SUBSCRIPTION_OVERFLOW, the upstream's failure).
func (e *Engine) subscribe(ctx context.Context, oc *graphql.OperationContext) graphql.ResponseHandler {
	s := &subscription{e: e, oc: oc}
	s.ctx, s.cancel = context.WithCancelCause(ctx)
	// A transport unsubscribes by cancelling the operation's context, and may never call the handler again:
	// the stream and its goroutines are released then, not at the next call.
	context.AfterFunc(s.ctx, s.release)
	return func(hctx context.Context) *graphql.Response {
		if s.done {
			return nil
		}
		if !s.started {
			s.started = true
			if resp := s.open(hctx); resp != nil {
				return resp
			}
		}
		return s.next(hctx)
	}
}

// finish releases the stream and every goroutine of the subscription; the handler answers nil from now on.
func (s *subscription) finish() {
	s.done = true
	s.cancel(nil)
	s.release()
}

// release closes the stream (waiting for its goroutines) and forgets the subscription; idempotent, safe from
// any goroutine.
func (s *subscription) release() {
	s.mu.Lock()
	st := s.stream
	s.mu.Unlock()
	if st != nil {
		st.Close()
	}
	s.e.subs.remove(s)
}

// open plans the operation and opens the stream. It returns nil when the stream is open; otherwise the
// response to give (a refusal, or the failure to open), after which the handler answers nil.
func (s *subscription) open(hctx context.Context) (resp *graphql.Response) {
	e, oc := s.e, s.oc
	defer func() {
		if p := recover(); p != nil {
			e.log.ErrorContext(hctx, "panic while subscribing", "panic", p, "stack", string(debug.Stack()))
			resp = &graphql.Response{Errors: internalError()}
		}
		if resp != nil {
			s.finish()
		}
	}()
	if oc.Operation == nil {
		return errorResponse(&PlanError{Message: "no operation to execute"})
	}
	nameOperation(hctx, oc.Operation)
	cp := e.plan(hctx, oc.RawQuery, oc.Doc, oc.Operation, oc.Variables)
	if cp.err != nil {
		return errorResponse(cp.err)
	}
	if err := cp.plan.CheckCost(oc.Variables, e.sg.Settings.DefaultListSize, e.sg.Settings.MaxCost, oc.Operation.Position); err != nil {
		return errorResponse(err)
	}
	s.plan = cp.plan
	f := subscriptionField(cp.plan)
	if f == nil {
		return errorResponse(&PlanError{Message: "a subscription selects one field of the Subscription type, bound to a source that streams",
			Location: oc.Operation.Position})
	}
	s.field = f
	if !e.subs.add(s) {
		return s.closing(errEngineClosed)
	}
	x := &execution{engine: e, ctx: hctx, vars: oc.Variables, headers: oc.Headers, args: map[*Field]map[string]any{}}
	if err := x.refusal(f); err != nil {
		return s.failed(err)
	}
	res := e.resolvers.For(f.Binding)
	settings := &e.sg.Settings.Subscriptions
	sub, err := res.Subscribe(s.ctx, res.Vars(x.fieldArgs(f), nil, oc.Headers), f.Fetch.Forward, oc.Variables,
		resolvers.SubscribeOptions{Buffer: settings.Buffer, BufferBytes: settings.BufferBytes, Overflow: settings.Overflow,
			KeepAlive: settings.KeepAlive})
	if err != nil {
		if cause := context.Cause(s.ctx); cause != nil && s.ctx.Err() != nil {
			return s.closing(cause)
		}
		return s.failed(err)
	}
	s.mu.Lock()
	s.stream = sub
	s.mu.Unlock()
	if s.ctx.Err() != nil {
		// Ended while it opened: release has run already, without the stream.
		sub.Close()
	}
	return nil
}

// streamOf describes how the root fetch f of a subscription reads its events, for Explain.
func streamOf(f *Fetch) string {
	s := f.Binding.Subscribe
	switch {
	case f.Forward != nil:
		return "graphql subscription"
	case s == nil:
		return ""
	case s.Mode == schema.SubscribePoll:
		return "poll every " + s.Interval.String()
	case s.Event != "":
		return s.Mode + " event " + s.Event
	}
	return s.Mode
}

// subscriptionField returns the root field whose binding streams, when the plan has exactly one such field.
func subscriptionField(p *Plan) *Field {
	if p.Operation != ast.Subscription || len(p.Roots) != 1 {
		return nil
	}
	f := p.Roots[0].Field
	if f.Binding == nil || f.Binding.Federated {
		return nil
	}
	return f
}

// next waits for the next event and answers its response; at the end of the stream, the last response or nil.
func (s *subscription) next(hctx context.Context) *graphql.Response {
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	stop := context.AfterFunc(hctx, cancel)
	defer stop()
	v, err := s.stream.Next(ctx)
	if err != nil {
		switch {
		case s.ctx.Err() != nil:
			return s.closing(context.Cause(s.ctx))
		case hctx.Err() != nil:
			// The transport stopped asking: it cancels the operation's context to unsubscribe.
			s.finish()
			return nil
		case errors.Is(err, io.EOF):
			s.finish()
			return nil
		}
		return s.failed(err)
	}
	return s.e.executeEvent(hctx, s, v)
}

// closing answers the subscription's end when its context was cancelled: SUBSCRIPTION_CLOSED when the engine
// closed it, nothing when the client unsubscribed.
func (s *subscription) closing(cause error) *graphql.Response {
	s.finish()
	if !errors.Is(cause, errEngineClosed) {
		return nil
	}
	return &graphql.Response{Data: json.RawMessage("null"), Errors: gqlerror.List{{
		Message:    "the server's configuration changed or it is shutting down: subscribe again",
		Extensions: map[string]any{"code": CodeSubscriptionClosed}}}}
}

// failed answers the last response of a subscription whose stream failed: data null and the error located at
// the subscription field, with the codes of a failed fetch.
func (s *subscription) failed(err error) *graphql.Response {
	s.finish()
	var se *resolvers.StreamError
	if errors.As(err, &se) {
		e := &gqlerror.Error{Message: se.Msg, Path: ast.Path{s.field.pathName}, Extensions: map[string]any{"code": se.Code}}
		if se.Source != "" {
			e.Extensions["source"] = se.Source
		}
		if loc := s.field.Location; loc != nil {
			e.Locations = []gqlerror.Location{{Line: loc.Line, Column: loc.Column}}
		}
		return &graphql.Response{Data: json.RawMessage("null"), Errors: gqlerror.List{e}}
	}
	settings := &s.e.sg.Settings
	w := &writer{schema: s.e.sg.Schema, client: s.ctx, expose: settings.ExposeUpstreamDetails, log: s.e.log,
		path: ast.Path{s.field.pathName}}
	w.fail(s.field, err)
	return &graphql.Response{Data: json.RawMessage("null"), Errors: w.errs}
}

// executeEvent runs the plan for one event, v being the subscription field's value, like Execute runs a query:
// the fetches below the field batched, the server's limits for this event alone. Panics become an error
// response.
func (e *Engine) executeEvent(ctx context.Context, s *subscription, v any) (resp *graphql.Response) {
	defer func() {
		if p := recover(); p != nil {
			e.log.ErrorContext(ctx, "panic while executing an event", "panic", p, "stack", string(debug.Stack()))
			resp = &graphql.Response{Data: json.RawMessage("null"), Errors: internalError()}
		}
	}()
	x, cancelTimeout := e.newExecution(ctx, s.plan, s.oc.Variables, s.oc.Headers)
	defer cancelTimeout()
	root := &object{sel: s.plan.Root, values: make([]any, len(s.plan.Root.Fields))}
	todo := pending{}
	for _, f := range s.plan.Root.Fields {
		if f == s.field {
			x.settle(root, f, v, nil, todo)
			continue
		}
		x.fill(root, f, todo)
	}
	x.dispatch(todo)
	x.wg.Wait()
	x.cancel(nil)
	x.loaders.Wait()
	w := e.newWriter(ctx, 0)
	data := w.write(root)
	return &graphql.Response{Data: data, Errors: w.errs}
}
