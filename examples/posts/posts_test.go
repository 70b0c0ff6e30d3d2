package posts

import (
	"encoding/json"
	"net/http"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestStart(t *testing.T) {
	b, err := Start(Options{}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	defer http.DefaultClient.CloseIdleConnections()
	tests := []struct {
		path   string
		status int
		count  int
	}{
		{"/posts", 200, 100},
		{"/posts?userId=1&userId=2", 200, 20},
		{"/users", 200, 10},
		{"/users?id=1,3", 200, 2},
		{"/comments?postId=1", 200, 5},
		{"/users?id=x", 400, -1},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			resp, err := http.Get(b.URL() + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.count < 0 {
				return
			}
			var items []map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&items); err != nil {
				t.Fatal(err)
			}
			if len(items) != tc.count {
				t.Errorf("got %d items, want %d", len(items), tc.count)
			}
		})
	}
}
