// Command conflux serves one GraphQL API in front of many backends, as declared in a configuration file.
//
// With no --config it starts the built-in Customer 360 example: its mock backends on 127.0.0.1:9101-9106 and
// Conflux on --addr, with the GraphiQL playground at /.
package main

//go:generate go run github.com/99designs/gqlgen generate

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/conflux-gql/conflux/admin"
	"github.com/conflux-gql/conflux/examples/customer360"
	"github.com/conflux-gql/conflux/graph"
	"github.com/conflux-gql/conflux/playground"
	"github.com/conflux-gql/conflux/resolvers"
	"github.com/conflux-gql/conflux/schema"
	"github.com/conflux-gql/conflux/sources"
)

// exampleConfig is the configuration `go run .` serves when no --config is given.
const exampleConfig = "examples/customer360/conflux.yaml"

const sampleQuery = `{
  customers(limit: 3) {
    name
    email
    orders {
      status
      total { amount currency }
      lines {
        quantity
        product { name price { amount } }
        recommendations { score product { name } }
      }
    }
    invoices { status amount { amount } }
    tickets { __typename subject messages(last: 1) { text author { name } } ... on ChatTicket { transcriptUrl } }
    loyalty { points tier }
  }
}`

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

// defaultGCPercent is the garbage collector's target when GOGC is not set. Nearly all of a gateway's heap is
// per-request garbage and its live heap is small, so Go's default of 100 collects very often: at 200 the posts
// benchmark spent about a quarter less CPU per request (back-to-back `go run ./bench -scenarios posts` runs at
// GOGC 100 and 200) for a heap that peaks a few MiB higher.
const defaultGCPercent = 200

// tuneGC applies defaultGCPercent unless the operator set GOGC (which the runtime has already applied).
func tuneGC(gogc string) {
	if gogc == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
}

// serve runs the server until SIGINT or SIGTERM.
func serve(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", envOr("CONFLUX_ADDR", "127.0.0.1:8080"), "listen address (env CONFLUX_ADDR)")
	config := fs.String("config", os.Getenv("CONFLUX_CONFIG"), "path to conflux.yaml; empty runs the Customer 360 example with its mock backends (env CONFLUX_CONFIG)")
	adminAddr := fs.String("admin-addr", os.Getenv("CONFLUX_ADMIN_ADDR"), "serve the admin API on this address instead of at /admin/graphql of --addr (env CONFLUX_ADMIN_ADDR)")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	slog.SetDefault(logger)
	tuneGC(os.Getenv("GOGC"))

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	path := *config
	if path == "" {
		path = exampleConfig
		backends, err := customer360.Start(customer360.Options{}, customer360.DefaultAddrs)
		if err != nil {
			return fmt.Errorf("start the Customer 360 example backends: %w", err)
		}
		defer backends.Close()
		logger.Info("example backends started", "urls", backends.URLs())
	}
	sg, err := schema.Load(path, loadOptions()...)
	if err != nil {
		return err
	}
	for _, w := range sg.Warnings {
		logger.Warn(w.String())
	}
	tel, err := newTelemetry()
	if err != nil {
		return err
	}
	rt, err := newRuntime(sg, tel)
	if err != nil {
		return err
	}
	srv := newServer(rt)
	srv.mux.Handle("GET /metrics", tel.Handler())
	// The edge's timeouts and caps are read here, once: a reload does not reopen the listeners.
	em, err := newEdgeMetrics(tel.registry)
	if err != nil {
		return err
	}
	listeners := 1
	if *adminAddr != "" {
		listeners = 2
	}
	edgeCfg := edgeConfig{Name: edgeMain, Settings: sg.Settings, Metrics: em,
		MaxConnections: connectionCap(sg.Settings.MaxConnections, openFileLimit(), listeners)}
	defer func() { srv.rt.Load().Close() }()

	// Edits of the configuration or SDL files apply without a restart (file watch).
	cfgs := newConfigs(path, srv, logger)
	adminAPI := admin.NewHandler(cfgs, os.Getenv("CONFLUX_ADMIN_TOKEN"), admin.AllowHost(cmp.Or(*adminAddr, *addr)))
	if *adminAddr == "" {
		srv.mux.Handle("/admin/graphql", adminAPI)
	} else {
		adminCfg := edgeCfg
		adminCfg.Name = edgeAdmin
		aln, ahs, err := newEdge(adminCfg).Listen(*adminAddr, adminAPI)
		if err != nil {
			return fmt.Errorf("listen (admin): %w", err)
		}
		go func() { _ = ahs.Serve(aln) }()
		defer ahs.Close()
		logger.Info("admin API", "url", "http://"+aln.Addr().String()+"/")
	}
	watchCtx, stopWatch := context.WithCancel(ctx)
	watchDone := make(chan error, 1)
	go func() { watchDone <- cfgs.Watch(watchCtx, nil) }()
	defer func() {
		stopWatch()
		if err := <-watchDone; err != nil {
			logger.Warn("file watch stopped", "error", err.Error())
		}
	}()

	ln, hs, err := newEdge(edgeCfg).Listen(*addr, srv)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	url := "http://" + ln.Addr().String()
	logger.Info("conflux serving", "config", path, "version", sg.Version, "graphql", url+"/graphql", "admin", url+"/admin/graphql",
		"maxConnections", edgeCfg.MaxConnections, "maxInFlight", sg.Settings.MaxInFlight)
	if sg.Settings.Playground {
		fmt.Fprintf(stdout, "\nPlayground: %s/\nTry this query:\n%s\n\n", url, sampleQuery)
	}
	srv.ready.Store(true)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down: letting in-flight requests finish")
	srv.ready.Store(false)
	shutdown, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdown); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// runtime is everything built from one configuration version: its sources, resolvers, engine and GraphQL
