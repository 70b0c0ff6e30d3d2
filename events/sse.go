package events

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

// SSEConfig is a Server-Sent Events stream. Each event's data (its data lines joined by \n) is one event of the
// Stream; events of another type than Event are skipped ("" = every type; an event without an event: field has
// type "message").
type SSEConfig struct {
	// Open makes the request (the caller's HTTP source, headers and all) and returns the response body of a 2xx
	// text/event-stream answer. lastEventID is "" at first, then the id: of the last event the stream saw, to send
	// as the Last-Event-ID header. It returns an *Error for a refusal (UPSTREAM_HTTP_ERROR with Status for a
	// non-2xx answer), exactly io.EOF when the server said to stop (HTTP 204: the stream ends), and any other error
	// for a connection failure. ctx bounds the request and the body: the stream closes the body when it ends.
	Open func(ctx context.Context, lastEventID string) (io.ReadCloser, error)
	// Event, when set, keeps only the events of this type.
	Event     string
	Reconnect Reconnect
	// MaxEventBytes bounds an event as sent (its lines, comments included); a larger one fails the stream with
	// BAD_UPSTREAM_RESPONSE. 0 is DefaultMaxEventBytes.
	MaxEventBytes int64
	// OnReconnect, when set, is called before each attempt to re-make a dropped connection (for a metric).
	OnReconnect func()
}

// SubscribeSSE opens the stream with cfg.Open and returns once it is open (or failed: the *Error). A body that
// ends or fails is reopened with cfg.Reconnect, passing the last event ID; the server's retry: is the backoff's
// base, within Reconnect's bounds. The ctx bounds the stream's whole life.
func SubscribeSSE(ctx context.Context, cfg SSEConfig) (Stream, error) {
	if cfg.Open == nil {
		return nil, errors.New("events: SSEConfig.Open is nil")
	}
	s := &sseStream{cfg: cfg, reconnect: cfg.Reconnect.normalized(), max: maxBytes(cfg.MaxEventBytes)}
	ctx, cancel := context.WithCancel(ctx)
	body, err := cfg.Open(ctx, "")
	if err == io.EOF {
		return start(ctx, cancel, func(context.Context, *pipe) error { return io.EOF }), nil
	}
	if err != nil {
		err = firstError(ctx, err) // before cancel, which ends ctx
		cancel()
		return nil, err
	}
	return start(ctx, cancel, func(ctx context.Context, p *pipe) error {
		return reconnecting(ctx, p, s.session(body), s.dial, s.reconnect, s.base, cfg.OnReconnect)
	}), nil
}

// sseStream is the state an SSE stream keeps across connections. Only its goroutine touches it.
type sseStream struct {
	cfg       SSEConfig
	reconnect Reconnect
	max       int64
	lastID    string
	retry     time.Duration
}

func (s *sseStream) base() time.Duration {
	if s.retry > 0 {
		return s.retry
	}
	return s.reconnect.Backoff
}

func (s *sseStream) dial(ctx context.Context) (session, error) {
	body, err := s.cfg.Open(ctx, s.lastID)
	if err != nil {
		return nil, err
	}
	return s.session(body), nil
}

func (s *sseStream) session(body io.ReadCloser) session {
	return func(ctx context.Context, p *pipe) (got bool, err error) {
		// Closing the body is what unblocks a read when ctx ends, whatever Open did with ctx.
		stop := context.AfterFunc(ctx, func() { _ = body.Close() })
		defer func() {
			stop()
			_ = body.Close()
		}()
		r := newSSEReader(body, s.max)
		r.lastID = s.lastID
		for {
			ev, err := r.next()
			s.lastID, s.retry = r.lastID, r.retry
			if err != nil {
				if err == io.EOF {
					err = errors.New("the event stream ended")
				}
				return got, err
			}
			if !ev.hasData {
				continue
			}
			got = true
			if s.cfg.Event != "" && ev.typ() != s.cfg.Event {
				continue
			}
			if !p.send(ctx, ev.data) {
				return got, ctx.Err()
			}
		}
	}
}

// sseEvent is one dispatched event.
type sseEvent struct {
	// event is the event: field, "" when there was none.
	event string
	// data is the data lines joined by \n; hasData is false when the event had no data: line, which the
	// WHATWG algorithm does not dispatch (graphql-sse's `event: complete` has none, so the reader returns it).
	data    []byte
	hasData bool
}

// typ is the event's type as EventSource reports it: "message" when it had no event: field.
func (e sseEvent) typ() string {
	if e.event == "" {
		return "message"
	}
	return e.event
}

