package schema

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"testing/fstest"
)

// TestSettings_auth: server.auth decodes keys of every kind and refuses, at their line, what cannot verify a
// token safely, rules naming what the schema lacks, and {{jwt.*}} templates without server.auth.jwt (issue 16).
func TestSettings_auth(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pemKey := strings.ReplaceAll(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), "\n", `\n`)
	fsys := fstest.MapFS{"s.graphqls": {Data: []byte("type Query { a: String, b(id: ID): String }\ntype Invoice { id: ID }\n")}}
	env := map[string]string{"SECRET": "0123456789abcdef0123456789abcdef", "SHORT": "abc"}
	tests := []struct {
		name, auth, bindings string
		wantKeys             int
		wantErr              string
	}{
		{name: "jwks", auth: `{jwt: {jwks: "https://issuer.example.com/jwks.json"}}`},
		{name: "PEM key", auth: `{jwt: {keys: ["` + pemKey + `"]}}`, wantKeys: 1},
		{name: "JWK set", auth: `{jwt: {keys: ['{"keys":[{"kty":"oct","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI","kid":"h"},{"kty":"XX"}]}'], algorithms: [HS256]}}`, wantKeys: 1},
		{name: "HMAC from env", auth: `{jwt: {keys: ["{{env.SECRET}}"], algorithms: [HS256]}}`, wantKeys: 1},
		{name: "rules", auth: `{jwt: {jwks: "https://i/k"}, rules: {Query.a: {scopes: [x]}, Invoice: {authenticated: true}}}`},
		{name: "jwt template", auth: `{jwt: {jwks: "https://i/k"}}`, bindings: `Query.a: {value: "{{jwt.sub}} {{jwt.claims.org.tenant}}"}`},

		{name: "none", auth: `{jwt: {jwks: "https://i/k", algorithms: [RS256, none]}}`, wantErr: `server.auth.jwt.algorithms: "none" accepts unsigned tokens`},
		{name: "unknown algorithm", auth: `{jwt: {jwks: "https://i/k", algorithms: [RS257]}}`, wantErr: `unknown algorithm "RS257"`},
		{name: "no keys", auth: `{jwt: {issuer: x}}`, wantErr: `server.auth.jwt: no keys to verify tokens with`},
		{name: "literal secret", auth: `{jwt: {keys: [hunter2hunter2], algorithms: [HS256]}}`, wantErr: `an HMAC secret does not belong in the file`},
		{name: "secret without HS algorithm", auth: `{jwt: {keys: ["{{env.SECRET}}"]}}`, wantErr: `allow no HS256`},
		{name: "short secret warns only", auth: `{jwt: {keys: ["{{env.SHORT}}"], algorithms: [HS256]}}`, wantKeys: 1},
		{name: "private key", auth: `{jwt: {keys: ["-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----"]}}`, wantErr: `is not a public key`},
		{name: "jwks not http", auth: `{jwt: {jwks: "file:///etc/jwks.json"}}`, wantErr: `is not an http(s) URL`},
		{name: "refresh too often", auth: `{jwt: {jwks: "https://i/k", refresh: 1s}}`, wantErr: `server.auth.jwt.refresh: refresh the JWKS at most every 10s`},
		{name: "no timeout", auth: `{jwt: {jwks: "https://i/k", timeout: "0"}}`, wantErr: `server.auth.jwt.timeout: a JWKS fetch needs a timeout above 0`},
		{name: "rules without jwt", auth: `{rules: {Query.a: {authenticated: true}}}`, wantErr: `rules need server.auth.jwt`},
		{name: "rule on an unknown field", auth: `{jwt: {jwks: "https://i/k"}, rules: {Query.c: {authenticated: true}}}`, wantErr: `conflux.yaml:3:46: server.auth.rules.Query.c: type Query has no field "c"`},
		{name: "rule on an unknown type", auth: `{jwt: {jwks: "https://i/k"}, rules: {Invoce: {authenticated: true}}}`, wantErr: `unknown type "Invoce": did you mean "Invoice"?`},
		{name: "jwt template without jwt", auth: `{}`, bindings: `Query.a: {value: "{{jwt.sub}}"}`, wantErr: `{{jwt.sub}} reads the request's token: configure server.auth.jwt`},
		{name: "unknown jwt claim", auth: `{jwt: {jwks: "https://i/k"}}`, bindings: `Query.a: {value: "{{jwt.tenant}}"}`, wantErr: `{{jwt.claims.<name>}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			config := "schema: s.graphqls\nserver:\n  auth: " + tc.auth + "\n"
			if tc.bindings != "" {
				config += "bindings:\n  " + tc.bindings + "\n"
			}
			sg, err := Parse("conflux.yaml", []byte(config), fsys, WithEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := len(sg.Settings.Auth.JWT.Keys); got != tc.wantKeys {
				t.Errorf("%d keys, want %d", got, tc.wantKeys)
			}
			if !sg.Settings.Auth.JWT.Enabled() {
				t.Error("jwt is off")
			}
		})
	}
}
