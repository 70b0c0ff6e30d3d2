package admin

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/conflux-gql/conflux/admin/generated"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

// Error codes of the requests the admin API refuses before any GraphQL runs (extensions.code).
const (
	// CodeUnauthorized: no token is configured and the peer is not on loopback (403), or the bearer token is
	// missing or wrong (401).
	CodeUnauthorized = "UNAUTHORIZED"
	// CodeHostNotAllowed: no token is configured and the Host header is not a loopback name nor an address the
	// admin API was told it listens on (403): a page whose DNS name was rebound to 127.0.0.1.
	CodeHostNotAllowed = "HOST_NOT_ALLOWED"
	// CodeCrossOrigin: a browser request from another origin or site (403).
	CodeCrossOrigin = "CROSS_ORIGIN_REQUEST"
	// CodeMethodNotAllowed: a GET request for a mutation or for a query field that is not read-only (405).
	CodeMethodNotAllowed = "METHOD_NOT_ALLOWED"
	// CodeUnsupportedMediaType: no token is configured and a POST body is not application/json (415).
	CodeUnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE"
)

// readOnly lists the root fields a GET request may select: queries that only read the running state and never
// call out. validate is not one: loading the configuration it is given introspects the upstream URLs it names.
// A root field added later is refused over GET until it is listed here.
var readOnly = map[string]bool{
	"version":         true,
	"sdl":             true,
	"sources":         true,
	"bindings":        true,
	"explain":         true, // plans without calling a backend
	"history":         true,
	"lastReloadError": true,
	"fleet":           true,
	"__typename":      true,
	"__schema":        true,
	"__type":          true,
}

// Option configures NewHandler.
type Option func(*guard)

// AllowHost accepts hostport, an address the admin API listens on as it was configured (e.g. "myhost:9000"), as
// the Host header of requests served without a token, besides the loopback names. An empty or unspecified
// address (":9000", "0.0.0.0:9000") adds nothing: a browser may reach 0.0.0.0 as loopback from any page.
func AllowHost(hostport string) Option {
	return func(g *guard) {
		host, _, err := net.SplitHostPort(hostport)
		if err != nil {
			host = hostport
		}
		host = normalHost(host)
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			return
		}
		g.hosts[host] = true
	}
}

// NewHandler serves the admin API over ctl.
//
// With a token, every request must carry `Authorization: Bearer <token>` (compared in constant time). Without
// one, a request is served only when it comes from a loopback address, names a loopback host (localhost,
// 127.0.0.0/8, [::1], any port) or an address given with AllowHost in its Host header, so a web page whose DNS
// name is rebound to 127.0.0.1 is refused; and a POST body must be application/json, which a browser sends
// cross-origin only after a CORS preflight that is never granted.
//
// Either way, a browser request from another origin (an Origin header that is not this server's own origin, or
// Sec-Fetch-Site cross-site or same-site) is refused, and GET serves only queries of read-only root fields (no
// mutation, no validate), so neither a link nor an image can change the configuration or make Conflux call out.
// The handler is safe for concurrent use.
func NewHandler(ctl Control, token string, opts ...Option) http.Handler {
	gql := handler.New(generated.NewExecutableSchema(generated.Config{Resolvers: &Resolver{Control: ctl}}))
	gql.AddTransport(transport.Options{})
	gql.AddTransport(transport.GET{})
	gql.AddTransport(transport.POST{})
	gql.Use(extension.Introspection{})
	g := &guard{next: gql, token: token, hosts: map[string]bool{}}
	for _, o := range opts {
		o(g)
	}
	return g
}

// guard decides who may call the admin API (issue 13: DNS rebinding and cross-site requests reached it).
type guard struct {
	next  http.Handler
	token string
	hosts map[string]bool // AllowHost's hosts, normalised
}

