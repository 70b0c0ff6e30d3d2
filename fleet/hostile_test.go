package fleet

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeRedis is a RESP server on loopback that answers each command with answer(name, args) after delay(name):
// a Redis that is slow, or hostile, in ways a real one is not on demand. HELLO is refused (the client falls back
// to RESP2), PING, CLIENT and SELECT answer at once.
type fakeRedis struct {
	ln     net.Listener
	delay  func(cmd string) time.Duration
	answer func(cmd string, args []string) string
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  []net.Conn
}

func startFakeRedis(t *testing.T, delay func(string) time.Duration, answer func(string, []string) string) *fakeRedis {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeRedis{ln: ln, delay: delay, answer: answer}
	f.wg.Go(f.accept)
	t.Cleanup(func() {
		ln.Close()
		f.mu.Lock()
		for _, c := range f.conns {
			c.Close()
		}
		f.mu.Unlock()
		f.wg.Wait()
	})
	return f
}

func (f *fakeRedis) URL() string { return "redis://" + f.ln.Addr().String() + "/0" }

func (f *fakeRedis) accept() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.mu.Lock()
		f.conns = append(f.conns, c)
		f.mu.Unlock()
		f.wg.Go(func() { f.serve(c) })
	}
}

func (f *fakeRedis) serve(c net.Conn) {
	defer c.Close()
	rd := bufio.NewReader(c)
	for {
		args, err := readCommand(rd)
		if err != nil {
			return
		}
		cmd := strings.ToUpper(args[0])
		var out string
		switch cmd {
		case "HELLO":
			out = "-ERR unknown command 'HELLO'\r\n"
		case "PING":
			out = "+PONG\r\n"
		case "CLIENT", "SELECT":
			out = "+OK\r\n"
		default:
			time.Sleep(f.delay(cmd))
			out = f.answer(cmd, args[1:])
		}
		if _, err := io.WriteString(c, out); err != nil {
			return
		}
	}
}

func readCommand(rd *bufio.Reader) ([]string, error) {
	line, err := rd.ReadString('\n')
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(line, "*") {
		return nil, fmt.Errorf("not an array: %q", line)
	}
	n, err := strconv.Atoi(strings.TrimSpace(line[1:]))
	if err != nil || n < 1 {
		return nil, fmt.Errorf("bad array: %q", line)
	}
	args := make([]string, n)
	for i := range args {
		line, err := rd.ReadString('\n')
		if err != nil {
			return nil, err
		}
		size, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "$")))
		if err != nil {
			return nil, err
		}
		buf := make([]byte, size+2)
		if _, err := io.ReadFull(rd, buf); err != nil {
			return nil, err
		}
		args[i] = string(buf[:size])
	}
	return args, nil
}

// TestSlowRedis_CallTimeout: a request never waits on Redis longer than CallTimeout (plus scheduling slack), even
// when one decision takes two commands (EVALSHA answered NOSCRIPT, then EVAL) each just under the timeout: the
// deadline is the call's, not each read's.
func TestSlowRedis_CallTimeout(t *testing.T) {
	f := startFakeRedis(t, func(string) time.Duration { return CallTimeout * 4 / 5 }, func(cmd string, _ []string) string {
		if cmd == "EVALSHA" {
			return "-NOSCRIPT No matching script. Please use EVAL.\r\n"
		}
		return ":0\r\n"
	})
	c, err := New(Config{URL: f.URL(), Prefix: "t"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !c.Healthy() {
		t.Fatal("the fake Redis is not healthy")
	}
	l := NewRateLimiter(c, nil, "s", 10, 1, nil)
	start := time.Now()
	if ok, _ := l.Allow(context.Background()); !ok {
		t.Error("refused: the local fallback allows the first request")
	}
	if took := time.Since(start); took > CallTimeout+100*time.Millisecond {
		t.Errorf("Allow waited %v on a slow Redis, above CallTimeout %v", took, CallTimeout)
	}
}
