package customer360

import (
	"os"

	"encoding/json"
	"github.com/conflux-gql/conflux/examples/customer360/loyalty"
	"github.com/conflux-gql/conflux/examples/customer360/support"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestStart_Endpoints(t *testing.T) {
	g, err := Start(Options{Latency: noLatency()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	u := g.URLs()
	tests := []struct {
		name, method, url, body string
		status                  int
		want                    string
	}{
		{"customer", "GET", u["crm"] + "/customers/1", "", 200, `"name":"Ada Lovelace"`},
		{"customer 7 has no email", "GET", u["crm"] + "/customers/7", "", 200, `"email":null`},
		{"unknown customer", "GET", u["crm"] + "/customers/999", "", 404, `not found`},
		{"customers by segment", "GET", u["crm"] + "/customers?segment=SMB&limit=2", "", 200, `"segment":"SMB"`},
		{"bad limit", "GET", u["crm"] + "/customers?limit=x", "", 400, `limit`},
		{"orders batch", "GET", u["orders"] + "/orders?customerId=1&customerId=2", "", 200, `"customerId":"2"`},
		{"orders need a customer", "GET", u["orders"] + "/orders", "", 400, `customerId is required`},
		{"products by position", "GET", u["catalog"] + "/products/p2,nope,p1", "", 200, `[{"id":"p2"`},
		{"search is typed", "GET", u["catalog"] + "/search?q=bag", "", 200, `"__typename":"Category"`},
		{"invoices batch", "POST", u["billing"] + "/invoices/batch", `{"customerIds":["1","2"]}`, 200, `"customerId":"2"`},
		{"invoices bad body", "POST", u["billing"] + "/invoices/batch", `{`, 400, `customerIds`},
		{"tickets", "GET", u["support"] + "/tickets?customerId=1", "", 200, `"channel"`},
		{"open ticket", "POST", u["support"] + "/tickets", `{"customerId":"1","subject":"x","channel":"CHAT"}`, 201, `"transcriptUrl"`},
		{"recommendations", "GET", u["recommendations"] + "/recommendations?productId=p1", "", 200, `"forProductId":"p1"`},
		{"note", "POST", u["crm"] + "/customers/1/notes", `{"text":"hi"}`, 201, `"id":"n1"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, tc.url, strings.NewReader(tc.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || !strings.Contains(string(b), tc.want) {
				t.Errorf("%d %s, want %d containing %s", resp.StatusCode, b, tc.status, tc.want)
			}
		})
	}
	http.DefaultClient.CloseIdleConnections()
}

func TestProductsByPosition(t *testing.T) {
	g, err := Start(Options{Latency: noLatency()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	defer http.DefaultClient.CloseIdleConnections()
	resp, err := http.Get(g.URLs()["catalog"] + "/products/p2,nope,p1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got []*Product
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].ID != "p2" || got[1] != nil || got[2].ID != "p1" {
		t.Errorf("got %+v", got)
	}
}

func TestNewDataset(t *testing.T) {
	d := NewDataset(25)
	if len(d.Customers) != 25 || len(d.Products) != 12 || len(d.Categories) != 4 {
		t.Fatalf("sizes: %d customers, %d products, %d categories", len(d.Customers), len(d.Products), len(d.Categories))
	}
	for _, o := range d.Orders {
		if o.CustomerID == "3" {
			t.Error("customer 3 must have no orders")
		}
		if len(o.Lines) == 0 {
			t.Errorf("order %s has no lines", o.ID)
		}
	}
}

func noLatency() map[string]time.Duration {
	out := map[string]time.Duration{}
	for name := range DefaultLatency {
		out[name] = 0
	}
	return out
}

// TestUpstreamSDL: the SDL files the example configuration names are the backends' own schemas.
func TestUpstreamSDL(t *testing.T) {
	for file, sdl := range map[string]string{"upstream/support.graphqls": support.SDL, "upstream/loyalty.graphqls": loyalty.SDL} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != sdl {
			t.Errorf("%s differs from the backend's schema: copy it again", file)
		}
	}
}
