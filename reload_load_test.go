package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conflux-gql/conflux/admin"
	"github.com/conflux-gql/conflux/examples/customer360"
	"github.com/conflux-gql/conflux/schema"
)

// TestReloadUnderLoad applies 50 configuration changes — half through the admin API, half by editing the file
// — while clients query without pause. The changes flip Customer.customerSince between the date and the name,
// so every answer must come wholly from one version: all dates or all names, never a mix, never an error.
func TestReloadUnderLoad(t *testing.T) {
	const (
		clients   = 8
		perClient = 150
		changes   = 50
	)
	env := newCustomer360(t, customer360.Options{Latency: noLatency()})
	s := env.srv.Config.Handler.(*server)
	c := s.rt
	applied := make(chan *schema.Supergraph, changes*2)
	c.OnChange(func(sg *schema.Supergraph, err error) {
		if err != nil {
			t.Errorf("change refused: %v", err)
		}
		applied <- sg
	})
	s.mux.Handle("/admin/graphql", admin.NewHandler(c, ""))
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	watchDone := make(chan error, 1)
	go func() { watchDone <- c.Watch(ctx, ready) }()
	defer func() { cancel(); <-watchDone; s.rt.Close() }()
	<-ready

	names := map[string]bool{}
	dates := map[string]bool{}
	for _, cu := range customer360.NewDataset(25).Customers[:10] {
		names[cu.Name] = true
		dates[cu.Since] = true
	}
	var ok, bad, sawNames atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < perClient; j++ {
				status, raw := env.postRaw(`{ customers(limit: 10) { customerSince } }`, nil)
				if bytes.Contains(raw, []byte("Ada Lovelace")) {
					sawNames.Add(1)
				}
				if status != 200 || !oneVersion(raw, names, dates) {
					bad.Add(1)
					t.Errorf("mis-shaped answer (%d): %s", status, raw)
					return
				}
				ok.Add(1)
			}
		}()
	}

	start := time.Now()
	for i := 0; i < changes; i++ {
		from := "since"
		if i%2 == 0 {
			from = "name"
		}
		if i%4 < 2 {
			env.admin(fmt.Sprintf(`mutation { declareBinding(field: "Customer.customerSince", config: "{from: %s}") { applied } }`, from), nil)
		} else {
			data, _ := os.ReadFile(c.Current().File)
			next, err := schema.SetEntry(data, "bindings", "Customer.customerSince", []byte("{from: "+from+"}"))
			if err != nil {
				t.Fatal(err)
			}
			if err := replaceFile(c.Current().File, next); err != nil {
				t.Fatal(err)
			}
		}
		select {
		case <-applied:
		case <-time.After(10 * time.Second):
			t.Fatalf("change %d was not applied", i)
		}
	}
	elapsed := time.Since(start)
	wg.Wait()
	t.Logf("%d changes in %s while %d clients made %d requests: %d ok, %d bad", changes, elapsed.Round(time.Millisecond), clients, clients*perClient, ok.Load(), bad.Load())
	if n := sawNames.Load(); n == 0 || n == ok.Load() {
		t.Errorf("%d of %d answers came from the flipped version: the load did not overlap the changes", n, ok.Load())
	}
	if bad.Load() != 0 || ok.Load() != clients*perClient {
		t.Errorf("%d bad answers, %d ok of %d", bad.Load(), ok.Load(), clients*perClient)
	}
}

// admin on a plain testEnv: the same as adminEnv.admin.
func (e *testEnv) admin(query string, vars map[string]any) map[string]any {
	return (&adminEnv{testEnv: e}).admin(query, vars)
}

// oneVersion reports whether every customerSince in raw is a name, or every one a date.
func oneVersion(raw []byte, names, dates map[string]bool) bool {
	var resp struct {
		Data struct {
			Customers []struct {
				Since string `json:"customerSince"`
			} `json:"customers"`
		} `json:"data"`
		Errors []any `json:"errors"`
	}
	if err := json.NewDecoder(bytes.NewReader(raw)).Decode(&resp); err != nil || resp.Errors != nil || len(resp.Data.Customers) != 10 {
		return false
	}
	allNames, allDates := true, true
	for _, cu := range resp.Data.Customers {
		allNames = allNames && names[cu.Since]
		allDates = allDates && dates[cu.Since]
	}
	return allNames || allDates
}
