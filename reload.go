package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing/fstest"
	"time"

	"github.com/conflux-gql/conflux/admin"
	"github.com/conflux-gql/conflux/graph"
	"github.com/conflux-gql/conflux/schema"
	"github.com/conflux-gql/conflux/sources"
	"github.com/fsnotify/fsnotify"
)

// historySize bounds the versions kept for rollback.
const historySize = 20

// debounce is how long the file watch waits for more events before reloading: editors write a file in several
// steps (truncate, write, rename), and one change should cause one reload.
const debounce = 150 * time.Millisecond

// configs owns the configuration versions the server runs. A change — a file edit, an admin mutation, a
// rollback — is loaded and validated like the file at startup, built into a new runtime beside the running one,
// and swapped in with an atomic pointer: requests in flight finish on the version they started on. A change that
// fails validation leaves the running version in force and is kept as the last reload error. Safe for
// concurrent use; changes are serialized.
type configs struct {
	path   string
	srv    *server
	logger *slog.Logger
	env    func(string) (string, bool)

	// notify, when set, is told the outcome of every change, applied or refused (tests wait on it).
	notify func(sg *schema.Supergraph, err error)

	mu      sync.Mutex
	history []*schema.Supergraph // oldest first; the last is the running version
	lastErr atomic.Pointer[reloadError]
}

// reloadError is a change that was refused.
type reloadError struct {
	At  time.Time
	Err error
}

func newConfigs(path string, srv *server, logger *slog.Logger) *configs {
	c := &configs{path: path, srv: srv, logger: logger, env: os.LookupEnv}
	c.history = []*schema.Supergraph{srv.rt.Load().sg}
	return c
}

// Current returns the running version.
func (c *configs) Current() *schema.Supergraph { return c.srv.rt.Load().sg }

// LastError returns the last refused change and when it happened, or a nil error.
func (c *configs) LastError() (time.Time, error) {
	if e := c.lastErr.Load(); e != nil {
		return e.At, e.Err
	}
	return time.Time{}, nil
}

// Plan plans an operation on the running version without executing it.
func (c *configs) Plan(query, operationName string, vars map[string]any) (*graph.Plan, error) {
	return c.srv.rt.Load().engine.Plan(query, operationName, vars)
}

// SourceStatus returns the live state of a source of the running version.
func (c *configs) SourceStatus(name string) (sources.Status, bool) {
	src, ok := c.srv.rt.Load().srcs[name].(interface{ Status() sources.Status })
	if !ok {
		return sources.Status{}, false
	}
	return src.Status(), true
}

var _ admin.Control = (*configs)(nil)

// History returns the versions kept for rollback, oldest first.
func (c *configs) History() []*schema.Supergraph {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*schema.Supergraph(nil), c.history...)
}

// Reload loads the files from disk and applies them if they changed.
func (c *configs) Reload() (*schema.Supergraph, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	sg, err := schema.Load(c.path, loadOptions(schema.WithEnv(c.env))...)
	if err != nil {
		return nil, c.refuse(err)
	}
	return c.applyLocked(sg)
}

// Write validates data as the new content of the configuration file, with files (paths relative to its
// directory) added or replaced beside it, and unless dryRun persists them atomically and applies them. It returns
// the version they make. Nothing is written when validation fails.
func (c *configs) Write(data []byte, files map[string][]byte, dryRun bool) (*schema.Supergraph, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	dir := filepath.Dir(c.path)
	fsys := fs.FS(os.DirFS(dir))
	if len(files) > 0 {
		fsys = overlay{base: fsys, files: files}
	}
	sg, err := schema.Parse(c.path, data, fsys, loadOptions(schema.WithEnv(c.env))...)
	if err != nil {
		if !dryRun {
			c.refuse(err)
		}
		return nil, err
	}
	if dryRun {
		return sg, nil
	}
	for name, content := range files {
		if err := writeAtomic(filepath.Join(dir, filepath.FromSlash(name)), content); err != nil {
			return nil, c.refuse(err)
		}
	}
	if err := writeAtomic(c.path, data); err != nil {
		return nil, c.refuse(err)
	}
	return c.applyLocked(sg)
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
func (c *configs) Rollback(version string) (*schema.Supergraph, error) {
	for _, sg := range c.History() {
		if sg.Version == version {
			return c.Write(sg.Raw, sg.SDLFiles, false)
		}
	}
	return nil, fmt.Errorf("version %s is not in the history of the last %d versions", version, historySize)
}

func (c *configs) refuse(err error) error {
	c.lastErr.Store(&reloadError{At: time.Now(), Err: err})
	c.logger.Error("configuration change refused; the running version stays", "version", c.Current().Version, "error", err.Error())
	if c.notify != nil {
		c.notify(nil, err)
	}
	return err
}

// applyLocked builds sg's runtime and swaps it in. The caller holds c.mu.
func (c *configs) applyLocked(sg *schema.Supergraph) (*schema.Supergraph, error) {
	cur := c.srv.rt.Load()
	if sg.Version == cur.sg.Version {
		return cur.sg, nil
	}
	rt, err := buildRuntime(sg, cur.tel, cur)
	if err != nil {
		return nil, c.refuse(err)
	}
	old := c.srv.rt.Swap(rt)
	// Requests on the old version keep running; only its idle connections go.
	old.Close()
	c.history = append(c.history, sg)
	if len(c.history) > historySize {
		c.history = c.history[len(c.history)-historySize:]
	}
	c.lastErr.Store(nil)
	for _, w := range sg.Warnings {
		c.logger.Warn(w.String())
	}
	c.logger.Info("configuration applied", "version", sg.Version, "previous", old.sg.Version)
	if c.notify != nil {
		c.notify(sg, nil)
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
func (c *configs) Watch(ctx context.Context, ready chan<- struct{}) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("file watch: %w", err)
	}
	defer w.Close()
	watched := map[string]bool{}
	watchDirs := func() {
		for _, f := range c.Current().Files {
			dir := filepath.Dir(f)
			if watched[dir] {
				continue
			}
			if err := w.Add(dir); err != nil {
				c.logger.Warn("cannot watch directory", "dir", dir, "error", err.Error())
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
			c.logger.Warn("file watch error", "error", err.Error())
		case <-timer.C:
			if _, err := c.Reload(); err == nil {
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
