package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

// zz is a key far from every known one, so the decoder answers it with its whole key list.
const zz = "zzzzzzzzzzzzzzzzzzzzzzzzzzzz"

// mappings are the places where the decoder checks keys against a list: the YAML path and a document that puts
// the mapping's body (%s) there.
var mappings = []struct {
	path []string
	doc  string
}{
	{nil, "%s"},
	{[]string{"server"}, "server: {%s}"},
	{[]string{"server", "cors"}, "server: {cors: {origins: [\"*\"], %s}}"},
	{[]string{"server", "auth"}, "server: {auth: {%s}}"},
	{[]string{"server", "uploads"}, "server: {uploads: {%s}}"},
	{[]string{"server", "subscriptions"}, "server: {subscriptions: {%s}}"},
	{[]string{"server", "auth", "jwt"}, "server: {auth: {jwt: {jwks: \"https://issuer/jwks\", %s}}}"},
	{[]string{"server", "auth", "rules", "T"}, "server: {auth: {jwt: {jwks: \"https://issuer/jwks\"}, rules: {T: {authenticated: true, %s}}}}"},
	{[]string{"redis"}, "redis: {%s}"},
	{[]string{"telemetry"}, "telemetry: {%s}"},
	{[]string{"telemetry", "tracing"}, "telemetry: {tracing: {%s}}"},
	{[]string{"sources", "s"}, "sources: {s: {%s}}"},
	{[]string{"sources", "s", "http"}, "sources: {s: {http: {%s}}}"},
	{[]string{"sources", "s", "http", "retry"}, "sources: {s: {http: {retry: {%s}}}}"},
	{[]string{"sources", "s", "http", "breaker"}, "sources: {s: {http: {breaker: {%s}}}}"},
	{[]string{"sources", "s", "http", "limits"}, "sources: {s: {http: {limits: {%s}}}}"},
	{[]string{"sources", "s", "http", "health"}, "sources: {s: {http: {health: {%s}}}}"},
	{[]string{"sources", "s", "graphql"}, "sources: {s: {graphql: {%s}}}"},
	{[]string{"sources", "s", "graphql", "retry"}, "sources: {s: {graphql: {retry: {%s}}}}"},
	{[]string{"sources", "s", "graphql", "breaker"}, "sources: {s: {graphql: {breaker: {%s}}}}"},
	{[]string{"sources", "s", "graphql", "limits"}, "sources: {s: {graphql: {limits: {%s}}}}"},
	{[]string{"sources", "s", "graphql", "health"}, "sources: {s: {graphql: {health: {%s}}}}"},
	{[]string{"sources", "s", "graphql", "subscriptions"}, "sources: {s: {graphql: {subscriptions: {%s}}}}"},
	{[]string{"bindings", "T.f"}, "bindings: {T.f: {%s}}"},
	{[]string{"bindings", "T.f", "batch"}, "bindings: {T.f: {batch: {%s}}}"},
	{[]string{"bindings", "T.f", "listSize"}, "bindings: {T.f: {listSize: {%s}}}"},
	{[]string{"bindings", "T.f", "cache"}, "bindings: {T.f: {cache: {%s}}}"},
	{[]string{"bindings", "T.f", "discriminator"}, "bindings: {T.f: {discriminator: {%s}}}"},
	{[]string{"bindings", "T.f", "subscribe"}, "bindings: {T.f: {subscribe: {%s}}}"},
	{[]string{"bindings", "T.f", "subscribe", "reconnect"}, "bindings: {T.f: {subscribe: {reconnect: {%s}}}}"},
}

// decodeProblems runs the decoder over a configuration and returns its problems (no SDL is read).
func decodeProblems(t *testing.T, doc string) []Problem {
	t.Helper()
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(doc), &root); err != nil {
		t.Fatalf("%s: %v", doc, err)
	}
	d := &decoder{file: "conflux.yaml", problems: &problems{}}
	// Every environment variable is set, to a value that serves both headers and redis.url.
	d.document(&root, func(string) (string, bool) { return "redis://127.0.0.1:6379/0", true })
	return d.list
}

