package main

import (
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/conflux-gql/conflux/schema"
	"go.yaml.in/yaml/v3"
)

// exampleConfig copies an example's conflux.yaml and SDL files into dir and points each named source at the URL
// the benchmark started its backend on. dedup sets the HTTP sources' in-flight sharing of identical GETs: off,
// every client request costs its own upstream calls, as in the baselines.
func exampleConfig(example, dir string, urls map[string]string, dedup bool) (string, error) {
	err := filepath.WalkDir(example, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".graphqls") {
			return err
		}
		rel, _ := filepath.Rel(example, path)
		return copyFile(path, filepath.Join(dir, rel))
	})
	if err != nil {
		return "", err
	}
	data, err := os.ReadFile(filepath.Join(example, "conflux.yaml"))
	if err != nil {
		return "", err
	}
	for name, url := range urls {
		var src map[string]map[string]any
		if err := yaml.Unmarshal(schema.Entry(data, "sources", name), &src); err != nil || len(src) != 1 {
			return "", fmt.Errorf("%s: source %s is not a {kind: {…}} mapping (%v)", example, name, err)
		}
		for kind, c := range src {
			c["endpoints"] = []string{url}
			if kind == "http" {
				c["dedup"] = dedup
			}
		}
		value, err := yaml.Marshal(src)
		if err != nil {
			return "", err
		}
		if data, err = schema.SetEntry(data, "sources", name, value); err != nil {
			return "", err
		}
	}
	path := filepath.Join(dir, "conflux.yaml")
	return path, os.WriteFile(path, data, 0o644)
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o644)
}

// freeAddr returns a loopback address with a port nobody listens on right now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
