package schema

import (
	"github.com/conflux-gql/conflux/fleet"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/conflux-gql/conflux/sources"
	"github.com/vektah/gqlparser/v2/ast"
	"go.yaml.in/yaml/v3"
)

// SourceKind is the transport of a source.
type SourceKind string

// The source kinds.
const (
	KindHTTP    SourceKind = "http"
	KindGraphQL SourceKind = "graphql"
	KindStatic  SourceKind = "static"
)

// Source is one configured backend. Exactly one of HTTP (for http and graphql sources) and Static is set.
type Source struct {
	Name string
	Kind SourceKind
	HTTP *sources.HTTPConfig
	// Upstream is a graphql source's schema, read from its `sdl` file at load; nil when none is named.
	Upstream *ast.Schema
	// Static is the JSON-shaped value a static source answers every request with.
	Static any
	// Subscriptions says how subscriptions reach a graphql source (issue 17); nil: graphql-transport-ws at the
	// first endpoint.
	Subscriptions *GraphQLSubscriptions
	Pos           Position
	// sdlPos is where a graphql source's `sdl` is set, for the errors of reading it.
	sdlPos Position
	// sawEndpoints says the configuration listed endpoints; a source named after a subgraph of the supergraph
	// may leave them out and call the subgraph's url (issue 14). httpPos is where its http or graphql settings
	// begin.
	sawEndpoints bool
	httpPos      Position
}

var (
	topKeys     = []string{"schema", "supergraph", "sources", "bindings", "server", "redis", "telemetry"}
	redisKeys   = []string{"url", "prefix"}
	sourceKinds = []string{string(KindHTTP), string(KindGraphQL), string(KindStatic)}
	httpKeys    = []string{"endpoints", "weights", "strategy", "timeout", "retry", "breaker", "limits", "health", "dedup", "headers", "maxResponseBytes", "forwardHeaders", "redirects"}
	graphqlKeys = append(append([]string(nil), httpKeys...), "sdl", "subscriptions")
	serverKeys  = []string{"introspection", "playground", "playgroundQuery", "maxBodyBytes", "maxDepth", "maxAliases", "queryCacheSize", "planCacheSize", "planExtension",
		"maxTokens", "maxCost", "defaultListSize", "maxResponseBytes", "maxFetches", "maxItems", "operationTimeout",
		"readHeaderTimeout", "readTimeout", "writeTimeout", "idleTimeout", "maxConnections", "maxConnectionsPerClient", "maxInFlight",
		"queryCacheBytes", "planCacheBytes", "apqCacheBytes", "responseCacheBytes", "exposeUpstreamDetails", "cors", "auth", "uploads", "subscriptions"}
	corsKeys   = []string{"origins", "methods", "headers", "credentials", "maxAge"}
	uploadKeys = []string{"maxFileBytes", "maxFiles", "maxTotalBytes"}
	subKeys    = []string{"max", "maxPerConnection", "maxPerClient", "buffer", "bufferBytes", "bufferBytesTotal", "overflow", "keepAlive", "initTimeout"}
)

