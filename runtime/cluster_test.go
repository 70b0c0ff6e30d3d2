package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conflux-gql/conflux/fleet"
)

// fakeStore is a VersionStore whose calls are functions; it records the versions asked for.
type fakeStore struct {
	mu      sync.Mutex
	head    func() (fleet.Head, error)
	get     func(n int64) (fleet.Version, bool, error)
	publish func(ctx context.Context, base fleet.Head, v fleet.Version) (fleet.Head, error)
	gets    []int64
}

var _ VersionStore = (*fakeStore)(nil)

func (f *fakeStore) Healthy() bool { return true }
func (f *fakeStore) Publish(ctx context.Context, base fleet.Head, v fleet.Version) (fleet.Head, error) {
	f.mu.Lock()
	p := f.publish
	f.mu.Unlock()
	return p(ctx, base, v)
}
func (f *fakeStore) Head(context.Context) (fleet.Head, error) { return f.head() }
func (f *fakeStore) Get(_ context.Context, n int64) (fleet.Version, bool, error) {
	f.mu.Lock()
	f.gets = append(f.gets, n)
	f.mu.Unlock()
	return f.get(n)
}
func (f *fakeStore) List(context.Context) ([]fleet.Version, error) {
	return nil, errors.New("no history")
}
func (f *fakeStore) Subscribe(ctx context.Context) <-chan int64 {
	ch := make(chan int64)
	close(ch)
	return ch
}

// seeded is a store whose newest version is the posts example as the test copied it (version 1, "seed"), until
// head or publish are replaced.
func seeded(t *testing.T) (*fakeStore, func(*Config)) {
	f := &fakeStore{}
	var seed fleet.Version
	f.head = func() (fleet.Head, error) { return fleet.Head{Seq: 1, ID: seed.ID}, nil }
	f.get = func(n int64) (fleet.Version, bool, error) { return seed, n == 1, nil }
	f.publish = func(context.Context, fleet.Head, fleet.Version) (fleet.Head, error) {
		return fleet.Head{}, errors.New("unexpected publish")
	}
	return f, func(c *Config) {
		seed = fleet.Version{Seq: 1, ID: c.Supergraph.Version, Config: c.Supergraph.Raw, Files: c.Supergraph.SDLFiles}
		c.Versions = f
	}
}

// TestCluster_SlowStore: a Redis too slow to take a change never holds it longer than storeTimeout: the change
// applies on this replica, is pending, and is published on top of the newest version when Redis answers.
func TestCluster_SlowStore(t *testing.T) {
	f, opt := seeded(t)
	rt, file, post := postsRuntime(t, opt)
	if st, _ := rt.Fleet(); st.Seq != 1 {
		t.Fatalf("joined at %+v", st)
	}
	f.mu.Lock()
	f.publish = func(ctx context.Context, _ fleet.Head, _ fleet.Version) (fleet.Head, error) {
		<-ctx.Done()
		return fleet.Head{}, ctx.Err()
	}
	f.mu.Unlock()
	cfg, _ := os.ReadFile(file)
	change := bytes.Replace(cfg, []byte("User.company: {from: company.name}"), []byte("User.company: {from: username}"), 1)
	start := time.Now()
	sg, err := rt.Write(change, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > storeTimeout+500*time.Millisecond {
		t.Errorf("the change waited %v on a slow Redis", d)
	}
	if raw := post(`{ user(id: 1) { company } }`); raw != `{"data":{"user":{"company":"Bret"}}}` {
		t.Errorf("the change is not served: %s", raw)
	}
	if st, _ := rt.Fleet(); !st.Pending || st.Errors != 1 || !strings.Contains(st.LastError, "deadline") {
		t.Errorf("status after a slow publish: %+v", st)
	}
	if data, _ := os.ReadFile(file); !bytes.Equal(data, cfg) {
		t.Error("with a store, the change was written to the file")
	}

	var published []fleet.Head
	f.mu.Lock()
	f.publish = func(_ context.Context, base fleet.Head, v fleet.Version) (fleet.Head, error) {
		published = append(published, base)
		return fleet.Head{Seq: base.Seq + 1, ID: v.ID}, nil
	}
	f.mu.Unlock()
	rt.syncOnce(context.Background(), false)
	if st, _ := rt.Fleet(); st.Pending || st.Seq != 2 || len(published) != 1 || published[0].Seq != 1 {
		t.Errorf("after Redis answers: %+v, published on %v", st, published)
	}
	if rt.Current().Version != sg.Version {
		t.Error("the pending change was replaced")
	}
}

// TestCluster_VersionThatDoesNotLoad: a cluster version this replica cannot load (here: a key it does not know)
// is refused like a bad file, the running version stays, and it is not fetched again at every poll.
func TestCluster_VersionThatDoesNotLoad(t *testing.T) {
	f, opt := seeded(t)
	rt, _, post := postsRuntime(t, opt)
	running := rt.Current().Version
	bad := fleet.Version{Seq: 2, ID: "bad", Config: append(bytes.Clone(rt.Current().Raw), "unknownKey: 1\n"...), Files: rt.Current().SDLFiles}
	f.head = func() (fleet.Head, error) { return fleet.Head{Seq: 2, ID: "bad"}, nil }
	f.get = func(int64) (fleet.Version, bool, error) { return bad, true, nil }
	rt.syncOnce(context.Background(), false)
	rt.syncOnce(context.Background(), false)
	if rt.Current().Version != running {
		t.Fatal("a version that does not load was applied")
	}
	if _, err := rt.LastError(); err == nil || !strings.Contains(err.Error(), "cluster version 2") {
		t.Errorf("last error: %v", err)
	}
	st, _ := rt.Fleet()
	if st.Seq != 1 || st.Newest != 2 || st.Errors != 1 {
		t.Errorf("status: %+v", st)
	}
	if n := strings.Count(fmt.Sprint(f.gets), "2"); n != 1 {
		t.Errorf("the bad version was fetched %d times (gets %v)", n, f.gets)
	}
	if raw := post(`{ user(id: 1) { company } }`); !strings.Contains(raw, `"company"`) {
		t.Errorf("the running version stopped serving: %s", raw)
	}
}

// TestCluster_WriteOn: an admin change prepared on a version that another replica's version replaced meanwhile is
// refused (it would undo that version), and applies when prepared on the running one.
func TestCluster_WriteOn(t *testing.T) {
	f, opt := seeded(t)
	rt, file, _ := postsRuntime(t, opt)
	f.mu.Lock()
	f.publish = func(_ context.Context, base fleet.Head, v fleet.Version) (fleet.Head, error) {
		return fleet.Head{Seq: base.Seq + 1, ID: v.ID}, nil
	}
	f.mu.Unlock()
	cfg, _ := os.ReadFile(file)
	change := bytes.Replace(cfg, []byte("User.company: {from: company.name}"), []byte("User.company: {from: username}"), 1)
	if _, err := rt.WriteOn("0123456789ab", change, nil, false); !errors.Is(err, fleet.ErrConflict) || !strings.Contains(err.Error(), "retry") {
		t.Fatalf("a change prepared on a replaced version: %v", err)
	}
	if _, err := rt.WriteOn(rt.Current().Version, change, nil, false); err != nil {
		t.Fatal(err)
	}
	if st, _ := rt.Fleet(); st.Seq != 2 {
		t.Errorf("status: %+v", st)
	}
}
