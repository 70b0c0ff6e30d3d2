package sources

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// This file keeps one client's input from hurting other clients (issue 13): a request that cannot be sent is
// refused with BAD_USER_INPUT before it takes a rate token, a concurrency slot, a retry-budget share or an
// endpoint, and a request net/http refuses on this side is never counted against the endpoint. It also holds
// the redirect policy, which keeps the source's credentials on the endpoint's host.

// checkRequest returns why req cannot be sent with method, or "" when it can. It allocates nothing when the
// request is valid, which is every request on the hot path.
func checkRequest(method string, req *Request) string {
	if !httpguts.ValidHeaderFieldName(method) { // a method is a token, as a header name is
		return "the request method is not a valid token"
	}
	if reason := checkPath(req.Path); reason != "" {
		return reason
	}
	return checkHeader(req.Header)
}

// checkHeader returns why h cannot be sent, or "" when it can: every name must be a token and every value free
// of control characters other than tab. These are the rules net/http's transport applies before sending (it
// refuses the whole request otherwise), so a request that passes is not refused there.
func checkHeader(h http.Header) string {
	for name, vals := range h {
		if !httpguts.ValidHeaderFieldName(name) {
			return fmt.Sprintf("header name %q is not a valid token", name)
		}
		for _, v := range vals {
			if !httpguts.ValidHeaderFieldValue(v) {
				// The value is the client's and may be a secret: it is not repeated.
				return "header " + name + " has a value with a control character, which a header cannot carry"
			}
		}
	}
	return ""
}

// checkPath returns why p is not a request path as Request.Path documents it, or "" when it is: empty, or
// starting with "/" and made only of bytes PathByte accepts. Such a path is sent exactly as it is: no query,
// fragment, space or control character slips in, and net/url does not re-escape it from its decoded form, which
// would turn an escaped "/" into a real one.
func checkPath(p string) string {
	if p == "" {
		return ""
	}
	if p[0] != '/' {
		return "the request path does not start with /"
	}
	for i := 0; i < len(p); i++ {
		switch {
		case PathByte(p, i):
		case p[i] == '%':
			return "the request path has a malformed percent escape"
		default:
			return "the request path has a character that must be escaped"
		}
	}
	return ""
}

// PathByte reports whether p[i] may stand as it is in a Request.Path: an RFC 3986 path character (a letter, a
// digit, one of "/-._~!$&'()*+,;=:@", or "[" and "]" as net/url allows), or a "%" that starts a well-formed
// escape. It is the one rule for both sides: HTTP.Do refuses a path with any other byte, and the resolvers
// package escapes every other byte of a path template's literal text, so that a refusal is always the client's.
func PathByte(p string, i int) bool {
	c := p[i]
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	case c == '%':
		return i+2 < len(p) && isHex(p[i+1]) && isHex(p[i+2])
	}
	return strings.IndexByte("/-._~!$&'()*+,;=:@[]", c) >= 0
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// localError is an attempt that net/http refused on this side before any byte of it reached the network (an
// invalid header value, method or URL). Input a client controls can cause one, so it is the client's error
// (BAD_USER_INPUT) and never the endpoint's: it is not recorded as the endpoint's outcome, not retried, and it
// gives a half-open breaker's trial back.
type localError struct {
	reason string
	err    error
}

func (e *localError) Error() string { return e.reason }
func (e *localError) Unwrap() error { return e.err }

// asLocal returns err's *localError, or nil. It allocates only when err is not nil, so the outcome of every
// successful attempt is checked for free.
func asLocal(err error) *localError {
	if err == nil {
		return nil
	}
	var local *localError
	if errors.As(err, &local) {
		return local
	}
	return nil
}

