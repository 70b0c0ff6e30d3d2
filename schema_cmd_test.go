package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

// TestSchemaCmd: `conflux schema` prints the same bytes as --out writes and as the committed conflux.schema.json
// holds (-update rewrites it), so the README's yaml-language-server modeline points at the current schema.
func TestSchemaCmd(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := dispatch([]string{"schema"}, &stdout, &stderr); code != exitOK || stderr.Len() > 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	var doc map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if doc["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema = %v", doc["$schema"])
	}
	golden(t, "conflux.schema.json", stdout.Bytes())
	committed, err := os.ReadFile("conflux.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(committed, stdout.Bytes()) {
		t.Error("conflux.schema.json is not `conflux schema`'s output byte for byte: run go test . -run TestSchemaCmd -update")
	}

	out := filepath.Join(t.TempDir(), "conflux.schema.json")
	var quiet bytes.Buffer
	if code := dispatch([]string{"schema", "--out", out}, &quiet, &stderr); code != exitOK || quiet.Len() > 0 || stderr.Len() > 0 {
		t.Fatalf("--out: exit %d, stdout %q, stderr %q", code, quiet.String(), stderr.String())
	}
	written, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(written, stdout.Bytes()) {
		t.Error("--out wrote other bytes than standard output shows")
	}
	if code := dispatch([]string{"schema", "--out", filepath.Join(t.TempDir(), "missing", "x.json")}, &quiet, &stderr); code != exitError {
		t.Errorf("--out into a missing directory: exit %d, want %d", code, exitError)
	}
}

// TestSchemaCmd_Usage pins the command's help and its refusal of arguments (testdata/cli, -update rewrites).
func TestSchemaCmd_Usage(t *testing.T) {
	for name, args := range map[string][]string{
		"schema_help":           {"schema", "--help"},
		"schema_extra_argument": {"schema", "conflux.yaml"},
	} {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := dispatch(args, &stdout, &stderr)
			got := fmt.Sprintf("$ conflux %v\nexit %d\n--- stdout\n%s--- stderr\n%s", args, code, stdout.String(), stderr.String())
			golden(t, filepath.Join("testdata", "cli", name+".txt"), []byte(got))
		})
	}
}

// TestSchemaCmd_ReadmeConfigs: every whole configuration of the README (the blocks TestReadme_ConfigBlocks
// checks) is valid under conflux.schema.json, as an editor with the README's modeline sees it.
func TestSchemaCmd_ReadmeConfigs(t *testing.T) {
	data, err := os.ReadFile("conflux.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("conflux.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("conflux.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, b := range readmeBlocks(t) {
		if whole, _ := wholeConfig(b); b.lang != "yaml" || !whole {
			continue
		}
		checked++
		var v any
		if err := yaml.Unmarshal([]byte(b.text), &v); err != nil {
			t.Fatalf("%s:%d: %v", readmeFile, b.line, err)
		}
		j, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("%s:%d: %v", readmeFile, b.line, err)
		}
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Validate(inst); err != nil {
			t.Errorf("%s:%d (%s): the JSON Schema refuses the README's configuration: %v", readmeFile, b.line, b.name, err)
		}
	}
	if checked == 0 {
		t.Fatal("no whole configuration in the README")
	}
}
