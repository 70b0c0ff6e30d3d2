package events

import (
	"bytes"
	"context"
	"errors"
	"io"
	"time"
)

// PollConfig is an endpoint polled for changes.
type PollConfig struct {
	// Interval is the time between a fetch's answer and the next fetch; <= 0 is 5s.
	Interval time.Duration
	// Fetch makes one request and returns its answer, a new slice each time (the stream keeps the last one). It
	// returns an *Error to say what failed (UPSTREAM_HTTP_ERROR with Status for a non-2xx answer); any other error
	// counts as UPSTREAM_UNAVAILABLE.
	Fetch     func(ctx context.Context) ([]byte, error)
	Reconnect Reconnect
}

// Poll calls Fetch every Interval and emits its answer when it differs (byte-wise) from the last emitted one
// (the first answer is always emitted). The first fetch happens before Poll returns: its failure is Poll's error.
// A later failure is retried after Reconnect's backoff instead of Interval; Reconnect.Attempts failures in a row
// end the stream (with the last as an *Error), a success resets the count, and a failure that is not worth
// retrying (an HTTP 4xx other than 408 and 429, BAD_UPSTREAM_RESPONSE) ends it at once. The ctx bounds the
// stream's whole life.
func Poll(ctx context.Context, cfg PollConfig) (Stream, error) {
	if cfg.Fetch == nil {
		return nil, errors.New("events: PollConfig.Fetch is nil")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 5 * time.Second
	}
	r := cfg.Reconnect.normalized()
	ctx, cancel := context.WithCancel(ctx)
	first, err := cfg.Fetch(ctx)
	if err != nil {
		err = firstError(ctx, err) // before cancel, which ends ctx
		cancel()
		return nil, err
	}
	return start(ctx, cancel, func(ctx context.Context, p *pipe) error {
		last := first
		if !p.send(ctx, first) {
			return io.EOF
		}
		failures := 0
		wait := cfg.Interval
		for {
			if !sleep(ctx, wait) {
				return io.EOF
			}
			answer, err := cfg.Fetch(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return io.EOF
				}
				if !retryable(err) {
					return asError(err)
				}
				failures++
				if r.Attempts > 0 && failures >= r.Attempts {
					return giveUp(err, failures)
				}
				wait = r.delay(failures, r.Backoff)
				continue
			}
			failures, wait = 0, cfg.Interval
			if bytes.Equal(answer, last) {
				continue
			}
			last = answer
			if !p.send(ctx, answer) {
				return io.EOF
			}
		}
	}), nil
}
