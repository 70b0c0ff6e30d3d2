package schema

import (
	"errors"
	"os"
	"strings"
	"testing"
	"testing/fstest"
)

// FuzzParseTemplate: any input either fails with an error or compiles into segments that reproduce it.
func FuzzParseTemplate(f *testing.F) {
	for _, s := range []string{"", "/customers/{{args.id}}", "{{keys}}", "a{{ parent.x.y }}b", "{{", "}}{{}}", "{{env.A}}{{headers.x-y}}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tpl, err := ParseTemplate(s)
		if err != nil {
			return
		}
		var b strings.Builder
		for _, seg := range tpl.Segments {
			if seg.Var == nil {
				b.WriteString(seg.Literal)
				continue
			}
			if seg.Var.Scope == "" {
				t.Fatalf("variable without scope in %q", s)
			}
		}
		if tpl.IsLiteral() && b.String() != s {
			t.Fatalf("literal %q rendered as %q", s, b.String())
		}
	})
}

// FuzzParse: the config loader never panics, and either loads or reports problems that all carry the file name.
func FuzzParse(f *testing.F) {
	for _, file := range []string{"../examples/customer360/conflux.yaml", "../examples/posts/conflux.yaml", "testdata/many_errors/conflux.yaml"} {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("schema: [s.graphqls]\nbindings: {Query.a: {value: 1}}"))
	f.Add([]byte("a: &x {b: *x}"))
	sdl, err := os.ReadFile("../examples/customer360/schema/customer360.graphqls")
	if err != nil {
		f.Fatal(err)
	}
	fsys := fstest.MapFS{
		"s.graphqls":                      {Data: []byte("type Query { a: Int b(id: ID): [B] } type B { id: ID }")},
		"schema/customer360.graphqls":     {Data: sdl},
		"schema/posts.graphqls":           {Data: []byte("type Query { posts: [Int] }")},
		"testdata/many_errors/x.graphqls": {Data: []byte("type Query { a: Int }")},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := Parse("fuzz.yaml", data, fsys, WithEnv(func(string) (string, bool) { return "", false }))
		if err == nil {
			return
		}
		var ce *ConfigError
		if !errors.As(err, &ce) || len(ce.Problems) == 0 {
			t.Fatalf("error is not a *ConfigError with problems: %v", err)
		}
		for _, p := range ce.Problems {
			if p.Pos.File == "" {
				t.Fatalf("problem without a file: %s", p)
			}
		}
	})
}

// FuzzSetEntry: the admin API's edit of a configuration never panics, and what it produces is YAML that the
// loader reads back (valid or with located problems).
func FuzzSetEntry(f *testing.F) {
	base, err := os.ReadFile("../examples/posts/conflux.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{`{from: name}`, `{"source": "api", "path": "/x/{{parent.id}}"}`, `[1]`, `{`, `a: &x [*x]`, "source: api\npath: /p"} {
		f.Add("Post.title", s)
	}
	fsys := fstest.MapFS{"schema/posts.graphqls": {Data: []byte("type Query { posts: [Post] } type Post { title: String }")}}
	f.Fuzz(func(t *testing.T, key, value string) {
		out, err := SetEntry(base, "bindings", key, []byte(value))
		if err != nil {
			return
		}
		if _, err := Parse("fuzz.yaml", out, fsys, WithEnv(func(string) (string, bool) { return "", false })); err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("edited config fails without problems: %v", err)
			}
		}
	})
}
