package schema

import (
	"strings"
	"testing"
	"testing/fstest"
)

// TestFederation_PublicSchema: what the public schema keeps and drops of a supergraph, per kind of element.
// Paths are Type, Type.field, Type.field(arg), Enum.VALUE, Union|Member, Type&Interface, @directive.
func TestFederation_PublicSchema(t *testing.T) {
	tests := []struct {
		name            string
		replace         []string
		present, absent []string
	}{
		{
			name:    "machinery",
			present: []string{"Query.user", "User.nickname", "@deprecated", "@include"},
			absent:  []string{"join__Graph", "join__FieldSet", "link__Import", "link__Purpose", "@join__type", "@join__field", "@join__graph", "@link"},
		},
		{
			name: "entity protocol of a Federation 1 supergraph",
			replace: []string{"  user: User @join__field(graph: EMAIL)\n", "  user: User @join__field(graph: EMAIL)\n  _entities(representations: [_Any!]!): [_Entity]!\n  _service: _Service!\n",
				"scalar link__Import\n", "scalar link__Import\nscalar _Any\nunion _Entity = User\ntype _Service { sdl: String }\n"},
			present: []string{"Query.user"},
			absent:  []string{"Query._entities", "Query._service", "_Any", "_Entity", "_Service"},
		},
		{
			name: "inaccessible imported under another name",
			replace: []string{"{\n  query: Query", "  @link(url: \"https://specs.apollo.dev/inaccessible/v0.2\", import: [{name: \"@inaccessible\", as: \"@private\"}], for: SECURITY)\n{\n  query: Query",
				"scalar join__FieldSet\n", "scalar join__FieldSet\ndirective @private on FIELD_DEFINITION | OBJECT | ARGUMENT_DEFINITION | ENUM_VALUE | ENUM\n",
				"  nickname: String! @join__field(graph: NICKNAME)\n", "  nickname: String! @join__field(graph: NICKNAME) @private\n  friends(first: Int, cursor: String @private): [User]\n  mood: Mood\n",
				"type User\n", "enum Mood @join__type(graph: EMAIL) { HAPPY SECRET @private }\ntype Hidden @private @join__type(graph: EMAIL) { x: Int }\ntype User\n"},
			present: []string{"User.friends", "User.friends(first)", "Mood.HAPPY"},
			absent:  []string{"User.nickname", "User.friends(cursor)", "Mood.SECRET", "Hidden", "@private"},
		},
		{
			name: "custom directives stay, linked ones go",
			replace: []string{"{\n  query: Query", "  @link(url: \"https://specs.apollo.dev/tag/v0.3\")\n  @link(url: \"https://example.com/acme/v1.0\", import: [\"@audit\"])\n  @contact(name: \"shop team\", url: \"https://example.com/team/v1.0\")\n{\n  query: Query",
				"scalar join__FieldSet\n", "scalar join__FieldSet\ndirective @tag(name: String!) repeatable on FIELD_DEFINITION\ndirective @audit on FIELD_DEFINITION\ndirective @acme__trace on FIELD_DEFINITION\ndirective @upper on FIELD | FIELD_DEFINITION\ndirective @contact(name: String!, url: String) on SCHEMA\nscalar team__x\n",
				"  id: ID!\n", "  id: ID! @tag(name: \"x\") @audit @acme__trace @upper @deprecated(reason: \"use email\")\n"},
			present: []string{"@upper", "User.id@upper", "User.id@deprecated", "@contact", "team__x"},
			absent:  []string{"@tag", "@audit", "@acme__trace", "User.id@tag", "User.id@audit"},
		},
		{
			name: "interfaces and union members",
			replace: []string{"scalar join__FieldSet\n", "scalar join__FieldSet\ndirective @inaccessible on OBJECT | INTERFACE\n",
				"{\n  query: Query", "  @link(url: \"https://specs.apollo.dev/inaccessible/v0.2\", for: SECURITY)\n{\n  query: Query",
				"type User\n", "interface Node @join__type(graph: EMAIL) { id: ID! }\ninterface Secret @join__type(graph: EMAIL) @inaccessible { id: ID! }\ntype Bot implements Node & Secret @join__type(graph: EMAIL) @inaccessible { id: ID! }\nunion Actor @join__type(graph: EMAIL) @join__unionMember(graph: EMAIL, member: \"User\") @join__unionMember(graph: EMAIL, member: \"Bot\") = User | Bot\ntype User implements Node & Secret\n"},
			present: []string{"Node", "User&Node", "Actor|User"},
			absent:  []string{"Secret", "Bot", "User&Secret", "Actor|Bot"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sdl := minimalSupergraph
			for i := 0; i+1 < len(tt.replace); i += 2 {
				if !strings.Contains(sdl, tt.replace[i]) {
					t.Fatalf("the supergraph has no %q", tt.replace[i])
				}
				sdl = strings.Replace(sdl, tt.replace[i], tt.replace[i+1], 1)
			}
			sg, err := Parse("conflux.yaml", []byte("supergraph: super.graphql\n"), fstest.MapFS{"super.graphql": {Data: []byte(sdl)}}, noEnv)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range tt.present {
				if !hasPath(sg, p) {
					t.Errorf("%s is missing", p)
				}
			}
			for _, p := range tt.absent {
				if hasPath(sg, p) {
					t.Errorf("%s is public", p)
				}
			}
		})
	}
}

// hasPath reports whether the public schema has the element a path names (see TestFederation_PublicSchema).
func hasPath(sg *Supergraph, p string) bool {
	s := sg.Schema
	if name, ok := strings.CutPrefix(p, "@"); ok {
		return s.Directives[name] != nil
	}
	if typ, member, ok := strings.Cut(p, "|"); ok {
		return s.Types[typ] != nil && contains(s.Types[typ].Types, member)
	}
	if typ, iface, ok := strings.Cut(p, "&"); ok {
		return s.Types[typ] != nil && contains(s.Types[typ].Interfaces, iface)
	}
	typ, rest, ok := strings.Cut(p, ".")
	def := s.Types[typ]
	if !ok || def == nil {
		return def != nil
	}
	if def.EnumValues.ForName(rest) != nil {
		return true
	}
	field, dir, withDir := strings.Cut(rest, "@")
	field, arg, withArg := strings.Cut(strings.TrimSuffix(field, ")"), "(")
	f := def.Fields.ForName(field)
	switch {
	case f == nil:
		return false
	case withArg:
		return f.Arguments.ForName(arg) != nil
	case withDir:
		return f.Directives.ForName(dir) != nil
	}
	return true
}