// Settings are the serving options of the `server` section, an extension of the DESIGN.md format. Defaults come
// from DefaultSettings.
type Settings struct {
	// Introspection serves __schema and __type; off, they fail with a GraphQL error.
	Introspection bool
	// Playground serves GraphiQL at /.
	Playground bool
	// PlaygroundQuery is the query the playground shows on a first visit (and `conflux` prints at start); empty:
	// one derived from the schema's first query field (issue 16).
	PlaygroundQuery string
	// MaxBodyBytes caps a request body; larger ones get HTTP 413.
	MaxBodyBytes int64
	// MaxDepth caps the selection depth of an operation; 0 means no limit.
	MaxDepth int
	// MaxAliases caps the number of aliased fields in an operation; 0 means no limit.
	MaxAliases int
	// QueryCacheSize is the number of parsed and validated documents kept (gqlgen's LRU).
	QueryCacheSize int
	// PlanCacheSize is the number of execution plans kept per schema version.
	PlanCacheSize int
	// PlanExtension adds each operation's plan to the response's extensions.plan (for the playground).
	PlanExtension bool

	// The limits below bound what one request may cost (issue 13). 0 turns a limit off.

	// MaxTokens caps the tokens the parser reads from one document (gqlgen's parser token limit).
	MaxTokens int
	// MaxCost caps an operation's static cost estimate (fields × assumed list sizes), checked before any fetch.
	MaxCost int
	// DefaultListSize is the assumed length of a list field without a listSize hint or slicing argument.
	DefaultListSize int
	// MaxResponseBytes caps the bytes of one response: its data and errors together.
	MaxResponseBytes int64
	// MaxFetches caps the upstream requests one operation may make.
	MaxFetches int
	// MaxItems caps the list items one operation may build.
	MaxItems int
	// OperationTimeout bounds one operation's execution; past it every fetch is cancelled.
	OperationTimeout time.Duration

	// ReadHeaderTimeout, ReadTimeout, WriteTimeout and IdleTimeout bound a client connection's phases: reading
	// the request head, reading the whole request, writing the answer once it is ready, and idling between
	// keep-alive requests.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	// MaxConnections caps open client connections; MaxConnectionsPerClient caps them per client IP address.
	MaxConnections          int
	MaxConnectionsPerClient int
	// MaxInFlight caps requests being served at once; more are shed with 503 and Retry-After.
	MaxInFlight int

	// QueryCacheBytes, PlanCacheBytes and APQCacheBytes bound the parsed-document cache, the plan cache (with
	// cached static responses) and the persisted-query cache by their approximate size in memory.
	QueryCacheBytes int64
	PlanCacheBytes  int64
	APQCacheBytes   int64
	// ResponseCacheBytes bounds the in-process cache of backend answers of bindings with `cache` (issue 15), per
	// configuration version.
	ResponseCacheBytes int64
	// ExposeUpstreamDetails shows backend methods, paths and hosts in client error messages; off, they go only to
	// logs and metrics.
	ExposeUpstreamDetails bool
	// CORS lets browser pages of other origins call /graphql; off without origins.
	CORS CORS
	// Auth validates bearer tokens (JWT) on /graphql and guards fields by rules (issue 16); off by default.
	Auth Auth
	// Uploads accepts GraphQL multipart requests (file uploads) on /graphql (issue 17); off by default.
	Uploads Uploads
	// Subscriptions bounds subscriptions (issue 17): how many, and what happens to a client slower than its
	// events.
	Subscriptions Subscriptions
}

// The overflow actions of a subscription whose client is slower than its events (issue 17): its buffer is full
// and one more event arrives.
const (
	// OverflowDropOldest drops the oldest buffered event to make room for the new one.
	OverflowDropOldest = "drop_oldest"
	// OverflowDropNewest drops the new event.
	OverflowDropNewest = "drop_newest"
	// OverflowClose ends the subscription with a SUBSCRIPTION_OVERFLOW error.
	OverflowClose = "close"
)

// OverflowActions lists the overflow actions, for messages and the JSON Schema.
var OverflowActions = []string{OverflowDropOldest, OverflowDropNewest, OverflowClose}

// Subscriptions is the `server.subscriptions` section (issue 17). A binding's `subscribe` may set its own Buffer
// and Overflow.
type Subscriptions struct {
	// Max caps the subscriptions open in this process, over every transport; one more is refused.
	Max int
	// MaxPerConnection caps the subscriptions of one graphql-transport-ws connection.
	MaxPerConnection int
	// MaxPerClient caps the subscriptions open from one client address (an IPv6 client by its /64), over every
	// transport, so that one client cannot take every place of Max; 0 turns it off (behind a load balancer, every
	// client has its address).
	MaxPerClient int
	// Buffer is the number of events held for a subscription whose client has not taken them yet.
	Buffer int
	// BufferBytes bounds those events' bytes together (one larger event is still held alone).
	BufferBytes int64
	// BufferBytesTotal bounds the bytes of the events held by every subscription of the process together.
	BufferBytesTotal int64
	// Overflow is what happens when an event arrives with the buffer full: drop_oldest, drop_newest or close.
	Overflow string
	// KeepAlive is the interval of pings (graphql-transport-ws) and comments (SSE) on an idle stream.
	KeepAlive time.Duration
	// InitTimeout is how long a graphql-transport-ws client has to send connection_init.
	InitTimeout time.Duration
}

