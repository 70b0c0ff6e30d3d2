package schema

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/vektah/gqlparser/v2/ast"
	"go.yaml.in/yaml/v3"
)

var (
	authKeys     = []string{"jwt", "rules"}
	jwtKeys      = []string{"jwks", "keys", "issuer", "audience", "algorithms", "clockSkew", "required", "refresh", "timeout"}
	authRuleKeys = []string{"authenticated", "scopes"}
	// JWTAlgorithms are the signature algorithms server.auth.jwt.algorithms may name. "none" is never one.
	JWTAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "HS256", "HS384", "HS512"}
)

// Auth is the `server.auth` section (issue 16): who the caller of /graphql is, and which fields need whom.
type Auth struct {
	// JWT validates bearer tokens on /graphql; off when it names neither a JWKS nor keys.
	JWT JWT
	// Rules require authentication or scopes, by `Type.field` (that field) or `Type` (every field whose type is
	// Type, in lists and non-null wrappers too). A field that several rules match must satisfy all of them.
	Rules map[string]AuthRule
}

// JWT is `server.auth.jwt`: how bearer tokens are validated.
type JWT struct {
	// JWKS is the URL of a JSON Web Key Set, fetched with Timeout, cached, refreshed every Refresh and when a
	// token names a key id the set does not have (at most once per 10s).
	JWKS string
	// Keys are static verification keys (PEM public keys, JWKs or JWK sets, HMAC secrets), parsed at load.
	Keys []JWTKey `json:"-"`
	// Issuer, when set, must equal the token's iss claim.
	Issuer string
	// Audience, when set, must share one value with the token's aud claim.
	Audience []string
	// Algorithms are the signature algorithms accepted; a token signed with another is refused.
	Algorithms []string
	// ClockSkew is the leeway allowed on exp, nbf and iat.
	ClockSkew time.Duration
	// Required refuses a request without a token (HTTP 401); otherwise it runs anonymous. A token that is present
	// but invalid is refused either way.
	Required bool
	// Refresh is how often the JWKS is fetched again; Timeout bounds one fetch.
	Refresh time.Duration
	Timeout time.Duration
}

// Enabled reports whether tokens are validated at all.
func (j JWT) Enabled() bool { return j.JWKS != "" || len(j.Keys) > 0 }

// JWTKey is one verification key: a public key (*rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey) or an HMAC
// secret ([]byte). ID and Algorithm are the JWK's kid and alg, when it had them.
type JWTKey struct {
	ID        string
	Algorithm string
	Key       any
}

// Fits reports whether the key can verify a token signed with alg (and, when the key names one, only alg).
func (k JWTKey) Fits(alg string) bool {
	if k.Algorithm != "" && k.Algorithm != alg {
		return false
	}
	switch k.Key.(type) {
	case *rsa.PublicKey:
		return strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS")
	case *ecdsa.PublicKey:
		return strings.HasPrefix(alg, "ES")
	case ed25519.PublicKey:
		return alg == "EdDSA"
	case []byte:
		return strings.HasPrefix(alg, "HS")
	}
	return false
}

// AuthRule is one entry of server.auth.rules.
type AuthRule struct {
	// Authenticated requires a valid token.
	Authenticated bool
	// Scopes must all be granted by the token (its `scope` claim, space-separated, or `scp` list); they imply
	// Authenticated.
	Scopes []string
	Pos    Position `json:"-"`
}

// defaultJWT is what server.auth.jwt leaves out.
func defaultJWT() JWT {
	return JWT{Algorithms: []string{"RS256", "ES256"}, ClockSkew: 30 * time.Second, Refresh: 15 * time.Minute, Timeout: 5 * time.Second}
}

// auth decodes server.auth into a, which holds the defaults.
func (d *decoder) auth(n *yaml.Node, path string, a *Auth, env func(string) (string, bool)) {
	entries, _ := d.mapping(n, path, authKeys)
	var rulesPos Position
	for _, e := range entries {
		p := join(path, e.key)
		switch e.key {
		case "jwt":
			d.jwt(e.value, p, &a.JWT, env)
		case "rules":
			rulesPos = d.pos(e.value)
			rules, _ := d.mapping(e.value, p, nil)
			a.Rules = map[string]AuthRule{}
			for _, r := range rules {
				a.Rules[r.key] = d.authRule(r, join(p, r.key))
			}
		}
	}
	if len(a.Rules) > 0 && !a.JWT.Enabled() {
		d.errorf(rulesPos, join(path, "rules"), "rules need server.auth.jwt (a jwks URL or keys) to know who the caller is")
	}
}

