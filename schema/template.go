package schema

import (
	"fmt"
	"strings"
)

// Scope is where a template variable reads from.
type Scope string

// The template scopes (DESIGN.md, Configuration).
const (
	// ScopeArgs reads the field's arguments, after variable substitution and input coercion.
	ScopeArgs Scope = "args"
	// ScopeParent reads the parent object as returned by its backend.
	ScopeParent Scope = "parent"
	// ScopeEnv reads the process environment when the configuration is loaded.
	ScopeEnv Scope = "env"
	// ScopeHeaders reads the incoming request's headers, by lower-case name.
	ScopeHeaders Scope = "headers"
	// ScopeKeys is the list of distinct batch keys; only in a binding's batch request.
	ScopeKeys Scope = "keys"
	// ScopeJWT reads the validated claims of the request's bearer token (server.auth.jwt, issue 16):
	// {{jwt.sub}} (and the other registered claims: iss, aud, exp, nbf, iat, jti) or {{jwt.claims.<path>}}.
	// Without a token it is absent.
	ScopeJWT Scope = "jwt"
)

// JWTClaims are the registered claims {{jwt.<name>}} reads directly; any claim is {{jwt.claims.<path>}}.
var JWTClaims = []string{"sub", "iss", "aud", "exp", "nbf", "iat", "jti"}

// Var is one {{scope.path}} reference inside a template.
type Var struct {
	Scope Scope
	// Path is the dotted path after the scope; empty for {{keys}}.
	Path []string
}

func (v Var) String() string {
	if len(v.Path) == 0 {
		return string(v.Scope)
	}
	return string(v.Scope) + "." + strings.Join(v.Path, ".")
}

// Segment is a literal run of text or a variable.
type Segment struct {
	Literal string
	Var     *Var
}

// Template is a string with {{…}} variables, compiled once at load. It is immutable and safe for concurrent use.
// Rendering (with escaping for where the value lands) belongs to the resolvers package.
type Template struct {
	Raw      string
	Segments []Segment
	Pos      Position
}

// Single returns the variable when the template is exactly one {{…}} and nothing else; such a template inserts
// the variable's value as it is (a list stays a list) rather than as text.
func (t *Template) Single() *Var {
	if len(t.Segments) == 1 && t.Segments[0].Var != nil {
		return t.Segments[0].Var
	}
	return nil
}

// Vars returns every variable of the template, in order.
func (t *Template) Vars() []Var {
	var vs []Var
	for _, s := range t.Segments {
		if s.Var != nil {
			vs = append(vs, *s.Var)
		}
	}
	return vs
}

// IsLiteral reports whether the template has no variables.
func (t *Template) IsLiteral() bool { return len(t.Vars()) == 0 }

// ParseTemplate compiles s. It fails on an unclosed "{{", an empty or malformed variable, or an unknown scope.
func ParseTemplate(s string) (*Template, error) {
	t := &Template{Raw: s}
	rest := s
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			if rest != "" {
				t.Segments = append(t.Segments, Segment{Literal: rest})
			}
			return t, nil
		}
		if i > 0 {
			t.Segments = append(t.Segments, Segment{Literal: rest[:i]})
		}
		rest = rest[i+2:]
		j := strings.Index(rest, "}}")
		if j < 0 {
			return nil, fmt.Errorf("unclosed {{ in %q: close it with }}", s)
		}
		v, err := parseVar(strings.TrimSpace(rest[:j]))
		if err != nil {
			return nil, fmt.Errorf("in %q: %w", s, err)
		}
		t.Segments = append(t.Segments, Segment{Var: v})
		rest = rest[j+2:]
	}
}

func parseVar(s string) (*Var, error) {
	if s == "" {
		return nil, fmt.Errorf("empty {{}}: name a variable such as {{args.id}} or {{parent.id}}")
	}
	parts := strings.Split(s, ".")
	for _, p := range parts {
		if p == "" || !isName(p) {
			return nil, fmt.Errorf("malformed variable {{%s}}: use scope.name with letters, digits, _ and - (e.g. {{parent.customerId}})", s)
		}
	}
	scope := Scope(parts[0])
	switch scope {
	case ScopeArgs, ScopeParent, ScopeEnv, ScopeHeaders, ScopeJWT:
		if len(parts) < 2 {
			return nil, fmt.Errorf("{{%s}} needs a name after the scope, e.g. {{%s.id}}", s, s)
		}
	case ScopeKeys:
		if len(parts) != 1 {
			return nil, fmt.Errorf("{{%s}}: keys takes no path; write {{keys}}", s)
		}
	default:
		return nil, fmt.Errorf("unknown scope %q in {{%s}}: use args, parent, env, headers, jwt or keys", parts[0], s)
	}
	return &Var{Scope: scope, Path: parts[1:]}, nil
}

func isName(s string) bool {
	for _, r := range s {
		if !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
