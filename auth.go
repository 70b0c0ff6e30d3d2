package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/conflux-gql/conflux/resolvers"
	"github.com/conflux-gql/conflux/runtime"
	"github.com/conflux-gql/conflux/schema"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/sync/singleflight"
)

// codeUnauthenticated is the extensions.code of a request refused for its token, and of a field refused for
// the lack of one (graph/auth.go).
const codeUnauthenticated = "UNAUTHENTICATED"

// authHandler validates the bearer token of each request by the running version's server.auth.jwt (issue 16)
// and hands its claims on: in the request's context (resolvers.ClaimsFrom), for the field rules, and in its
// header map (resolvers.ClaimsHeader), for {{jwt.*}} templates. Off (no server.auth.jwt), next serves the
// request as it is, anonymous.
//
// A token that is present but invalid (malformed, badly signed, expired, not yet valid, wrong issuer, audience
// or algorithm) is refused with 401, a GraphQL error with code UNAUTHENTICATED and
// `WWW-Authenticate: Bearer error="invalid_token"`; a request without one is refused the same way (with a bare
// `WWW-Authenticate: Bearer`, RFC 6750 3.1) only when server.auth.jwt.required is true, and runs anonymous
// otherwise. OPTIONS requests (CORS preflights) pass untouched.
//
// A version's verifier, with its JWKS cache, is built on the first request that version serves. Safe for
// concurrent use.
func authHandler(rt *runtime.Runtime, next http.Handler) http.Handler {
	type current struct {
		sg *schema.Supergraph
		v  *verifier // nil: off
	}
	var cur atomic.Pointer[current]
	var mu sync.Mutex // builds one verifier per version, so that its JWKS is fetched by one cache
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sg := rt.Current()
		c := cur.Load()
		if c == nil || c.sg != sg {
			mu.Lock()
			if c = cur.Load(); c == nil || c.sg != sg {
				c = &current{sg: sg}
				if cfg := sg.Settings.Auth.JWT; cfg.Enabled() {
					c.v = newVerifier(cfg, http.DefaultTransport)
				}
				cur.Store(c)
			}
			mu.Unlock()
		}
		// The claims header is ours alone: never what arrived.
		delete(r.Header, resolvers.ClaimsHeader)
		if c.v == nil || r.Method == http.MethodOptions {
			next.ServeHTTP(w, r)
			return
		}
		token, present := bearer(r.Header)
		if !present {
			if headerHasToken(r.Header, "Upgrade", "websocket") {
				// A browser's WebSocket cannot send headers: its token comes in connection_init, which the
				// WebSocket transport checks with this verifier (transport_ws.go).
				next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), upgradeVerifierKey{}, c.v)))
				return
			}
			if c.v.cfg.Required {
				refuseToken(w, r, "", "this API requires a bearer token: send Authorization: Bearer <JWT>")
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		claims, raw, err := c.v.verify(r.Context(), token)
		if err != nil {
			refuseToken(w, r, "invalid_token", "invalid token: "+err.Error())
			return
		}
		next.ServeHTTP(w, r.WithContext(resolvers.WithClaims(r.Context(), r.Header, claims, raw)))
	})
}

type upgradeVerifierKey struct{}

// upgradeVerifier returns the verifier a WebSocket upgrade without a token must check connection_init's token
// with; nil when auth is off or the upgrade had a token (checked already).
func upgradeVerifier(ctx context.Context) *verifier {
	v, _ := ctx.Value(upgradeVerifierKey{}).(*verifier)
	return v
}

// bearer returns the token of an `Authorization: Bearer <token>` header; present is false without an
// Authorization header. Another scheme, or an empty token, is present and returned as "", which fails to
// verify.
func bearer(h http.Header) (token string, present bool) {
	vals := h.Values("Authorization")
	if len(vals) == 0 {
		return "", false
	}
	scheme, token, _ := strings.Cut(strings.TrimSpace(vals[0]), " ")
	if !strings.EqualFold(scheme, "Bearer") || len(vals) > 1 {
		return "", true
	}
	return strings.TrimSpace(token), true
}

// refuseToken answers 401 with a GraphQL error (UNAUTHENTICATED) and the RFC 6750 challenge; errCode is its
// error attribute ("" for a request without a token).
func refuseToken(w http.ResponseWriter, r *http.Request, errCode, msg string) {
	challenge := "Bearer"
	if errCode != "" {
		challenge += fmt.Sprintf(` error=%q, error_description=%q`, errCode, strings.ReplaceAll(msg, `"`, "'"))
	}
	w.Header().Set("WWW-Authenticate", challenge)
	w.Header().Set("Content-Type", responseType(r.Header.Get("Accept")))
	writeRequestError(w, http.StatusUnauthorized, codeUnauthenticated, msg)
}

// verifier validates tokens for one server.auth.jwt. Safe for concurrent use.
type verifier struct {
	cfg    schema.JWT
	parser *jwt.Parser
	jwks   *jwks // nil with static keys
}

