package graph

import (
	"context"
	"encoding/json"
	"runtime/debug"
	"slices"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Incremental delivery (issue 17): the contract between the engine and the transports.
//
// A transport whose client accepts incremental delivery (multipart/mixed, text/event-stream, a WebSocket) marks
// the request's context with WithIncremental before dispatching the operation. For such a request, an operation
// with an active @defer or @stream answers through the handler Exec returns:
//
//   - first call: the initial payload, a Response with Data, Errors and HasNext true;
//   - each further call: a subsequent payload, for which Subsequent reports true and gives the JSON array of its
//     incremental entries ({"data":…,"path":[…],"label":…,"errors":[…]} for a deferred fragment,
//     {"items":[…],"path":[…],"errors":[…]} for streamed list items), with HasNext set; the last has HasNext false;
//   - then nil.
//
// An operation without @defer/@stream, or any operation of a request not marked, answers with one complete
// Response (HasNext nil) and then nil, as before: deferred fragments are then written in place.

type incrementalKey struct{}

// WithIncremental marks ctx as the context of a request whose client accepts incremental delivery.
func WithIncremental(ctx context.Context) context.Context {
	return context.WithValue(ctx, incrementalKey{}, true)
}

// incremental reports whether ctx was marked by WithIncremental.
func incremental(ctx context.Context) bool {
	v, _ := ctx.Value(incrementalKey{}).(bool)
	return v
}

// subsequentLabel marks a Response that carries a subsequent payload (Data holds the incremental entries).
const subsequentLabel = "\x00incremental"

// Subsequent reports whether resp is a subsequent payload of incremental delivery; entries is then the JSON array
// of its incremental entries and resp.HasNext says whether more follow.
func Subsequent(resp *graphql.Response) (entries json.RawMessage, ok bool) {
	if resp == nil || resp.Label != subsequentLabel {
		return nil, false
	}
	return resp.Data, true
}

// part is what a payload left for a later one: a deferred fragment of an object, or the items of a streamed
// list past its initialCount.
type part struct {
	// group and obj: the deferred fragment group of object obj.
	group *Defer
	// wait is what the part waits for: group, or the stream's (Stream.group).
	wait *Defer
	obj  *object
	// field, items, from and t: the items of streamed list field from index from on, each of type t.
	field *Field
	items []any
	from  int
	t     *ast.Type
	// path is the response path of obj, or of the list; in is the deferred fragment the part was recorded in.
	path ast.Path
	in   *Defer
}

// label is the part's @defer or @stream label.
func (p *part) label() string {
	if p.group != nil {
		return p.group.Label
	}
	return p.field.Stream.Label
}

// record notes a part at the current path, once per fragment and object; it reports whether it was new.
func (w *writer) record(p part) bool {
	if p.group != nil {
		if w.recorded[p.group] == p.obj {
			return false
		}
		if w.recorded == nil {
			w.recorded = map[*Defer]*object{}
		}
		w.recorded[p.group] = p.obj
	}
	p.path = slices.Clone(w.path)
	p.in = w.group
	w.parts = append(w.parts, p)
	w.partBytes += partCost(len(p.path))
	return true
}

// deferBelow returns the deferred fragment that d is, or is nested in, whose parent is in (nil: none, d is not
// nested in in).
func deferBelow(d, in *Defer) *Defer {
	for ; d != nil; d = d.Parent {
		if d.Parent == in {
			return d
		}
	}
	return nil
}

// partCost estimates the memory a part holds (its struct and path) and, at least, the bytes of its entry.
func partCost(pathLen int) int64 { return 160 + 16*int64(pathLen) }

// entry writes p as one entry of a subsequent payload's incremental list, recording the parts it leaves for
// later in w.parts. It returns false when writing was aborted (w.abort).
//
// A streamed item that is null where its type is not (a non-null field of it failed) ends the stream as graphql-js
// does for deferSpec=20220824: the items before it form the entry, and a second entry {"items":null} at its index
// carries its errors; the items after it are not sent.
func (w *writer) entry(p *part) bool {
	w.group = p.in
	w.path = append(w.path[:0], p.path...)
	errs := len(w.errs)
	w.buf = append(w.buf, '{')
	if p.group != nil {
		w.group = p.group
		w.buf = append(w.buf, `"data":`...)
		if !w.fields(p.obj, p.group) {
			// A non-null field of the fragment is null: the fragment's data is null, its parent is not touched
			// (incremental delivery: an error in a deferred fragment nulls within that fragment only).
			w.buf = append(w.buf, "null"...)
		}
		if w.abort != nil || w.aborted() {
			return false
		}
		w.endEntry(p.path, p.label(), errs)
		return true
	}
	w.buf = append(w.buf, `"items":[`...)
	for i, item := range p.items {
		if i%stopCheck == stopCheck-1 && w.aborted() {
			return false
		}
		mark, itemErrs, parts := len(w.buf), len(w.errs), len(w.parts)
		if i > 0 {
			w.buf = append(w.buf, ',')
		}
		w.path = append(w.path, ast.PathIndex(p.from+i))
		ok := w.value(p.field, p.t, item)
		w.path = w.path[:len(w.path)-1]
		if ok {
			continue
		}
		failed := slices.Clone(w.errs[itemErrs:])
		w.buf, w.errs, w.parts = w.buf[:mark], w.errs[:itemErrs], w.parts[:parts]
		if i > 0 {
			w.buf = append(w.buf, ']')
			w.endEntry(append(slices.Clip(p.path), ast.PathIndex(p.from)), p.label(), errs)
			w.buf = append(w.buf, `,{"items":`...)
		} else {
			w.buf = w.buf[:len(w.buf)-1] // the entry's '['
		}
		w.buf = append(w.buf, "null"...)
		w.errs = append(w.errs, failed...)
		if w.abort != nil || w.aborted() {
			return false
		}
		w.endEntry(append(slices.Clip(p.path), ast.PathIndex(p.from+i)), p.label(), len(w.errs)-len(failed))
		return true
	}
	w.buf = append(w.buf, ']')
	if w.abort != nil || w.aborted() {
		return false
	}
	w.endEntry(append(slices.Clip(p.path), ast.PathIndex(p.from)), p.label(), errs)
	return true
}

// endEntry ends an entry: its path, label and the errors from index errs on.
func (w *writer) endEntry(path ast.Path, label string, errs int) {
	if path == nil {
		path = ast.Path{} // a fragment of the root object: "path":[]
	}
	pb, _ := json.Marshal(path)
	w.buf = append(append(w.buf, `,"path":`...), pb...)
	if label != "" {
		w.buf = appendString(append(w.buf, `,"label":`...), label)
	}
	if len(w.errs) > errs {
		eb, _ := json.Marshal(w.errs[errs:])
		w.buf = append(append(w.buf, `,"errors":`...), eb...)
	}
	w.buf = append(w.buf, '}')
}

// tracker counts, per deferred fragment, the goroutines running fetches of it, so that a payload is written once
// the fetches it needs have finished while the others go on (issue 17). A fetch of a fragment starts from a fetch
// of the fragment or of an enclosing one, or, for the objects of a stream's items past initialCount, from a fetch
// of the stream's; and a goroutine starts the fetches its results unblock before it ends. So, read at one instant
// (busy), a fragment with no fetch running whose enclosing fragments have none either has all the fetches of the
// parts recorded so far finished.
type tracker struct {
	mu      sync.Mutex
	running map[*Defer]int
	// changed gets a value (when it has none) each time a count drops to zero.
	changed chan struct{}
}

func newTracker() *tracker {
	return &tracker{running: map[*Defer]int{}, changed: make(chan struct{}, 1)}
}

// start counts a goroutine running fetches for parents; it returns their fragments, for finish. A fetch's
// fragment is its own (Fetch.Defer), else its parent object's (the items of a stream past initialCount).
func (t *tracker) start(fetches []*Fetch, parents [][]*object) []*Defer {
	groups := make([]*Defer, 0, 1)
	for i, f := range fetches {
		if f.Defer != nil {
			if !slices.Contains(groups, f.Defer) {
				groups = append(groups, f.Defer)
			}
			continue
		}
		for _, o := range parents[i] {
			if !slices.Contains(groups, o.group) {
				groups = append(groups, o.group)
			}
		}
	}
	t.mu.Lock()
	for _, g := range groups {
		t.running[g]++
	}
	t.mu.Unlock()
	return groups
}

// finish uncounts a goroutine that start counted.
func (t *tracker) finish(groups []*Defer) {
	t.mu.Lock()
	zero := false
	for _, g := range groups {
		if t.running[g]--; t.running[g] == 0 {
			zero = true
		}
	}
	t.mu.Unlock()
	if zero {
		select {
		case t.changed <- struct{}{}:
		default:
		}
	}
}

// done reports whether every fetch of fragment g (nil: of the initial payload) has finished.
func (t *tracker) done(g *Defer) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return doneIn(t.running, g)
}

