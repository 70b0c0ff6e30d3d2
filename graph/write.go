package graph

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/conflux-gql/conflux/resolvers"
	"github.com/conflux-gql/conflux/sources"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// writer serializes a finished object tree straight to JSON bytes in selection order, coercing leaves and
// propagating nulls of non-null fields per the GraphQL spec (6.4.4): a null where a non-null type is expected
// makes the nearest nullable ancestor null. Written bytes of a nulled subtree are truncated. Not safe for
// concurrent use.
type writer struct {
	schema *ast.Schema
	buf    []byte
	errs   gqlerror.List
	path   ast.Path
	// located holds the paths of upstream GraphQL errors already reported.
	located map[string]bool

	// client ends when the client leaves: writing stops (checked per list and every stopCheck items).
	client context.Context
	// maxBytes caps len(buf) plus errBytes (server.maxResponseBytes; 0: no cap), checked per object and list
	// item. The errors count because a backend can make one per item: a long list whose items all have a field of
	// the wrong type would otherwise answer a small data and errors many times its size.
	maxBytes int64
	// errBytes estimates the JSON size of errs (errorBytes).
	errBytes int64
	// abort is why writing stopped early; the answer is then data null with this one error.
	abort *stopError
	// stops counts the located errors of a stopped operation, of which the first maxStopErrors are reported.
	stops map[sources.Code]int
	// expose keeps backend methods, paths and hosts in client error messages (server.exposeUpstreamDetails);
	// otherwise they get sources.Error.PublicMessage and the detail goes to the log, once per response.
	expose bool
	logged bool
	log    *slog.Logger

	// incremental writes a payload of incremental delivery (issue 17): deferred fields and the items of streamed
	// lists past their initialCount are left out and recorded in parts, for later payloads. group is the
	// deferred fragment the payload delivers (nil: the initial payload) and vars the request's variables.
	incremental bool
	group       *Defer
	vars        map[string]any
	parts       []part
	// recorded holds, per deferred fragment, the object it was last recorded for (record).
	recorded map[*Defer]*object
	// partBytes estimates what parts cost until they are written (partCost): it counts against maxBytes, so
	// that a deferred fragment on each item of a long list cannot hold more memory than the answer may take.
	partBytes int64
}

// upstream reports upstream GraphQL errors re-based under the current path (the field they belong to).
func (w *writer) upstream(f *Field, errs []resolvers.UpstreamError) {
	for _, ue := range errs {
		path := append(append(ast.Path(nil), w.path...), toPath(ue.Path)...)
		e := &gqlerror.Error{Message: ue.Message, Path: path, Extensions: ue.Extensions}
		if loc := locate(f, ue.Path); loc != nil {
			e.Locations = []gqlerror.Location{{Line: loc.Line, Column: loc.Column}}
		}
		w.report(e)
		if w.located == nil {
			w.located = map[string]bool{}
		}
		// Upstream nulled the error's field and, by the spec, maybe its ancestors up to this field: every null
		// on the way is explained by this error.
		for _, k := range prefixKeys(path, len(w.path)) {
			w.located[k] = true
		}
	}
}

// prefixKeys returns pathKey(path[:i]) for each i from from to len(path). ast.Path.String writes a path element
// by element, so each key is a prefix of the whole path's: the keys share that one string, and an upstream
// error's path of n elements costs O(n), not O(n²) time and bytes.
func prefixKeys(path ast.Path, from int) []string {
	var b []byte
	ends := make([]int, len(path)+1)
	for i, e := range path {
		switch e := e.(type) {
		case ast.PathIndex:
			b = append(b, '[')
			b = strconv.AppendInt(b, int64(e), 10)
			b = append(b, ']')
		case ast.PathName:
			if i > 0 {
				b = append(b, '.')
			}
			b = append(b, e...)
		}
		ends[i+1] = len(b)
	}
	all := string(b)
	keys := make([]string, 0, len(path)+1-from)
	for i := from; i <= len(path); i++ {
		keys = append(keys, all[:ends[i]])
	}
	return keys
}

// locate finds where in the operation the field at path (below f) is written, falling back to f itself.
func locate(f *Field, path []any) *ast.Position {
	loc := f.Location
	cur := f
	for _, step := range path {
		name, ok := step.(string)
		if !ok {
			continue // a list index stays on the same field
		}
		var next *Field
		sels := []*Selection{cur.Object}
		for _, s := range cur.ByType {
			sels = append(sels, s)
		}
		for _, s := range sels {
			if s == nil {
				continue
			}
			for _, sf := range s.Fields {
				if sf.Alias == name {
					next = sf
					break
				}
			}
			if next != nil {
				break
			}
		}
		if next == nil {
			break
		}
		cur = next
		if cur.Location != nil {
			loc = cur.Location
		}
	}
	return loc
}

