package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The README's examples are tests (issue 16: its configuration reference failed `conflux check`, and a
// walk-through line was refused by the running example).
//
// Which YAML blocks are checked: every ```yaml block of README.md whose top level is a mapping with a `schema:`
// or `supergraph:` key is a whole configuration, and must pass `conflux check` (the check function, the
// server's own loader). Any other block (a `bindings:` excerpt, one binding, a list of alternatives) is a
// fragment and is not loaded. A whole configuration that cannot be checked here must say so on its first line
// with a `# fragment` comment; none does today.
//
// A block is named by the slug of the heading above it (GitHub's anchor: `### REST beside the supergraph` is
// rest-beside-the-supergraph), with -2, -3… for later blocks of the same language under the same heading. The
// files it names (SDL, supergraph) are in testdata/readme/<name>/, copied beside the block's conflux.yaml; a file
// `<file>.from` there holds the repository path of a file to copy as <file> instead, so a fixture can be one of
// the federation test supergraphs without a second copy of it. Every whole configuration needs its directory,
// and every directory a block.
//
// Which shell lines are run: every `curl` command in a ```sh block (a line starting with curl, with its
// continuation lines), in README order, against one Customer 360 example (its mock backends and its admin API),
// with localhost:8080 / 127.0.0.1:8080 pointed at the test server. The command is split as the shell would
// (quotes, backslash-newline, a <<'TAG' here-document as its standard input); other shell syntax, curl options
// this file does not know and other addresses fail the test rather than being guessed at. Each command must get
// a 2xx answer, no GraphQL `errors`, and every `applied` in the answer true, unless a `# error…` comment on it
// says it shows an error. After them, each admin mutation the README quotes inline with its arguments
// (`upsertSource(name: "…", config: "…")`) is run the same way. TestReadme_WalkThrough sends each command as curl
// would, from Go; TestReadme_WalkThroughCurl runs the curl binary (skipped without it, except under CI).

const readmeFile = "README.md"

// readmeBlock is one fenced code block of the README.
type readmeBlock struct {
	lang, name, text string
	line             int // of the opening fence
}

// readmeBlocks returns the README's fenced blocks, each named by the heading above it (see the comment above).
func readmeBlocks(t *testing.T) []readmeBlock {
	t.Helper()
	data, err := os.ReadFile(readmeFile)
	if err != nil {
		t.Fatal(err)
	}
	var blocks []readmeBlock
	var cur *readmeBlock
	heading := "top"
	seen := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur != nil && strings.TrimSpace(line) == "```":
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			cur.text += line + "\n"
		case strings.HasPrefix(line, "```"):
			lang := strings.TrimSpace(strings.TrimPrefix(line, "```"))
			seen[heading+"/"+lang]++
			name := heading
			if k := seen[heading+"/"+lang]; k > 1 {
				name = fmt.Sprintf("%s-%d", heading, k)
			}
			cur = &readmeBlock{lang: lang, name: name, line: n}
		case strings.HasPrefix(line, "#"):
			heading = headingSlug(strings.TrimLeft(line, "#"))
		}
	}
	if cur != nil {
		t.Fatalf("%s:%d: the code block is not closed", readmeFile, cur.line)
	}
	return blocks
}

// headingSlug is GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens.
func headingSlug(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(h)) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}

// wholeConfig reports whether a YAML block is a configuration of its own rather than a fragment, and why not.
func wholeConfig(b readmeBlock) (bool, string) {
	if first, _, _ := strings.Cut(b.text, "\n"); strings.HasPrefix(strings.TrimSpace(first), "# fragment") {
		return false, "marked # fragment"
	}
	var top map[string]any
	if err := yaml.Unmarshal([]byte(b.text), &top); err != nil {
		// Fragments may repeat a key to show alternatives; a whole configuration must parse.
		return false, "not one YAML mapping: " + err.Error()
	}
	_, s := top["schema"]
	_, sg := top["supergraph"]
	if !s && !sg {
		return false, "no top-level schema: or supergraph:"
	}
	return true, ""
}