// busy returns the fragments with fetches running, all read at one instant: a goroutine of one fragment may
// start fetches of another that is not nested in it (a fetch below a stream's late items, of a fragment deferred
// there), so the fragments' states read one after the other could say that a fragment is done while a fetch of
// it is about to start.
func (t *tracker) busy() map[*Defer]int {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[*Defer]int{}
	for g, n := range t.running {
		if n > 0 {
			out[g] = n
		}
	}
	return out
}

// doneIn reports whether fragment g and the fragments it is nested in have no fetch running in running.
func doneIn(running map[*Defer]int, g *Defer) bool {
	for ; g != nil; g = g.Parent {
		if running[g] > 0 {
			return false
		}
	}
	return running[nil] == 0
}

// incrementalRun delivers the payloads after the initial one of an execution (issue 17). Not safe for concurrent
// use: the transport calls next from one goroutine.
type incrementalRun struct {
	x *execution
	w *writer
	// pending holds the parts not delivered yet by the fragment (or stream) they wait for, each list in the order
	// its parts were recorded (a fragment before those nested in it); waits lists those fragments in the order
	// their first part was. Readiness is checked per fragment and each part is moved once, so that a payload
	// costs its own parts, not every part still waiting.
	pending map[*Defer][]part
	waits   []*Defer
	// budget is what is left of server.maxResponseBytes for the payloads still to come (0: no cap).
	budget int64
	// release cancels the execution and waits for its goroutines; it runs once, when the last payload is written
	// or the client leaves.
	release func()
}

