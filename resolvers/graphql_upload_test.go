package resolvers

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestSplitUploads(t *testing.T) {
	a := &Upload{Part: "a", Filename: "a.txt"}
	b := &Upload{Part: "b", Filename: "b.txt"}
	aCopy := *a // variables coercion may copy an Upload: still the same file
	for _, tc := range []struct {
		name     string
		vars     map[string]any
		wantVars string
		wantMap  string
	}{
		{"no upload", map[string]any{"x": []any{1, map[string]any{"y": "z"}}}, `{"x":[1,{"y":"z"}]}`, ``},
		{"one", map[string]any{"f": a, "t": "x"}, `{"f":null,"t":"x"}`, `a=variables.f`},
		{"nested, in key order", map[string]any{"in": map[string]any{"z": b, "files": []any{a, nil, aCopy}}},
			`{"in":{"files":[null,null,null],"z":null}}`, `a=variables.in.files.0,variables.in.files.2 b=variables.in.z`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := mustJSON(tc.vars)
			vars, files := splitUploads(tc.vars)
			var m []string
			for _, f := range files {
				m = append(m, f.up.Part+"="+strings.Join(f.paths, ","))
			}
			if got := mustJSON(vars); got != tc.wantVars || strings.Join(m, " ") != tc.wantMap {
				t.Errorf("got %s %q, want %s %q", got, strings.Join(m, " "), tc.wantVars, tc.wantMap)
			}
			if after := mustJSON(tc.vars); after != before {
				t.Errorf("the variables changed: %s, were %s", after, before)
			}
		})
	}
}

// An Upload where no type can be named (inside a JSON argument of an unknown upstream) is refused, never
// printed as a literal.
func TestFetchGraphQL_UploadLiteralRefused(t *testing.T) {
	sg, set := docGraph(t, false)
	r := *set.For(sg.Binding("Query", "deep"))
	src := &docSource{}
	r.Source = src
	up := &Upload{Part: "0", Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("x")), nil }}
	_, err := r.FetchGraphQL(context.Background(), Vars{Args: map[string]any{"q": map[string]any{"sub": map[string]any{"k": up}}}}, &Forward{Selection: "{ id }"}, nil)
	var ie *InputError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "Upload") {
		t.Fatalf("error %v, want an InputError about the Upload", err)
	}
	if len(src.bodies) != 0 {
		t.Fatalf("refused, yet sent %s", src.bodies[0])
	}
}
