package resolvers

import (
	"encoding/json"
	"errors"
	"fmt"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// maxJSONDepth is how deeply arrays and objects may nest in a backend's answer, as in encoding/json.
const maxJSONDepth = 10000

// decodeJSON parses a backend's answer into the values the engine works with: map[string]any, []any, string,
// json.Number (numbers keep their exact text), bool and nil. It gives what encoding/json's Decoder with
// UseNumber gives, including U+FFFD for invalid UTF-8 and lone surrogates and the last of duplicate keys
// (FuzzDecodeJSON holds it to that), in one pass over body without reflection, which makes it the cheaper half
// of every fetch (BenchmarkDecodeJSON).
func decodeJSON(body []byte) (any, error) {
	p := jsonParser{data: body}
	p.space()
	if p.pos == len(p.data) {
		return nil, errors.New("empty body, expected JSON")
	}
	v, err := p.value(0)
	if err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	p.space()
	if p.pos != len(p.data) {
		return nil, errors.New("invalid JSON: data after the top-level value")
	}
	return v, nil
}

type jsonParser struct {
	data []byte
	pos  int
	// keys interns object keys: a list's items repeat the same few, and a lookup by a byte slice costs no
	// allocation.
	keys map[string]string
	// frozen: keys is shared (Items) and only read.
	frozen bool
	// into, when set, is the map the first object decoded goes into (Items.ItemInto), cleared first.
	into map[string]any
}

// maxInternedKeys bounds the key table of one document.
const maxInternedKeys = 256

func (p *jsonParser) space() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jsonParser) fail(what string) error {
	if p.pos >= len(p.data) {
		return fmt.Errorf("unexpected end of input (%s)", what)
	}
	return fmt.Errorf("invalid character %q at offset %d (%s)", p.data[p.pos], p.pos, what)
}

func (p *jsonParser) value(depth int) (any, error) {
	if p.pos >= len(p.data) {
		return nil, p.fail("looking for a value")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object(depth + 1)
	case c == '[':
		return p.array(depth + 1)
	case c == '"':
		return p.string()
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	}
	return nil, p.fail("looking for a value")
}

func (p *jsonParser) literal(word string) error {
	if len(p.data)-p.pos < len(word) || string(p.data[p.pos:p.pos+len(word)]) != word {
		return p.fail("in literal " + word)
	}
	p.pos += len(word)
	return nil
}

func (p *jsonParser) object(depth int) (any, error) {
	if depth > maxJSONDepth {
		return nil, errors.New("exceeded max depth")
	}
	p.pos++ // {
	m := p.into
	if m != nil {
		p.into = nil
		clear(m)
	} else {
		m = map[string]any{}
	}
	p.space()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return m, nil
	}
	for {
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return nil, p.fail("looking for an object key")
		}
		k, err := p.key()
		if err != nil {
			return nil, err
		}
		p.space()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return nil, p.fail("after an object key")
		}
		p.pos++
		p.space()
		v, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		m[k] = v
		p.space()
		if p.pos < len(p.data) {
			switch p.data[p.pos] {
			case ',':
				p.pos++
				p.space()
				continue
			case '}':
				p.pos++
				return m, nil
			}
		}
		return nil, p.fail("after an object value")
	}
}

func (p *jsonParser) array(depth int) (any, error) {
	if depth > maxJSONDepth {
		return nil, errors.New("exceeded max depth")
	}
	p.pos++ // [
	list := []any{}
	p.space()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return list, nil
	}
	for {
		v, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		list = append(list, v)
		p.space()
		if p.pos < len(p.data) {
			switch p.data[p.pos] {
			case ',':
				p.pos++
				p.space()
				continue
			case ']':
				p.pos++
				return list, nil
			}
		}
		return nil, p.fail("after an array element")
	}
}

// number checks the JSON number grammar, -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, and keeps the text.
func (p *jsonParser) number() (any, error) {
	start := p.pos
	if err := p.skipNumber(); err != nil {
		return nil, err
	}
	return json.Number(p.data[start:p.pos]), nil
}

