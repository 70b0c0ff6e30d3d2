package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/conflux-gql/conflux/resolvers"
	"github.com/conflux-gql/conflux/schema"
	"github.com/prometheus/client_golang/prometheus"
)

// Uploads (issue 17): the GraphQL multipart request spec
// (https://github.com/jaydenseric/graphql-multipart-request-spec) on POST /graphql when server.uploads is on.
// The body is read as a stream: the `operations` part (the JSON request, at most server.maxBodyBytes), the
// `map` part (file part name → the variable paths it fills, at most server.maxBodyBytes), then the file parts,
// each copied to a temporary file as it arrives (never held in memory) and removed when the request ends.
// Each mapped variable becomes a *resolvers.Upload. Refused with 400: a missing or malformed operations or map,
// a batch of operations, a map path that is not a variable path holding null, a map naming a part the request
// does not carry, a file part the map does not name; with 413 (REQUEST_TOO_LARGE): a file over maxFileBytes,
// files over maxTotalBytes together, more than maxFiles files. Off, a multipart POST is 415 as before
// (unsupportedTransport).

// uploadTransport serves multipart POST requests; graphqlHandler adds it only when server.uploads is on.
type uploadTransport struct {
	limits  schema.Uploads
	maxJSON int64 // server.maxBodyBytes: the bound of the operations and map parts
	metrics uploadMetrics
}

// The outcomes of conflux_uploads_total: one per multipart request on /graphql.
const (
	uploadOutcomeOK       = "ok"        // every file received; the operation ran
	uploadOutcomeTooLarge = "too_large" // refused with 413: maxFileBytes, maxTotalBytes, maxFiles or the body's bound
	uploadOutcomeRefused  = "refused"   // refused with 400: a malformed operations or map, a part the map does not match
	uploadOutcomeFailed   = "failed"    // the body broke off or could not be parsed as multipart, or a file could not be spooled
)

// uploadMetrics are conflux_uploads_total{outcome} and conflux_upload_bytes_total (the bytes of files streamed to
// backends, counted again for a retry that sends a file again). The zero value counts nothing (no telemetry).
type uploadMetrics struct {
	requests *prometheus.CounterVec
	bytes    prometheus.Counter
}

func (m uploadMetrics) outcome(o string) {
	if m.requests != nil {
		m.requests.WithLabelValues(o).Inc()
	}
}

// streamed is an Upload's Streamed hook.
func (m uploadMetrics) streamed(n int64) {
	if m.bytes != nil {
		m.bytes.Add(float64(n))
	}
}

var _ graphql.Transport = uploadTransport{}

// Supports implements graphql.Transport.
func (uploadTransport) Supports(r *http.Request) bool {
	return r.Header.Get("Upgrade") == "" && r.Method == http.MethodPost && isMultipart(r)
}

func isMultipart(r *http.Request) bool {
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mediaType == "multipart/form-data"
}

// uploadError is a refused upload: its status (400 or 413) and message.
type uploadError struct {
	status int
	msg    string
}

func (e *uploadError) Error() string { return e.msg }

func uploadBad(format string, args ...any) error {
	return &uploadError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

func uploadTooLarge(format string, args ...any) error {
	return &uploadError{status: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf(format, args...)}
}

// Do implements graphql.Transport.
func (t uploadTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	contentType := responseType(r.Header.Get("Accept"))
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-store")
	start := graphql.Now()
	var files []string
	defer func() {
		for _, f := range files {
			os.Remove(f)
		}
	}()
	params, err := t.read(r, &files)
	if err != nil {
		var ue *uploadError
		var mbe *http.MaxBytesError
		outcome := uploadOutcomeRefused
		if errors.As(err, &mbe) {
			ue = &uploadError{status: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf("the upload is larger than %d bytes", mbe.Limit)}
		} else if !errors.As(err, &ue) {
			ue = &uploadError{status: http.StatusBadRequest, msg: "could not read the multipart request: " + err.Error()}
			outcome = uploadOutcomeFailed
		}
		code := codeBadRequest
		if ue.status == http.StatusRequestEntityTooLarge {
			code, outcome = codeRequestTooLarge, uploadOutcomeTooLarge
		}
		t.metrics.outcome(outcome)
		writeRequestError(w, ue.status, code, ue.msg)
		return
	}
	t.metrics.outcome(uploadOutcomeOK)
	params.Headers = r.Header
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}
	execute(w, r, exec, params, contentType, false)
}