func generated(t *testing.T) map[string]any {
	t.Helper()
	data, err := JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// at finds the schema of the mapping at a YAML path, following $ref and, in an anyOf, the object branch; it
// returns the schema and its JSON pointer.
func at(t *testing.T, root map[string]any, path []string) (map[string]any, string) {
	t.Helper()
	node, ptr := root, ""
	deref := func() {
		for {
			if r, ok := node["$ref"].(string); ok {
				ptr = strings.TrimPrefix(r, "#")
				node = root
				for _, seg := range strings.Split(ptr, "/")[1:] {
					node = node[seg].(map[string]any)
				}
				continue
			}
			if branches, ok := node["anyOf"].([]any); ok {
				for i, b := range branches {
					if bm := b.(map[string]any); bm["type"] == "object" || bm["$ref"] != nil {
						node, ptr = bm, ptr+"/anyOf/"+strconv.Itoa(i)
					}
				}
				if node["anyOf"] == nil {
					continue
				}
			}
			return
		}
	}
	deref()
	for _, seg := range path {
		if props, ok := node["properties"].(map[string]any); ok && props[seg] != nil {
			node, ptr = props[seg].(map[string]any), ptr+"/properties/"+seg
		} else if pp, ok := node["patternProperties"].(map[string]any); ok && len(pp) == 1 {
			for pattern, n := range pp {
				if !regexp.MustCompile(pattern).MatchString(seg) {
					t.Fatalf("%v: %q does not match %s", path, seg, pattern)
				}
				node, ptr = n.(map[string]any), ptr+"/patternProperties/"+pattern
			}
		} else if ap, ok := node["additionalProperties"].(map[string]any); ok {
			node, ptr = ap, ptr+"/additionalProperties"
		} else {
			t.Fatalf("%v: the schema has no %q", path, seg)
		}
		deref()
	}
	return node, ptr
}

// closedObjects returns the JSON pointers of every schema with properties and additionalProperties: false.
func closedObjects(n any, ptr string, out map[string]bool) {
	switch n := n.(type) {
	case map[string]any:
		if n["properties"] != nil && n["additionalProperties"] == false {
			out[ptr] = true
		}
		for k, v := range n {
			closedObjects(v, ptr+"/"+k, out)
		}
	case []any:
		for i, v := range n {
			closedObjects(v, ptr+"/"+strconv.Itoa(i), out)
		}
	}
}

var knownKeys = regexp.MustCompile(`unknown key "` + zz + `" \(known keys: ([^)]*)\)`)

// TestJSONSchema_KeysMatchDecoder holds every mapping of the schema to the decoder's key list there: a key the
// decoder knows and the schema does not (or the other way round) fails, as does a closed mapping of the schema
// that this test does not visit.
func TestJSONSchema_KeysMatchDecoder(t *testing.T) {
	root := generated(t)
	visited := map[string]bool{}
	for _, m := range mappings {
		t.Run(strings.Join(append([]string{"root"}, m.path...), "."), func(t *testing.T) {
			var decoderKeys []string
			for _, p := range decodeProblems(t, fmt.Sprintf(m.doc, zz+": 1")) {
				if sm := knownKeys.FindStringSubmatch(p.Message); sm != nil {
					decoderKeys = strings.Split(sm[1], ", ")
				}
			}
			if decoderKeys == nil {
				t.Fatalf("the decoder did not refuse %s with its key list", zz)
			}
			node, ptr := at(t, root, m.path)
			visited[ptr] = true
			if node["additionalProperties"] != false {
				t.Errorf("%s: additionalProperties is %v, want false: the decoder refuses unknown keys", ptr, node["additionalProperties"])
			}
			var schemaKeys []string
			for k := range node["properties"].(map[string]any) {
				schemaKeys = append(schemaKeys, k)
			}
			sort.Strings(schemaKeys)
			if !slices.Equal(schemaKeys, decoderKeys) {
				t.Errorf("%s: schema keys %v, decoder keys %v", ptr, schemaKeys, decoderKeys)
			}
		})
	}
	all := map[string]bool{}
	closedObjects(root, "", all)
	for ptr := range all {
		if !visited[ptr] {
			t.Errorf("%s: a closed mapping of the schema that no case of mappings checks against the decoder", ptr)
		}
	}
}

// TestJSONSchema_Minimums holds each integer's minimum to the decoder: one below is refused, the minimum taken.
func TestJSONSchema_Minimums(t *testing.T) {
	root := generated(t)
	for _, m := range mappings {
		node, _ := at(t, root, m.path)
		for key, p := range node["properties"].(map[string]any) {
			prop := p.(map[string]any)
			format := "%s: %d"
			switch {
			case prop["type"] == "array" && prop["items"].(map[string]any)["type"] == "integer":
				prop, format = prop["items"].(map[string]any), "%s: [%d]"
			case prop["anyOf"] != nil && prop["anyOf"].([]any)[0].(map[string]any)["type"] == "integer":
				prop = prop["anyOf"].([]any)[0].(map[string]any)
			}
			if prop["type"] != "integer" {
				continue
			}
			min := int(prop["minimum"].(float64))
			path := strings.Join(append(slices.Clone(m.path), key), ".")
			t.Run(path, func(t *testing.T) {
				for _, v := range []int{min - 1, min} {
					refused := false
					for _, p := range decodeProblems(t, fmt.Sprintf(m.doc, fmt.Sprintf(format, key, v))) {
						refused = refused || p.Path == path && strings.Contains(p.Message, "integer")
					}
					if refused != (v < min) {
						t.Errorf("schema minimum %d, but the decoder refused %d: %v", min, v, refused)
					}
				}
			})
		}
	}
}

func compiled(t *testing.T) *jsonschema.Schema {
	t.Helper()
	data, err := JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("conflux.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("conflux.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// yamlToJSON converts a YAML document to the JSON value an editor validates.
func yamlToJSON(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	j, err := json.Marshal(jsonable(v))
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

func jsonable(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = jsonable(e)
		}
	case map[any]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[fmt.Sprint(k)] = jsonable(e)
		}
		return m
	case []any:
		for i, e := range v {
			v[i] = jsonable(e)
		}
	}
	return v
}

// TestJSONSchema_Configs validates every example and test configuration against the schema: the schema accepts
// those the decoder reads without an error (whatever the later checks against the SDL say) and refuses the
// others, all of whose mistakes here are of shape (unknown keys, values out of range).
func TestJSONSchema_Configs(t *testing.T) {
	s := compiled(t)
	var files []string
	for _, pattern := range []string{"../examples/*/conflux.yaml", "../testdata/*/conflux.yaml", "../testdata/federation/*/conflux.yaml",
		"testdata/*/conflux.yaml", "testdata/federation/*/conflux.yaml"} {
		matches, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, matches...)
	}
	for _, want := range []string{"../examples/customer360/conflux.yaml", "../examples/posts/conflux.yaml", "../testdata/federation/customer360/conflux.yaml", "testdata/many_errors/conflux.yaml"} {
		if !slices.Contains(files, want) {
			t.Fatalf("%s is not among the configurations: %v", want, files)
		}
	}
	refused := 0
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var probe any
			if yaml.Unmarshal(data, &probe) != nil {
				t.Skip("not YAML: the editor reports the syntax error")
			}
			var errs []string
			for _, p := range decodeProblems(t, string(data)) {
				if !p.Warning {
					errs = append(errs, p.String())
				}
			}
			err = s.Validate(yamlToJSON(t, data))
			if err != nil {
				refused++
			}
			switch {
			case len(errs) == 0 && err != nil:
				t.Errorf("the schema refuses a configuration the decoder reads: %v", err)
			case len(errs) > 0 && err == nil:
				t.Errorf("the schema accepts a configuration the decoder refuses: %v", errs)
			}
		})
	}
	if refused == 0 {
		t.Error("no configuration was refused: the test configurations with mistakes of shape are gone")
	}
}

