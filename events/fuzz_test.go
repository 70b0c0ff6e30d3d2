package events

import (
	"fmt"
	"io"
	"strings"
	"testing"
)

// referenceSSE is the WHATWG event stream interpretation written as plainly as possible (the whole input at once,
// no limit), with the reader's one addition: an event with a type and no data is reported.
func referenceSSE(input string) (events []string, lastID string) {
	input = strings.TrimPrefix(input, "\xEF\xBB\xBF")
	var lines []string
	for len(input) > 0 {
		i := strings.IndexAny(input, "\r\n")
		if i < 0 {
			break // unterminated: dropped
		}
		lines = append(lines, input[:i])
		if strings.HasPrefix(input[i:], "\r\n") {
			i++
		}
		input = input[i+1:]
	}
	var event, data, id string
	hasData := false
	for _, line := range lines {
		if line == "" {
			lastID = id
			if hasData || event != "" {
				e := sseEvent{event: event, hasData: hasData}
				if hasData {
					e.data = []byte(strings.TrimSuffix(data, "\n"))
				}
				events = append(events, e.String())
			}
			event, data, hasData = "", "", false
			continue
		}
		if line[0] == ':' {
			continue
		}
		name, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch name {
		case "event":
			event = value
		case "data":
			data += value + "\n"
			hasData = true
		case "id":
			if !strings.Contains(value, "\x00") {
				id = value
			}
		}
	}
	return events, lastID
}

// FuzzSSE checks the SSE reader, which parses what an upstream sends, against referenceSSE, read whole and a byte
// at a time; and that with a small limit it fails cleanly instead of returning a larger event.
func FuzzSSE(f *testing.F) {
	for _, seed := range []string{
		"data: a\n\n",
		"event: next\r\ndata: {\"data\":1}\r\n\r\n",
		"id: 1\rdata: a\r\rretry: 100\n:comment\n\n",
		"\xEF\xBB\xBFdata\n\ndata:\ndata\n\n",
		"event: complete\n\n",
		"id: a\x00b\ndata: x\n\n",
		"data: a\r\n\r",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, input string) {
		want, wantID := referenceSSE(input)
		for _, oneByte := range []bool{false, true} {
			got, lastID, _, err := readAll(input, 1<<20, oneByte)
			if err != io.EOF {
				t.Fatalf("oneByte=%v: error %v, want io.EOF", oneByte, err)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) || lastID != wantID {
				t.Fatalf("oneByte=%v: events %v, last ID %q; want %v, %q", oneByte, got, lastID, want, wantID)
			}
		}
		const max = 16
		p := newSSEReader(strings.NewReader(input), max)
		for {
			ev, err := p.next()
			if err != nil {
				if err != io.EOF {
					wantError(t, err, CodeBadResponse, 0)
				}
				break
			}
			if len(ev.data) > max {
				t.Fatalf("an event of %d bytes with a limit of %d", len(ev.data), max)
			}
		}
	})
}