// Uploads is the `server.uploads` section (issue 17): `true`, or a mapping of its limits. Off by default: a
// multipart request is then refused as any non-JSON POST body.
type Uploads struct {
	// Enabled accepts multipart requests (the GraphQL multipart request spec) on POST /graphql.
	Enabled bool
	// MaxFileBytes caps one file; a larger one gets 413.
	MaxFileBytes int64
	// MaxFiles caps the files of one request.
	MaxFiles int
	// MaxTotalBytes caps the files of one request together.
	MaxTotalBytes int64
}

// CORS is the `server.cors` section (issue 16): which other origins' browser pages may call /graphql, and how.
// Off (no CORS headers at all) when Origins is empty.
type CORS struct {
	// Origins are the allowed origins (`https://app.example.com`, `https://*.example.com`), or just "*" for any.
	Origins []string
	// Methods are the methods a cross-origin request may use (upper case).
	Methods []string
	// Headers are the request headers a cross-origin request may send beyond the CORS-safelisted ones.
	Headers []string
	// Credentials lets requests carry cookies and HTTP authentication (Access-Control-Allow-Credentials).
	// Never together with the origin "*": loading refuses it.
	Credentials bool
	// MaxAge is how long a browser may cache a preflight answer; 0 sends no Access-Control-Max-Age.
	MaxAge time.Duration
}

// Enabled reports whether CORS headers are served at all.
func (c CORS) Enabled() bool { return len(c.Origins) > 0 }

// DefaultSettings returns the settings used for every key the configuration leaves out.
func DefaultSettings() Settings {
	return Settings{
		Introspection: true,
		Playground:    true,
		MaxBodyBytes:  1 << 20,
		Uploads:       Uploads{MaxFileBytes: 10 << 20, MaxFiles: 10, MaxTotalBytes: 32 << 20},
		Subscriptions: Subscriptions{Max: 10000, MaxPerConnection: 100, MaxPerClient: 1000, Buffer: 64, BufferBytes: 1 << 20, BufferBytesTotal: 256 << 20,
			Overflow:  OverflowDropOldest,
			KeepAlive: 15 * time.Second, InitTimeout: 10 * time.Second},
		MaxDepth:       15,
		MaxAliases:     50,
		QueryCacheSize: 1000,
		PlanCacheSize:  1000,

		MaxTokens:        15000,
		MaxCost:          100000,
		DefaultListSize:  10,
		MaxResponseBytes: 32 << 20,
		MaxFetches:       1000,
		MaxItems:         1000000,
		OperationTimeout: 30 * time.Second,

		ReadHeaderTimeout:       10 * time.Second,
		ReadTimeout:             30 * time.Second,
		WriteTimeout:            30 * time.Second,
		IdleTimeout:             60 * time.Second,
		MaxConnections:          10000,
		MaxConnectionsPerClient: 128,
		MaxInFlight:             1024,

		QueryCacheBytes:    32 << 20,
		PlanCacheBytes:     64 << 20,
		APQCacheBytes:      16 << 20,
		ResponseCacheBytes: 64 << 20,

		// Used once server.cors names origins.
		CORS: CORS{Methods: []string{http.MethodGet, http.MethodPost}, Headers: []string{"Content-Type", "Authorization"}},
		// Used once server.auth.jwt names a jwks URL or keys.
		Auth: Auth{JWT: defaultJWT()},
	}
}

// document is the decoded configuration file, before it is checked against the SDL.
type document struct {
	schemaGlobs []string
	schemaPos   Position
	// supergraph is the composed supergraph file, relative to the configuration; empty without one.
	supergraph    string
	supergraphPos Position
	sources       map[string]*Source
	bindings      []*Binding
	settings      Settings
	redis         *fleet.Config
	telemetry     *Telemetry
}

