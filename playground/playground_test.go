package playground

import (
	"bytes"
	"compress/gzip"
	"html"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var (
	tagRE  = regexp.MustCompile(`(?is)<(script|link)\b([^>]*)>`)
	attrRE = regexp.MustCompile(`(?is)\b(src|href|rel)\s*=\s*"([^"]*)"`)
)

// ref is a script or stylesheet the page loads.
type ref struct {
	tag, url string
}

// pageRefs returns the src of every <script src> and the href of every <link href> in page.
func pageRefs(t *testing.T, page string) []ref {
	t.Helper()
	var refs []ref
	for _, m := range tagRE.FindAllStringSubmatch(page, -1) {
		tag := strings.ToLower(m[1])
		for _, a := range attrRE.FindAllStringSubmatch(m[2], -1) {
			name := strings.ToLower(a[1])
			if (tag == "script" && name == "src") || (tag == "link" && name == "href") {
				refs = append(refs, ref{tag: tag, url: html.UnescapeString(a[2])})
			}
		}
	}
	return refs
}

func do(t *testing.T, h http.Handler, method, target string, header http.Header) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkAssets asserts that the page's scripts and stylesheets are local and served by h with the right type.
func checkAssets(t *testing.T, h http.Handler, pagePath, page string) {
	t.Helper()
	refs := pageRefs(t, page)
	var scripts, styles int
	for _, r := range refs {
		switch r.tag {
		case "script":
			scripts++
		case "link":
			styles++
		}
	}
	if scripts != 3 || styles != 1 {
		t.Fatalf("page loads %d scripts and %d stylesheets, want 3 and 1: %v", scripts, styles, refs)
	}
	base, err := url.Parse("http://playground.test" + pagePath)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range refs {
		u, err := url.Parse(r.url)
		if err != nil {
			t.Fatalf("%s %q: %v", r.tag, r.url, err)
		}
		if strings.Contains(r.url, "http://") || strings.Contains(r.url, "https://") || u.Scheme != "" || u.Host != "" ||
			strings.HasPrefix(r.url, "//") {
			t.Errorf("%s %q is not a local relative URL", r.tag, r.url)
			continue
		}
		if strings.HasPrefix(r.url, "/") {
			t.Errorf("%s %q is absolute; the page must stay mount-independent", r.tag, r.url)
		}
		want := "text/javascript; charset=utf-8"
		if r.tag == "link" {
			want = "text/css; charset=utf-8"
		}
		target := base.ResolveReference(u).Path
		resp := do(t, h, http.MethodGet, target, nil)
		b := body(t, resp)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s (%s %q): status %d", target, r.tag, r.url, resp.StatusCode)
			continue
		}
		if ct := resp.Header.Get("Content-Type"); ct != want {
			t.Errorf("GET %s: Content-Type %q, want %q", target, ct, want)
		}
		if len(b) == 0 {
			t.Errorf("GET %s: empty body", target)
		}
		if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") || !strings.Contains(cc, "max-age=31536000") {
			t.Errorf("GET %s: Cache-Control %q, want long-lived immutable", target, cc)
		}
	}
}

