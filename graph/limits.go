package graph

import (
	"context"
	"errors"
	"fmt"

	"github.com/99designs/gqlgen/graphql"
	"github.com/conflux-gql/conflux/resolvers"
	"github.com/conflux-gql/conflux/sources"
)

// The codes of the errors of an operation stopped before it finished (issue 13). Each is the extensions.code of
// the located errors of the fields the operation could not fill, except RESPONSE_TOO_LARGE, which replaces the
// whole answer (data null, one error).
const (
	// CodeOperationTimeout: server.operationTimeout passed.
	CodeOperationTimeout sources.Code = "OPERATION_TIMEOUT"
	// CodeOperationCancelled: the client went away (its request's context ended); nobody reads the answer.
	CodeOperationCancelled sources.Code = "OPERATION_CANCELLED"
	// CodeFetchLimit: the operation would start more than server.maxFetches upstream requests.
	CodeFetchLimit sources.Code = "FETCH_LIMIT_EXCEEDED"
	// CodeItemLimit: the operation would build more than server.maxItems list items.
	CodeItemLimit sources.Code = "ITEM_LIMIT_EXCEEDED"
	// CodeResponseTooLarge: the response's data, with its errors, would pass server.maxResponseBytes. The writer
	// stops at the cap (checked per object and list item) and drops what it wrote, and the answer is data null
	// with this one error: a cut JSON text cannot be sent, and choosing fields to null until the rest fits would
	// mean writing (and holding) past the cap first. So memory stays within the cap plus one item.
	CodeResponseTooLarge sources.Code = "RESPONSE_TOO_LARGE"
)

// stopError is why an operation stopped early: the cause of its execution context's cancellation, and the error
// of every field left unfilled.
type stopError struct {
	code sources.Code
	msg  string
}

func (e *stopError) Error() string { return e.msg }

// maxStopErrors bounds the located errors a stopped operation reports: a timeout under a list of 100,000 items
// would otherwise answer 100,000 errors. The rest are counted in one last error without a path.
const maxStopErrors = 100

func errTimeout(d fmt.Stringer) *stopError {
	return &stopError{code: CodeOperationTimeout, msg: fmt.Sprintf("the operation did not finish within %s (server.operationTimeout)", d)}
}

var errCancelled = &stopError{code: CodeOperationCancelled, msg: "the client closed the request"}

func errFetchLimit(n int) *stopError {
	return &stopError{code: CodeFetchLimit, msg: fmt.Sprintf("the operation needs more than %d upstream requests (server.maxFetches)", n)}
}

func errItemLimit(n int) *stopError {
	return &stopError{code: CodeItemLimit, msg: fmt.Sprintf("the operation returns more than %d list items (server.maxItems)", n)}
}

func errResponseTooLarge(n int64) *stopError {
	return &stopError{code: CodeResponseTooLarge, msg: fmt.Sprintf("the response is larger than %d bytes (server.maxResponseBytes)", n)}
}

// stopped returns why x's context ended (a *stopError), or nil while it runs. It costs one atomic load while the
// operation runs, so it is checked per fetch and per list, not per leaf.
func (x *execution) stopped() *stopError {
	if x.ctx.Err() == nil {
		return nil
	}
	var se *stopError
	if errors.As(context.Cause(x.ctx), &se) {
		return se
	}
	return errCancelled
}

// stop ends the operation for err: every fetch in flight is cancelled, none starts, and the fields not filled
// yet get err. The first reason wins.
func (x *execution) stop(err *stopError) { x.cancel(err) }

// stopFor replaces a field error caused by the operation stopping (a fetch cancelled with it, or refused past
// the fetch limit) by the reason it stopped.
func (x *execution) stopFor(err error) error {
	if errors.Is(err, resolvers.ErrCallLimit) {
		x.stop(errFetchLimit(x.engine.sg.Settings.MaxFetches))
	}
	if se := x.stopped(); se != nil {
		return se
	}
	return err
}

// countItems adds a list's n items to the operation's count and stops it past server.maxItems.
func (x *execution) countItems(n int) *stopError {
	limit := x.engine.sg.Settings.MaxItems
	if limit <= 0 {
		return nil
	}
	if x.items.Add(int64(n)) > int64(limit) {
		err := errItemLimit(limit)
		x.stop(err)
		return err
	}
	return nil
}

func isStop(err error) bool {
	var se *stopError
	return errors.As(err, &se)
}

// planNodeBytes is the heap one node of a cached plan keeps alive: a Field (or Fetch) with its share of its
// Selection's slice, its path element, and the operation's AST it points into (arguments, positions), which the
// plan keeps alive after gqlgen's query cache has dropped the document. TestPlanBytes measures it: 265 to 353
// bytes per node for flat, deep and introspection documents of many aliases (go1.26, amd64); rounded up.
const planNodeBytes = 384

// planBytes estimates the heap a cached plan holds: its key and the document's text (which the plan's
// positions keep alive), each about len(key) bytes, plus planNodeBytes per node.
func planBytes(key string, p *Plan) int64 {
	n := 2*int64(len(key)) + 256
	if p != nil {
		n += int64(p.nodes()) * planNodeBytes
	}
	return n
}

// nodes counts the plan's fields (every field the planner made: each possible type's of an abstract field),
// fetches and deferred fragments.
func (p *Plan) nodes() int { return p.Fields + len(p.Fetches) + len(p.Deferred) }

// staticBytes estimates the heap of a cached static response: its data and its errors' messages and paths.
func staticBytes(r *graphql.Response) int64 {
	n := int64(len(r.Data)) + 64
	for _, e := range r.Errors {
		n += int64(len(e.Message)) + int64(len(e.Path))*16 + 128
	}
	return n
}
