package main

// This file holds Conflux's replacement for gqlparser's OverlappingFieldsCanBeMerged validation rule
// (github.com/vektah/gqlparser/v2 v2.5.64, validator/rules/overlapping_fields_can_be_merged.go, MIT licence,
// Copyright (c) 2018 Adam Scarr), copied and changed in two ways so that validation time is bounded (issue 13:
// 10,000 identical un-aliased fields took 25 s to validate, the rule compares every pair of fields with the
// same response name):
//
//  1. Exact duplicates are compared once. When a selection set's fields and fragment spreads are collected,
//     a field structurally identical to one already collected for the same response name (same alias, name,
//     parent type, arguments, directives and sub-selection, compared exactly by hash-consing: see fieldIDs)
//     is left out, and so is a second spread of the same fragment. This gives the same verdicts: the rule's
//     comparison of two fields depends only on their names, arguments, parent and field types and
//     sub-selections, so a duplicate conflicts with another field exactly when the field it duplicates does,
//     and a field never conflicts with its exact duplicate. Only repeated messages about the same conflict
//     are lost.
//  2. The remaining work is capped: at most maxFieldComparisons comparisons of two fields or fragments per
//     document, and at most maxConflicts conflicts reported. A document past the first cap is refused with
//     VALIDATION_LIMIT_EXCEEDED (it would need many distinct fields under one response name: no document
//     written by hand does); past the second it is already invalid and the rest is not reported. Neither cap
//     lets an invalid document through.

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/validator/core"
	"github.com/vektah/gqlparser/v2/validator/rules"
)

const (
	// maxFieldComparisons caps the comparisons of two fields, or of a set of fields and a fragment, or of two
	// fragments, the rule makes for one document. GraphiQL's introspection query needs 8, the golden queries
	// none; 100,000 take 20 to 45 ms (TestValidation_Bounded).
	maxFieldComparisons = 100_000
	// maxConflicts caps the conflicts reported for one document.
	maxConflicts = 100
	// overlapBudgetRule is the Rule of the error that reports maxFieldComparisons reached; the transport gives
	// it the code codeValidationLimit.
	overlapBudgetRule = "OverlappingFieldsCanBeMergedBudget"
	// codeValidationLimit: validating the document would take more than maxFieldComparisons comparisons.
	codeValidationLimit = "VALIDATION_LIMIT_EXCEEDED"
)

// validationRules returns gqlparser's default rules with OverlappingFieldsCanBeMerged replaced by
// overlappingFieldsRule; it is the handler's SetValidationRulesFn.
func validationRules() *rules.Rules {
	r := rules.NewDefaultRules()
	r.ReplaceRule(rules.OverlappingFieldsCanBeMergedRule.Name, overlappingFieldsRule.RuleFunc)
	return r
}