// read parses the multipart body of r, spooling its files to temporary files whose names it appends to files
// (for the caller to remove whatever happens).
func (t uploadTransport) read(r *http.Request, files *[]string) (*graphql.RawParams, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, uploadBad("the request body is not multipart/form-data: %v", err)
	}
	part := func(name string) ([]byte, error) {
		p, err := mr.NextPart()
		if err == io.EOF {
			return nil, uploadBad("the multipart request has no %q part (operations, then map, then the files)", name)
		}
		if err != nil {
			return nil, err
		}
		if p.FormName() != name {
			return nil, uploadBad("the multipart request's parts must start with operations, then map; got %q where %q belongs", p.FormName(), name)
		}
		data, err := io.ReadAll(io.LimitReader(p, t.maxJSON+1))
		if err != nil {
			return nil, err
		}
		if int64(len(data)) > t.maxJSON {
			return nil, uploadTooLarge("the %s part is larger than %d bytes", name, t.maxJSON)
		}
		return data, nil
	}
	ops, err := part("operations")
	if err != nil {
		return nil, err
	}
	m, err := part("map")
	if err != nil {
		return nil, err
	}
	params, targets, err := parseUploadMap(ops, m, t.limits.MaxFiles)
	if err != nil {
		return nil, err
	}
	var total int64
	seen := map[string]bool{}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		name := p.FormName()
		paths, ok := targets[name]
		if !ok {
			return nil, uploadBad("the multipart request has a part %q that map does not name", name)
		}
		if seen[name] {
			return nil, uploadBad("the multipart request has the part %q twice", name)
		}
		seen[name] = true
		up, err := spool(p, files, t.limits.MaxFileBytes, t.limits.MaxTotalBytes-total)
		if err != nil {
			return nil, err
		}
		up.Streamed = t.metrics.streamed
		total += up.Size
		up.Filename, up.Part = p.FileName(), name
		if up.ContentType = p.Header.Get("Content-Type"); up.ContentType == "" {
			up.ContentType = "application/octet-stream"
		}
		for _, path := range paths {
			if err := setUploadPath(params.Variables, path, up); err != nil {
				return nil, err
			}
		}
	}
	for name := range targets {
		if !seen[name] {
			return nil, uploadBad("map names the file part %q, which the request does not carry", name)
		}
	}
	return params, nil
}

