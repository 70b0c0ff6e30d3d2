package events

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
)

// Overflow actions (schema.OverflowActions): what a full Buffer does with a new event.
const (
	// OverflowDropOldest drops the oldest buffered event to make room for the new one.
	OverflowDropOldest = "drop_oldest"
	// OverflowDropNewest drops the new event.
	OverflowDropNewest = "drop_newest"
	// OverflowClose stops reading src: Next returns the buffered events, then an *Error SUBSCRIPTION_OVERFLOW.
	OverflowClose = "close"
)

// BufferLimits bound what a Buffer holds: Events events (< 1 is 1) and, when Bytes > 0, events of Bytes bytes
// together; with Shared, the events of every buffer sharing it are within its bound too. One event is always
// held, whatever its size: a buffer with none takes the next.
type BufferLimits struct {
	Events int
	Bytes  int64
	Shared *Budget
}

// Budget bounds the bytes of the events held by every Buffer that shares it (a process's subscriptions). Safe
// for concurrent use.
type Budget struct {
	max  atomic.Int64
	used atomic.Int64
}

// NewBudget returns a budget of max bytes (0: no bound).
func NewBudget(max int64) *Budget {
	b := &Budget{}
	b.max.Store(max)
	return b
}

// SetMax changes the bound (0: none); events held beyond a lowered bound stay until they are taken.
func (g *Budget) SetMax(max int64) { g.max.Store(max) }

// Max returns the bound (0: none).
func (g *Budget) Max() int64 { return g.max.Load() }

// Used returns the bytes held now.
func (g *Budget) Used() int64 { return g.used.Load() }

// allows reports whether n more bytes are within the budget; nil allows everything.
func (g *Budget) allows(n int64) bool {
	if g == nil {
		return true
	}
	max := g.max.Load()
	return max <= 0 || g.used.Load()+n <= max
}

func (g *Budget) add(n int64) {
	if g != nil {
		g.used.Add(n)
	}
}

// NewBuffer reads src in its own goroutine into a buffer bounded by limits, so that a slow consumer never holds up
// src: the goroutine never waits for the consumer. When an event does not fit (the buffer is full), overflow decides:
// drop_oldest (also "" and any unknown value) drops the oldest buffered event, drop_newest the new one, close stops
// reading and closes src, and Next then returns the events already buffered followed by an *Error
// SUBSCRIPTION_OVERFLOW. onDrop (may be nil) is called per dropped event with the action, or once with "close"; it
// runs in the buffer's goroutine and must not block. The end of src (io.EOF or its error) likewise comes after the
// buffered events. Next pops in order; Close closes src and waits. The buffer holds at most size events, its ring
// growing up to size as needed.
//
// The returned Stream takes src over: only the buffer calls src.Next and src.Close.
func NewBuffer(src Stream, limits BufferLimits, overflow string, onDrop func(action string)) Stream {
	size := max(limits.Events, 1)
	switch overflow {
	case OverflowDropNewest, OverflowClose:
	default:
		overflow = OverflowDropOldest
	}
	if onDrop == nil {
		onDrop = func(string) {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &buffer{src: src, size: size, maxBytes: limits.Bytes, shared: limits.Shared, overflow: overflow, onDrop: onDrop, cancel: cancel,
		ready: make(chan struct{}, 1), done: make(chan struct{})}
	go b.read(ctx)
	return b
}

type buffer struct {
	src      Stream
	size     int
	maxBytes int64
	shared   *Budget
	overflow string
	onDrop   func(string)
	cancel   context.CancelFunc
	ready    chan struct{} // a token when events or the end arrived since the consumer last looked
	done     chan struct{} // closed when read has returned
	closed   atomic.Bool

	mu   sync.Mutex
	ring [][]byte // grows up to size
	head int      // index of the oldest event
	n    int      // events buffered
	held int64    // their bytes together
	err  error    // why reading stopped; Next returns it once the buffer is empty
}

// read moves src's events into the buffer until src ends, the buffer overflows with action close, or Close.
func (b *buffer) read(ctx context.Context) {
	defer close(b.done)
	defer b.src.Close()
	defer b.signal()
	for {
		ev, err := b.src.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				err = io.EOF
			}
			b.mu.Lock()
			b.err = err
			b.mu.Unlock()
			return
		}
		dropped := 0
		b.mu.Lock()
		if !b.fits(ev) {
			switch b.overflow {
			case OverflowDropNewest:
				b.mu.Unlock()
				b.onDrop(OverflowDropNewest)
				continue
			case OverflowClose:
				b.err = &Error{Code: CodeOverflow, Err: fmt.Errorf("%d events (%d bytes) waited for a slow consumer", b.n, b.held)}
				b.mu.Unlock()
				b.onDrop(OverflowClose)
				return
			}
			for !b.fits(ev) {
				b.pop()
				dropped++
			}
		}
		b.push(ev)
		b.mu.Unlock()
		b.signal()
		for range dropped {
			b.onDrop(OverflowDropOldest)
		}
	}
}

// fits reports whether ev can be added within the limits: an empty buffer takes any one event. b.mu is held.
func (b *buffer) fits(ev []byte) bool {
	n := int64(len(ev))
	return b.n == 0 || b.n < b.size && (b.maxBytes <= 0 || b.held+n <= b.maxBytes) && b.shared.allows(n)
}

// pop removes and returns the oldest event. b.mu is held and b.n > 0.
func (b *buffer) pop() []byte {
	ev := b.ring[b.head]
	b.ring[b.head] = nil
	b.head = (b.head + 1) % len(b.ring)
	b.n--
	b.held -= int64(len(ev))
	b.shared.add(-int64(len(ev)))
	return ev
}

// push appends ev, growing the ring (up to size) when it is full. b.mu is held.
func (b *buffer) push(ev []byte) {
	if b.n == len(b.ring) {
		grown := make([][]byte, min(max(2*len(b.ring), 4), b.size))
		for i := range b.n {
			grown[i] = b.ring[(b.head+i)%len(b.ring)]
		}
		b.ring, b.head = grown, 0
	}
	b.ring[(b.head+b.n)%len(b.ring)] = ev
	b.n++
	b.held += int64(len(ev))
	b.shared.add(int64(len(ev)))
}

func (b *buffer) signal() {
	select {
	case b.ready <- struct{}{}:
	default:
	}
}

func (b *buffer) Next(ctx context.Context) ([]byte, error) {
	for {
		if b.closed.Load() {
			return nil, io.EOF
		}
		b.mu.Lock()
		if b.n > 0 {
			ev := b.pop()
			b.mu.Unlock()
			return ev, nil
		}
		err := b.err
		b.mu.Unlock()
		if err != nil {
			return nil, err
		}
		select {
		case <-b.ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (b *buffer) Close() {
	b.closed.Store(true)
	b.cancel()
	<-b.done
	b.mu.Lock()
	for b.n > 0 { // what nobody will take gives its bytes back to the shared budget
		b.pop()
	}
	b.mu.Unlock()
	b.signal() // wakes a Next waiting in another goroutine
}