// TestJSONSchema_AgreesWithDecoder feeds the schema and the decoder the same documents: each accepts what the
// other does and refuses what the other refuses.
func TestJSONSchema_AgreesWithDecoder(t *testing.T) {
	s := compiled(t)
	tests := []struct {
		name   string
		doc    string
		accept bool
	}{
		{"minimal", "schema: s.graphqls", true},
		{"schema list", "schema: [a.graphqls, b.graphqls]", true},
		{"supergraph alone", "supergraph: supergraph.graphql", true},
		{"neither schema nor supergraph", "server: {}", false},
		{"unknown top key", "schema: s.graphqls\nsevrer: {}", false},
		{"unknown server key", "schema: s.graphqls\nserver: {maxDeph: 3}", false},
		{"server values", "schema: s.graphqls\nserver: {maxDepth: 0, introspection: false, operationTimeout: 1m30s, readTimeout: 1.5s, idleTimeout: \"0\", playgroundQuery: '{ a }'}", true},
		{"duration as a number", "schema: s.graphqls\nserver: {operationTimeout: 5}", false},
		{"duration without unit", "schema: s.graphqls\nserver: {operationTimeout: \"5\"}", false},
		{"negative duration", "schema: s.graphqls\nserver: {operationTimeout: -5s}", false},
		{"microseconds", "schema: s.graphqls\nserver: {operationTimeout: 500µs}", true},
		{"bool as a string", "schema: s.graphqls\nserver: {playground: \"yes\"}", false},
		{"negative integer", "schema: s.graphqls\nserver: {maxDepth: -1}", false},
		{"float for an integer", "schema: s.graphqls\nserver: {maxDepth: 1.5}", false},
		{"http source", `schema: s.graphqls
sources:
  crm:
    http:
      endpoints: [http://127.0.0.1:9101, "https://crm.example.com/v1"]
      weights: [1, 3]
      strategy: weighted
      timeout: 800ms
      retry: {attempts: 2, backoff: 25ms, budget: 0.5}
      breaker: {failures: 5, errorRate: 0.5, window: 10s, minRequests: 20, cooldown: 5s}
      limits: {concurrency: 128, queueTimeout: 50ms, rate: 500.5, burst: 10}
      health: {path: /healthz, interval: 5s, timeout: 1s, failures: 2, successes: 1}
      dedup: false
      headers: {Authorization: "Bearer {{env.TOKEN}}", X-Version: 2}
      maxResponseBytes: 1024
      forwardHeaders: authorization
      redirects: [cdn.example.com]`, true},
		{"one endpoint as a string", "schema: s.graphqls\nsources: {crm: {http: {endpoints: http://127.0.0.1:9101}}}", true},
		{"endpoint not a URL", "schema: s.graphqls\nsources: {crm: {http: {endpoints: [127.0.0.1:9101]}}}", false},
		{"no endpoints", "schema: s.graphqls\nsources: {crm: {http: {endpoints: []}}}", false},
		{"unknown strategy", "schema: s.graphqls\nsources: {crm: {http: {endpoints: [http://a], strategy: random}}}", false},
		{"redirects none", "schema: s.graphqls\nsources: {crm: {http: {endpoints: [http://a], redirects: none}}}", true},
		{"redirects bogus", "schema: s.graphqls\nsources: {crm: {http: {endpoints: [http://a], redirects: all}}}", false},
		{"redirect host with a port", "schema: s.graphqls\nsources: {crm: {http: {endpoints: [http://a], redirects: [\"cdn:443\"]}}}", false},
		{"budget over 1", "schema: s.graphqls\nsources: {crm: {http: {endpoints: [http://a], retry: {budget: 1.5}}}}", false},
		{"unknown retry key", "schema: s.graphqls\nsources: {crm: {http: {endpoints: [http://a], retry: {attempt: 2}}}}", false},
		{"sdl on an http source", "schema: s.graphqls\nsources: {crm: {http: {endpoints: [http://a], sdl: up.graphqls}}}", false},
		{"graphql source", "schema: s.graphqls\nsources: {up: {graphql: {endpoints: [http://a/graphql], sdl: up.graphqls, forwardHeaders: [authorization]}}}", true},
		{"static source", "schema: s.graphqls\nsources: {fixtures: {static: {greeting: hello, n: [1, 2]}}}", true},
		{"two kinds", "schema: s.graphqls\nsources: {x: {http: {endpoints: [http://a]}, static: 1}}", false},
		{"no kind", "schema: s.graphqls\nsources: {x: {}}", false},
		{"source name with a dot", "schema: s.graphqls\nsources: {a.b: {static: 1}}", false},
		{"redis", "schema: s.graphqls\nredis: {url: redis://127.0.0.1:6379/0, prefix: c1}", true},
		{"redis from env", "schema: s.graphqls\nredis: {url: \"{{env.REDIS_URL}}\"}", true},
		{"redis without url", "schema: s.graphqls\nredis: {prefix: c1}", false},
		{"redis url not redis", "schema: s.graphqls\nredis: {url: http://127.0.0.1:6379}", false},
		{"binding", `schema: s.graphqls
bindings:
  Query.customer: {source: crm, method: post, path: "/customers/{{args.id}}", query: {a: "{{args.a}}", b: [1, x], c: true}, headers: {X-Id: "{{headers.x-id}}"}, body: {id: "{{args.id}}", n: [1, null]}, select: data.items, timeout: 200ms, retrySafe: true, fallback: [], required: true, listSize: 20, cache: {ttl: 30s, honorCacheControl: true}, public: true}
  Customer.fullName: {from: profile.name}
  Customer.kind: {value: person}
  Query.tickets: {source: support, field: ticketsByCustomer, args: {customerId: "{{parent.id}}"}, listSize: {assumedSize: 5, slicingArguments: [first]}}
  Query.things: {source: crm, path: /things, discriminator: {field: kind, types: {a: A, b: B}}}`, true},
		{"binding key without a dot", "schema: s.graphqls\nbindings: {customer: {source: crm}}", false},
		{"unknown binding key", "schema: s.graphqls\nbindings: {Query.a: {sorce: crm}}", false},
		{"unknown method", "schema: s.graphqls\nbindings: {Query.a: {source: crm, method: FETCH}}", false},
		{"path without slash", "schema: s.graphqls\nbindings: {Query.a: {source: crm, path: customers}}", false},
		{"path with a query", "schema: s.graphqls\nbindings: {Query.a: {source: crm, path: \"/customers?id=1\"}}", false},
		{"null query value", "schema: s.graphqls\nbindings: {Query.a: {source: crm, path: /a, query: {id: null}}}", false},
		{"cache unknown key", "schema: s.graphqls\nbindings: {Query.a: {source: crm, path: /a, cache: {maxAge: 3}}}", false},
		{"listSize zero", "schema: s.graphqls\nbindings: {Query.a: {source: crm, path: /a, listSize: 0}}", false},
		{"listSize unknown key", "schema: s.graphqls\nbindings: {Query.a: {source: crm, path: /a, listSize: {size: 3}}}", false},
		{"discriminator without types", "schema: s.graphqls\nbindings: {Query.a: {source: crm, path: /a, discriminator: {field: kind}}}", false},
		{"from not a path", "schema: s.graphqls\nbindings: {Query.a: {from: a..b}}", false},
		{"batch", `schema: s.graphqls
bindings:
  Post.user: {source: api, path: "/users/{{parent.userId}}", batch: {key: "{{parent.userId}}", path: /users, query: {id: "{{keys}}"}, match: id, maxSize: 100}}
  Order.item: {source: api, path: /items, batch: {key: ["{{parent.a}}", "{{parent.b}}"], match: [a, b], method: POST, body: {keys: "{{keys}}"}, select: items}}
  User.reviews: {source: reviews, field: x, batch: {key: "{{parent.id}}", entities: User, match: id, field: y, args: {ids: "{{keys}}"}}}`, true},
		{"jwt with jwks", `schema: s.graphqls
server:
  auth:
    jwt: {jwks: "https://issuer.example.com/.well-known/jwks.json", issuer: "https://issuer.example.com/", audience: api, algorithms: [RS256, ES256], clockSkew: 1m, required: true, refresh: 5m, timeout: 2s}
    rules: {Customer.orders: {scopes: ["orders:read"]}, Invoice: {authenticated: true}}`, true},
		{"jwt with an HMAC secret", "schema: s.graphqls\nserver: {auth: {jwt: {keys: [\"{{env.JWT_SECRET}}\"], algorithms: HS256}}}", true},
		{"jwt without keys", "schema: s.graphqls\nserver: {auth: {jwt: {issuer: x}}}", false},
		{"jwt alg none", "schema: s.graphqls\nserver: {auth: {jwt: {jwks: \"https://i/k\", algorithms: [none]}}}", false},
		{"jwt literal secret", "schema: s.graphqls\nserver: {auth: {jwt: {keys: [hunter2], algorithms: [HS256]}}}", false},
		{"jwks not a URL", "schema: s.graphqls\nserver: {auth: {jwt: {jwks: issuer/jwks}}}", false},
		{"unknown jwt key", "schema: s.graphqls\nserver: {auth: {jwt: {jwks: \"https://i/k\", audiences: [a]}}}", false},
		{"rule requiring nothing", "schema: s.graphqls\nserver: {auth: {jwt: {jwks: \"https://i/k\"}, rules: {Query.a: {}}}}", false},
		{"batch without key", "schema: s.graphqls\nbindings: {Post.user: {source: api, path: /u, batch: {match: id}}}", false},
		{"batch with an empty key list", "schema: s.graphqls\nbindings: {Post.user: {source: api, path: /u, batch: {key: []}}}", false},
		{"unknown batch key", "schema: s.graphqls\nbindings: {Post.user: {source: api, path: /u, batch: {key: \"{{parent.id}}\", size: 3}}}", false},
		{"batch maxSize zero", "schema: s.graphqls\nbindings: {Post.user: {source: api, path: /u, batch: {key: \"{{parent.id}}\", maxSize: 0}}}", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var errs []string
			for _, p := range decodeProblems(t, tc.doc) {
				if !p.Warning {
					errs = append(errs, p.String())
				}
			}
			if decoded := len(errs) == 0; decoded != tc.accept {
				t.Errorf("the decoder accepts: %v, want %v (%v)", decoded, tc.accept, errs)
			}
			err := s.Validate(yamlToJSON(t, []byte(tc.doc)))
			if valid := err == nil; valid != tc.accept {
				t.Errorf("the schema accepts: %v, want %v (%v)", valid, tc.accept, err)
			}
		})
	}
}

// TestJSONSchema_Deterministic: the committed conflux.schema.json depends on the same bytes every run.
func TestJSONSchema_Deterministic(t *testing.T) {
	a, err := JSONSchema()
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		b, _ := JSONSchema()
		if !bytes.Equal(a, b) {
			t.Fatal("two runs differ")
		}
	}
}
