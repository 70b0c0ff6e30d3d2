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
	res := &ForwardResult{}
	if raw, ok := resp.Data[rootAlias]; ok {
		if res.Value, err = decodeJSON(raw); err != nil {
			return nil, r.badGraphQL(err)
		}
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
// (data null and an error without a path: the upstream refused the document) fails the call.
func postGraphQL(ctx context.Context, src sources.Source, name string, req *sources.Request, call upstreamCall, header http.Header) (*graphqlResponse, error) {
	body, err := json.Marshal(map[string]any{"query": call.query, "variables": call.vars})
	if err != nil {
		return nil, fmt.Errorf("encode upstream request: %w", err)
	}
	req.Method, req.Body, req.Header = http.MethodPost, body, header
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

// GraphQLAnswer is a subgraph's answer to a federated fetch: its data by response key, and its errors as sent
// (paths from the document's root).
type GraphQLAnswer struct {
	Data   map[string]any
	Errors []UpstreamError
}

// PostGraphQL sends a federated fetch's document to the graphql source named source (issue 14): the query, its
// variables, and the incoming headers the source forwards. retrySafe allows retries (queries; not mutations).
func (s *Set) PostGraphQL(ctx context.Context, source, query string, vars map[string]any, incoming http.Header, retrySafe bool) (*GraphQLAnswer, error) {
	src := s.sources[source]
	if src == nil {
		return nil, &sources.Error{Source: source, Code: sources.CodeUnavailable, Err: fmt.Errorf("source %q was not built", source)}
	}
	var header http.Header
	for _, name := range s.forward[source] {
		if vals := incoming.Values(name); len(vals) > 0 {
			if header == nil {
				header = http.Header{}
			}
			header[name] = vals
		}
	}
	resp, err := postGraphQL(ctx, src, source, &sources.Request{RetrySafe: retrySafe}, upstreamCall{query: query, vars: vars}, header)
	if err != nil {
		return nil, err
	}
	out := &GraphQLAnswer{Data: make(map[string]any, len(resp.Data))}
	for k, raw := range resp.Data {
		v, err := decodeJSON(raw)
		if err != nil {
			return nil, &sources.Error{Source: source, Code: sources.CodeBadResponse, Method: http.MethodPost, Err: err}
		}
		out.Data[k] = v
	}
	for _, e := range resp.Errors {
		out.Errors = append(out.Errors, UpstreamError{Message: e.Message, Path: e.Path, Extensions: e.Extensions})
	}
	return out, nil
}

// forwardHeaders copies the incoming headers the source forwards into h.
func (r *Resolver) forwardHeaders(incoming, h http.Header) http.Header {
	for _, name := range r.forward {
		if vals := incoming.Values(name); len(vals) > 0 {
			if h == nil {
				h = http.Header{}
			}
			h[name] = vals
		}
	}
	return h
}

// docBuilder writes one upstream document. Not safe for concurrent use.
//
// Every value a client can influence goes into the variables, never the text (issue 13): client variables and
// the inline arguments of the forwarded selection (Forward), and the binding's argument values, typed by the
// upstream schema when it is known and otherwise by the public schema (argSpec). What is left as text is the
// configuration's own structure and the values no type can be named for, printed by writeLiteral.
type docBuilder struct {
	r      *Resolver
	fw     *Forward
	opType string
	defs   []string
	vars   map[string]any
	body   strings.Builder
}

func (b *docBuilder) start(r *Resolver, fw *Forward, clientVars map[string]any) {
	b.r, b.fw, b.opType, b.vars = r, fw, "query", map[string]any{}
	if r.mutation {
		b.opType = "mutation"
	}
	for _, v := range fw.Variables {
		b.defs = append(b.defs, "$"+v.Name+": "+v.Type)
		if val, ok := clientVars[v.Name]; ok {
			b.vars[v.Name] = val
		}
	}
	for i := range fw.Literals {
		l := &fw.Literals[i]
		val, typ := l.Value, l.Type
		if l.Expr != nil {
			val = LiteralValue(l.Expr, clientVars)
			typ = VarType(l.Pub, val)
		}
		b.defs = append(b.defs, "$"+l.Name+": "+typ)
		b.vars[l.Name] = val
	}
}

// root writes `alias: field(arg: $var, …) selection`; specs are sorted by name, args are the rendered values.
func (b *docBuilder) root(alias, field string, specs []argSpec, args map[string]any, selection string) error {
	if !IsName(field) {
		return fmt.Errorf("binding %s: upstream field %q is not a GraphQL name", b.r.Binding.Name(), field)
	}
	b.body.WriteString(alias)
	b.body.WriteString(": ")
	b.body.WriteString(field)
	open := false
	for i := range specs {
		s := &specs[i]
		v, ok := args[s.name]
		if !ok {
			continue
		}
		if !IsName(s.name) {
			return fmt.Errorf("binding %s: upstream argument %q is not a GraphQL name", b.r.Binding.Name(), s.name)
		}
		if open {
			b.body.WriteString(", ")
		} else {
			b.body.WriteByte('(')
			open = true
		}
		b.body.WriteString(s.name)
		b.body.WriteString(": ")
		name := "_" + alias + "_" + s.name
		if s.typ != "" {
			b.variable(name, s.typ, v)
			continue
		}
		if err := b.value(s.node, name, v); err != nil {
			return err
		}
	}
	if open {
		b.body.WriteByte(')')
	}
	b.body.WriteByte(' ')
	b.body.WriteString(selection)
	b.body.WriteByte(' ')
	return nil
}

// value writes a binding argument's value when the upstream schema is unknown: a variable where n names the
// value's type, n's own structure around its parts for a configured object or list, and a literal otherwise.
func (b *docBuilder) value(n *argNode, name string, v any) error {
	switch {
	case v == nil:
		b.body.WriteString("null")
		return nil
	case n == nil:
	case n.pub != nil:
		b.variable(name, VarType(n.pub, v), v)
		return nil
	case n.object:
		m, ok := v.(map[string]any)
		if !ok {
			break
		}
		b.body.WriteByte('{')
		first := true
		for _, f := range n.fields {
			fv, ok := m[f.name]
			if !ok {
				continue
			}
			if !IsName(f.name) {
				return fmt.Errorf("binding %s: the argument key %q is not a GraphQL name", b.r.Binding.Name(), f.name)
			}
			if !first {
				b.body.WriteString(", ")
			}
			first = false
			b.body.WriteString(f.name)
			b.body.WriteString(": ")
			if err := b.value(f.node, name+"_"+f.name, fv); err != nil {
				return err
			}
		}
		b.body.WriteByte('}')
		return nil
	case n.list != nil:
		l, ok := v.([]any)
		if !ok || len(l) != len(n.list) {
			break
		}
		b.body.WriteByte('[')
		for i, e := range l {
			if i > 0 {
				b.body.WriteString(", ")
			}
			if err := b.value(n.list[i], name+"_"+strconv.Itoa(i), e); err != nil {
				return err
			}
		}
		b.body.WriteByte(']')
		return nil
	}
	if err := writeLiteral(&b.body, v); err != nil {
		return &InputError{Binding: b.r.Binding.Name(), Msg: err.Error()}
	}
	return nil
}

// variable writes a reference to a new upstream variable holding v. A name that a client variable or an
// earlier variable of the document already has gets underscores in front until it is free.
func (b *docBuilder) variable(name, typ string, v any) {
	name = b.free(name)
	b.defs = append(b.defs, "$"+name+": "+typ)
	b.vars[name] = v
	b.body.WriteByte('$')
	b.body.WriteString(name)
}

func (b *docBuilder) free(name string) string {
	for {
		_, taken := b.vars[name]
		for i := 0; !taken && i < len(b.fw.Variables); i++ {
			taken = b.fw.Variables[i].Name == name
		}
		if !taken {
			return name
		}
		name = "_" + name
	}
}

func (b *docBuilder) entities(typ, field string, reps []any, selection string) error {
	if !IsName(typ) || !IsName(field) {
		return fmt.Errorf("binding %s: upstream entity %q or field %q is not a GraphQL name", b.r.Binding.Name(), typ, field)
	}
	b.body.WriteString("_entities(representations: ")
	b.variable("_representations", "[_Any!]!", reps)
	b.body.WriteString(") { ... on " + typ + " { " + field + " " + selection + " } }")
	return nil
}

func (b *docBuilder) call() upstreamCall {
	var q strings.Builder
	q.WriteString(b.opType)
	if len(b.defs) > 0 {
		q.WriteString("(" + strings.Join(b.defs, ", ") + ")")
	}
	q.WriteString(" { " + strings.TrimSpace(b.body.String()) + " }")
	return upstreamCall{query: q.String(), vars: b.vars}
}

// argSpec says how one argument of an upstream root field is sent: when the upstream schema is known, the
// whole value is one variable of the upstream argument's type (typ); else node says (issue 13).
type argSpec struct {
	name string
	typ  string
	node *argNode
}

// argNode is how a binding's argument value is sent when the upstream schema is unknown. A value whose type
// can be named from the public schema (pub: a client argument {{args.x}} or a field inside it, a parent field
// {{parent.x}} the parent's backend fills, {{keys}} of such a key) is a variable of that type, with non-null
// added wherever the value is non-null (VarType), so that it fits whichever nullability the upstream declares;
// a configured object or list is printed around its parts; anything else (configured scalars, text templates,
// {{env.*}} and {{headers.*}} values, values of a custom scalar's insides) is a literal, printed by
// writeLiteral. The public type is the best guess there is: an upstream that names the type otherwise refuses
// the document (a clear error, and a reason to give the source an sdl), where a literal with unchecked keys
// would have let a client add root fields.
type argNode struct {
	pub    *ast.Type
	object bool
	fields []argField
	list   []*argNode
}

type argField struct {
	name string
	node *argNode
}

// graphqlArgs are a graphql binding's argument specs, made once when the resolver is built.
type graphqlArgs struct {
	args, batch []argSpec
}

// newGraphQLArgs prepares how b's arguments (and its batch's) are sent to upstream (nil when unknown).
func newGraphQLArgs(sg *schema.Supergraph, b *schema.Binding, upstream *ast.Schema, mutation bool) *graphqlArgs {
	g := &graphqlArgs{args: argSpecsFor(sg, b, upstream, mutation, b.UpstreamField, b.Args, nil)}
	if bt := b.Batch; bt != nil {
		args, field := b.Args, b.UpstreamField
		if bt.Args != nil {
			args = bt.Args
		}
		if bt.UpstreamField != "" {
			field = bt.UpstreamField
		}
		g.batch = argSpecsFor(sg, b, upstream, mutation, field, args, bt.Key)
	}
	return g
}

// argSpecs returns the specs of the binding's args, or of its batch's when batch is true.
func (r *Resolver) argSpecs(batch bool) []argSpec {
	g := r.gql
	if g == nil {
		// A resolver not built by New: no public types to go by, so values the upstream types do not cover are
		// literals.
		g = newGraphQLArgs(nil, r.Binding, r.upstream, r.mutation)
	}
	if batch {
		return g.batch
	}
	return g.args
}

func argSpecsFor(sg *schema.Supergraph, b *schema.Binding, upstream *ast.Schema, mutation bool, field string, args []schema.ValueField, keys []*schema.Template) []argSpec {
	out := make([]argSpec, 0, len(args))
	for _, a := range args {
		s := argSpec{name: a.Name, typ: upstreamArgType(upstream, mutation, field, a.Name)}
		if s.typ == "" {
			s.node = argNodeFor(sg, b, a.Value, keys)
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

func upstreamArgType(up *ast.Schema, mutation bool, field, arg string) string {
	if up == nil {
		return ""
	}
	root := up.Query
	if mutation {
		root = up.Mutation
	}
	if root == nil {
		return ""
	}
	f := root.Fields.ForName(field)
	if f == nil {
		return ""
	}
	if a := f.Arguments.ForName(arg); a != nil {
		return a.Type.String()
	}
	return ""
}

func argNodeFor(sg *schema.Supergraph, b *schema.Binding, v *schema.Value, keys []*schema.Template) *argNode {
	if v == nil {
		return nil
	}
	switch v.Kind {
	case schema.ValueTemplate:
		if one := v.Template.Single(); one != nil {
			if t := publicType(sg, b, one, keys); t != nil {
				return &argNode{pub: t}
			}
		}
	case schema.ValueObject:
		n := &argNode{object: true}
		for _, f := range v.Fields {
			n.fields = append(n.fields, argField{name: f.Name, node: argNodeFor(sg, b, f.Value, keys)})
		}
		return n
	case schema.ValueList:
		n := &argNode{list: make([]*argNode, len(v.List))}
		for i, e := range v.List {
			n.list[i] = argNodeFor(sg, b, e, keys)
		}
		return n
	}
	return nil
}

// publicType is the public schema's type of a template variable's value, or nil when it cannot be named.
func publicType(sg *schema.Supergraph, b *schema.Binding, v *schema.Var, keys []*schema.Template) *ast.Type {
	if sg == nil || sg.Schema == nil {
		return nil
	}
	parent := sg.Schema.Types[b.Type]
	switch v.Scope {
	case schema.ScopeArgs:
		if parent == nil {
			return nil
		}
		f := parent.Fields.ForName(b.Field)
		if f == nil {
			return nil
		}
		a := f.Arguments.ForName(v.Path[0])
		if a == nil {
			return nil
		}
		return inputPath(sg.Schema, a.Type, v.Path[1:])
	case schema.ScopeParent:
		// The parent object is its backend's answer: a field's key holds that field's value only when no binding
		// fills the field some other way.
		return typeAt(sg.Schema, &ast.Type{NamedType: b.Type}, v.Path, ast.Object, func(def *ast.Definition, field string) bool {
			return sg.Binding(def.Name, field) == nil
		})
	case schema.ScopeKeys:
		if len(keys) != 1 || keys[0].Single() == nil {
			return nil
		}
		k := publicType(sg, b, keys[0].Single(), nil)
		if k == nil {
			return nil
		}
		return ast.ListType(k, nil)
	}
	return nil
}

// inputPath follows path (input fields, list indexes) from type t; nil where it leaves what the schema types.
func inputPath(s *ast.Schema, t *ast.Type, path []string) *ast.Type {
	return typeAt(s, t, path, ast.InputObject, nil)
}

// typeAt follows path (fields of kind definitions, list indexes) from type t; nil where it leaves what the schema
// types, or where follow (when given) refuses a field.
func typeAt(s *ast.Schema, t *ast.Type, path []string, kind ast.DefinitionKind, follow func(def *ast.Definition, field string) bool) *ast.Type {
	for _, p := range path {
		if t.Elem != nil {
			if _, err := strconv.Atoi(p); err != nil {
				return nil
			}
			t = t.Elem
			continue
		}
		def := s.Types[t.NamedType]
		if def == nil || def.Kind != kind || (follow != nil && !follow(def, p)) {
			return nil
		}
		f := def.Fields.ForName(p)
		if f == nil {
			return nil
		}
		t = f.Type
	}
	return t
}
