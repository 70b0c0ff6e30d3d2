package admin

import (
	"context"
	"errors"
	"time"

	"github.com/conflux-gql/conflux/admin/model"
	"github.com/conflux-gql/conflux/fleet"
	"github.com/conflux-gql/conflux/graph"
	"github.com/conflux-gql/conflux/schema"
	"github.com/conflux-gql/conflux/sources"
)

// ExtensionsFile is the SDL file extendSchema writes, beside the configuration file.
const ExtensionsFile = "conflux.extensions.graphqls"

// Control is what the admin API needs from the server: the running version, a way to change it (validated
// exactly like the file, applied without a restart) and the planner. Implementations are safe for concurrent
// use.
type Control interface {
	// Current returns the running version.
	Current() *schema.Supergraph
	// History returns the versions kept for rollback, oldest first.
	History() []*schema.Supergraph
	// LastError returns the last refused change and when it happened, or a nil error.
	LastError() (time.Time, error)
	// Write validates config (the whole configuration file) plus files beside it and, unless dryRun, persists and
	// applies them.
	Write(config []byte, files map[string][]byte, dryRun bool) (*schema.Supergraph, error)
	// Rollback restores a version from the history.
	Rollback(version string) (*schema.Supergraph, error)
	// Plan plans an operation on the running version without executing it.
	Plan(query, operationName string, vars map[string]any) (*graph.Plan, error)
	// SourceStatus returns the live state of a running source; ok is false for sources without one.
	SourceStatus(name string) (st sources.Status, ok bool)
}

// FleetControl is implemented by a Control whose configuration versions replicas share through Redis (issue 15):
// Fleet reports how this replica stands with them; ok is false when the server runs without Redis.
type FleetControl interface {
	Fleet() (st fleet.SyncStatus, ok bool)
}

// CachePurger is implemented by a Control whose versions cache backend answers (issue 15): PurgeCache purges
// a binding's cached answers, or one key's, in this replica and in the shared level.
type CachePurger interface {
	PurgeCache(ctx context.Context, binding, key string) error
}

// Resolver is the root of the admin API's resolvers.
type Resolver struct {
	Control Control
}

// BaseWriter is implemented by a Control that can refuse a change prepared on a version that is no longer the
// running one (issue 15: with a fleet, another replica's change can be applied between reading the running
// configuration and writing the change; the change must not silently undo it). WriteOn is Write, refused
// with fleet.ErrConflict when base is no longer running.
type BaseWriter interface {
	WriteOn(base string, config []byte, files map[string][]byte, dryRun bool) (*schema.Supergraph, error)
}

// change runs one configuration change, prepared on base (nil: none), and reports it as a ChangeResult; a
// refused change is a result with problems, not a GraphQL error, so clients see every problem with its position.
func (r *Resolver) change(base *schema.Supergraph, config []byte, files map[string][]byte, dryRun bool, err error) *model.ChangeResult {
	res := &model.ChangeResult{DryRun: dryRun, Problems: []*model.Problem{}}
	if err == nil {
		var sg *schema.Supergraph
		if bw, ok := r.Control.(BaseWriter); ok && base != nil {
			sg, err = bw.WriteOn(base.Version, config, files, dryRun)
		} else {
			sg, err = r.Control.Write(config, files, dryRun)
		}
		if err == nil {
			res.Applied = !dryRun
			res.Version = &sg.Version
			res.Problems = problems(sg.Warnings)
			return res
		}
	}
	res.Problems = problems(schema.Problems(err))
	return res
}

func problems(ps []schema.Problem) []*model.Problem {
	out := make([]*model.Problem, 0, len(ps))
	for _, p := range ps {
		out = append(out, &model.Problem{File: p.Pos.File, Line: p.Pos.Line, Column: p.Pos.Column, Path: p.Path,
			Message: p.Message, Warning: p.Warning})
	}
	return out
}

func version(sg *schema.Supergraph) *model.Version {
	return &model.Version{ID: sg.Version, File: sg.File, Bindings: len(sg.Bindings()), Sources: len(sg.Sources)}
}

var errNoConfig = errors.New("the running version has no configuration file content")

func ptr[T any](v T) *T { return &v }
