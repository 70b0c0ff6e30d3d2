package schema

import (
	"io/fs"
	"net/url"
	"path"
	"path/filepath"
	"strings"

	"github.com/conflux-gql/conflux/sources"
	"github.com/vektah/gqlparser/v2/ast"
)

// readSupergraph reads the file the `supergraph:` key names and loads it; it returns nil when it cannot be read
// or is not a supergraph, and otherwise the loaded supergraph and the file's path (as Supergraph.Files lists it).
// The file joins the version's hash and SDLFiles, so that edits reload it and a rollback restores it.
func (d *decoder) readSupergraph(doc *document, file string, fsys fs.FS, hash interface{ Write([]byte) (int, error) }) (*supergraph, string) {
	name := path.Clean(filepath.ToSlash(doc.supergraph))
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		d.errorf(doc.supergraphPos, "supergraph", "read %s: %s", doc.supergraph, err.Error())
		return nil, ""
	}
	hash.Write([]byte(name))
	hash.Write(b)
	d.read[name] = b
	full := filepath.Join(filepath.Dir(file), filepath.FromSlash(name))
	return d.loadSupergraph(full, b, name), full
}

// deriveSources gives every subgraph a graphql source of its name calling its url (issue 14). A source of the
// same name in the configuration overrides or adds settings: its endpoints, when it lists any, replace the url;
// the settings it leaves out keep their defaults.
func (s *supergraph) deriveSources(srcs map[string]*Source) {
	for _, sub := range s.fed.Subgraphs {
		pos := s.subgraphPos[sub.Name]
		src := srcs[sub.Name]
		switch {
		case src == nil:
			h := sources.DefaultHTTPConfig()
			h.Name = sub.Name
			src = &Source{Name: sub.Name, Kind: KindGraphQL, HTTP: &h, Pos: pos}
			srcs[sub.Name] = src
		case src.Kind != KindGraphQL:
			s.errorf(src.Pos, "sources."+sub.Name, "%s is a subgraph of the supergraph (%s): configure it under graphql:, e.g. sources.%s.graphql: {timeout: 2s}",
				sub.Name, pos, sub.Name)
			continue
		case src.sawEndpoints:
			continue
		}
		src.sawEndpoints = true
		u, err := url.Parse(sub.URL)
		switch {
		case sub.URL == "":
			s.errorf(pos, "supergraph", "subgraph %s has no url: give it one when composing (routing_url in rover's supergraph.yaml), or list its endpoints under sources.%s.graphql.endpoints",
				sub.Name, sub.Name)
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "":
			s.errorf(pos, "supergraph", "subgraph %s has url %q, which is not an absolute http(s) URL without query: fix it when composing, or list its endpoints under sources.%s.graphql.endpoints",
				sub.Name, sub.URL, sub.Name)
		default:
			src.HTTP.Endpoints = []string{strings.TrimSuffix(sub.URL, "/")}
		}
	}
}

// missingEndpoints reports every http or graphql source that lists no endpoints and is not a subgraph (which
// calls the supergraph's url).
func (d *decoder) missingEndpoints(srcs map[string]*Source) {
	for _, name := range sortedKeys(srcs) {
		src := srcs[name]
		if src.HTTP != nil && !src.sawEndpoints {
			d.errorf(src.httpPos, join("sources."+name, string(src.Kind)), "missing `endpoints:`: list the base URLs, e.g. endpoints: [http://127.0.0.1:9101]")
		}
	}
}

// federatedBindings binds every Query and Mutation field of the public schema that the supergraph resolves and
// the configuration does not bind to the first subgraph (in join__Graph order) that resolves it (issue 14). The
// planner plans the whole federated selection below such a binding; a binding in the configuration always wins.
//
// A Subscription field is bound the same way, but as a plain graphql binding (issue 17): the subscription, with
// its whole selection, is forwarded to that subgraph over graphql.subscriptions (graphql-transport-ws at the
// subgraph's URL by default). A selection that needs another subgraph's fields is refused when it is planned, as
// any selection the upstream does not have.
func (v *validator) federatedBindings() {
	fed := v.sg.Federation
	for _, op := range []*ast.Definition{v.sg.Schema.Query, v.sg.Schema.Mutation, v.sg.Schema.Subscription} {
		if op == nil {
			continue
		}
		for _, f := range op.Fields {
			name := op.Name + "." + f.Name
			if strings.HasPrefix(f.Name, "__") || v.declared[name] {
				continue
			}
			subs := fed.Resolvers(op.Name, f.Name)
			if len(subs) == 0 {
				continue
			}
			v.declared[name] = true
			if src := v.sg.Sources[subs[0]]; src == nil || src.Kind != KindGraphQL {
				continue // reported by deriveSources
			}
			b := &Binding{Type: op.Name, Field: f.Name, Source: subs[0], UpstreamField: f.Name, Federated: op != v.sg.Schema.Subscription,
				Pos: astPos(f.Position, v.file)}
			if v.binding(b) {
				v.sg.bindings[name] = b
				v.sg.ordered = append(v.sg.ordered, b)
			}
		}
	}
}
