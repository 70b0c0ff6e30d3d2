package main

import (
	"embed"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/conflux-gql/conflux/examples/customer360"
	"github.com/conflux-gql/conflux/examples/posts"
	"github.com/conflux-gql/conflux/schema"
	"github.com/vektah/gqlparser/v2/ast"
)

// exampleFiles are the built-in examples' configurations and SDL, so that a binary run outside the repository
// can serve them (issue 16: "a built binary run outside the repository cannot find the example").
//
//go:embed examples/customer360/conflux.yaml examples/customer360/schema examples/customer360/upstream
//go:embed examples/posts/conflux.yaml examples/posts/schema
var exampleFiles embed.FS

// example is one built-in example: where its configuration is and how to start its mock backends on the
// addresses that configuration names.
type example struct {
	config string
	start  func() (io.Closer, map[string]string, error)
}

// examples lists the built-in examples by the name --example takes.
func examples() map[string]example {
	return map[string]example{
		"customer360": {config: "examples/customer360/conflux.yaml", start: func() (io.Closer, map[string]string, error) {
			g, err := customer360.Start(customer360.Options{}, customer360.DefaultAddrs)
			if err != nil {
				return nil, nil, err
			}
			return g, g.URLs(), nil
		}},
		"posts": {config: "examples/posts/conflux.yaml", start: func() (io.Closer, map[string]string, error) {
			b, err := posts.Start(posts.Options{}, posts.DefaultAddr)
			if err != nil {
				return nil, nil, err
			}
			return b, map[string]string{"api": b.URL()}, nil
		}},
	}
}

// defaultExample is what `conflux` serves with neither --config nor --example.
const defaultExample = "customer360"

// exampleNames lists the examples, sorted, for help and errors.
func exampleNames() []string {
	var names []string
	for n := range examples() {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// startExample starts the mock backends of example name and returns the configuration to serve: config when
// given (a changed copy of the example's, say), else the example's own. The caller closes the returned closer
// when it stops serving.
func startExample(name, config string, logger *slog.Logger) (string, io.Closer, error) {
	ex, ok := examples()[name]
	if !ok {
		return "", nil, &usageError{msg: fmt.Sprintf("unknown example %q%s (have: %s)", name, suggestion(name, exampleNames()), strings.Join(exampleNames(), ", "))}
	}
	if config == "" {
		var err error
		if config, err = exampleConfigPath(name); err != nil {
			return "", nil, err
		}
	}
	closer, urls, err := ex.start()
	if err != nil {
		return "", nil, fmt.Errorf("start the %s example's backends: %w", name, err)
	}
	logger.Info("example backends started", "example", name, "urls", urls)
	return config, closer, nil
}

// exampleConfigPath returns the path of an example's configuration: in the repository when run from its root,
// else a copy of the embedded files in a new temporary directory.
func exampleConfigPath(name string) (string, error) {
	ex := examples()[name]
	if _, err := os.Stat(ex.config); err == nil {
		return ex.config, nil
	}
	dir, err := os.MkdirTemp("", "conflux-"+name+"-")
	if err != nil {
		return "", err
	}
	root := filepath.Dir(ex.config)
	err = fs.WalkDir(exampleFiles, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := exampleFiles.ReadFile(p)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, strings.TrimPrefix(p, root+"/"))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o644)
	})
	if err != nil {
		return "", fmt.Errorf("write the %s example: %w", name, err)
	}
	return filepath.Join(dir, filepath.Base(ex.config)), nil
}

// playgroundQuery is the query the playground shows first and `conflux` prints: server.playgroundQuery, else
// one derived from the schema (issue 16: never another example's query).
func playgroundQuery(sg *schema.Supergraph) string {
	if sg.Settings.PlaygroundQuery != "" {
		return sg.Settings.PlaygroundQuery
	}
	return derivedQuery(sg.Schema)
}

// derivedQuery selects the first Query field that needs no required argument with its scalar fields, and the
// scalar fields of the objects under it, two levels deep: a query that runs as it is.
func derivedQuery(s *ast.Schema) string {
	if s.Query == nil {
		return ""
	}
	for _, f := range s.Query.Fields {
		if strings.HasPrefix(f.Name, "__") || requiredArgs(f) {
			continue
		}
		if sel := selection(s, s.Types[f.Type.Name()], 2, "  "); sel != "" || isLeaf(s, f) {
			return "{\n  " + f.Name + sel + "\n}\n"
		}
	}
	return ""
}

func requiredArgs(f *ast.FieldDefinition) bool {
	for _, a := range f.Arguments {
		if a.Type.NonNull && a.DefaultValue == nil {
			return true
		}
	}
	return false
}

func isLeaf(s *ast.Schema, f *ast.FieldDefinition) bool {
	t := s.Types[f.Type.Name()]
	return t != nil && (t.Kind == ast.Scalar || t.Kind == ast.Enum)
}

// selection writes " { … }" for an object type: its leaf fields without required arguments, and, depth
// allowing, its object fields with theirs. Empty for leaves and abstract types.
func selection(s *ast.Schema, t *ast.Definition, depth int, indent string) string {
	if t == nil || t.Kind != ast.Object {
		return ""
	}
	var lines []string
	for _, f := range t.Fields {
		if strings.HasPrefix(f.Name, "__") || requiredArgs(f) {
			continue
		}
		if isLeaf(s, f) {
			lines = append(lines, f.Name)
			continue
		}
		if depth > 1 {
			if sub := selection(s, s.Types[f.Type.Name()], depth-1, indent+"  "); sub != "" {
				lines = append(lines, f.Name+sub)
			}
		}
	}
	if len(lines) == 0 {
		return ""
	}
	in := indent + "  "
	return " {\n" + in + strings.Join(lines, "\n"+in) + "\n" + indent + "}"
}
