package schema

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/conflux-gql/conflux/fleet"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
	gqlvalidator "github.com/vektah/gqlparser/v2/validator"
	"go.yaml.in/yaml/v3"
)

// Supergraph is one loaded, validated configuration version: the public schema, the sources and the bindings.
// It is immutable after Load and safe for concurrent use; a changed configuration is a new Supergraph.
type Supergraph struct {
	// Version identifies the configuration's content (a hash of the config and SDL bytes).
	Version string
	// File is the configuration file it was loaded from.
	File string
	// Files lists every file the version was read from: the configuration, then the SDL files.
	Files []string
	// Raw is the configuration file's content.
	Raw []byte
	// SDLFiles holds the SDL files the version read (its public schema and upstream sdl files), by path relative
	// to the configuration's directory, so that a rollback can restore them with the configuration.
	SDLFiles map[string][]byte
	Schema   *ast.Schema
	Sources  map[string]*Source
	Settings Settings
	// Federation describes the composed supergraph named by the `supergraph:` key; nil without one.
	Federation *Federation
	// Redis is the `redis:` section (issue 15): the Redis that replicas share; nil without one. It is read when
	// the process starts; a later version's change to it takes effect at the next start.
	Redis *fleet.Config
	// Telemetry is the `telemetry:` section (issue 16); nil without one. It is read when the process starts.
	Telemetry *Telemetry
	// Warnings are the lint findings that did not stop the load.
	Warnings []Problem

	// Env holds the environment variables the bindings read, captured at load.
	Env map[string]string

	bindings map[string]*Binding
	ordered  []*Binding
	env      func(string) (string, bool)
}

// envLookup reads an environment variable and remembers it in Env for request-time rendering.
func (s *Supergraph) envLookup(name string) (string, bool) {
	v, ok := s.env(name)
	if ok {
		s.Env[name] = v
	}
	return v, ok
}

// Binding returns the binding of typeName.field, or nil when the field has none.
func (s *Supergraph) Binding(typeName, field string) *Binding {
	return s.bindings[typeName+"."+field]
}

// Bindings returns every binding in configuration order.
func (s *Supergraph) Bindings() []*Binding { return s.ordered }

// SourceNames returns the sources' names, sorted.
func (s *Supergraph) SourceNames() []string { return sortedKeys(s.Sources) }

// Option adjusts how a configuration is loaded.
type Option func(*options)

type options struct {
	env        func(string) (string, bool)
	introspect Introspector
}

// WithEnv sets how {{env.*}} is looked up; the default is os.LookupEnv.
func WithEnv(lookup func(string) (string, bool)) Option {
	return func(o *options) { o.env = lookup }
}

// Load reads the configuration file at file and the SDL files it names (relative to its directory).
// On failure the error is a *ConfigError listing every problem; the caller's running configuration is untouched.
func Load(file string, opts ...Option) (*Supergraph, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(file, data, os.DirFS(filepath.Dir(file)), opts...)
}

// Parse loads a configuration from data; file names it in messages, and SDL globs are resolved in fsys.
func Parse(file string, data []byte, fsys fs.FS, opts ...Option) (*Supergraph, error) {
	o := options{env: os.LookupEnv}
	for _, opt := range opts {
		opt(&o)
	}
	d := &decoder{file: file, problems: &problems{}, read: map[string][]byte{}}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		d.syntaxProblem(err, data)
		return nil, d.result()
	}
	if root.Kind == 0 {
		d.errorf(Position{File: file, Line: 1}, "", "the file is empty: it needs at least `schema:` and `bindings:`")
		return nil, d.result()
	}
	doc := d.document(&root, o.env)

	hash := sha256.New()
	hash.Write(data)
	files := []string{file}
	var sup *supergraph
	if doc.supergraph != "" {
		var supFile string
		if sup, supFile = d.readSupergraph(doc, file, fsys, hash); sup == nil {
			return nil, d.result()
		}
		files = append(files, supFile)
	}
	sdl, sdlFiles := d.loadSDL(doc, file, fsys, hash, sup)
	if sdl == nil {
		return nil, d.result()
	}
	sg := &Supergraph{
		Version:  hex.EncodeToString(hash.Sum(nil))[:12],
		File:     file,
		Files:    append(files, sdlFiles...),
		Raw:      data,
		SDLFiles: d.read,
		Schema:   sdl,
		Sources:  doc.sources,
		Settings: doc.settings,
		Redis:    doc.redis,
		Env:      map[string]string{},
		bindings: map[string]*Binding{},
		env:      o.env,
	}
	sg.Telemetry = doc.telemetry
	if sup != nil {
		sg.Federation = sup.fed
		sup.deriveSources(sg.Sources)
		sup.subgraphSchemas(sg.Sources)
	}
	d.missingEndpoints(sg.Sources)
	for _, name := range sortedKeys(sg.Sources) {
		if src := sg.Sources[name]; sup != nil && sup.fed.ByName[name] != nil && (src.HTTP == nil || src.HTTP.SDL == "") {
			// A subgraph is never introspected at load: the supergraph says what it serves.
			continue
		}
		d.loadUpstream(sg.Sources[name], file, fsys, hash, o.introspect)
	}
	v := &validator{decoder: d, sg: sg, declared: map[string]bool{}}
	for _, b := range doc.bindings {
		v.declared[b.Name()] = true
		if prev := sg.bindings[b.Name()]; prev != nil {
			d.errorf(b.Pos, "bindings."+b.Name(), "bound twice (also at %s): keep one", prev.Pos)
			continue
		}
		if v.binding(b) {
			sg.bindings[b.Name()] = b
			sg.ordered = append(sg.ordered, b)
		}
	}
	if sup != nil {
		v.federatedBindings()
	}
	v.authRules()
	v.subscriptionFields()
	v.lint()
	if err := d.result(); err != nil {
		return nil, err
	}
	sg.Warnings = append(sg.Warnings, d.list...)
	return sg, nil
}

