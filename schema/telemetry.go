package schema

import (
	"net/url"

	"go.yaml.in/yaml/v3"
)

// Telemetry is the `telemetry:` section (issue 16). It is read when the process starts; a later version's change
// to it takes effect at the next start.
type Telemetry struct {
	Tracing Tracing
}

// Tracing configures OpenTelemetry tracing in the file. Each setting applies only where its standard variable is
// not set: the environment wins, so that one file serves every deployment. With no endpoint here nor in the
// environment, tracing is off.
type Tracing struct {
	// Endpoint is the OTLP/HTTP traces URL, e.g. http://127.0.0.1:4318/v1/traces (the path is used as written),
	// as OTEL_EXPORTER_OTLP_TRACES_ENDPOINT.
	Endpoint string
	// Ratio is the share of new traces kept, between 0 and 1; a client's traceparent decides for its own trace
	// (parent-based), as OTEL_TRACES_SAMPLER=parentbased_traceidratio with OTEL_TRACES_SAMPLER_ARG.
	Ratio float64
	// ServiceName is the service.name of the spans, as OTEL_SERVICE_NAME.
	ServiceName string
}

// DefaultTracing is what the file's tracing settings are when it leaves them out.
func DefaultTracing() Tracing { return Tracing{Ratio: 1, ServiceName: "conflux"} }

var (
	telemetryKeys = []string{"tracing"}
	tracingKeys   = []string{"endpoint", "ratio", "serviceName"}
)

// telemetry decodes the `telemetry:` section.
func (d *decoder) telemetry(n *yaml.Node) *Telemetry {
	t := &Telemetry{Tracing: DefaultTracing()}
	entries, ok := d.mapping(n, "telemetry", telemetryKeys)
	if !ok {
		return t
	}
	for _, e := range entries {
		if e.key != "tracing" {
			continue
		}
		fields, _ := d.mapping(e.value, "telemetry.tracing", tracingKeys)
		for _, f := range fields {
			p := "telemetry.tracing." + f.key
			switch f.key {
			case "endpoint":
				s, ok := d.str(f.value, p)
				if !ok {
					continue
				}
				if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					d.errorf(d.pos(f.value), p, "%q is not an OTLP/HTTP URL: write e.g. http://127.0.0.1:4318/v1/traces", s)
					continue
				}
				t.Tracing.Endpoint = s
			case "ratio":
				if r, ok := d.fraction(f.value, p); ok {
					t.Tracing.Ratio = r
				}
			case "serviceName":
				if s, ok := d.str(f.value, p); ok && s != "" {
					t.Tracing.ServiceName = s
				}
			}
		}
	}
	return t
}
