package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/conflux-gql/conflux/schema"
)

// schemaCmd prints the JSON Schema of conflux.yaml (issue 16), or writes it to --out. Editors that speak the
// yaml-language-server protocol complete and check a configuration against it; conflux.schema.json at the root
// of the repository is its output, kept equal by a test.
func schemaCmd(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("schema", flag.ContinueOnError)
	out := fs.String("out", "", "write the schema to this file instead of standard output")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	data, err := schema.JSONSchema()
	if err != nil {
		return err
	}
	if *out == "" {
		_, err = stdout.Write(data)
		return err
	}
	if err := os.WriteFile(*out, data, 0o644); err != nil {
		return fmt.Errorf("conflux schema: %w", err)
	}
	return nil
}
