package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/conflux-gql/conflux/fleet"
	"github.com/conflux-gql/conflux/sources"
)

// JSONSchemaDraft is the JSON Schema dialect JSONSchema writes.
const JSONSchemaDraft = "https://json-schema.org/draft/2020-12/schema"

// JSONSchema returns a JSON Schema (draft 2020-12) of conflux.yaml, for editors to complete and check the file
// with (`conflux schema`, issue 16). It is generated from what the decoder reads, so the two cannot drift apart:
// every mapping's properties are the decoder's key list (topKeys, serverKeys, httpKeys, graphqlKeys, redisKeys,
// bindingKeys, batchKeys, listSizeKeys, sourceKinds); a key's value type comes from the configuration struct
// field of the same name (Settings, sources.HTTPConfig and its nested configs, fleet.Config), with defaults
// from DefaultSettings and sources.DefaultHTTPConfig, and from the explicit tables below where decoding is
// special (templates, durations, listSize, redirects, batch.key). A key with neither is an error, so a new key
// cannot be forgotten. Every mapping whose keys the decoder checks has additionalProperties: false.
//
// The schema checks shape only: which keys exist and what kind of value each takes. Whether a source or an SDL
// field exists, and what a template may read, is for `conflux check`. Strings the decoder reads as plain text
// are typed "string", though the decoder also takes a bare number there.
func JSONSchema() ([]byte, error) {
	g := &jsGen{used: map[string]bool{}}
	root := g.document()
	for path := range jsDescriptions {
		if !g.used[path] {
			g.errs = append(g.errs, fmt.Errorf("json schema: description of %s, which no decoder key list has", path))
		}
	}
	for path := range jsMinimum {
		if !g.used["min:"+path] {
			g.errs = append(g.errs, fmt.Errorf("json schema: minimum of %s, which no decoder key list has", path))
		}
	}
	if err := errors.Join(g.errs...); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(root); err != nil {
		return nil, fmt.Errorf("json schema: %w", err)
	}
	return buf.Bytes(), nil
}

// jsNode is one JSON Schema. Its fields are in the order they read best in the file.
type jsNode struct {
	Schema               string             `json:"$schema,omitempty"`
	Title                string             `json:"title,omitempty"`
	Ref                  string             `json:"$ref,omitempty"`
	Description          string             `json:"description,omitempty"`
	Type                 any                `json:"type,omitempty"`
	Enum                 []any              `json:"enum,omitempty"`
	Pattern              string             `json:"pattern,omitempty"`
	Minimum              *float64           `json:"minimum,omitempty"`
	Maximum              *float64           `json:"maximum,omitempty"`
	Default              any                `json:"default,omitempty"`
	Examples             []any              `json:"examples,omitempty"`
	Items                *jsNode            `json:"items,omitempty"`
	MinItems             *int               `json:"minItems,omitempty"`
	Properties           *jsProps           `json:"properties,omitempty"`
	PatternProperties    map[string]*jsNode `json:"patternProperties,omitempty"`
	PropertyNames        *jsNode            `json:"propertyNames,omitempty"`
	AdditionalProperties any                `json:"additionalProperties,omitempty"`
	MinProperties        *int               `json:"minProperties,omitempty"`
	MaxProperties        *int               `json:"maxProperties,omitempty"`
	Required             []string           `json:"required,omitempty"`
	AnyOf                []*jsNode          `json:"anyOf,omitempty"`
	Defs                 *jsProps           `json:"$defs,omitempty"`
}

// jsProps is a JSON object of schemas that keeps its keys in the order added (the decoder's key order).
type jsProps struct {
	names []string
	nodes map[string]*jsNode
}

func (p *jsProps) add(name string, n *jsNode) {
	if p.nodes == nil {
		p.nodes = map[string]*jsNode{}
	}
	p.names = append(p.names, name)
	p.nodes[name] = n
}

