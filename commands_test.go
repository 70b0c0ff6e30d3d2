package main

import (
	"bytes"
	"fmt"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"testing"
)

// TestDispatch runs conflux's command line as a user types it and compares the exit code, stdout and stderr with
// testdata/cli/<case>.txt (-update rewrites them). No case starts the server.
func TestDispatch(t *testing.T) {
	for _, name := range []string{"CONFLUX_ADDR", "CONFLUX_CONFIG", "CONFLUX_ADMIN_ADDR"} {
		t.Setenv(name, "") // the flags' defaults show them
	}
	tests := []struct {
		name string
		args []string
	}{
		{"help", []string{"--help"}},
		{"help_short", []string{"-h"}},
		{"help_command", []string{"help"}},
		{"help_check", []string{"help", "check"}},
		{"check_help", []string{"check", "--help"}},
		{"explain_help", []string{"explain", "-h"}},
		{"serve_help", []string{"serve", "--help"}},
		{"help_unknown", []string{"help", "nope"}},
		{"unknown_command", []string{"gen"}},
		{"misspelt_command", []string{"chek"}},
		{"prefix_of_command", []string{"vers"}},
		{"unknown_flag", []string{"--bogus"}},
		{"check_unknown_flag", []string{"check", "--conf", "x.yaml"}},
		{"check_extra_argument", []string{"check", "conflux.yaml"}},
		{"explain_without_query", []string{"explain"}},
		{"check_example", []string{"check", "--config", "examples/posts/conflux.yaml"}},
		{"check_errors", []string{"check", "--config", "schema/testdata/many_errors/conflux.yaml"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := dispatch(tc.args, &stdout, &stderr)
			got := fmt.Sprintf("$ conflux %v\nexit %d\n--- stdout\n%s--- stderr\n%s", tc.args, code, stdout.String(), stderr.String())
			golden(t, filepath.Join("testdata", "cli", tc.name+".txt"), []byte(versionRE.ReplaceAllString(got, "version ${1}VERSION")))
		})
	}
}

// versionRE matches the configuration version hash check prints, which changes with every edit of the example.
var versionRE = regexp.MustCompile(`version ([^)]*?)[0-9a-f]{12}`)

func TestDispatch_Version(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		var stdout, stderr bytes.Buffer
		if code := dispatch(args, &stdout, &stderr); code != exitOK || stderr.Len() > 0 {
			t.Fatalf("%v: exit %d, stderr %q", args, code, stderr.String())
		}
		if !regexp.MustCompile(`^conflux \S+ \(commit \S+, go\S+ \w+/\w+\)\n$`).MatchString(stdout.String()) {
			t.Errorf("%v: %q", args, stdout.String())
		}
	}
}

func TestVersionLine(t *testing.T) {
	info := &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.modified", Value: "true"}}}
	tests := []struct {
		name string
		info *debug.BuildInfo
		ok   bool
		want string
	}{
		{"release with commit", info, true, `^conflux v1\.2\.3 \(commit 0123456789ab\+modified, go`},
		{"no build info", nil, false, `^conflux \(unknown\) \(commit unknown, go`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := versionLine(tc.info, tc.ok); !regexp.MustCompile(tc.want).MatchString(got) {
				t.Errorf("versionLine = %q, want %s", got, tc.want)
			}
		})
	}
}
