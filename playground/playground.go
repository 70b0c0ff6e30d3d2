// Package playground serves the GraphiQL IDE with every asset it needs embedded in the binary, so it works on
// machines with no internet access: the page loads nothing from a CDN.
//
// The handler serves two things relative to where it is mounted:
//
//	/              the GraphiQL page (GET and HEAD; exactly this path)
//	/assets/NAME   the embedded files (GraphiQL 3.9.0 UMD bundle and CSS, React 18.3.1 and ReactDOM 18.3.1 UMD
//	               builds, their licenses); file names carry the package version and are served with
//	               "Cache-Control: public, max-age=31536000, immutable", an ETag, and gzip when accepted
//
// Every other path is 404. The page refers to its assets with relative URLs ("assets/…"), so it works mounted at
// the root of a server,
//
//	mux.Handle("/", playground.Handler("Conflux", "/graphql"))
//
// which serves the page at "/" and the assets under "/assets/", and equally under a prefix with
// [http.StripPrefix]:
//
//	mux.Handle("/playground/", http.StripPrefix("/playground", playground.Handler("Conflux", "/graphql")))
//
// which serves the page at "/playground/" and the assets under "/playground/assets/". See assets/README.md for
// the packages, versions and licenses of the embedded files.
package playground

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

//go:embed assets
var assetFS embed.FS

// The embedded files the page loads. Their names carry the npm package version (see assets/README.md).
const (
	assetDir        = "assets"
	assetPrefix     = "/" + assetDir + "/"
	graphiqlJSFile  = "graphiql-3.9.0.min.js"
	graphiqlCSSFile = "graphiql-3.9.0.min.css"
	reactFile       = "react-18.3.1.production.min.js"
	reactDOMFile    = "react-dom-18.3.1.production.min.js"
)

// Defaults for empty [Options] fields.
const (
	DefaultTitle    = "GraphiQL"
	DefaultEndpoint = "/graphql"
)

// Options configures the playground page.
type Options struct {
	// Title is the page title. Empty means DefaultTitle.
	Title string
	// Endpoint is the URL of the GraphQL endpoint the IDE sends its requests to, absolute or relative to the
	// page (for example "/graphql"). Empty means DefaultEndpoint.
	Endpoint string
	// DefaultQuery is the query shown in the editor on a first visit (GraphiQL keeps the user's own tabs in the
	// browser's local storage after that). Empty means GraphiQL's built-in welcome comment.
	DefaultQuery string
}

// Handler returns an [http.Handler] serving the GraphiQL page titled title, talking to the GraphQL endpoint at
// endpoint, together with its embedded assets. It is HandlerWithOptions(Options{Title: title, Endpoint: endpoint}).
func Handler(title, endpoint string) http.Handler {
	return HandlerWithOptions(Options{Title: title, Endpoint: endpoint})
}

// HandlerWithOptions returns an [http.Handler] serving the GraphiQL page configured by opts at "/" and its
// embedded assets under "/assets/", relative to where it is mounted (see the package documentation).
func HandlerWithOptions(opts Options) http.Handler {
	if opts.Title == "" {
		opts.Title = DefaultTitle
	}
	if opts.Endpoint == "" {
		opts.Endpoint = DefaultEndpoint
	}
	var buf bytes.Buffer
	err := pageTemplate.Execute(&buf, pageData{
		Title:       opts.Title,
		GraphiQLCSS: assetDir + "/" + graphiqlCSSFile,
		React:       assetDir + "/" + reactFile,
		ReactDOM:    assetDir + "/" + reactDOMFile,
		GraphiQLJS:  assetDir + "/" + graphiqlJSFile,
		Config:      pageConfig{Endpoint: opts.Endpoint, DefaultQuery: opts.DefaultQuery},
	})
	if err != nil {
		// The template is fixed and its data are plain strings, so this cannot happen.
		panic("playground: rendering the page: " + err.Error())
	}
	page := buf.Bytes()
	return &handler{page: page, pageETag: etag(sha256.Sum256(page))}
}

type handler struct {
	page     []byte
	pageETag string
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if p != "/" && !strings.HasPrefix(p, assetPrefix) {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	if p == "/" {
		hd := w.Header()
		hd.Set("Content-Type", "text/html; charset=utf-8")
		hd.Set("Cache-Control", "no-cache")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("ETag", h.pageETag)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(h.page))
		return
	}
	a := lookupAsset(strings.TrimPrefix(p, assetPrefix))
	if a == nil {
		http.NotFound(w, r)
		return
	}
	a.serve(w, r)
}

// asset is one embedded file, indexed on first use.
type asset struct {
	name        string // file name under assets/
	contentType string
	etag        string

	gzOnce sync.Once
	gz     []byte // gzip-compressed content; nil when compression does not pay off
	gzETag string
}

var (
	assetsOnce sync.Once
	assets     map[string]*asset
)

// lookupAsset returns the embedded file called name (no subdirectories), or nil.
func lookupAsset(name string) *asset {
	assetsOnce.Do(indexAssets)
	return assets[name]
}