// add notes parts as waiting.
func (r *incrementalRun) add(parts ...part) {
	if r.pending == nil {
		r.pending = map[*Defer][]part{}
	}
	for _, p := range parts {
		if _, ok := r.pending[p.wait]; !ok {
			r.waits = append(r.waits, p.wait)
		}
		r.pending[p.wait] = append(r.pending[p.wait], p)
	}
}

// end forgets every part: nothing follows.
func (r *incrementalRun) end() {
	r.pending, r.waits = nil, nil
	r.release()
}

// next blocks until at least one part is ready and returns a subsequent payload with every part ready by then,
// or nil when everything was delivered or ctx ended first. A panic while writing ends the run with a last
// payload saying so (the transport's goroutine may have no recover of its own).
func (r *incrementalRun) next(ctx context.Context) (resp *graphql.Response) {
	if len(r.waits) == 0 {
		return nil
	}
	var path ast.Path
	defer func() {
		if p := recover(); p != nil {
			r.x.engine.log.ErrorContext(ctx, "panic while executing", "panic", p, "stack", string(debug.Stack()))
			r.end()
			resp = lastEntry(path, "internal server error", "INTERNAL_SERVER_ERROR")
		}
	}()
	// Which fragments are done is decided once per payload, at one instant, so that the objects of one fragment
	// come together and no part is written while a fetch it needs can still start.
	var busy map[*Defer]int
	done := map[*Defer]bool{}
	isDone := func(g *Defer) bool {
		d, ok := done[g]
		if !ok {
			d = doneIn(busy, g)
			done[g] = d
		}
		return d
	}
	for {
		busy = r.x.track.busy()
		clear(done)
		if slices.ContainsFunc(r.waits, isDone) {
			break
		}
		select {
		case <-r.x.track.changed:
		case <-ctx.Done():
			r.end()
			return nil
		}
	}
	// The parts of the fragments done, depth first: what an entry leaves for later is nested in it, and the ready
	// ones go in this payload too, right after it.
	var stack [][]part
	for _, g := range slices.Backward(r.waits) {
		if isDone(g) {
			stack = append(stack, r.pending[g])
			delete(r.pending, g)
		}
	}
	r.waits = slices.DeleteFunc(r.waits, func(g *Defer) bool { _, ok := r.pending[g]; return !ok })
	w := r.w
	w.buf, w.errs, w.errBytes, w.parts, w.partBytes = make([]byte, 0, 512), nil, 0, nil, 0
	w.maxBytes = r.budget
	w.buf = append(w.buf, '[')
	entries := 0
	for len(stack) > 0 {
		top := len(stack) - 1
		if len(stack[top]) == 0 {
			stack = stack[:top]
			continue
		}
		p := stack[top][0]
		stack[top] = stack[top][1:]
		if !isDone(p.wait) {
			r.add(p)
			continue
		}
		if entries > 0 {
			w.buf = append(w.buf, ',')
		}
		entries++
		path = p.path
		if !w.entry(&p) {
			// Past server.maxResponseBytes, or the client left: one last entry says why, and nothing follows.
			r.end()
			return lastEntry(p.path, w.abort.msg, string(w.abort.code))
		}
		if len(w.parts) > 0 {
			stack = append(stack, w.parts)
			w.parts = nil
		}
	}
	w.buf = append(w.buf, ']')
	if r.budget > 0 {
		r.budget = max(r.budget-int64(len(w.buf)), 1)
	}
	hasNext := len(r.waits) > 0
	if !hasNext {
		r.end()
	}
	return &graphql.Response{Label: subsequentLabel, Data: json.RawMessage(w.buf), HasNext: &hasNext}
}