func (d *decoder) document(root *yaml.Node, env func(string) (string, bool)) *document {
	doc := &document{sources: map[string]*Source{}, settings: DefaultSettings()}
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			d.errorf(d.pos(root), "", "the file is empty: it needs at least `schema:` and `bindings:`")
			return doc
		}
		root = root.Content[0]
	}
	entries, ok := d.mapping(root, "", topKeys)
	if !ok {
		return doc
	}
	var sawSchema bool
	for _, e := range entries {
		switch e.key {
		case "schema":
			sawSchema = true
			doc.schemaPos = d.pos(e.value)
			doc.schemaGlobs, _ = d.strings(e.value, "schema")
		case "supergraph":
			doc.supergraphPos = d.pos(e.value)
			doc.supergraph, _ = d.str(e.value, "supergraph")
			if doc.supergraph == "" {
				d.errorf(doc.supergraphPos, "supergraph", "name the composed supergraph file, e.g. supergraph: supergraph.graphql")
			}
		case "sources":
			srcs, _ := d.mapping(e.value, "sources", nil)
			for _, s := range srcs {
				if src := d.source(s, env); src != nil {
					doc.sources[src.Name] = src
				}
			}
		case "bindings":
			bs, _ := d.mapping(e.value, "bindings", nil)
			for _, b := range bs {
				if bd := d.binding(b); bd != nil {
					doc.bindings = append(doc.bindings, bd)
				}
			}
		case "server":
			d.settings(e.value, &doc.settings, env)
		case "redis":
			doc.redis = d.redis(e.value, env)
		case "telemetry":
			doc.telemetry = d.telemetry(e.value)
		}
	}
	if !sawSchema && doc.supergraph == "" {
		d.errorf(d.pos(root), "", "missing `schema:`: name the SDL files, e.g. schema: [schema/*.graphqls]")
	}
	return doc
}

// redis decodes the `redis:` section (issue 15): url (required; {{env.*}} is rendered) and prefix.
func (d *decoder) redis(n *yaml.Node, env func(string) (string, bool)) *fleet.Config {
	entries, ok := d.mapping(n, "redis", redisKeys)
	if !ok {
		return nil
	}
	cfg := &fleet.Config{}
	for _, e := range entries {
		switch e.key {
		case "url":
			cfg.URL, _ = d.str(e.value, "redis.url")
			if t, err := ParseTemplate(cfg.URL); err == nil && len(t.Vars()) > 0 {
				cfg.URL = d.renderEnv(t, "redis.url", env)
			}
			if !strings.HasPrefix(cfg.URL, "redis://") && !strings.HasPrefix(cfg.URL, "rediss://") {
				d.errorf(d.pos(e.value), "redis.url", "%q is not a Redis URL: write redis://host:6379/0 (or rediss:// for TLS)", cfg.URL)
			}
		case "prefix":
			cfg.Prefix, _ = d.str(e.value, "redis.prefix")
		}
	}
	if cfg.URL == "" {
		d.errorf(d.pos(n), "redis", "missing `url:`, e.g. redis: {url: redis://127.0.0.1:6379/0}")
	}
	return cfg
}

func (d *decoder) source(e entry, env func(string) (string, bool)) *Source {
	path := "sources." + e.key
	src := &Source{Name: e.key, Pos: d.pos(e.keyN)}
	if !isName(e.key) {
		d.errorf(src.Pos, path, "source names use letters, digits, _ and -")
	}
	kinds, ok := d.mapping(e.value, path, sourceKinds)
	if !ok {
		return nil
	}
	if len(kinds) != 1 {
		d.errorf(src.Pos, path, "a source has exactly one of http, graphql or static, found %d", len(kinds))
		return nil
	}
	k := kinds[0]
	src.Kind = SourceKind(k.key)
	switch src.Kind {
	case KindHTTP:
		src.HTTP = d.httpSource(src, k.value, join(path, k.key), httpKeys, env)
	case KindGraphQL:
		src.HTTP = d.httpSource(src, k.value, join(path, k.key), graphqlKeys, env)
	case KindStatic:
		v, ok := d.value(k.value, join(path, k.key))
		if ok {
			if len(v.Vars()) > 0 {
				d.errorf(v.Pos, join(path, k.key), "a static source holds plain data; templates are not rendered here")
			}
			src.Static = plainValue(v)
		}
	}
	return src
}