// TestReadme_ConfigBlocks: every whole configuration in the README passes `conflux check`.
func TestReadme_ConfigBlocks(t *testing.T) {
	fixtures := map[string]bool{}
	dirs, err := os.ReadDir(filepath.Join("testdata", "readme"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		fixtures[d.Name()] = false
	}
	checked := 0
	for _, b := range readmeBlocks(t) {
		if b.lang != "yaml" {
			continue
		}
		whole, why := wholeConfig(b)
		if !whole {
			t.Logf("%s:%d (%s): fragment, not checked: %s", readmeFile, b.line, b.name, why)
			continue
		}
		checked++
		t.Run(b.name, func(t *testing.T) {
			fixture := filepath.Join("testdata", "readme", b.name)
			if _, ok := fixtures[b.name]; !ok {
				t.Fatalf("%s:%d: a whole configuration needs the files it names in %s/ (or a # fragment mark on its first line)",
					readmeFile, b.line, fixture)
			}
			fixtures[b.name] = true
			dir := t.TempDir()
			copyFixture(t, fixture, dir)
			file := filepath.Join(dir, "conflux.yaml")
			if err := os.WriteFile(file, []byte(b.text), 0o644); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := check([]string{"--config", file}, &out); err != nil {
				t.Fatalf("%s:%d: conflux check fails on the README's block:\n%s%v", readmeFile, b.line, out.String(), err)
			}
			t.Logf("%s", out.String())
		})
	}
	if checked == 0 {
		t.Fatal("no whole configuration found in the README: the rule above no longer matches it")
	}
	for name, used := range fixtures {
		if !used {
			t.Errorf("testdata/readme/%s belongs to no whole configuration of the README (renamed heading?)", name)
		}
	}
}

// copyFixture copies a block's fixture directory into dir, following `<file>.from` references.
func copyFixture(t *testing.T, from, dir string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if src, ok := strings.CutSuffix(rel, ".from"); ok {
			rel = src
			if data, err = os.ReadFile(filepath.FromSlash(strings.TrimSpace(string(data)))); err != nil {
				return err
			}
		}
		dst := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestReadme_WalkThrough runs the README's curl commands, each sent as curl would send it, then the admin
// mutations it quotes, against the running Customer 360 example.
func TestReadme_WalkThrough(t *testing.T) {
	walkThrough(t, func(env *adminEnv, c shellCommand) (int, []byte) {
		req := curlRequest(t, c, env.srv.URL)
		resp, err := env.srv.Client().Do(req)
		if err != nil {
			t.Fatalf("%s:%d: %v", readmeFile, c.line, err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("%s:%d: %v", readmeFile, c.line, err)
		}
		return resp.StatusCode, body
	})
}

// TestReadme_WalkThroughCurl runs the same commands with the curl binary, so that the rendition above cannot
// drift from what curl sends. Without curl it is skipped, except under CI, where its absence fails.
func TestReadme_WalkThroughCurl(t *testing.T) {
	bin, err := exec.LookPath("curl")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("curl is not installed: %v", err)
		}
		t.Skipf("curl is not installed: %v", err)
	}
	walkThrough(t, func(env *adminEnv, c shellCommand) (int, []byte) {
		curlRequest(t, c, env.srv.URL) // the same checks: known options, the example's address
		args := []string{"--noproxy", "*", "--max-time", "10", "-o", filepath.Join(t.TempDir(), "body"), "-w", "%{http_code}"}
		for _, a := range c.args[1:] {
			for _, prefix := range []string{"http://localhost:8080", "http://127.0.0.1:8080", "localhost:8080", "127.0.0.1:8080"} {
				if rest, ok := strings.CutPrefix(a, prefix); ok {
					a = env.srv.URL + rest
					break
				}
			}
			args = append(args, a)
		}
		cmd := exec.Command(bin, args...)
		cmd.Stdin = strings.NewReader(c.stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s:%d: curl %s: %v: %s", readmeFile, c.line, strings.Join(args, " "), err, out)
		}
		status, err := strconv.Atoi(strings.TrimSpace(string(out)))
		if err != nil {
			t.Fatalf("%s:%d: curl wrote %q, not a status", readmeFile, c.line, out)
		}
		body, err := os.ReadFile(args[5])
		if err != nil {
			t.Fatal(err)
		}
		return status, body
	})
}

// walkThrough sends the README's curl commands in order with send, then the admin mutations the README quotes
// inline, to one Customer 360 example with its admin API, and checks every answer.
func walkThrough(t *testing.T, send func(env *adminEnv, c shellCommand) (status int, body []byte)) {
	t.Helper()
	var cmds []shellCommand
	for _, b := range readmeBlocks(t) {
		if b.lang == "sh" {
			cmds = append(cmds, curlCommands(t, b)...)
		}
	}
	if len(cmds) == 0 {
		t.Fatal("no curl command found in the README's sh blocks")
	}
	env := newAdminEnv(t, "")
	for _, c := range cmds {
		status, body := send(env, c)
		t.Logf("%s:%d: %d %.200s", readmeFile, c.line, status, body)
		if problem := answerProblem(status, body); (problem != "") != c.showsError {
			if c.showsError {
				t.Errorf("%s:%d: the README says this command shows an error, but it answered %d %s", readmeFile, c.line, status, body)
			} else {
				t.Errorf("%s:%d: %s: %s", readmeFile, c.line, problem, body)
			}
		}
	}

	// Admin mutations quoted inline in the prose, e.g. `upsertSource(name: "x", config: "…")`.
	data, err := os.ReadFile(readmeFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range adminCallRe.FindAllStringSubmatch(string(data), -1) {
		doc := fmt.Sprintf("mutation { %s { applied problems { line message } } }", m[1])
		body, _ := json.Marshal(map[string]any{"query": doc})
		status, raw := env.do(http.MethodPost, "/admin/graphql", "application/json", body)
		t.Logf("%s: `%s`: %d %s", readmeFile, m[1], status, raw)
		if problem := answerProblem(status, raw); problem != "" {
			t.Errorf("%s: `%s`: %s: %s", readmeFile, m[1], problem, raw)
		}
	}
}

// adminCallRe finds an admin mutation call quoted inline: a mutation name, then arguments with values.
var adminCallRe = regexp.MustCompile("`((?:upsertSource|removeSource|declareBinding|removeBinding|extendSchema|rollback)\\(\\w+: [^`]*\\))`")

// answerProblem says what is wrong with an answer the README shows as a success: a status other than 2xx,
// GraphQL errors, or a change that was not applied.
func answerProblem(status int, body []byte) string {
	if status < 200 || status > 299 {
		return fmt.Sprintf("HTTP %d", status)
	}
	var resp struct {
		Data   map[string]any `json:"data"`
		Errors []any          `json:"errors"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return "not a JSON answer"
	}
	if resp.Errors != nil {
		return "GraphQL errors"
	}
	if resp.Data == nil {
		return "no data"
	}
	for field, v := range resp.Data {
		if m, ok := v.(map[string]any); ok {
			if applied, ok := m["applied"]; ok && applied != true {
				return field + " not applied"
			}
		}
	}
	return ""
}

// shellCommand is one command of a sh block, split into words as the shell would.
type shellCommand struct {
	args       []string
	stdin      string // a here-document
	line       int
	showsError bool // a `# error` comment on the command's first line
}

// curlCommands returns the curl commands of a sh block (lines starting with curl), split into words with single and double quotes, backslash escapes and
// backslash-newline continuations, `# comments`, and a `<<TAG`/`<<'TAG'` here-document as standard input. It
// knows what the README's commands use and fails on other shell syntax (pipes, substitutions, variables)
// rather than guess.
func curlCommands(t *testing.T, b readmeBlock) []shellCommand {
	t.Helper()
	lines := strings.Split(b.text, "\n")
	var cmds []shellCommand
	for i := 0; i < len(lines); i++ {
		if !strings.HasPrefix(strings.TrimSpace(lines[i]), "curl ") {
			continue // another command (go run …): not run here
		}
		c := shellCommand{line: b.line + 1 + i}
		var word strings.Builder
		inWord := false
		heredoc := ""
		flush := func() {
			if inWord {
				c.args = append(c.args, word.String())
			}
			word.Reset()
			inWord = false
		}
		src := lines[i]
	scan:
		for j := 0; j < len(src); j++ {
			ch := src[j]
			switch {
			case ch == ' ' || ch == '\t':
				flush()
			case ch == '#' && !inWord:
				c.showsError = c.showsError || strings.HasPrefix(strings.TrimSpace(src[j+1:]), "error")
				break scan
			case ch == '\\' && j == len(src)-1:
				// Continuation: the next line is part of this command.
				flush()
				if i+1 >= len(lines) {
					t.Fatalf("%s:%d: a line ends in \\ at the end of its block", readmeFile, c.line)
				}
				i++
				src, j = lines[i], -1
			case ch == '\\':
				j++
				word.WriteByte(src[j])
				inWord = true
			case ch == '\'':
				end := strings.IndexByte(src[j+1:], '\'')
				if end < 0 {
					t.Fatalf("%s:%d: unclosed single quote", readmeFile, b.line+1+i)
				}
				word.WriteString(src[j+1 : j+1+end])
				j += end + 1
				inWord = true
			case ch == '"':
				j++
				for ; j < len(src) && src[j] != '"'; j++ {
					switch {
					case src[j] == '\\' && j+1 < len(src) && strings.IndexByte("\"\\$`", src[j+1]) >= 0:
						j++
					case src[j] == '$' || src[j] == '`':
						t.Fatalf("%s:%d: substitutions are not supported by this test", readmeFile, b.line+1+i)
					}
					word.WriteByte(src[j])
				}
				if j == len(src) {
					t.Fatalf("%s:%d: unclosed double quote", readmeFile, b.line+1+i)
				}
				inWord = true
			case strings.HasPrefix(src[j:], "<<"):
				flush()
				rest := strings.TrimSpace(src[j+2:])
				tag, after, _ := strings.Cut(rest, " ")
				if strings.TrimSpace(after) != "" {
					t.Fatalf("%s:%d: only a here-document ends a command in this test", readmeFile, b.line+1+i)
				}
				heredoc = strings.Trim(tag, `'"`)
				break scan
			case strings.IndexByte("|&;<>()$`", ch) >= 0:
				t.Fatalf("%s:%d: %q is shell syntax this test does not run", readmeFile, b.line+1+i, ch)
			default:
				word.WriteByte(ch)
				inWord = true
			}
		}
		flush()
		if heredoc != "" {
			var doc strings.Builder
			for i++; i < len(lines) && lines[i] != heredoc; i++ {
				doc.WriteString(lines[i] + "\n")
			}
			if i == len(lines) {
				t.Fatalf("%s:%d: the here-document %s is not closed", readmeFile, c.line, heredoc)
			}
			c.stdin = doc.String()
		}
		if len(c.args) > 0 {
			cmds = append(cmds, c)
		}
	}
	return cmds
}

// curlRequest builds the request curl would send for the command, to the test server instead of
// localhost:8080. It knows the options the README uses and fails on any other.
func curlRequest(t *testing.T, c shellCommand, server string) *http.Request {
	t.Helper()
	fail := func(format string, a ...any) {
		t.Helper()
		t.Fatalf("%s:%d: %s", readmeFile, c.line, fmt.Sprintf(format, a...))
	}
	method, target := "", ""
	header := http.Header{}
	var body *string
	args := c.args[1:]
	for i := 0; i < len(args); i++ {
		a := args[i]
		value := func() string {
			if i+1 >= len(args) {
				fail("%s needs a value", a)
			}
			i++
			return args[i]
		}
		switch a {
		case "-s", "--silent", "-S", "--show-error", "-sS":
		case "-X", "--request":
			method = value()
		case "-H", "--header":
			k, v, ok := strings.Cut(value(), ":")
			if !ok {
				fail("header %q has no colon", args[i])
			}
			header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
		case "-d", "--data", "--data-raw", "--data-binary":
			d := value()
			if a != "--data-raw" && strings.HasPrefix(d, "@") {
				if d != "@-" {
					fail("-d %s: only @- (standard input) is supported", d)
				}
				d = c.stdin
				if a != "--data-binary" {
					// curl -d @file strips carriage returns and newlines.
					d = strings.NewReplacer("\r", "", "\n", "").Replace(d)
				}
			}
			if body != nil {
				d = *body + "&" + d // curl joins several -d with &
			}
			body = &d
		default:
			if strings.HasPrefix(a, "-") {
				fail("curl option %s is not known to this test", a)
			}
			if target != "" {
				fail("two URLs: %s and %s", target, a)
			}
			target = a
		}
	}
	if strings.ContainsAny(target, "{}[]") {
		fail("curl reads {} and [] in a URL as a glob: encode them")
	}
	if !strings.Contains(target, "://") {
		target = "http://" + target
	}
	u, err := url.Parse(target)
	if err != nil {
		fail("%v", err)
	}
	if u.Host != "localhost:8080" && u.Host != "127.0.0.1:8080" {
		fail("%s is not the example's address (localhost:8080)", target)
	}
	s, _ := url.Parse(server)
	u.Scheme, u.Host = s.Scheme, s.Host
	var r io.Reader
	if method == "" {
		method = http.MethodGet
		if body != nil {
			method = http.MethodPost
		}
	}
	if body != nil {
		r = strings.NewReader(*body)
		if header.Get("Content-Type") == "" {
			header.Set("Content-Type", "application/x-www-form-urlencoded") // as curl -d
		}
	}
	req, err := http.NewRequest(method, u.String(), r)
	if err != nil {
		fail("%v", err)
	}
	req.Header = header
	return req
}

// TestReadme_CurlCommands pins how a README command is split: as sh would, and as curl would send it.
func TestReadme_CurlCommands(t *testing.T) {
	tests := []struct {
		name, block          string
		wantArgs             []string
		wantStdin, wantBody  string
		wantMethod, wantType string
		wantShowsError       bool
		wantURL              string
	}{
		{
			name:  "quotes and continuation",
			block: "go run .   # not curl: not run\ncurl -s localhost:8080/graphql -H 'content-type: application/json' \\\n  -d '{\"query\":\"{ a(b: \\\"c\\\") }\"}'\n",
			wantArgs: []string{"curl", "-s", "localhost:8080/graphql", "-H", "content-type: application/json", "-d",
				`{"query":"{ a(b: \"c\") }"}`},
			wantBody: `{"query":"{ a(b: \"c\") }"}`, wantMethod: "POST", wantType: "application/json",
			wantURL: "http://server.test/graphql",
		},
		{
			name:      "here-document, newlines stripped as curl -d @- does",
			block:     "curl -s http://127.0.0.1:8080/admin/graphql -d @- <<'JSON'\n{\"query\":\n\"{ version { id } }\"}\nJSON\n",
			wantArgs:  []string{"curl", "-s", "http://127.0.0.1:8080/admin/graphql", "-d", "@-"},
			wantStdin: "{\"query\":\n\"{ version { id } }\"}\n", wantBody: `{"query":"{ version { id } }"}`,
			wantMethod: "POST", wantType: "application/x-www-form-urlencoded", wantURL: "http://server.test/admin/graphql",
		},
		{
			name:     "an error the README shows, double quotes",
			block:    "curl \"localhost:8080/graphql?query=nope\"   # error: GRAPHQL_VALIDATION_FAILED\n",
			wantArgs: []string{"curl", "localhost:8080/graphql?query=nope"}, wantShowsError: true,
			wantMethod: "GET", wantURL: "http://server.test/graphql?query=nope",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmds := curlCommands(t, readmeBlock{lang: "sh", text: tt.block, line: 1})
			if len(cmds) != 1 {
				t.Fatalf("got %d commands, want 1: %+v", len(cmds), cmds)
			}
			c := cmds[0]
			if strings.Join(c.args, "\x00") != strings.Join(tt.wantArgs, "\x00") || c.stdin != tt.wantStdin || c.showsError != tt.wantShowsError {
				t.Errorf("got args %q stdin %q showsError %v\nwant %q %q %v", c.args, c.stdin, c.showsError, tt.wantArgs, tt.wantStdin, tt.wantShowsError)
			}
			req := curlRequest(t, c, "http://server.test")
			var body []byte
			if req.Body != nil {
				body, _ = io.ReadAll(req.Body)
			}
			if req.Method != tt.wantMethod || req.URL.String() != tt.wantURL || string(body) != tt.wantBody || req.Header.Get("Content-Type") != tt.wantType {
				t.Errorf("got %s %s type %q body %q\nwant %s %s type %q body %q", req.Method, req.URL, req.Header.Get("Content-Type"), body,
					tt.wantMethod, tt.wantURL, tt.wantType, tt.wantBody)
			}
		})
	}
}