func indexAssets() {
	entries, err := assetFS.ReadDir(assetDir)
	if err != nil {
		panic("playground: reading embedded assets: " + err.Error())
	}
	assets = make(map[string]*asset, len(entries))
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		f, err := assetFS.Open(assetDir + "/" + e.Name())
		if err != nil {
			panic("playground: opening embedded asset: " + err.Error())
		}
		h := sha256.New()
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			panic("playground: reading embedded asset: " + err.Error())
		}
		var sum [sha256.Size]byte
		h.Sum(sum[:0])
		assets[e.Name()] = &asset{name: e.Name(), contentType: contentType(e.Name()), etag: etag(sum)}
	}
}

// contentType is the Content-Type of an embedded file, decided by its extension alone (independent of the
// host's MIME tables).
func contentType(name string) string {
	switch path.Ext(name) {
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".md":
		return "text/markdown; charset=utf-8"
	case ".txt":
		return "text/plain; charset=utf-8"
	case ".map", ".json":
		return "application/json"
	}
	return "application/octet-stream"
}

func etag(sum [sha256.Size]byte) string {
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}

func (a *asset) serve(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Type", a.contentType)
	hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Add("Vary", "Accept-Encoding")
	if acceptsGzip(r.Header.Get("Accept-Encoding")) {
		if gz, tag := a.gzipped(); gz != nil {
			hd.Set("Content-Encoding", "gzip")
			hd.Set("ETag", tag)
			http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(gz))
			return
		}
	}
	f, err := assetFS.Open(assetDir + "/" + a.name)
	if err != nil {
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	defer f.Close()
	hd.Set("ETag", a.etag)
	// Files of an embed.FS implement io.Seeker.
	http.ServeContent(w, r, "", time.Time{}, f.(io.ReadSeeker))
}

// gzipped returns the gzip-compressed content and its ETag, compressing on first use; nil when the file does
// not compress by at least a tenth.
func (a *asset) gzipped() ([]byte, string) {
	a.gzOnce.Do(func() {
		data, err := fs.ReadFile(assetFS, assetDir+"/"+a.name)
		if err != nil {
			return
		}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
		if _, err := zw.Write(data); err != nil {
			return
		}
		if err := zw.Close(); err != nil {
			return
		}
		if buf.Len() > len(data)-len(data)/10 {
			return
		}
		a.gz = buf.Bytes()
		a.gzETag = strings.TrimSuffix(a.etag, `"`) + `-gzip"`
	})
	return a.gz, a.gzETag
}

// acceptsGzip reports whether an Accept-Encoding header value allows gzip (explicitly or through "*"), honoring
// q=0 refusals.
func acceptsGzip(header string) bool {
	gz, star := -1.0, -1.0
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(part, ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				}
			}
		}
		switch coding {
		case "gzip", "x-gzip":
			gz = q
		case "*":
			star = q
		}
	}
	if gz >= 0 {
		return gz > 0
	}
	return star > 0
}

// pageData fills pageTemplate. html/template escapes every value for its context: Title as HTML text, the asset
// paths as URLs, Config as a JavaScript value (JSON with <, > and & escaped).
type pageData struct {
	Title                                    string
	GraphiQLCSS, React, ReactDOM, GraphiQLJS string
	Config                                   pageConfig
}

type pageConfig struct {
	Endpoint     string `json:"endpoint"`
	DefaultQuery string `json:"defaultQuery,omitempty"`
}

var pageTemplate = template.Must(template.New("playground").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<link rel="stylesheet" href="{{.GraphiQLCSS}}">
<style>
html, body { height: 100%; margin: 0; overflow: hidden; }
#graphiql { height: 100vh; }
.playground-message { font: 14px/1.5 system-ui, sans-serif; margin: 0; padding: 2em; color: #555; }
</style>
</head>
<body>
<div id="graphiql"><p class="playground-message">Loading GraphiQL…</p></div>
<noscript><p class="playground-message">GraphiQL needs JavaScript.</p></noscript>
<script src="{{.React}}"></script>
<script src="{{.ReactDOM}}"></script>
<script src="{{.GraphiQLJS}}"></script>
<script>
(function () {
  var config = {{.Config}};
  var root = document.getElementById("graphiql");
  if (typeof React === "undefined" || typeof ReactDOM === "undefined" || typeof GraphiQL === "undefined") {
    root.firstChild.textContent = "The GraphiQL scripts failed to load.";
    return;
  }
  // Subscriptions go over graphql-transport-ws to the same endpoint (issue 17); queries and mutations over HTTP.
  var ws = new URL(config.endpoint, window.location.href);
  ws.protocol = ws.protocol === "https:" ? "wss:" : "ws:";
  var props = {
    fetcher: GraphiQL.createFetcher({ url: config.endpoint, subscriptionUrl: ws.href }),
    defaultEditorToolsVisibility: true
  };
  if (config.defaultQuery) {
    props.defaultQuery = config.defaultQuery;
  }
  ReactDOM.createRoot(root).render(React.createElement(GraphiQL, props));
})();
</script>
</body>
</html>
`))