func (d *decoder) httpSource(src *Source, n *yaml.Node, path string, keys []string, env func(string) (string, bool)) *sources.HTTPConfig {
	h := sources.DefaultHTTPConfig()
	h.Name = src.Name
	entries, ok := d.mapping(n, path, keys)
	if !ok {
		// The mapping's problem is reported; a missing `endpoints:` would only repeat it.
		src.sawEndpoints = true
		return &h
	}
	var sawEndpoints bool
	for _, e := range entries {
		p := join(path, e.key)
		switch e.key {
		case "endpoints":
			sawEndpoints = true
			eps, _ := d.strings(e.value, p)
			for _, ep := range eps {
				u, err := url.Parse(ep)
				if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
					d.errorf(d.pos(e.value), p, "endpoint %q is not an absolute http(s) URL without query, e.g. http://127.0.0.1:9101", ep)
					continue
				}
				h.Endpoints = append(h.Endpoints, strings.TrimSuffix(ep, "/"))
			}
			if len(eps) == 0 {
				d.errorf(d.pos(e.value), p, "list at least one endpoint")
			}
		case "strategy":
			h.Strategy, _ = d.enum(e.value, p, "strategy", sources.Strategies)
		case "timeout":
			h.Timeout, _ = d.duration(e.value, p)
		case "weights":
			wn := resolve(e.value)
			if wn.Kind != yaml.SequenceNode {
				d.errorf(d.pos(wn), p, "expected a list of integers, one per endpoint")
				continue
			}
			for _, w := range wn.Content {
				v, _ := d.integer(w, p, 1)
				h.Weights = append(h.Weights, v)
			}
		case "retry":
			rs, _ := d.mapping(e.value, p, []string{"attempts", "backoff", "budget"})
			for _, r := range rs {
				switch r.key {
				case "attempts":
					h.Retry.Attempts, _ = d.integer(r.value, join(p, r.key), 0)
				case "backoff":
					h.Retry.Backoff, _ = d.duration(r.value, join(p, r.key))
				case "budget":
					h.Retry.Budget, _ = d.fraction(r.value, join(p, r.key))
				}
			}
		case "breaker":
			bs, _ := d.mapping(e.value, p, []string{"failures", "errorRate", "window", "minRequests", "cooldown"})
			for _, b := range bs {
				switch b.key {
				case "failures":
					h.Breaker.Failures, _ = d.integer(b.value, join(p, b.key), 1)
				case "errorRate":
					h.Breaker.ErrorRate, _ = d.fraction(b.value, join(p, b.key))
				case "window":
					h.Breaker.Window, _ = d.duration(b.value, join(p, b.key))
				case "minRequests":
					h.Breaker.MinRequests, _ = d.integer(b.value, join(p, b.key), 1)
				case "cooldown":
					h.Breaker.Cooldown, _ = d.duration(b.value, join(p, b.key))
				}
			}
		case "limits":
			ls, _ := d.mapping(e.value, p, []string{"concurrency", "queueTimeout", "rate", "burst"})
			for _, l := range ls {
				switch l.key {
				case "concurrency":
					h.Limits.Concurrency, _ = d.integer(l.value, join(p, l.key), 1)
				case "queueTimeout":
					h.Limits.QueueTimeout, _ = d.duration(l.value, join(p, l.key))
				case "rate":
					h.Limits.Rate, _ = d.number(l.value, join(p, l.key))
				case "burst":
					h.Limits.Burst, _ = d.integer(l.value, join(p, l.key), 1)
				}
			}
		case "health":
			hs, _ := d.mapping(e.value, p, []string{"path", "interval", "timeout", "failures", "successes"})
			for _, hk := range hs {
				switch hk.key {
				case "path":
					if s, ok := d.str(hk.value, join(p, hk.key)); ok {
						if !strings.HasPrefix(s, "/") {
							d.errorf(d.pos(hk.value), join(p, hk.key), "the probe path must start with /")
						}
						h.Health.Path = s
					}
				case "interval":
					h.Health.Interval, _ = d.duration(hk.value, join(p, hk.key))
				case "timeout":
					h.Health.Timeout, _ = d.duration(hk.value, join(p, hk.key))
				case "failures":
					h.Health.Failures, _ = d.integer(hk.value, join(p, hk.key), 1)
				case "successes":
					h.Health.Successes, _ = d.integer(hk.value, join(p, hk.key), 1)
				}
			}
		case "dedup":
			dedup, _ := d.boolean(e.value, p)
			h.Dedup = &dedup
		case "headers":
			h.Headers = http.Header{}
			hs, _ := d.mapping(e.value, p, nil)
			for _, hd := range hs {
				t, ok := d.template(hd.value, join(p, hd.key))
				if !ok {
					continue
				}
				h.Headers.Set(hd.key, d.renderEnv(t, join(p, hd.key), env))
			}
		case "maxResponseBytes":
			n, _ := d.integer(e.value, p, 1)
			h.MaxResponseBytes = int64(n)
		case "forwardHeaders":
			names, _ := d.strings(e.value, p)
			for _, name := range names {
				h.ForwardHeaders = append(h.ForwardHeaders, http.CanonicalHeaderKey(name))
			}
		case "redirects":
			d.redirects(e.value, p, &h)
		case "subscriptions":
			src.Subscriptions = d.graphqlSubscriptions(e.value, p)
		case "sdl":
			h.SDL, _ = d.str(e.value, p)
			src.sdlPos = d.pos(e.value)
		}
	}
	// A missing `endpoints:` is reported once the supergraph's subgraphs are known (missingEndpoints).
	src.sawEndpoints, src.httpPos = sawEndpoints, d.pos(n)
	if h.Weights != nil && len(h.Weights) != len(h.Endpoints) {
		d.errorf(d.pos(n), join(path, "weights"), "%d weights for %d endpoints: give one weight per endpoint", len(h.Weights), len(h.Endpoints))
	}
	return &h
}

