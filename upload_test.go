package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conflux-gql/conflux/resolvers"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"
)

const uploadSDL = `scalar Upload
type Query { ok: Boolean }
type Receipt { files: [FileInfo!]! fields: [String!]! }
type FileInfo { field: String! filename: String! contentType: String! size: Int! sha256: String! }
type Mutation {
  upload(file: Upload!, text: String): Receipt
  uploadMany(files: [Upload!]!): Receipt
}
`

// fileBackend is a REST backend that reads a multipart/form-data body as a stream, hashing each file, and
// answers what it received.
// The first failFirst calls read part of the body and answer 503.
func fileBackend(t *testing.T, failFirst int64) (*httptest.Server, *atomic.Int64) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= failFirst {
			io.CopyN(io.Discard, r.Body, 1000)
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		mr, err := r.MultipartReader()
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		files := []map[string]any{}
		fields := []string{}
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			if p.FileName() == "" {
				v, _ := io.ReadAll(p)
				fields = append(fields, p.FormName()+"="+string(v))
				continue
			}
			h := sha256.New()
			n, err := io.Copy(h, p)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			files = append(files, map[string]any{"field": p.FormName(), "filename": p.FileName(),
				"contentType": p.Header.Get("Content-Type"), "size": n, "sha256": hex.EncodeToString(h.Sum(nil))})
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"files": files, "fields": fields})
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

// uploadEnv serves the upload schema with server settings (a YAML flow mapping body) in front of a file backend.
func uploadEnv(t *testing.T, server string) (*testEnv, *atomic.Int64) {
	t.Helper()
	return uploadEnvWith(t, server, 0, "", "")
}

// uploadEnvWith adds keys to the source's http mapping and to Mutation.upload's binding.
func uploadEnvWith(t *testing.T, server string, failFirst int64, sourceKeys, bindingKeys string) (*testEnv, *atomic.Int64) {
	t.Helper()
	backend, calls := fileBackend(t, failFirst)
	// Spool to a directory of the test's own: other test processes on the machine spool to the shared one, and
	// assertNoSpool must see only this test's files.
	t.Setenv("TMPDIR", t.TempDir())
	dir := t.TempDir()
	cfg := fmt.Sprintf(`schema: [s.graphqls]
server: {%s}
sources:
  files: {http: {endpoints: [%s]%s}}
bindings:
  Query.ok: {value: true}
  Mutation.upload: {source: files, method: POST, path: /upload, body: {multipart: {file: "{{args.file}}", description: "{{args.text}}", kind: "report"}}%s}
  Mutation.uploadMany: {source: files, method: POST, path: /upload, body: {multipart: {file: "{{args.files}}"}}}
`, server, backend.URL, sourceKeys, bindingKeys)
	if err := os.WriteFile(filepath.Join(dir, "s.graphqls"), []byte(uploadSDL), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "conflux.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return serveConfig(t, filepath.Join(dir, "conflux.yaml"), nil), calls
}

type uploadPart struct {
	name, filename string
	body           io.Reader
}

// writeUpload writes a multipart request: operations, map, then the parts, as a stream.
func writeUpload(w *multipart.Writer, operations, fileMap string, parts []uploadPart) error {
	if operations != "" {
		if err := w.WriteField("operations", operations); err != nil {
			return err
		}
	}
	if fileMap != "" {
		if err := w.WriteField("map", fileMap); err != nil {
			return err
		}
	}
	for _, p := range parts {
		pw, err := w.CreateFormFile(p.name, p.filename)
		if err != nil {
			return err
		}
		if _, err := io.Copy(pw, p.body); err != nil {
			return err
		}
	}
	return w.Close()
}

// sendUpload posts a streamed multipart request and returns the status and the decoded answer.
func sendUpload(t *testing.T, e *testEnv, operations, fileMap string, parts ...uploadPart) (int, map[string]any) {
	t.Helper()
	return sendUploadTo(t, e.srv.URL, operations, fileMap, parts...)
}

// sendUploadTo posts the request to base's /graphql, chunked (no Content-Length).
func sendUploadTo(t *testing.T, base, operations, fileMap string, parts ...uploadPart) (int, map[string]any) {
	t.Helper()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() { pw.CloseWithError(writeUpload(mw, operations, fileMap, parts)) }()
	req, _ := http.NewRequest(http.MethodPost, base+"/graphql", pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("answer is not JSON (status %d): %s", resp.StatusCode, raw)
	}
	return resp.StatusCode, out
}

// pattern is a deterministic pseudo-random stream of n bytes, never held whole.
type pattern struct{ n, off int64 }

func (p *pattern) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	b = b[:min(int64(len(b)), p.n-p.off)]
	for i := range b {
		x := uint64(p.off + int64(i))
		b[i] = byte((x * 2654435761) >> 13)
	}
	p.off += int64(len(b))
	return len(b), nil
}

