package schema

import (
	"errors"
	"os"
	"strings"
	"testing"
	"testing/fstest"
)

// minimalSupergraph is a two-subgraph supergraph as rover supergraph compose writes it (join v0.3).
const minimalSupergraph = `schema
  @link(url: "https://specs.apollo.dev/link/v1.0")
  @link(url: "https://specs.apollo.dev/join/v0.3", for: EXECUTION)
{
  query: Query
}

directive @join__enumValue(graph: join__Graph!) repeatable on ENUM_VALUE

directive @join__field(graph: join__Graph, requires: join__FieldSet, provides: join__FieldSet, type: String, external: Boolean, override: String, usedOverridden: Boolean) repeatable on FIELD_DEFINITION | INPUT_FIELD_DEFINITION

directive @join__graph(name: String!, url: String!) on ENUM_VALUE

directive @join__implements(graph: join__Graph!, interface: String!) repeatable on OBJECT | INTERFACE

directive @join__type(graph: join__Graph!, key: join__FieldSet, extension: Boolean! = false, resolvable: Boolean! = true, isInterfaceObject: Boolean! = false) repeatable on OBJECT | INTERFACE | UNION | ENUM | INPUT_OBJECT | SCALAR

directive @join__unionMember(graph: join__Graph!, member: String!) repeatable on UNION

directive @link(url: String, as: String, for: link__Purpose, import: [link__Import]) repeatable on SCHEMA

scalar join__FieldSet

enum join__Graph {
  EMAIL @join__graph(name: "email", url: "http://127.0.0.1:4200/email")
  NICKNAME @join__graph(name: "nickname", url: "http://127.0.0.1:4200/nickname")
}

scalar link__Import

enum link__Purpose {
  SECURITY
  EXECUTION
}

type Query
  @join__type(graph: EMAIL)
  @join__type(graph: NICKNAME)
{
  user: User @join__field(graph: EMAIL)
}

type User
  @join__type(graph: EMAIL, key: "id")
  @join__type(graph: NICKNAME, key: "email")
{
  id: ID!
  email: String! @join__field(graph: EMAIL) @join__field(graph: NICKNAME, external: true)
  nickname: String! @join__field(graph: NICKNAME)
}
`

