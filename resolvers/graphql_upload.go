package resolvers

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"

	"github.com/conflux-gql/conflux/sources"
)

// Uploads forwarded to an upstream GraphQL source (issue 17). When the variables of an upstream document carry
// Upload values (a client variable the forwarded selection uses, an inline argument holding one, or a binding's
// `args` template such as {{args.file}}), the document goes as a GraphQL multipart request
// (https://github.com/jaydenseric/graphql-multipart-request-spec) instead of JSON: an `operations` part with null
// where each file goes, a `map` part naming, per file part, the variable paths it fills, then the files, each
// distinct Upload once however many places it fills. The body is streamed from the spooled files as the
// transport sends it, never held in memory, and written again from the start for a retry (which, as for REST
// bindings, only a retrySafe binding gets: the request is a POST).
//
// A batched fetch stays one upstream request: the Uploads it carries come from the client's variables or the
// field's arguments, which are the same for every parent of the batch, so each file is sent once and mapped to
// every place it fills. Neither refusing the batch nor one request per file would send fewer bytes.

// uploadFile is one file part of an upstream multipart request: the Upload and the variable paths it fills.
type uploadFile struct {
	up    *Upload
	paths []string
}

// splitUploads returns vars with every Upload replaced by null (a copy of the maps and lists that hold one; vars
// itself is left alone) and the distinct Uploads with their paths ("variables.file", "variables.input.files.0"),
// in a deterministic order. With no Upload in vars it returns vars and nil.
func splitUploads(vars map[string]any) (map[string]any, []uploadFile) {
	var files []uploadFile
	index := map[any]int{}
	add := func(up *Upload, path string) {
		var key any = up
		if up.Part != "" {
			key = up.Part
		}
		i, ok := index[key]
		if !ok {
			i = len(files)
			index[key] = i
			files = append(files, uploadFile{up: up})
		}
		files[i].paths = append(files[i].paths, path)
	}
	out, changed := stripUploads(vars, "variables", add)
	if !changed {
		return vars, nil
	}
	return out.(map[string]any), files
}

// stripUploads returns v with its Uploads replaced by null, and whether it had any; add is told each Upload and
// its path. Maps are walked in key order, so that the map part does not depend on Go's map order.
func stripUploads(v any, path string, add func(*Upload, string)) (any, bool) {
	if up, ok := AsUpload(v); ok {
		add(up, path)
		return nil, true
	}
	switch t := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var out map[string]any
		for _, k := range keys {
			nv, ok := stripUploads(t[k], path+"."+k, add)
			if !ok {
				continue
			}
			if out == nil {
				out = make(map[string]any, len(t))
				for k2, v2 := range t {
					out[k2] = v2
				}
			}
			out[k] = nv
		}
		if out == nil {
			return v, false
		}
		return out, true
	case []any:
		var out []any
		for i, e := range t {
			nv, ok := stripUploads(e, path+"."+strconv.Itoa(i), add)
			if !ok {
				continue
			}
			if out == nil {
				out = slices.Clone(t)
			}
			out[i] = nv
		}
		if out == nil {
			return v, false
		}
		return out, true
	}
	return v, false
}

// hasUpload reports whether v holds an Upload anywhere.
func hasUpload(v any) bool {
	_, found := stripUploads(v, "", func(*Upload, string) {})
	return found
}

// graphqlBody sets req's body to call: JSON, or a streamed multipart request when call's variables carry
// Uploads. header is the request's headers; it is copied before a Content-Type is added to it.
func graphqlBody(req *sources.Request, call upstreamCall, header http.Header) error {
	vars, files := splitUploads(call.vars)
	body, err := json.Marshal(map[string]any{"query": call.query, "variables": vars})
	if err != nil {
		return fmt.Errorf("encode upstream request: %w", err)
	}
	req.Method, req.Header = http.MethodPost, header
	if len(files) == 0 {
		req.Body = body
		return nil
	}
	fileMap := make(map[string][]string, len(files))
	parts := make([]formPart, 0, 2+len(files))
	for i, f := range files {
		fileMap[strconv.Itoa(i)] = f.paths
	}
	m, err := json.Marshal(fileMap)
	if err != nil {
		return fmt.Errorf("encode upstream request: %w", err)
	}
	parts = append(parts, formPart{name: "operations", text: string(body)}, formPart{name: "map", text: string(m)})
	for i, f := range files {
		parts = append(parts, formPart{name: strconv.Itoa(i), file: f.up})
	}
	req.Header = header.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	// Apollo Server's CSRF prevention refuses a multipart request without a header a browser form cannot send;
	// this is the one it documents for uploads. Other servers ignore it.
	req.Header.Set("Apollo-Require-Preflight", "true")
	streamParts(req, parts)
	return nil
}