func toPath(p []any) ast.Path {
	out := make(ast.Path, 0, len(p))
	for _, e := range p {
		switch v := e.(type) {
		case string:
			out = append(out, ast.PathName(v))
		case float64:
			out = append(out, ast.PathIndex(int(v)))
		case int:
			out = append(out, ast.PathIndex(v))
		case json.Number:
			i, _ := v.Int64()
			out = append(out, ast.PathIndex(int(i)))
		}
	}
	return out
}

func pathKey(p ast.Path) string { return p.String() }

// write serializes the root object; it returns the data bytes ("null" when a non-null root field failed). When
// writing was aborted (w.abort: the response passed maxBytes or the client left) it returns "null" and the
// abort's error is the only one.
func (w *writer) write(root *object) []byte {
	ok := w.object(root)
	if w.abort != nil {
		w.buf = nil // drop what was written at once: it may be large
		w.errs = gqlerror.List{{Message: w.abort.msg, Extensions: map[string]any{"code": string(w.abort.code)}}}
		return []byte("null")
	}
	if !ok {
		w.buf = append(w.buf[:0], "null"...)
	}
	for _, code := range slices.Sorted(maps.Keys(w.stops)) {
		if n := w.stops[code]; n > maxStopErrors {
			w.errs = append(w.errs, &gqlerror.Error{Message: fmt.Sprintf("%d more fields were not filled for the same reason", n-maxStopErrors),
				Extensions: map[string]any{"code": string(code)}})
		}
	}
	return w.buf
}

// aborted reports whether writing must stop, deciding it when the response has passed its size cap or the
// client has gone.
func (w *writer) aborted() bool {
	if w.abort != nil {
		return true
	}
	if w.tooLarge() {
		w.abort = errResponseTooLarge(w.maxBytes)
	} else if w.client != nil && w.client.Err() != nil {
		w.abort = errCancelled
	}
	return w.abort != nil
}

// tooLarge reports whether the data written and the errors recorded have passed maxBytes.
func (w *writer) tooLarge() bool {
	return w.maxBytes > 0 && int64(len(w.buf))+w.errBytes+w.partBytes > w.maxBytes
}

// object writes o; it returns false (having written nothing) when a non-null field of o is null.
func (w *writer) object(o *object) bool {
	return w.fields(o, nil)
}

// fields writes o with the fields of deferred fragment only (nil: the fields not deferred relative to o), and
// records the fragments nested in it for later payloads; it returns false (having written nothing) when a
// non-null field of it is null.
func (w *writer) fields(o *object, only *Defer) bool {
	start, parts := len(w.buf), len(w.parts)
	failed := false
	w.buf = append(w.buf, '{')
	first := true
	for i, f := range o.sel.Fields {
		if w.incremental && f.Defer != only {
			// A fragment nested in another that selects no field of its own is delivered inside it: record the
			// outermost fragment not delivered yet, which records the next when it is written.
			if d := deferBelow(f.Defer, cmp.Or(only, w.group)); d != nil && w.record(part{group: d, wait: d, obj: o}) && w.tooLarge() && w.aborted() {
				return false
			}
			continue
		}
		if !first {
			w.buf = append(w.buf, ',')
		}
		first = false
		w.buf = appendString(w.buf, f.Alias)
		w.buf = append(w.buf, ':')
		if f.Kind == FieldTypename {
			w.buf = appendString(w.buf, o.sel.Type.Name)
			continue
		}
		w.path = append(w.path, f.pathName)
		v := o.values[i]
		if fv, isFwd := v.(*forwardedValue); isFwd {
			w.upstream(f, fv.errs)
			v = fv.value
		}
		ok := w.value(f, f.Def.Type, v)
		w.path = w.path[:len(w.path)-1]
		// A failed non-null field dooms o, but its siblings are still written so that their errors are reported.
		failed = failed || !ok
		if w.tooLarge() && w.aborted() {
			return false
		}
	}
	if failed {
		w.buf = w.buf[:start]
		w.parts = w.parts[:parts] // o is null: nothing of it comes later
		return false
	}
	w.buf = append(w.buf, '}')
	return true
}