// overlappingFieldsRule is gqlparser's OverlappingFieldsCanBeMerged rule, bounded (see the top of this file).
var overlappingFieldsRule = core.Rule{
	Name: rules.OverlappingFieldsCanBeMergedRule.Name,
	RuleFunc: func(observers *core.Events, addError core.AddErrFunc) {
		// The algorithm is graphql-js's; gqlparser's copy describes it step by step (A to J), and so do the
		// comments below.
		m := &overlappingFieldsCanBeMergedManager{
			comparedFieldsAndFragmentPairs: newOrderedPairSet[*sequentialFieldsMap, string](),
			comparedFragmentPairs:          pairSet{pairs: newOrderedPairSet[string, string]()},
			cachedFieldsAndFragmentNames: make(
				map[selectionSetKey]*fieldsAndFragmentNames,
			),
			ids: fieldIDs{byField: map[*ast.Field]int{}, byKey: map[string]int{}},
		}
		report := func(conflicts []*ConflictMessage, pos *ast.Position) {
			for _, conflict := range conflicts {
				if m.reported == maxConflicts {
					break
				}
				m.reported++
				conflict.addFieldsConflictMessage(addError)
			}
			if m.budget < 0 && !m.budgetReported {
				m.budgetReported = true
				addError(
					core.Message("the document is too complex to validate: more than %d comparisons of fields with the same response name", maxFieldComparisons),
					core.At(pos),
					func(err *gqlerror.Error) { err.Rule = overlapBudgetRule },
				)
			}
		}
		m.budget = maxFieldComparisons

		observers.OnOperation(func(walker *core.Walker, operation *ast.OperationDefinition) {
			m.walker = walker
			report(m.findConflictsWithinSelectionSet(operation.SelectionSet), operation.Position)
		})
		observers.OnField(func(walker *core.Walker, field *ast.Field) {
			if walker.CurrentOperation == nil {
				// When checking both Operation and Fragment, errors are duplicated when processing
				// FragmentDefinition referenced from Operation
				return
			}
			m.walker = walker
			report(m.findConflictsWithinSelectionSet(field.SelectionSet), field.Position)
		})
		observers.OnInlineFragment(func(walker *core.Walker, inlineFragment *ast.InlineFragment) {
			m.walker = walker
			report(m.findConflictsWithinSelectionSet(inlineFragment.SelectionSet), inlineFragment.Position)
		})
		observers.OnFragment(func(walker *core.Walker, fragment *ast.FragmentDefinition) {
			m.walker = walker
			report(m.findConflictsWithinSelectionSet(fragment.SelectionSet), fragment.Position)
		})
	},
}

// orderedPairSet records pairs of things already compared for conflicts, along with
// whether each pair was compared as mutually exclusive. Comparisons are made many
// times over, so memoizing them keeps this rule from re-walking the same fragments.
// The order of a pair matters here; pairSet wraps this for pairs where it does not.
// graphql-js keeps the same two structures.
type orderedPairSet[A comparable, B comparable] struct {
	data map[A]map[B]bool
}

func newOrderedPairSet[A comparable, B comparable]() orderedPairSet[A, B] {
	return orderedPairSet[A, B]{data: make(map[A]map[B]bool)}
}

func (set *orderedPairSet[A, B]) Add(a A, b B, areMutuallyExclusive bool) {
	bs := set.data[a]
	if bs == nil {
		bs = make(map[B]bool)
		set.data[a] = bs
	}
	bs[b] = areMutuallyExclusive
}

func (set *orderedPairSet[A, B]) Has(a A, b B, areMutuallyExclusive bool) bool {
	bs, ok := set.data[a]
	if !ok {
		return false
	}
	result, ok := bs[b]
	if !ok {
		return false
	}

	// areMutuallyExclusive being false is a superset of being true,
	// hence if we want to know if this PairSet "has" these two with no
	// exclusivity, we have to ensure it was added as such.
	if !areMutuallyExclusive {
		return !result
	}

	return true
}

// pairSet records pairs of fragments already compared for conflicts, by name, for
// which the order of the pair does not matter.
type pairSet struct {
	pairs orderedPairSet[string, string]
}

func (pairSet *pairSet) Add(
	a *ast.FragmentSpread,
	b *ast.FragmentSpread,
	areMutuallyExclusive bool,
) {
	pairSet.pairs.Add(a.Name, b.Name, areMutuallyExclusive)
	pairSet.pairs.Add(b.Name, a.Name, areMutuallyExclusive)
}

func (pairSet *pairSet) Has(
	a *ast.FragmentSpread,
	b *ast.FragmentSpread,
	areMutuallyExclusive bool,
) bool {
	return pairSet.pairs.Has(a.Name, b.Name, areMutuallyExclusive)
}

// fieldsAndFragmentNames is one selection set's collected fields and fragment spreads,
// cached so that every lookup of that selection set yields the same
// *sequentialFieldsMap. graphql-js caches the same thing, and the identity it gives is
// what makes the memos above terminate on a fragment cycle.
type fieldsAndFragmentNames struct {
	fieldsMap       *sequentialFieldsMap
	fragmentSpreads []*ast.FragmentSpread
}