func (g *guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if g.token == "" {
		if !loopback(r.RemoteAddr) {
			deny(w, http.StatusForbidden, CodeUnauthorized, "the admin API has no token (CONFLUX_ADMIN_TOKEN) and is served on loopback only")
			return
		}
		if !g.allowedHost(r.Host) {
			deny(w, http.StatusForbidden, CodeHostNotAllowed, fmt.Sprintf("Host %.100q is not a loopback name: without a token (CONFLUX_ADMIN_TOKEN) the admin API answers only requests addressed to localhost, 127.0.0.1 or [::1]", r.Host))
			return
		}
	} else {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(g.token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="conflux-admin"`)
			deny(w, http.StatusUnauthorized, CodeUnauthorized, "missing or wrong bearer token")
			return
		}
	}
	if msg := crossOrigin(r); msg != "" {
		deny(w, http.StatusForbidden, CodeCrossOrigin, msg)
		return
	}
	switch r.Method {
	case http.MethodGet:
		q := r.URL.Query()
		if msg := notReadOnly(q.Get("query")); msg != "" {
			w.Header().Set("Allow", "POST")
			deny(w, http.StatusMethodNotAllowed, CodeMethodNotAllowed, msg+"; send it with POST")
			return
		}
	case http.MethodPost:
		if g.token == "" && !jsonBody(r) {
			deny(w, http.StatusUnsupportedMediaType, CodeUnsupportedMediaType, "the admin API takes application/json bodies only")
			return
		}
	}
	g.next.ServeHTTP(w, r)
}

// allowedHost reports whether a Host header names this machine's loopback interface or an AllowHost address.
func (g *guard) allowedHost(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport // no port
	}
	host = normalHost(host)
	if host == "localhost" || g.hosts[host] {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// normalHost lower-cases a host name and strips IPv6 brackets and the root label's dot ("localhost.").
func normalHost(host string) string {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	return strings.TrimSuffix(strings.ToLower(host), ".")
}

// crossOrigin explains why r is a browser request from another origin or site, or returns "". A request without
// Origin and Sec-Fetch-Site (curl, the CLI, any non-browser client) is not one. An Origin is this server's own
// when its host and port are the request's Host; "null" (sandboxed frames, file: pages) never is.
func crossOrigin(r *http.Request) string {
	switch site := r.Header.Get("Sec-Fetch-Site"); site {
	case "cross-site", "same-site":
		return fmt.Sprintf("a browser request from another site (Sec-Fetch-Site: %s) is refused", site)
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return ""
	}
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || !strings.EqualFold(u.Host, r.Host) {
		return fmt.Sprintf("a browser request from another origin (Origin: %.100q) is refused", origin)
	}
	return ""
}

// jsonBody reports whether r declares an application/json body. text/plain, form and multipart bodies (and none
// at all) are what a page can POST to another origin without a CORS preflight.
func jsonBody(r *http.Request) bool {
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mediaType == "application/json"
}

// notReadOnly explains why a GET query document may not run, or returns "": every operation must be a query
// whose root fields, fragments included, are all readOnly. A document that does not parse is left to the
// GraphQL handler, which refuses it without running anything.
func notReadOnly(query string) string {
	doc, err := parser.ParseQuery(&ast.Source{Input: query})
	if err != nil {
		return ""
	}
	for _, op := range doc.Operations {
		if op.Operation != ast.Query {
			return fmt.Sprintf("a %s is not served over GET", op.Operation)
		}
		if name := unsafeRootField(doc, op.SelectionSet, map[string]bool{}); name != "" {
			return fmt.Sprintf("%s is not a read-only field and is not served over GET", name)
		}
	}
	return ""
}

// unsafeRootField returns the first root field of set (through inline fragments and fragment spreads) that is
// not readOnly, or "".
func unsafeRootField(doc *ast.QueryDocument, set ast.SelectionSet, seen map[string]bool) string {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if !readOnly[s.Name] {
				return s.Name
			}
		case *ast.InlineFragment:
			if name := unsafeRootField(doc, s.SelectionSet, seen); name != "" {
				return name
			}
		case *ast.FragmentSpread:
			if seen[s.Name] {
				continue
			}
			seen[s.Name] = true
			if f := doc.Fragments.ForName(s.Name); f != nil {
				if name := unsafeRootField(doc, f.SelectionSet, seen); name != "" {
					return name
				}
			}
		}
	}
	return ""
}

func loopback(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// deny answers a refusal as a GraphQL error with a stable code.
func deny(w http.ResponseWriter, status int, code, msg string) {
	body, _ := json.Marshal(map[string]any{"errors": []any{map[string]any{"message": msg, "extensions": map[string]any{"code": code}}}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
