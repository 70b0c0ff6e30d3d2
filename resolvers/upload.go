package resolvers

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"slices"
	"strings"

	"github.com/conflux-gql/conflux/schema"
	"github.com/conflux-gql/conflux/sources"
	"golang.org/x/net/http/httpguts"
)

// Upload is the value of an `Upload` variable: a file a client sent with the GraphQL multipart request spec
// (transport_upload.go, issue 17). The file is spooled to disk for the request's lifetime; Open reads it from
// the start, as many times as needed (a retried backend request), until the request ends.
type Upload struct {
	// Filename is the name the client gave the file part (may be empty).
	Filename string
	// ContentType is the part's Content-Type; application/octet-stream when the client sent none.
	ContentType string
	// Part is the name of the client's file part it came from, unique in its request. It tells two files apart:
	// variables coercion may copy an Upload, so that one file's copies are different pointers.
	Part string
	// Size is the file's length in bytes.
	Size int64
	// Open returns a reader of the file's content.
	Open func() (io.ReadCloser, error)
	// Streamed, when set, is told how many bytes of the file each backend request carried (the upload
	// metrics): a retry that sends the file again is told again. It may be called from several goroutines.
	Streamed func(n int64)
}

// MarshalJSON writes the file's description, never its content: an Upload rendered into a JSON body (instead
// of a multipart one) or echoed back must not read the file into memory.
func (u Upload) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{"filename": u.Filename, "contentType": u.ContentType, "size": u.Size})
}

// AsUpload returns the Upload v holds: variables coercion may hand resolvers the value or the pointer.
func AsUpload(v any) (*Upload, bool) {
	switch u := v.(type) {
	case *Upload:
		return u, u != nil
	case Upload:
		return &u, true
	}
	return nil, false
}

// A REST binding sends Upload arguments as a multipart/form-data body (issue 17) when its body is
// `{multipart: {name: value, ...}}`: each entry is one form field, rendered like a JSON body's values. An
// Upload (or each Upload of a list) is a file part with its filename and content type; a string is a text
// field; null is left out; anything else is a text field holding its JSON. The body is streamed from the
// spooled files as it is sent (never held in memory), and written again from the start for a retry.

// multipartFields returns the fields of a `{multipart: {...}}` body, or nil for any other body.
func multipartFields(body *schema.Value) *schema.Value {
	if body == nil || body.Kind != schema.ValueObject || len(body.Fields) != 1 || body.Fields[0].Name != "multipart" {
		return nil
	}
	if f := body.Fields[0].Value; f != nil && f.Kind == schema.ValueObject {
		return f
	}
	return nil
}

type formPart struct {
	name string
	text string
	file *Upload
}

// renderMultipart renders fields into the request's Stream and Content-Type.
func renderMultipart(out *sources.Request, fields *schema.Value, vs *Vars) error {
	var parts []formPart
	add := func(name string, v any) error {
		if up, ok := AsUpload(v); ok {
			parts = append(parts, formPart{name: name, file: up})
			return nil
		}
		switch x := v.(type) {
		case nil:
		case string:
			parts = append(parts, formPart{name: name, text: x})
		default:
			data, err := json.Marshal(x)
			if err != nil {
				return fmt.Errorf("encode form field %s: %w", name, err)
			}
			parts = append(parts, formPart{name: name, text: string(data)})
		}
		return nil
	}
	for _, f := range fields.Fields {
		v := renderValue(f.Value, vs)
		if list, ok := v.([]any); ok && slices.ContainsFunc(list, func(e any) bool { _, up := AsUpload(e); return up }) {
			for _, e := range list {
				if err := add(f.Name, e); err != nil {
					return err
				}
			}
			continue
		}
		if err := add(f.Name, v); err != nil {
			return err
		}
	}
	streamParts(out, parts)
	return nil
}

// streamParts makes parts the request's body: a multipart/form-data Content-Type and a Stream that writes the
// parts through a pipe as the transport reads them, opening each file anew for each attempt, so that a retry
// sends the whole body again and no file is ever held in memory.
func streamParts(out *sources.Request, parts []formPart) {
	boundary := multipart.NewWriter(io.Discard).Boundary()
	if out.Header == nil {
		out.Header = http.Header{}
	}
	out.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
	out.Stream = func(ctx context.Context) (io.ReadCloser, error) {
		pr, pw := io.Pipe()
		stop := context.AfterFunc(ctx, func() { pr.CloseWithError(ctx.Err()) })
		go func() {
			defer stop()
			pw.CloseWithError(writeMultipart(pw, boundary, parts))
		}()
		return pr, nil
	}
}

// formQuote escapes a Content-Disposition parameter; control characters (a header injection) become spaces.
var formQuote = strings.NewReplacer("\\", "\\\\", `"`, "\\\"", "\r", " ", "\n", " ", "\x00", " ")

func writeMultipart(w io.Writer, boundary string, parts []formPart) error {
	mw := multipart.NewWriter(w)
	if err := mw.SetBoundary(boundary); err != nil {
		return err
	}
	for _, p := range parts {
		if p.file == nil {
			if err := mw.WriteField(p.name, p.text); err != nil {
				return err
			}
			continue
		}
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="%s"; filename="%s"`, formQuote.Replace(p.name), formQuote.Replace(p.file.Filename)))
		ct := p.file.ContentType
		if ct == "" || !httpguts.ValidHeaderFieldValue(ct) {
			ct = "application/octet-stream"
		}
		h.Set("Content-Type", ct)
		pw, err := mw.CreatePart(h)
		if err != nil {
			return err
		}
		if p.file.Open == nil {
			return fmt.Errorf("the file %q cannot be read", p.file.Filename)
		}
		rc, err := p.file.Open()
		if err != nil {
			return err
		}
		// A pipe's Write returns once the reader took the bytes: n is what the transport read of this file.
		n, err := io.Copy(pw, rc)
		rc.Close()
		if p.file.Streamed != nil && n > 0 {
			p.file.Streamed(n)
		}
		if err != nil {
			return err
		}
	}
	return mw.Close()
}
