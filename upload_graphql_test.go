package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conflux-gql/conflux/schema"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// The public schema of the GraphQL upload tests; the upstream's (uploadUpstreamSDL) has the same types.
const uploadGraphQLSDL = `scalar Upload
type Query { ok: Boolean users: [User!]! echo(text: String): String }
type User { id: ID! avatar(file: Upload!): FileInfo }
type Receipt { files: [FileInfo!]! fields: [String!]! }
type FileInfo { field: String! filename: String! contentType: String! size: Int! sha256: String! }
type Account { setAvatar(file: Upload!): FileInfo setAvatars(files: [Upload!]!): Receipt }
type Mutation {
  upload(file: Upload!, text: String): Receipt
  uploadMany(files: [Upload!]!): Receipt
  account: Account
}
`

const uploadUpstreamSDL = `scalar Upload
type Query { echo(text: String): String users: [User!]! avatarOf(id: ID!, file: Upload!): FileInfo }
type User { id: ID! }
type Receipt { files: [FileInfo!]! fields: [String!]! }
type FileInfo { field: String! filename: String! contentType: String! size: Int! sha256: String! }
type Account { setAvatar(file: Upload!): FileInfo setAvatars(files: [Upload!]!): Receipt }
type Mutation {
  upload(file: Upload!, text: String): Receipt
  uploadMany(files: [Upload!]!): Receipt
  account: Account
}
`

// upstreamUpload is what the GraphQL upload backend received in one request.
type upstreamUpload struct {
	contentType string // "multipart" or "json"
	preflight   string // the Apollo-Require-Preflight header
	query       string
	variables   map[string]any
	fileMap     map[string][]string
	files       []map[string]any // in part order: field (the map's paths, comma-joined), filename, contentType, size, sha256
}

// gqlUploadBackend is an upstream GraphQL server that reads GraphQL multipart requests as a stream (operations,
// map, then each file hashed as it arrives) and JSON requests, records them, and answers with the data answer
// builds from what it received. The first failFirst calls read the body and answer 503.
type gqlUploadBackend struct {
	srv       *httptest.Server
	failFirst int64
	calls     atomic.Int64
	mu        sync.Mutex
	got       []upstreamUpload
}

func newGQLUploadBackend(t *testing.T, failFirst int64) *gqlUploadBackend {
	b := &gqlUploadBackend{failFirst: failFirst}
	b.srv = httptest.NewServer(http.HandlerFunc(b.serve))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *gqlUploadBackend) received() []upstreamUpload {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]upstreamUpload(nil), b.got...)
}

func (b *gqlUploadBackend) serve(w http.ResponseWriter, r *http.Request) {
	if b.calls.Add(1) <= b.failFirst {
		io.Copy(io.Discard, r.Body)
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	fail := func(err error) { http.Error(w, err.Error(), http.StatusBadRequest) }
	c := upstreamUpload{preflight: r.Header.Get("Apollo-Require-Preflight"), files: []map[string]any{}}
	var ops struct {
		Query     string         `json:"query"`
		Variables map[string]any `json:"variables"`
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/json":
		c.contentType = "json"
		if err := json.NewDecoder(r.Body).Decode(&ops); err != nil {
			fail(err)
			return
		}
	case "multipart/form-data":
		c.contentType = "multipart"
		mr, err := r.MultipartReader()
		if err != nil {
			fail(err)
			return
		}
		for i := 0; ; i++ {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				fail(err)
				return
			}
			switch {
			case i == 0 && p.FormName() == "operations":
				err = json.NewDecoder(p).Decode(&ops)
			case i == 1 && p.FormName() == "map":
				err = json.NewDecoder(p).Decode(&c.fileMap)
			case i >= 2:
				h := sha256.New()
				var n int64
				n, err = io.Copy(h, p)
				c.files = append(c.files, map[string]any{"field": strings.Join(c.fileMap[p.FormName()], ","),
					"filename": p.FileName(), "contentType": p.Header.Get("Content-Type"), "size": n, "sha256": hex.EncodeToString(h.Sum(nil))})
			default:
				err = fmt.Errorf("part %d is %q: operations, map, then files", i, p.FormName())
			}
			if err != nil {
				fail(err)
				return
			}
		}
		if len(c.files) != len(c.fileMap) {
			fail(fmt.Errorf("%d files for a map of %d", len(c.files), len(c.fileMap)))
			return
		}
	default:
		http.Error(w, "unsupported "+mt, http.StatusUnsupportedMediaType)
		return
	}
	c.query, c.variables = ops.Query, ops.Variables
	b.mu.Lock()
	b.got = append(b.got, c)
	b.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"data": answerUpload(c)})
}