// lastEntry is a last subsequent payload whose one entry nulls the part at path with an error.
func lastEntry(path ast.Path, msg, code string) *graphql.Response {
	if path == nil {
		path = ast.Path{}
	}
	pb, _ := json.Marshal(path)
	eb, _ := json.Marshal(gqlerror.List{{Message: msg, Extensions: map[string]any{"code": code}}})
	b := append(append(append(append([]byte(`[{"data":null,"path":`), pb...), `,"errors":`...), eb...), "}]"...)
	hasNext := false
	return &graphql.Response{Label: subsequentLabel, Data: json.RawMessage(b), HasNext: &hasNext}
}

// startIncremental runs x, a query that defers or streams, for a client that accepts incremental delivery: it
// returns the initial payload once the fetches it needs have finished, and the run that delivers the rest. The
// execution's goroutines end when the last payload is written or the client leaves (client), whichever is
// first; cancelTimeout releases the operation timeout then.
func (e *Engine) startIncremental(client context.Context, x *execution, cp *cachedPlan, cancelTimeout context.CancelFunc) (*graphql.Response, *incrementalRun) {
	x.track = newTracker()
	var once sync.Once
	release := func() {
		once.Do(func() {
			x.cancel(nil)
			x.wg.Wait()
			x.loaders.Wait()
			cancelTimeout()
		})
	}
	// A client that leaves between payloads calls next no more: its context's end releases the execution.
	context.AfterFunc(client, release)
	ok := false
	defer func() {
		if !ok {
			release() // a panic below: Execute's recover answers
		}
	}()
	root := x.start()
	for !x.track.done(nil) {
		select {
		case <-x.track.changed:
		case <-client.Done():
		}
		if client.Err() != nil {
			ok = true
			release()
			return cancelledResponse(), nil
		}
	}
	w := e.newWriter(client, cp.size.Load())
	w.incremental, w.vars = true, x.vars
	resp := &graphql.Response{Data: w.write(root), Errors: w.errs}
	ok = true
	if w.abort != nil || len(w.parts) == 0 {
		release()
		return resp, nil
	}
	hasNext := true
	resp.HasNext = &hasNext
	r := &incrementalRun{x: x, w: w, release: release}
	r.add(w.parts...)
	if w.maxBytes > 0 {
		r.budget = max(w.maxBytes-int64(len(resp.Data))-w.errBytes, 1)
	}
	w.parts, w.errs, w.errBytes, w.buf, w.partBytes = nil, nil, 0, nil, 0
	return resp, r
}