func newVerifier(cfg schema.JWT, rt http.RoundTripper) *verifier {
	opts := []jwt.ParserOption{jwt.WithValidMethods(cfg.Algorithms), jwt.WithLeeway(cfg.ClockSkew), jwt.WithJSONNumber()}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if len(cfg.Audience) > 0 {
		opts = append(opts, jwt.WithAudience(cfg.Audience...))
	}
	v := &verifier{cfg: cfg, parser: jwt.NewParser(opts...)}
	if cfg.JWKS != "" {
		v.jwks = &jwks{url: cfg.JWKS, client: &http.Client{Transport: rt, Timeout: cfg.Timeout}, refresh: cfg.Refresh,
			minGap: jwksMinGap, now: time.Now}
	}
	return v
}

// verify checks token's signature (with a key of the configured set whose type fits the token's alg, and whose
// kid matches when both have one) and claims, and returns the claims and their JSON.
func (v *verifier) verify(ctx context.Context, token string) (resolvers.Claims, []byte, error) {
	claims := jwt.MapClaims{}
	_, err := v.parser.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		alg, _ := t.Header["alg"].(string)
		kid, _ := t.Header["kid"].(string)
		keys := v.cfg.Keys
		if v.jwks != nil {
			var err error
			if keys, err = v.jwks.keys(ctx, kid); err != nil {
				return nil, err
			}
		}
		set := jwt.VerificationKeySet{}
		for _, k := range keys {
			if k.Fits(alg) && (kid == "" || k.ID == "" || k.ID == kid) {
				set.Keys = append(set.Keys, k.Key)
			}
		}
		if len(set.Keys) == 0 {
			if kid != "" {
				return nil, fmt.Errorf("no %s key with kid %q", alg, kid)
			}
			return nil, fmt.Errorf("no %s key", alg)
		}
		return set, nil
	})
	if err != nil {
		return nil, nil, err
	}
	// The payload as sent, for templates: the claims just validated, in their own JSON.
	parts := strings.Split(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, nil, fmt.Errorf("decode claims: %w", err)
	}
	return resolvers.Claims(claims), raw, nil
}

// jwksMinGap is the least time between two JWKS fetches for a kid the set does not have, so that tokens with
// made-up kids cannot make Conflux hammer the issuer.
const jwksMinGap = 10 * time.Second

// jwks is a cached JSON Web Key Set: fetched on first use, again once it is older than refresh, and when a
// token names a kid it lacks (at most once per minGap; and after a failed fetch, not again within minGap). A fetch runs once for all the requests that need it
// (singleflight), bounded by the client's timeout; a request stops waiting when its context ends. A failed
// fetch keeps the keys already known. Safe for concurrent use.
type jwks struct {
	url     string
	client  *http.Client
	refresh time.Duration
	minGap  time.Duration
	now     func() time.Time
	sf      singleflight.Group

	mu       sync.Mutex
	set      []schema.JWTKey
	fetched  time.Time // the last good fetch
	failed   time.Time // the last failed fetch
	kidFetch time.Time // the last fetch for an unknown kid
}

// keys returns the key set, fetching it first when it is missing, stale, or lacks kid (rate-limited).
func (c *jwks) keys(ctx context.Context, kid string) ([]schema.JWTKey, error) {
	c.mu.Lock()
	set, now := c.set, c.now()
	// After a failed fetch, the next waits minGap: an issuer's outage costs it one request per minGap.
	fetch := (set == nil || now.Sub(c.fetched) >= c.refresh) && now.Sub(c.failed) >= c.minGap
	if !fetch && kid != "" && !hasKid(set, kid) && now.Sub(c.kidFetch) >= c.minGap {
		fetch, c.kidFetch = true, now
	}
	c.mu.Unlock()
	if !fetch {
		return set, nil
	}
	ch := c.sf.DoChan("", func() (any, error) {
		// Detached from the request that started it: the others wait for it too. The client's timeout bounds it.
		fresh, err := c.fetch(context.WithoutCancel(ctx))
		c.mu.Lock()
		defer c.mu.Unlock()
		if err != nil {
			c.failed = c.now()
			return c.set, err
		}
		c.set, c.fetched = fresh, c.now()
		return fresh, nil
	})
	select {
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	case res := <-ch:
		got, _ := res.Val.([]schema.JWTKey)
		if got == nil {
			return nil, fmt.Errorf("no keys: %w", res.Err)
		}
		// A failed refresh keeps the keys known so far.
		return got, nil
	}
}

func hasKid(set []schema.JWTKey, kid string) bool {
	for _, k := range set {
		if k.ID == kid {
			return true
		}
	}
	return false
}

// fetch GETs and parses the key set.
func (c *jwks) fetch(ctx context.Context) ([]schema.JWTKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS %s: %w", c.url, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch JWKS %s: status %d", c.url, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS %s: %w", c.url, err)
	}
	keys, err := schema.ParseJWKs(body)
	if err != nil {
		return nil, fmt.Errorf("JWKS %s: %w", c.url, err)
	}
	return keys, nil
}
