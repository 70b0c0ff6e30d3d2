package admin

import (
	"crypto/subtle"
	"net"
	"net/http"
	"strings"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/conflux-gql/conflux/admin/generated"
)

// NewHandler serves the admin API over ctl. With a token, every request must carry
// `Authorization: Bearer <token>` (compared in constant time); with none, only requests from loopback addresses
// are served, so an admin API without a token is never reachable from another machine.
func NewHandler(ctl Control, token string) http.Handler {
	gql := handler.New(generated.NewExecutableSchema(generated.Config{Resolvers: &Resolver{Control: ctl}}))
	gql.AddTransport(transport.Options{})
	gql.AddTransport(transport.GET{})
	gql.AddTransport(transport.POST{})
	gql.Use(extension.Introspection{})
	return authorize(gql, token)
}

func authorize(next http.Handler, token string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if token == "" {
			if !loopback(r.RemoteAddr) {
				deny(w, http.StatusForbidden, "the admin API has no token (CONFLUX_ADMIN_TOKEN) and is served on loopback only")
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="conflux-admin"`)
			deny(w, http.StatusUnauthorized, "missing or wrong bearer token")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func loopback(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func deny(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"errors":[{"message":"` + msg + `","extensions":{"code":"UNAUTHORIZED"}}]}` + "\n"))
}
