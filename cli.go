package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/conflux-gql/conflux/graph"
	"github.com/conflux-gql/conflux/schema"
)

// configOrExample is the configuration check and explain read: the given one, else the one the server serves
// without --config (the default example).
func configOrExample(config string) (string, error) {
	if config != "" {
		return config, nil
	}
	return exampleConfigPath(defaultExample)
}

// check validates and lints a configuration: `conflux check [--config conflux.yaml]`. It prints every problem
// and fails when any is an error. It uses the server's own loader, so what it accepts, the server serves.
func check(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	config := fs.String("config", os.Getenv("CONFLUX_CONFIG"), "path to conflux.yaml; empty: the Customer 360 example, as the server (env CONFLUX_CONFIG)")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	path, err := configOrExample(*config)
	if err != nil {
		return err
	}
	*config = path
	sg, err := schema.Load(*config, loadOptions()...)
	if err != nil {
		return err
	}
	unfillable := 0
	for _, w := range sg.Warnings {
		if w.Unfillable {
			unfillable++
			w.Warning = false
		}
		fmt.Fprintln(stdout, w.String())
	}
	if unfillable > 0 {
		return fmt.Errorf("%s: %d non-null %s that nothing can fill", *config, unfillable, plural(unfillable, "field", "fields"))
	}
	fmt.Fprintf(stdout, "%s: ok (version %s, %d bindings, %d sources, %d warnings)\n", *config, sg.Version,
		len(sg.Bindings()), len(sg.Sources), len(sg.Warnings))
	return nil
}

// explain prints the plan of a query without calling any backend:
// `conflux explain [--config conflux.yaml] --query file.graphql [--operation Name] [--variables '{"a":1}'] [--format text|json|mermaid]`.
func explain(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("explain", flag.ContinueOnError)
	config := fs.String("config", os.Getenv("CONFLUX_CONFIG"), "path to conflux.yaml; empty: the Customer 360 example, as the server (env CONFLUX_CONFIG)")
	queryFile := fs.String("query", "", "file holding the GraphQL operation (- for standard input)")
	operation := fs.String("operation", "", "operation name, when the document has several")
	variables := fs.String("variables", "", "variables as JSON (they decide @skip/@include)")
	format := fs.String("format", "text", "text, json or mermaid")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if *queryFile == "" {
		return &usageError{msg: "conflux explain: --query names the file with the operation\nRun 'conflux explain --help' for its flags."}
	}
	var query []byte
	var err error
	if *queryFile == "-" {
		query, err = io.ReadAll(os.Stdin)
	} else {
		query, err = os.ReadFile(*queryFile)
	}
	if err != nil {
		return fmt.Errorf("read query: %w", err)
	}
	var vars map[string]any
	if *variables != "" {
		if err := json.Unmarshal([]byte(*variables), &vars); err != nil {
			return fmt.Errorf("--variables: %w", err)
		}
	}
	path, err := configOrExample(*config)
	if err != nil {
		return err
	}
	*config = path
	sg, err := schema.Load(*config, loadOptions()...)
	if err != nil {
		return err
	}
	engine, err := graph.New(sg, nil)
	if err != nil {
		return err
	}
	plan, err := engine.Plan(string(query), *operation, vars)
	if err != nil {
		return err
	}
	switch *format {
	case "json":
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(plan.Explain())
	case "mermaid":
		_, err = io.WriteString(stdout, plan.Mermaid())
	default:
		_, err = io.WriteString(stdout, plan.String())
	}
	return err
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