func TestHandler(t *testing.T) {
	const query = "# Welcome </script><script>alert(1)</script>\n{ hello }\n"
	root := HandlerWithOptions(Options{Title: "Conflux", Endpoint: "/graphql", DefaultQuery: query})
	mounted := http.NewServeMux()
	mounted.Handle("/playground/", http.StripPrefix("/playground", Handler("Conflux", "/api/graphql")))

	tests := []struct {
		name     string
		handler  http.Handler
		method   string
		path     string
		header   http.Header
		status   int
		ctype    string
		contains []string
		excludes []string
		check    func(t *testing.T, h http.Handler, resp *http.Response, body string)
	}{
		{
			name: "page", handler: root, method: http.MethodGet, path: "/",
			status: http.StatusOK, ctype: "text/html; charset=utf-8",
			contains: []string{
				"<title>Conflux</title>",
				`"endpoint":"/graphql"`,
				"GraphiQL.createFetcher(",
				"subscriptionUrl: ws.href", // subscriptions over graphql-transport-ws (issue 17)
				"defaultEditorToolsVisibility: true",
				`\u003c/script\u003e\u003cscript\u003ealert(1)\u003c/script\u003e`, // the default query, JS-escaped
			},
			excludes: []string{"http://", "https://", "</script><script>alert(1)"},
			check: func(t *testing.T, h http.Handler, resp *http.Response, body string) {
				if cc := resp.Header.Get("Cache-Control"); cc != "no-cache" {
					t.Errorf("Cache-Control %q, want no-cache", cc)
				}
				checkAssets(t, h, "/", body)
			},
		},
		{
			name: "page mounted under a prefix", handler: mounted, method: http.MethodGet, path: "/playground/",
			status: http.StatusOK, ctype: "text/html; charset=utf-8",
			contains: []string{`"endpoint":"/api/graphql"`},
			excludes: []string{`"defaultQuery":`},
			check: func(t *testing.T, h http.Handler, _ *http.Response, body string) {
				checkAssets(t, h, "/playground/", body)
			},
		},
		{
			name: "title and endpoint are escaped", method: http.MethodGet, path: "/",
			handler: Handler(`<script>alert("t")</script> & co`, `/graphql?x="</script><script>alert(2)//`),
			status:  http.StatusOK, ctype: "text/html; charset=utf-8",
			contains: []string{
				"<title>&lt;script&gt;alert(&#34;t&#34;)&lt;/script&gt; &amp; co</title>",
				`"endpoint":"/graphql?x=\"\u003c/script\u003e\u003cscript\u003ealert(2)//"`,
			},
			excludes: []string{`<script>alert("t")`, "<script>alert(2)"},
		},
		{
			name: "defaults", handler: Handler("", ""), method: http.MethodGet, path: "/",
			status: http.StatusOK, ctype: "text/html; charset=utf-8",
			contains: []string{"<title>GraphiQL</title>", `"endpoint":"/graphql"`},
		},
		{
			name: "HEAD page", handler: root, method: http.MethodHead, path: "/",
			status: http.StatusOK, ctype: "text/html; charset=utf-8",
			check: func(t *testing.T, _ http.Handler, _ *http.Response, body string) {
				if body != "" {
					t.Errorf("HEAD body %q, want empty", body)
				}
			},
		},
		{
			name: "POST page", handler: root, method: http.MethodPost, path: "/",
			status: http.StatusMethodNotAllowed,
			check: func(t *testing.T, _ http.Handler, resp *http.Response, _ string) {
				if a := resp.Header.Get("Allow"); a != "GET, HEAD" {
					t.Errorf("Allow %q", a)
				}
			},
		},
		{
			name: "asset revalidation", handler: root, method: http.MethodGet, path: assetPrefix + reactFile,
			header: http.Header{"If-None-Match": {lookupAsset(reactFile).etag}},
			status: http.StatusNotModified,
		},
		{
			name: "asset gzip", handler: root, method: http.MethodGet, path: assetPrefix + graphiqlJSFile,
			header: http.Header{"Accept-Encoding": {"br;q=1, gzip;q=0.8"}},
			status: http.StatusOK, ctype: "text/javascript; charset=utf-8",
			check: func(t *testing.T, _ http.Handler, resp *http.Response, body string) {
				if ce := resp.Header.Get("Content-Encoding"); ce != "gzip" {
					t.Fatalf("Content-Encoding %q, want gzip", ce)
				}
				zr, err := gzip.NewReader(strings.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(zr)
				if err != nil {
					t.Fatal(err)
				}
				want, err := fs.ReadFile(assetFS, assetDir+"/"+graphiqlJSFile)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("gunzipped body differs from the embedded file (%d vs %d bytes)", len(got), len(want))
				}
			},
		},
		{
			name: "asset gzip refused", handler: root, method: http.MethodGet, path: assetPrefix + graphiqlCSSFile,
			header: http.Header{"Accept-Encoding": {"gzip;q=0, *"}},
			status: http.StatusOK, ctype: "text/css; charset=utf-8",
			check: func(t *testing.T, _ http.Handler, resp *http.Response, _ string) {
				if ce := resp.Header.Get("Content-Encoding"); ce != "" {
					t.Errorf("Content-Encoding %q, want none", ce)
				}
			},
		},
		{
			name: "license", handler: root, method: http.MethodGet, path: "/assets/LICENSE-react.txt",
			status: http.StatusOK, ctype: "text/plain; charset=utf-8", contains: []string{"MIT License"},
		},
		{name: "unknown path", handler: root, method: http.MethodGet, path: "/graphiql", status: http.StatusNotFound},
		{name: "unknown nested path", handler: root, method: http.MethodGet, path: "/foo/", status: http.StatusNotFound},
		{name: "index.html", handler: root, method: http.MethodGet, path: "/index.html", status: http.StatusNotFound},
		{name: "unknown asset", handler: root, method: http.MethodGet, path: "/assets/graphiql.min.js", status: http.StatusNotFound},
		{name: "asset directory", handler: root, method: http.MethodGet, path: "/assets/", status: http.StatusNotFound},
		{name: "asset traversal", handler: root, method: http.MethodGet, path: "/assets/../playground.go", status: http.StatusNotFound},
		{name: "unknown path POST", handler: root, method: http.MethodPost, path: "/nope", status: http.StatusNotFound},
		{name: "unprefixed path when mounted", handler: mounted, method: http.MethodGet, path: "/", status: http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := do(t, tt.handler, tt.method, tt.path, tt.header)
			b := body(t, resp)
			if resp.StatusCode != tt.status {
				t.Fatalf("%s %s: status %d, want %d", tt.method, tt.path, resp.StatusCode, tt.status)
			}
			if tt.ctype != "" {
				if ct := resp.Header.Get("Content-Type"); ct != tt.ctype {
					t.Errorf("Content-Type %q, want %q", ct, tt.ctype)
				}
			}
			for _, s := range tt.contains {
				if !strings.Contains(b, s) {
					t.Errorf("body does not contain %q", s)
				}
			}
			for _, s := range tt.excludes {
				if strings.Contains(b, s) {
					t.Errorf("body contains %q", s)
				}
			}
			if tt.check != nil {
				tt.check(t, tt.handler, resp, b)
			}
		})
	}
}

