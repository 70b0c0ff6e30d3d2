package main

import (
	"net/http"
	"sync/atomic"
	"time"

	"github.com/conflux-gql/conflux/runtime"
	"github.com/conflux-gql/conflux/schema"
	"github.com/rs/cors"
)

// corsHandler applies the running version's server.cors to next (issue 16), so a reload that changes it applies
// from the next request on. Off (no server.cors origins), next serves untouched: no CORS headers, and a preflight
// reaches gqlgen's OPTIONS transport, which a browser reads as a refusal. On, github.com/rs/cors answers a
// preflight (OPTIONS with Access-Control-Request-Method) itself with 204 and the allow headers — or without them
// for an origin, method or header not allowed — and gives an actual request from an allowed origin
// Access-Control-Allow-Origin (and -Credentials), with Vary: Origin on every answer.
//
// It wraps /graphql only: the playground is served from the same origin as the API it calls, and the admin API
// is for operators' tools, never for other sites' pages. Safe for concurrent use.
func corsHandler(rt *runtime.Runtime, next http.Handler) http.Handler {
	type policy struct {
		sg *schema.Supergraph // the version the handler was built for
		h  http.Handler
	}
	var cur atomic.Pointer[policy]
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sg := rt.Current()
		p := cur.Load()
		if p == nil || p.sg != sg {
			// Built once per version; two requests racing on a new version build it twice, which is harmless.
			p = &policy{sg: sg, h: withCORS(sg.Settings.CORS, next)}
			cur.Store(p)
		}
		p.h.ServeHTTP(w, r)
	})
}

// withCORS returns next behind the policy c, or next itself when c is off.
func withCORS(c schema.CORS, next http.Handler) http.Handler {
	if !c.Enabled() {
		return next
	}
	return cors.New(cors.Options{
		AllowedOrigins:   c.Origins,
		AllowedMethods:   c.Methods,
		AllowedHeaders:   c.Headers,
		AllowCredentials: c.Credentials, // never with "*": schema refuses that at load
		MaxAge:           int(c.MaxAge / time.Second),
	}).Handler(next)
}
