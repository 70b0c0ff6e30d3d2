package mock

import (
	"io"
	"net/http"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestBackend_Counters(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items", func(w http.ResponseWriter, r *http.Request) { WriteJSON(w, 200, Values(r, "id")) })
	b := NewBackend("items", mux)
	if err := b.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	status, body := get(t, b.URL()+"/items?id=1,2&id=3")
	if status != 200 || body != "[\"1\",\"2\",\"3\"]\n" {
		t.Errorf("got %d %q", status, body)
	}
	get(t, b.URL()+"/items")
	if b.Requests() != 2 || b.RequestsTo("/items") != 2 {
		t.Errorf("requests = %d, to /items = %d", b.Requests(), b.RequestsTo("/items"))
	}
	if calls := b.Recorded(); len(calls) != 2 || calls[0].RequestURI != "/items?id=1,2&id=3" {
		t.Errorf("recorded = %v", calls)
	}
	b.Reset()
	if b.Requests() != 0 || len(b.Recorded()) != 0 {
		t.Error("reset left counts")
	}
	b.SetRecording(false)
	get(t, b.URL()+"/items?id=4")
	if b.Requests() != 1 || len(b.Recorded()) != 0 {
		t.Errorf("recording off: requests = %d, recorded = %v", b.Requests(), b.Recorded())
	}
}

// TestBackend_MaxInFlight holds n requests in a middleware until all n have arrived, then checks the peak.
func TestBackend_MaxInFlight(t *testing.T) {
	const n = 4
	b := NewBackend("slow", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	var once sync.Once
	var wgArrived sync.WaitGroup
	wgArrived.Add(n)
	release := make(chan struct{})
	b.SetMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			wgArrived.Done()
			<-release
			next.ServeHTTP(w, r)
		})
	})
	if err := b.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			get(t, b.URL()+"/")
		}()
	}
	wgArrived.Wait()
	if got := b.InFlight(); got != n {
		t.Errorf("in flight = %d, want %d", got, n)
	}
	once.Do(func() { close(release) })
	wg.Wait()
	if got := b.MaxInFlight(); got != n {
		t.Errorf("max in flight = %d, want %d", got, n)
	}
}
