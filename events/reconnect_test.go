package events

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"
)

// TestReconnect_flapping: an upstream that drops each connection right after an event is reconnected to with a
// growing backoff (the event resets the count that gives up, not the backoff): the delays before 8 attempts are
// at least half of 1, 2, 4, …, 64, 64 ms. Each attempt came after about 1 ms before.
func TestReconnect_flapping(t *testing.T) {
	r := Reconnect{Backoff: time.Millisecond, MaxBackoff: 64 * time.Millisecond}.normalized()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	flap := func(context.Context, *pipe) (bool, error) { return true, errors.New("dropped") }
	dials := 0
	dial := func(context.Context) (session, error) {
		if dials++; dials == 8 {
			cancel()
		}
		return flap, nil
	}
	start := time.Now()
	if err := reconnecting(ctx, nil, flap, dial, r, func() time.Duration { return r.Backoff }, nil); err != io.EOF {
		t.Fatalf("ended with %v, want io.EOF", err)
	}
	if d := time.Since(start); d < 95*time.Millisecond {
		t.Errorf("8 attempts within %s, want at least 95ms of backoff", d)
	}
}