// redirects decodes `redirects`: same_host, none, or a list of other host names whose redirects are followed
// besides the endpoint's own host.
func (d *decoder) redirects(n *yaml.Node, path string, h *sources.HTTPConfig) {
	if r := resolve(n); r.Kind == yaml.SequenceNode {
		hosts, ok := d.strings(r, path)
		if !ok {
			return
		}
		for i, host := range hosts {
			if host == "" || strings.ContainsAny(host, "/:@ ") {
				d.errorf(d.pos(r.Content[i]), path, "%q is not a host name: list names such as api.example.com", host)
				continue
			}
			h.RedirectHosts = append(h.RedirectHosts, strings.ToLower(host))
		}
		h.Redirects = sources.RedirectsSameHost
		return
	}
	s, ok := d.str(n, path)
	if !ok {
		return
	}
	if s != sources.RedirectsSameHost && s != sources.RedirectsNone {
		d.errorf(d.pos(n), path, "redirects is same_host, none, or a list of host names to follow besides the endpoint's own, got %q", s)
		return
	}
	h.Redirects = s
}

// renderEnv renders a template that may only read {{env.*}}, at load time.
func (d *decoder) renderEnv(t *Template, path string, env func(string) (string, bool)) string {
	var b strings.Builder
	for _, s := range t.Segments {
		if s.Var == nil {
			b.WriteString(s.Literal)
			continue
		}
		if s.Var.Scope != ScopeEnv {
			d.errorf(t.Pos, path, "source headers may only use {{env.*}}; {{%s}} belongs in a binding's headers", s.Var)
			continue
		}
		name := strings.Join(s.Var.Path, ".")
		v, ok := env(name)
		if !ok {
			d.warnf(t.Pos, path, "environment variable %s is not set; it renders as an empty string", name)
		}
		b.WriteString(v)
	}
	return b.String()
}