func (d *decoder) authRule(e entry, path string) AuthRule {
	r := AuthRule{Pos: d.pos(e.keyN)}
	entries, _ := d.mapping(e.value, path, authRuleKeys)
	for _, f := range entries {
		p := join(path, f.key)
		switch f.key {
		case "authenticated":
			r.Authenticated, _ = d.boolean(f.value, p)
		case "scopes":
			r.Scopes, _ = d.strings(f.value, p)
			for _, s := range r.Scopes {
				if s == "" || strings.ContainsAny(s, " \t\n") {
					d.errorf(d.pos(f.value), p, "scope %q: a scope is one word without spaces, e.g. orders:read", s)
				}
			}
		}
	}
	if !r.Authenticated && len(r.Scopes) == 0 {
		d.errorf(r.Pos, path, "the rule requires nothing: give authenticated: true or scopes: [...]")
	}
	return r
}

// jwt decodes server.auth.jwt into j.
func (d *decoder) jwt(n *yaml.Node, path string, j *JWT, env func(string) (string, bool)) {
	before := len(d.list)
	*j = defaultJWT()
	entries, _ := d.mapping(n, path, jwtKeys)
	var hmac bool
	for _, e := range entries {
		p := join(path, e.key)
		switch e.key {
		case "jwks":
			s, _ := d.str(e.value, p)
			if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				d.errorf(d.pos(e.value), p, "%q is not an http(s) URL: give the issuer's key set, e.g. https://issuer.example.com/.well-known/jwks.json", s)
				continue
			}
			j.JWKS = s
		case "keys":
			l := resolve(e.value)
			items := []*yaml.Node{l}
			if l.Kind == yaml.SequenceNode {
				items = l.Content
			}
			for _, item := range items {
				keys, secret := d.jwtKey(item, p, env)
				j.Keys = append(j.Keys, keys...)
				hmac = hmac || secret
			}
		case "issuer":
			j.Issuer, _ = d.str(e.value, p)
		case "audience":
			j.Audience, _ = d.strings(e.value, p)
		case "algorithms":
			algs, _ := d.strings(e.value, p)
			j.Algorithms = nil
			for _, a := range algs {
				switch {
				case strings.EqualFold(a, "none"):
					d.errorf(d.pos(e.value), p, `"none" accepts unsigned tokens, which anyone can forge: it is never allowed`)
				case !contains(JWTAlgorithms, a):
					d.errorf(d.pos(e.value), p, "unknown algorithm %q%s", a, suggestAs(a, JWTAlgorithms, "have"))
				default:
					j.Algorithms = append(j.Algorithms, a)
				}
			}
			if len(algs) == 0 {
				d.errorf(d.pos(e.value), p, "no algorithms: list the ones your issuer signs with, e.g. [RS256]")
			}
		case "clockSkew":
			j.ClockSkew, _ = d.duration(e.value, p)
		case "required":
			j.Required, _ = d.boolean(e.value, p)
		case "refresh":
			if j.Refresh, _ = d.duration(e.value, p); j.Refresh < 10*time.Second {
				d.errorf(d.pos(e.value), p, "refresh the JWKS at most every 10s (got %s): the issuer is asked again on every unknown kid anyway", j.Refresh)
			}
		case "timeout":
			if j.Timeout, _ = d.duration(e.value, p); j.Timeout <= 0 {
				d.errorf(d.pos(e.value), p, "a JWKS fetch needs a timeout above 0, e.g. 5s")
			}
		}
	}
	if d.hasErrorsSince(before) {
		return
	}
	switch {
	case j.JWKS == "" && len(j.Keys) == 0:
		d.errorf(d.pos(n), path, "no keys to verify tokens with: give jwks: <URL of the issuer's key set> or keys: [PEM public keys, JWKs, or {{env.SECRET}} for HMAC]")
	case hmac && !slices.ContainsFunc(j.Algorithms, func(a string) bool { return strings.HasPrefix(a, "HS") }):
		d.errorf(d.pos(n), join(path, "algorithms"), "keys hold an HMAC secret, but algorithms allow no HS256, HS384 or HS512: add the one your issuer uses")
	}
}

