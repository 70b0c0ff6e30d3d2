// Package events is a TEMPORARY stand-in for the `events` helper's package (issue 17, STREAMS.md): the API only,
// with the least implementation the subs branch's tests need (Poll, SubscribeSSE without reconnect, NewBuffer
// without dropping). The lead deletes this file when the real package is merged.
package events

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Stream yields one subscription's events in order. Not safe for concurrent use: one consumer.
type Stream interface {
	Next(ctx context.Context) ([]byte, error)
	Close()
}

// Error is a stream's failure.
type Error struct {
	Code   string
	Status int
	Err    error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Code + ": " + e.Err.Error()
	}
	return e.Code
}
func (e *Error) Unwrap() error { return e.Err }

// Reconnect is the reconnect policy.
type Reconnect struct {
	Attempts            int
	Backoff, MaxBackoff time.Duration
}

// DefaultReconnect returns {5, 250ms, 5s}.
func DefaultReconnect() Reconnect { return Reconnect{5, 250 * time.Millisecond, 5 * time.Second} }

// GraphQLConfig configures SubscribeGraphQL.
type GraphQLConfig struct {
	Protocol      string
	URL           string
	Header        http.Header
	InitPayload   map[string]any
	Client        *http.Client
	Reconnect     Reconnect
	MaxEventBytes int64
	KeepAlive     time.Duration
}

// GraphQLRequest is the subscription sent upstream.
type GraphQLRequest struct {
	Query         string
	OperationName string
	Variables     map[string]any
}

// SubscribeGraphQL is not implemented in this stand-in.
func SubscribeGraphQL(ctx context.Context, cfg GraphQLConfig, req GraphQLRequest) (Stream, error) {
	return nil, &Error{Code: "UPSTREAM_UNAVAILABLE", Err: errors.New("TEMP events: SubscribeGraphQL not implemented")}
}

// SSEConfig configures SubscribeSSE.
type SSEConfig struct {
	Open          func(ctx context.Context, lastEventID string) (io.ReadCloser, error)
	Event         string
	Reconnect     Reconnect
	MaxEventBytes int64
}

type chanStream struct {
	ch     chan item
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
	done   chan struct{}
	ended  bool
}

type item struct {
	data []byte
	err  error
}

func newChanStream(ctx context.Context, run func(ctx context.Context, emit func(item) bool)) *chanStream {
	ctx, cancel := context.WithCancel(ctx)
	s := &chanStream{ch: make(chan item), cancel: cancel, done: make(chan struct{})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		run(ctx, func(it item) bool {
			select {
			case s.ch <- it:
				return true
			case <-ctx.Done():
				return false
			}
		})
	}()
	return s
}

func (s *chanStream) Next(ctx context.Context) ([]byte, error) {
	if s.ended {
		return nil, io.EOF
	}
	select {
	case it := <-s.ch:
		if it.err != nil {
			s.ended = true
		}
		return it.data, it.err
	case <-s.done:
		return nil, io.EOF
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *chanStream) Close() {
	s.once.Do(func() {
		s.cancel()
		close(s.done)
		s.wg.Wait()
	})
}

// SubscribeSSE reads Server-Sent Events (no reconnect in this stand-in).
func SubscribeSSE(ctx context.Context, cfg SSEConfig) (Stream, error) {
	body, err := cfg.Open(ctx, "")
	if err != nil {
		return nil, err
	}
	return newChanStream(ctx, func(ctx context.Context, emit func(item) bool) {
		defer body.Close()
		go func() { <-ctx.Done(); body.Close() }()
		sc := bufio.NewScanner(body)
		var data []string
		event := ""
		for sc.Scan() {
			line := sc.Text()
			if line == "" {
				if len(data) > 0 && (cfg.Event == "" || event == cfg.Event || (event == "" && cfg.Event == "message")) {
					if !emit(item{data: []byte(strings.Join(data, "\n"))}) {
						return
					}
				}
				data, event = nil, ""
				continue
			}
			k, v, _ := strings.Cut(line, ":")
			v = strings.TrimPrefix(v, " ")
			switch k {
			case "data":
				data = append(data, v)
			case "event":
				event = v
			}
		}
		if ctx.Err() == nil {
			emit(item{err: io.EOF})
		}
	}), nil
}

// PollConfig configures Poll.
type PollConfig struct {
	Interval  time.Duration
	Fetch     func(ctx context.Context) ([]byte, error)
	Reconnect Reconnect
}

// Poll calls Fetch every Interval and emits changed answers.
func Poll(ctx context.Context, cfg PollConfig) (Stream, error) {
	return newChanStream(ctx, func(ctx context.Context, emit func(item) bool) {
		var last []byte
		failures := 0
		for first := true; ; first = false {
			if !first {
				t := time.NewTimer(cfg.Interval)
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
					return
				}
			}
			b, err := cfg.Fetch(ctx)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				failures++
				if cfg.Reconnect.Attempts > 0 && failures >= cfg.Reconnect.Attempts {
					var e *Error
					if !errors.As(err, &e) {
						e = &Error{Code: "UPSTREAM_UNAVAILABLE", Err: err}
					}
					emit(item{err: e})
					return
				}
				continue
			}
			failures = 0
			if last != nil && bytes.Equal(last, b) {
				continue
			}
			last = b
			if !emit(item{data: b}) {
				return
			}
		}
	}), nil
}

// NewBuffer is a pass-through in this stand-in.
func NewBuffer(src Stream, size int, overflow string, onDrop func(action string)) Stream { return src }