// answerUpload answers each upstream root field the tests' documents call with what the backend received.
func answerUpload(c upstreamUpload) map[string]any {
	vars, _ := json.Marshal(c.variables)
	m, _ := json.Marshal(c.fileMap)
	receipt := map[string]any{"files": c.files, "fields": []string{"type=" + c.contentType, "vars=" + string(vars), "map=" + string(m)}}
	var first any
	if len(c.files) > 0 {
		first = c.files[0]
	}
	data := map[string]any{}
	switch q := c.query; {
	case strings.Contains(q, "r: upload(") || strings.Contains(q, "r: uploadMany("):
		data["r"] = receipt
	case strings.Contains(q, "r: account"):
		data["r"] = map[string]any{"setAvatar": first, "a": first, "b": first, "setAvatars": receipt}
	case strings.Contains(q, "r: users"):
		data["r"] = []any{map[string]any{"id": "1"}, map[string]any{"id": "2"}, map[string]any{"id": "3"}}
	case strings.Contains(q, "r: echo("):
		data["r"] = c.contentType + " " + string(vars)
	case strings.Contains(q, "_0: avatarOf("):
		for i := 0; strings.Contains(q, fmt.Sprintf("_%d: avatarOf(", i)); i++ {
			data[fmt.Sprintf("_%d", i)] = first
		}
	}
	return data
}

// gqlUploadEnv serves uploadGraphQLSDL with server settings (a YAML flow mapping body) and bindings to a GraphQL
// upload backend; sourceKeys and uploadKeys are added to the source's graphql mapping and Mutation.upload's binding.
func gqlUploadEnv(t *testing.T, server string, failFirst int64, sourceKeys, uploadKeys string, tel *telemetry) (*testEnv, *gqlUploadBackend) {
	t.Helper()
	backend := newGQLUploadBackend(t, failFirst)
	// Spool to a directory of the test's own: other test processes on the machine spool to the shared one, and
	// assertNoSpool must see only this test's files.
	t.Setenv("TMPDIR", t.TempDir())
	dir := t.TempDir()
	cfg := fmt.Sprintf(`schema: [s.graphqls]
server: {%s}
sources:
  up: {graphql: {endpoints: [%s/graphql], sdl: up.graphqls%s}}
bindings:
  Query.ok: {value: true}
  Query.users: {source: up, field: users}
  Query.echo: {source: up, field: echo, args: {text: "{{args.text}}"}}
  User.avatar: {source: up, field: avatarOf, args: {id: "{{parent.id}}", file: "{{args.file}}"}, batch: {key: "{{parent.id}}"}}
  Mutation.upload: {source: up, field: upload, args: {file: "{{args.file}}", text: "{{args.text}}"}%s}
  Mutation.uploadMany: {source: up, field: uploadMany, args: {files: "{{args.files}}"}}
  Mutation.account: {source: up, field: account}
`, server, backend.srv.URL, sourceKeys, uploadKeys)
	for name, data := range map[string]string{"s.graphqls": uploadGraphQLSDL, "up.graphqls": uploadUpstreamSDL, "conflux.yaml": cfg} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if tel == nil {
		return serveConfig(t, filepath.Join(dir, "conflux.yaml"), nil), backend
	}
	return serveConfigWith(t, filepath.Join(dir, "conflux.yaml"), tel), backend
}