// spool copies a file part to a temporary file, refusing it past maxFile bytes or past the room left of the
// request's total.
func spool(p io.Reader, files *[]string, maxFile, room int64) (*resolvers.Upload, error) {
	f, err := os.CreateTemp("", "conflux-upload-*")
	if err != nil {
		return nil, err
	}
	name := f.Name()
	*files = append(*files, name)
	limit := min(maxFile, room)
	n, err := io.Copy(f, io.LimitReader(p, limit+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if n > limit {
		if n > maxFile {
			return nil, uploadTooLarge("a file is larger than %d bytes (server.uploads.maxFileBytes)", maxFile)
		}
		return nil, uploadTooLarge("the files are larger than %d bytes together (server.uploads.maxTotalBytes)", room)
	}
	return &resolvers.Upload{Size: n, Open: func() (io.ReadCloser, error) { return os.Open(name) }}, nil
}

// parseUploadMap decodes the operations and map parts: the request (one operation; batches are refused) and,
// per file part name, the variable paths it fills, each checked to hold null in the operation's variables.
func parseUploadMap(ops, m []byte, maxFiles int) (*graphql.RawParams, map[string][][]string, error) {
	var params graphql.RawParams
	if t := bytes.TrimLeft(ops, " \t\r\n"); len(t) > 0 && t[0] == '[' {
		return nil, nil, uploadBad("operations is a batch; Conflux serves one operation per request")
	}
	if msg := decodeJSON(ops, &params); msg != "" {
		return nil, nil, uploadBad("operations is not a GraphQL request: %s", msg)
	}
	var raw map[string][]string
	dec := json.NewDecoder(bytes.NewReader(m))
	if err := dec.Decode(&raw); err != nil || raw == nil {
		return nil, nil, uploadBad("map is not a JSON object of file part names to lists of variable paths")
	}
	if dec.More() {
		return nil, nil, uploadBad("map has data after its JSON object")
	}
	if maxFiles > 0 && len(raw) > maxFiles {
		return nil, nil, uploadTooLarge("the request has %d files, more than %d (server.uploads.maxFiles)", len(raw), maxFiles)
	}
	targets := make(map[string][][]string, len(raw))
	filled := map[string]bool{}
	for name, paths := range raw {
		if len(paths) == 0 {
			return nil, nil, uploadBad("map gives the file part %q no variable path", name)
		}
		for _, p := range paths {
			segs := strings.Split(p, ".")
			if len(segs) < 2 || segs[0] != "variables" {
				return nil, nil, uploadBad("map path %q is not a variable path (variables.name or variables.name.0)", p)
			}
			if filled[p] {
				return nil, nil, uploadBad("map names the path %q twice", p)
			}
			filled[p] = true
			if err := setUploadPath(params.Variables, segs[1:], nil); err != nil {
				return nil, nil, err
			}
			targets[name] = append(targets[name], segs[1:])
		}
	}
	return &params, targets, nil
}

// setUploadPath sets the value at path (below variables) to v. The place must exist and hold null, as the spec
// has the client send a null where each file goes; with v nil it only checks that.
func setUploadPath(vars map[string]any, path []string, v *resolvers.Upload) error {
	where := "variables." + strings.Join(path, ".")
	var cur any = vars
	for i, seg := range path {
		last := i == len(path)-1
		switch c := cur.(type) {
		case map[string]any:
			next, ok := c[seg]
			if !ok {
				return uploadBad("map path %q names no variable value", where)
			}
			if last {
				if next != nil && (v == nil || !isUpload(next)) {
					return uploadBad("map path %q must hold null in operations, the file's placeholder", where)
				}
				if v != nil {
					c[seg] = v
				}
				return nil
			}
			cur = next
		case []any:
			k, err := strconv.Atoi(seg)
			if err != nil || k < 0 || k >= len(c) || seg != strconv.Itoa(k) {
				return uploadBad("map path %q names no variable value", where)
			}
			if last {
				if c[k] != nil && (v == nil || !isUpload(c[k])) {
					return uploadBad("map path %q must hold null in operations, the file's placeholder", where)
				}
				if v != nil {
					c[k] = v
				}
				return nil
			}
			cur = c[k]
		default:
			return uploadBad("map path %q names no variable value", where)
		}
	}
	return uploadBad("map path %q names no variable value", where)
}

func isUpload(v any) bool { _, ok := v.(*resolvers.Upload); return ok }

// uploadBody sends multipart requests, when uploads are on, to next unbuffered: limitBody (around buffered)
// would read them into memory and refuse any over server.maxBodyBytes. Their own bound is the files' total plus
// the operations and map parts and the parts' headers.
func uploadBody(buffered, next http.Handler, s schema.Settings, m uploadMetrics) http.Handler {
	if !s.Uploads.Enabled {
		return buffered
	}
	max := s.Uploads.MaxTotalBytes + 2*s.MaxBodyBytes + 1<<20
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !isMultipart(r) {
			buffered.ServeHTTP(w, r)
			return
		}
		if r.ContentLength > max {
			m.outcome(uploadOutcomeTooLarge)
			w.Header().Set("Content-Type", responseType(r.Header.Get("Accept")))
			writeRequestError(w, http.StatusRequestEntityTooLarge, codeRequestTooLarge,
				fmt.Sprintf("the upload is larger than %d bytes", max))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, max)
		next.ServeHTTP(w, r)
	})
}
