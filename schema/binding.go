package schema

import (
	"net/http"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Binding says how one field (Type.field) is filled. It is immutable once loaded and safe for concurrent use.
//
// A binding with a Source fetches; one with only From (or no binding at all) reads the parent object; one with
// Value answers a constant (which may read args and parent through templates).
type Binding struct {
	Type  string
	Field string
	// Source names the backend; empty for From and Value bindings.
	Source string
	// Request is how to call an HTTP source for one parent.
	Request
	// Batch, when set, fetches for all parents at once.
	Batch *Batch
	// From is the dotted path into the parent object to read instead of the field's own name.
	From []string
	// UpstreamField and Args call an upstream GraphQL source.
	UpstreamField string
	Args          []ValueField
	// Value is the constant answer of a static binding.
	Value *Value
	// Discriminator picks the concrete type of an abstract field's items when they carry no __typename.
	Discriminator *Discriminator
	// Timeout, when set, bounds this binding's calls below the source's timeout.
	Timeout time.Duration
	// RetrySafe lets a non-idempotent request (POST) be retried.
	RetrySafe bool
	// Fallback, when set, answers the field when its fetch fails (no error is reported).
	Fallback *Value
	// Cache, when set, caches the binding's backend answers (issue 15, package respcache).
	Cache *CacheConfig
	// Public lets cached answers be shared across credentials (Authorization, cookies).
	Public bool
	// Required makes a failed fetch null the parent object, as a non-null field's failure would.
	Required bool
	// ListSize tells the cost estimate how long the field's list is; nil means the server's defaultListSize
	// (or the value of a first/last/limit argument).
	ListSize *ListSize
	// Subscribe says how a Subscription field's events are read and buffered (issue 17); nil elsewhere, and for
	// a graphql binding that keeps the defaults.
	Subscribe *Subscribe
	// Federated marks a binding derived from the supergraph (issue 14): a root field that subgraph Source
	// resolves. The planner plans the whole federated selection below it (graph/federation*.go).
	Federated bool
	Pos       Position

	// given records which keys the file set, including those whose value was invalid.
	given map[string]bool
}

// Name returns "Type.field".
func (b *Binding) Name() string { return b.Type + "." + b.Field }

// Fetches reports whether the binding calls a source.
func (b *Binding) Fetches() bool { return b.Source != "" }

// Request describes one backend call of an HTTP source. In a Batch, it is the batched call, with every key the
// batch left out inherited from the binding.
type Request struct {
	Method  string
	Path    *Template
	Query   []Param
	Headers []Param
	Body    *Value
	// Select is the dotted path of the answer inside the response body; empty for the whole body.
	Select []string
}

// Param is one query parameter or header. A parameter with several values, or whose single value is a list
// (such as {{keys}}), is repeated.
type Param struct {
	Name   string
	Values []*Template
}

// Batch fetches a field for many parents with one call (DESIGN.md, batch).
type Batch struct {
	// Key is the template (or, for a composite key, templates) that identifies a parent's request.
	Key []*Template
	// Match is the item field (or fields, one per key part) equal to the key; nil matches by position.
	Match [][]string
	// MaxSize splits larger key sets into parallel calls; 0 means no limit.
	MaxSize int
	Request
	// Args overrides a graphql binding's args for the batched call; with {{keys}} in them, one root field
	// takes every key (list-argument batching), else each key gets its own aliased root field.
	Args []ValueField
	// UpstreamField overrides the binding's field for the batched call (e.g. ticketsByCustomers).
	UpstreamField string
	// Entities names the upstream entity type of an Apollo Federation subgraph: the batch is one
	// _entities(representations:) call, each representation {__typename: Entities, <match>: <key>}.
	Entities string
	Pos      Position
}

// KeysInArgs reports whether the batch's args send {{keys}} (list-argument batching).
func (bt *Batch) KeysInArgs() bool {
	for _, a := range bt.Args {
		for _, v := range a.Value.Vars() {
			if v.Scope == ScopeKeys {
				return true
			}
		}
	}
	return false
}

// Discriminator maps a field of each item to a concrete GraphQL type.
type Discriminator struct {
	Field []string
	Types map[string]string
	Pos   Position
}

// ListSize is a list field's size hint for the static cost estimate, as Apollo's @listSize directive gives it:
// the value of the first slicing argument the operation sets, else AssumedSize.
type ListSize struct {
	// AssumedSize is the list length assumed when no slicing argument is set; 0 means the server default.
	AssumedSize int
	// SlicingArguments name Int arguments of the field that bound the list's length (e.g. first, limit).
	SlicingArguments []string
	Pos              Position
}

var (
	bindingKeys = []string{"source", "method", "path", "query", "headers", "body", "select", "batch", "from", "field", "args", "value", "discriminator",
		"timeout", "retrySafe", "fallback", "required", "listSize", "cache", "public", "subscribe"}
	listSizeKeys = []string{"assumedSize", "slicingArguments"}
	cacheKeys    = []string{"ttl", "honorCacheControl"}
	batchKeys    = []string{"key", "match", "maxSize", "method", "path", "query", "headers", "body", "select", "args", "entities", "field"}
	methods      = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions}
)

