package runtime

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing/fstest"
	"time"

	"github.com/conflux-gql/conflux/events"
	"github.com/conflux-gql/conflux/fleet"
	"github.com/conflux-gql/conflux/graph"
	"github.com/conflux-gql/conflux/resolvers"
	"github.com/conflux-gql/conflux/respcache"
	"github.com/conflux-gql/conflux/schema"
	"github.com/conflux-gql/conflux/sources"
	"github.com/fsnotify/fsnotify"
)

// historySize bounds the versions kept for rollback.
const historySize = 20

// debounce is how long the file watch waits for more events before reloading: editors write a file in several
// steps (truncate, write, rename), and one change should cause one reload.
const debounce = 150 * time.Millisecond

// Config configures a Runtime. New validates it and fills its defaults.
type Config struct {
	// Supergraph is the first version, loaded by the caller (which has reported its warnings). Changes are loaded
	// from, and written to, its File.
	Supergraph *schema.Supergraph
	// Handler builds the GraphQL HTTP handler of a version over its engine (required). It runs once per version,
	// before the version is swapped in; an error refuses the change.
	Handler func(sg *schema.Supergraph, engine *graph.Engine) (http.Handler, error)
	// LoadOptions are passed to every load of a change, after schema.WithEnv(Env).
	LoadOptions []schema.Option
	// Env looks up the environment variables a configuration reads; nil means os.LookupEnv.
	Env func(string) (string, bool)
	// SourceMetrics receives the metrics of every source built; nil reports none.
	SourceMetrics *sources.Metrics
	// SubscriptionMetrics receives the metrics of every version's subscriptions (issue 17); nil reports none.
	SubscriptionMetrics *resolvers.SubscriptionMetrics
	// SubscriptionBudget bounds the bytes of the events every version's subscriptions hold for slow clients
	// together (server.subscriptions.bufferBytesTotal); New makes one when it is nil.
	SubscriptionBudget *events.Budget
	// RateLimiter, when set, returns the limiter that enforces a source's limits.rate in place of the source's
	// own token bucket (issue 15: one budget across replicas); a nil RateLimiter or result keeps the bucket.
	RateLimiter func(source string, limits sources.LimitsConfig) sources.RateLimiter
	// Logger receives the applied and refused changes and the file watch's troubles; nil discards them.
	Logger *slog.Logger
	// Versions, when set, shares the configuration with the other replicas (issue 15, cluster.go): every change
	// is published there as the newest version, and the newest version published by any replica is applied
	// here. Nil keeps the configuration in the file and this process.
	Versions VersionStore
	// Replica names this process in the versions it publishes; empty means hostname:pid.
	Replica string
	// ResponseCache is what each version's response cache is built with (issue 15: the shared level, metrics).
	ResponseCache respcache.Config
}

// Runtime owns the configuration versions a server runs. A change — a file edit, an admin mutation, a
// rollback — is loaded and validated like the file at startup, built into a new Version beside the running one,
// and swapped in with an atomic pointer: requests in flight finish on the version they started on. A change that
// fails validation leaves the running version in force and is kept as the last reload error. Safe for
// concurrent use; changes are serialized.
type Runtime struct {
	cfg     Config
	running atomic.Pointer[Version]

	mu sync.Mutex
	// notify, when set, is told the outcome of every change, applied or refused (OnChange).
	notify  func(sg *schema.Supergraph, err error)
	history []*schema.Supergraph // oldest first; the last is the running version
	lastErr atomic.Pointer[reloadError]
	// cluster shares the versions with other replicas; nil without Config.Versions.
	cluster *cluster
}

// reloadError is a change that was refused.
type reloadError struct {
	At  time.Time
	Err error
}

