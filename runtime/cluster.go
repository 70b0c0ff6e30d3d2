package runtime

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"sync"
	"testing/fstest"
	"time"

	"github.com/conflux-gql/conflux/fleet"
	"github.com/conflux-gql/conflux/schema"
)

// VersionStore is where replicas share configuration versions (issue 15): *fleet.Versions, over Redis. Every call
// must return within its context's deadline.
type VersionStore interface {
	// Healthy reports whether the store answers; while it does not, changes apply here alone.
	Healthy() bool
	// Publish stores v as the version after base, or fails with fleet.ErrConflict when base is not the newest.
	Publish(ctx context.Context, base fleet.Head, v fleet.Version) (fleet.Head, error)
	// Head names the newest version (the zero Head: none).
	Head(ctx context.Context) (fleet.Head, error)
	// Get returns version n; ok is false when the store does not keep it.
	Get(ctx context.Context, n int64) (v fleet.Version, ok bool, err error)
	// List returns the kept versions, oldest first.
	List(ctx context.Context) ([]fleet.Version, error)
	// Subscribe announces new version numbers until ctx is done, then closes the channel.
	Subscribe(ctx context.Context) <-chan int64
}

var _ VersionStore = (*fleet.Versions)(nil)

// Timing of the synchronisation with the store.
const (
	// pollInterval: besides announcements, a replica reads the newest version number this often, so that a
	// missed announcement (Redis restarted, a dropped subscription) delays a change by at most this long.
	pollInterval = time.Second
	// storeTimeout bounds one synchronisation or one publish (a few round trips): a slow Redis never holds a
	// change longer, the change then applies here alone and is published later.
	storeTimeout = time.Second
	// pushAttempts bounds how often a change made during an outage is published again on top of a newer version.
	pushAttempts = 5
	// seedDelay is how long a replica that has never been in sync (it started while Redis was down) waits before
	// it seeds an empty Redis with its local files: replicas that served a cluster version seed first (at once),
	// so a Redis that lost its data gets the newest configuration back, not a stale seed.
	seedDelay = 2 * pollInterval
)

// cluster is a Runtime's share of the cluster's configuration versions.
//
// The rules (README "Running a fleet"):
//   - Redis holds the versions; a replica's files are only its seed. A replica applies a version it receives
//     without writing its files; an admin change or a rollback is published, not written to the files either.
//     A file edit on a replica (the files differ from what the replica last read from disk) is a change like an
//     admin mutation: the whole configuration as it is on that replica's disk becomes the newest version.
//   - A change is published with compare-and-set on the version number it was made on: when another replica
//     published first, the change is refused with fleet.ErrConflict and this replica takes the newest version.
//   - While Redis does not answer, a change applies here alone and is pending: when Redis answers again it is
//     published as a new version on top of the newest (the last one pushed wins; the others stay in history).
//     A replica that made no change takes the newest version. An empty Redis (restarted without its data) is
//     seeded with the version a replica serves: at once by a replica that was in sync before, after seedDelay by
//     one that started during the outage (its files may be older than what the others serve).
type cluster struct {
	store   VersionStore
	replica string
	nudge   chan struct{}
	// disk is the content hash of the files as this replica last read them from disk (the seed at start, or the
	// last file edit): a reload that reads the same files is no change, whatever version is running.
	disk string

	mu sync.Mutex
	st fleet.SyncStatus
	// head is the cluster version this replica serves (st.Seq is its number); the zero Head before the first
	// synchronisation.
	head fleet.Head
	// failed is the cluster version that did not load on this replica: it is not tried again.
	failed fleet.Head
	// emptySince is when this replica, never in sync, first found Redis empty (zero: it has not).
	emptySince time.Time
	// parsed caches the loaded kept versions for History, by content hash.
	parsed map[string]*schema.Supergraph
}

func newCluster(store VersionStore, replica, disk string) *cluster {
	if replica == "" {
		host, _ := os.Hostname()
		replica = host + ":" + strconv.Itoa(os.Getpid())
	}
	return &cluster{store: store, replica: replica, nudge: make(chan struct{}, 1), disk: disk,
		parsed: map[string]*schema.Supergraph{}}
}