// TestFederation_Problems: a broken supergraph, or a configuration that does not fit it, is reported with the
// file, line, column and a fix, every problem at once.
func TestFederation_Problems(t *testing.T) {
	tests := []struct {
		name string
		// config is conflux.yaml; supergraph replaces old with new in minimalSupergraph, in pairs.
		config  string
		replace []string
		files   map[string]string
		want    []string
	}{
		{
			name:    "syntax error",
			replace: []string{"type User\n", "type User {\n"},
			want:    []string{`super.graphql:44:3: SDL: Expected Name, found @`},
		},
		{
			name:    "not a supergraph",
			replace: []string{"enum join__Graph", "enum Graph"},
			want:    []string{`super.graphql:1:1: supergraph: no join__Graph enum: this is not a composed supergraph; compose one with rover supergraph compose (or @apollo/composition, wgc, hive)`},
		},
		{
			name:    "unknown graph",
			replace: []string{"@join__type(graph: NICKNAME, key", "@join__type(graph: NICK, key"},
			want:    []string{`super.graphql:45:15: supergraph: @join__type names graph NICK, which join__Graph does not declare (have: EMAIL, NICKNAME)`},
		},
		{
			name:    "key does not parse",
			replace: []string{`key: "email"`, `key: "email {"`},
			want:    []string{`super.graphql:45:32: supergraph: the key field set "email {" of User in subgraph nickname does not parse (expected at least one definition, found }): fix it in the subgraph and compose again`},
		},
		{
			name:    "requires does not parse",
			replace: []string{`external: true)`, `external: true, requires: "a b(")`},
			want:    []string{`super.graphql:48:91: supergraph: the requires field set "a b(" of User.email in subgraph nickname does not parse (Expected Name, found }): fix it in the subgraph and compose again`},
		},
		{
			name:    "subgraph without url",
			replace: []string{`url: "http://127.0.0.1:4200/email"`, `url: ""`},
			want:    []string{`super.graphql:25:3: supergraph: subgraph email has no url: give it one when composing (routing_url in rover's supergraph.yaml), or list its endpoints under sources.email.graphql.endpoints`},
		},
		{
			name:    "subgraph without url, endpoints in the configuration",
			config:  "supergraph: super.graphql\nsources:\n  email:\n    graphql: {endpoints: [http://127.0.0.1:9]}\n",
			replace: []string{`url: "http://127.0.0.1:4200/email"`, `url: ""`},
		},
		{
			name:    "subgraph url is not http",
			replace: []string{`url: "http://127.0.0.1:4200/email"`, `url: "unix:///tmp/email.sock"`},
			want:    []string{`super.graphql:25:3: supergraph: subgraph email has url "unix:///tmp/email.sock", which is not an absolute http(s) URL without query: fix it when composing, or list its endpoints under sources.email.graphql.endpoints`},
		},
		{
			name:    "subgraph named twice",
			replace: []string{`name: "nickname"`, `name: "email"`},
			want:    []string{`super.graphql:26:3: supergraph: subgraph "email" is named twice (EMAIL and NICKNAME): give each subgraph its own name`},
		},
		{
			name:   "subgraph configured as an http source",
			config: "supergraph: super.graphql\nsources:\n  email:\n    http: {endpoints: [http://127.0.0.1:9]}\n",
			want:   []string{`conflux.yaml:3:3: sources.email: email is a subgraph of the supergraph (super.graphql:25:3): configure it under graphql:, e.g. sources.email.graphql: {timeout: 2s}`},
		},
		{
			name:   "other sources still need endpoints",
			config: "supergraph: super.graphql\nsources:\n  email:\n    graphql: {timeout: 1s}\n  crm:\n    graphql: {timeout: 1s}\n",
			want: []string{
				`conflux.yaml:5:3: warning: sources.crm: no sdl: the upstream schema is unknown, so forwarded selections are not checked before they are sent; name the upstream SDL file with sdl:`,
				`conflux.yaml:6:14: sources.crm.graphql: missing ` + "`endpoints:`" + `: list the base URLs, e.g. endpoints: [http://127.0.0.1:9101]`,
			},
		},
		{
			name:    "security feature Conflux does not enforce",
			replace: []string{"{\n  query: Query", "  @link(url: \"https://specs.apollo.dev/authenticated/v0.1\", for: SECURITY)\n{\n  query: Query"},
			want:    []string{`super.graphql:4:4: supergraph: https://specs.apollo.dev/authenticated/v0.1 is linked for SECURITY, and Conflux does not implement it: serving the supergraph without it would answer what the subgraphs expect to be guarded or computed; remove its directives from the subgraphs and compose again`},
		},
		{
			name:    "join version not supported",
			replace: []string{"join/v0.3", "join/v0.9"},
			want:    []string{`super.graphql:3:4: supergraph: https://specs.apollo.dev/join/v0.9 is not supported: Conflux reads join v0.1 to v0.5; compose with a federation version that emits one of them`},
		},
		{
			name:   "missing supergraph file",
			config: "supergraph: nope.graphql\n",
			want:   []string{`conflux.yaml:1:13: supergraph: read nope.graphql: open nope.graphql: file does not exist`},
		},
		{
			name:   "empty supergraph key",
			config: "supergraph: \"\"\n",
			want: []string{
				"conflux.yaml:1:1: missing `schema:`: name the SDL files, e.g. schema: [schema/*.graphqls]",
				`conflux.yaml:1:13: supergraph: name the composed supergraph file, e.g. supergraph: supergraph.graphql`,
			},
		},
		{
			name:   "extension file redeclares a supergraph type",
			config: "supergraph: super.graphql\nschema: [more.graphqls]\n",
			files:  map[string]string{"more.graphqls": "type User { id: ID! }\n"},
			want:   []string{`more.graphqls:1:6: SDL: Cannot redeclare type User.`},
		},
		{
			name:   "extension file extends a supergraph type with an unknown type",
			config: "supergraph: super.graphql\nschema: [more.graphqls]\n",
			files:  map[string]string{"more.graphqls": "extend type User { orders: [Order] }\n"},
			want:   []string{`more.graphqls:1:29: SDL: Undefined type Order.`},
		},
		{
			name:   "binding on an unknown field of a federated type",
			config: "supergraph: super.graphql\nbindings:\n  User.nickName: {from: nickname}\n",
			want:   []string{`conflux.yaml:3:3: bindings.User.nickName: type User has no field "nickName": did you mean "nickname"?`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			config := tt.config
			if config == "" {
				config = "supergraph: super.graphql\n"
			}
			sdl := minimalSupergraph
			for i := 0; i+1 < len(tt.replace); i += 2 {
				if !strings.Contains(sdl, tt.replace[i]) {
					t.Fatalf("the supergraph has no %q", tt.replace[i])
				}
				sdl = strings.Replace(sdl, tt.replace[i], tt.replace[i+1], 1)
			}
			fsys := fstest.MapFS{"super.graphql": {Data: []byte(sdl)}}
			for name, content := range tt.files {
				fsys[name] = &fstest.MapFile{Data: []byte(content)}
			}
			_, err := Parse("conflux.yaml", []byte(config), fsys, noEnv)
			var got []string
			if err != nil {
				var ce *ConfigError
				if !errors.As(err, &ce) {
					t.Fatalf("not a *ConfigError: %v", err)
				}
				for _, p := range ce.Problems {
					got = append(got, p.String())
				}
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("problems\n--- got\n%s\n--- want\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// FuzzSupergraph: the supergraph loader never panics on any file, and either loads or reports problems that all
// carry a file name.
func FuzzSupergraph(f *testing.F) {
	f.Add([]byte(minimalSupergraph))
	for _, c := range []string{"shop", "fed1", "renamed"} {
		b, err := os.ReadFile("testdata/federation/" + c + "/supergraph.graphql")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`enum join__Graph { A @join__graph(name: "a", url: "http://a") } type Query @join__type(graph: A, key: "{") { a: Int @join__field }`))
	f.Add([]byte(`schema @link(url: "x", as: "") @link(url: "/join/v0.3", import: [{name: 1}, "@x", {}]) { query: Query }`))
	ext := []byte("extend type Query { extra: String }\n")
	f.Fuzz(func(t *testing.T, sdl []byte) {
		fsys := fstest.MapFS{"super.graphql": {Data: sdl}, "ext.graphqls": {Data: ext}}
		_, err := Parse("conflux.yaml", []byte("supergraph: super.graphql\nschema: [ext.graphqls]\n"), fsys, noEnv)
		if err == nil {
			return
		}
		var ce *ConfigError
		if !errors.As(err, &ce) || len(ce.Problems) == 0 {
			t.Fatalf("error is not a *ConfigError with problems: %v", err)
		}
		for _, p := range ce.Problems {
			if p.Pos.File == "" {
				t.Fatalf("problem without a file: %s", p)
			}
		}
	})
}