func (d *decoder) settings(n *yaml.Node, s *Settings, env func(string) (string, bool)) {
	entries, _ := d.mapping(n, "server", serverKeys)
	for _, e := range entries {
		p := join("server", e.key)
		switch e.key {
		case "introspection":
			s.Introspection, _ = d.boolean(e.value, p)
		case "playground":
			s.Playground, _ = d.boolean(e.value, p)
		case "playgroundQuery":
			s.PlaygroundQuery, _ = d.str(e.value, p)
		case "maxBodyBytes":
			v, _ := d.integer(e.value, p, 1)
			s.MaxBodyBytes = int64(v)
		case "maxDepth":
			s.MaxDepth, _ = d.integer(e.value, p, 0)
		case "maxAliases":
			s.MaxAliases, _ = d.integer(e.value, p, 0)
		case "queryCacheSize":
			s.QueryCacheSize, _ = d.integer(e.value, p, 1)
		case "planCacheSize":
			s.PlanCacheSize, _ = d.integer(e.value, p, 1)
		case "planExtension":
			s.PlanExtension, _ = d.boolean(e.value, p)
		case "maxTokens":
			s.MaxTokens, _ = d.integer(e.value, p, 0)
		case "maxCost":
			s.MaxCost, _ = d.integer(e.value, p, 0)
		case "defaultListSize":
			s.DefaultListSize, _ = d.integer(e.value, p, 1)
		case "maxResponseBytes":
			v, _ := d.integer(e.value, p, 0)
			s.MaxResponseBytes = int64(v)
		case "maxFetches":
			s.MaxFetches, _ = d.integer(e.value, p, 0)
		case "maxItems":
			s.MaxItems, _ = d.integer(e.value, p, 0)
		case "operationTimeout":
			s.OperationTimeout, _ = d.duration(e.value, p)
		case "readHeaderTimeout":
			s.ReadHeaderTimeout, _ = d.duration(e.value, p)
		case "readTimeout":
			s.ReadTimeout, _ = d.duration(e.value, p)
		case "writeTimeout":
			s.WriteTimeout, _ = d.duration(e.value, p)
		case "idleTimeout":
			s.IdleTimeout, _ = d.duration(e.value, p)
		case "maxConnections":
			s.MaxConnections, _ = d.integer(e.value, p, 0)
		case "maxConnectionsPerClient":
			s.MaxConnectionsPerClient, _ = d.integer(e.value, p, 0)
		case "maxInFlight":
			s.MaxInFlight, _ = d.integer(e.value, p, 0)
		case "queryCacheBytes":
			v, _ := d.integer(e.value, p, 1024)
			s.QueryCacheBytes = int64(v)
		case "planCacheBytes":
			v, _ := d.integer(e.value, p, 1024)
			s.PlanCacheBytes = int64(v)
		case "apqCacheBytes":
			v, _ := d.integer(e.value, p, 1024)
			s.APQCacheBytes = int64(v)
		case "responseCacheBytes":
			v, _ := d.integer(e.value, p, 1024)
			s.ResponseCacheBytes = int64(v)
		case "exposeUpstreamDetails":
			s.ExposeUpstreamDetails, _ = d.boolean(e.value, p)
		case "cors":
			d.cors(e.value, p, &s.CORS)
		case "auth":
			d.auth(e.value, p, &s.Auth, env)
		case "uploads":
			d.uploads(e.value, p, &s.Uploads)
		case "subscriptions":
			d.subscriptions(e.value, p, &s.Subscriptions)
		}
	}
}

// cors decodes server.cors into c, which holds the defaults.
// uploads reads server.uploads: a boolean, or a mapping of limits (which turns uploads on).
func (d *decoder) uploads(n *yaml.Node, path string, u *Uploads) {
	if r := resolve(n); r.Kind == yaml.ScalarNode {
		u.Enabled, _ = d.boolean(n, path)
		return
	}
	u.Enabled = true
	entries, _ := d.mapping(n, path, uploadKeys)
	for _, e := range entries {
		p := join(path, e.key)
		switch e.key {
		case "maxFileBytes":
			v, _ := d.integer(e.value, p, 1)
			u.MaxFileBytes = int64(v)
		case "maxFiles":
			u.MaxFiles, _ = d.integer(e.value, p, 1)
		case "maxTotalBytes":
			v, _ := d.integer(e.value, p, 1)
			u.MaxTotalBytes = int64(v)
		}
	}
}