// value writes v as type t and returns false (having written nothing) when the result is null but t is
// non-null, so the caller must become null in turn.
func (w *writer) value(f *Field, t *ast.Type, v any) bool {
	start := len(w.buf)
	null, reported := w.nullable(f, t, v)
	if fe, ok := v.(*fieldError); ok && fe.required {
		w.buf = w.buf[:start]
		return false
	}
	if null && !reported && w.located[pathKey(w.path)] {
		reported = true // the upstream error at this path explains the null
	}
	if null && t.NonNull {
		if !reported {
			w.fail(f, &codedError{code: sources.CodeBadResponse,
				err: fmt.Errorf("cannot return null for non-nullable field %s", w.fieldName(f))})
		}
		w.buf = w.buf[:start]
		return false
	}
	return true
}

// nullable writes v and reports whether it wrote null, and whether an error was already reported for that null.
func (w *writer) nullable(f *Field, t *ast.Type, v any) (null, reported bool) {
	switch e := v.(type) {
	case nil:
		w.buf = append(w.buf, "null"...)
		return true, false
	case *fieldError:
		w.fail(f, e.err)
		w.buf = append(w.buf, "null"...)
		return true, true
	}
	start := len(w.buf)
	if t.Elem != nil {
		list, ok := v.([]any)
		if !ok {
			w.fail(f, badResponse(f, "expected a list, got %s", kindOf(v)))
			w.buf = append(w.buf, "null"...)
			return true, true
		}
		failed := false
		if w.aborted() {
			return true, true
		}
		parts := len(w.parts)
		if w.incremental && f.Stream != nil && t == f.Def.Type {
			// @stream: the first initialCount items now, the rest in a later payload.
			if n := f.Stream.initial(w.vars); n < len(list) {
				w.record(part{field: f, wait: f.Stream.group, items: list[n:], from: n, t: t.Elem})
				list = list[:n]
			}
		}
		w.buf = append(w.buf, '[')
		for i, e := range list {
			if i%stopCheck == stopCheck-1 && w.aborted() {
				return true, true
			}
			if i > 0 {
				w.buf = append(w.buf, ',')
			}
			w.path = append(w.path, ast.PathIndex(i))
			ok := w.value(f, t.Elem, e)
			w.path = w.path[:len(w.path)-1]
			failed = failed || !ok
		}
		if failed {
			w.buf = append(w.buf[:start], "null"...)
			w.parts = w.parts[:parts]
			return true, true
		}
		w.buf = append(w.buf, ']')
		return false, false
	}
	if o, ok := v.(*object); ok {
		if !w.object(o) {
			w.buf = append(w.buf[:start], "null"...)
			return true, true
		}
		return false, false
	}
	if err := w.leaf(f, t, v); err != nil {
		w.fail(f, err)
		w.buf = append(w.buf[:start], "null"...)
		return true, true
	}
	return false, false
}

// leaf coerces and writes a scalar or enum value (GraphQL spec 3.5, result coercion).
func (w *writer) leaf(f *Field, t *ast.Type, v any) error {
	def := w.schema.Types[t.NamedType]
	if def == nil {
		return badResponse(f, "unknown type %s", t.NamedType)
	}
	if def.Kind == ast.Enum {
		s, ok := v.(string)
		if !ok || def.EnumValues.ForName(s) == nil {
			return badResponse(f, "%s is not a value of enum %s", shortJSON(v), def.Name)
		}
		w.buf = appendString(w.buf, s)
		return nil
	}
	switch def.Name {
	case "String":
		switch s := v.(type) {
		case string:
			w.buf = appendString(w.buf, s)
		case json.Number:
			w.buf = appendString(w.buf, s.String())
		case bool:
			w.buf = appendString(w.buf, strconv.FormatBool(s))
		default:
			return badResponse(f, "expected a String, got %s", kindOf(v))
		}
	case "ID":
		switch s := v.(type) {
		case string:
			w.buf = appendString(w.buf, s)
		case json.Number:
			if _, err := s.Int64(); err != nil {
				return badResponse(f, "expected an ID, got the number %s", s)
			}
			w.buf = appendString(w.buf, s.String())
		default:
			return badResponse(f, "expected an ID, got %s", kindOf(v))
		}
	case "Int":
		n, err := toFloat(v)
		if err != nil || n != math.Trunc(n) || n > math.MaxInt32 || n < math.MinInt32 {
			return badResponse(f, "expected an Int (32-bit integer), got %s", shortJSON(v))
		}
		w.buf = strconv.AppendInt(w.buf, int64(n), 10)
	case "Float":
		n, err := toFloat(v)
		if err != nil || math.IsInf(n, 0) || math.IsNaN(n) {
			return badResponse(f, "expected a Float, got %s", shortJSON(v))
		}
		if num, ok := v.(json.Number); ok {
			w.buf = append(w.buf, num...)
		} else {
			w.buf = strconv.AppendFloat(w.buf, n, 'g', -1, 64)
		}
	case "Boolean":
		b, ok := v.(bool)
		if !ok {
			return badResponse(f, "expected a Boolean, got %s", kindOf(v))
		}
		w.buf = strconv.AppendBool(w.buf, b)
	default:
		// A custom scalar passes through as the backend sent it.
		b, err := json.Marshal(v)
		if err != nil {
			return badResponse(f, "cannot encode %s: %s", def.Name, err.Error())
		}
		w.buf = append(w.buf, b...)
	}
	return nil
}

