package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/conflux-gql/conflux/examples/posts"
	"github.com/conflux-gql/conflux/runtime"
	"github.com/conflux-gql/conflux/schema"
)

// outcome is one change the configs reported.
type outcome struct {
	sg  *schema.Supergraph
	err error
}

// watched starts the posts example with a file watch and returns the env, its configs, the config file and
// the channel of change outcomes.
func watched(t *testing.T) (*testEnv, *runtime.Runtime, string, chan outcome) {
	t.Helper()
	env := newPosts(t, posts.Options{})
	file := env.rt.Supergraph().File
	s := env.srv.Config.Handler.(*server)
	c := s.rt
	events := make(chan outcome, 16)
	c.OnChange(func(sg *schema.Supergraph, err error) { events <- outcome{sg, err} })
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- c.Watch(ctx, ready) }()
	t.Cleanup(func() {
		cancel()
		<-done
		s.rt.Close()
	})
	<-ready
	return env, c, file, events
}

func next(t *testing.T, events chan outcome) outcome {
	t.Helper()
	select {
	case o := <-events:
		return o
	case <-time.After(10 * time.Second):
		t.Fatal("no reload happened")
		return outcome{}
	}
}

// TestConfigs_FileWatch: editing the SDL and the config on disk adds a field without a restart; a broken edit
// is refused with its position and the running version keeps serving.
func TestConfigs_FileWatch(t *testing.T) {
	env, c, file, events := watched(t)
	before := c.Current().Version
	dir := filepath.Dir(file)

	// One edit: a new field in the SDL and its binding in the config.
	sdlFile := filepath.Join(dir, "schema", "posts.graphqls")
	sdl, _ := os.ReadFile(sdlFile)
	cfg, _ := os.ReadFile(file)
	cfg = append(cfg, []byte("  Query.motd: {value: \"hello {{args.name}}\"}\n")...)
	sdl = bytes.Replace(sdl, []byte("type Query {"), []byte("type Query {\n  motd(name: String): String"), 1)
	if err := replaceFile(sdlFile, sdl); err != nil {
		t.Fatal(err)
	}
	if err := replaceFile(file, cfg); err != nil {
		t.Fatal(err)
	}
	var o outcome
	for o = next(t, events); o.err != nil; o = next(t, events) {
		// The SDL may land before the config: an intermediate state can be refused, the final one must apply.
	}
	if o.sg.Version == before {
		t.Fatal("version did not change")
	}
	if _, raw := env.postRaw(`{ motd(name: "Ada") }`, nil); string(raw) != `{"data":{"motd":"hello Ada"}}` {
		t.Errorf("new field: %s", raw)
	}

	// A broken edit is refused; the running version stays.
	running := c.Current().Version
	broken := bytes.Replace(cfg, []byte("Query.motd: {value:"), []byte("Query.motd: {valeu:"), 1)
	if err := replaceFile(file, broken); err != nil {
		t.Fatal(err)
	}
	o = next(t, events)
	if o.err == nil || !strings.Contains(o.err.Error(), `conflux.yaml:`) || !strings.Contains(o.err.Error(), `unknown key "valeu": did you mean "value"?`) {
		t.Fatalf("want a located error, got %v", o.err)
	}
	if _, err := c.LastError(); c.Current().Version != running || err == nil {
		t.Error("a refused edit changed the running version or was not recorded")
	}
	if _, raw := env.postRaw(`{ motd(name: "Ada") }`, nil); string(raw) != `{"data":{"motd":"hello Ada"}}` {
		t.Errorf("after a refused edit: %s", raw)
	}
}

func TestConfigs_WriteAndRollback(t *testing.T) {
	env, c, file, _ := watched(t)
	first := c.Current()
	cfg, _ := os.ReadFile(file)

	// dryRun validates and changes nothing.
	bad := append(append([]byte(nil), cfg...), []byte("  Post.nope: {from: title}\n")...)
	if _, err := c.Write(bad, nil, true); err == nil || !strings.Contains(err.Error(), `type Post has no field "nope"`) {
		t.Fatalf("dry run of a bad change: %v", err)
	}
	if got, _ := os.ReadFile(file); !bytes.Equal(got, cfg) || c.Current() != first {
		t.Fatal("a dry run changed something")
	}

	good := bytes.Replace(cfg, []byte("User.company: {from: company.name}"), []byte("User.company: {from: username}"), 1)
	sg, err := c.Write(good, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if sg.Version == first.Version {
		t.Fatal("version did not change")
	}
	if got, _ := os.ReadFile(file); !bytes.Equal(got, good) {
		t.Error("the change was not persisted")
	}
	if _, raw := env.postRaw(`{ user(id: 1) { company } }`, nil); string(raw) != `{"data":{"user":{"company":"Bret"}}}` {
		t.Errorf("after the change: %s", raw)
	}
	if _, err := c.Rollback(first.Version); err != nil {
		t.Fatal(err)
	}
	if _, raw := env.postRaw(`{ user(id: 1) { company } }`, nil); string(raw) != `{"data":{"user":{"company":"Company 1"}}}` {
		t.Errorf("after rollback: %s", raw)
	}
	if _, err := c.Rollback("nope"); err == nil {
		t.Error("rollback to an unknown version must fail")
	}
}

// TestConfigs_RollbackRestoresSDL: a rollback restores the SDL files of the version too, not only the
// configuration file, so a schema extension changed after that version comes back as it was.
func TestConfigs_RollbackRestoresSDL(t *testing.T) {
	env, c, file, _ := watched(t)
	cfg, _ := os.ReadFile(file)
	cfg, err := schema.AddSchemaFile(cfg, "ext.graphqls")
	if err != nil {
		t.Fatal(err)
	}
	v1SDL := []byte("extend type User { handle: String }\n")
	v1, err := c.Write(append(append([]byte(nil), cfg...), "  User.handle: {from: username}\n"...), map[string][]byte{"ext.graphqls": v1SDL}, false)
	if err != nil {
		t.Fatal(err)
	}
	v2SDL := []byte("extend type User { handle: String, city: String }\n")
	_, err = c.Write(append(append([]byte(nil), cfg...), "  User.handle: {from: username}\n  User.city: {from: address.city}\n"...),
		map[string][]byte{"ext.graphqls": v2SDL}, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, raw := env.postRaw(`{ user(id: 1) { city } }`, nil); string(raw) != `{"data":{"user":{"city":"Gwenborough"}}}` {
		t.Fatalf("v2: %s", raw)
	}
	if _, err := c.Rollback(v1.Version); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(filepath.Dir(file), "ext.graphqls")); !bytes.Equal(got, v1SDL) {
		t.Errorf("ext.graphqls after rollback: %q, want %q", got, v1SDL)
	}
	if c.Current().Version != v1.Version {
		t.Errorf("running version %s after rollback, want %s", c.Current().Version, v1.Version)
	}
	if _, raw := env.postRaw(`{ user(id: 1) { handle } }`, nil); string(raw) != `{"data":{"user":{"handle":"Bret"}}}` {
		t.Errorf("v1 after rollback: %s", raw)
	}
	if status, raw := env.postRaw(`{ user(id: 1) { city } }`, nil); status != 200 || !strings.Contains(string(raw), "GRAPHQL_VALIDATION_FAILED") {
		t.Errorf("city is still served after the rollback: %d %s", status, raw)
	}
}

// replaceFile swaps path's content at once, as editors do: a temporary file renamed over it.
func replaceFile(path string, data []byte) error {
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