// subscriptions reads server.subscriptions into s, which holds the defaults.
func (d *decoder) subscriptions(n *yaml.Node, path string, s *Subscriptions) {
	entries, _ := d.mapping(n, path, subKeys)
	for _, e := range entries {
		p := join(path, e.key)
		switch e.key {
		case "max":
			s.Max, _ = d.integer(e.value, p, 1)
		case "maxPerConnection":
			s.MaxPerConnection, _ = d.integer(e.value, p, 1)
		case "maxPerClient":
			s.MaxPerClient, _ = d.integer(e.value, p, 0)
		case "buffer":
			s.Buffer, _ = d.integer(e.value, p, 1)
		case "bufferBytes":
			v, _ := d.integer(e.value, p, 1024)
			s.BufferBytes = int64(v)
		case "bufferBytesTotal":
			v, _ := d.integer(e.value, p, 1024)
			s.BufferBytesTotal = int64(v)
		case "overflow":
			s.Overflow, _ = d.enum(e.value, p, "overflow action", OverflowActions)
		case "keepAlive":
			s.KeepAlive, _ = d.duration(e.value, p)
		case "initTimeout":
			s.InitTimeout, _ = d.duration(e.value, p)
		}
	}
}

// enum reads a string that must be one of known; what names it in the error ("strategy", "overflow action").
// It returns the string read, and whether it is one of known.
func (d *decoder) enum(n *yaml.Node, path, what string, known []string) (string, bool) {
	v, ok := d.str(n, path)
	if ok && !slices.Contains(known, v) {
		d.errorf(d.pos(n), path, "unknown %s %q%s", what, v, suggest(v, known))
		return v, false
	}
	return v, ok
}

func (d *decoder) cors(n *yaml.Node, path string, c *CORS) {
	before := len(d.list)
	entries, _ := d.mapping(n, path, corsKeys)
	var credentialsPos Position
	for _, e := range entries {
		p := join(path, e.key)
		switch e.key {
		case "origins":
			origins, _ := d.strings(e.value, p)
			at := func(i int) Position { // the list element, for the message
				if l := resolve(e.value); l.Kind == yaml.SequenceNode && i < len(l.Content) {
					return d.pos(l.Content[i])
				}
				return d.pos(e.value)
			}
			c.Origins = nil
			for i, o := range origins {
				if o == "*" && len(origins) > 1 {
					d.errorf(at(i), p, `"*" allows every origin: give it alone, or list the origins`)
					continue
				}
				// An origin is scheme://host[:port], nothing after; the host may start with one "*." wildcard.
				u, err := url.Parse(strings.Replace(o, "://*.", "://wildcard.", 1))
				if o != "*" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
					(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || strings.Count(o, "*") > 1) {
					d.errorf(at(i), p, "origin %q is not an origin: write scheme://host[:port], e.g. https://app.example.com, or \"*\"", o)
					continue
				}
				c.Origins = append(c.Origins, strings.TrimSuffix(o, "/"))
			}
		case "methods":
			ms, _ := d.strings(e.value, p)
			c.Methods = nil
			for _, m := range ms {
				if m = strings.ToUpper(m); !contains(methods, m) {
					d.errorf(d.pos(e.value), p, "unknown method %q (have: %s)", m, strings.Join(methods, ", "))
					continue
				}
				c.Methods = append(c.Methods, m)
			}
		case "headers":
			c.Headers, _ = d.strings(e.value, p)
		case "credentials":
			c.Credentials, _ = d.boolean(e.value, p)
			credentialsPos = d.pos(e.value)
		case "maxAge":
			c.MaxAge, _ = d.duration(e.value, p)
		}
	}
	if len(entries) > 0 && len(c.Origins) == 0 && !d.hasErrorsSince(before) {
		d.errorf(d.pos(n), path, `no origins: list the origins allowed, e.g. origins: [https://app.example.com], or remove server.cors`)
	}
	if c.Credentials && len(c.Origins) == 1 && c.Origins[0] == "*" {
		d.errorf(credentialsPos, join(path, "credentials"), `credentials: true cannot go with origins: ["*"] (browsers refuse credentialed answers to any origin): list the origins`)
	}
}

// plainValue converts a template-free Value to plain JSON-shaped Go values.
func plainValue(v *Value) any {
	switch v.Kind {
	case ValueScalar:
		return v.Scalar
	case ValueTemplate:
		return v.Template.Raw
	case ValueList:
		out := make([]any, len(v.List))
		for i, e := range v.List {
			out[i] = plainValue(e)
		}
		return out
	case ValueObject:
		out := make(map[string]any, len(v.Fields))
		for _, f := range v.Fields {
			out[f.Name] = plainValue(f.Value)
		}
		return out
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
