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
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/conflux-gql/conflux/admin"
	"github.com/conflux-gql/conflux/fleet"
	"github.com/conflux-gql/conflux/graph"
	"github.com/conflux-gql/conflux/playground"
	"github.com/conflux-gql/conflux/runtime"
	"github.com/conflux-gql/conflux/schema"
)

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
	exampleName := fs.String("example", os.Getenv("CONFLUX_EXAMPLE"), "run a built-in example with its mock backends: "+strings.Join(exampleNames(), " or ")+
		"; with --config, that configuration (a changed copy of the example's) against the example's backends (env CONFLUX_EXAMPLE)")
	adminAddr := fs.String("admin-addr", os.Getenv("CONFLUX_ADMIN_ADDR"), "serve the admin API on this address instead of at /admin/graphql of --addr (env CONFLUX_ADMIN_ADDR)")
	logFormat := fs.String("log-format", envOr("CONFLUX_LOG_FORMAT", "text"), "log lines as text or json (env CONFLUX_LOG_FORMAT)")
	logLevel := fs.String("log-level", envOr("CONFLUX_LOG_LEVEL", "info"), "debug, info, warn or error (env CONFLUX_LOG_LEVEL)")
	access := fs.Bool("access-log", envOr("CONFLUX_ACCESS_LOG", "true") == "true", "log one line per /graphql request (env CONFLUX_ACCESS_LOG=false turns it off)")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	logger, err := newLogger(*logFormat, *logLevel)
	if err != nil {
		return err
	}
	logger = slog.New(withTraceIDs(logger.Handler())) // trace_id in the lines logged while a request runs (issue 16)
	slog.SetDefault(logger)
	tuneGC(os.Getenv("GOGC"))

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	path := *config
	name := *exampleName
	if name == "" && path == "" {
		name = defaultExample
	}
	if name != "" {
		var backends io.Closer
		var err error
		if path, backends, err = startExample(name, path, logger); err != nil {
			return err
		}
		defer backends.Close()
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
	tracer, err := newTracing(ctx, os.Getenv, tracingSettings(sg)) // OpenTelemetry: OTEL_* variables, `telemetry:` (tracing.go)
	if err != nil {
		return err
	}
	defer tracer.Close()
	// With `redis:` (or CONFLUX_REDIS_URL) this replica joins the fleet (issue 15): shared APQ, one rate budget per
	// source, and configuration versions; the local file is the seed and where the Redis settings come from.
	fl, err := joinFleet(sg, tel, logger)
	if err != nil {
		return err
	}
	var withFleet []func(*runtime.Config)
	if fl != nil {
		defer fl.Close()
		versions := fleet.NewVersions(fl.client)
		withFleet = append(withFleet, func(c *runtime.Config) { c.Versions = versions })
	}
	rt, err := newReplicaRuntime(sg, tel, fl, logger, withFleet...)
	if err != nil {
		return err
	}
	defer rt.Close()
	if fl != nil {
		if err := tel.observeFleet(rt.Fleet, func() string { return rt.Current().Version }); err != nil {
			return err
		}
		fl.client.OnUp(rt.SyncNow)
		syncCtx, stopSync := context.WithCancel(ctx)
		syncDone := make(chan error, 1)
		go func() { syncDone <- rt.Sync(syncCtx) }()
		defer func() {
			stopSync()
			<-syncDone
		}()
	}
	srv := newServer(rt)
	srv.streams.metrics = tel.streams
	if *access {
		srv.access = logger
	}
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

	// Edits of the configuration or SDL files apply without a restart (file watch).
	adminAPI := admin.NewHandler(rt, os.Getenv("CONFLUX_ADMIN_TOKEN"), admin.AllowHost(cmp.Or(*adminAddr, *addr)))
	adminURL := "" // the main listener's /admin/graphql unless --admin-addr moves it
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
		adminURL = "http://" + aln.Addr().String() + "/admin/graphql"
		logger.Info("admin API", "url", adminURL)
	}
	watchCtx, stopWatch := context.WithCancel(ctx)
	watchDone := make(chan error, 1)
	go func() { watchDone <- rt.Watch(watchCtx, nil) }()
	defer func() {
		stopWatch()
		if err := <-watchDone; err != nil {
			logger.Warn("file watch stopped", "error", err.Error())
		}
	}()

	ln, hs, err := newEdge(edgeCfg).Listen(*addr, tracer.Handler(srv))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	url := "http://" + ln.Addr().String()
	logger.Info("conflux serving", "config", path, "version", rt.Current().Version, "graphql", url+"/graphql", "admin", cmp.Or(adminURL, url+"/admin/graphql"),
		"maxConnections", edgeCfg.MaxConnections, "maxInFlight", sg.Settings.MaxInFlight)
	if sg.Settings.Playground {
		fmt.Fprintf(stdout, "\nPlayground: %s/\nTry this query:\n%s\n\n", url, strings.TrimSpace(playgroundQuery(sg)))
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
	// Streams first (issue 17): the engine ends each subscription with SUBSCRIPTION_CLOSED, which its client is
	// sent before complete; then WebSocket connections close with 1001. hs.Shutdown does not wait for hijacked
	// connections, and would otherwise wait for SSE streams that never end.
	rt.Close()
	if err := srv.streams.Shutdown(shutdown); err != nil {
		logger.Warn("subscriptions cut at the shutdown deadline", "error", err.Error())
	}
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

// newRuntime starts the version lifecycle of sg with this command's GraphQL over HTTP (graphqlHandler) and
// loads (loadOptions), reporting to tel (nil for none) and logger; opts set the rest (e.g. Config.Versions). It is
// a replica on its own: newReplicaRuntime joins a fleet.
func newRuntime(sg *schema.Supergraph, tel *telemetry, logger *slog.Logger, opts ...func(*runtime.Config)) (*runtime.Runtime, error) {
	return newReplicaRuntime(sg, tel, nil, logger, opts...)
}

var (
	_ admin.Control      = (*runtime.Runtime)(nil)
	_ admin.FleetControl = (*runtime.Runtime)(nil)
	_ admin.BaseWriter   = (*runtime.Runtime)(nil)
)

// graphqlHandler returns how a version serves GraphQL over HTTP: gqlgen's handler over the version's engine,
// with this package's transports, parse and validation limits, caches, and tel's metrics (nil for none).
// fleetAPQ, when not nil, is the APQ cache's level shared by the replicas (issue 15).
func graphqlHandler(tel *telemetry, fleetAPQ graphql.Cache[string]) func(*schema.Supergraph, *graph.Engine) (http.Handler, error) {
	return func(sg *schema.Supergraph, engine *graph.Engine) (http.Handler, error) {
		return newGraphQLHandler(sg, engine, tel, fleetAPQ)
	}
}

// newGraphQLHandler is graphqlHandler's handler of sg over es (the version's engine; a fake one in tests).
func newGraphQLHandler(sg *schema.Supergraph, es graphql.ExecutableSchema, tel *telemetry, fleetAPQ graphql.Cache[string]) (http.Handler, error) {
	gql := handler.New(es)
	// GraphQL over HTTP to the letter: see the status table in transport.go.
	gql.AddTransport(transport.Options{})
	// Streams (issue 17): graphql-transport-ws; SSE and multipart/mixed through the GET and POST transports.
	gql.AddTransport(wsTransport{sg: sg})
	stream := streamConfig{writeTimeout: sg.Settings.WriteTimeout, keepAlive: sg.Settings.Subscriptions.KeepAlive,
		limits: subLimits{max: sg.Settings.Subscriptions.Max, perClient: sg.Settings.Subscriptions.MaxPerClient}}
	gql.AddTransport(getTransport{stream: stream})
	gql.AddTransport(postTransport{stream: stream})
	if sg.Settings.Uploads.Enabled {
		gql.AddTransport(uploadTransport{limits: sg.Settings.Uploads, maxJSON: sg.Settings.MaxBodyBytes, metrics: tel.uploadMetrics()})
	}
	gql.AddTransport(unsupportedTransport{})
	// Bounded parse and validation (issue 13): a token cap, and the overlapping-fields rule of validate.go.
	gql.SetParserTokenLimit(sg.Settings.MaxTokens)
	gql.SetValidationRulesFn(validationRules)
	docs, err := newDocumentCache(sg.Settings.QueryCacheSize, sg.Settings.QueryCacheBytes)
	if err != nil {
		return nil, err
	}
	gql.SetQueryCache(docs)
	if sg.Settings.Introspection {
		gql.Use(extension.Introspection{})
	}
	apq, err := newAPQCache(sg.Settings.APQCacheBytes)
	if err != nil {
		return nil, err
	}
	gql.Use(extension.AutomaticPersistedQuery{Cache: sharedAPQ(apq, fleetAPQ)})
	gql.Use(accessExtension{})
	if tel != nil {
		gql.Use(tel)
	}
	return uploadBody(limitBody(gql, sg.Settings.MaxBodyBytes), gql, sg.Settings, tel.uploadMetrics()), nil
}

// server routes /graphql to the running version and serves the playground and health endpoints.
type server struct {
	rt    *runtime.Runtime
	ready atomic.Bool
	mux   *http.ServeMux
	// access, when set, logs one line per /graphql request (--access-log).
	access *slog.Logger
	// streams counts and shuts down the subscriptions and WebSocket connections of every version (issue 17).
	streams *streams
}

func newServer(rt *runtime.Runtime) *server {
	s := &server{rt: rt, mux: http.NewServeMux(), streams: newStreams(nil)}
	s.streams.current = rt.Current
	graphqlHTTP := corsHandler(rt, authHandler(rt, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if mayStream(r) {
			r = r.WithContext(withStreams(r.Context(), s.streams))
		}
		s.rt.Load().ServeHTTP(w, r)
	})))
	s.mux.Handle("/graphql", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.access != nil {
			serveLogged(w, r, graphqlHTTP, s.access)
			return
		}
		graphqlHTTP.ServeHTTP(w, r)
	}))
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"status":"ok","version":%q}`+"\n", s.rt.Current().Version)
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
	// The playground's first query comes from the version served (server.playgroundQuery, or derived from its
	// schema); its page is made once per version.
	type page struct {
		version string
		h       http.Handler
	}
	var pg atomic.Pointer[page]
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		sg := s.rt.Current()
		if !sg.Settings.Playground {
			http.NotFound(w, r)
			return
		}
		p := pg.Load()
		if p == nil || p.version != sg.Version {
			p = &page{version: sg.Version, h: playground.HandlerWithOptions(playground.Options{Title: "Conflux", Endpoint: "/graphql",
				DefaultQuery: playgroundQuery(sg)})}
			pg.Store(p)
		}
		p.h.ServeHTTP(w, r)
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
