package main

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/conflux-gql/conflux/schema"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Tracing (issue 16): OpenTelemetry spans exported over OTLP/HTTP (protobuf), configured by the standard
// variables. The SDK reads most of them itself: OTEL_EXPORTER_OTLP_ENDPOINT and OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
// (and _HEADERS, _TIMEOUT, _COMPRESSION, the TLS ones) in otlptracehttp, OTEL_TRACES_SAMPLER and
// OTEL_TRACES_SAMPLER_ARG in the tracer provider, OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES in the resource.
// This file decides whether tracing is on, refuses a protocol the exporter does not speak, and starts the server
// span of each /graphql request; package graph adds the operation's name, planning and fetch spans, package
// sources one span per upstream attempt and the traceparent header of every upstream request.

// tracerName names the HTTP server instrumentation.
const tracerName = "github.com/conflux-gql/conflux"

// tracing is the process's tracer provider, or nothing: its zero value (tracing off) adds no span, no header and
// no allocation to any request.
type tracing struct {
	provider   *sdktrace.TracerProvider
	propagator propagation.TextMapPropagator
}

// newTracing returns tracing as the environment (read with getenv) and the file's `telemetry.tracing` (file; nil
// without one) configure it: on when an OTLP endpoint is set (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
// OTEL_EXPORTER_OTLP_ENDPOINT, or the file's endpoint), unless OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none.
// A variable wins over the file's key. Only the http/protobuf protocol is supported; another one is an error. The
// service name defaults to "conflux". Shutdown flushes the spans not exported yet.
func newTracing(ctx context.Context, getenv func(string) string, file *schema.Tracing) (*tracing, error) {
	if file == nil {
		def := schema.DefaultTracing()
		file = &def
	}
	off := &tracing{}
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") {
		return off, nil
	}
	switch exp := strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")); exp {
	case "none":
		return off, nil
	case "", "otlp":
	default:
		return nil, fmt.Errorf("OTEL_TRACES_EXPORTER=%q is not supported: Conflux exports traces with otlp (or none)", exp)
	}
	var opts []otlptracehttp.Option
	if getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" && getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" {
		if file.Endpoint == "" {
			return off, nil
		}
		opts = append(opts, otlptracehttp.WithEndpointURL(file.Endpoint))
	}
	for _, name := range []string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"} {
		if p := strings.TrimSpace(getenv(name)); p != "" {
			if p != "http/protobuf" {
				return nil, fmt.Errorf("%s=%q is not supported: Conflux exports traces over OTLP http/protobuf (set it to http/protobuf or unset it)", name, p)
			}
			break // the signal's own variable wins over the general one
		}
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("tracing: OTLP exporter: %w", err)
	}
	// Later detectors win: OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override the file's name.
	res, err := resource.New(ctx, resource.WithTelemetrySDK(),
		resource.WithAttributes(attribute.String("service.name", cmp.Or(file.ServiceName, "conflux"))), resource.WithFromEnv())
	if err != nil {
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	tpOpts := []sdktrace.TracerProviderOption{sdktrace.WithBatcher(exp), sdktrace.WithResource(res)}
	if getenv("OTEL_TRACES_SAMPLER") == "" {
		// The file's ratio, parent-based (a client's sampled flag decides for its trace). Without this option
		// the provider reads OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG itself.
		tpOpts = append(tpOpts, sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(file.Ratio))))
	}
	tp := sdktrace.NewTracerProvider(tpOpts...)
	return &tracing{provider: tp,
		propagator: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})}, nil
}

// tracingSettings returns the `telemetry.tracing` section of sg, or nil.
func tracingSettings(sg *schema.Supergraph) *schema.Tracing {
	if sg.Telemetry == nil {
		return nil
	}
	return &sg.Telemetry.Tracing
}

// enabled reports whether spans are made.
func (t *tracing) enabled() bool { return t != nil && t.provider != nil }

// Shutdown exports the spans still buffered and stops the exporter. It is a no-op when tracing is off.
func (t *tracing) Shutdown(ctx context.Context) error {
	if !t.enabled() {
		return nil
	}
	return t.provider.Shutdown(ctx)
}

// Close is Shutdown with at most shutdownTimeout for the last export, for a server that is stopping.
func (t *tracing) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	_ = t.Shutdown(ctx)
}

// shutdownTimeout bounds the last export when the server stops: an unreachable collector does not hold it.
const shutdownTimeout = 5 * time.Second

// Handler starts a server span for each request to /graphql, continuing the client's trace when it sends a W3C
// traceparent (and tracestate, baggage); the engine names the span after the operation ("query GetCustomer")
// once it is known. With tracing off it returns next itself.
func (t *tracing) Handler(next http.Handler) http.Handler {
	if !t.enabled() {
		return next
	}
	tr := t.provider.Tracer(tracerName)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/graphql" {
			next.ServeHTTP(w, r)
			return
		}
		ctx := t.propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		attrs := []attribute.KeyValue{
			attribute.String("http.request.method", r.Method),
			attribute.String("http.route", "/graphql"),
			attribute.String("url.path", r.URL.Path),
			attribute.String("url.scheme", scheme(r)),
			attribute.String("network.protocol.version", strconv.Itoa(r.ProtoMajor)+"."+strconv.Itoa(r.ProtoMinor)),
		}
		if host, port, err := net.SplitHostPort(r.Host); err == nil {
			attrs = append(attrs, attribute.String("server.address", host))
			if n, err := strconv.Atoi(port); err == nil {
				attrs = append(attrs, attribute.Int("server.port", n))
			}
		} else if r.Host != "" {
			attrs = append(attrs, attribute.String("server.address", r.Host))
		}
		if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			attrs = append(attrs, attribute.String("client.address", host))
		}
		if ua := r.UserAgent(); ua != "" {
			attrs = append(attrs, attribute.String("user_agent.original", ua))
		}
		ctx, span := tr.Start(ctx, r.Method+" /graphql", trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...))
		defer span.End()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK} // accesslog.go
		next.ServeHTTP(sw, r.WithContext(ctx))
		status := sw.status
		span.SetAttributes(attribute.Int("http.response.status_code", status))
		if status >= 500 {
			// A server span's 4xx is the client's error, not the server's (OpenTelemetry's HTTP conventions).
			span.SetStatus(codes.Error, "HTTP "+strconv.Itoa(status))
		}
	})
}

func scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

// traceLogHandler adds trace_id and span_id to the records logged with a context that carries a span (the
// slog.*Context calls made while a request runs), so that a log line leads to its trace.
type traceLogHandler struct{ slog.Handler }

// withTraceIDs wraps h so that its records carry the trace of their context.
func withTraceIDs(h slog.Handler) slog.Handler {
	if _, ok := h.(traceLogHandler); ok {
		return h
	}
	return traceLogHandler{h}
}

func (h traceLogHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() && !hasAttr(r, "trace_id") {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

// hasAttr reports whether r has a top-level attribute key (the access log line names its trace itself).
func hasAttr(r slog.Record, key string) bool {
	found := false
	r.Attrs(func(a slog.Attr) bool {
		found = a.Key == key
		return !found
	})
	return found
}

// traceID is the trace id of ctx's span (the request's, when it is traced), "" when there is none.
func traceID(ctx context.Context) string {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		return sc.TraceID().String()
	}
	return ""
}

func (h traceLogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return traceLogHandler{h.Handler.WithAttrs(attrs)}
}

func (h traceLogHandler) WithGroup(name string) slog.Handler {
	return traceLogHandler{h.Handler.WithGroup(name)}
}
