package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// packages are the server binaries the benchmark runs: Conflux and the baselines.
var packages = map[string]string{
	"conflux":     "github.com/conflux-gql/conflux",
	"baseline":    "github.com/conflux-gql/conflux/bench/baseline",
	"baseline360": "github.com/conflux-gql/conflux/bench/baseline360",
}

// build compiles the named binaries (keys of packages) into dir, without the race detector, and returns their
// paths by name.
func build(ctx context.Context, root, dir string, names []string) (map[string]string, error) {
	out := map[string]string{}
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	for _, name := range names {
		pkg := packages[name]
		if _, ok := out[name]; ok || pkg == "" {
			continue
		}
		args = append(args, pkg)
		out[name] = filepath.Join(dir, filepath.Base(pkg))
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go build: %w", err)
	}
	return out, nil
}

// server is one gateway under test, running as its own process so its CPU time and peak memory are its own.
type server struct {
	name string
	url  string // base URL, e.g. http://127.0.0.1:18080
	cmd  *exec.Cmd
	logs bytes.Buffer  // the first 64 KiB of its stderr; read only after it exited
	done chan struct{} // closed when the process has exited
}

// start runs bin with args, and env added to this process's environment, and waits until GET url/readyz answers
// 200.
func start(ctx context.Context, name, bin, url string, env []string, args ...string) (*server, error) {
	s := &server{name: name, url: url, cmd: exec.Command(bin, args...), done: make(chan struct{})}
	if len(env) > 0 {
		s.cmd.Env = append(os.Environ(), env...)
	}
	s.cmd.Stdout = io.Discard
	s.cmd.Stderr = &limitedWriter{w: &s.logs, n: 64 << 10}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		_ = s.cmd.Wait()
		close(s.done)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-s.done:
			return nil, fmt.Errorf("%s exited before it was ready (%v):\n%s", name, s.cmd.ProcessState, s.logs.String())
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if resp, err := http.Get(url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("%s not ready after 30s:\n%s", name, s.logs.String())
		}
	}
}

// stop ends the process: SIGTERM, then SIGKILL if it is still running after 5 s.
func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// usage is what a process has consumed so far, read from /proc (Linux).
type usage struct {
	cpu     time.Duration // user + system
	peakRSS int64         // bytes (VmHWM)
	alloc   float64       // Go heap bytes allocated in total (go_memstats_alloc_bytes_total of /metrics)
}

// clockTick is USER_HZ, the unit of /proc/<pid>/stat's times: 100 on every Linux architecture Go supports.
const clockTick = 10 * time.Millisecond

func (s *server) usage() (usage, error) {
	var u usage
	pid := s.cmd.Process.Pid
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return u, fmt.Errorf("cpu time of %s: %w (the benchmark reads /proc: Linux only)", s.name, err)
	}
	// The command name may hold spaces: fields count from after its closing parenthesis.
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	if len(fields) < 13 {
		return u, fmt.Errorf("cpu time of %s: short /proc stat", s.name)
	}
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	u.cpu = time.Duration(utime+stime) * clockTick

	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return u, err
	}
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			u.peakRSS = kb << 10
		}
	}
	u.alloc, err = s.metric("go_memstats_alloc_bytes_total")
	return u, err
}

// metric reads one unlabelled counter or gauge from the server's Prometheus /metrics.
func (s *server) metric(name string) (float64, error) {
	resp, err := http.Get(s.url + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(rest), 64)
		}
	}
	return 0, fmt.Errorf("%s: no metric %s at /metrics", s.name, name)
}

// limitedWriter keeps the first n bytes written to it, so a chatty process can't grow the driver's memory.
type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(len(p), l.n)
		l.n -= k
		_, _ = l.w.Write(p[:k])
	}
	return len(p), nil
}