func patternSum(n int64) string {
	h := sha256.New()
	io.Copy(h, &pattern{n: n})
	return hex.EncodeToString(h.Sum(nil))
}

const uploadOne = `{"query":"mutation($f: Upload!, $t: String) { upload(file: $f, text: $t) { files { field filename contentType size sha256 } fields } }","variables":{"f":null,"t":"quarterly"}}`

func TestUpload_ReachesRESTBackendStreamed(t *testing.T) {
	// maxBodyBytes is far below the file: the upload never goes through the buffered body path.
	e, calls := uploadEnv(t, "maxBodyBytes: 4096, uploads: true")
	const size = 10_000_000 // a 10 MB file, within the default limits
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	status, out := sendUpload(t, e, uploadOne, `{"0":["variables.f"]}`,
		uploadPart{name: "0", filename: "report.bin", body: &pattern{n: size}})
	runtime.ReadMemStats(&after)
	if status != http.StatusOK || out["errors"] != nil {
		t.Fatalf("status %d: %v", status, out)
	}
	got := out["data"].(map[string]any)["upload"].(map[string]any)
	files := got["files"].([]any)
	if len(files) != 1 {
		t.Fatalf("files: %v", files)
	}
	f := files[0].(map[string]any)
	want := map[string]any{"field": "file", "filename": "report.bin", "contentType": "application/octet-stream",
		"size": float64(size), "sha256": patternSum(size)}
	for k, v := range want {
		if f[k] != v {
			t.Errorf("file %s = %v, want %v", k, f[k], v)
		}
	}
	if fields := fmt.Sprint(got["fields"]); fields != "[description=quarterly kind=report]" {
		t.Errorf("form fields = %s", fields)
	}
	if calls.Load() != 1 {
		t.Errorf("backend calls = %d", calls.Load())
	}
	// Client, server and backend all run in this process: had any of them held the file whole, the
	// allocations would pass its size.
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("allocated %d bytes for a %d-byte upload", alloc, size)
	if alloc > size/2 {
		t.Errorf("allocated %d bytes for a %d-byte upload: the file was buffered", alloc, size)
	}
	assertNoSpool(t)
}

// A retried backend request sends the whole file again: the spooled file is opened anew for each attempt.
func TestUpload_RetrySendsTheFileAgain(t *testing.T) {
	e, calls := uploadEnvWith(t, "uploads: true", 1, ", retry: {attempts: 3, backoff: 1ms}", ", retrySafe: true")
	for i, size := range []int64{300_000, 300_001} {
		status, out := sendUpload(t, e, uploadOne, `{"0":["variables.f"]}`,
			uploadPart{name: "0", filename: "r.bin", body: &pattern{n: size}})
		if status != http.StatusOK || out["errors"] != nil {
			t.Fatalf("status %d: %v", status, out)
		}
		f := out["data"].(map[string]any)["upload"].(map[string]any)["files"].([]any)[0].(map[string]any)
		if f["sha256"] != patternSum(size) || f["size"] != float64(size) {
			t.Errorf("upload %d: file = %v", i, f)
		}
	}
	if calls.Load() != 3 {
		t.Errorf("backend calls = %d, want 3 (one refused, then each file)", calls.Load())
	}
}