// selectionSetKey identifies a selection set for that cache. ast.SelectionSet is a
// slice, so it cannot be a map key itself, and unlike graphql-js's SelectionSetNode
// there is no node wrapping it to key on instead. Two slices that share a first
// element and a length are the same view of the same memory, so they cannot disagree
// about their contents. Every empty selection set collects to the same empty result
// and so shares the zero key: that makes distinct empty selection sets compare equal
// below, which only ever skips comparing an empty set of fields against something,
// and such a comparison reports nothing whether it is made or skipped.
type selectionSetKey struct {
	first *ast.Selection
	n     int
}

type sequentialFieldsMap struct {
	// We can't use map[string][]*ast.Field. because map is not stable...
	seq  []string
	data map[string][]*ast.Field
}

func (m *sequentialFieldsMap) Push(responseName string, field *ast.Field) {
	fields, ok := m.data[responseName]
	if !ok {
		m.seq = append(m.seq, responseName)
	}
	fields = append(fields, field)
	m.data[responseName] = fields
}

func (m *sequentialFieldsMap) Get(responseName string) ([]*ast.Field, bool) {
	fields, ok := m.data[responseName]
	return fields, ok
}

type conflictMessageContainer struct {
	Conflicts []*ConflictMessage
}

type ConflictMessage struct {
	Message      string
	ResponseName string
	SubMessage   []*ConflictMessage
	Position     *ast.Position
}

func (m *ConflictMessage) String(buf *bytes.Buffer) {
	if len(m.SubMessage) == 0 {
		buf.WriteString(m.Message)
		return
	}

	for idx, subMessage := range m.SubMessage {
		buf.WriteString(`subfields "`)
		buf.WriteString(subMessage.ResponseName)
		buf.WriteString(`" conflict because `)
		subMessage.String(buf)
		if idx != len(m.SubMessage)-1 {
			buf.WriteString(" and ")
		}
	}
}

func (m *ConflictMessage) addFieldsConflictMessage(addError core.AddErrFunc) {
	var buf bytes.Buffer
	m.String(&buf)
	addError(
		core.Message(
			`Fields "%s" conflict because %s. Use different aliases on the fields to fetch both if this was intentional.`,
			m.ResponseName,
			buf.String(),
		),
		core.At(m.Position),
	)
}

type overlappingFieldsCanBeMergedManager struct {
	walker *core.Walker

	// ids identifies structurally identical fields, for leaving exact duplicates out.
	ids fieldIDs
	// budget is the number of comparisons left; below 0 the rule stops and reports so once (budgetReported).
	budget         int
	budgetReported bool
	// found counts the conflicts found and reported those reported; at maxConflicts the rule stops.
	found, reported int

	// per walker.
	//
	// comparedFieldsAndFragmentPairs is keyed on the set of fields as well as the
	// fragment name because a fragment reached again while comparing a *different*
	// set of fields is a comparison that still has to happen: nested reuse of one
	// fragment is legal, and memoizing on the fragment name alone drops the
	// comparison that finds a conflict inside the reused fragment. Sets of fields are
	// compared by identity, so that is a memo rather than an unbounded traversal of a
	// fragment cycle only because they come from getFieldsAndFragmentNames.
	comparedFieldsAndFragmentPairs orderedPairSet[*sequentialFieldsMap, string]
	comparedFragmentPairs          pairSet
	cachedFieldsAndFragmentNames   map[selectionSetKey]*fieldsAndFragmentNames
}

