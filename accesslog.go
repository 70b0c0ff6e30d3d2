package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
)

// newLogger builds the process's logger from --log-format (text or json) and --log-level (debug, info, warn,
// error), writing to stderr (issue 16).
func newLogger(format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, &usageError{msg: fmt.Sprintf("conflux: --log-level %q: use debug, info, warn or error", level)}
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "text", "":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, &usageError{msg: fmt.Sprintf("conflux: --log-format %q: use text or json", format)}
}

// accessRecord is what one request's access log line says of its GraphQL operation; the extension fills it in.
type accessRecord struct {
	operation, typ string
	errors         int
}

type accessKey struct{}

// serveLogged serves r with next and logs one line for it at info level: method, path, operation name and type,
// status, duration, errors count, client address and, when the request is traced, the trace id. (issue 16)
func serveLogged(w http.ResponseWriter, r *http.Request, next http.Handler, logger *slog.Logger) {
	start := time.Now()
	rec := &accessRecord{}
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), accessKey{}, rec)))
	attrs := []slog.Attr{
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", sw.status),
		slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
		slog.String("client", r.RemoteAddr),
	}
	if rec.typ != "" {
		attrs = append(attrs, slog.String("operation", rec.operation), slog.String("type", rec.typ), slog.Int("errors", rec.errors))
	}
	if id := traceID(r.Context()); id != "" {
		attrs = append(attrs, slog.String("trace_id", id))
	}
	logger.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
}

// statusWriter remembers the status a handler wrote. It passes Flush on, for answers written in parts.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// accessExtension fills the request's accessRecord with its operation (a gqlgen handler extension).
type accessExtension struct{}

var (
	_ graphql.HandlerExtension    = accessExtension{}
	_ graphql.ResponseInterceptor = accessExtension{}
)

func (accessExtension) ExtensionName() string                   { return "ConfluxAccessLog" }
func (accessExtension) Validate(graphql.ExecutableSchema) error { return nil }

func (accessExtension) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	rec, _ := ctx.Value(accessKey{}).(*accessRecord)
	if rec == nil {
		return resp
	}
	rec.operation, rec.typ = "anonymous", "unknown"
	if graphql.HasOperationContext(ctx) {
		if op := graphql.GetOperationContext(ctx).Operation; op != nil {
			rec.typ = string(op.Operation)
			if op.Name != "" {
				rec.operation = op.Name
			}
		}
	}
	if resp != nil {
		rec.errors = len(resp.Errors)
	}
	return resp
}

// traceID (the trace id of the request's span) is in tracing.go.