func toFloat(v any) (float64, error) {
	switch n := v.(type) {
	case json.Number:
		return n.Float64()
	case float64:
		return n, nil
	case int64:
		return float64(n), nil
	case int:
		return float64(n), nil
	case string:
		return strconv.ParseFloat(n, 64)
	}
	return 0, errors.New("not a number")
}

func shortJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return kindOf(v)
	}
	if len(b) > 40 {
		return string(b[:37]) + "..."
	}
	return string(b)
}

func (w *writer) fieldName(f *Field) string {
	return f.Parent + "." + f.Name
}

// fail records a field error at the current path with the field's location and a code.
func (w *writer) fail(f *Field, err error) {
	var stop *stopError
	if errors.As(err, &stop) {
		if w.stops == nil {
			w.stops = map[sources.Code]int{}
		}
		if w.stops[stop.code]++; w.stops[stop.code] > maxStopErrors {
			return
		}
	}
	e := &gqlerror.Error{
		Message:    err.Error(),
		Path:       append(ast.Path(nil), w.path...),
		Extensions: map[string]any{},
	}
	if f.Location != nil {
		e.Locations = []gqlerror.Location{{Line: f.Location.Line, Column: f.Location.Column}}
	}
	var se *sources.Error
	var ce *codedError
	var ie *resolvers.InputError
	switch {
	case stop != nil:
		e.Extensions["code"] = string(stop.code)
	case errors.As(err, &se):
		e.Extensions["code"] = string(se.Code)
		if !w.expose {
			e.Message = se.PublicMessage()
			if !w.logged {
				w.logged = true
				w.log.WarnContext(w.client, "upstream request failed", "field", w.fieldName(f), "path", e.Path.String(), "error", err.Error())
			}
		}
		if se.Source != "" {
			e.Extensions["source"] = se.Source
		}
		if se.Status != 0 {
			e.Extensions["status"] = se.Status
		}
		if se.RetryAfter > 0 {
			e.Extensions["retryAfterMs"] = se.RetryAfter.Milliseconds()
		}
	case errors.As(err, &ce):
		e.Extensions["code"] = string(ce.code)
	case errors.As(err, &ie):
		e.Extensions["code"] = "BAD_USER_INPUT"
	default:
		e.Extensions["code"] = "INTERNAL_SERVER_ERROR"
	}
	w.report(e)
}

// report records a located error and counts its size against maxBytes.
func (w *writer) report(e *gqlerror.Error) {
	w.errs = append(w.errs, e)
	w.errBytes += errorBytes(e)
}

// errorBytes estimates the length of e's JSON: its message, path and extensions (an upstream error's carry the
// upstream's own, of any size), plus the punctuation and locations around them.
func errorBytes(e *gqlerror.Error) int64 {
	n := int64(len(e.Message)) + 64
	for _, p := range e.Path {
		if name, ok := p.(ast.PathName); ok {
			n += int64(len(name)) + 3
		} else {
			n += 8
		}
	}
	return n + valueBytes(e.Extensions)
}

// valueBytes estimates the length of a JSON-shaped value's JSON (strings unescaped).
func valueBytes(v any) int64 {
	switch v := v.(type) {
	case string:
		return int64(len(v)) + 3
	case json.Number:
		return int64(len(v)) + 1
	case map[string]any:
		n := int64(2)
		for k, e := range v {
			n += int64(len(k)) + 4 + valueBytes(e)
		}
		return n
	case []any:
		n := int64(2)
		for _, e := range v {
			n += valueBytes(e) + 1
		}
		return n
	}
	return 8
}

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, s[start:i]...)
				b = append(b, `\ufffd`...)
				i += size
				start = i
				continue
			}
			if r == '\u2028' || r == '\u2029' {
				b = append(b, s[start:i]...)
				b = append(b, `\u202`...)
				b = append(b, hex[r&0xF])
				i += size
				start = i
				continue
			}
			i += size
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
