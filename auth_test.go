package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
)

const authIssuer = "https://issuer.test/"

// authKeys are the test's signing keys, made once per test binary.
var authKeys = sync.OnceValue(func() (k struct {
	rsa1, rsa2, rsaOther *rsa.PrivateKey
	ec1                  *ecdsa.PrivateKey
}) {
	var err error
	for _, p := range []**rsa.PrivateKey{&k.rsa1, &k.rsa2, &k.rsaOther} {
		if *p, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	}
	if k.ec1, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		panic(err)
	}
	return k
})

// sign makes a token with method and key, kid in its header (none when ""), and claims.
func sign(t *testing.T, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// claimsFor are valid claims for sub, changed by the given pairs.
func claimsFor(sub string, kv ...any) jwt.MapClaims {
	now := time.Now()
	c := jwt.MapClaims{"sub": sub, "iss": authIssuer, "aud": []string{"api"}, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(c, kv[i].(string))
			continue
		}
		c[kv[i].(string)] = kv[i+1]
	}
	return c
}

// jwksServer serves a JWK set of the keys set holds, counting its fetches.
type jwksServer struct {
	*httptest.Server
	fetches atomic.Int32
	mu      sync.Mutex
	keys    []jose.JSONWebKey
}

func newJWKSServer(t *testing.T, keys ...jose.JSONWebKey) *jwksServer {
	s := &jwksServer{keys: keys}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		s.mu.Lock()
		defer s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: s.keys})
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) rotate(keys ...jose.JSONWebKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = keys
}

func jwk(key any, kid, alg string) jose.JSONWebKey {
	return jose.JSONWebKey{Key: key, KeyID: kid, Algorithm: alg, Use: "sig"}
}

// authBackend is a REST backend that answers /me with the identity headers it received, and records calls.
type authBackend struct {
	*httptest.Server
	mu    sync.Mutex
	calls []string
}

func newAuthBackend(t *testing.T) *authBackend {
	b := &authBackend{}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.calls = append(b.calls, r.URL.Path)
		b.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/me":
			_ = json.NewEncoder(w).Encode(map[string]any{"user": r.Header.Get("X-User"), "tenant": r.Header.Get("X-Tenant"),
				"hasUser": len(r.Header.Values("X-User")) > 0})
		case "/orders":
			_, _ = io.WriteString(w, `[{"id":"o1","invoice":{"id":"i1","total":10}}]`)
		case "/customer":
			_, _ = io.WriteString(w, `{"id":"c1","name":"Ada"}`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(b.Close)
	return b
}

func (b *authBackend) called() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.calls...)
}

const authSDL = `type Query { hello: String, me: Me, customer: Customer, orders: [Order] }
type Me { user: String, tenant: String, hasUser: Boolean }
type Customer { id: ID, name: String, orders: [Order] }
type Order { id: ID, invoice: Invoice }
type Invoice { id: ID, total: Int }
`

// serveAuth serves a configuration with server.auth (auth, YAML under `auth:`) in front of backend.
func serveAuth(t *testing.T, backend, auth string) string {
	t.Helper()
	dir := t.TempDir()
	cfg := `schema: [s.graphqls]
sources:
  api: {http: {endpoints: [` + backend + `]}}
bindings:
  Query.hello: {value: hi}
  Query.me: {source: api, path: /me, headers: {X-User: "{{jwt.sub}}", X-Tenant: "{{jwt.claims.org.tenant}}"}}
  Query.customer: {source: api, path: /customer}
  Query.orders: {source: api, path: /orders}
  Customer.orders: {source: api, path: /orders}
server:
  auth:
` + auth
	for name, data := range map[string]string{"s.graphqls": authSDL, "conflux.yaml": cfg} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return serveConfig(t, filepath.Join(dir, "conflux.yaml"), nil).srv.URL
}

type authAnswer struct {
	status    int
	challenge string
	body      map[string]any
}