func (m *overlappingFieldsCanBeMergedManager) findConflictsWithinSelectionSet(
	selectionSet ast.SelectionSet,
) []*ConflictMessage {
	if len(selectionSet) == 0 {
		return nil
	}

	fieldsMap, fragmentSpreads := m.getFieldsAndFragmentNames(selectionSet)

	var conflicts conflictMessageContainer

	// (A) Find find all conflicts "within" the fieldMap of this selection set.
	// Note: this is the *only place* `collectConflictsWithin` is called.
	m.collectConflictsWithin(&conflicts, fieldsMap)

	for idx, fragmentSpreadA := range fragmentSpreads {
		// (B) Then collect conflicts between these fieldMap and those represented by
		// each spread fragment name found.
		m.collectConflictsBetweenFieldsAndFragment(&conflicts, false, fieldsMap, fragmentSpreadA)

		for _, fragmentSpreadB := range fragmentSpreads[idx+1:] {
			// (C) Then compare this fragment with all other fragments found in this
			// selection set to collect conflicts between fragments spread together.
			// This compares each item in the list of fragment names to every other
			// item in that same list (except for itself).
			m.collectConflictsBetweenFragments(&conflicts, false, fragmentSpreadA, fragmentSpreadB)
		}
	}

	return conflicts.Conflicts
}

func (m *overlappingFieldsCanBeMergedManager) collectConflictsBetweenFieldsAndFragment(
	conflicts *conflictMessageContainer,
	areMutuallyExclusive bool,
	fieldsMap *sequentialFieldsMap,
	fragmentSpread *ast.FragmentSpread,
) {
	if !m.spend() {
		return
	}
	// Memoize so a set of fields and a fragment are not compared more than once.
	if m.comparedFieldsAndFragmentPairs.Has(
		fieldsMap,
		fragmentSpread.Name,
		areMutuallyExclusive,
	) {
		return
	}
	m.comparedFieldsAndFragmentPairs.Add(fieldsMap, fragmentSpread.Name, areMutuallyExclusive)

	if fragmentSpread.Definition == nil {
		return
	}

	fieldsMapB, fragmentSpreads := m.getFieldsAndFragmentNames(
		fragmentSpread.Definition.SelectionSet,
	)

	// Do not compare a fragment's fieldMap to itself.
	if fieldsMap == fieldsMapB {
		return
	}

	// (D) First collect any conflicts between the provided collection of fields
	// and the collection of fields represented by the given fragment.
	m.collectConflictsBetween(conflicts, areMutuallyExclusive, fieldsMap, fieldsMapB)

	// (E) Then collect any conflicts between the provided collection of fields
	// and any fragment names found in the given fragment. A fragment reached again
	// with this same collection of fields — a cycle, or this fragment spreading
	// itself — is refused by the memo above, so this recursion terminates.
	for _, fragmentSpread := range fragmentSpreads {
		m.collectConflictsBetweenFieldsAndFragment(
			conflicts,
			areMutuallyExclusive,
			fieldsMap,
			fragmentSpread,
		)
	}
}

func (m *overlappingFieldsCanBeMergedManager) collectConflictsBetweenFragments(
	conflicts *conflictMessageContainer,
	areMutuallyExclusive bool,
	fragmentSpreadA *ast.FragmentSpread,
	fragmentSpreadB *ast.FragmentSpread,
) {
	var check func(fragmentSpreadA *ast.FragmentSpread, fragmentSpreadB *ast.FragmentSpread)
	check = func(fragmentSpreadA *ast.FragmentSpread, fragmentSpreadB *ast.FragmentSpread) {
		if !m.spend() {
			return
		}
		if fragmentSpreadA.Name == fragmentSpreadB.Name {
			return
		}

		if m.comparedFragmentPairs.Has(fragmentSpreadA, fragmentSpreadB, areMutuallyExclusive) {
			return
		}
		m.comparedFragmentPairs.Add(fragmentSpreadA, fragmentSpreadB, areMutuallyExclusive)

		if fragmentSpreadA.Definition == nil {
			return
		}
		if fragmentSpreadB.Definition == nil {
			return
		}

		fieldsMapA, fragmentSpreadsA := m.getFieldsAndFragmentNames(
			fragmentSpreadA.Definition.SelectionSet,
		)
		fieldsMapB, fragmentSpreadsB := m.getFieldsAndFragmentNames(
			fragmentSpreadB.Definition.SelectionSet,
		)

		// (F) First, collect all conflicts between these two collections of fields
		// (not including any nested fragments).
		m.collectConflictsBetween(conflicts, areMutuallyExclusive, fieldsMapA, fieldsMapB)

		// (G) Then collect conflicts between the first fragment and any nested
		// fragments spread in the second fragment.
		for _, fragmentSpread := range fragmentSpreadsB {
			check(fragmentSpreadA, fragmentSpread)
		}
		// (G) Then collect conflicts between the second fragment and any nested
		// fragments spread in the first fragment.
		for _, fragmentSpread := range fragmentSpreadsA {
			check(fragmentSpread, fragmentSpreadB)
		}
	}

	check(fragmentSpreadA, fragmentSpreadB)
}