func (p *jsProps) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, name := range p.names {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(name)
		b.Write(k)
		b.WriteByte(':')
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(p.nodes[name]); err != nil {
			return nil, err
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func ptr[T any](v T) *T { return &v }

// closed is an object schema that refuses keys outside props, as the decoder's mapping does with a key list.
func closed(props *jsProps) *jsNode {
	return &jsNode{Type: "object", Properties: props, AdditionalProperties: false}
}

func ref(def string) *jsNode { return &jsNode{Ref: "#/$defs/" + def} }

// The value shapes the decoder reads with one function each (yaml.go).
var (
	// durationPattern is what time.ParseDuration takes, without a sign (the decoder refuses negative ones).
	durationPattern = `^\+?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$`
	// bindingNamePattern is Type.field with GraphQL names.
	bindingNamePattern = `^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$`
	// sourceNamePattern is what isName takes.
	sourceNamePattern = `^[A-Za-z0-9_-]+$`
	// dottedPathPattern is what splitPath takes.
	dottedPathPattern = `^[^.]+(\.[^.]+)*$`
)

// jsDefs are the shared definitions the properties refer to by $ref.
func jsDefs() *jsProps {
	d := &jsProps{}
	d.add("duration", &jsNode{Type: "string", Pattern: durationPattern,
		Description: "a Go duration such as 800ms, 5s or 1m30s", Examples: []any{"800ms", "5s"}})
	d.add("stringOrList", &jsNode{Description: "one string or a list of them", AnyOf: []*jsNode{
		{Type: "string"}, {Type: "array", Items: &jsNode{Type: "string"}}}})
	d.add("template", &jsNode{Type: "string",
		Description: "text with {{args.*}}, {{parent.*}}, {{env.*}}, {{headers.*}}, {{jwt.*}} or {{keys}} templates; quote a value that starts with {{"})
	d.add("value", &jsNode{
		Description: "any YAML value, sent as JSON; a string that is exactly one {{…}} template inserts the JSON value, other strings render as text"})
	scalar := &jsNode{Type: []string{"string", "number", "boolean"}}
	d.add("params", &jsNode{Type: "object",
		Description:          "name: template, or a list of them (the parameter is repeated); a template that is exactly one list variable such as {{keys}} repeats it too",
		AdditionalProperties: &jsNode{AnyOf: []*jsNode{scalar, {Type: "array", Items: scalar}}}})
	return d
}

// jsGen builds the schema; errs collects every key it cannot describe.
type jsGen struct {
	errs []error
	// used records the description and minimum table entries that found their key.
	used map[string]bool
}

func (g *jsGen) document() *jsNode {
	defs := jsDefs()
	top := map[string]func() *jsNode{
		"schema": func() *jsNode { return ref("stringOrList") },
		"supergraph": func() *jsNode {
			return &jsNode{Type: "string", Pattern: `\S`}
		},
		"sources": func() *jsNode {
			return &jsNode{Type: "object", PropertyNames: &jsNode{Pattern: sourceNamePattern}, AdditionalProperties: ref("source")}
		},
		"bindings": func() *jsNode {
			return &jsNode{Type: "object", PatternProperties: map[string]*jsNode{bindingNamePattern: ref("binding")},
				AdditionalProperties: false}
		},
		"server": func() *jsNode {
			d := DefaultSettings()
			return g.structObject("server", serverKeys, reflect.ValueOf(d), map[string]*jsNode{
				"playgroundQuery": {Type: "string"},
				"auth":            g.auth(),
				"uploads":         g.uploads(),
				"subscriptions": g.structObject("server.subscriptions", subKeys, reflect.ValueOf(d.Subscriptions), map[string]*jsNode{
					"overflow": {Type: "string", Enum: anys(OverflowActions), Default: d.Subscriptions.Overflow},
				}),
			})
		},
		"redis": func() *jsNode {
			n := g.structObject("redis", redisKeys, reflect.ValueOf(fleet.Config{Prefix: fleet.DefaultPrefix}), map[string]*jsNode{
				"url": {Type: "string", Pattern: `^(rediss?://|.*\{\{)`, Examples: []any{"redis://127.0.0.1:6379/0", "{{env.REDIS_URL}}"}},
			})
			n.Required = []string{"url"}
			return n
		},
	}
	top["telemetry"] = func() *jsNode {
		tracing := g.structObject("telemetry.tracing", tracingKeys, reflect.ValueOf(DefaultTracing()), map[string]*jsNode{
			"endpoint": {Type: "string", Pattern: `^https?://`, Examples: []any{"http://127.0.0.1:4318/v1/traces"}},
		})
		return closed(g.explicit("telemetry", telemetryKeys, map[string]func() *jsNode{"tracing": func() *jsNode { return tracing }}))
	}
	props := g.explicit("", topKeys, top)
	root := closed(props)
	root.Schema = JSONSchemaDraft
	root.Title = "conflux.yaml"
	root.Description = "The configuration of Conflux, a GraphQL gateway: the public SDL, the backends (sources) and how each field is filled (bindings). Generated by `conflux schema`."
	root.AnyOf = []*jsNode{{Required: []string{"schema"}}, {Required: []string{"supergraph"}}}

	kinds := map[string]func() *jsNode{
		string(KindHTTP):    func() *jsNode { return ref("http") },
		string(KindGraphQL): func() *jsNode { return ref("graphql") },
		string(KindStatic):  func() *jsNode { return &jsNode{} },
	}
	src := closed(g.explicit("sources", sourceKinds, kinds))
	src.Description = "one backend: exactly one of http, graphql or static"
	src.MinProperties, src.MaxProperties = ptr(1), ptr(1)
	defs.add("source", src)

	httpNode := g.httpObject("http", httpKeys, nil)
	defs.add("http", httpNode)
	defs.add("graphql", g.httpObject("graphql", graphqlKeys, httpNode.Properties))
	defs.add("subscribe", g.subscribe())
	defs.add("binding", g.binding())
	defs.add("batch", g.batch())
	root.Defs = defs
	return root
}

// httpObject describes an http or graphql source from sources.HTTPConfig; keys it shares with an http source
// reuse shared's schemas.
func (g *jsGen) httpObject(path string, keys []string, shared *jsProps) *jsNode {
	host := &jsNode{Type: "string", Pattern: `^[^/:@ ]+$`}
	endpoint := &jsNode{Type: "string", Pattern: `^https?://[^?#]+$`}
	special := map[string]*jsNode{
		"endpoints": {AnyOf: []*jsNode{endpoint, {Type: "array", Items: endpoint, MinItems: ptr(1)}}},
		"strategy":  {Type: "string", Enum: anys(sources.Strategies), Default: sources.DefaultHTTPConfig().Strategy},
		"headers": {Type: "object",
			AdditionalProperties: &jsNode{Type: []string{"string", "number", "boolean"}}},
		"redirects": {Default: sources.RedirectsSameHost, AnyOf: []*jsNode{
			{Type: "string", Enum: []any{sources.RedirectsSameHost, sources.RedirectsNone}},
			{Type: "array", Items: host}}},
	}
	if slices.Contains(keys, "subscriptions") {
		special["subscriptions"] = g.graphqlSubscriptions()
	}
	if shared != nil {
		for _, k := range keys {
			if n := shared.nodes[k]; n != nil {
				special[k] = n
			}
		}
	}
	// A graphql source's keys shared with http ones reuse their schemas (described under http).
	return g.structObject(path, keys, reflect.ValueOf(sources.DefaultHTTPConfig()), special)
}

func (g *jsGen) binding() *jsNode {
	req := g.requestProps()
	listSize := closed(g.explicit("binding.listSize", listSizeKeys, map[string]func() *jsNode{
		"assumedSize":      func() *jsNode { return g.integer("binding.listSize.assumedSize", nil) },
		"slicingArguments": func() *jsNode { return ref("stringOrList") },
	}))
	cache := closed(g.explicit("binding.cache", cacheKeys, map[string]func() *jsNode{
		"ttl":               func() *jsNode { return ref("duration") },
		"honorCacheControl": func() *jsNode { return &jsNode{Type: "boolean", Default: false} },
	}))
	discriminator := closed(g.explicit("binding.discriminator", []string{"field", "types"}, map[string]func() *jsNode{
		"field": func() *jsNode { return &jsNode{Type: "string", Pattern: dottedPathPattern} },
		"types": func() *jsNode {
			return &jsNode{Type: "object", MinProperties: ptr(1), AdditionalProperties: &jsNode{Type: "string"}}
		},
	}))
	discriminator.Required = []string{"field", "types"}
	fields := map[string]func() *jsNode{
		"source": func() *jsNode { return &jsNode{Type: "string"} },
		"batch":  func() *jsNode { return ref("batch") },
		"from":   func() *jsNode { return &jsNode{Type: "string", Pattern: dottedPathPattern} },
		"field":  func() *jsNode { return &jsNode{Type: "string"} },
		"args": func() *jsNode {
			return &jsNode{Type: "object", AdditionalProperties: ref("value")}
		},
		"value":         func() *jsNode { return ref("value") },
		"discriminator": func() *jsNode { return discriminator },
		"timeout":       func() *jsNode { return ref("duration") },
		"retrySafe":     func() *jsNode { return &jsNode{Type: "boolean", Default: false} },
		"fallback":      func() *jsNode { return ref("value") },
		"required":      func() *jsNode { return &jsNode{Type: "boolean", Default: false} },
		"listSize": func() *jsNode {
			return &jsNode{AnyOf: []*jsNode{g.integer("binding.listSize", nil), listSize}}
		},
		"cache":     func() *jsNode { return cache },
		"public":    func() *jsNode { return &jsNode{Type: "boolean", Default: false} },
		"subscribe": func() *jsNode { return ref("subscribe") },
	}
	for k, f := range req {
		fields[k] = f
	}
	n := closed(g.explicit("binding", bindingKeys, fields))
	n.Description = "how one field (Type.field) is filled: fetched from a source, read from the parent (from) or a constant (value)"
	return n
}

func (g *jsGen) batch() *jsNode {
	key := &jsNode{Ref: "#/$defs/template"}
	fields := map[string]func() *jsNode{
		"key": func() *jsNode {
			return &jsNode{AnyOf: []*jsNode{key, {Type: "array", Items: key, MinItems: ptr(1)}}}
		},
		"match":   func() *jsNode { return ref("stringOrList") },
		"maxSize": func() *jsNode { return g.integer("batch.maxSize", nil) },
		"args": func() *jsNode {
			return &jsNode{Type: "object", AdditionalProperties: ref("value")}
		},
		"entities": func() *jsNode { return &jsNode{Type: "string"} },
		"field":    func() *jsNode { return &jsNode{Type: "string"} },
	}
	for k, f := range g.requestProps() {
		fields[k] = f
	}
	n := closed(g.explicit("batch", batchKeys, fields))
	n.Required = []string{"key"}
	n.Description = "fetch the field for all parents with one call; keys left out are inherited from the binding"
	return n
}

// subscribe describes a Subscription binding's `subscribe` (subscribe.go).
func (g *jsGen) subscribe() *jsNode {
	r := DefaultReconnect()
	reconnect := closed(g.explicit("subscribe.reconnect", reconnectKeys, map[string]func() *jsNode{
		"attempts":   func() *jsNode { return g.integer("subscribe.reconnect.attempts", int64(r.Attempts)) },
		"backoff":    func() *jsNode { return &jsNode{Ref: "#/$defs/duration", Default: r.Backoff.String()} },
		"maxBackoff": func() *jsNode { return &jsNode{Ref: "#/$defs/duration", Default: r.MaxBackoff.String()} },
	}))
	n := closed(g.explicit("subscribe", subscribeKeys, map[string]func() *jsNode{
		"mode":      func() *jsNode { return &jsNode{Type: "string", Enum: anys(SubscribeModes)} },
		"event":     func() *jsNode { return &jsNode{Type: "string"} },
		"interval":  func() *jsNode { return &jsNode{Ref: "#/$defs/duration", Default: DefaultPollInterval.String()} },
		"buffer":    func() *jsNode { return g.integer("subscribe.buffer", nil) },
		"overflow":  func() *jsNode { return &jsNode{Type: "string", Enum: anys(OverflowActions)} },
		"reconnect": func() *jsNode { return reconnect },
	}))
	n.Description = "how a Subscription field's events are read (http sources: mode sse or poll) and buffered"
	return n
}

// graphqlSubscriptions describes a graphql source's `subscriptions` (subscribe.go).
func (g *jsGen) graphqlSubscriptions() *jsNode {
	return closed(g.explicit("graphql.subscriptions", gqlSubscribeKeys, map[string]func() *jsNode{
		"protocol": func() *jsNode {
			return &jsNode{Type: "string", Enum: anys(SubscriptionProtocols), Default: ProtocolWS}
		},
		"url":         func() *jsNode { return &jsNode{Type: "string", Pattern: `^(wss?|https?)://`} },
		"initPayload": func() *jsNode { return &jsNode{Type: "object", AdditionalProperties: ref("value")} },
	}))
}

// uploads describes server.uploads: true/false, or a mapping of limits from the Uploads struct's defaults.
func (g *jsGen) uploads() *jsNode {
	limits := g.structObject("server.uploads", uploadKeys, reflect.ValueOf(DefaultSettings().Uploads), nil)
	return &jsNode{Default: false, AnyOf: []*jsNode{{Type: "boolean"}, limits}}
}

// auth describes server.auth (auth.go): jwt, from the JWT struct with its defaults, and rules.
func (g *jsGen) auth() *jsNode {
	def := DefaultSettings().Auth.JWT
	key := &jsNode{Type: "string", Pattern: `^\s*(-----BEGIN|\{)|\{\{`,
		Examples: []any{"-----BEGIN PUBLIC KEY-----\n…\n-----END PUBLIC KEY-----", `{"kty":"EC","crv":"P-256",…}`, "{{env.JWT_SECRET}}"}}
	alg := &jsNode{Type: "string", Enum: anys(JWTAlgorithms)}
	jwt := g.structObject("server.auth.jwt", jwtKeys, reflect.ValueOf(def), map[string]*jsNode{
		"jwks":       {Type: "string", Pattern: `^https?://[^/?#]+`, Examples: []any{"https://issuer.example.com/.well-known/jwks.json"}},
		"keys":       {AnyOf: []*jsNode{key, {Type: "array", Items: key, MinItems: ptr(1)}}},
		"algorithms": {Default: def.Algorithms, AnyOf: []*jsNode{alg, {Type: "array", Items: alg, MinItems: ptr(1)}}},
	})
	jwt.AnyOf = []*jsNode{{Required: []string{"jwks"}}, {Required: []string{"keys"}}}
	rule := closed(g.explicit("server.auth.rule", authRuleKeys, map[string]func() *jsNode{
		"authenticated": func() *jsNode { return &jsNode{Type: "boolean", Default: false} },
		"scopes":        func() *jsNode { return ref("stringOrList") },
	}))
	rule.MinProperties = ptr(1)
	return closed(g.explicit("server.auth", authKeys, map[string]func() *jsNode{
		"jwt": func() *jsNode { return jwt },
		"rules": func() *jsNode {
			return &jsNode{Type: "object", PropertyNames: &jsNode{Pattern: `^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$`},
				AdditionalProperties: rule}
		},
	}))
}

// requestProps are the keys requestKey decodes, for bindings and batches alike.
func (g *jsGen) requestProps() map[string]func() *jsNode {
	var upper []string
	for _, m := range methods {
		var b strings.Builder
		for _, r := range m {
			fmt.Fprintf(&b, "[%c%c]", r, unicode.ToLower(r))
		}
		upper = append(upper, b.String())
	}
	return map[string]func() *jsNode{
		"method": func() *jsNode {
			return &jsNode{Default: http.MethodGet, AnyOf: []*jsNode{
				{Type: "string", Enum: anys(methods)},
				{Type: "string", Pattern: "^(" + strings.Join(upper, "|") + ")$"}}}
		},
		"path": func() *jsNode {
			return &jsNode{Type: "string", Pattern: `^/[^?#]*$`, Examples: []any{"/customers/{{args.id}}"}}
		},
		"query":   func() *jsNode { return ref("params") },
		"headers": func() *jsNode { return ref("params") },
		"body":    func() *jsNode { return ref("value") },
		"select":  func() *jsNode { return &jsNode{Type: "string", Pattern: dottedPathPattern} },
	}
}

// explicit describes the keys of a mapping from a table of schemas; a key missing from the table, or a table
// entry the key list does not have, is an error.
func (g *jsGen) explicit(path string, keys []string, table map[string]func() *jsNode) *jsProps {
	props := &jsProps{}
	for _, k := range keys {
		f := table[k]
		if f == nil {
			g.errs = append(g.errs, fmt.Errorf("json schema: %s: no schema for the key; describe it in schema/jsonschema.go", join(path, k)))
			continue
		}
		props.add(k, g.describe(join(path, k), f()))
	}
	for k := range table {
		if !slices.Contains(keys, k) {
			g.errs = append(g.errs, fmt.Errorf("json schema: %s is described but the decoder does not read it", join(path, k)))
		}
	}
	return props
}

// structObject describes a mapping whose keys are fields of v's struct type (matched by name, ignoring case,
// or by json tag); special gives the schema of keys whose decoding the field's type does not tell. With keys
// nil, every exported field is a key, named in lower camel case.
func (g *jsGen) structObject(path string, keys []string, v reflect.Value, special map[string]*jsNode) *jsNode {
	t := v.Type()
	if keys == nil {
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() && f.Tag.Get("json") != "-" {
				keys = append(keys, lowerCamel(f.Name))
			}
		}
	}
	props := &jsProps{}
	for _, k := range keys {
		p := join(path, k)
		if n := special[k]; n != nil {
			props.add(k, g.describe(p, n))
			continue
		}
		f, ok := fieldFor(t, k)
		if !ok {
			g.errs = append(g.errs, fmt.Errorf("json schema: %s: no field %s.%s and no explicit schema; describe it in schema/jsonschema.go", p, t, k))
			continue
		}
		props.add(k, g.describe(p, g.field(p, f.Type, v.FieldByIndex(f.Index))))
	}
	return closed(props)
}

// field describes a value of type t, decoded the way the decoder decodes that type, with def as its default.
func (g *jsGen) field(path string, t reflect.Type, def reflect.Value) *jsNode {
	if t == reflect.TypeFor[time.Duration]() {
		return &jsNode{Ref: "#/$defs/duration", Default: time.Duration(def.Int()).String()}
	}
	switch t.Kind() {
	case reflect.Bool:
		return &jsNode{Type: "boolean", Default: def.Bool()}
	case reflect.Pointer:
		if t.Elem().Kind() == reflect.Bool {
			n := &jsNode{Type: "boolean"}
			if !def.IsNil() {
				n.Default = def.Elem().Bool()
			}
			return n
		}
	case reflect.Int, reflect.Int64:
		return g.integer(path, def.Int())
	case reflect.Float64:
		n := &jsNode{Type: "number", Minimum: ptr(0.0), Default: def.Float()}
		if max, ok := jsMaximum[path]; ok {
			n.Maximum = ptr(max)
		}
		return n
	case reflect.String:
		n := &jsNode{Type: "string"}
		if def.String() != "" {
			n.Default = def.String()
		}
		return n
	case reflect.Slice:
		switch t.Elem().Kind() {
		case reflect.String:
			return ref("stringOrList") // the decoder's strings: one string or a list
		case reflect.Int:
			return &jsNode{Type: "array", Items: g.integer(path, nil)}
		}
	case reflect.Struct:
		return g.structObject(path, nil, def, nil)
	}
	g.errs = append(g.errs, fmt.Errorf("json schema: %s: no JSON Schema for Go type %s; describe it in schema/jsonschema.go", path, t))
	return &jsNode{}
}

// integer is an integer at least the decoder's minimum for path (jsMinimum, else 0). A default below the
// minimum (a breaker's failures: 0, off) is what leaving the key out means, not a value to write: it is left out.
func (g *jsGen) integer(path string, def any) *jsNode {
	min := 0.0
	if m, ok := jsMinimum[path]; ok {
		min = m
		g.used["min:"+path] = true
	}
	n := &jsNode{Type: "integer", Minimum: ptr(min)}
	if d, ok := def.(int64); ok && float64(d) >= min {
		n.Default = d
	}
	return n
}

// describe sets n's description from jsDescriptions.
func (g *jsGen) describe(path string, n *jsNode) *jsNode {
	if d, ok := jsDescriptions[path]; ok {
		g.used[path] = true
		// A copy: n may be shared (a graphql source's keys reuse the http ones). Beside a $ref, the
		// description applies with the referenced schema (2020-12).
		c := *n
		c.Description = d
		return &c
	}
	return n
}

func fieldFor(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == "-" {
			continue
		}
		if tag == key || tag == "" && strings.EqualFold(f.Name, key) {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// lowerCamel turns a Go field name into its configuration key: MinRequests → minRequests, SDL → sdl.
func lowerCamel(s string) string {
	r := []rune(s)
	for i := range r {
		if !unicode.IsUpper(r[i]) || i > 0 && i+1 < len(r) && unicode.IsLower(r[i+1]) {
			break
		}
		r[i] = unicode.ToLower(r[i])
	}
	return string(r)
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// jsMinimum is the least integer the decoder takes for a key where it is not 0 (the min argument of its integer
// call); a test holds it to the decoder.
var jsMinimum = map[string]float64{
	"server.maxBodyBytes":                   1,
	"server.uploads.maxFileBytes":           1,
	"server.uploads.maxFiles":               1,
	"server.uploads.maxTotalBytes":          1,
	"server.subscriptions.max":              1,
	"server.subscriptions.maxPerConnection": 1,
	"server.subscriptions.buffer":           1,
	"server.subscriptions.bufferBytes":      1024,
	"server.subscriptions.bufferBytesTotal": 1024,
	"server.queryCacheSize":                 1,
	"server.planCacheSize":                  1,
	"server.defaultListSize":                1,
	"server.queryCacheBytes":                1024,
	"server.planCacheBytes":                 1024,
	"server.apqCacheBytes":                  1024,
	"server.responseCacheBytes":             1024,
	"http.weights":                          1,
	"http.breaker.failures":                 1,
	"http.breaker.minRequests":              1,
	"http.limits.concurrency":               1,
	"http.limits.burst":                     1,
	"http.health.failures":                  1,
	"http.health.successes":                 1,
	"http.maxResponseBytes":                 1,
	"binding.listSize":                      1,
	"binding.listSize.assumedSize":          1,
	"batch.maxSize":                         1,
	"subscribe.buffer":                      1,
}

// jsMaximum bounds the shares (the decoder's fraction).
var jsMaximum = map[string]float64{
	"http.retry.budget":       1,
	"http.breaker.errorRate":  1,
	"telemetry.tracing.ratio": 1,
}

// jsDescriptions are the README's key tables, shortened, by key path (http for both http and graphql sources).
var jsDescriptions = map[string]string{
	"schema":     "the public SDL files: a glob or a list of globs, relative to this file",
	"supergraph": "a composed Apollo Federation 2 supergraph file: the public schema, one graphql source per subgraph and the bindings of its root fields",
	"sources":    "the backends, by name (letters, digits, _ and -)",
	"bindings":   "how each field is filled, by Type.field; a field with no binding reads the parent object's key of its name",
	"server":     "serving options and the limits of one request",
	"redis":      "the Redis that replicas share: configuration versions, persisted queries, rate-limit budgets, caches",
	"telemetry":  "OpenTelemetry tracing; the standard OTEL_* variables win over these keys",

	"sources.http":    "a REST/JSON backend",
	"sources.graphql": "an upstream GraphQL service or Apollo Federation subgraph",
	"sources.static":  "any YAML value, answered as JSON to every request (stubs, tests)",

	"redis.url":    "redis://host:6379/0, or rediss:// for TLS; {{env.NAME}} is rendered at load",
	"redis.prefix": "the start of every key, so that several clusters can share one Redis",

	"telemetry.tracing":             "spans of every request exported over OTLP/HTTP (protobuf); off without an endpoint here or in OTEL_EXPORTER_OTLP_*ENDPOINT",
	"telemetry.tracing.endpoint":    "the OTLP/HTTP traces URL, used as written (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT wins)",
	"telemetry.tracing.ratio":       "the share of new traces kept, 0 to 1; a client's traceparent decides for its trace (OTEL_TRACES_SAMPLER wins)",
	"telemetry.tracing.serviceName": "the service.name of the spans (OTEL_SERVICE_NAME wins)",

	"http.endpoints":                    "one or more base URLs (http or https, may include a path prefix)",
	"http.weights":                      "one integer per endpoint, for the weighted strategy",
	"http.strategy":                     "endpoint selection per attempt: round_robin, least_latency, weighted or failover",
	"http.timeout":                      "per request, retries included",
	"http.retry":                        "retries of idempotent requests on connection errors, 429, 502, 503 and 504",
	"http.breaker":                      "a circuit breaker per endpoint",
	"http.limits":                       "in-flight cap and rate limit of the source",
	"http.health":                       "active probe of every endpoint (GET, 2xx = healthy)",
	"http.dedup":                        "send identical GET/HEAD requests in flight at once only once",
	"http.headers":                      "sent on every request; values may use {{env.NAME}} (rendered at load)",
	"http.maxResponseBytes":             "larger responses fail with BAD_UPSTREAM_RESPONSE",
	"http.forwardHeaders":               "incoming request headers sent on to the backend, e.g. [authorization]",
	"http.redirects":                    "which backend redirects are followed: same_host, none, or a list of other host names followed besides the endpoint's own",
	"graphql.subscriptions":             "how subscriptions reach this upstream; omitted: graphql-transport-ws at the first endpoint",
	"graphql.subscriptions.protocol":    "ws (graphql-transport-ws) or sse (graphql-sse, distinct connections)",
	"graphql.subscriptions.url":         "where to subscribe; omitted: the first endpoint (http→ws, https→wss for ws)",
	"graphql.subscriptions.initPayload": "the connection_init payload (ws); templates read {{env.*}} and {{headers.*}}",
	"graphql.sdl":                       "the upstream schema file, so bindings and forwarded selections are checked at load, offline; without it the upstream is introspected at every load",

	"http.retry.attempts":      "extra attempts, each to another endpoint where possible",
	"http.retry.backoff":       "base of the jittered exponential backoff (capped at 1s)",
	"http.retry.budget":        "retries may be at most this share of requests",
	"http.breaker.failures":    "open an endpoint's circuit after this many consecutive failures (omitted: off)",
	"http.breaker.errorRate":   "or when the failure share within the window reaches this (0: off)",
	"http.breaker.window":      "the window of errorRate",
	"http.breaker.minRequests": "requests within the window before errorRate applies",
	"http.breaker.cooldown":    "how long an open circuit refuses requests before one half-open trial",
	"http.limits.concurrency":  "in-flight cap (omitted: none); a request waits at most queueTimeout for a slot, then fails with RATE_LIMITED",
	"http.limits.queueTimeout": "longest wait for an in-flight slot",
	"http.limits.rate":         "requests per second (token bucket; 0 or omitted: none); over it, RATE_LIMITED",
	"http.limits.burst":        "token bucket size (omitted: rate/10)",
	"http.health.path":         "the probe's path; none: no probe",
	"http.health.interval":     "probe cadence",
	"http.health.timeout":      "timeout of one probe",
	"http.health.failures":     "failed probes in a row that take an endpoint out",
	"http.health.successes":    "good probes in a row that bring it back",

	"server.introspection":                  "serve __schema/__type; off, they fail with INTROSPECTION_DISABLED",
	"server.playground":                     "serve GraphiQL at /",
	"server.playgroundQuery":                "the query the playground shows first; empty: one derived from the schema",
	"server.planExtension":                  "add each operation's plan to the response's extensions.plan (reveals backend paths)",
	"server.exposeUpstreamDetails":          "show backend methods, paths and hosts in client error messages",
	"server.maxBodyBytes":                   "larger request bodies get 413 (REQUEST_TOO_LARGE)",
	"server.maxTokens":                      "lexical tokens the parser reads from one document (0: no limit)",
	"server.maxDepth":                       "deepest selection nesting (0: no limit)",
	"server.maxAliases":                     "aliased fields in one operation (0: no limit)",
	"server.maxCost":                        "the operation's estimated cost: fields × list sizes (0: no limit)",
	"server.defaultListSize":                "the length the cost estimate assumes for a list it knows nothing about",
	"server.operationTimeout":               "longest an operation may run; past it every fetch is cancelled",
	"server.maxFetches":                     "most upstream requests one operation may send (0: no limit)",
	"server.maxItems":                       "most list items one operation may build (0: no limit)",
	"server.maxResponseBytes":               "largest response, data and errors together (0: no limit)",
	"server.readHeaderTimeout":              "time to read a request's head",
	"server.readTimeout":                    "time to read a whole request, head and body (0: none)",
	"server.writeTimeout":                   "time to write an answer once it is ready (0: none)",
	"server.idleTimeout":                    "a keep-alive connection with no new request for this long is closed (0: never)",
	"server.maxConnections":                 "open client connections per listener (0: only the open-file limit)",
	"server.maxConnectionsPerClient":        "open connections from one client address (0: none)",
	"server.maxInFlight":                    "requests served at once per listener; more get 503 SERVER_BUSY (0: none)",
	"server.queryCacheSize":                 "parsed and validated documents kept",
	"server.queryCacheBytes":                "size bound of the document cache",
	"server.planCacheSize":                  "execution plans kept per configuration version",
	"server.planCacheBytes":                 "size bound of the plan cache",
	"server.apqCacheBytes":                  "size bound of the Automatic Persisted Queries cache",
	"server.responseCacheBytes":             "size bound of the in-process cache of backend answers (bindings with cache), per configuration version",
	"server.uploads":                        "accept GraphQL multipart requests (file uploads) on /graphql: true, or limits",
	"server.uploads.maxFileBytes":           "a larger file gets 413 (REQUEST_TOO_LARGE)",
	"server.uploads.maxFiles":               "files one request may carry",
	"server.uploads.maxTotalBytes":          "the files of one request together; more gets 413",
	"server.subscriptions":                  "limits of subscriptions (graphql-transport-ws and SSE)",
	"server.subscriptions.max":              "subscriptions open in this process, every transport together; more are refused",
	"server.subscriptions.maxPerConnection": "subscriptions one graphql-transport-ws connection may hold open",
	"server.subscriptions.maxPerClient":     "subscriptions open from one client address (an IPv6 client by its /64), every transport together; 0: no limit (behind a load balancer every client has its address)",
	"server.subscriptions.buffer":           "events held per subscription for a client that has not taken them yet",
	"server.subscriptions.bufferBytes":      "bytes of those events together; one larger event is still held alone",
	"server.subscriptions.bufferBytesTotal": "bytes of the events held by every subscription of the process together; past it, each subscription's overflow action applies",
	"server.subscriptions.overflow":         "what happens to an event that finds the buffer full: drop_oldest, drop_newest, or close (ends the subscription with SUBSCRIPTION_OVERFLOW)",
	"server.subscriptions.keepAlive":        "interval of pings (WebSocket) and comments (SSE) on an idle stream",
	"server.subscriptions.initTimeout":      "how long a WebSocket client has to send connection_init",
	"server.auth":                           "who calls /graphql (JWT bearer tokens) and which fields need whom",
	"server.auth.jwt":                       "validate `Authorization: Bearer <JWT>`; an invalid token is 401 UNAUTHENTICATED",
	"server.auth.jwt.jwks":                  "URL of the issuer's JSON Web Key Set: cached, refreshed every `refresh` and on an unknown kid",
	"server.auth.jwt.keys":                  "static keys instead: PEM public keys, JWKs or JWK sets, or {{env.NAME}} HMAC secrets",
	"server.auth.jwt.issuer":                "the iss claim tokens must carry",
	"server.auth.jwt.audience":              "tokens' aud must include one of these",
	"server.auth.jwt.algorithms":            "accepted signature algorithms (never none)",
	"server.auth.jwt.clockSkew":             "leeway on exp, nbf and iat",
	"server.auth.jwt.required":              "true: a request without a token gets 401; false: it runs anonymous",
	"server.auth.jwt.refresh":               "how often the JWKS is fetched again",
	"server.auth.jwt.timeout":               "timeout of one JWKS fetch",
	"server.auth.rules":                     "Type.field or Type: {authenticated: true} or {scopes: [...]}; refused fields are null with UNAUTHENTICATED or FORBIDDEN",
	"server.auth.rule.authenticated":        "the field needs a valid token",
	"server.auth.rule.scopes":               "the field needs every one of these scopes (scope or scp claim)",

	"binding.source":        "the source to call",
	"binding.method":        "HTTP method",
	"binding.path":          "request path template, starting with /",
	"binding.query":         "query parameters (templates); a list value repeats the parameter",
	"binding.headers":       "request headers (templates)",
	"binding.body":          "any YAML value sent as JSON",
	"binding.select":        "dotted path of the answer inside the response body, e.g. data.items",
	"binding.batch":         "fetch the field for all parents at once",
	"binding.from":          "no source: read this dotted path of the parent object instead of the field's name",
	"binding.field":         "for graphql sources: the upstream root field to call",
	"binding.args":          "for graphql sources: the upstream field's arguments (templates)",
	"binding.value":         "no source: a constant answer (templates may read args, parent, env, headers)",
	"binding.discriminator": "for an interface or union field: picks each item's concrete type when the backend sends no __typename",
	"binding.timeout":       "a shorter timeout for this binding's calls than the source's",
	"binding.retrySafe":     "true lets a POST binding be retried",
	"binding.fallback":      "any YAML value that answers the field when its fetch fails; no error is reported",
	"binding.required":      "true: a failed fetch nulls the parent object, as a non-null field's failure would",
	"binding.listSize":      "the list's expected length for the cost estimate: an integer, or {assumedSize, slicingArguments}",

	"binding.cache":                     "cache the backend's answers: {ttl: 30s} and/or {honorCacheControl: true}",
	"binding.cache.ttl":                 "how long an answer is kept; with honorCacheControl, the default and the cap",
	"binding.cache.honorCacheControl":   "take the lifetime from the backend's Cache-Control (s-maxage, max-age, no-store, no-cache, private) or Expires",
	"binding.public":                    "true: cached answers are shared across credentials (Authorization, cookies)",
	"binding.listSize.assumedSize":      "the list length assumed when no slicing argument is set",
	"binding.listSize.slicingArguments": "the field's Int arguments that bound the list's length, e.g. [first]",
	"binding.discriminator.field":       "the item field to read",
	"binding.discriminator.types":       "item field value: GraphQL type",

	"binding.subscribe":              "Subscription fields: how events are read (mode sse or poll for http sources) and buffered",
	"subscribe.mode":                 "http sources: sse (the request is a Server-Sent Events stream) or poll (the request is sent every interval; an answer that changed is an event)",
	"subscribe.event":                "sse: only events of this type (omitted: all)",
	"subscribe.interval":             "poll: time between two requests (at least 100ms)",
	"subscribe.buffer":               "events held for a slow client (omitted: server.subscriptions.buffer)",
	"subscribe.overflow":             "drop_oldest, drop_newest or close when the buffer is full (omitted: server.subscriptions.overflow)",
	"subscribe.reconnect":            "how a dropped upstream stream is re-made",
	"subscribe.reconnect.attempts":   "attempts in a row without an event before the subscription fails (0: never give up)",
	"subscribe.reconnect.backoff":    "wait before the first attempt, doubled each time",
	"subscribe.reconnect.maxBackoff": "longest wait between two attempts",

	"batch.key":      "template (or list of templates for a composite key) that tells parents apart; must read {{parent.*}}",
	"batch.match":    "the item field (or one per key part) equal to the key; omitted: the i-th item belongs to the i-th distinct key",
	"batch.maxSize":  "larger key sets are split into calls of at most this many keys, run in parallel",
	"batch.method":   "HTTP method of the batched call",
	"batch.path":     "path of the batched call; {{keys}} joins the keys with commas",
	"batch.query":    "query of the batched call; {{keys}} repeats the parameter",
	"batch.headers":  "headers of the batched call",
	"batch.body":     "body of the batched call; {{keys}} is a JSON array",
	"batch.select":   "where the items are in the batched call's response",
	"batch.args":     "graphql sources: the batched call's arguments; with {{keys}}, one root field takes every key",
	"batch.entities": "Apollo Federation: the upstream entity type; the batch is one _entities call",
	"batch.field":    "graphql sources: the upstream root field of the batched call",
}