// handler. A new version gets a new runtime; sources whose configuration did not change are carried over.
type runtime struct {
	sg      *schema.Supergraph
	tel     *telemetry
	srcs    map[string]sources.Source
	engine  *graph.Engine
	graphql http.Handler

	mu sync.Mutex
	// owned closes the sources this runtime owns, by name; a source carried over to the next version is handed
	// over with it.
	owned map[string]func()
}

// newRuntime builds the serving stack of sg, reporting to tel (nil for none).
func newRuntime(sg *schema.Supergraph, tel *telemetry) (*runtime, error) {
	return buildRuntime(sg, tel, nil)
}

// buildRuntime builds the serving stack of sg. A source of prev whose configuration is the same in sg is
// carried over, with its endpoint health, breakers, limits, probes and open connections, instead of starting
// afresh: a change to one binding does not reset every backend's circuit breaker. It is handed over (prev no
// longer closes it) only when the new runtime is complete.
func buildRuntime(sg *schema.Supergraph, tel *telemetry, prev *runtime) (*runtime, error) {
	rt := &runtime{sg: sg, tel: tel, srcs: map[string]sources.Source{}, owned: map[string]func(){}}
	var m *sources.Metrics
	if tel != nil {
		m = tel.sources
	}
	var carried []string
	for _, name := range sg.SourceNames() {
		if prev != nil && prev.srcs[name] != nil && sourceConfig(prev.sg, name) == sourceConfig(sg, name) {
			rt.srcs[name] = prev.srcs[name]
			carried = append(carried, name)
			continue
		}
		src, err := buildSource(sg.Sources[name], m)
		if err != nil {
			rt.Close()
			return nil, fmt.Errorf("source %s (%s): %w", name, sg.Sources[name].Pos, err)
		}
		rt.srcs[name] = src
		if c, ok := src.(interface{ Close() }); ok {
			rt.owned[name] = c.Close
		}
	}
	set, err := resolvers.New(sg, rt.srcs)
	if err != nil {
		rt.Close()
		return nil, err
	}
	rt.engine, err = graph.New(sg, set)
	if err != nil {
		rt.Close()
		return nil, err
	}
	gql := handler.New(rt.engine)
	// GraphQL over HTTP to the letter: see the status table in transport.go.
	gql.AddTransport(transport.Options{})
	gql.AddTransport(getTransport{})
	gql.AddTransport(postTransport{})
	gql.AddTransport(unsupportedTransport{})
	// Bounded parse and validation (issue 13): a token cap, and the overlapping-fields rule of validate.go.
	gql.SetParserTokenLimit(sg.Settings.MaxTokens)
	gql.SetValidationRulesFn(validationRules)
	docs, err := newDocumentCache(sg.Settings.QueryCacheSize, sg.Settings.QueryCacheBytes)
	if err != nil {
		rt.Close()
		return nil, err
	}
	gql.SetQueryCache(docs)
	if sg.Settings.Introspection {
		gql.Use(extension.Introspection{})
	}
	apq, err := newAPQCache(sg.Settings.APQCacheBytes)
	if err != nil {
		rt.Close()
		return nil, err
	}
	gql.Use(extension.AutomaticPersistedQuery{Cache: apq})
	if tel != nil {
		gql.Use(tel)
	}
	rt.graphql = limitBody(gql, sg.Settings.MaxBodyBytes)
	if prev != nil {
		prev.handOver(rt, carried)
	}
	return rt, nil
}

