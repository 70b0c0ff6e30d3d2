package resolvers

import (
	"testing"
	"testing/fstest"

	"github.com/conflux-gql/conflux/events"
	"github.com/conflux-gql/conflux/schema"
)

// TestNew_SubscriptionBudget: the subscription budget a set is given takes its bound from the version's
// server.subscriptions.bufferBytesTotal, so that a reload that changes it applies to the process's budget; a set
// given none has one of its own with that bound.
func TestNew_SubscriptionBudget(t *testing.T) {
	parse := func(server string) *schema.Supergraph {
		t.Helper()
		sg, err := schema.Parse("conflux.yaml", []byte("schema: [s.graphqls]\nbindings:\n  Query.a: {value: 1}\n"+server),
			fstest.MapFS{"s.graphqls": {Data: []byte("type Query { a: Int }")}})
		if err != nil {
			t.Fatal(err)
		}
		return sg
	}
	shared := events.NewBudget(0)
	if _, err := New(parse("server: {subscriptions: {bufferBytesTotal: 4096}}\n"), nil, WithSubscriptionBudget(shared)); err != nil {
		t.Fatal(err)
	}
	if got := shared.Max(); got != 4096 {
		t.Errorf("budget bound %d, want 4096", got)
	}
	if _, err := New(parse(""), nil, WithSubscriptionBudget(shared)); err != nil {
		t.Fatal(err)
	}
	if got, want := shared.Max(), schema.DefaultSettings().Subscriptions.BufferBytesTotal; got != want {
		t.Errorf("after a version with the default: bound %d, want %d", got, want)
	}
	set, err := New(parse("server: {subscriptions: {bufferBytesTotal: 2048}}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range set.byBinding {
		if r.subBudget == nil || r.subBudget == shared || r.subBudget.Max() != 2048 {
			t.Errorf("%s: a set given no budget shares one of its own bound by its settings (2048), got %+v", r.Binding.Name(), r.subBudget)
		}
	}
}