// Served as serve serves it, behind the edge, which reads bodies into memory before a request takes its
// in-flight slot: an upload far over maxBodyBytes and the edge's body budget (maxInFlight × maxBodyBytes) still
// streams through.
func TestUpload_ThroughTheEdge(t *testing.T) {
	env, _ := uploadEnv(t, "maxBodyBytes: 4096, maxInFlight: 2, uploads: true")
	s := env.rt.Supergraph().Settings
	m, err := newEdgeMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	e := newEdge(edgeConfig{Name: edgeMain, Settings: s, MaxConnections: s.MaxConnections, Metrics: m})
	ln, hs, err := e.Listen("127.0.0.1:0", env.srv.Config.Handler)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	t.Cleanup(func() { hs.Close(); <-done })
	const size = 5_000_000
	status, out := sendUploadTo(t, "http://"+ln.Addr().String(), uploadOne, `{"0":["variables.f"]}`,
		uploadPart{name: "0", filename: "r.bin", body: &pattern{n: size}})
	if status != http.StatusOK || out["errors"] != nil {
		t.Fatalf("status %d: %v", status, out)
	}
	f := out["data"].(map[string]any)["upload"].(map[string]any)["files"].([]any)[0].(map[string]any)
	if f["sha256"] != patternSum(size) {
		t.Errorf("file = %v", f)
	}
	// A JSON body over maxBodyBytes is still refused.
	req, _ := http.NewRequest(http.MethodPost, "http://"+ln.Addr().String()+"/graphql", strings.NewReader(`{"query":"{ ok }","x":"`+strings.Repeat("a", 5000)+`"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("JSON body over maxBodyBytes: %d", resp.StatusCode)
	}
}

func TestUpload_ManyFiles(t *testing.T) {
	e, _ := uploadEnv(t, "uploads: true")
	ops := `{"query":"mutation($fs: [Upload!]!) { uploadMany(files: $fs) { files { filename size sha256 } } }","variables":{"fs":[null,null]}}`
	status, out := sendUpload(t, e, ops, `{"a":["variables.fs.0"],"b":["variables.fs.1"]}`,
		uploadPart{name: "a", filename: "a.txt", body: strings.NewReader("alpha")},
		uploadPart{name: "b", filename: "b.txt", body: &pattern{n: 70000}})
	if status != http.StatusOK || out["errors"] != nil {
		t.Fatalf("status %d: %v", status, out)
	}
	files := out["data"].(map[string]any)["uploadMany"].(map[string]any)["files"].([]any)
	if len(files) != 2 || files[0].(map[string]any)["filename"] != "a.txt" || files[1].(map[string]any)["sha256"] != patternSum(70000) {
		t.Fatalf("files = %v", files)
	}
}

func TestUpload_Refused(t *testing.T) {
	file := func(name string, n int64) uploadPart {
		return uploadPart{name: name, filename: name + ".bin", body: &pattern{n: n}}
	}
	cases := []struct {
		name, server, ops, fileMap string
		parts                      []uploadPart
		status                     int
		code, msg                  string
	}{
		{"off by default", "", uploadOne, `{"0":["variables.f"]}`, []uploadPart{file("0", 10)},
			http.StatusUnsupportedMediaType, codeBadRequest, "application/json"},
		{"file too large", "uploads: {maxFileBytes: 1000}", uploadOne, `{"0":["variables.f"]}`, []uploadPart{file("0", 1001)},
			http.StatusRequestEntityTooLarge, codeRequestTooLarge, "maxFileBytes"},
		{"files too large together", "uploads: {maxTotalBytes: 1500}",
			`{"query":"mutation($fs: [Upload!]!) { uploadMany(files: $fs) { fields } }","variables":{"fs":[null,null]}}`,
			`{"a":["variables.fs.0"],"b":["variables.fs.1"]}`, []uploadPart{file("a", 1000), file("b", 1000)},
			http.StatusRequestEntityTooLarge, codeRequestTooLarge, "maxTotalBytes"},
		{"too many files", "uploads: {maxFiles: 1}",
			`{"query":"mutation($fs: [Upload!]!) { uploadMany(files: $fs) { fields } }","variables":{"fs":[null,null]}}`,
			`{"a":["variables.fs.0"],"b":["variables.fs.1"]}`, []uploadPart{file("a", 1), file("b", 1)},
			http.StatusRequestEntityTooLarge, codeRequestTooLarge, "maxFiles"},
		{"no operations", "uploads: true", "", `{"0":["variables.f"]}`, []uploadPart{file("0", 1)},
			http.StatusBadRequest, codeBadRequest, "operations"},
		{"operations not JSON", "uploads: true", "{query", `{"0":["variables.f"]}`, []uploadPart{file("0", 1)},
			http.StatusBadRequest, codeBadRequest, "operations is not a GraphQL request"},
		{"map not JSON", "uploads: true", uploadOne, `["variables.f"]`, []uploadPart{file("0", 1)},
			http.StatusBadRequest, codeBadRequest, "map is not"},
		{"map missing", "uploads: true", uploadOne, "", []uploadPart{file("0", 1)},
			http.StatusBadRequest, codeBadRequest, `"map"`},
		{"not a variable path", "uploads: true", uploadOne, `{"0":["query"]}`, []uploadPart{file("0", 1)},
			http.StatusBadRequest, codeBadRequest, "not a variable path"},
		{"path to no variable", "uploads: true", uploadOne, `{"0":["variables.g"]}`, []uploadPart{file("0", 1)},
			http.StatusBadRequest, codeBadRequest, "names no variable value"},
		{"map names a missing part", "uploads: true", uploadOne, `{"0":["variables.f"]}`, nil,
			http.StatusBadRequest, codeBadRequest, "does not carry"},
		{"part not in map", "uploads: true", uploadOne, `{"0":["variables.f"]}`, []uploadPart{file("0", 1), file("1", 1)},
			http.StatusBadRequest, codeBadRequest, "map does not name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, calls := uploadEnv(t, c.server)
			status, out := sendUpload(t, e, c.ops, c.fileMap, c.parts...)
			if status != c.status || firstCode(out) != c.code || !strings.Contains(fmt.Sprint(out["errors"]), c.msg) {
				t.Fatalf("got %d %v, want %d %s with %q", status, out, c.status, c.code, c.msg)
			}
			if _, ok := out["data"]; ok {
				t.Errorf("a refused request has data: %v", out)
			}
			if calls.Load() != 0 {
				t.Errorf("the backend was called")
			}
			assertNoSpool(t)
		})
	}
}

// A client that goes away mid-upload leaves no temporary file and no goroutine behind.
func TestUpload_ClientLeaves(t *testing.T) {
	leaks := goleak.IgnoreCurrent()
	e, calls := uploadEnv(t, "uploads: true")
	conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("operations", uploadOne)
	mw.WriteField("map", `{"0":["variables.f"]}`)
	pw, _ := mw.CreateFormFile("0", "big.bin")
	io.Copy(pw, &pattern{n: 200_000})
	fmt.Fprintf(conn, "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n",
		mw.FormDataContentType(), 5_000_000)
	conn.Write(body.Bytes()) // part of the file, then gone
	deadline := time.Now().Add(5 * time.Second)
	for len(spooled(t)) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if len(spooled(t)) == 0 {
		t.Fatal("the file was never spooled")
	}
	conn.Close()
	for len(spooled(t)) > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	assertNoSpool(t)
	if calls.Load() != 0 {
		t.Errorf("the backend was called")
	}
	e.srv.CloseClientConnections()
	goleak.VerifyNone(t, leaks, goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"), goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"))
}

func spooled(t *testing.T) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(os.TempDir(), "conflux-upload-*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func assertNoSpool(t *testing.T) {
	t.Helper()
	if m := spooled(t); len(m) > 0 {
		t.Errorf("temporary files left: %v", m)
	}
}

func FuzzUploadMap(f *testing.F) {
	f.Add([]byte(uploadOne), []byte(`{"0":["variables.f"]}`))
	f.Add([]byte(`{"query":"q","variables":{"fs":[null,{"a":[null]}]}}`), []byte(`{"a":["variables.fs.0"],"b":["variables.fs.1.a.0","variables.fs.1.a.0"]}`))
	f.Add([]byte(`[{"query":"q"}]`), []byte(`{}`))
	f.Add([]byte(`{"query":"q","variables":null}`), []byte(`{"0":["variables"]}`))
	f.Fuzz(func(t *testing.T, ops, m []byte) {
		params, targets, err := parseUploadMap(ops, m, 3)
		if err != nil {
			if _, ok := err.(*uploadError); !ok {
				t.Fatalf("error of another type: %T %v", err, err)
			}
			return
		}
		if len(targets) > 3 {
			t.Fatalf("%d files past maxFiles", len(targets))
		}
		up := &resolvers.Upload{}
		for _, paths := range targets {
			for _, p := range paths {
				// Every accepted path can be set, and then holds the upload.
				if err := setUploadPath(params.Variables, p, up); err != nil {
					t.Fatalf("accepted path %v cannot be set: %v", p, err)
				}
			}
		}
	})
}