// New builds the first version from cfg.Supergraph and starts serving it. The caller owns the Runtime: Close
// releases the running version once nothing serves it any more.
func New(cfg Config) (*Runtime, error) {
	if cfg.Supergraph == nil || cfg.Handler == nil {
		return nil, errors.New("runtime: Config needs a Supergraph and a Handler")
	}
	if cfg.Env == nil {
		cfg.Env = os.LookupEnv
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.SubscriptionBudget == nil {
		cfg.SubscriptionBudget = events.NewBudget(0) // its bound comes from each version's settings
	}
	v, err := build(cfg.Supergraph, &cfg, nil)
	if err != nil {
		return nil, err
	}
	r := &Runtime{cfg: cfg, history: []*schema.Supergraph{cfg.Supergraph}}
	r.running.Store(v)
	if cfg.Versions != nil {
		r.cluster = newCluster(cfg.Versions, cfg.Replica, cfg.Supergraph.Version)
		// A replica that starts later serves the cluster's newest version at once, not its own file.
		r.join()
	}
	return r, nil
}

// Load returns the running version. A request holds on to the version it loaded until it is done.
func (r *Runtime) Load() *Version { return r.running.Load() }

// Current returns the running version's configuration.
func (r *Runtime) Current() *schema.Supergraph { return r.running.Load().sg }

// OnChange makes f be told the outcome of every later change: the version applied, or the error that refused
// it. It replaces an earlier f; f runs while changes are serialized and must not start a change itself.
func (r *Runtime) OnChange(f func(sg *schema.Supergraph, err error)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notify = f
}

// Close releases the running version (Version.Close).
func (r *Runtime) Close() { r.running.Load().Close() }

// LastError returns the last refused change and when it happened, or a nil error.
func (r *Runtime) LastError() (time.Time, error) {
	if e := r.lastErr.Load(); e != nil {
		return e.At, e.Err
	}
	return time.Time{}, nil
}

// Plan plans an operation on the running version without executing it.
func (r *Runtime) Plan(query, operationName string, vars map[string]any) (*graph.Plan, error) {
	return r.running.Load().engine.Plan(query, operationName, vars)
}

// SourceStatus returns the live state of a source of the running version.
func (r *Runtime) SourceStatus(name string) (sources.Status, bool) {
	src, ok := r.running.Load().srcs[name].(interface{ Status() sources.Status })
	if !ok {
		return sources.Status{}, false
	}
	return src.Status(), true
}

// History returns the versions kept for rollback, oldest first: with Config.Versions, the cluster's (while Redis
// answers).
func (r *Runtime) History() []*schema.Supergraph {
	if r.cluster != nil {
		if h, err := r.clusterHistory(); err == nil {
			return h
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*schema.Supergraph(nil), r.history...)
}

// Reload loads the files from disk and applies them if they changed.
func (r *Runtime) Reload() (*schema.Supergraph, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	sg, err := schema.Load(r.path(), r.loadOptions()...)
	if err != nil {
		return nil, r.refuse(err)
	}
	if r.cluster != nil {
		return r.fileEditLocked(sg)
	}
	return r.applyLocked(sg)
}

// path is the configuration file changes are loaded from and written to.
func (r *Runtime) path() string { return r.cfg.Supergraph.File }

// loadOptions are the options of every load of a change.
func (r *Runtime) loadOptions() []schema.Option {
	return append([]schema.Option{schema.WithEnv(r.cfg.Env)}, r.cfg.LoadOptions...)
}

// Write validates data as the new content of the configuration file, with files (paths relative to its
// directory) added or replaced beside it, and unless dryRun persists them atomically and applies them. It returns
// the version they make. Nothing is written when validation fails. With Config.Versions, files are read from
// the running version instead of the disk and the change is published to the cluster instead of written
// (cluster.go); a change another replica's change overtook fails with fleet.ErrConflict.
func (r *Runtime) Write(data []byte, files map[string][]byte, dryRun bool) (*schema.Supergraph, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cluster != nil {
		return r.clusterWriteLocked(data, files, dryRun)
	}
	dir := filepath.Dir(r.path())
	fsys := fs.FS(os.DirFS(dir))
	if len(files) > 0 {
		fsys = overlay{base: fsys, files: files}
	}
	sg, err := r.parseChange(data, fsys, dryRun)
	if err != nil || dryRun {
		return sg, err
	}
	for name, content := range files {
		if err := writeAtomic(filepath.Join(dir, filepath.FromSlash(name)), content); err != nil {
			return nil, r.refuse(err)
		}
	}
	if err := writeAtomic(r.path(), data); err != nil {
		return nil, r.refuse(err)
	}
	return r.applyLocked(sg)
}

// WriteOn is Write for a change prepared on the running version base: with Config.Versions, it is refused with
// fleet.ErrConflict when another version (another replica's change) was applied since, so that the change does
// not undo it. Without Config.Versions it is Write.
func (r *Runtime) WriteOn(base string, data []byte, files map[string][]byte, dryRun bool) (*schema.Supergraph, error) {
	if r.cluster == nil {
		return r.Write(data, files, dryRun)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if cur := r.Current().Version; base != cur && !dryRun {
		return nil, r.refuse(fmt.Errorf("version %s replaced %s while this change was prepared: %w: retry", cur, base, fleet.ErrConflict))
	}
	return r.clusterWriteLocked(data, files, dryRun)
}

// overlay is base with files added or replaced, for validating a change before anything is written.
type overlay struct {
	base  fs.FS
	files map[string][]byte
}

func (o overlay) Open(name string) (fs.File, error) {
	if content, ok := o.files[name]; ok {
		return fstest.MapFS{name: {Data: content}}.Open(name)
	}
	return o.base.Open(name)
}

// ReadDir merges the overlay's files into base's listing, so globs see them.
func (o overlay) ReadDir(name string) ([]fs.DirEntry, error) {
	entries, err := fs.ReadDir(o.base, name)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	mem := fstest.MapFS{}
	for f, content := range o.files {
		if path.Dir(f) == name {
			mem[f] = &fstest.MapFile{Data: content}
		}
	}
	extra, _ := fs.ReadDir(mem, name)
	seen := map[string]bool{}
	for _, e := range extra {
		seen[e.Name()] = true
	}
	out := extra
	for _, e := range entries {
		if !seen[e.Name()] {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out, nil
}

// Rollback rewrites the configuration file and the SDL files it read as they were in version, and applies them.
// With Config.Versions, it publishes that version's content as the cluster's newest version instead.
func (r *Runtime) Rollback(version string) (*schema.Supergraph, error) {
	if r.cluster != nil {
		return r.clusterRollback(version)
	}
	for _, sg := range r.History() {
		if sg.Version == version {
			return r.Write(sg.Raw, sg.SDLFiles, false)
		}
	}
	return nil, fmt.Errorf("version %s is not in the history of the last %d versions", version, historySize)
}

// parseChange loads a change's configuration from data, reading its other files in fsys. A change that does not
// load is refused (refuse records it) unless it is a dry run.
func (r *Runtime) parseChange(data []byte, fsys fs.FS, dryRun bool) (*schema.Supergraph, error) {
	sg, err := schema.Parse(r.path(), data, fsys, r.loadOptions()...)
	if err != nil && !dryRun {
		r.refuse(err)
	}
	return sg, err
}

func (r *Runtime) refuse(err error) error {
	r.lastErr.Store(&reloadError{At: time.Now(), Err: err})
	r.cfg.Logger.Error("configuration change refused; the running version stays", "version", r.Current().Version, "error", err.Error())
	if r.notify != nil {
		r.notify(nil, err)
	}
	return err
}

// applyLocked builds sg's version and swaps it in. The caller holds r.mu.
func (r *Runtime) applyLocked(sg *schema.Supergraph) (*schema.Supergraph, error) {
	cur := r.running.Load()
	if sg.Version == cur.sg.Version {
		// The files are back to what runs (a broken edit undone): the last error no longer describes them
		// (issue 16).
		r.lastErr.Store(nil)
		return cur.sg, nil
	}
	v, err := build(sg, &r.cfg, cur)
	if err != nil {
		return nil, r.refuse(err)
	}
	old := r.running.Swap(v)
	// Requests on the old version keep running; only its idle connections go.
	old.Close()
	r.history = append(r.history, sg)
	if len(r.history) > historySize {
		r.history = r.history[len(r.history)-historySize:]
	}
	r.lastErr.Store(nil)
	for _, w := range sg.Warnings {
		r.cfg.Logger.Warn(w.String())
	}
	r.cfg.Logger.Info("configuration applied", "version", sg.Version, "previous", old.sg.Version)
	if r.notify != nil {
		r.notify(sg, nil)
	}
	return sg, nil
}

// writeAtomic replaces path with data: a temp file in the same directory, fsync, rename, fsync of the directory.
// A crash leaves either the old file or the new one, never a mix.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if info, err := os.Stat(path); err == nil {
		_ = tmp.Chmod(info.Mode().Perm())
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("replace %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// Watch reloads when the configuration or an SDL file changes, until ctx is done. It watches the directories of
// the running version's files (editors replace files by renaming) and returns once its goroutine has ended.
func (r *Runtime) Watch(ctx context.Context, ready chan<- struct{}) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("file watch: %w", err)
	}
	defer w.Close()
	watched := map[string]bool{}
	watchDirs := func() {
		for _, f := range r.Current().Files {
			dir := filepath.Dir(f)
			if watched[dir] {
				continue
			}
			if err := w.Add(dir); err != nil {
				r.cfg.Logger.Warn("cannot watch directory", "dir", dir, "error", err.Error())
				continue
			}
			watched[dir] = true
		}
	}
	watchDirs()
	if ready != nil {
		close(ready)
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if relevant(ev.Name) {
				timer.Reset(debounce)
			}
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				timer.Reset(debounce)
				continue
			}
			r.cfg.Logger.Warn("file watch error", "error", err.Error())
		case <-timer.C:
			if _, err := r.Reload(); err == nil {
				watchDirs()
			}
		}
	}
}

// relevant reports whether a changed file can affect the configuration: YAML and SDL files, not temp files.
func relevant(name string) bool {
	base := filepath.Base(name)
	if len(base) > 0 && base[0] == '.' {
		return false
	}
	switch filepath.Ext(base) {
	case ".yaml", ".yml", ".graphqls", ".graphql", ".gql":
		return true
	}
	return false
}