// Fleet returns how this replica stands with the cluster's versions; ok is false without Config.Versions.
func (r *Runtime) Fleet() (st fleet.SyncStatus, ok bool) {
	c := r.cluster
	if c == nil {
		return fleet.SyncStatus{}, false
	}
	c.mu.Lock()
	st = c.st
	c.mu.Unlock()
	st.Connected = c.store.Healthy()
	return st, true
}

// SyncNow asks Sync to synchronise at once (e.g. when Redis answers again) and returns without waiting.
func (r *Runtime) SyncNow() {
	if r.cluster == nil {
		return
	}
	select {
	case r.cluster.nudge <- struct{}{}:
	default:
	}
}

// Sync keeps this replica on the cluster's newest version until ctx is done: it applies each version announced
// by another replica, polls the newest version number every second in case an announcement was missed,
// publishes the changes made here while Redis did not answer, and seeds an empty Redis. It returns once its
// goroutines have ended; without Config.Versions it returns at once.
func (r *Runtime) Sync(ctx context.Context) error {
	c := r.cluster
	if c == nil {
		return nil
	}
	sub := c.store.Subscribe(ctx)
	defer func() {
		for range sub { // wait for the subscription's goroutine
		}
	}()
	announced := sub // nil once closed: the poll goes on
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-announced:
			if !ok {
				announced = nil
				continue
			}
		case <-t.C:
		case <-c.nudge:
		}
		r.syncOnce(ctx, false)
	}
}

// join runs the first synchronisation when the runtime starts, so that a replica serves the newest version
// before it serves anything.
func (r *Runtime) join() {
	if !r.cluster.store.Healthy() {
		r.cfg.Logger.Warn("redis unreachable: serving the local configuration until it answers", "version", r.Current().Version)
		return
	}
	r.syncOnce(context.Background(), true)
}

// syncOnce brings this replica and the store into agreement (see cluster for the rules). starting: the runtime
// is starting with Redis reachable, and seeds an empty Redis at once.
func (r *Runtime) syncOnce(ctx context.Context, starting bool) {
	c := r.cluster
	if !c.store.Healthy() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	if c.status().Pending {
		r.pushPending(ctx)
		return
	}
	h, err := c.store.Head(ctx)
	if err != nil {
		c.syncError(err)
		return
	}
	cur, failed := c.heads()
	switch {
	case h.Seq == 0:
		if cur.Seq == 0 && !starting && !c.seedDue() {
			return
		}
		r.seed(ctx)
	case h == cur:
		c.synced(h, h)
	case h == failed:
	default:
		v, ok, err := c.store.Get(ctx, h.Seq)
		if err != nil || !ok {
			c.syncError(cmpErr(err, fmt.Errorf("cluster version %d is not kept", h.Seq)))
			return
		}
		r.applyRemote(cur, fleet.Head{Seq: v.Seq, ID: v.ID}, v)
	}
}

func cmpErr(err, otherwise error) error {
	if err != nil {
		return err
	}
	return otherwise
}

// seed publishes the running version into an empty store: the first replica of a cluster, or Redis restarted
// without its data. When another replica seeds first, the next synchronisation takes its version.
func (r *Runtime) seed(ctx context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.cluster
	if c.status().Pending {
		return
	}
	sg := r.Current()
	h, err := c.store.Publish(ctx, fleet.Head{}, c.version(sg))
	if errors.Is(err, fleet.ErrConflict) {
		r.SyncNow()
		return
	}
	if err != nil {
		c.syncError(err)
		return
	}
	r.cfg.Logger.Info("configuration published to an empty redis", "version", sg.Version, "seq", h.Seq)
	c.synced(h, h)
}