// serveConfigWith is serveConfig with the process's metrics.
func serveConfigWith(t *testing.T, file string, tel *telemetry) *testEnv {
	t.Helper()
	sg, err := schema.Load(file)
	if err != nil {
		t.Fatalf("load %s: %v", file, err)
	}
	rt, err := newRuntime(sg, tel, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(rt)
	s.ready.Store(true)
	srv := httptest.NewServer(s)
	t.Cleanup(func() {
		srv.Close()
		rt.Close()
	})
	return &testEnv{t: t, srv: srv, rt: rt.Load()}
}

// dig follows keys (and list indexes as ints) into a decoded answer.
func uploadDig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func TestUploadGraphQL_Forwarded(t *testing.T) {
	file := func(name string, n int64) uploadPart {
		return uploadPart{name: name, filename: name + ".bin", body: &pattern{n: n}}
	}
	cases := []struct {
		name      string
		ops, map_ string
		parts     []uploadPart
		// at is where the answer's first file info is; want its field (the upstream map's paths).
		at        []any
		wantField string
		wantMap   string
		wantVars  string
		files     int
	}{
		{
			name:  "binding args template",
			ops:   `{"query":"mutation($f: Upload!, $t: String) { upload(file: $f, text: $t) { files { field filename contentType size sha256 } fields } }","variables":{"f":null,"t":"quarterly"}}`,
			map_:  `{"0":["variables.f"]}`,
			parts: []uploadPart{file("0", 300_000)},
			at:    []any{"upload", "files", 0}, wantField: "variables._r_file",
			wantMap: `{"0":["variables._r_file"]}`, wantVars: `{"_r_file":null,"_r_text":"quarterly"}`, files: 1,
		},
		{
			name: "a list of files",
			ops:  `{"query":"mutation($fs: [Upload!]!) { uploadMany(files: $fs) { files { field filename contentType size sha256 } fields } }","variables":{"fs":[null,null]}}`,
			map_: `{"a":["variables.fs.0"],"b":["variables.fs.1"]}`, parts: []uploadPart{file("a", 70_000), file("b", 5)},
			at: []any{"uploadMany", "files", 0}, wantField: "variables._r_files.0",
			wantMap: `{"0":["variables._r_files.0"],"1":["variables._r_files.1"]}`, wantVars: `{"_r_files":[null,null]}`, files: 2,
		},
		{
			name: "a client variable in the forwarded selection",
			ops:  `{"query":"mutation($f: Upload!) { account { setAvatar(file: $f) { field filename contentType size sha256 } } }","variables":{"f":null}}`,
			map_: `{"0":["variables.f"]}`, parts: []uploadPart{file("0", 123_457)},
			at: []any{"account", "setAvatar"}, wantField: "variables.f",
			wantMap: `{"0":["variables.f"]}`, wantVars: `{"f":null}`, files: 1,
		},
		{
			// An inline list is an upstream variable of its own; the file fills two places of it, and is sent once.
			name: "one file in two places",
			ops:  `{"query":"mutation($f: Upload!) { account { setAvatars(files: [$f, $f]) { files { field filename contentType size sha256 } } } }","variables":{"f":null}}`,
			map_: `{"0":["variables.f"]}`, parts: []uploadPart{file("0", 4096)},
			at: []any{"account", "setAvatars", "files", 0}, wantField: "variables._f1_0.0,variables._f1_0.1",
			wantMap: `{"0":["variables._f1_0.0","variables._f1_0.1"]}`, wantVars: `{"_f1_0":[null,null]}`, files: 1,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, backend := gqlUploadEnv(t, "uploads: true", 0, "", "", nil)
			status, out := sendUpload(t, e, c.ops, c.map_, c.parts...)
			if status != http.StatusOK || out["errors"] != nil {
				t.Fatalf("status %d: %v", status, out)
			}
			got := backend.received()
			if len(got) != 1 {
				t.Fatalf("upstream calls = %d, want 1", len(got))
			}
			call := got[0]
			m, _ := json.Marshal(call.fileMap)
			vars, _ := json.Marshal(call.variables)
			if call.contentType != "multipart" || call.preflight != "true" || string(m) != c.wantMap || string(vars) != c.wantVars || len(call.files) != c.files {
				t.Errorf("upstream got %s (preflight %q) map %s vars %s, %d files; want multipart, map %s vars %s, %d files",
					call.contentType, call.preflight, m, vars, len(call.files), c.wantMap, c.wantVars, c.files)
			}
			f, _ := uploadDig(out["data"], c.at...).(map[string]any)
			p := c.parts[0].body.(*pattern)
			want := map[string]any{"field": c.wantField, "filename": c.parts[0].filename, "contentType": "application/octet-stream",
				"size": float64(p.n), "sha256": patternSum(p.n)}
			for k, v := range want {
				if f[k] != v {
					t.Errorf("file %s = %v, want %v (answer %v)", k, f[k], v, out)
				}
			}
			assertNoSpool(t)
		})
	}
}

