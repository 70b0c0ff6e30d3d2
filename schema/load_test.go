package schema

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conflux-gql/conflux/sources"
	"github.com/vektah/gqlparser/v2"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestLoad_Golden loads each testdata/<case>/conflux.yaml and compares every reported problem (or, for a valid
// configuration, its warnings) with testdata/<case>/problems.txt.
func TestLoad_Golden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/*/conflux.yaml")
	if err != nil || len(dirs) == 0 {
		t.Fatal("no cases")
	}
	env := func(name string) (string, bool) { return "", false }
	for _, file := range dirs {
		dir := filepath.Dir(file)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			sg, err := Load(file, WithEnv(env))
			var got strings.Builder
			if err != nil {
				got.WriteString(err.Error())
			} else {
				got.WriteString("loaded\n")
				for _, w := range sg.Warnings {
					got.WriteString(w.String() + "\n")
				}
			}
			want := filepath.Join(dir, "problems.txt")
			if *update {
				if err := os.WriteFile(want, []byte(strings.TrimSpace(got.String())+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			b, err := os.ReadFile(want)
			if err != nil {
				t.Fatal(err)
			}
			if strings.TrimSpace(string(b)) != strings.TrimSpace(got.String()) {
				t.Errorf("problems differ (-update rewrites)\n--- want\n%s\n--- got\n%s", b, got.String())
			}
		})
	}
}

// TestDefaults pins every default in one golden file, so a changed default is a reviewed change.
func TestDefaults(t *testing.T) {
	got, err := json.MarshalIndent(map[string]any{"server": DefaultSettings(), "http": sources.DefaultHTTPConfig()}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	file := "testdata/defaults.json"
	if *update {
		if err := os.WriteFile(file, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(want)) != string(got) {
		t.Errorf("defaults changed (-update rewrites)\n--- want\n%s\n--- got\n%s", want, got)
	}
}

// TestLoad_UnimplementedDirectives: @defer is in gqlparser's prelude, but Conflux answers in one body; the public
// schema must not declare it, so validation refuses it and introspection does not advertise it.
func TestLoad_IncrementalDirectives(t *testing.T) {
	sg, err := Load("../examples/customer360/conflux.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"skip", "include", "deprecated", "specifiedBy", "defer", "stream"} {
		if sg.Schema.Directives[name] == nil {
			t.Errorf("@%s is missing", name)
		}
	}
	if _, errs := gqlparser.LoadQuery(sg.Schema, `{ customers @stream(initialCount: 1) { ... @defer(label: "n") { name } } }`); len(errs) > 0 {
		t.Errorf("an operation with @defer and @stream did not validate: %v", errs)
	}
	if _, errs := gqlparser.LoadQuery(sg.Schema, `{ customers { name @defer } }`); len(errs) == 0 {
		t.Error("@defer on a field validated")
	}
}