// query posts q to url with `Authorization: Bearer token` (none when token is "", raw when it has a space).
func query(t *testing.T, url, token, q string) authAnswer {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": q})
	req, err := http.NewRequest(http.MethodPost, url+"/graphql", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	switch {
	case strings.Contains(token, " "):
		req.Header.Set("Authorization", token)
	case token != "":
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	a := authAnswer{status: res.StatusCode, challenge: res.Header.Get("WWW-Authenticate")}
	raw, _ := io.ReadAll(res.Body)
	if err := json.Unmarshal(raw, &a.body); err != nil {
		t.Fatalf("status %d, not JSON: %s", res.StatusCode, raw)
	}
	return a
}

// codes are the extensions.code of an answer's errors, each with its path.
func errorCodes(body map[string]any) []string {
	var out []string
	errs, _ := body["errors"].([]any)
	for _, e := range errs {
		em := e.(map[string]any)
		code, _ := em["extensions"].(map[string]any)["code"].(string)
		if p, ok := em["path"]; ok {
			b, _ := json.Marshal(p)
			code += " " + string(b)
		}
		out = append(out, code)
	}
	return out
}

func dataJSON(body map[string]any) string {
	b, _ := json.Marshal(body["data"])
	return string(b)
}

// TestAuth_JWT: tokens over real HTTP against a JWKS served by httptest — valid RS256 and ES256 tokens, and
// every way a token fails (401, UNAUTHENTICATED, WWW-Authenticate: Bearer error="invalid_token"), with
// required false and true (issue 16).
func TestAuth_JWT(t *testing.T) {
	k := authKeys()
	keys := newJWKSServer(t, jwk(&k.rsa1.PublicKey, "r1", "RS256"), jwk(&k.ec1.PublicKey, "e1", "ES256"))
	backend := newAuthBackend(t)
	jwtCfg := "    jwt: {jwks: " + keys.URL + ", issuer: \"" + authIssuer + "\", audience: [api, other], clockSkew: 30s, required: %s}\n"
	optional := serveAuth(t, backend.URL, strings.Replace(jwtCfg, "%s", "false", 1))
	required := serveAuth(t, backend.URL, strings.Replace(jwtCfg, "%s", "true", 1))
	now := time.Now()
	rs := func(c jwt.MapClaims) string { return sign(t, jwt.SigningMethodRS256, k.rsa1, "r1", c) }
	pemKey, _ := x509.MarshalPKIXPublicKey(&k.rsa1.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pemKey})
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, claimsFor("u1")).SignedString(jwt.UnsafeAllowNoneSignatureType)

	tests := []struct {
		name  string
		token string
		ok    bool
	}{
		{"valid RS256", rs(claimsFor("u1")), true},
		{"valid ES256", sign(t, jwt.SigningMethodES256, k.ec1, "e1", claimsFor("u1")), true},
		{"valid without kid", sign(t, jwt.SigningMethodRS256, k.rsa1, "", claimsFor("u1")), true},
		{"one of the audiences", rs(claimsFor("u1", "aud", "other")), true},
		{"expired within the skew", rs(claimsFor("u1", "exp", now.Add(-10*time.Second).Unix())), true},
		{"expired", rs(claimsFor("u1", "exp", now.Add(-2*time.Minute).Unix())), false},
		{"not yet valid within the skew", rs(claimsFor("u1", "nbf", now.Add(10*time.Second).Unix())), true},
		{"not yet valid", rs(claimsFor("u1", "nbf", now.Add(2*time.Minute).Unix())), false},
		{"wrong issuer", rs(claimsFor("u1", "iss", "https://evil.test/")), false},
		{"no issuer", rs(claimsFor("u1", "iss", nil)), false},
		{"wrong audience", rs(claimsFor("u1", "aud", "billing")), false},
		{"no audience", rs(claimsFor("u1", "aud", nil)), false},
		{"wrong signature", sign(t, jwt.SigningMethodRS256, k.rsaOther, "r1", claimsFor("u1")), false},
		{"key of another kid", sign(t, jwt.SigningMethodRS256, k.rsa1, "e1", claimsFor("u1")), false},
		{"algorithm not allowed", sign(t, jwt.SigningMethodRS384, k.rsa1, "r1", claimsFor("u1")), false},
		{"HS256 with the public key as secret", sign(t, jwt.SigningMethodHS256, pubPEM, "r1", claimsFor("u1")), false},
		{"alg none", none, false},
		{"tampered claims", func() string {
			p := strings.Split(rs(claimsFor("u1")), ".")
			c, _ := json.Marshal(claimsFor("admin"))
			return p[0] + "." + base64.RawURLEncoding.EncodeToString(c) + "." + p[2]
		}(), false},
		{"malformed", "not-a-jwt", false},
		{"another scheme", "Basic dXNlcjpwYXNz", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, url := range []string{optional, required} {
				a := query(t, url, tc.token, "{ hello }")
				if tc.ok {
					if a.status != http.StatusOK || dataJSON(a.body) != `{"hello":"hi"}` {
						t.Fatalf("status %d, body %v: want the answer", a.status, a.body)
					}
					continue
				}
				if a.status != http.StatusUnauthorized || !strings.HasPrefix(a.challenge, `Bearer error="invalid_token"`) {
					t.Fatalf("status %d, WWW-Authenticate %q: want 401 with Bearer error=\"invalid_token\"", a.status, a.challenge)
				}
				if got := errorCodes(a.body); len(got) != 1 || got[0] != "UNAUTHENTICATED" || a.body["data"] != nil {
					t.Fatalf("body %v: want one UNAUTHENTICATED error and no data", a.body)
				}
			}
		})
	}

	t.Run("no token", func(t *testing.T) {
		if a := query(t, optional, "", "{ hello }"); a.status != http.StatusOK || dataJSON(a.body) != `{"hello":"hi"}` {
			t.Errorf("required: false: status %d, body %v: want an anonymous answer", a.status, a.body)
		}
		a := query(t, required, "", "{ hello }")
		if a.status != http.StatusUnauthorized || a.challenge != "Bearer" || len(errorCodes(a.body)) != 1 || errorCodes(a.body)[0] != "UNAUTHENTICATED" {
			t.Errorf("required: true: status %d, WWW-Authenticate %q, body %v: want 401, Bearer, UNAUTHENTICATED", a.status, a.challenge, a.body)
		}
	})
	if n := keys.fetches.Load(); n > 2 {
		t.Errorf("the JWKS was fetched %d times: want once per server (it is cached)", n)
	}
}

