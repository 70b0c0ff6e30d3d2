package graph

import (
	"context"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Tracing (issue 16). The engine makes spans only under a span that records: the server's span of the request,
// which the HTTP layer starts when tracing is configured and the trace is sampled. With tracing off the context
// holds no span, and each hook below costs one context lookup and no allocation.
//
// Spans: the operation's (the server span, renamed "query GetCustomer" by nameOperation), "plan" when the plan
// was not cached, and one "fetch Type.field" per fetch run (per federated subgraph call: "fetch <subgraph>"),
// whose children are the upstream attempts (package sources).

// tracerName names the engine's instrumentation.
const tracerName = "github.com/conflux-gql/conflux/graph"

// Attributes of fetch spans (besides the HTTP ones package sources sets from the attempts).
const (
	attrSource    = attribute.Key("conflux.source")
	attrField     = attribute.Key("conflux.field")
	attrBatchSize = attribute.Key("conflux.batch.size")
)

// nameOperation names the recording span of ctx (the server span) after the operation: its type and name, as
// OpenTelemetry's GraphQL conventions say ("query GetCustomer", or "query" for an anonymous one).
func nameOperation(ctx context.Context, op *ast.OperationDefinition) {
	span := trace.SpanFromContext(ctx)
	if op == nil || !span.IsRecording() {
		return
	}
	typ := string(op.Operation)
	if typ == "" {
		typ = "query"
	}
	name := typ
	if op.Name != "" {
		name += " " + op.Name
	}
	span.SetName(name)
	span.SetAttributes(attribute.String("graphql.operation.type", typ))
	if op.Name != "" {
		span.SetAttributes(attribute.String("graphql.operation.name", op.Name))
	}
}

// startSpan starts a child of ctx's span when that one records; otherwise it returns ctx and nil (endSpan
// accepts nil).
func startSpan(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return ctx, nil
	}
	return parent.TracerProvider().Tracer(tracerName).Start(ctx, name, trace.WithAttributes(attrs...))
}

// startFetch starts the span of one run of fetch f for size parents (or keys), under the operation's span.
func (x *execution) startFetch(f *Fetch, size int) (context.Context, trace.Span) {
	if !trace.SpanFromContext(x.ctx).IsRecording() {
		return x.ctx, nil
	}
	name := f.Binding.Name()
	return startSpan(x.ctx, "fetch "+name, attrSource.String(f.Binding.Source), attrField.String(name),
		attrBatchSize.Int(size))
}

// startFedCall starts the span of one federated subgraph call c, made for fetches.
func (x *execution) startFedCall(fetches []*Fetch, c *fedCall) (context.Context, trace.Span) {
	if !trace.SpanFromContext(x.ctx).IsRecording() {
		return x.ctx, nil
	}
	var fields []string
	if c.root {
		for _, f := range fetches {
			fields = append(fields, f.Field.Parent+"."+f.Field.Name)
		}
	} else {
		for _, st := range c.steps {
			fields = append(fields, "_entities("+st.typ+")")
		}
	}
	return startSpan(x.ctx, "fetch "+c.subgraph, attrSource.String(c.subgraph), attrField.String(strings.Join(fields, ",")))
}

// setBatchSize records the number of objects a fetch asks for, once it is known (federated `_entities` calls).
func setBatchSize(ctx context.Context, n int) {
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.SetAttributes(attrBatchSize.Int(n))
	}
}

// endSpan ends span (nil: none), with Error status when err is not nil.
func endSpan(span trace.Span, err error) {
	if span == nil {
		return
	}
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}
