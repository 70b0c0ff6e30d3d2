package resolvers

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/conflux-gql/conflux/schema"
)

// fuzzPathTemplates are the templates FuzzRenderPath renders: several variables per segment, variables next to
// literal dots, escaped dots and path parameters, and the comma-joined {{keys}} of a batch path.
var fuzzPathTemplates = []string{
	"/customers/{{args.a}}/orders",
	"/files/.{{args.a}}",
	"/files/{{args.a}}.",
	"/files/{{args.a}}.{{args.b}}",
	"/x/{{args.a}}{{args.b}}/y",
	"/x/%2e{{args.a}}/{{args.b}}%2E",
	"/x/{{args.a}};v=1/{{args.b}}",
	"/{{args.a}}",
	"/p/{{args.a}}-{{args.b}}/q/{{args.a}}",
	"/products/{{keys}}",
	"/products/{{keys}}/{{args.a}}",
}

// FuzzRenderPath (issue 13): whatever a client sends, a rendered path has exactly the template's segment count;
// no segment is empty, "." or ".." after percent-decoding (any number of times, and before a ";"); none holds an
// unescaped "/", "?" or "#"; literal segments come out as written; and a refusal is an InputError that a naive
// rendering justifies (an empty value, or a segment that would be empty, "." or ".."), so nothing valid is
// refused.
func FuzzRenderPath(f *testing.F) {
	for _, s := range []string{"7", "a/b", "..", ".", "?x=1", "#f", "%2F", "ü", "", "a,b", "../../admin", "%2E", "%2e%2E",
		".%2E", "%252e", "..;x", ";", `\`, "a b"} {
		f.Add(uint8(0), s, "x")
		f.Add(uint8(1), s, ".")
		f.Add(uint8(3), ".", s)
		f.Add(uint8(4), s, s)
		f.Add(uint8(9), s, s)
	}
	tpls := make([]*schema.Template, len(fuzzPathTemplates))
	for i, raw := range fuzzPathTemplates {
		tpl, err := schema.ParseTemplate(raw)
		if err != nil {
			f.Fatal(err)
		}
		tpls[i] = tpl
	}
	f.Fuzz(func(t *testing.T, which uint8, a, b string) {
		tpl := tpls[int(which)%len(tpls)]
		vs := &Vars{Args: map[string]any{"a": a, "b": b}, Keys: []any{a, b}}
		got, err := renderPath(tpl, vs, "T.f")
		naive := naiveRender(tpl, vs)
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("%s with a=%q b=%q: %v is not an InputError", tpl.Raw, a, b, err)
			}
			if !emptyValue(tpl, vs) && !badSegment(tpl, naive) {
				t.Fatalf("%s with a=%q b=%q refused (%v), but renders as the valid %q", tpl.Raw, a, b, err, naive)
			}
			return
		}
		if got != naive {
			t.Fatalf("%s with a=%q b=%q rendered %q, want %q", tpl.Raw, a, b, got, naive)
		}
		if strings.ContainsAny(got, "?#\\") {
			t.Fatalf("rendered %q holds an unescaped ?, # or \\", got)
		}
		u, err := url.Parse("http://host" + got)
		if err != nil || u.Host != "host" || u.EscapedPath() != got || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
			t.Fatalf("rendered %q changed the URL: %#v, %v", got, u, err)
		}
		segs, want := strings.Split(got, "/"), strings.Split(tpl.Raw, "/")
		if len(segs) != len(want) {
			t.Fatalf("rendered %q has %d segments, template %q has %d", got, len(segs), tpl.Raw, len(want))
		}
		for i := 1; i < len(segs); i++ {
			if !strings.Contains(want[i], "{{") {
				if segs[i] != want[i] {
					t.Fatalf("literal segment %q rendered as %q", want[i], segs[i])
				}
				continue
			}
			if name, _, _ := strings.Cut(segs[i], ";"); name == "" || decodesToDots(name) {
				t.Fatalf("rendered %q has the segment %q", got, segs[i])
			}
		}
		if tpl == tpls[0] {
			if un, err := url.PathUnescape(segs[2]); err != nil || un != a {
				t.Fatalf("segment %q does not round-trip to %q", segs[2], a)
			}
		}
	})
}

// naiveRender renders tpl with every value escaped as renderPath escapes it, nothing refused, lists comma-joined.
func naiveRender(tpl *schema.Template, vs *Vars) string {
	var b strings.Builder
	for _, s := range tpl.Segments {
		if s.Var == nil {
			b.WriteString(s.Literal)
			continue
		}
		v, _ := vs.lookup(s.Var)
		if list, ok := v.([]any); ok {
			for i, e := range list {
				if i > 0 {
					b.WriteByte(',')
				}
				appendEscaped(&b, Text(e))
			}
			continue
		}
		appendEscaped(&b, Text(v))
	}
	return b.String()
}

// emptyValue reports whether a variable of tpl is empty, or (a list) has no item or an empty one.
func emptyValue(tpl *schema.Template, vs *Vars) bool {
	for _, v := range tpl.Vars() {
		val, _ := vs.lookup(&v)
		if list, ok := val.([]any); ok {
			if len(list) == 0 {
				return true
			}
			for _, e := range list {
				if Text(e) == "" {
					return true
				}
			}
			continue
		}
		if Text(val) == "" {
			return true
		}
	}
	return false
}

// badSegment reports whether a naive rendering has a variable segment that is empty, or "." or ".." once
// decoded, before a ";".
func badSegment(tpl *schema.Template, naive string) bool {
	segs, want := strings.Split(naive, "/"), strings.Split(tpl.Raw, "/")
	for i := 1; i < len(segs) && i < len(want); i++ {
		if !strings.Contains(want[i], "{{") {
			continue
		}
		if name, _, _ := strings.Cut(segs[i], ";"); name == "" || decodesToDots(name) {
			return true
		}
	}
	return false
}

// decodesToDots reports whether s percent-decodes, once or more, to "." or "..": an independent statement of
// what dotSegment decides.
func decodesToDots(s string) bool {
	for range 8 {
		if s == "." || s == ".." {
			return true
		}
		dec, err := url.PathUnescape(s)
		if err != nil || dec == s {
			return false
		}
		s = dec
	}
	return false
}
