package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	goruntime "runtime"
	"runtime/debug"
	"strings"

	"github.com/agnivade/levenshtein"
)

// command is one of conflux's subcommands. run gets the arguments after the command's name.
type command struct {
	name, usage, summary string
	run                  func(args []string, stdout io.Writer) error
}

// commands lists the subcommands in the order help shows them; serve runs when no command is named.
func commands() []command {
	return []command{
		{"serve", "conflux [serve] [flags]", "serve a configuration (default: the Customer 360 example with its mock backends)", serve},
		{"check", "conflux check [flags]", "validate and lint a configuration; non-zero exit on errors", check},
		{"explain", "conflux explain --query FILE [flags]", "print an operation's execution plan without calling any backend", explain},
		{"healthcheck", "conflux healthcheck [flags]", "ask a running Conflux's /healthz; exit 0 when healthy (for container HEALTHCHECKs)", healthcheck},
		{"schema", "conflux schema [--out FILE]", "print the JSON Schema of conflux.yaml, for editors to complete and check it", schemaCmd},
		{"version", "conflux version", "print the version, commit and Go version", version},
		{"help", "conflux help [command]", "print this help, or a command's flags", nil},
	}
}

// Exit codes of dispatch: 0 done (help and version included), 1 the command failed, 2 the command line is wrong
// (unknown command or flag), as Go's flag package and most CLIs use them.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// errHelp is returned by parseFlags when the flags asked for help, which it has printed.
var errHelp = errors.New("help requested")

// usageError is a command line conflux cannot run; its message says how to fix it.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// dispatch runs the command named by args[0] (serve when args is empty or starts with a flag) and returns the
// process's exit code: help goes to stdout, errors to stderr.
func dispatch(args []string, stdout, stderr io.Writer) int {
	cmds := commands()
	name := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	} else if len(args) > 0 && (args[0] == "--version" || args[0] == "-version") {
		name, args = "version", args[1:]
	} else if len(args) > 0 && isHelpFlag(args[0]) {
		name, args = "help", nil
	}
	var err error
	switch cmd := find(cmds, name); {
	case name == "help":
		err = help(cmds, args, stdout)
	case cmd == nil:
		err = &usageError{msg: fmt.Sprintf("conflux: unknown command %q%s\nRun 'conflux --help' for the commands.", name, suggest(cmds, name))}
	default:
		err = cmd.run(args, stdout)
	}
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, errHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, err)
		return exitUsage
	default:
		fmt.Fprintln(stderr, err)
		return exitError
	}
}

func isHelpFlag(arg string) bool {
	return arg == "-h" || arg == "--help" || arg == "-help"
}

func find(cmds []command, name string) *command {
	for i := range cmds {
		if cmds[i].name == name {
			return &cmds[i]
		}
	}
	return nil
}

// suggest names the command an unknown one was probably meant to be (suggestion).
func suggest(cmds []command, name string) string {
	names := make([]string, len(cmds))
	for i, c := range cmds {
		names[i] = c.name
	}
	return suggestion(name, names)
}

// suggestion names the one of names that name was probably meant to be: one it begins, else the closest within
// two edits; "" when none is close.
func suggestion(name string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if len(name) >= 2 && strings.HasPrefix(n, name) {
			best = n
			break
		}
		if d := levenshtein.ComputeDistance(name, n); d < bestD {
			best, bestD = n, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(": did you mean %q?", best)
}

// help prints conflux's usage, or one command's (its flags), to stdout.
func help(cmds []command, args []string, stdout io.Writer) error {
	if len(args) > 0 && args[0] != "help" {
		cmd := find(cmds, args[0])
		if cmd == nil {
			return &usageError{msg: fmt.Sprintf("conflux help: unknown command %q%s", args[0], suggest(cmds, args[0]))}
		}
		return cmd.run([]string{"--help"}, stdout)
	}
	var b strings.Builder
	b.WriteString("Conflux serves one GraphQL API in front of many backends, as declared in a configuration file.\n\nUsage:\n")
	for _, c := range cmds {
		fmt.Fprintf(&b, "  %-38s %s\n", c.usage, c.summary)
	}
	b.WriteString("\nRun 'conflux help <command>' or 'conflux <command> --help' for a command's flags.\n\n")
	_, err := io.WriteString(stdout, b.String())
	if err != nil {
		return err
	}
	return serve([]string{"--help"}, stdout)
}

// parseFlags parses a command's flags. Asked for help (-h, --help), it prints the command's flags to stdout and
// returns errHelp; a wrong flag is a usageError that names it and points at the help.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	var out bytes.Buffer
	fs.SetOutput(&out)
	fs.Usage = func() {}
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprintf(stdout, "Flags of conflux %s:\n", fs.Name())
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return errHelp
	case err != nil:
		return &usageError{msg: fmt.Sprintf("conflux %s: %s\nRun 'conflux %[1]s --help' for its flags.", fs.Name(), err)}
	case fs.NArg() > 0:
		return &usageError{msg: fmt.Sprintf("conflux %s: unexpected argument %q\nRun 'conflux %[1]s --help' for its flags.", fs.Name(), fs.Arg(0))}
	}
	return nil
}

// version prints what this binary is: `conflux version` and `conflux --version`.
func version(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	_, err := fmt.Fprintln(stdout, versionLine(debug.ReadBuildInfo()))
	return err
}

// versionLine describes a build: its module version, the commit it was built from (with "+modified" when the
// tree had changes) and its Go version and platform.
func versionLine(info *debug.BuildInfo, ok bool) string {
	v, commit, modified := "(unknown)", "", false
	if ok {
		v = info.Main.Version
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if len(commit) > 12 {
		commit = commit[:12]
	}
	if commit == "" {
		commit = "unknown"
	} else if modified {
		commit += "+modified"
	}
	return fmt.Sprintf("conflux %s (commit %s, %s %s/%s)", v, commit, goruntime.Version(), goruntime.GOOS, goruntime.GOARCH)
}