// result returns the collected problems as a *ConfigError when any is an error.
func (d *decoder) result() error {
	if !d.hasErrors() {
		return nil
	}
	sort.SliceStable(d.list, func(i, j int) bool {
		a, b := d.list[i].Pos, d.list[j].Pos
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
	return &ConfigError{Problems: d.list}
}

// loadSDL reads the schema files named by the globs and builds the public schema: the public part of the
// supergraph, when there is one, and the files, which may extend its types.
func (d *decoder) loadSDL(doc *document, file string, fsys fs.FS, hash interface{ Write([]byte) (int, error) }, sup *supergraph) (*ast.Schema, []string) {
	dir := filepath.Dir(file)
	var srcs []*ast.Source
	seen := map[string]bool{}
	for _, g := range doc.schemaGlobs {
		g = path.Clean(filepath.ToSlash(g))
		matches, err := fs.Glob(fsys, g)
		if err != nil {
			d.errorf(doc.schemaPos, "schema", "bad glob %q: %s", g, err.Error())
			continue
		}
		if len(matches) == 0 {
			d.errorf(doc.schemaPos, "schema", "%q matches no file in %s", g, dir)
		}
		for _, m := range matches {
			if seen[m] {
				continue
			}
			seen[m] = true
			b, err := fs.ReadFile(fsys, m)
			if err != nil {
				d.errorf(doc.schemaPos, "schema", "read %s: %s", m, err.Error())
				continue
			}
			hash.Write([]byte(m))
			hash.Write(b)
			d.read[m] = b
			srcs = append(srcs, &ast.Source{Name: filepath.Join(dir, filepath.FromSlash(m)), Input: string(b)})
		}
	}
	if len(srcs) == 0 && sup == nil {
		return nil, nil
	}
	files := make([]string, len(srcs))
	for i, src := range srcs {
		files[i] = src.Name
	}
	// As gqlparser.LoadSchema, with the supergraph's public document between the prelude and the files, so that
	// a file redeclaring a supergraph type is the one blamed.
	sd, err := parser.ParseSchema(gqlvalidator.Prelude)
	if err == nil && sup != nil {
		sd.Merge(sup.public)
	}
	var own *ast.SchemaDocument
	if err == nil && len(srcs) > 0 {
		if own, err = parser.ParseSchemas(srcs...); err == nil {
			sd.Merge(own)
		}
	}
	if err == nil && (own == nil || own.Directives.ForName("stream") == nil) {
		// @stream, which gqlparser's prelude does not declare (issue 17); a directive the SDL declares itself wins.
		var stream *ast.SchemaDocument
		if stream, err = parser.ParseSchema(streamDirective); err == nil {
			sd.Merge(stream)
		}
	}
	var s *ast.Schema
	if err == nil {
		s, err = gqlvalidator.ValidateSchemaDocument(sd)
	}
	if err != nil {
		d.sdlProblems(gqlerror.WrapIfUnwrapped(err))
		return nil, files
	}
	return s, files
}

// streamDirective declares @stream as graphql-js 17 and the incremental delivery RFC do (issue 17). @defer comes
// from gqlparser's prelude.
var streamDirective = &ast.Source{Name: "prelude-stream.graphql", BuiltIn: true, Input: `"Directs the executor to deliver the items of this list field after the first initialCount incrementally, when the ` + "`if`" + ` argument is true or undefined."
directive @stream(
  "Streamed when true or undefined."
  if: Boolean! = true,
  "Unique name"
  label: String,
  "Number of items to return immediately"
  initialCount: Int = 0
) on FIELD
`}

func (d *decoder) sdlProblems(err error) {
	var list gqlerror.List
	var one *gqlerror.Error
	switch {
	case errors.As(err, &list):
	case errors.As(err, &one):
		list = gqlerror.List{one}
	default:
		d.errorf(Position{File: d.file}, "schema", "%s", err.Error())
		return
	}
	for _, e := range list {
		pos := Position{File: d.file}
		if e.Extensions != nil {
			if f, ok := e.Extensions["file"].(string); ok {
				pos.File = f
			}
		}
		if len(e.Locations) > 0 {
			pos.Line, pos.Column = e.Locations[0].Line, e.Locations[0].Column
		}
		d.errorf(pos, "", "SDL: %s", strings.TrimPrefix(e.Message, "input: "))
	}
}

// loadUpstream reads a graphql source's upstream schema: its SDL file, or, without one, the upstream's answer to
// introspection when the loader was given an Introspector. A federation subgraph's SDL may use directives it does
// not declare (@key, @link, ...): they are declared here so that it parses.
func (d *decoder) loadUpstream(src *Source, file string, fsys fs.FS, hash interface{ Write([]byte) (int, error) }, introspect Introspector) {
	if src.Kind != KindGraphQL || src.HTTP == nil {
		return
	}
	setting := "sources." + src.Name + ".graphql.sdl"
	if src.HTTP.SDL == "" {
		if introspect == nil {
			d.warnf(src.Pos, "sources."+src.Name, "no sdl: the upstream schema is unknown, so forwarded selections are not checked before they are sent; name the upstream SDL file with sdl:")
			return
		}
		answer, err := introspect(src)
		var sdl string
		if err == nil {
			sdl, err = IntrospectionSDL(answer)
		}
		if err != nil {
			d.warnf(src.Pos, "sources."+src.Name, "no sdl, and introspecting the upstream failed (%s): forwarded selections are not checked before they are sent; name the upstream SDL file with sdl: to start without the upstream", err.Error())
			return
		}
		up, gerr := upstreamSchema("introspection of "+src.Name, sdl)
		if gerr != nil {
			d.warnf(src.Pos, "sources."+src.Name, "no sdl, and the schema the upstream's introspection describes does not load (%s): forwarded selections are not checked before they are sent", gerr.Error())
			return
		}
		hash.Write([]byte(sdl))
		src.Upstream = up
		return
	}
	name := path.Clean(filepath.ToSlash(src.HTTP.SDL))
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		d.errorf(src.sdlPos, setting, "read the upstream SDL %s: %s", src.HTTP.SDL, err.Error())
		return
	}
	hash.Write(b)
	d.read[name] = b
	up, gerr := upstreamSchema(filepath.Join(filepath.Dir(file), filepath.FromSlash(name)), string(b))
	if gerr != nil {
		d.sdlProblems(gerr)
		return
	}
	src.Upstream = up
}

// upstreamSchema parses a graphql source's upstream SDL, named name in messages.
func upstreamSchema(name, sdl string) (*ast.Schema, error) {
	return gqlparser.LoadSchema(&ast.Source{Name: "federation.graphqls", Input: preludeFor(sdl), BuiltIn: true},
		&ast.Source{Name: name, Input: sdl})
}

// preludeFor returns the federation declarations sdl does not make itself.
func preludeFor(sdl string) string {
	declared := map[string]bool{}
	if doc, err := parser.ParseSchema(&ast.Source{Input: sdl}); err == nil {
		for _, d := range doc.Directives {
			declared["@"+d.Name] = true
		}
		for _, d := range doc.Definitions {
			declared[d.Name] = true
		}
	}
	var b strings.Builder
	for _, line := range strings.Split(federationPrelude, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 2 && f[0] == "scalar" && !declared[f[1]]:
		case len(f) >= 2 && f[0] == "directive" && !declared[strings.SplitN(f[1], "(", 2)[0]]:
		default:
			continue
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String()
}

// federationPrelude declares the Apollo Federation directives and scalars a subgraph SDL may use.
const federationPrelude = `
scalar _Any
scalar FieldSet
scalar link__Import
scalar federation__FieldSet
scalar federation__Scope
scalar federation__Policy
directive @key(fields: FieldSet!, resolvable: Boolean = true) repeatable on OBJECT | INTERFACE
directive @requires(fields: FieldSet!) on FIELD_DEFINITION
directive @provides(fields: FieldSet!) on FIELD_DEFINITION
directive @external(reason: String) on OBJECT | FIELD_DEFINITION
directive @shareable repeatable on OBJECT | FIELD_DEFINITION
directive @extends on OBJECT | INTERFACE
directive @override(from: String!, label: String) on FIELD_DEFINITION
directive @inaccessible on FIELD_DEFINITION | OBJECT | INTERFACE | UNION | ARGUMENT_DEFINITION | SCALAR | ENUM | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION
directive @tag(name: String!) repeatable on FIELD_DEFINITION | OBJECT | INTERFACE | UNION | ARGUMENT_DEFINITION | SCALAR | ENUM | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION
directive @link(url: String!, as: String, for: String, import: [link__Import]) repeatable on SCHEMA
directive @composeDirective(name: String!) repeatable on SCHEMA
directive @interfaceObject on OBJECT
directive @authenticated on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM
directive @requiresScopes(scopes: [[federation__Scope!]!]!) on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM
directive @policy(policies: [[federation__Policy!]!]!) on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM
`