// A document without an Upload goes as JSON, as before.
func TestUploadGraphQL_NoUploadIsJSON(t *testing.T) {
	e, backend := gqlUploadEnv(t, "uploads: true", 0, "", "", nil)
	status, out := e.post(`query($t: String) { echo(text: $t) }`, map[string]any{"t": "hi"})
	if status != http.StatusOK || out["errors"] != nil {
		t.Fatalf("status %d: %v", status, out)
	}
	if got := uploadDig(out, "data", "echo"); got != `json {"_r_text":"hi"}` {
		t.Errorf("echo = %v", got)
	}
	if got := backend.received(); len(got) != 1 || got[0].preflight != "" {
		t.Errorf("upstream calls = %+v", got)
	}
}

// A batched fetch carrying a file is one upstream request that sends the file once, mapped to every key's place.
func TestUploadGraphQL_Batch(t *testing.T) {
	e, backend := gqlUploadEnv(t, "uploads: true", 0, "", "", nil)
	ops := `{"query":"query($f: Upload!) { users { id avatar(file: $f) { field size sha256 } } }","variables":{"f":null}}`
	status, out := sendUpload(t, e, ops, `{"0":["variables.f"]}`, uploadPart{name: "0", filename: "a.png", body: &pattern{n: 50_000}})
	if status != http.StatusOK || out["errors"] != nil {
		t.Fatalf("status %d: %v", status, out)
	}
	var batches []upstreamUpload
	for _, c := range backend.received() {
		if strings.Contains(c.query, "avatarOf(") {
			batches = append(batches, c)
		}
	}
	if len(batches) != 1 {
		t.Fatalf("upstream avatarOf calls = %d, want 1 batch", len(batches))
	}
	m, _ := json.Marshal(batches[0].fileMap)
	if string(m) != `{"0":["variables.__0_file","variables.__1_file","variables.__2_file"]}` || len(batches[0].files) != 1 {
		t.Errorf("map %s, %d files", m, len(batches[0].files))
	}
	for i := range 3 {
		if sum := uploadDig(out, "data", "users", i, "avatar", "sha256"); sum != patternSum(50_000) {
			t.Errorf("user %d: sha256 %v", i, sum)
		}
	}
}

// A retry sends the whole file again (a retrySafe binding); without retrySafe the POST is not retried.
func TestUploadGraphQL_Retry(t *testing.T) {
	for _, c := range []struct {
		name       string
		binding    string
		calls      int64
		wantErrors bool
	}{
		{"retrySafe", ", retrySafe: true", 2, false},
		{"not retrySafe", "", 1, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, backend := gqlUploadEnv(t, "uploads: true", 1, ", retry: {attempts: 3, backoff: 1ms}", c.binding, nil)
			status, out := sendUpload(t, e, uploadOne, `{"0":["variables.f"]}`, uploadPart{name: "0", filename: "r.bin", body: &pattern{n: 300_001}})
			if status != http.StatusOK || (out["errors"] != nil) != c.wantErrors {
				t.Fatalf("status %d: %v", status, out)
			}
			if backend.calls.Load() != c.calls {
				t.Errorf("backend calls = %d, want %d", backend.calls.Load(), c.calls)
			}
			if c.wantErrors {
				if code := firstCode(out); code != "UPSTREAM_HTTP_ERROR" {
					t.Errorf("code %s: %v", code, out)
				}
				return
			}
			f, _ := uploadDig(out, "data", "upload", "files", 0).(map[string]any)
			if f["sha256"] != patternSum(300_001) {
				t.Errorf("file = %v", f)
			}
		})
	}
}