func (m *overlappingFieldsCanBeMergedManager) findConflictsBetweenSubSelectionSets(
	areMutuallyExclusive bool,
	selectionSetA ast.SelectionSet,
	selectionSetB ast.SelectionSet,
) *conflictMessageContainer {
	var conflicts conflictMessageContainer

	fieldsMapA, fragmentSpreadsA := m.getFieldsAndFragmentNames(selectionSetA)
	fieldsMapB, fragmentSpreadsB := m.getFieldsAndFragmentNames(selectionSetB)

	// (H) First, collect all conflicts between these two collections of field.
	m.collectConflictsBetween(&conflicts, areMutuallyExclusive, fieldsMapA, fieldsMapB)

	// (I) Then collect conflicts between the first collection of fields and
	// those referenced by each fragment name associated with the second.
	for _, fragmentSpread := range fragmentSpreadsB {
		m.collectConflictsBetweenFieldsAndFragment(
			&conflicts,
			areMutuallyExclusive,
			fieldsMapA,
			fragmentSpread,
		)
	}

	// (I) Then collect conflicts between the second collection of fields and
	// those referenced by each fragment name associated with the first.
	for _, fragmentSpread := range fragmentSpreadsA {
		m.collectConflictsBetweenFieldsAndFragment(
			&conflicts,
			areMutuallyExclusive,
			fieldsMapB,
			fragmentSpread,
		)
	}

	// (J) Also collect conflicts between any fragment names by the first and
	// fragment names by the second. This compares each item in the first set of
	// names to each item in the second set of names.
	for _, fragmentSpreadA := range fragmentSpreadsA {
		for _, fragmentSpreadB := range fragmentSpreadsB {
			m.collectConflictsBetweenFragments(
				&conflicts,
				areMutuallyExclusive,
				fragmentSpreadA,
				fragmentSpreadB,
			)
		}
	}

	if len(conflicts.Conflicts) == 0 {
		return nil
	}

	return &conflicts
}

func (m *overlappingFieldsCanBeMergedManager) collectConflictsWithin(
	conflicts *conflictMessageContainer,
	fieldsMap *sequentialFieldsMap,
) {
	for _, responseName := range fieldsMap.seq {
		fields := fieldsMap.data[responseName]
		for idx, fieldA := range fields {
			for _, fieldB := range fields[idx+1:] {
				if !m.spend() {
					return
				}
				conflict := m.findConflict(false, fieldA, fieldB)
				if conflict != nil {
					m.found++
					conflicts.Conflicts = append(conflicts.Conflicts, conflict)
				}
			}
		}
	}
}

func (m *overlappingFieldsCanBeMergedManager) collectConflictsBetween(
	conflicts *conflictMessageContainer,
	parentFieldsAreMutuallyExclusive bool,
	fieldsMapA *sequentialFieldsMap,
	fieldsMapB *sequentialFieldsMap,
) {
	for _, responseName := range fieldsMapA.seq {
		fieldsA := fieldsMapA.data[responseName]
		fieldsB, ok := fieldsMapB.Get(responseName)
		if !ok {
			continue
		}
		for _, fieldA := range fieldsA {
			for _, fieldB := range fieldsB {
				if !m.spend() {
					return
				}
				conflict := m.findConflict(parentFieldsAreMutuallyExclusive, fieldA, fieldB)
				if conflict != nil {
					m.found++
					conflicts.Conflicts = append(conflicts.Conflicts, conflict)
				}
			}
		}
	}
}

