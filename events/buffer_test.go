package events

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// source is a Stream of n events ("1", "2", … or payload-sized ones), then end; with block it waits for its ctx
// instead. It records its end and its Close.
type source struct {
	n       int
	payload int
	end     error
	block   bool

	i        int
	ended    chan struct{} // closed when Next returned end
	closed   chan struct{} // closed by Close
	endOnce  sync.Once
	closeOne sync.Once
}

func newSource(n int, end error) *source {
	return &source{n: n, end: end, ended: make(chan struct{}), closed: make(chan struct{})}
}

func (s *source) Next(ctx context.Context) ([]byte, error) {
	if s.i < s.n {
		s.i++
		if s.payload > 0 {
			ev := make([]byte, s.payload)
			copy(ev, strconv.Itoa(s.i))
			return ev, nil
		}
		return []byte(strconv.Itoa(s.i)), nil
	}
	if s.block {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	s.endOnce.Do(func() { close(s.ended) })
	return nil, s.end
}

func (s *source) Close() { s.closeOne.Do(func() { close(s.closed) }) }

// waitFor waits for ch with the tests' deadline.
func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(wait):
		t.Fatalf("no %s within %s", what, wait)
	}
}

// drops records onDrop's calls.
type drops struct {
	mu      sync.Mutex
	actions []string
}

func (d *drops) onDrop(action string) {
	d.mu.Lock()
	d.actions = append(d.actions, action)
	d.mu.Unlock()
}

func (d *drops) String() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	counts := map[string]int{}
	for _, a := range d.actions {
		counts[a]++
	}
	return fmt.Sprint(counts)
}

// TestBuffer_overflow: ten events into a buffer of three, read only once the source has ended.
func TestBuffer_overflow(t *testing.T) {
	for _, tc := range []struct {
		overflow string
		size     int
		bytes    int64 // BufferLimits.Bytes; the events "1" … "10" are one or two bytes long
		events   string
		drops    string
		code     string // "" = io.EOF
	}{
		{OverflowDropOldest, 3, 0, "8 9 10", "map[drop_oldest:7]", ""},
		{"", 3, 0, "8 9 10", "map[drop_oldest:7]", ""},
		{"no such action", 3, 0, "8 9 10", "map[drop_oldest:7]", ""},
		{OverflowDropOldest, 0, 0, "10", "map[drop_oldest:9]", ""},
		{OverflowDropNewest, 3, 0, "1 2 3", "map[drop_newest:7]", ""},
		{OverflowClose, 3, 0, "1 2 3", "map[close:1]", CodeOverflow},
		{OverflowClose, 10, 0, "1 2 3 4 5 6 7 8 9 10", "map[]", ""},
		// Bounded by bytes: 5 bytes hold "7 8 9 10" (1+1+1+2) or "1 2 3 4 5"; one event larger than the bound is
		// held alone.
		{OverflowDropOldest, 100, 5, "7 8 9 10", "map[drop_oldest:6]", ""},
		{OverflowDropNewest, 100, 5, "1 2 3 4 5", "map[drop_newest:5]", ""},
		{OverflowClose, 100, 5, "1 2 3 4 5", "map[close:1]", CodeOverflow},
		{OverflowDropOldest, 100, 1, "10", "map[drop_oldest:9]", ""},
	} {
		t.Run(fmt.Sprintf("%s/%d/%d", tc.overflow, tc.size, tc.bytes), func(t *testing.T) {
			src := newSource(10, io.EOF)
			d := &drops{}
			b := NewBuffer(src, BufferLimits{Events: tc.size, Bytes: tc.bytes}, tc.overflow, d.onDrop)
			defer b.Close()
			if tc.code == CodeOverflow {
				waitFor(t, src.closed, "Close of the source on overflow")
			} else {
				waitFor(t, src.ended, "end of the source")
			}
			var got []string
			for {
				ev, err := b.Next(context.Background())
				if err != nil {
					if tc.code == "" && err != io.EOF {
						t.Fatalf("end %v, want io.EOF", err)
					}
					if tc.code != "" {
						wantError(t, err, tc.code, 0)
					}
					break
				}
				got = append(got, string(ev))
			}
			if fmt.Sprint(got) != "["+tc.events+"]" || d.String() != tc.drops {
				t.Fatalf("events %v, drops %s; want [%s], %s", got, d, tc.events, tc.drops)
			}
		})
	}
}

// TestBuffer_sourceError: the source's failure comes after the events buffered before it.
func TestBuffer_sourceError(t *testing.T) {
	fail := &Error{Code: CodeUnavailable, Err: errors.New("gone")}
	src := newSource(2, fail)
	b := NewBuffer(src, BufferLimits{Events: 5}, OverflowClose, nil)
	defer b.Close()
	waitFor(t, src.ended, "end of the source")
	if a, b := next(t, b), next(t, b); a != "1" || b != "2" {
		t.Fatalf("events %s %s", a, b)
	}
	if err := end(t, b); err != fail {
		t.Fatalf("end %v, want %v", err, fail)
	}
	if err := end(t, b); err != fail {
		t.Fatalf("end again %v, want %v", err, fail)
	}
}