// TestAuth_JWKSRotation: a token signed by a key the cached set lacks makes one fetch of the set, after which the
// new key is cached; a made-up kid right after is refused without another fetch (rate limit).
func TestAuth_JWKSRotation(t *testing.T) {
	k := authKeys()
	keys := newJWKSServer(t, jwk(&k.rsa1.PublicKey, "r1", "RS256"))
	url := serveAuth(t, newAuthBackend(t).URL, "    jwt: {jwks: "+keys.URL+", issuer: \""+authIssuer+"\"}\n")
	step := func(name string, token string, wantStatus int, wantFetches int32) {
		t.Helper()
		if a := query(t, url, token, "{ hello }"); a.status != wantStatus {
			t.Errorf("%s: status %d, want %d (%v)", name, a.status, wantStatus, a.body)
		}
		if n := keys.fetches.Load(); n != wantFetches {
			t.Errorf("%s: %d JWKS fetches, want %d", name, n, wantFetches)
		}
	}
	step("first token", sign(t, jwt.SigningMethodRS256, k.rsa1, "r1", claimsFor("u1")), 200, 1)
	step("same key again", sign(t, jwt.SigningMethodRS256, k.rsa1, "r1", claimsFor("u2")), 200, 1)
	keys.rotate(jwk(&k.rsa1.PublicKey, "r1", "RS256"), jwk(&k.rsa2.PublicKey, "r2", "RS256"))
	step("rotated key", sign(t, jwt.SigningMethodRS256, k.rsa2, "r2", claimsFor("u1")), 200, 2)
	step("rotated key again", sign(t, jwt.SigningMethodRS256, k.rsa2, "r2", claimsFor("u3")), 200, 2)
	step("made-up kid", sign(t, jwt.SigningMethodRS256, k.rsaOther, "r9", claimsFor("u1")), 401, 2)
	step("old key still in the set", sign(t, jwt.SigningMethodRS256, k.rsa1, "r1", claimsFor("u1")), 200, 2)
}

