package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestEdge_SlowBodiesHoldNoSlot: clients that send their request bodies slowly hold connections (bounded by the
// connection caps and server.readTimeout), never in-flight slots: as many slow bodies as server.maxInFlight,
// from as many client addresses, do not get every other client's requests shed with SERVER_BUSY.
func TestEdge_SlowBodiesHoldNoSlot(t *testing.T) {
	const max = 2
	env := newEdgeEnv(t, fmt.Sprintf(`{maxInFlight: %d}`, max))
	for i := range max {
		c := env.dial(fmt.Sprintf("127.0.0.%d", 10+i))
		// Expect: 100-continue makes the server say when the handler starts reading the body.
		if _, err := io.WriteString(c, "POST /graphql HTTP/1.1\r\nHost: conflux\r\nContent-Type: application/json\r\n"+
			"Content-Length: 1000\r\nExpect: 100-continue\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil || !strings.Contains(line, "100 Continue") {
			t.Fatalf("slow client %d: %q, %v; want 100 Continue", i, line, err)
		}
		if _, err := io.WriteString(c, `{"query":`); err != nil { // and nothing more
			t.Fatal(err)
		}
	}
	if n := env.e.InFlight(); n != 0 {
		t.Errorf("%d slow bodies hold in-flight slots, want none", n)
	}
	env.served("127.0.0.3")
}

// TestEdge_BodyAfterSlot: the body the edge reads before a request takes its slot reaches the handler whole, and
// limitBody still refuses one over server.maxBodyBytes (413) or one whose reading failed (400).
func TestEdge_BodyAfterSlot(t *testing.T) {
	env := newEdgeEnv(t, `{maxBodyBytes: 100}`)
	env.served("127.0.0.1")
	for _, tc := range []struct {
		name   string
		req    string
		status int
	}{
		{"declared too large", "Content-Length: 101\r\n\r\n" + strings.Repeat(" ", 101), http.StatusRequestEntityTooLarge},
		{"chunked too large", "Transfer-Encoding: chunked\r\n\r\n65\r\n" + strings.Repeat(" ", 101) + "\r\n0\r\n\r\n", http.StatusRequestEntityTooLarge},
		{"malformed chunk", "Transfer-Encoding: chunked\r\n\r\nzz\r\n", http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if status, body := rawPost(t, env, "127.0.0.1", tc.req); status != tc.status {
				t.Errorf("status %d, want %d: %s", status, tc.status, body)
			}
		})
	}
	env.served("127.0.0.2")
}

// TestEdge_BodyBudget: bodies received before their request takes a slot count against one budget,
// maxInFlight × maxBodyBytes, so that many slow uploads cannot hold more request bytes in memory than the
// in-flight cap allowed before; a body that would pass it is shed with SERVER_BUSY, and the bytes come back when
// their requests end.
func TestEdge_BodyBudget(t *testing.T) {
	env := newEdgeEnv(t, `{maxInFlight: 2, maxBodyBytes: 1000}`) // budget 2000 bytes
	var slow []io.Closer
	for i := range 2 {
		c := env.dial(fmt.Sprintf("127.0.0.%d", 10+i))
		slow = append(slow, c)
		if _, err := io.WriteString(c, "POST /graphql HTTP/1.1\r\nHost: conflux\r\nContent-Type: application/json\r\n"+
			"Content-Length: 1000\r\n\r\n"+strings.Repeat(" ", 900)); err != nil { // and the last 100 never come
			t.Fatal(err)
		}
	}
	waitFor(t, "the slow bodies to be held", func() bool { return env.e.bodies.Load() == 1800 })

	status, body := rawPost(t, env, "127.0.0.20", "Content-Length: 1000\r\n\r\n"+strings.Repeat(" ", 1000))
	if status != http.StatusServiceUnavailable || !strings.Contains(body, "SERVER_BUSY") {
		t.Errorf("a body past the budget: status %d %s, want 503 SERVER_BUSY", status, body)
	}
	env.served("127.0.0.3") // a small request still fits

	for _, c := range slow {
		c.Close()
	}
	waitFor(t, "the slow bodies' bytes to be given back", func() bool { return env.e.bodies.Load() == 0 })
}

// rawPost sends POST /graphql from ip over a new connection, written byte for byte: rest is the headers after
// Content-Type, the blank line and the body. It returns the answer's status and body.
func rawPost(t *testing.T, env *edgeEnv, ip, rest string) (int, string) {
	t.Helper()
	c := env.dial(ip)
	if _, err := io.WriteString(c, "POST /graphql HTTP/1.1\r\nHost: conflux\r\nContent-Type: application/json\r\n"+rest); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}