func (d *decoder) binding(e entry) *Binding {
	path := "bindings." + e.key
	b := &Binding{Pos: d.pos(e.keyN)}
	typ, field, ok := strings.Cut(e.key, ".")
	if !ok || typ == "" || field == "" || strings.Contains(field, ".") {
		d.errorf(b.Pos, path, "a binding key is Type.field, e.g. Customer.orders")
		return nil
	}
	b.Type, b.Field = typ, field
	entries, ok := d.mapping(e.value, path, bindingKeys)
	if !ok {
		return nil
	}
	var batchN *yaml.Node
	b.given = map[string]bool{}
	for _, f := range entries {
		b.given[f.key] = true
		p := join(path, f.key)
		switch f.key {
		case "source":
			b.Source, _ = d.str(f.value, p)
		case "field":
			b.UpstreamField, _ = d.str(f.value, p)
		case "args":
			args, _ := d.mapping(f.value, p, nil)
			for _, a := range args {
				if v, ok := d.value(a.value, join(p, a.key)); ok {
					b.Args = append(b.Args, ValueField{Name: a.key, Value: v})
				}
			}
		case "from":
			if s, ok := d.str(f.value, p); ok {
				b.From = splitPath(s)
				if b.From == nil {
					d.errorf(d.pos(f.value), p, "from is a dotted path into the parent object, e.g. name or profile.name")
				}
			}
		case "value":
			b.Value, _ = d.value(f.value, p)
		case "discriminator":
			b.Discriminator = d.discriminator(f.value, p)
		case "timeout":
			b.Timeout, _ = d.duration(f.value, p)
		case "retrySafe":
			b.RetrySafe, _ = d.boolean(f.value, p)
		case "fallback":
			b.Fallback, _ = d.value(f.value, p)
		case "required":
			b.Required, _ = d.boolean(f.value, p)
		case "listSize":
			b.ListSize = d.listSize(f.value, p)
		case "cache":
			b.Cache = d.cache(f.value, p)
		case "public":
			b.Public, _ = d.boolean(f.value, p)
		case "batch":
			batchN = f.value
		case "subscribe":
			b.Subscribe = d.subscribe(f.value, p)
		default:
			d.requestKey(f, p, &b.Request)
		}
	}
	if batchN != nil {
		b.Batch = d.batch(batchN, join(path, "batch"), b.Request)
	}
	return b
}

// CacheConfig is a binding's `cache`: how long its backend answers are kept (issue 15).
type CacheConfig struct {
	// TTL is how long an answer is kept; with HonorCacheControl it is the default (no max-age from the backend)
	// and the cap.
	TTL time.Duration
	// HonorCacheControl takes the lifetime from the backend's Cache-Control (s-maxage, max-age, no-store,
	// no-cache, private) or Expires.
	HonorCacheControl bool
	Pos               Position
}

