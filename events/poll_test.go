package events

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// script is a PollConfig.Fetch answering its steps in order ("!" fails as a connection, "!503" and "!404" as
// HTTP statuses), then BAD_UPSTREAM_RESPONSE "script over" for ever.
type script struct {
	steps   []string
	fetches atomic.Int32
}

var errOver = errors.New("script over")

func (s *script) fetch(context.Context) ([]byte, error) {
	i := int(s.fetches.Add(1)) - 1
	if i >= len(s.steps) {
		return nil, &Error{Code: CodeBadResponse, Err: errOver}
	}
	switch step := s.steps[i]; step {
	case "!":
		return nil, errors.New("connection refused")
	case "!503":
		return nil, &Error{Code: CodeHTTPError, Status: 503, Err: errors.New("503 Service Unavailable")}
	case "!404":
		return nil, &Error{Code: CodeHTTPError, Status: 404, Err: errors.New("404 Not Found")}
	default:
		return []byte(step), nil
	}
}

func TestPoll(t *testing.T) {
	for _, tc := range []struct {
		name   string
		steps  string
		events string
		code   string
		status int
		over   bool // ended by the end of the script
	}{
		{"emits on change only", "a a b b b a", "a b a", CodeBadResponse, 0, true},
		{"failures below Attempts", "a ! ! b", "a b", CodeBadResponse, 0, true},
		{"a success resets the count", "a ! ! a ! ! b", "a b", CodeBadResponse, 0, true},
		{"gives up after Attempts in a row", "a ! ! ! b", "a", CodeUnavailable, 0, false},
		{"HTTP 503 gives up", "a b !503 !503 !503", "a b", CodeHTTPError, 503, false},
		{"HTTP 404 ends at once", "a !404 b", "a", CodeHTTPError, 404, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := &script{steps: strings.Fields(tc.steps)}
			s, err := Poll(context.Background(), PollConfig{Interval: time.Millisecond, Fetch: sc.fetch, Reconnect: fast(3)})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			var got []string
			for range strings.Fields(tc.events) {
				got = append(got, next(t, s))
			}
			if strings.Join(got, " ") != tc.events {
				t.Fatalf("events %q, want %q", got, tc.events)
			}
			e := wantError(t, end(t, s), tc.code, tc.status)
			if errors.Is(e, errOver) != tc.over {
				t.Fatalf("ended with %v", e)
			}
		})
	}
}

func TestPoll_firstFetch(t *testing.T) {
	sc := &script{steps: []string{"!404"}}
	_, err := Poll(context.Background(), PollConfig{Fetch: sc.fetch})
	wantError(t, err, CodeHTTPError, 404)
	sc = &script{steps: []string{"!"}}
	_, err = Poll(context.Background(), PollConfig{Fetch: sc.fetch})
	wantError(t, err, CodeUnavailable, 0)
}

func TestPoll_close(t *testing.T) {
	for _, how := range []string{"Close", "cancel"} {
		t.Run(how, func(t *testing.T) {
			leaks := goleak.IgnoreCurrent()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			fetch := func(ctx context.Context) ([]byte, error) { return []byte("same"), nil }
			s, err := Poll(ctx, PollConfig{Interval: time.Millisecond, Fetch: fetch})
			if err != nil {
				t.Fatal(err)
			}
			next(t, s)
			endBy(t, how, s, cancel)
			s.Close()
			goleak.VerifyNone(t, leaks)
		})
	}
}
