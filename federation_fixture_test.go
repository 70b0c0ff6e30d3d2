package main

// The federation fixtures of issue 14: real Federation 2 subgraphs (testdata/federation/<case>/subgraphs.mjs,
// served by node testdata/js/federation/subgraphs.mjs), the supergraph composed from them by
// @apollo/composition (<case>/supergraph.graphql, committed), and for each query of <case>/queries what
// Apollo's @apollo/gateway answered and how many requests each subgraph received (<name>.expected.json,
// written by testdata/js/federation/golden.mjs). This file starts the subgraphs and reads the cases; the
// federation tests compare Conflux's answers and subgraph calls with the gateway's.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fedCasesDir holds one directory per federation case.
const fedCasesDir = "testdata/federation"

// fedDownURL is where a case's down subgraphs (`down: true` in its subgraphs.mjs) are sent: port 1 on
// loopback, where nothing listens, as golden.mjs does (testdata/js/federation/case.mjs DOWN_BASE).
const fedDownURL = "http://127.0.0.1:1/"

// fedURL matches the placeholder url of a subgraph in a committed supergraph; group 1 is its name.
var fedURL = regexp.MustCompile(`"http://subgraphs\.invalid/([a-z][a-z0-9_]*)"`)

// subgraphs is one case's subgraphs, all served by one node process on one loopback port.
type subgraphs struct {
	base string          // http://127.0.0.1:PORT
	down map[string]bool // subgraphs the supergraph sends to a closed port
}