// jwtKey decodes one entry of jwt.keys: a PEM public key, a JWK or JWK set, or (from {{env.*}}) an HMAC secret.
// secret reports the latter.
func (d *decoder) jwtKey(n *yaml.Node, path string, env func(string) (string, bool)) (keys []JWTKey, secret bool) {
	t, ok := d.template(n, path)
	if !ok {
		return nil, false
	}
	for _, tv := range t.Vars() {
		if tv.Scope != ScopeEnv {
			d.errorf(d.pos(n), path, "{{%s}}: a key may only read {{env.*}}", tv)
			return nil, false
		}
	}
	text := strings.TrimSpace(d.renderEnv(t, path, env))
	switch {
	case strings.HasPrefix(text, "-----BEGIN"):
		k, err := ParsePEMKey([]byte(text))
		if err != nil {
			d.errorf(d.pos(n), path, "%s", err)
			return nil, false
		}
		return []JWTKey{{Key: k}}, false
	case strings.HasPrefix(text, "{"):
		keys, err := ParseJWKs([]byte(text))
		if err != nil {
			d.errorf(d.pos(n), path, "%s", err)
			return nil, false
		}
		for _, k := range keys {
			secret = secret || k.Fits("HS256") || k.Fits("HS384") || k.Fits("HS512")
		}
		return keys, secret
	case t.IsLiteral():
		d.errorf(d.pos(n), path, "not a PEM public key or a JWK; an HMAC secret does not belong in the file: give it as {{env.NAME}}")
		return nil, false
	case text == "":
		d.errorf(d.pos(n), path, "the HMAC secret %s is empty", t.Raw)
		return nil, false
	}
	if len(text) < 32 {
		d.warnf(d.pos(n), path, "the HMAC secret %s is %d bytes: use at least 32 random bytes (RFC 7518, section 3.2)", t.Raw, len(text))
	}
	return []JWTKey{{Key: []byte(text)}}, true
}

// ParsePEMKey parses a PEM public key (PKIX "PUBLIC KEY", PKCS #1 "RSA PUBLIC KEY") or certificate.
func ParsePEMKey(data []byte) (crypto.PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("not a PEM block: give a public key as -----BEGIN PUBLIC KEY----- … -----END PUBLIC KEY-----")
	}
	var k any
	var err error
	switch block.Type {
	case "PUBLIC KEY":
		k, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		k, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		var c *x509.Certificate
		if c, err = x509.ParseCertificate(block.Bytes); err == nil {
			k = c.PublicKey
		}
	default:
		return nil, fmt.Errorf("a PEM %q is not a public key: give the issuer's PUBLIC KEY (never a private key)", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("read PEM %s: %w", block.Type, err)
	}
	switch k.(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
		return k, nil
	}
	return nil, fmt.Errorf("unsupported public key type %T: use RSA, ECDSA or Ed25519", k)
}

// ParseJWKs parses a JWK ({"kty": …}) or a JWK set ({"keys": [...]}) into verification keys. Keys for
// encryption (use "enc") and of unknown types in a set are skipped; a private key is used by its public half.
func ParseJWKs(data []byte) ([]JWTKey, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("read JWK: %w", err)
	}
	raw := set.Keys
	single := raw == nil
	if single {
		raw = []json.RawMessage{data}
	}
	var out []JWTKey
	for _, r := range raw {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(r); err != nil {
			if single {
				return nil, fmt.Errorf("read JWK: %w", err)
			}
			continue // a key this version cannot use does not spoil the rest of the set
		}
		if k.Use == "enc" {
			continue
		}
		key := k.Key
		if !k.IsPublic() && !isSecret(key) {
			key = k.Public().Key
		}
		out = append(out, JWTKey{ID: k.KeyID, Algorithm: k.Algorithm, Key: key})
	}
	if len(out) == 0 {
		return nil, errors.New("the JWK set holds no signature verification key")
	}
	return out, nil
}

func isSecret(k any) bool { _, ok := k.([]byte); return ok }

// authRules checks server.auth.rules against the schema: each names a type, or a field of an object or interface
// type.
func (v *validator) authRules() {
	for _, name := range sortedKeys(v.sg.Settings.Auth.Rules) {
		r := v.sg.Settings.Auth.Rules[name]
		path := "server.auth.rules." + name
		typ, field, isField := strings.Cut(name, ".")
		def := v.sg.Schema.Types[typ]
		switch {
		case def == nil || strings.HasPrefix(typ, "__"):
			v.errorf(r.Pos, path, "unknown type %q%s", typ, suggestAs(typ, v.typeNames(), "types"))
		case !isField:
		case def.Kind != ast.Object && def.Kind != ast.Interface:
			v.errorf(r.Pos, path, "%s is %s: only object and interface types have fields", typ, strings.ToLower(string(def.Kind)))
		case def.Fields.ForName(field) == nil || strings.HasPrefix(field, "__"):
			v.errorf(r.Pos, path, "type %s has no field %q%s", typ, field, suggestAs(field, fieldNames(def), "fields"))
		}
	}
}