// cache decodes `cache: {ttl, honorCacheControl}`: at least one of them.
func (d *decoder) cache(n *yaml.Node, path string) *CacheConfig {
	c := &CacheConfig{Pos: d.pos(resolve(n))}
	entries, ok := d.mapping(n, path, cacheKeys)
	if !ok {
		return nil
	}
	for _, e := range entries {
		p := join(path, e.key)
		switch e.key {
		case "ttl":
			c.TTL, _ = d.duration(e.value, p)
		case "honorCacheControl":
			c.HonorCacheControl, _ = d.boolean(e.value, p)
		}
	}
	if c.TTL <= 0 && !c.HonorCacheControl {
		d.errorf(c.Pos, path, "cache needs a positive ttl (e.g. {ttl: 30s}) or honorCacheControl: true")
		return nil
	}
	return c
}

// listSize decodes `listSize`: an integer (the assumed size) or {assumedSize, slicingArguments}.
func (d *decoder) listSize(n *yaml.Node, path string) *ListSize {
	ls := &ListSize{Pos: d.pos(n)}
	if r := resolve(n); r.Kind == yaml.ScalarNode {
		ls.AssumedSize, _ = d.integer(n, path, 1)
		return ls
	}
	entries, _ := d.mapping(n, path, listSizeKeys)
	for _, e := range entries {
		p := join(path, e.key)
		switch e.key {
		case "assumedSize":
			ls.AssumedSize, _ = d.integer(e.value, p, 1)
		case "slicingArguments":
			ls.SlicingArguments, _ = d.strings(e.value, p)
		}
	}
	return ls
}

// requestKey decodes one of method, path, query, headers, body and select into r.
func (d *decoder) requestKey(f entry, p string, r *Request) {
	switch f.key {
	case "method":
		if m, ok := d.str(f.value, p); ok {
			m = strings.ToUpper(m)
			if !contains(methods, m) {
				d.errorf(d.pos(f.value), p, "unknown HTTP method %q%s", m, suggest(m, methods))
			}
			r.Method = m
		}
	case "path":
		if t, ok := d.template(f.value, p); ok {
			if !strings.HasPrefix(t.Raw, "/") {
				d.errorf(t.Pos, p, "path %q must start with /", t.Raw)
			}
			if strings.ContainsAny(t.Raw, "?#") {
				d.errorf(t.Pos, p, "path %q holds a query or fragment: put parameters under query:", t.Raw)
			}
			r.Path = t
		}
	case "query", "headers":
		params := d.params(f.value, p)
		if f.key == "query" {
			r.Query = params
		} else {
			r.Headers = params
		}
	case "body":
		r.Body, _ = d.value(f.value, p)
	case "select":
		if s, ok := d.str(f.value, p); ok {
			r.Select = splitPath(s)
		}
	}
}

func (d *decoder) params(n *yaml.Node, path string) []Param {
	entries, _ := d.mapping(n, path, nil)
	params := make([]Param, 0, len(entries))
	for _, e := range entries {
		p := join(path, e.key)
		v := resolve(e.value)
		var nodes []*yaml.Node
		if v.Kind == yaml.SequenceNode {
			nodes = v.Content
		} else {
			nodes = []*yaml.Node{v}
		}
		param := Param{Name: e.key}
		for _, vn := range nodes {
			if vn.Kind != yaml.ScalarNode || vn.Tag == "!!null" {
				d.errorf(d.pos(vn), p, "expected a string, number or list of them, got %s", kindName(vn))
				continue
			}
			t, err := ParseTemplate(vn.Value)
			if err != nil {
				d.errorf(d.pos(vn), p, "%s", err.Error())
				continue
			}
			t.Pos = d.pos(vn)
			param.Values = append(param.Values, t)
		}
		params = append(params, param)
	}
	return params
}