// pushPending publishes the version changed here while Redis did not answer, on top of the newest version.
func (r *Runtime) pushPending(ctx context.Context) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.cluster
	sg := r.Current()
	for range pushAttempts {
		base, err := c.store.Head(ctx)
		if err != nil {
			c.syncError(err)
			return
		}
		h, err := c.store.Publish(ctx, base, c.version(sg))
		if errors.Is(err, fleet.ErrConflict) {
			continue
		}
		if err != nil {
			c.syncError(err)
			return
		}
		r.cfg.Logger.Info("configuration changed during the redis outage published", "version", sg.Version, "seq", h.Seq)
		c.mu.Lock()
		c.st.Pending = false
		c.mu.Unlock()
		c.synced(h, h)
		return
	}
	c.syncError(fmt.Errorf("publish the change made during the outage: %w", fleet.ErrConflict))
}

// applyRemote loads v, a version published by a replica, and swaps it in unless the replica left seen, the cluster
// version it served when v was read, meanwhile (a change of its own was published: v may be older). The files
// on disk are left alone.
func (r *Runtime) applyRemote(seen, h fleet.Head, v fleet.Version) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.cluster
	cur, _ := c.heads()
	if cur != seen || c.status().Pending {
		return // the next synchronisation looks again; a change made here waits to be published on top
	}
	sg, err := c.load(r, v)
	if err == nil {
		_, err = r.applyLocked(sg)
	} else {
		r.refuse(err)
	}
	if err != nil {
		c.mu.Lock()
		c.failed = h
		c.mu.Unlock()
		c.syncError(err)
		c.synced(cur, h)
		return
	}
	r.cfg.Logger.Info("cluster version applied", "seq", v.Seq, "version", sg.Version, "origin", v.Origin)
	if sg.Version != v.ID {
		r.cfg.Logger.Warn("cluster version loads differently on this replica (its environment differs)", "seq", v.Seq, "cluster", v.ID, "here", sg.Version)
	}
	c.synced(h, h)
}

// load validates a cluster version's content as this replica would load its own file.
func (c *cluster) load(r *Runtime, v fleet.Version) (*schema.Supergraph, error) {
	c.mu.Lock()
	sg, ok := c.parsed[v.ID]
	c.mu.Unlock()
	if ok {
		return sg, nil
	}
	sg, err := schema.Parse(r.path(), v.Config, filesFS(v.Files), r.loadOptions()...)
	if err != nil {
		return nil, fmt.Errorf("cluster version %d (%s, from %s): %w", v.Seq, v.ID, v.Origin, err)
	}
	c.mu.Lock()
	if len(c.parsed) >= 2*fleet.KeepVersions {
		clear(c.parsed)
	}
	c.parsed[v.ID] = sg
	c.mu.Unlock()
	return sg, nil
}

// filesFS serves a version's files (paths relative to the configuration's directory) and nothing else, so that
// a glob matches what the publishing replica matched, not what this replica has on disk.
func filesFS(files map[string][]byte) fs.FS {
	m := fstest.MapFS{}
	for name, data := range files {
		m[name] = &fstest.MapFile{Data: data}
	}
	return m
}

// publishLocked publishes sg, a change made on this replica, as the version after the one it serves. It returns
// the error that refuses the change (fleet.ErrConflict: another replica's change won); when Redis does not
// answer, the change is not refused but marked pending. The caller holds r.mu: changes are serialized, and the
// store call is bounded by storeTimeout.
func (r *Runtime) publishLocked(sg *schema.Supergraph) (func(), error) {
	c := r.cluster
	if sg.Version == r.Current().Version {
		return func() {}, nil
	}
	if c.status().Pending || !c.store.Healthy() {
		return c.pending(nil), nil
	}
	base, _ := c.heads()
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	h, err := c.store.Publish(ctx, base, c.version(sg))
	if errors.Is(err, fleet.ErrConflict) {
		r.SyncNow()
		return nil, err
	}
	if err != nil {
		r.cfg.Logger.Warn("redis did not take the change: applied on this replica, published when redis answers", "version", sg.Version, "error", err.Error())
		return c.pending(err), nil
	}
	return func() { c.synced(h, h) }, nil
}