// startSubgraphs runs `node testdata/js/federation/subgraphs.mjs <caseDir> 0` and returns once it listens.
// The process is stopped (its stdin closed, then killed if it lingers) when the test ends. Without node or
// testdata/js/node_modules the test is skipped, or fails under CI (see nodeWith).
func startSubgraphs(t *testing.T, caseDir string) *subgraphs {
	t.Helper()
	node := nodeWith(t, "@apollo/subgraph")
	cmd := exec.Command(node, filepath.Join("testdata", "js", "federation", "subgraphs.mjs"), caseDir, "0")
	var stderr syncBuffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start subgraphs of %s: %v", caseDir, err)
	}
	// One goroutine owns stdout: it hands over the first line, drains the rest, then reaps the process.
	lines := make(chan string, 1)
	exited := make(chan struct{})
	go func() {
		r := bufio.NewReader(stdout)
		line, _ := r.ReadString('\n')
		lines <- line
		_, _ = io.Copy(io.Discard, r)
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		stdin.Close() // subgraphs.mjs exits when its stdin closes
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() && stderr.Len() > 0 {
			t.Logf("subgraphs of %s, stderr:\n%s", caseDir, stderr.String())
		}
	})

	type ready struct {
		Port int      `json:"port"`
		Down []string `json:"down"`
	}
	var r ready
	select {
	case line := <-lines:
		if err := json.Unmarshal([]byte(line), &r); err != nil || r.Port == 0 {
			t.Fatalf("subgraphs of %s: first line %q: %v\n%s", caseDir, line, err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("subgraphs of %s did not start in 30s\n%s", caseDir, stderr.String())
	}
	sg := &subgraphs{base: "http://127.0.0.1:" + strconv.Itoa(r.Port), down: map[string]bool{}}
	for _, name := range r.Down {
		sg.down[name] = true
	}
	return sg
}

// URL is where the subgraph name is served (down subgraphs too: see Supergraph for where they are sent).
func (s *subgraphs) URL(name string) string { return s.base + "/" + name }

// Calls returns the requests each subgraph received since the start or the last Reset; every subgraph of
// the case is listed, with 0 when it got none.
func (s *subgraphs) Calls(t *testing.T) map[string]int {
	t.Helper()
	var calls map[string]int
	s.getJSON(t, "/_calls", &calls)
	return calls
}

// Reset zeroes the call counters and restores the case's mutable data (mutations change it).
func (s *subgraphs) Reset(t *testing.T) {
	t.Helper()
	resp, err := http.Post(s.base+"/_calls/reset", "application/json", nil)
	if err != nil {
		t.Fatalf("reset subgraphs: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("reset subgraphs: status %d", resp.StatusCode)
	}
}

// Requests returns the last request bodies each subgraph received (at most 20, oldest first): for the
// messages of a failing test.
func (s *subgraphs) Requests(t *testing.T) map[string][]json.RawMessage {
	t.Helper()
	var reqs map[string][]json.RawMessage
	s.getJSON(t, "/_requests", &reqs)
	return reqs
}

func (s *subgraphs) getJSON(t *testing.T, path string, v any) {
	t.Helper()
	resp, err := http.Get(s.base + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d: %v", path, resp.StatusCode, err)
	}
}

// Supergraph writes a copy of caseDir/supergraph.graphql whose join__graph urls point at the running
// subgraphs (down ones at a closed port) into a temporary directory, and returns its path. A conflux.yaml
// written beside it can name it as `supergraph: supergraph.graphql`.
func (s *subgraphs) Supergraph(t *testing.T, caseDir string) string {
	t.Helper()
	sdl, err := os.ReadFile(filepath.Join(caseDir, "supergraph.graphql"))
	if err != nil {
		t.Fatal(err)
	}
	out := fedURL.ReplaceAllFunc(sdl, func(m []byte) []byte {
		name := string(fedURL.FindSubmatch(m)[1])
		if s.down[name] {
			return []byte(`"` + fedDownURL + name + `"`)
		}
		return []byte(`"` + s.URL(name) + `"`)
	})
	path := filepath.Join(t.TempDir(), "supergraph.graphql")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// fedQuery is one query of a federation case and what @apollo/gateway did with it.
type fedQuery struct {
	Name      string         // file name without .graphql: what the query tests
	Query     string         // the document
	Variables map[string]any // from <name>.variables.json; nil without one
	// From <name>.expected.json:
	Status   int             // the gateway's HTTP status (400 for a query it refused)
	Response json.RawMessage // the gateway's JSON answer, exactly
	Calls    map[string]int  // requests each subgraph received, every subgraph listed
}

// loadFedCase reads caseDir/queries, in name order. A query without its expected file fails the test.
func loadFedCase(t *testing.T, caseDir string) []fedQuery {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(caseDir, "queries", "*.graphql"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	var out []fedQuery
	for _, file := range files {
		stem := strings.TrimSuffix(file, ".graphql")
		q := fedQuery{Name: filepath.Base(stem)}
		doc, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		q.Query = string(doc)
		if raw, err := os.ReadFile(stem + ".variables.json"); err == nil {
			if err := json.Unmarshal(raw, &q.Variables); err != nil {
				t.Fatalf("%s.variables.json: %v", stem, err)
			}
		} else if !os.IsNotExist(err) {
			t.Fatal(err)
		}
		raw, err := os.ReadFile(stem + ".expected.json")
		if err != nil {
			t.Fatalf("%v (regenerate: node testdata/js/federation/golden.mjs %s)", err, caseDir)
		}
		var exp struct {
			Status   int             `json:"status"`
			Response json.RawMessage `json:"response"`
			Calls    map[string]int  `json:"calls"`
		}
		if err := json.Unmarshal(raw, &exp); err != nil {
			t.Fatalf("%s.expected.json: %v", stem, err)
		}
		q.Status, q.Response, q.Calls = exp.Status, exp.Response, exp.Calls
		out = append(out, q)
	}
	return out
}

// fedCases lists the case directories under testdata/federation.
func fedCases(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(fedCasesDir)
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, filepath.Join(fedCasesDir, e.Name()))
		}
	}
	return dirs
}

// TestFedFixtures checks the fixtures themselves: every case's subgraphs start and answer
// { _service { sdl } }, the server counts and resets their requests, the committed supergraph names exactly
// these subgraphs, and every query has a golden listing the calls of every subgraph.
func TestFedFixtures(t *testing.T) {
	cases := fedCases(t)
	if len(cases) < 6 {
		t.Fatalf("only %d federation cases: %v", len(cases), cases)
	}
	for _, dir := range cases {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			sg := startSubgraphs(t, dir)
			names := slices.Sorted(maps.Keys(sg.Calls(t)))
			if len(names) < 2 {
				t.Fatalf("subgraphs %v: a federation case has two at least", names)
			}
			for _, name := range names {
				status, body := postJSON(t, sg.URL(name), `{"query":"{ _service { sdl } }"}`)
				var res struct {
					Data struct {
						Service struct{ SDL string } `json:"_service"`
					}
					Errors []json.RawMessage
				}
				if err := json.Unmarshal(body, &res); err != nil || status != http.StatusOK || len(res.Errors) > 0 {
					t.Fatalf("%s: _service: %d %s (%v)", name, status, body, err)
				}
				if !strings.Contains(res.Data.Service.SDL, "@link(url: \"https://specs.apollo.dev/federation/v2.") {
					t.Errorf("%s: _service.sdl is not a Federation 2 schema:\n%s", name, res.Data.Service.SDL)
				}
			}
			calls := sg.Calls(t)
			for _, name := range names {
				if calls[name] != 1 {
					t.Errorf("calls of %s after one _service request: %d (all: %v)", name, calls[name], calls)
				}
			}
			if reqs := sg.Requests(t); len(reqs[names[0]]) != 1 || !bytes.Contains(reqs[names[0]][0], []byte("_service")) {
				t.Errorf("requests of %s: %s", names[0], reqs[names[0]])
			}
			sg.Reset(t)
			for name, n := range sg.Calls(t) {
				if n != 0 {
					t.Errorf("calls of %s after Reset: %d", name, n)
				}
			}

			path := sg.Supergraph(t, dir)
			sdl, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			committed, err := os.ReadFile(filepath.Join(dir, "supergraph.graphql"))
			if err != nil {
				t.Fatal(err)
			}
			var graphs []string
			for _, m := range fedURL.FindAllSubmatch(committed, -1) {
				graphs = append(graphs, string(m[1]))
			}
			slices.Sort(graphs)
			if !slices.Equal(graphs, names) {
				t.Errorf("supergraph.graphql joins %v, the case serves %v: recompose with golden.mjs", graphs, names)
			}
			if bytes.Contains(sdl, []byte("subgraphs.invalid")) {
				t.Errorf("the rewritten supergraph still names subgraphs.invalid")
			}
			for _, name := range names {
				want := `"` + sg.URL(name) + `"`
				if sg.down[name] {
					want = `"` + fedDownURL + name + `"`
				}
				if !bytes.Contains(sdl, []byte(want)) {
					t.Errorf("the rewritten supergraph lacks %s", want)
				}
			}

			queries := loadFedCase(t, dir)
			if len(queries) < 5 {
				t.Errorf("only %d queries", len(queries))
			}
			for _, q := range queries {
				if got := slices.Sorted(maps.Keys(q.Calls)); !slices.Equal(got, names) {
					t.Errorf("%s: expected calls name %v, the case serves %v", q.Name, got, names)
				}
				if q.Status != http.StatusOK && q.Status != http.StatusBadRequest || !json.Valid(q.Response) {
					t.Errorf("%s: status %d, response %s", q.Name, q.Status, q.Response)
				}
			}
		})
	}
}

// postJSON POSTs body to url and returns the status and the response body.
func postJSON(t *testing.T, url, body string) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	return resp.StatusCode, raw
}

// syncBuffer is a bytes.Buffer safe for the process writing stderr while a test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
