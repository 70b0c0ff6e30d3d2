package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// checkout is another checkout of Conflux (-compare DIR), e.g. a git worktree of the commit before a change,
// measured side by side with this tree's Conflux in the same run.
type checkout struct {
	dir     string // absolute
	rev     string // short git revision, "+dirty" when tracked files differ from it; the directory's name outside git
	subject string // the commit's subject line, if any, cut at 72 characters
	name    string // the server's name in the table: "conflux (compare: <rev>)"
	bin     string // built by build
}

// confluxModule is the module path the checkout's go.mod must declare.
const confluxModule = "github.com/conflux-gql/conflux"

// compareCheckout checks that dir holds Conflux's module and reads its revision, before anything is built.
func compareCheckout(ctx context.Context, dir string) (*checkout, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("-compare: %w", err)
	}
	mod, err := os.ReadFile(filepath.Join(abs, "go.mod"))
	if err != nil {
		return nil, fmt.Errorf("-compare %s: not a checkout of Conflux: %w", dir, err)
	}
	if m := modulePath(mod); m != confluxModule {
		return nil, fmt.Errorf("-compare %s: not a checkout of Conflux: its go.mod declares module %q, want %q", dir, m, confluxModule)
	}
	c := &checkout{dir: abs, rev: filepath.Base(abs)}
	git := func(args ...string) (string, error) {
		out, err := exec.CommandContext(ctx, "git", append([]string{"-C", abs}, args...)...).Output()
		return strings.TrimSpace(string(out)), err
	}
	if rev, err := git("rev-parse", "--short", "HEAD"); err == nil && rev != "" {
		c.rev = rev
		c.subject, _ = git("log", "-1", "--format=%s")
		if r := []rune(c.subject); len(r) > 72 {
			c.subject = string(r[:71]) + "…"
		}
		if st, err := git("status", "--porcelain", "--untracked-files=no"); err == nil && st != "" {
			c.rev += "+dirty"
		}
	}
	c.name = "conflux (compare: " + c.rev + ")"
	return c, nil
}

// modulePath is the module directive of a go.mod.
func modulePath(gomod []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module"); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}

// build compiles the checkout's Conflux in its own directory (its own go.mod and dependencies) into dir, under
// a name of its own, without the race detector.
func (c *checkout) build(ctx context.Context, dir string) error {
	c.bin = filepath.Join(dir, "conflux-compare")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", c.bin, ".")
	cmd.Dir = c.dir
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("-compare %s: go build: %w", c.dir, err)
	}
	return nil
}

// startCompare runs the checkout's Conflux on config and a free port, named like name with the checkout's
// revision in place of "conflux". It returns nil, nil without -compare.
func (b *bench) startCompare(ctx context.Context, name, config string) (*server, error) {
	if b.cmp == nil {
		return nil, nil
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	name = b.cmp.name + strings.TrimPrefix(name, "conflux")
	return start(ctx, name, b.cmp.bin, "http://"+addr, nil, "--addr", addr, "--config", config)
}

// compareExampleConfig is exampleConfig for the compared checkout: from its own copy of the example, so a key
// this tree added to the example's conflux.yaml can't keep the older server from loading it. Without -compare
// it returns "".
func (b *bench) compareExampleConfig(example, dir string, urls map[string]string, dedup bool) (string, error) {
	if b.cmp == nil {
		return "", nil
	}
	return exampleConfig(filepath.Join(b.cmp.dir, example), dir, urls, dedup)
}

// withCompare is servers with cmp added after the first, if there is one.
func withCompare(cmp *server, servers ...*server) []*server {
	if cmp == nil {
		return servers
	}
	return append([]*server{servers[0], cmp}, servers[1:]...)
}
