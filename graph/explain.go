package graph

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/validator/rules"
)

// Explanation is a plan in a form for people and tools: the fetch DAG with each node's request, batching,
// dependencies and the response fields its answer fills.
type Explanation struct {
	Operation string         `json:"operation"`
	Fetches   []ExplainFetch `json:"fetches"`
	// Subgraphs lists the subgraph requests of the federated root fields (issue 14), absent without any.
	Subgraphs []ExplainCall `json:"subgraphs,omitempty"`
	// Deferred lists the operation's @defer fragments and Streamed its @stream fields (issue 17), absent without.
	Deferred []ExplainDefer  `json:"deferred,omitempty"`
	Streamed []ExplainStream `json:"streamed,omitempty"`
}

// ExplainDefer is one @defer fragment: delivered after the initial payload (or after the fragment it is nested
// in, Parent), once the fetches marked with its ID have finished.
type ExplainDefer struct {
	ID     int    `json:"id"`
	Label  string `json:"label,omitempty"`
	Parent int    `json:"parent,omitempty"`
	// At is the response path of the objects the fragment applies to, with @ for list levels.
	At     string   `json:"at"`
	Fields []string `json:"fields"`
}

// ExplainStream is one @stream list field.
type ExplainStream struct {
	Label string `json:"label,omitempty"`
	At    string `json:"at"`
}

// ExplainCall is one subgraph request of a federated plan.
type ExplainCall struct {
	// ID numbers the calls of one group of federated root fields (Fetches gives the group's fetch ids).
	ID       int    `json:"id"`
	Fetches  []int  `json:"fetches"`
	Subgraph string `json:"subgraph"`
	// Entities lists "Type at path" for each `_entities` selection of the request; empty for a root request.
	Entities []string `json:"entities,omitempty"`
	// DependsOn lists the calls (of the same group) whose answers this one needs.
	DependsOn []int  `json:"dependsOn"`
	Document  string `json:"document"`
}

// ExplainFetch is one fetch node of an Explanation.
type ExplainFetch struct {
	ID      int    `json:"id"`
	Binding string `json:"binding"`
	Source  string `json:"source"`
	Method  string `json:"method"`
	Path    string `json:"path"`
	// Mode is "root", "batched" or "per parent".
	Mode    string   `json:"mode"`
	Match   []string `json:"match,omitempty"`
	MaxSize int      `json:"maxSize,omitempty"`
	// DependsOn lists the fetches whose results this one needs (its parent), empty for root fields.
	DependsOn []int `json:"dependsOn"`
	// At is the response path of the field, with @ for list levels.
	At string `json:"at"`
	// Fills lists the response fields read from this fetch's answer, relative to At.
	Fills []string `json:"fills"`
	// Upstream is the selection a graphql fetch forwards.
	Upstream string `json:"upstream,omitempty"`
	// Stream says how a subscription's root fetch reads its events (issue 17): "graphql subscription",
	// "sse", "sse event <type>", "poll every <interval>"; its mode is "stream" and the fetches below it run once
	// per event.
	Stream string `json:"stream,omitempty"`
	// Deferred is the ID of the @defer fragment whose payload waits for this fetch; 0 for the initial payload.
	Deferred int `json:"deferred,omitempty"`
}

// Explain renders the plan without executing it.
func (p *Plan) Explain() *Explanation {
	ex := &Explanation{Operation: string(p.Operation), Fetches: []ExplainFetch{}}
	for _, f := range p.Fetches {
		bd := f.Binding
		ef := ExplainFetch{ID: f.ID, Binding: bd.Name(), Source: bd.Source, At: f.Path, DependsOn: []int{}, Mode: "per parent"}
		switch {
		case f.Parent == nil && p.Operation == ast.Subscription:
			ef.Mode, ef.Stream = "stream", streamOf(f)
		case f.Parent == nil:
			ef.Mode = "root"
		case f.Batched:
			ef.Mode = "batched"
			for _, m := range bd.Batch.Match {
				ef.Match = append(ef.Match, strings.Join(m, "."))
			}
			ef.MaxSize = bd.Batch.MaxSize
		}
		if f.Parent != nil {
			ef.DependsOn = append(ef.DependsOn, f.Parent.ID)
		}
		ef.Method, ef.Path = f.fetcher.describe(f)
		if bd.Federated {
			ef.Method, ef.Path = "federated", ""
		}
		if f.Forward != nil {
			ef.Upstream = f.Forward.Selection
		}
		ef.Fills = fills(f.Field, "")
		if f.Defer != nil {
			ef.Deferred = f.Defer.ID
		}
		ex.Fetches = append(ex.Fetches, ef)
		if f.Fed != nil && f.Fed.fields[0] == f.Field {
			ex.Subgraphs = append(ex.Subgraphs, f.Fed.explain()...)
		}
	}
	ex.Deferred, ex.Streamed = p.explainIncremental()
	return ex
}