func (m *overlappingFieldsCanBeMergedManager) findConflict(
	parentFieldsAreMutuallyExclusive bool,
	fieldA *ast.Field,
	fieldB *ast.Field,
) *ConflictMessage {
	if fieldA.ObjectDefinition == nil || fieldB.ObjectDefinition == nil {
		return nil
	}

	areMutuallyExclusive := parentFieldsAreMutuallyExclusive
	if !areMutuallyExclusive {
		tmp := fieldA.ObjectDefinition.Name != fieldB.ObjectDefinition.Name
		tmp = tmp && fieldA.ObjectDefinition.Kind == ast.Object
		tmp = tmp && fieldB.ObjectDefinition.Kind == ast.Object
		tmp = tmp && fieldA.Definition != nil && fieldB.Definition != nil
		areMutuallyExclusive = tmp
	}

	fieldNameA := fieldA.Name
	if fieldA.Alias != "" {
		fieldNameA = fieldA.Alias
	}

	if !areMutuallyExclusive {
		// Two aliases must refer to the same field.
		if fieldA.Name != fieldB.Name {
			return &ConflictMessage{
				ResponseName: fieldNameA,
				Message: fmt.Sprintf(
					`"%s" and "%s" are different fields`,
					fieldA.Name,
					fieldB.Name,
				),
				Position: fieldB.Position,
			}
		}

		// Two field calls must have the same arguments.
		if !sameArguments(fieldA.Arguments, fieldB.Arguments) {
			return &ConflictMessage{
				ResponseName: fieldNameA,
				Message:      "they have differing arguments",
				Position:     fieldB.Position,
			}
		}
	}

	if fieldA.Definition != nil && fieldB.Definition != nil &&
		doTypesConflict(m.walker, fieldA.Definition.Type, fieldB.Definition.Type) {
		return &ConflictMessage{
			ResponseName: fieldNameA,
			Message: fmt.Sprintf(
				`they return conflicting types "%s" and "%s"`,
				fieldA.Definition.Type.String(),
				fieldB.Definition.Type.String(),
			),
			Position: fieldB.Position,
		}
	}

	// Collect and compare sub-fields. Use the same "visited fragment names" list
	// for both collections so fields in a fragment reference are never
	// compared to themselves.
	conflicts := m.findConflictsBetweenSubSelectionSets(
		areMutuallyExclusive,
		fieldA.SelectionSet,
		fieldB.SelectionSet,
	)
	if conflicts == nil {
		return nil
	}
	return &ConflictMessage{
		ResponseName: fieldNameA,
		SubMessage:   conflicts.Conflicts,
		Position:     fieldB.Position,
	}
}

func sameArguments(args1, args2 []*ast.Argument) bool {
	if len(args1) != len(args2) {
		return false
	}
	for _, arg1 := range args1 {
		var matched bool
		for _, arg2 := range args2 {
			if arg1.Name == arg2.Name && sameValue(arg1.Value, arg2.Value) {
				matched = true
				break
			}
		}
		if !matched {
			return false
		}
	}
	return true
}

// sameValue reports whether two argument values are identical. Input object fields
// are compared in name order because their order is not significant, list elements
// in the order written because theirs is. Both values must be non-nil.
func sameValue(value1, value2 *ast.Value) bool {
	if value1.Kind != value2.Kind {
		return false
	}
	if value1.Raw != value2.Raw {
		return false
	}
	// Objects and lists keep their contents in Children and leave Raw empty, so the
	// comparison above cannot tell two of them apart: without the walk below, every
	// object value looks equal to every other one and fields with differing composite
	// arguments are wrongly allowed to merge.
	if len(value1.Children) != len(value2.Children) {
		return false
	}

	children1, children2 := value1.Children, value2.Children
	if value1.Kind == ast.ObjectValue {
		children1, children2 = childrenSortedByName(children1), childrenSortedByName(children2)
	}
	for i, child1 := range children1 {
		child2 := children2[i]
		if child1.Name != child2.Name || !sameValue(child1.Value, child2.Value) {
			return false
		}
	}
	return true
}

