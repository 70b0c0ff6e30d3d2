package resolvers

import (
	"net/url"
	"strings"
	"testing"

	"github.com/conflux-gql/conflux/schema"
)

// FuzzRenderPath: whatever a client sends as an argument, the rendered path keeps the template's structure:
// the same number of segments, no query, no fragment, and no segment that climbs ("..").
func FuzzRenderPath(f *testing.F) {
	for _, s := range []string{"7", "a/b", "..", ".", "?x=1", "#f", "%2F", "ü", "", "a,b", "../../admin"} {
		f.Add(s)
	}
	tpl, err := schema.ParseTemplate("/customers/{{args.id}}/orders")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		got, err := renderPath(tpl, &Vars{Args: map[string]any{"id": arg}}, "T.f")
		if err != nil {
			if arg != "" {
				t.Fatalf("non-empty %q refused: %v", arg, err)
			}
			return
		}
		u, err := url.Parse("http://host" + got)
		if err != nil {
			t.Fatalf("rendered %q does not parse: %v", got, err)
		}
		if u.Host != "host" || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
			t.Fatalf("rendered %q changed the URL: %#v", got, u)
		}
		segs := strings.Split(u.EscapedPath(), "/")
		if len(segs) != 4 || segs[1] != "customers" || segs[3] != "orders" {
			t.Fatalf("rendered %q changed the path structure", got)
		}
		if segs[2] == ".." || segs[2] == "." {
			t.Fatalf("rendered %q climbs", got)
		}
		if un, err := url.PathUnescape(segs[2]); err != nil || un != arg {
			t.Fatalf("segment %q does not round-trip to %q", segs[2], arg)
		}
	})
}