// pending returns how to record a change applied here alone.
func (c *cluster) pending(err error) func() {
	return func() {
		if err != nil {
			c.syncError(err)
		}
		c.mu.Lock()
		c.st.Pending = true
		c.mu.Unlock()
	}
}

// changeLocked publishes and applies sg, a change made on this replica. The caller holds r.mu.
func (r *Runtime) changeLocked(sg *schema.Supergraph) (*schema.Supergraph, error) {
	done, err := r.publishLocked(sg)
	if err != nil {
		return nil, r.refuse(err)
	}
	out, err := r.applyLocked(sg)
	if err != nil {
		// Published but not buildable here: other replicas may serve it; this one keeps its version.
		return nil, err
	}
	done()
	return out, nil
}

// fileEditLocked handles a reload from disk with Config.Versions: unchanged files are no change (the replica
// may serve a newer cluster version than its files), changed files are a change like an admin mutation.
func (r *Runtime) fileEditLocked(sg *schema.Supergraph) (*schema.Supergraph, error) {
	if sg.Version == r.cluster.disk {
		return r.Current(), nil
	}
	out, err := r.changeLocked(sg)
	if err == nil {
		r.cluster.disk = sg.Version
	}
	return out, err
}

// clusterWriteLocked is Write with Config.Versions: data and files are validated over the running version's
// files (which this replica's disk may not have), then published and applied; nothing is written to disk.
func (r *Runtime) clusterWriteLocked(data []byte, files map[string][]byte, dryRun bool) (*schema.Supergraph, error) {
	all := map[string][]byte{}
	for name, content := range r.Current().SDLFiles {
		all[name] = content
	}
	for name, content := range files {
		all[name] = content
	}
	sg, err := r.parseChange(data, filesFS(all), dryRun)
	if err != nil || dryRun {
		return sg, err
	}
	return r.changeLocked(sg)
}

// clusterRollback publishes a kept version's content as the newest version.
func (r *Runtime) clusterRollback(version string) (*schema.Supergraph, error) {
	hist := r.History()
	for i := len(hist) - 1; i >= 0; i-- {
		if hist[i].Version != version {
			continue
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.changeLocked(hist[i])
	}
	return nil, fmt.Errorf("version %s is not in the history of the last %d versions", version, fleet.KeepVersions)
}

// clusterHistory loads the versions the store keeps, oldest first.
func (r *Runtime) clusterHistory() ([]*schema.Supergraph, error) {
	c := r.cluster
	if !c.store.Healthy() {
		return nil, fleet.ErrUnavailable
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	vs, err := c.store.List(ctx)
	if err != nil || len(vs) == 0 {
		return nil, cmpErr(err, errors.New("no versions in redis"))
	}
	out := make([]*schema.Supergraph, 0, len(vs))
	for _, v := range vs {
		if sg, err := c.load(r, v); err == nil {
			out = append(out, sg)
		}
	}
	return out, nil
}

// version is sg as the store keeps it.
func (c *cluster) version(sg *schema.Supergraph) fleet.Version {
	return fleet.Version{ID: sg.Version, Config: sg.Raw, Files: sg.SDLFiles, Origin: c.replica, At: time.Now()}
}

func (c *cluster) status() fleet.SyncStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.st
}

// seedDue reports whether a replica never in sync has found Redis empty for seedDelay.
func (c *cluster) seedDue() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.emptySince.IsZero() {
		c.emptySince = time.Now()
	}
	return time.Since(c.emptySince) >= seedDelay
}

// heads returns the cluster version this replica serves and the one that did not load here.
func (c *cluster) heads() (cur, failed fleet.Head) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.head, c.failed
}

// synced records that the replica serves cluster version cur and has seen newest.
func (c *cluster) synced(cur, newest fleet.Head) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.head = cur
	c.st.Seq, c.st.Newest, c.st.LastSync = cur.Seq, newest.Seq, time.Now()
}

func (c *cluster) syncError(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.st.Errors++
	c.st.LastError = err.Error()
}