// childrenSortedByName returns the children in name order. It sorts a copy because
// the argument is live AST shared with everything else looking at the query. List
// elements are unnamed, so only object values have anything to sort.
func childrenSortedByName(children ast.ChildValueList) ast.ChildValueList {
	sorted := slices.Clone(children)
	slices.SortStableFunc(sorted, func(child1, child2 *ast.ChildValue) int {
		return strings.Compare(child1.Name, child2.Name)
	})
	return sorted
}

// doTypesConflict reports whether two types could not both apply to a value at once.
// Two composite types are ignored, as their individual field types are compared later
// recursively. However, list and non-null wrappers must match.
func doTypesConflict(walker *core.Walker, type1, type2 *ast.Type) bool {
	// A list's own non-null flag sits next to its Elem rather than wrapping it,
	// so both have to match before recursing into the item types.
	if type1.NonNull != type2.NonNull || (type1.Elem == nil) != (type2.Elem == nil) {
		return true
	}
	if type1.Elem != nil {
		return doTypesConflict(walker, type1.Elem, type2.Elem)
	}

	t1 := walker.Schema.Types[type1.NamedType]
	t2 := walker.Schema.Types[type2.NamedType]
	// A leaf has no subfields to compare later, so a mismatch involving one
	// has to be caught here, even when the other type is composite.
	if t1.IsLeafType() || t2.IsLeafType() {
		return t1.Name != t2.Name
	}

	return false
}

// getFieldsAndFragmentNames collects a selection set's fields and fragment spreads,
// returning the same values for every later lookup of that same selection set. Those
// values are shared, so callers must only read them. The rule's memos are keyed on
// what it returns, so collecting a selection set afresh each time would defeat them:
// a query that spreads a cyclic fragment in nested selection sets then recurses until
// the stack is gone.
func (m *overlappingFieldsCanBeMergedManager) getFieldsAndFragmentNames(
	selectionSet ast.SelectionSet,
) (*sequentialFieldsMap, []*ast.FragmentSpread) {
	key := selectionSetKey{n: len(selectionSet)}
	if key.n > 0 {
		key.first = &selectionSet[0]
	}
	if cached, ok := m.cachedFieldsAndFragmentNames[key]; ok {
		return cached.fieldsMap, cached.fragmentSpreads
	}

	fieldsMap, fragmentSpreads := m.collectFieldsAndFragmentNames(selectionSet)
	m.cachedFieldsAndFragmentNames[key] = &fieldsAndFragmentNames{
		fieldsMap:       fieldsMap,
		fragmentSpreads: fragmentSpreads,
	}
	return fieldsMap, fragmentSpreads
}

// collectFieldsAndFragmentNames collects the fields of a selection set, through its inline fragments, by response
// name, and the fragments it spreads. It leaves out a field structurally identical to one already collected and
// a second spread of the same fragment: see the top of the file for why that gives the same verdicts.
func (m *overlappingFieldsCanBeMergedManager) collectFieldsAndFragmentNames(
	selectionSet ast.SelectionSet,
) (*sequentialFieldsMap, []*ast.FragmentSpread) {
	fieldsMap := sequentialFieldsMap{
		data: make(map[string][]*ast.Field),
	}
	var fragmentSpreads []*ast.FragmentSpread
	seenFields := map[int]bool{}
	seenSpreads := map[string]bool{}

	var walk func(selectionSet ast.SelectionSet)
	walk = func(selectionSet ast.SelectionSet) {
		for _, selection := range selectionSet {
			switch selection := selection.(type) {
			case *ast.Field:
				id := m.ids.field(selection)
				if seenFields[id] {
					continue
				}
				seenFields[id] = true
				responseName := selection.Name
				if selection.Alias != "" {
					responseName = selection.Alias
				}
				fieldsMap.Push(responseName, selection)

			case *ast.InlineFragment:
				walk(selection.SelectionSet)

			case *ast.FragmentSpread:
				if seenSpreads[selection.Name] {
					continue
				}
				seenSpreads[selection.Name] = true
				fragmentSpreads = append(fragmentSpreads, selection)
			}
		}
	}
	walk(selectionSet)

	return &fieldsMap, fragmentSpreads
}

