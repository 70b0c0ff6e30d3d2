package runtime

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ErrNoCache is the error of a purge of a binding that does not cache its answers.
var ErrNoCache = errors.New("the binding has no cache")

// PurgeCache purges the running version's cached answers of binding (Type.field): all of them, or those of one
// purge key (a batched binding's batch key, else the request's path and query), here and in the shared level.
func (r *Runtime) PurgeCache(ctx context.Context, binding, key string) error {
	v := r.running.Load()
	typ, field, _ := strings.Cut(binding, ".")
	b := v.sg.Binding(typ, field)
	if b == nil {
		return fmt.Errorf("purge %s: no such binding", binding)
	}
	if b.Cache == nil || v.cache == nil {
		return fmt.Errorf("purge %s: %w", binding, ErrNoCache)
	}
	if err := v.cache.Purge(ctx, binding, key); err != nil {
		return fmt.Errorf("purge %s: %w", binding, err)
	}
	return nil
}