// skipNumber moves past a number, checking its grammar.
func (p *jsonParser) skipNumber() error {
	d := p.data
	if d[p.pos] == '-' {
		p.pos++
	}
	switch {
	case p.pos < len(d) && d[p.pos] == '0':
		p.pos++
	case p.pos < len(d) && d[p.pos] >= '1' && d[p.pos] <= '9':
		p.digits()
	default:
		return p.fail("in a number")
	}
	if p.pos < len(d) && d[p.pos] == '.' {
		p.pos++
		if p.digits() == 0 {
			return p.fail("after a decimal point")
		}
	}
	if p.pos < len(d) && (d[p.pos] == 'e' || d[p.pos] == 'E') {
		p.pos++
		if p.pos < len(d) && (d[p.pos] == '+' || d[p.pos] == '-') {
			p.pos++
		}
		if p.digits() == 0 {
			return p.fail("in an exponent")
		}
	}
	return nil
}

func (p *jsonParser) digits() int {
	start := p.pos
	for p.pos < len(p.data) && p.data[p.pos] >= '0' && p.data[p.pos] <= '9' {
		p.pos++
	}
	return p.pos - start
}

// key reads an object key, interned when it is plain ASCII.
func (p *jsonParser) key() (string, error) {
	start := p.pos + 1
	end := start
	for end < len(p.data) && p.data[end] != '"' && p.data[end] != '\\' && p.data[end] >= 0x20 && p.data[end] < utf8.RuneSelf {
		end++
	}
	if end == len(p.data) || p.data[end] != '"' {
		return p.string()
	}
	p.pos = end + 1
	if k, ok := p.keys[string(p.data[start:end])]; ok {
		return k, nil
	}
	k := string(p.data[start:end])
	if p.frozen {
		return k, nil
	}
	if p.keys == nil {
		p.keys = map[string]string{}
	}
	if len(p.keys) < maxInternedKeys {
		p.keys[k] = k
	}
	return k, nil
}

// string reads a quoted string. Plain ASCII without escapes, the usual case, is one slice conversion.
func (p *jsonParser) string() (string, error) {
	p.pos++ // "
	start := p.pos
	d := p.data
	for p.pos < len(d) {
		c := d[p.pos]
		switch {
		case c == '"':
			s := string(d[start:p.pos])
			p.pos++
			return s, nil
		case c == '\\' || c >= utf8.RuneSelf:
			return p.slowString(start)
		case c < 0x20:
			return "", p.fail("control character in a string")
		}
		p.pos++
	}
	return "", p.fail("in a string")
}

// slowString finishes a string that has escapes or non-ASCII bytes, from start (just after the quote); p.pos is
// at the first such byte.
func (p *jsonParser) slowString(start int) (string, error) {
	d := p.data
	b := make([]byte, p.pos-start, p.pos-start+16)
	copy(b, d[start:p.pos])
	for p.pos < len(d) {
		c := d[p.pos]
		switch {
		case c == '"':
			p.pos++
			return string(b), nil
		case c < 0x20:
			return "", p.fail("control character in a string")
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(d[p.pos:])
			if r == utf8.RuneError && size == 1 {
				b = utf8.AppendRune(b, unicode.ReplacementChar)
			} else {
				b = append(b, d[p.pos:p.pos+size]...)
			}
			p.pos += size
		case c != '\\':
			b = append(b, c)
			p.pos++
		default:
			if p.pos+1 >= len(d) {
				return "", p.fail("in an escape")
			}
			p.pos++
			switch e := d[p.pos]; e {
			case '"', '\\', '/':
				b = append(b, e)
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r := hex4(d[p.pos+1:])
				if r < 0 {
					return "", p.fail("in a \\u escape")
				}
				p.pos += 4
				if utf16.IsSurrogate(r) {
					// A pair decodes to one rune; a lone half, as in encoding/json, to U+FFFD.
					if len(d) > p.pos+2 && d[p.pos+1] == '\\' && d[p.pos+2] == 'u' {
						if r2 := hex4(d[p.pos+3:]); r2 >= 0 {
							if dec := utf16.DecodeRune(r, r2); dec != unicode.ReplacementChar {
								p.pos += 6
								b = utf8.AppendRune(b, dec)
								break
							}
						}
					}
					r = unicode.ReplacementChar
				}
				b = utf8.AppendRune(b, r)
			default:
				return "", p.fail("in an escape")
			}
			p.pos++
		}
	}
	return "", p.fail("in a string")
}

// hex4 reads four hex digits, or returns -1.
func hex4(s []byte) rune {
	if len(s) < 4 {
		return -1
	}
	var r rune
	for _, c := range s[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}