// spend takes one comparison from the budget; false means stop: the budget is spent, or enough conflicts were
// found to refuse the document.
func (m *overlappingFieldsCanBeMergedManager) spend() bool {
	if m.found >= maxConflicts {
		return false
	}
	m.budget--
	return m.budget >= 0
}

// fieldIDs numbers fields by structure: two fields get the same number exactly when they have the same alias,
// name, parent type, arguments, directives and sub-selection (recursively, fragment spreads by name). It is
// hash-consing: a field's key is its own parts plus the numbers of its sub-fields, so each field is encoded
// once and the work is linear in the document. Keys are compared whole, so there are no false matches.
type fieldIDs struct {
	byField map[*ast.Field]int
	byKey   map[string]int
}

// field returns f's number. The walker must have annotated f (its ObjectDefinition) and its sub-selection.
func (ids *fieldIDs) field(f *ast.Field) int {
	if id, ok := ids.byField[f]; ok {
		return id
	}
	b := []byte{'F'}
	b = appendName(b, f.Alias)
	b = appendName(b, f.Name)
	if f.ObjectDefinition != nil {
		b = appendName(b, f.ObjectDefinition.Name)
	} else {
		b = append(b, '-')
	}
	b = appendArguments(b, f.Arguments)
	b = appendDirectives(b, f.Directives)
	b = ids.appendSelectionSet(b, f.SelectionSet)
	id, ok := ids.byKey[string(b)]
	if !ok {
		id = len(ids.byKey) + 1
		ids.byKey[string(b)] = id
	}
	ids.byField[f] = id
	return id
}

func (ids *fieldIDs) appendSelectionSet(b []byte, set ast.SelectionSet) []byte {
	b = append(b, '{')
	for _, sel := range set {
		switch sel := sel.(type) {
		case *ast.Field:
			b = append(b, 'f')
			b = strconv.AppendInt(b, int64(ids.field(sel)), 10)
			b = append(b, ';')
		case *ast.InlineFragment:
			b = append(b, 'i')
			b = appendName(b, sel.TypeCondition)
			b = appendDirectives(b, sel.Directives)
			b = ids.appendSelectionSet(b, sel.SelectionSet)
		case *ast.FragmentSpread:
			b = append(b, 's')
			b = appendName(b, sel.Name)
			b = appendDirectives(b, sel.Directives)
		}
	}
	return append(b, '}')
}

// appendName appends s length-prefixed, so that no two sequences of names encode alike.
func appendName(b []byte, s string) []byte {
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	return append(b, s...)
}

func appendDirectives(b []byte, dirs ast.DirectiveList) []byte {
	b = append(b, '@')
	b = strconv.AppendInt(b, int64(len(dirs)), 10)
	for _, d := range dirs {
		b = appendName(b, d.Name)
		b = appendArguments(b, d.Arguments)
	}
	return b
}

func appendArguments(b []byte, args ast.ArgumentList) []byte {
	b = append(b, '(')
	b = strconv.AppendInt(b, int64(len(args)), 10)
	for _, a := range args {
		b = appendName(b, a.Name)
		b = appendValue(b, a.Value)
	}
	return b
}

func appendValue(b []byte, v *ast.Value) []byte {
	if v == nil {
		return append(b, '-')
	}
	b = strconv.AppendInt(b, int64(v.Kind), 10)
	b = appendName(b, v.Raw)
	b = strconv.AppendInt(b, int64(len(v.Children)), 10)
	b = append(b, '[')
	for _, c := range v.Children {
		b = appendName(b, c.Name)
		b = appendValue(b, c.Value)
	}
	return b
}
