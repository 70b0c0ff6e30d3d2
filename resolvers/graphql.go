package resolvers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/conflux-gql/conflux/respcache"
	"github.com/conflux-gql/conflux/schema"
	"github.com/conflux-gql/conflux/sources"
	"github.com/vektah/gqlparser/v2/ast"
)

// Forward is the part of a client's operation a graphql fetch sends upstream under its root field: the
// sub-selection (client aliases kept, fields bound elsewhere cut, the key fields their bindings read added,
// __typename added for abstract types) and the client variables it uses. The planner builds it once per plan.
type Forward struct {
	// Selection is "{ ... }", empty when the field is a leaf.
	Selection string
	// Variables are the client variables the selection uses, with their types, in order.
	Variables []ForwardVar
	// Literals are the argument values the client wrote inline in the selection: the selection refers to each
	// by its variable, so that no client value is printed into an upstream document (issue 13).
	Literals []ForwardLiteral
	// Uploads says a client variable whose type holds the Upload scalar reaches the fetch (through the selection
	// or the field's arguments): its document may go as a GraphQL multipart request (graphql_upload.go). It is
	// for explain; the request is multipart exactly when its variables hold Upload values.
	Uploads bool
}

// ForwardVar is a client variable passed on as an upstream variable (never inlined).
type ForwardVar struct {
	Name string
	Type string
}

// ForwardLiteral is an inline argument value of a forwarded selection, sent as the upstream variable Name. A
// constant has its Value and Type fixed when planned; a value that contains client variables (Expr) is computed
// for each request, and its type from Pub, the public argument's type (the public schema mirrors the upstream
// one below a forwarded field).
type ForwardLiteral struct {
	Name  string
	Type  string
	Value any
	Pub   *ast.Type
	Expr  *ast.Value
}

// ForwardResult is a graphql fetch's value for one parent and the upstream errors located under it.
type ForwardResult struct {
	Value  any
	Errors []UpstreamError
}

// UpstreamError is an upstream GraphQL error re-based onto the field it belongs to: Path continues the field's
// own response path.
type UpstreamError struct {
	Message    string
	Path       []any
	Extensions map[string]any
}

