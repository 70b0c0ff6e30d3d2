package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/conflux-gql/conflux/examples/mock"
)

// itemsPerOwner is how many items of the lists scenario share an owner, so the batched child field has n/10
// distinct keys: the work per item stays the same whatever n, and any step that is not linear in the number of
// keys shows.
const itemsPerOwner = 10

const itemsQuery = `query Items($n: Int!) { items(n: $n) { id name owner { id name } } }`

const itemsSDL = `type Query {
  "The first n items."
  items(n: Int!): [Item!]!
}

type Item {
  id: ID!
  name: String!
  "Batched: one GET /owners?id=…&id=… for every item of the list."
  owner: Owner
}

type Owner {
  id: ID!
  name: String!
}
`

const itemsConfigYAML = `schema: [lists.graphqls]
sources:
  items:
    http: {endpoints: [%s], dedup: false}
bindings:
  Query.items: {source: items, path: /items, query: {n: "{{args.n}}"}}
  Item.owner:
    source: items
    path: /owners/{{parent.ownerId}}
    batch: {key: "{{parent.ownerId}}", path: /owners, query: {id: "{{keys}}"}, match: id, maxSize: 1000}
`

func itemsConfig(dir, url string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "lists.graphqls"), []byte(itemsSDL), 0o644); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "conflux.yaml")
	return path, os.WriteFile(path, fmt.Appendf(nil, itemsConfigYAML, url), 0o644)
}

// newItemsBackend serves GET /items?n=N (N of the given sizes, encoded once up front so the backend costs little
// during the run) and GET /owners?id=…&id=….
func newItemsBackend(sizes []int) *mock.Backend {
	type item struct {
		ID      int    `json:"id"`
		Name    string `json:"name"`
		OwnerID int    `json:"ownerId"`
	}
	lists := map[string][]byte{}
	for _, n := range sizes {
		items := make([]item, n)
		for i := range items {
			items[i] = item{ID: i, Name: "item " + strconv.Itoa(i), OwnerID: i / itemsPerOwner}
		}
		lists[strconv.Itoa(n)], _ = json.Marshal(items)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items", func(w http.ResponseWriter, r *http.Request) {
		b, ok := lists[r.URL.Query().Get("n")]
		if !ok {
			mock.Fail(w, http.StatusBadRequest, "n must be one of the benchmark's sizes")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		_, _ = w.Write(b)
	})
	mux.HandleFunc("GET /owners", func(w http.ResponseWriter, r *http.Request) {
		type owner struct {
			ID   int    `json:"id"`
			Name string `json:"name"`
		}
		out := []owner{}
		for _, v := range mock.Values(r, "id") {
			if id, err := strconv.Atoi(v); err == nil && id >= 0 {
				out = append(out, owner{ID: id, Name: "owner " + v})
			}
		}
		mock.WriteJSON(w, http.StatusOK, out)
	})
	return mock.NewBackend("items", mux)
}

// listsScenario: one client asks for n items with a batched child field; time and memory per item for each n.
func listsScenario(ctx context.Context, b *bench) error {
	backend := newItemsBackend(b.o.sizes)
	if err := backend.Start("127.0.0.1:0"); err != nil {
		return err
	}
	defer backend.Close()
	backend.SetRecording(false)
	config, err := itemsConfig(filepath.Join(b.dir, "lists"), backend.URL())
	if err != nil {
		return err
	}
	var rows, cmpRows []row
	for _, n := range b.o.sizes {
		name := fmt.Sprintf("conflux, %d items", n)
		cf, err := b.startConflux(ctx, name, config)
		if err != nil {
			return err
		}
		// The bench's own config sets no key an older Conflux would not know: the compared one loads it too.
		cmp, err := b.startCompare(ctx, name, config)
		if err != nil {
			cf.stop()
			return err
		}
		servers := withCompare(cmp, cf)
		body := gqlBody(itemsQuery, map[string]any{"n": n})
		want := fmt.Sprintf(`"owner":{"id":"%d"`, (n-1)/itemsPerOwner)
		l := load{clients: 1, duration: b.o.duration / 2, warmup: b.o.warmup / 2, bodies: [][]byte{body},
			ok: func(status int, body []byte) bool {
				return graphQLOK(status, body) && bytes.Contains(body, []byte(want))
			}}
		var rs []row
		if err = sameAnswers(servers, l.bodies); err == nil {
			rs, err = b.measureAll("lists", servers, l, backend.Requests)
		}
		stopAll(servers...)
		if err != nil {
			return err
		}
		for i := range rs {
			rs[i].items = n
			b.rows[len(b.rows)-len(rs)+i] = rs[i]
		}
		rows = append(rows, rs[0])
		if cmp != nil {
			cmpRows = append(cmpRows, rs[1])
			b.compare(rs[0], rs[1])
		}
	}
	first := rows[0]
	perItem := func(r row) (time.Duration, time.Duration, float64) {
		n := time.Duration(r.items)
		return r.out.p50 / n, r.cpu / n, r.alloc / float64(r.items)
	}
	t0, c0, a0 := perItem(first)
	for _, r := range append(append([]row{}, rows...), cmpRows...) {
		t, c, a := perItem(r)
		b.facts = append(b.facts, fact{"lists, " + r.server, fmt.Sprintf("p50 %s/item, CPU %s/item, %s allocated/item, peak RSS %.0f MiB = %.1f× the answer (%s)",
			nsOf(t), nsOf(c), bytesOf(a), float64(r.rss)/(1<<20), rssPerAnswer(r), bytesOf(r.out.respBytes()))})
	}
	for i, r := range rows {
		if r.items < 100000 {
			continue
		}
		was := ""
		if i < len(cmpRows) {
			was = fmt.Sprintf("; %s: %.1f×", cmpRows[i].server, rssPerAnswer(cmpRows[i]))
		}
		b.target(fmt.Sprintf("lists: peak RSS ≤ 4× the answer at %d items", r.items), rssPerAnswer(r) <= 4,
			"%.1f× (%.0f MiB for %s)%s", rssPerAnswer(r), float64(r.rss)/(1<<20), bytesOf(r.out.respBytes()), was)
	}
	for _, r := range rows {
		t, c, a := perItem(r)
		if r.items == first.items {
			continue
		}
		within := func(x, base float64) bool { return x <= base*1.2 && x >= base*0.8 }
		note := ""
		if float64(t) < 0.8*float64(t0) && a <= 1.2*a0 {
			note = "; outside the band on the cheap side only: the fixed cost of a request spreads over more items, and no item costs more than at 1k"
		}
		b.target(fmt.Sprintf("lists: %d items within ±20%% of %d per item", r.items, first.items),
			within(float64(t), float64(t0)) && within(a, a0),
			"time/item %.2f×, CPU/item %.2f×, bytes/item %.2f× of the %d-item run%s", float64(t)/float64(t0), float64(c)/float64(c0), a/a0, first.items, note)
	}
	return nil
}

// rssPerAnswer is a run's peak RSS over the size of one answer: the memory a request costs the gateway in units
// of what it sends (issue 13: at most 4× for 100k items).
func rssPerAnswer(r row) float64 { return float64(r.rss) / r.out.respBytes() }
