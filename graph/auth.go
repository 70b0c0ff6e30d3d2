package graph

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/conflux-gql/conflux/resolvers"
	"github.com/conflux-gql/conflux/schema"
	"github.com/conflux-gql/conflux/sources"
)

// The codes of a field refused by server.auth.rules (issue 16).
const (
	// CodeUnauthenticated: the field needs a valid token and the request has none.
	CodeUnauthenticated sources.Code = "UNAUTHENTICATED"
	// CodeForbidden: the request's token lacks a scope the field needs.
	CodeForbidden sources.Code = "FORBIDDEN"
)

var errAuthRequired = &codedError{code: CodeUnauthenticated, err: errors.New("authentication required: send a valid bearer token")}

// The field rules of server.auth.rules (issue 16) are applied while the plan executes, not while it is made:
// plans are shared by every request, rules answer per request. A rule keyed `Type.field` guards that field (on
// an interface: the field on every implementation); one keyed `Type` guards every field whose type is Type
// (under lists and non-null too), and on a root operation type (Query, Mutation) every field of it. A guarded
// field the request may not see is null with an UNAUTHENTICATED (no token) or FORBIDDEN (a scope is missing)
// error at its path, like a failed fetch: its fetch is never sent, nothing below it is fetched, and the rest of
// the answer arrives. Fields inside a selection forwarded to an upstream GraphQL service are refused in the
// answer, but the upstream is still asked for them.

// refuse fills o's slot of a field that fill computes (no fetch of its own) with the rules' refusal, if any,
// and reports whether it did.
func (x *execution) refuse(o *object, f *Field) bool {
	err := x.refusal(f)
	if err != nil {
		o.values[f.Index] = &fieldError{err: err, required: f.Binding != nil && f.Binding.Required}
	}
	return err != nil
}

// authorize drops the fetches whose field the rules refuse to this request, filling their parents' slots with
// the refusal, and returns the fetches (and their parents) that may run.
func (x *execution) authorize(fetches []*Fetch, parents [][]*object) ([]*Fetch, [][]*object) {
	if len(x.engine.sg.Settings.Auth.Rules) == 0 {
		return fetches, parents
	}
	var okF []*Fetch
	var okP [][]*object
	for i, f := range fetches {
		err := x.refusal(f.Field)
		if err == nil {
			okF, okP = append(okF, f), append(okP, parents[i])
			continue
		}
		fe := &fieldError{err: err, required: f.Binding != nil && f.Binding.Required}
		for _, o := range parents[i] {
			o.values[f.Field.Index] = fe
		}
	}
	return okF, okP
}

// refusal returns why the rules refuse f to this request, or nil.
func (x *execution) refusal(f *Field) error {
	rules := x.engine.sg.Settings.Auth.Rules
	// __typename and introspection answer by the schema alone (server.introspection governs them).
	if len(rules) == 0 || f.Kind == FieldTypename || f.Kind == FieldSchema || f.Kind == FieldType || f.Def == nil ||
		strings.HasPrefix(f.Parent, "__") {
		return nil
	}
	var missing []string
	guarded := false
	var claims resolvers.Claims
	var granted []string
	loaded := false
	check := func(r schema.AuthRule, ok bool) {
		if !ok {
			return
		}
		if !loaded {
			claims, loaded = resolvers.ClaimsFrom(x.ctx), true
			granted = claims.Scopes()
		}
		guarded = true
		for _, s := range r.Scopes {
			if !slices.Contains(granted, s) && !slices.Contains(missing, s) {
				missing = append(missing, s)
			}
		}
	}
	r, ok := rules[f.Parent+"."+f.Name]
	check(r, ok)
	r, ok = rules[f.Def.Type.Name()]
	check(r, ok)
	if def := x.engine.sg.Schema.Types[f.Parent]; def != nil {
		for _, iface := range def.Interfaces {
			r, ok = rules[iface+"."+f.Name]
			check(r, ok)
		}
	}
	if x.isRootType(f.Parent) {
		r, ok = rules[f.Parent]
		check(r, ok)
	}
	switch {
	case !guarded:
		return nil
	case claims == nil:
		return errAuthRequired
	case len(missing) > 0:
		return &codedError{code: CodeForbidden, err: fmt.Errorf("missing scope %s", strings.Join(missing, ", "))}
	}
	return nil
}

func (x *execution) isRootType(name string) bool {
	s := x.engine.sg.Schema
	return s.Query != nil && s.Query.Name == name || s.Mutation != nil && s.Mutation.Name == name ||
		s.Subscription != nil && s.Subscription.Name == name
}