// explainIncremental lists the plan's @defer fragments with the fields they deliver, and its @stream fields.
func (p *Plan) explainIncremental() ([]ExplainDefer, []ExplainStream) {
	if len(p.Deferred) == 0 && len(p.Streamed) == 0 {
		return nil, nil
	}
	defers := make([]ExplainDefer, len(p.Deferred))
	for i, d := range p.Deferred {
		defers[i] = ExplainDefer{ID: d.ID, Label: d.Label, At: d.Path, Fields: []string{}}
		if d.Parent != nil {
			defers[i].Parent = d.Parent.ID
		}
	}
	var walk func(s *Selection, path string)
	walk = func(s *Selection, path string) {
		for _, f := range s.Fields {
			at := f.Alias
			if path != "" {
				at = path + "." + f.Alias
			}
			if f.Defer != nil && !slices.Contains(defers[f.Defer.ID-1].Fields, f.Alias) {
				defers[f.Defer.ID-1].Fields = append(defers[f.Defer.ID-1].Fields, f.Alias)
			}
			if f.Def == nil {
				continue
			}
			sub := at + strings.Repeat(".@", listDepth(f.Def.Type))
			if f.Object != nil {
				walk(f.Object, sub)
			}
			for _, n := range slices.Sorted(maps.Keys(f.ByType)) {
				walk(f.ByType[n], sub)
			}
		}
	}
	walk(p.Root, "")
	var streams []ExplainStream
	for _, f := range p.Streamed {
		streams = append(streams, ExplainStream{Label: f.Stream.Label, At: f.Parent + "." + f.Alias})
	}
	return defers, streams
}

// fills lists the fields under f that are read from the same answer (stopping at fields with their own fetch).
func fills(f *Field, prefix string) []string {
	var out []string
	seen := map[string]bool{}
	var sels []*Selection
	if f.Object != nil {
		sels = append(sels, f.Object)
	}
	names := make([]string, 0, len(f.ByType))
	for n := range f.ByType {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		sels = append(sels, f.ByType[n])
	}
	for _, s := range sels {
		for _, sf := range s.Fields {
			p := prefix + sf.Alias
			if sf.Kind == FieldFetch || seen[p] {
				continue
			}
			seen[p] = true
			out = append(out, p)
			out = append(out, fills(sf, p+".")...)
		}
	}
	return out
}

// Mermaid renders the plan's DAG as a Mermaid flowchart.
func (p *Plan) Mermaid() string {
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	b.WriteString("  op([" + string(p.Operation) + "])\n")
	for _, f := range p.Explain().Fetches {
		label := fmt.Sprintf("#%d %s<br/>%s %s %s<br/>%s", f.ID, f.Binding, f.Source, f.Method, f.Path, f.Mode)
		fmt.Fprintf(&b, "  f%d[\"%s\"]\n", f.ID, strings.ReplaceAll(label, `"`, "#quot;"))
		if len(f.DependsOn) == 0 {
			fmt.Fprintf(&b, "  op --> f%d\n", f.ID)
		}
		for _, d := range f.DependsOn {
			fmt.Fprintf(&b, "  f%d -->|%s| f%d\n", d, f.At, f.ID)
		}
	}
	// The subgraph requests of federated fetches, after the fetch of their group that comes first.
	for _, c := range p.Explain().Subgraphs {
		node := fmt.Sprintf("f%ds%d", c.Fetches[0], c.ID)
		label := "subgraph " + c.Subgraph
		if len(c.Entities) > 0 {
			label += "<br/>_entities: " + strings.Join(c.Entities, ", ")
		}
		fmt.Fprintf(&b, "  %s[[\"%s\"]]\n", node, strings.ReplaceAll(label, `"`, "#quot;"))
		if len(c.DependsOn) == 0 {
			fmt.Fprintf(&b, "  f%d --> %s\n", c.Fetches[0], node)
		}
		for _, d := range c.DependsOn {
			fmt.Fprintf(&b, "  f%ds%d --> %s\n", c.Fetches[0], d, node)
		}
	}
	return b.String()
}

// Plan parses and validates query against the engine's schema and plans the named operation (the only one when
// operationName is empty), without executing it. vars decide @skip/@include.
func (e *Engine) Plan(query, operationName string, vars map[string]any) (*Plan, error) {
	doc, errs := gqlparser.LoadQueryWithRules(e.sg.Schema, query, rules.NewDefaultRules())
	if errs != nil {
		return nil, errs
	}
	var op *ast.OperationDefinition
	switch {
	case operationName != "":
		op = doc.Operations.ForName(operationName)
	case len(doc.Operations) == 1:
		op = doc.Operations[0]
	}
	if op == nil {
		return nil, fmt.Errorf("name the operation to explain (have %d operations)", len(doc.Operations))
	}
	return NewPlan(e.sg, doc, op, vars)
}
