package graph_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/conflux-gql/conflux/sources"
)

// deferGen writes a random query over shopSDL from fuzz bytes, with @defer fragments (labelled, nested, on lists
// and single objects) and @stream on lists.
type deferGen struct {
	b      []byte
	i      int
	labels int
	fields int
}

func (g *deferGen) next() int {
	if g.i >= len(g.b) {
		return 0
	}
	g.i++
	return int(g.b[g.i-1])
}

func (g *deferGen) label(kind string) string {
	g.labels++
	return fmt.Sprintf("%s%d", kind, g.labels)
}

// user writes a selection of User, depth levels deep at most.
func (g *deferGen) user(depth int) string {
	var b strings.Builder
	b.WriteString("id")
	for n := g.next() % 5; n > 0 && g.fields < 60; n-- {
		g.fields++
		switch c := g.next() % 7; {
		case c == 0:
			b.WriteString(" name")
		case c == 1:
			b.WriteString(" posts" + g.stream() + " { id title }")
		case c == 2:
			b.WriteString(" best { title }")
		case c == 3 && depth > 0:
			b.WriteString(" friend { " + g.user(depth-1) + " }")
		case c == 4 || c == 5:
			b.WriteString(` ... @defer(label: "` + g.label("d") + `") { ` + g.user(depth) + " }")
		default:
			b.WriteString(" __typename")
		}
	}
	return b.String()
}

func (g *deferGen) stream() string {
	if g.next()%3 != 0 {
		return ""
	}
	return fmt.Sprintf(` @stream(initialCount: %d, label: "%s")`, g.next()%4, g.label("s"))
}

func (g *deferGen) query() string {
	var b strings.Builder
	b.WriteString("{ users(n: 3)" + g.stream() + " { " + g.user(2) + " }")
	if g.next()%2 == 0 {
		b.WriteString(` ... @defer(label: "` + g.label("d") + `") { user(id: "2") { ` + g.user(1) + " } }")
	}
	b.WriteString(" }")
	return b.String()
}

// mergeIncremental applies the payloads after the first (as payloads writes them) to the first's data, as a
// client does, and checks the payloads' shape: hasNext true until the last, no empty incremental list, items
// that continue their list where it ends.
func mergeIncremental(t *testing.T, got []string) any {
	t.Helper()
	var first struct {
		Data    any   `json:"data"`
		HasNext *bool `json:"hasNext"`
	}
	if err := json.Unmarshal([]byte(got[0]), &first); err != nil {
		t.Fatalf("initial payload %s: %v", got[0], err)
	}
	if (first.HasNext != nil && *first.HasNext) != (len(got) > 1) {
		t.Fatalf("initial payload %s with %d payloads", got[0], len(got))
	}
	data := first.Data
	for i, p := range got[1:] {
		var sub struct {
			Incremental []struct {
				Data  *map[string]any `json:"data"`
				Items []any           `json:"items"`
				Path  []any           `json:"path"`
			} `json:"incremental"`
			HasNext bool `json:"hasNext"`
		}
		if err := json.Unmarshal([]byte(p), &sub); err != nil {
			t.Fatalf("payload %s: %v", p, err)
		}
		if len(sub.Incremental) == 0 || sub.HasNext != (i < len(got)-2) {
			t.Fatalf("payload %d of %d: %s", i+2, len(got), p)
		}
		for _, e := range sub.Incremental {
			if e.Data != nil {
				target, ok := at(data, e.Path).(map[string]any)
				if !ok {
					t.Fatalf("payload %s: no object at %v", p, e.Path)
				}
				deepMerge(target, *e.Data)
				continue
			}
			n := len(e.Path) - 1
			listPath, index := e.Path[:n], int(e.Path[n].(float64))
			list, ok := at(data, listPath).([]any)
			if !ok || len(list) != index {
				t.Fatalf("payload %s: items at %v, list there %v", p, e.Path, at(data, listPath))
			}
			setAt(data, listPath, append(list, e.Items...))
		}
	}
	return data
}

func at(v any, path []any) any {
	for _, k := range path {
		switch k := k.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case float64:
			l, _ := v.([]any)
			if int(k) >= len(l) {
				return nil
			}
			v = l[int(k)]
		}
	}
	return v
}

func setAt(root any, path []any, v any) {
	parent := at(root, path[:len(path)-1])
	switch k := path[len(path)-1].(type) {
	case string:
		parent.(map[string]any)[k] = v
	case float64:
		parent.([]any)[int(k)] = v
	}
}

func deepMerge(dst, src map[string]any) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				deepMerge(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
}

// FuzzIncremental: for random queries with @defer and @stream, the payloads a client that accepts incremental
// delivery gets, merged as a client merges them, give exactly the data a JSON client gets in one body.
func FuzzIncremental(f *testing.F) {
	for _, seed := range []string{"", "\x03\x04\x01\x04\x02\x00", "\x00\x04\x05\x04\x05\x04\x01\x01\x02\x03\x02", "\xff\x13\x27\x04\x09\x11\x05\x02\x06\x00\x01"} {
		f.Add([]byte(seed))
	}
	users := &fakeSource{name: "users", do: func(_ context.Context, req *sources.Request) (any, error) {
		if id, ok := strings.CutPrefix(req.Path, "/users/"); ok {
			return map[string]any{"id": id, "name": "u" + id, "friendId": "1"}, nil
		}
		return userList(3), nil
	}}
	posts := &fakeSource{name: "posts", do: func(_ context.Context, req *sources.Request) (any, error) { return postsFor(req), nil }}
	e := shop(f, fmt.Sprintf(shopConfig, 2, 2), users, posts)
	f.Fuzz(func(t *testing.T, b []byte) {
		g := &deferGen{b: b}
		q := g.query()
		var plain struct {
			Data   any `json:"data"`
			Errors any `json:"errors"`
		}
		if err := json.Unmarshal([]byte(execute(t, e, q, nil)), &plain); err != nil {
			t.Fatal(err)
		}
		if plain.Errors != nil {
			t.Fatalf("%s: errors %v", q, plain.Errors)
		}
		got := payloads(t, context.Background(), e, q, nil, nil)
		if merged := mergeIncremental(t, got); !reflect.DeepEqual(merged, plain.Data) {
			m, _ := json.Marshal(merged)
			p, _ := json.Marshal(plain.Data)
			t.Fatalf("%s\nmerged payloads:\n%s\none body:\n%s\npayloads:\n%s", q, m, p, strings.Join(got, "\n"))
		}
	})
}