// handOver gives next the closing of the named sources, which next carried over from rt.
func (rt *runtime) handOver(next *runtime, names []string) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	for _, name := range names {
		if c, ok := rt.owned[name]; ok {
			next.owned[name] = c
			delete(rt.owned, name)
		}
	}
}

// sourceConfig is what a source is built from: its entry in the configuration file and the headers rendered
// from the environment at load.
func sourceConfig(sg *schema.Supergraph, name string) string {
	key := string(schema.Entry(sg.Raw, "sources", name))
	if h := sg.Sources[name].HTTP; h != nil {
		key += fmt.Sprint(h.Headers)
	}
	return key
}

// Close releases the sources the runtime owns (idle connections, probes); those carried over to a newer
// runtime are that runtime's to close.
func (rt *runtime) Close() {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	for name, c := range rt.owned {
		c()
		delete(rt.owned, name)
	}
}

// buildSource builds a source's transport from its decoded configuration.
func buildSource(s *schema.Source, m *sources.Metrics) (sources.Source, error) {
	switch s.Kind {
	case schema.KindStatic:
		return sources.NewStatic(s.Name, s.Static)
	case schema.KindHTTP, schema.KindGraphQL:
		// A graphql source is HTTP underneath: POSTs of {query, variables} to its endpoints, with the same
		// pools, retries (only for retrySafe bindings: POST is not idempotent), breakers and limits.
		cfg := *s.HTTP
		cfg.Metrics = m
		return sources.NewHTTP(cfg)
	}
	return nil, fmt.Errorf("%s sources are not supported yet", s.Kind)
}

// server routes /graphql to the current runtime and serves the playground and health endpoints.
type server struct {
	rt    atomic.Pointer[runtime]
	ready atomic.Bool
	mux   *http.ServeMux
}

func newServer(rt *runtime) *server {
	s := &server{mux: http.NewServeMux()}
	s.rt.Store(rt)
	s.mux.HandleFunc("/graphql", func(w http.ResponseWriter, r *http.Request) {
		s.rt.Load().graphql.ServeHTTP(w, r)
	})
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"status":"ok","version":%q}`+"\n", s.rt.Load().sg.Version)
	})
	s.mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if !s.ready.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, `{"status":"not ready"}`)
			return
		}
		fmt.Fprintln(w, `{"status":"ready"}`)
	})
	pg := playground.HandlerWithOptions(playground.Options{Title: "Conflux", Endpoint: "/graphql", DefaultQuery: sampleQuery})
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if !s.rt.Load().sg.Settings.Playground {
			http.NotFound(w, r)
			return
		}
		pg.ServeHTTP(w, r)
	})
	return s
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// limitBody refuses request bodies over max bytes with HTTP 413 and a GraphQL error, and reads the others into
// memory (a receivedBody) before next runs.
func limitBody(next http.Handler, max int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Method == http.MethodGet || r.Method == http.MethodOptions {
			next.ServeHTTP(w, r)
			return
		}
		refuse := func(status int, code, msg string) {
			w.Header().Set("Content-Type", responseType(r.Header.Get("Accept")))
			writeRequestError(w, status, code, msg)
		}
		tooLarge := func() {
			refuse(http.StatusRequestEntityTooLarge, codeRequestTooLarge, fmt.Sprintf("request body is larger than %d bytes", max))
		}
		if r.ContentLength > max {
			tooLarge()
			return
		}
		if b, ok := r.Body.(receivedBody); ok && int64(b.Len()) <= max {
			// The edge read it already (edge.go, receive).
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			tooLarge()
			return
		}
		if err != nil {
			refuse(http.StatusBadRequest, codeBadRequest, "could not read the request body")
			return
		}
		r.Body = receivedBody{bytes.NewReader(body)}
		next.ServeHTTP(w, r)
	})
}

// codeRequestTooLarge: the request body is over server.maxBodyBytes (413; no "data": the request was refused
// before execution).
const codeRequestTooLarge = "REQUEST_TOO_LARGE"
