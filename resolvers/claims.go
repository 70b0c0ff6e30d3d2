package resolvers

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/conflux-gql/conflux/schema"
)

// Claims are the validated claims of a request's JSON Web Token (server.auth.jwt, issue 16), JSON-decoded with
// json.Number. Nil means an anonymous request. Read-only once made.
type Claims map[string]any

// Scopes returns the scopes the token grants: its `scope` claim (space-separated, OAuth 2.0) and its `scp`
// claim (a list, or one space-separated string).
func (c Claims) Scopes() []string {
	var out []string
	for _, name := range []string{"scope", "scp"} {
		switch v := c[name].(type) {
		case string:
			out = append(out, strings.Fields(v)...)
		case []any:
			for _, e := range v {
				if s, ok := e.(string); ok {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// ClaimsHeader is the key under which the HTTP layer hands a request's validated claims (their JSON) to
// templates through the request's header map, which reaches every binding's Vars. No client can send it: a
// header name is an HTTP token, and ":" is not a token character (RFC 9110, 5.1), so Go's server refuses it;
// the HTTP layer also deletes any value before it sets its own.
const ClaimsHeader = ":conflux-jwt-claims"

type claimsKey struct{}

// WithClaims returns ctx carrying c, and sets c in h (ClaimsHeader) for templates; nil c (anonymous) clears
// it there.
func WithClaims(ctx context.Context, h http.Header, c Claims, raw []byte) context.Context {
	delete(h, ClaimsHeader)
	if c == nil {
		return ctx
	}
	h[ClaimsHeader] = []string{string(raw)}
	return context.WithValue(ctx, claimsKey{}, c)
}

// ClaimsFrom returns the validated claims ctx carries; nil when the request is anonymous.
func ClaimsFrom(ctx context.Context) Claims {
	c, _ := ctx.Value(claimsKey{}).(Claims)
	return c
}

// claimsOf decodes the claims the HTTP layer set in h; nil when there are none.
func claimsOf(h http.Header) Claims {
	vals := h[ClaimsHeader]
	if len(vals) != 1 {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(vals[0]))
	dec.UseNumber()
	var c Claims
	if dec.Decode(&c) != nil {
		return nil
	}
	return c
}

// readsJWT reports whether a template of b reads {{jwt.*}}.
func readsJWT(b *schema.Binding) bool {
	for _, t := range b.Templates() {
		for _, v := range t.Vars() {
			if v.Scope == schema.ScopeJWT {
				return true
			}
		}
	}
	return false
}