// graphqlResponse is an upstream answer.
type graphqlResponse struct {
	Data   map[string]json.RawMessage `json:"data"`
	Errors []struct {
		Message    string         `json:"message"`
		Path       []any          `json:"path"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
}

// upstreamCall is one document to send: the text, its variables, and how to split the answer per key.
type upstreamCall struct {
	query string
	vars  map[string]any
}

// rootAlias is the response key of the upstream root field of an unbatched fetch.
const rootAlias = "r"

// FetchGraphQL sends one unbatched graphql fetch for the parent in vs.
func (r *Resolver) FetchGraphQL(ctx context.Context, vs Vars, fw *Forward, clientVars map[string]any) (*ForwardResult, error) {
	args := r.renderArgs(r.Binding.Args, &vs)
	var b docBuilder
	b.start(r, fw, clientVars)
	if err := b.root(rootAlias, r.Binding.UpstreamField, r.argSpecs(false), args, fw.Selection); err != nil {
		return nil, err
	}
	resp, err := r.sendGraphQL(ctx, b.call(), vs.Headers)
	if err != nil {
		return nil, err
	}
	res, err := r.forwardResult(resp)
	if err != nil {
		return nil, r.badGraphQL(err)
	}
	return res, nil
}

// forwardResult reads an upstream answer to a document with the root field under rootAlias: the field's value
// and the errors re-based under it. It fails when the field's JSON does not decode.
func (r *Resolver) forwardResult(resp *graphqlResponse) (*ForwardResult, error) {
	res := &ForwardResult{}
	if raw, ok := resp.Data[rootAlias]; ok {
		v, err := decodeJSON(raw)
		if err != nil {
			return nil, err
		}
		res.Value = v
	}
	for _, e := range resp.Errors {
		res.Errors = append(res.Errors, r.rebase(e.Message, e.Extensions, suffix(e.Path, rootAlias)))
	}
	sortErrors(res.Errors)
	return res, nil
}

// sortErrors orders errors by path, so that answers do not depend on the order in which an upstream server
// happened to resolve list items.
func sortErrors(errs []UpstreamError) {
	sort.SliceStable(errs, func(i, j int) bool { return lessPath(errs[i].Path, errs[j].Path) })
}

func lessPath(a, b []any) bool {
	for k := 0; k < len(a) && k < len(b); k++ {
		x, y := a[k], b[k]
		xn, xok := pathIndex(x)
		yn, yok := pathIndex(y)
		switch {
		case xok && yok && xn != yn:
			return xn < yn
		case !xok || !yok:
			xs, ys := fmt.Sprint(x), fmt.Sprint(y)
			if xs != ys {
				return xs < ys
			}
		}
	}
	return len(a) < len(b)
}

func pathIndex(v any) (int64, bool) {
	switch n := v.(type) {
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	case float64:
		return int64(n), true
	case int:
		return int64(n), true
	}
	return 0, false
}

// graphqlBatch fetches a batch of keys through a graphql source, in the binding's batching mode.
func (r *Resolver) graphqlBatch(ctx context.Context, vs Vars, fw *Forward, clientVars map[string]any, keys []Key) ([]*ForwardResult, error) {
	bt := r.Binding.Batch
	out := make([]*ForwardResult, len(keys))
	for i := range out {
		out[i] = &ForwardResult{}
	}
	var u unplaced
	var b docBuilder
	b.start(r, fw, clientVars)
	switch {
	case bt.Entities != "":
		reps := make([]any, len(keys))
		for i, k := range keys {
			rep := map[string]any{"__typename": bt.Entities}
			parts, _ := k.Value.([]any)
			for j, m := range bt.Match {
				if len(bt.Match) == 1 {
					rep[m[len(m)-1]] = k.Value
				} else if j < len(parts) {
					rep[m[len(m)-1]] = parts[j]
				}
			}
			reps[i] = rep
		}
		if err := b.entities(bt.Entities, r.Binding.UpstreamField, reps, fw.Selection); err != nil {
			return nil, err
		}
		resp, err := r.sendGraphQL(ctx, b.call(), vs.Headers)
		if err != nil {
			return nil, err
		}
		var items []any
		if raw, ok := resp.Data["_entities"]; ok {
			v, err := decodeJSON(raw)
			if err != nil {
				return nil, r.badGraphQL(err)
			}
			items, _ = v.([]any)
		}
		for i := range keys {
			if i < len(items) {
				out[i].Value = Dig(items[i], []string{r.Binding.UpstreamField})
			}
		}
		for _, e := range resp.Errors {
			idx, rest := indexed(e.Path, "_entities")
			if len(rest) > 0 && rest[0] == r.Binding.UpstreamField {
				rest = rest[1:]
			}
			r.attach(out, &u, idx, e.Message, e.Extensions, rest)
		}
	case bt.KeysInArgs():
		kv := vs
		kv.Keys = make([]any, len(keys))
		for i, k := range keys {
			kv.Keys[i] = k.Value
		}
		if err := b.root(rootAlias, r.batchField(), r.argSpecs(true), r.renderArgs(bt.Args, &kv), fw.Selection); err != nil {
			return nil, err
		}
		resp, err := r.sendGraphQL(ctx, b.call(), vs.Headers)
		if err != nil {
			return nil, err
		}
		var answer any
		if raw, ok := resp.Data[rootAlias]; ok {
			if answer, err = decodeJSON(raw); err != nil {
				return nil, r.badGraphQL(err)
			}
		}
		canons := make([]string, len(keys))
		for i, k := range keys {
			canons[i] = k.Canon
		}
		vals, owners, err := r.matchOwners(canons, answer)
		if err != nil {
			return nil, r.badGraphQL(err)
		}
		for i := range keys {
			out[i].Value = vals[i]
		}
		for _, e := range resp.Errors {
			item, rest := indexed(e.Path, rootAlias)
			if item >= 0 && item < len(owners) && owners[item].key >= 0 {
				o := owners[item]
				if r.List {
					rest = append([]any{o.pos}, rest...)
				}
				r.attach(out, &u, o.key, e.Message, e.Extensions, rest)
				continue
			}
			r.attach(out, &u, -1, e.Message, e.Extensions, nil)
		}
	default:
		// One aliased root field per key: _0: field(args of key 0) { ... } _1: ...
		specs := r.argSpecs(true)
		for i, k := range keys {
			args, _ := k.Value.(map[string]any)
			if err := b.root("_"+strconv.Itoa(i), r.batchField(), specs, args, fw.Selection); err != nil {
				return nil, err
			}
		}
		resp, err := r.sendGraphQL(ctx, b.call(), vs.Headers)
		if err != nil {
			return nil, err
		}
		for i := range keys {
			if raw, ok := resp.Data["_"+strconv.Itoa(i)]; ok {
				if out[i].Value, err = decodeJSON(raw); err != nil {
					return nil, r.badGraphQL(err)
				}
			}
		}
		for _, e := range resp.Errors {
			idx := -1
			var rest []any
			if len(e.Path) > 0 {
				if s, ok := e.Path[0].(string); ok && strings.HasPrefix(s, "_") {
					if n, err := strconv.Atoi(s[1:]); err == nil && n < len(keys) {
						idx, rest = n, e.Path[1:]
					}
				}
			}
			r.attach(out, &u, idx, e.Message, e.Extensions, rest)
		}
	}
	r.spread(out, &u)
	for _, o := range out {
		sortErrors(o.Errors)
	}
	return out, nil
}

// batchField is the upstream root field of the batched call.
func (r *Resolver) batchField() string {
	if f := r.Binding.Batch.UpstreamField; f != "" {
		return f
	}
	return r.Binding.UpstreamField
}

// GraphQLKey renders a parent's batch key for a graphql binding. In aliased mode (no {{keys}} in the batch
// args) the key's value is the parent's rendered args, sent under that key's alias.
func (r *Resolver) GraphQLKey(vs Vars) (Key, bool) {
	k, ok := r.Key(vs)
	if !ok {
		return k, false
	}
	bt := r.Binding.Batch
	if bt.Entities == "" && !bt.KeysInArgs() {
		args := r.Binding.Args
		if bt.Args != nil {
			args = bt.Args
		}
		k.Value = r.renderArgs(args, &vs)
	}
	return k, true
}

// maxUnplacedErrors bounds the distinct errors of a batch answer that it does not place, each of which every
// parent of the batch reports: a hostile upstream answering 100,000 distinct messages would otherwise make
// parents × 100,000 errors (and, deduplicated pairwise, parents × 100,000² comparisons). The rest are counted in
// one more error.
const maxUnplacedErrors = 10

// unplaced collects the errors of a batch answer that it does not place, deduplicated by message.
type unplaced struct {
	errs []UpstreamError
	seen map[string]bool
	more int
}

// attach adds an upstream error to key idx, or, when idx is -1 (an error the answer does not place), to u, whose
// errors spread gives every key.
func (r *Resolver) attach(out []*ForwardResult, u *unplaced, idx int, msg string, ext map[string]any, rest []any) {
	if idx >= 0 && idx < len(out) {
		out[idx].Errors = append(out[idx].Errors, r.rebase(msg, ext, rest))
		return
	}
	switch {
	case u.seen[msg]:
	case len(u.errs) == maxUnplacedErrors:
		u.more++
	default:
		if u.seen == nil {
			u.seen = map[string]bool{}
		}
		u.seen[msg] = true
		u.errs = append(u.errs, r.rebase(msg, ext, nil))
	}
}

// spread gives every key the errors the answer does not place (e.g. an item upstream nulled in a list-argument
// batch, so its match field is gone): every parent of the batch reports each once, unless it already has an
// error of that message without a path.
func (r *Resolver) spread(out []*ForwardResult, u *unplaced) {
	if u.more > 0 {
		u.errs = append(u.errs, r.rebase(fmt.Sprintf("%d more upstream errors", u.more), nil, nil))
	}
	for _, o := range out {
		placed := len(o.Errors)
		for _, e := range u.errs {
			dup := false
			for _, have := range o.Errors[:placed] {
				if have.Message == e.Message && len(have.Path) == 0 {
					dup = true
					break
				}
			}
			if !dup {
				o.Errors = append(o.Errors, e)
			}
		}
	}
}

func (r *Resolver) rebase(msg string, ext map[string]any, rest []any) UpstreamError {
	e := UpstreamError{Message: msg, Path: rest, Extensions: map[string]any{"code": "UPSTREAM_GRAPHQL_ERROR", "source": r.Binding.Source}}
	if len(ext) > 0 {
		e.Extensions["upstream"] = ext
	}
	return e
}

// suffix returns the part of an upstream path after the root alias (nil when the path is elsewhere).
func suffix(path []any, alias string) []any {
	if len(path) > 0 && path[0] == alias {
		return path[1:]
	}
	return nil
}

// indexed splits a path [alias, i, rest...] into i and rest; i is -1 when the path does not have that form.
func indexed(path []any, alias string) (int, []any) {
	if len(path) < 2 || path[0] != alias {
		return -1, nil
	}
	switch n := path[1].(type) {
	case float64:
		return int(n), path[2:]
	case json.Number:
		i, _ := n.Int64()
		return int(i), path[2:]
	}
	return -1, nil
}

type owner struct{ key, pos int }

// matchOwners is Match that also says, for each item of the answer, which key it went to and at which position.
func (r *Resolver) matchOwners(keys []string, answer any) ([]any, []owner, error) {
	vals, err := r.Match(keys, answer)
	if err != nil {
		return nil, nil, err
	}
	items, _ := answer.([]any)
	owners := make([]owner, len(items))
	for i := range owners {
		owners[i] = owner{key: -1}
	}
	if r.Binding.Batch.Match == nil {
		for i := range items {
			if i < len(keys) {
				owners[i] = owner{key: i}
			}
		}
		return vals, owners, nil
	}
	index := map[string]int{}
	for i, k := range keys {
		index[k] = i
	}
	pos := make([]int, len(keys))
	for i, item := range items {
		var parts []string
		for _, m := range r.Binding.Batch.Match {
			parts = append(parts, canon(Dig(item, m)))
		}
		if k, ok := index[strings.Join(parts, "\x1f")]; ok {
			owners[i] = owner{key: k, pos: pos[k]}
			pos[k]++
		}
	}
	return vals, owners, nil
}

func (r *Resolver) renderArgs(args []schema.ValueField, vs *Vars) map[string]any {
	out := make(map[string]any, len(args))
	for _, a := range args {
		v := renderValue(a.Value, vs)
		if v == nil && a.Value.Kind == schema.ValueTemplate {
			continue // an absent argument is left out, not sent as null
		}
		out[a.Name] = v
	}
	return out
}

func (r *Resolver) badGraphQL(err error) error {
	return &sources.Error{Source: r.Binding.Source, Code: sources.CodeBadResponse, Method: http.MethodPost, Err: err}
}

// sendGraphQL posts a document and decodes the GraphQL answer; an HTTP-level failure is a source error.
func (r *Resolver) sendGraphQL(ctx context.Context, call upstreamCall, incoming http.Header) (*graphqlResponse, error) {
	req := &sources.Request{Timeout: r.Binding.Timeout, RetrySafe: r.Binding.RetrySafe}
	return postGraphQL(ctx, r.Source, r.Binding.Source, req, call, r.forwardHeaders(incoming, nil))
}

// postGraphQL posts call to src with req's settings and decodes the GraphQL answer. A request-level failure
// (data null and an error without a path: the upstream refused the document) fails the call. Variables holding
// Uploads make it a GraphQL multipart request (graphql_upload.go).
func postGraphQL(ctx context.Context, src sources.Source, name string, req *sources.Request, call upstreamCall, header http.Header) (*graphqlResponse, error) {
	if err := graphqlBody(req, call, header); err != nil { // JSON, or multipart with Uploads (graphql_upload.go)
		return nil, err
	}
	respcache.FromContext(ctx).Uncached() // GraphQL answers are not cached: the response's Cache-Control is no-store
	resp, err := src.Do(ctx, req)
	if err != nil {
		return nil, sources.AsError(name, err)
	}
	var out graphqlResponse
	dec := json.NewDecoder(bytes.NewReader(resp.Body))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		return nil, &sources.Error{Source: name, Code: sources.CodeBadResponse, Method: http.MethodPost, Err: fmt.Errorf("invalid GraphQL response: %w", err)}
	}
	if out.Data == nil && len(out.Errors) > 0 && len(out.Errors[0].Path) == 0 {
		return nil, &sources.Error{Source: name, Code: sources.CodeBadResponse, Method: http.MethodPost,
			Err: fmt.Errorf("upstream refused the request: %s", out.Errors[0].Message)}
	}
	return &out, nil
}