// TestBuffer_neverRead: a consumer that never reads while 100k events of 1 KiB arrive: the buffer holds size events,
// its ring never grows past size, the source is never held up, and the heap stays far below the 100 MB produced.
func TestBuffer_neverRead(t *testing.T) {
	const n, size, payload = 100_000, 64, 1 << 10
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	src := newSource(n, nil)
	src.payload, src.block = payload, true
	var dropped atomic.Int64
	full := make(chan struct{})
	b := NewBuffer(src, BufferLimits{Events: size}, OverflowDropOldest, func(string) {
		if dropped.Add(1) == n-size {
			close(full)
		}
	}).(*buffer)
	defer b.Close()
	waitFor(t, full, fmt.Sprintf("%d drops", n-size))

	b.mu.Lock()
	held, ring := b.n, len(b.ring)
	b.mu.Unlock()
	if held != size || ring != size {
		t.Fatalf("%d events held in a ring of %d, want %d in %d", held, ring, size, size)
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 8<<20 {
		t.Fatalf("the heap grew by %d bytes while %d events of %d bytes were produced", grown, n, payload)
	}
	t.Logf("heap grew by %d bytes (%d events of %d bytes produced, %d held)", int64(after.HeapAlloc)-int64(before.HeapAlloc), n, payload, size)
	for i := n - size + 1; i <= n; i++ {
		ev := next(t, b)
		if got := string(ev[:len(strconv.Itoa(i))]); got != strconv.Itoa(i) {
			t.Fatalf("event %s, want %d", got, i)
		}
	}
}

// TestBuffer_close: Close wakes a Next waiting in another goroutine (io.EOF), closes the source and leaks nothing.
func TestBuffer_close(t *testing.T) {
	leaks := goleak.IgnoreCurrent()
	src := newSource(0, nil)
	src.block = true
	b := NewBuffer(src, BufferLimits{Events: 4}, OverflowDropOldest, nil)
	errc := make(chan error, 1)
	go func() {
		_, err := b.Next(context.Background())
		errc <- err
	}()
	b.Close()
	select {
	case err := <-errc:
		if err != io.EOF {
			t.Fatalf("Next: %v, want io.EOF", err)
		}
	case <-time.After(wait):
		t.Fatal("Next still waits after Close")
	}
	waitFor(t, src.closed, "Close of the source")
	b.Close()
	goleak.VerifyNone(t, leaks)
}

// TestBuffer_stream: a Buffer over a real stream keeps order while the consumer reads as events come.
func TestBuffer_stream(t *testing.T) {
	sc := &script{steps: []string{"1", "2", "3", "4", "5"}}
	s, err := Poll(context.Background(), PollConfig{Interval: time.Millisecond, Fetch: sc.fetch})
	if err != nil {
		t.Fatal(err)
	}
	b := NewBuffer(s, BufferLimits{Events: 8}, OverflowClose, nil) // 8 > 5 events: never overflows, however slow the reader
	defer b.Close()
	for i := 1; i <= 5; i++ {
		if got := next(t, b); got != strconv.Itoa(i) {
			t.Fatalf("event %s, want %d", got, i)
		}
	}
	wantError(t, end(t, b), CodeBadResponse, 0)
}

// TestBuffer_sharedBudget: buffers sharing a Budget hold no more bytes together than it allows (a buffer with no
// event still takes one), and give their bytes back as events are taken or the buffer closes.
func TestBuffer_sharedBudget(t *testing.T) {
	defer goleak.VerifyNone(t)
	budget := NewBudget(4)
	srcA, srcB := newSource(10, io.EOF), newSource(3, io.EOF)
	a := NewBuffer(srcA, BufferLimits{Events: 100, Shared: budget}, OverflowDropNewest, nil)
	waitFor(t, srcA.ended, "end of source A")
	if got := budget.Used(); got != 4 {
		t.Fatalf("A holds %d bytes, want the budget's 4", got)
	}
	db := &drops{}
	b := NewBuffer(srcB, BufferLimits{Events: 100, Shared: budget}, OverflowDropNewest, db.onDrop)
	waitFor(t, srcB.ended, "end of source B")
	if got, drops := budget.Used(), db.String(); got != 5 || drops != "map[drop_newest:2]" {
		t.Fatalf("with B: %d bytes held, B's drops %s; want 5 (B's one event past the budget), map[drop_newest:2]", got, drops)
	}
	if ev, err := a.Next(context.Background()); err != nil || string(ev) != "1" {
		t.Fatalf("A's first event %q %v", ev, err)
	}
	if got := budget.Used(); got != 4 {
		t.Errorf("after A's first event was taken: %d bytes held, want 4", got)
	}
	a.Close()
	b.Close()
	if got := budget.Used(); got != 0 {
		t.Errorf("after Close: %d bytes held, want 0", got)
	}
}