// refusedLocally reports why the transport refused r without sending it, or "" when err is something else.
// It runs only after an attempt failed, so it costs nothing on the hot path. Do and NewHTTP have checked the
// request's and the source's headers, so the structural checks below are a last line; what does reach here is
// matched by net/http's messages (the HTTP/1 transport's "net/http: invalid …", and the HTTP/2 header encoding's,
// such as a Connection header HTTP/2 forbids), which have no typed error.
func refusedLocally(r *http.Request, err error) string {
	switch {
	case r.URL == nil || r.URL.Host == "":
		return "the request URL has no host"
	case !httpguts.ValidHeaderFieldName(r.Method):
		return "the request method is not a valid token"
	}
	if reason := checkHeader(r.Header); reason != "" {
		return reason
	}
	msg := err.Error()
	for _, local := range []string{"net/http: invalid ", "invalid HTTP header", "invalid HTTP trailer", "invalid request :path", " request header: "} {
		if strings.Contains(msg, local) {
			return "the request has a header or method that cannot be sent"
		}
	}
	return ""
}

// errRedirect marks the UPSTREAM_HTTP_ERROR of a redirect the source's policy did not follow.
var errRedirect = errors.New("redirect not followed")

// crossHostHeaders are the only headers a request keeps when it is redirected to another (allowed) host: they
// negotiate the content and carry no credential. Go drops Authorization and Cookie itself, but not an
// X-Api-Key from the source's headers or a forwarded header; nor the Referer it adds, which names our path.
var crossHostHeaders = []string{"Accept", "Accept-Encoding", "Accept-Language", "Content-Type", "User-Agent"}

// checkRedirect is the http.Client's CheckRedirect: it applies HTTPConfig.Redirects and RedirectHosts and caps
// the chain at MaxRedirects. A redirect it does not follow ends the attempt with the 3xx answer
// (http.ErrUseLastResponse) and notes why on the attempt: the backend did answer, so the endpoint is not counted
// as failing, and the client gets UPSTREAM_HTTP_ERROR with the status.
func (h *HTTP) checkRedirect(req *http.Request, via []*http.Request) error {
	why := redirectRefusal(h.cfg.Redirects, h.cfg.RedirectHosts, req, via)
	if why == "" {
		return nil
	}
	if a, ok := req.Context().Value(attemptKey{}).(*attempt); ok {
		a.redirect = why
	}
	return http.ErrUseLastResponse
}

// RedirectPolicy returns an http.Client CheckRedirect that applies a source's redirect configuration (see
// HTTPConfig.Redirects and RedirectHosts) to requests made outside an HTTP source, such as the introspection of
// a graphql source at load, which sends the source's headers too. A redirect it does not follow leaves the
// client with the 3xx answer.
func RedirectPolicy(redirects string, hosts []string) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if redirectRefusal(redirects, hosts, req, via) != "" {
			return http.ErrUseLastResponse
		}
		return nil
	}
}

// redirectRefusal says why req, a redirect after via, is not followed, or returns "" to follow it. Every hop is
// judged against the first request's host; a hop to another (listed) host keeps only crossHostHeaders.
func redirectRefusal(redirects string, hosts []string, req *http.Request, via []*http.Request) string {
	from := via[0].URL
	switch {
	case redirects == RedirectsNone:
		return "redirects are not followed (redirects: none)"
	case len(via) > MaxRedirects:
		return fmt.Sprintf("more than %d redirects", MaxRedirects)
	case from.Scheme == "https" && req.URL.Scheme != "https":
		return "redirect from https to http not followed"
	case sameHost(from, req.URL):
		return ""
	case !slices.Contains(hosts, strings.ToLower(req.URL.Hostname())):
		return "redirect to another host not followed"
	}
	for name := range req.Header {
		if !slices.Contains(crossHostHeaders, name) {
			delete(req.Header, name)
		}
	}
	return ""
}

// sameHost reports whether to is on from's host: the same host name and port, where a missing port is the
// scheme's default and two missing ports match (so that http://api/x → https://api/x is the same host).
func sameHost(from, to *url.URL) bool {
	if !strings.EqualFold(from.Hostname(), to.Hostname()) {
		return false
	}
	fp, tp := from.Port(), to.Port()
	return (fp == "" && tp == "") || portOrDefault(fp, from.Scheme) == portOrDefault(tp, to.Scheme)
}

func portOrDefault(port, scheme string) string {
	switch {
	case port != "":
		return port
	case scheme == "https":
		return "443"
	}
	return "80"
}