func (d *decoder) batch(n *yaml.Node, path string, inherit Request) *Batch {
	bt := &Batch{Pos: d.pos(resolve(n)), Request: inherit}
	entries, ok := d.mapping(n, path, batchKeys)
	if !ok {
		return nil
	}
	for _, f := range entries {
		p := join(path, f.key)
		switch f.key {
		case "key":
			v := resolve(f.value)
			nodes := []*yaml.Node{v}
			if v.Kind == yaml.SequenceNode {
				nodes = v.Content
			}
			for _, kn := range nodes {
				if t, ok := d.template(kn, p); ok {
					bt.Key = append(bt.Key, t)
				}
			}
		case "match":
			ms, _ := d.strings(f.value, p)
			for _, m := range ms {
				bt.Match = append(bt.Match, splitPath(m))
			}
		case "maxSize":
			bt.MaxSize, _ = d.integer(f.value, p, 1)
		case "args":
			args, _ := d.mapping(f.value, p, nil)
			bt.Args = []ValueField{}
			for _, a := range args {
				if v, ok := d.value(a.value, join(p, a.key)); ok {
					bt.Args = append(bt.Args, ValueField{Name: a.key, Value: v})
				}
			}
		case "entities":
			bt.Entities, _ = d.str(f.value, p)
		case "field":
			bt.UpstreamField, _ = d.str(f.value, p)
		default:
			d.requestKey(f, p, &bt.Request)
		}
	}
	if len(bt.Key) == 0 {
		d.errorf(bt.Pos, path, "batch needs `key:`, the template that tells parents apart, e.g. key: \"{{parent.id}}\"")
	}
	if bt.Match != nil && len(bt.Match) != len(bt.Key) {
		d.errorf(bt.Pos, path, "batch has %d key parts but %d match fields: give one match field per key part", len(bt.Key), len(bt.Match))
	}
	return bt
}

func (d *decoder) discriminator(n *yaml.Node, path string) *Discriminator {
	disc := &Discriminator{Pos: d.pos(resolve(n)), Types: map[string]string{}}
	entries, ok := d.mapping(n, path, []string{"field", "types"})
	if !ok {
		return nil
	}
	for _, e := range entries {
		p := join(path, e.key)
		switch e.key {
		case "field":
			if s, ok := d.str(e.value, p); ok {
				disc.Field = splitPath(s)
			}
		case "types":
			ts, _ := d.mapping(e.value, p, nil)
			for _, t := range ts {
				if s, ok := d.str(t.value, join(p, t.key)); ok {
					disc.Types[t.key] = s
				}
			}
		}
	}
	if disc.Field == nil || len(disc.Types) == 0 {
		d.errorf(disc.Pos, path, "a discriminator needs `field:` (the item field to read) and `types:` (value: GraphQL type)")
		return nil
	}
	return disc
}

// splitPath splits a dotted path; it returns nil for an empty or malformed one.
func splitPath(s string) []string {
	if s == "" {
		return nil
	}
	parts := strings.Split(s, ".")
	for _, p := range parts {
		if p == "" {
			return nil
		}
	}
	return parts
}

// Templates returns every template of the binding: its request's, its args', its value's and fallback's, and its
// batch's (key, request, args).
func (b *Binding) Templates() []*Template {
	ts := b.Request.Templates()
	for _, a := range b.Args {
		ts = append(ts, a.Value.Templates()...)
	}
	ts = append(ts, b.Value.Templates()...)
	ts = append(ts, b.Fallback.Templates()...)
	if bt := b.Batch; bt != nil {
		ts = append(ts, bt.Key...)
		ts = append(ts, bt.Request.Templates()...)
		for _, a := range bt.Args {
			ts = append(ts, a.Value.Templates()...)
		}
	}
	return ts
}

// Templates returns every template of the request, in order.
func (r *Request) Templates() []*Template {
	var ts []*Template
	if r.Path != nil {
		ts = append(ts, r.Path)
	}
	for _, p := range r.Query {
		ts = append(ts, p.Values...)
	}
	for _, p := range r.Headers {
		ts = append(ts, p.Values...)
	}
	return append(ts, r.Body.Templates()...)
}