// TestAuth_StaticKeys: keys given in the file (a PEM public key) and an HMAC secret from the environment.
func TestAuth_StaticKeys(t *testing.T) {
	k := authKeys()
	der, _ := x509.MarshalPKIXPublicKey(&k.ec1.PublicKey)
	pemText := strings.ReplaceAll(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), "\n", "\n        ")
	secret := "0123456789abcdef0123456789abcdef-secret"
	t.Setenv("CONFLUX_TEST_JWT_SECRET", secret)
	url := serveAuth(t, newAuthBackend(t).URL, `    jwt:
      algorithms: [ES256, HS256]
      required: true
      keys:
      - |
        `+pemText+`
      - "{{env.CONFLUX_TEST_JWT_SECRET}}"
`)
	for _, tc := range []struct {
		name  string
		token string
		want  int
	}{
		{"ES256 with the PEM key", sign(t, jwt.SigningMethodES256, k.ec1, "", claimsFor("u1")), 200},
		{"HS256 with the secret", sign(t, jwt.SigningMethodHS256, []byte(secret), "", claimsFor("u1")), 200},
		{"HS256 with another secret", sign(t, jwt.SigningMethodHS256, []byte("another-secret-another-secret-xx"), "", claimsFor("u1")), 401},
		{"RS256 not allowed", sign(t, jwt.SigningMethodRS256, k.rsa1, "", claimsFor("u1")), 401},
	} {
		if a := query(t, url, tc.token, "{ hello }"); a.status != tc.want {
			t.Errorf("%s: status %d, want %d (%v)", tc.name, a.status, tc.want, a.body)
		}
	}
}

// TestAuth_ClaimsInTemplates: {{jwt.sub}} and {{jwt.claims.org.tenant}} reach the backend as headers; an
// anonymous request sends neither; a client cannot pose as claims through a header of its own.
func TestAuth_ClaimsInTemplates(t *testing.T) {
	k := authKeys()
	keys := newJWKSServer(t, jwk(&k.rsa1.PublicKey, "r1", "RS256"))
	url := serveAuth(t, newAuthBackend(t).URL, "    jwt: {jwks: "+keys.URL+"}\n")
	token := sign(t, jwt.SigningMethodRS256, k.rsa1, "r1", claimsFor("user-7", "org", map[string]any{"tenant": "acme"}))
	if a := query(t, url, token, "{ me { user tenant } }"); dataJSON(a.body) != `{"me":{"tenant":"acme","user":"user-7"}}` {
		t.Errorf("with a token: %d %v", a.status, a.body)
	}
	if a := query(t, url, "", "{ me { user tenant hasUser } }"); dataJSON(a.body) != `{"me":{"hasUser":false,"tenant":"","user":""}}` {
		t.Errorf("anonymous: %d %v", a.status, a.body)
	}
}