// sseReader parses a text/event-stream as the WHATWG HTML standard's "Interpreting an event stream" says: lines
// end with CRLF, LF or CR; a leading BOM is skipped; a line starting with ':' is a comment; "field: value" drops one
// space after the colon; data, event, id and retry are the fields, others are ignored; an empty line dispatches;
// an event unfinished at the end of the stream is dropped. Unlike the standard it does not replace invalid UTF-8
// (the data is JSON, decoded later) and it is bounded: the bytes of one event as sent (its lines and their ends,
// comments included, counted from the previous empty line) may not exceed max.
type sseReader struct {
	r   *bufio.Reader
	max int64
	// lastID is the last event ID (set at dispatch, kept across events); retry is the last retry: (0 = none).
	lastID string
	retry  time.Duration

	size    int64 // bytes of the current event so far
	line    []byte
	afterCR bool // the last line ended with CR: a LF right after belongs to it
	bomDone bool
	id      string // the last event ID buffer
	event   string
	data    []byte
	// lastEvent is the last event: value, kept to reuse its string.
	lastEvent string
	hasData   bool
}

func newSSEReader(r io.Reader, max int64) *sseReader {
	return &sseReader{r: bufio.NewReader(r), max: max}
}

// next returns the next event; io.EOF at the end of the stream; an *Error BAD_UPSTREAM_RESPONSE for an event
// larger than max; the reader's error otherwise. An event without data is returned only when it has an event:
// field (hasData false).
func (p *sseReader) next() (sseEvent, error) {
	if !p.bomDone {
		p.bomDone = true
		if b, _ := p.r.Peek(3); bytes.Equal(b, []byte("\xEF\xBB\xBF")) {
			_, _ = p.r.Discard(3)
		}
	}
	for {
		line, err := p.readLine()
		if err != nil {
			return sseEvent{}, err
		}
		if len(line) == 0 {
			if ev, ok := p.dispatch(); ok {
				return ev, nil
			}
			continue
		}
		p.field(line)
	}
}

// dispatch ends the current event: it reports it unless it had neither data nor type.
func (p *sseReader) dispatch() (sseEvent, bool) {
	p.size = 0
	p.lastID = p.id
	ev := sseEvent{event: p.event, hasData: p.hasData}
	if p.hasData {
		ev.data = bytes.Clone(p.data[:len(p.data)-1]) // without the last \n
	}
	p.event, p.data, p.hasData = "", p.data[:0], false
	return ev, ev.hasData || ev.event != ""
}

func (p *sseReader) field(line []byte) {
	if line[0] == ':' {
		return
	}
	name, value := line, []byte(nil)
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		name, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	switch string(name) {
	case "event":
		if p.lastEvent != string(value) { // no allocation when it repeats, as the type and id of a stream tend to
			p.lastEvent = string(value)
		}
		p.event = p.lastEvent
	case "data":
		p.data = append(p.data, value...)
		p.data = append(p.data, '\n')
		p.hasData = true
	case "id":
		if bytes.IndexByte(value, 0) < 0 && p.id != string(value) {
			p.id = string(value)
		}
	case "retry":
		if ms, ok := digits(value); ok {
			p.retry = time.Duration(ms) * time.Millisecond
		}
	}
}

// digits parses an all-ASCII-digits retry value; a value too large for a duration is ignored.
func digits(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	ms, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || ms > int64(time.Duration(1<<63-1)/time.Millisecond) {
		return 0, false
	}
	return ms, true
}

// readLine returns the next line without its end. The slice is valid until the next call. An unterminated line at
// the end of the stream is dropped with io.EOF, as the event it belongs to could not be dispatched.
func (p *sseReader) readLine() ([]byte, error) {
	p.line = p.line[:0]
	if p.afterCR {
		// Looked at only now, so that a CR-terminated empty line dispatches without waiting for the next byte.
		p.afterCR = false
		b, err := p.r.ReadByte()
		if err != nil {
			return nil, err
		}
		if b != '\n' {
			_ = p.r.UnreadByte()
		}
	}
	for {
		if _, err := p.r.Peek(1); err != nil {
			return nil, err
		}
		buf, _ := p.r.Peek(p.r.Buffered())
		i := bytes.IndexAny(buf, "\r\n")
		n := i
		if i < 0 {
			n = len(buf)
		}
		if p.size+int64(len(p.line)+n) > p.max {
			return nil, tooBig(p.max)
		}
		p.line = append(p.line, buf[:n]...)
		if i < 0 {
			_, _ = p.r.Discard(n)
			continue
		}
		p.afterCR = buf[i] == '\r'
		_, _ = p.r.Discard(i + 1)
		p.size += int64(len(p.line) + 1)
		return p.line, nil
	}
}

// String is for test failures.
func (e sseEvent) String() string {
	return fmt.Sprintf("{event:%q data:%q hasData:%v}", e.event, e.data, e.hasData)
}