// TestEmbeddedAssets checks that every file the page needs is embedded, and that the embedded files load nothing
// from a network: the only absolute URLs in them are inside strings (XML namespaces, error-message links).
func TestEmbeddedAssets(t *testing.T) {
	for _, name := range []string{graphiqlJSFile, graphiqlCSSFile, reactFile, reactDOMFile} {
		a := lookupAsset(name)
		if a == nil {
			t.Errorf("%s is not embedded", name)
			continue
		}
		data, err := fs.ReadFile(assetFS, assetDir+"/"+name)
		if err != nil || len(data) == 0 {
			t.Errorf("%s: %d bytes, %v", name, len(data), err)
		}
	}
	css, err := fs.ReadFile(assetFS, assetDir+"/"+graphiqlCSSFile)
	if err != nil {
		t.Fatal(err)
	}
	// Stylesheets could pull fonts or images from a CDN: every url() must be a data: URI.
	for _, m := range regexp.MustCompile(`url\(\s*['"]?([^'")]*)`).FindAllSubmatch(css, -1) {
		if !bytes.HasPrefix(m[1], []byte("data:")) {
			t.Errorf("%s loads %q", graphiqlCSSFile, m[1])
		}
	}
	if bytes.Contains(css, []byte("@import")) {
		t.Errorf("%s has an @import", graphiqlCSSFile)
	}
}

func TestAcceptsGzip(t *testing.T) {
	for header, want := range map[string]bool{
		"":                        false,
		"gzip":                    true,
		"GZIP":                    true,
		"gzip, deflate, br, zstd": true,
		"br;q=1.0, gzip;q=0.5":    true,
		"gzip;q=0":                false,
		"gzip; q=0.000":           false,
		"*":                       true,
		"*;q=0":                   false,
		"gzip;q=0, *":             false,
		"identity":                false,
		"x-gzip":                  true,
		"deflate, *;q=0.1":        true,
	} {
		if got := acceptsGzip(header); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", header, got, want)
		}
	}
}