// TestAuth_FieldRules: server.auth.rules over real HTTP — a refused field is null with UNAUTHENTICATED (no
// token) or FORBIDDEN (a scope missing) at its path, the rest of the answer arrives, and the refused field's
// fetch never reaches the backend; scopes come from the scope (space-separated) or scp (list) claim.
func TestAuth_FieldRules(t *testing.T) {
	k := authKeys()
	keys := newJWKSServer(t, jwk(&k.rsa1.PublicKey, "r1", "RS256"))
	backend := newAuthBackend(t)
	url := serveAuth(t, backend.URL, "    jwt: {jwks: "+keys.URL+"}\n"+`    rules:
      Customer.orders: {scopes: ["orders:read"]}
      Invoice: {authenticated: true}
`)
	tok := func(kv ...any) string { return sign(t, jwt.SigningMethodRS256, k.rsa1, "r1", claimsFor("u1", kv...)) }
	const customerOrders = "{ hello customer { name orders { id invoice { id } } } }"
	tests := []struct {
		name, token, query string
		data               string
		codes              []string
		calls              []string
	}{
		{"anonymous", "", customerOrders,
			`{"customer":{"name":"Ada","orders":null},"hello":"hi"}`, []string{`UNAUTHENTICATED ["customer","orders"]`}, []string{"/customer"}},
		{"without the scope", tok("scope", "profile"), customerOrders,
			`{"customer":{"name":"Ada","orders":null},"hello":"hi"}`, []string{`FORBIDDEN ["customer","orders"]`}, []string{"/customer"}},
		{"scope claim", tok("scope", "profile orders:read"), customerOrders,
			`{"customer":{"name":"Ada","orders":[{"id":"o1","invoice":{"id":"i1"}}]},"hello":"hi"}`, nil, []string{"/customer", "/orders"}},
		{"scp claim", tok("scp", []string{"orders:read"}), customerOrders,
			`{"customer":{"name":"Ada","orders":[{"id":"o1","invoice":{"id":"i1"}}]},"hello":"hi"}`, nil, []string{"/customer", "/orders"}},
		{"type rule, anonymous", "", "{ orders { id invoice { id total } } }",
			`{"orders":[{"id":"o1","invoice":null}]}`, []string{`UNAUTHENTICATED ["orders",0,"invoice"]`}, []string{"/orders"}},
		{"type rule, any token", tok(), "{ orders { id invoice { total } } }",
			`{"orders":[{"id":"o1","invoice":{"total":10}}]}`, nil, []string{"/orders"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(backend.called())
			a := query(t, url, tc.token, tc.query)
			if a.status != http.StatusOK || dataJSON(a.body) != tc.data {
				t.Errorf("status %d, data %s, want %s", a.status, dataJSON(a.body), tc.data)
			}
			if got := errorCodes(a.body); strings.Join(got, "|") != strings.Join(tc.codes, "|") {
				t.Errorf("errors %v, want %v", got, tc.codes)
			}
			calls := backend.called()[before:]
			if strings.Join(calls, " ") != strings.Join(tc.calls, " ") {
				t.Errorf("backend calls %v, want %v", calls, tc.calls)
			}
		})
	}
}

// TestJWKS_Refresh: the cached set is fetched again once older than refresh; a failed fetch keeps the keys known
// and is not retried within minGap.
func TestJWKS_Refresh(t *testing.T) {
	k := authKeys()
	var fail atomic.Bool
	var fetches atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		if fail.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{jwk(&k.rsa1.PublicKey, "r1", "RS256")}})
	}))
	defer srv.Close()
	clock := time.Unix(1_700_000_000, 0)
	c := &jwks{url: srv.URL, client: srv.Client(), refresh: 15 * time.Minute, minGap: jwksMinGap, now: func() time.Time { return clock }}
	step := func(name string, advance time.Duration, wantFetches int32) {
		t.Helper()
		clock = clock.Add(advance)
		keys, err := c.keys(t.Context(), "r1")
		if err != nil || len(keys) != 1 || keys[0].ID != "r1" {
			t.Errorf("%s: keys %v, err %v: want the cached r1", name, keys, err)
		}
		if n := fetches.Load(); n != wantFetches {
			t.Errorf("%s: %d fetches, want %d", name, n, wantFetches)
		}
	}
	step("first use", 0, 1)
	step("fresh", 14*time.Minute, 1)
	step("stale", 2*time.Minute, 2)
	fail.Store(true)
	step("stale, the issuer down", 16*time.Minute, 3)
	step("within minGap of the failure", 5*time.Second, 3)
	fail.Store(false)
	step("after minGap", jwksMinGap, 4)
	step("fresh again", time.Minute, 4)
}