// conflux_uploads_total counts each multipart request by outcome; conflux_upload_bytes_total the bytes of files
// streamed to backends, retries included.
func TestUpload_Metrics(t *testing.T) {
	tel, err := newTelemetry()
	if err != nil {
		t.Fatal(err)
	}
	e, _ := gqlUploadEnv(t, "uploads: {maxFileBytes: 100000}", 1, ", retry: {attempts: 3, backoff: 1ms}", ", retrySafe: true", tel)
	send := func(fileMap string, n int64) int {
		status, _ := sendUpload(t, e, uploadOne, fileMap, uploadPart{name: "0", filename: "r.bin", body: &pattern{n: n}})
		return status
	}
	if s := send(`{"0":["variables.f"]}`, 60_000); s != http.StatusOK { // refused once upstream, retried: 120,000 bytes
		t.Fatalf("status %d", s)
	}
	if s := send(`{"0":["variables.f"]}`, 100_001); s != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d", s)
	}
	if s := send(`{"0":["variables.nope"]}`, 1); s != http.StatusBadRequest {
		t.Fatalf("status %d", s)
	}
	// A body that breaks off: the client goes away mid-file.
	conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("operations", uploadOne)
	mw.WriteField("map", `{"0":["variables.f"]}`)
	pw, _ := mw.CreateFormFile("0", "cut.bin")
	io.Copy(pw, &pattern{n: 1000})
	fmt.Fprintf(conn, "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n",
		mw.FormDataContentType(), 50_000)
	conn.Write(body.Bytes())
	conn.Close()
	failed := tel.uploads.requests.WithLabelValues("failed")
	for deadline := time.Now().Add(5 * time.Second); counterValue(t, failed) == 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	for outcome, want := range map[string]float64{"ok": 1, "too_large": 1, "refused": 1, "failed": 1} {
		if got := counterValue(t, tel.uploads.requests.WithLabelValues(outcome)); got != want {
			t.Errorf("conflux_uploads_total{outcome=%q} = %v, want %v", outcome, got, want)
		}
	}
	// The first attempt was refused after the backend read it, the retry sent the file again.
	if got := counterValue(t, tel.uploads.bytes); got != 120_000 {
		t.Errorf("conflux_upload_bytes_total = %v, want 120,000", got)
	}
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// The plan shows the fetches that may forward files: method graphql+uploads.
func TestUploadGraphQL_Explain(t *testing.T) {
	e, _ := gqlUploadEnv(t, "uploads: true, planExtension: true", 0, "", "", nil)
	methods := func(out map[string]any) map[string]string {
		got := map[string]string{}
		fetches, _ := uploadDig(out, "extensions", "plan", "fetches").([]any)
		for _, f := range fetches {
			m, _ := f.(map[string]any)
			got[fmt.Sprint(m["binding"])] = fmt.Sprint(m["method"])
		}
		return got
	}
	status, out := sendUpload(t, e, `{"query":"mutation($f: Upload!) { upload(file: $f) { fields } account { setAvatars(files: [$f]) { fields } } }","variables":{"f":null}}`,
		`{"0":["variables.f"]}`, uploadPart{name: "0", filename: "a.bin", body: &pattern{n: 10}})
	if status != http.StatusOK || out["errors"] != nil {
		t.Fatalf("status %d: %v", status, out)
	}
	want := map[string]string{"Mutation.upload": "graphql+uploads", "Mutation.account": "graphql+uploads"}
	if got := methods(out); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("methods %v, want %v", got, want)
	}
	_, out = e.post(`query($t: String) { echo(text: $t) users { id } }`, map[string]any{"t": "x"})
	want = map[string]string{"Query.echo": "graphql", "Query.users": "graphql"}
	if got := methods(out); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("methods %v, want %v", got, want)
	}
}
