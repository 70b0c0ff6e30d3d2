package resolvers

import (
	"errors"
)

// Items is a backend's list answer whose items are decoded one at a time, as the engine builds them, so that a
// long list never exists as decoded values all at once: a 100,000-item answer would otherwise hold 100,000
// maps until its last item is built (issue 13: memory per answer item). It keeps the answer's bytes and each
// item's offsets; the whole answer was checked to be valid JSON when it was made. Item decodes an item afresh
// on each call, exactly as decodeJSON would have. An Items is immutable and safe for concurrent use.
type Items struct {
	body []byte
	// ends[i] is where item i ends; it starts after the comma that follows ends[i-1] (or the opening bracket).
	starts, ends []uint32
	// keys interns the object keys of the first items, for every Item to share (read only).
	keys map[string]string
}

// Len returns the number of items.
func (l *Items) Len() int { return len(l.starts) }

// Item decodes item i.
func (l *Items) Item(i int) (any, error) {
	p := jsonParser{data: l.body[l.starts[i]:l.ends[i]], keys: l.keys, frozen: true}
	return p.value(1)
}

// ItemInto is Item, except that an object item is decoded into m, cleared first, instead of a new map: for a
// caller that keeps no reference to the map once it is done with the item, so that a long list of objects is
// read through one map (issue 13: memory per answer item). The values inside are new, as with Item.
func (l *Items) ItemInto(i int, m map[string]any) (any, error) {
	if l.body[l.starts[i]] != '{' {
		return l.Item(i)
	}
	p := jsonParser{data: l.body[l.starts[i]:l.ends[i]], keys: l.keys, frozen: true, into: m}
	return p.value(1)
}

// MarshalJSON returns the list's JSON text (for a custom scalar that passes it through).
func (l *Items) MarshalJSON() ([]byte, error) {
	out := []byte{'['}
	for i := range l.starts {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, l.body[l.starts[i]:l.ends[i]]...)
	}
	return append(out, ']'), nil
}

// minLazyItems is the length from which a list answer is decoded lazily; shorter ones are decoded at once.
const minLazyItems = 256

// decodeList decodes a list field's answer: a JSON array of at least minLazyItems items becomes an *Items,
// anything else what decodeJSON gives (with its error for invalid JSON).
func decodeList(body []byte) (any, error) {
	p := jsonParser{data: body}
	p.space()
	if p.pos == len(body) || body[p.pos] != '[' || len(body) > 1<<32-1 {
		return decodeJSON(body)
	}
	l := &Items{body: body}
	if err := p.scanItems(l); err != nil || len(l.starts) < minLazyItems {
		// decodeJSON reports the error as it always has (or decodes a short list at once).
		return decodeJSON(body)
	}
	// Intern the keys of the first items (Item does not add keys to a shared table).
	for i := 0; i < min(8, len(l.starts)); i++ {
		q := jsonParser{data: body[l.starts[i]:l.ends[i]], keys: l.keys}
		if _, err := q.value(1); err != nil {
			return decodeJSON(body)
		}
		l.keys = q.keys
	}
	return l, nil
}

// scanItems checks the top-level array at p.pos and records each item's bounds in l, without decoding.
func (p *jsonParser) scanItems(l *Items) error {
	p.pos++ // [
	p.space()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
	} else {
		for {
			start := p.pos
			if err := p.skip(1); err != nil {
				return err
			}
			l.starts = append(l.starts, uint32(start))
			l.ends = append(l.ends, uint32(p.pos))
			p.space()
			if p.pos < len(p.data) && p.data[p.pos] == ',' {
				p.pos++
				p.space()
				continue
			}
			if p.pos < len(p.data) && p.data[p.pos] == ']' {
				p.pos++
				break
			}
			return p.fail("after an array element")
		}
	}
	p.space()
	if p.pos != len(p.data) {
		return errors.New("data after the top-level value")
	}
	return nil
}

// skip checks the value at p.pos against the JSON grammar (as value does) and moves past it without building
// anything.
func (p *jsonParser) skip(depth int) error {
	if p.pos >= len(p.data) {
		return p.fail("looking for a value")
	}
	switch c := p.data[p.pos]; {
	case c == '{' || c == '[':
		if depth+1 > maxJSONDepth {
			return errors.New("exceeded max depth")
		}
		closing := byte('}')
		if c == '[' {
			closing = ']'
		}
		p.pos++
		p.space()
		if p.pos < len(p.data) && p.data[p.pos] == closing {
			p.pos++
			return nil
		}
		for {
			if c == '{' {
				if p.pos >= len(p.data) || p.data[p.pos] != '"' {
					return p.fail("looking for an object key")
				}
				if err := p.skipString(); err != nil {
					return err
				}
				p.space()
				if p.pos >= len(p.data) || p.data[p.pos] != ':' {
					return p.fail("after an object key")
				}
				p.pos++
				p.space()
			}
			if err := p.skip(depth + 1); err != nil {
				return err
			}
			p.space()
			if p.pos < len(p.data) && p.data[p.pos] == ',' {
				p.pos++
				p.space()
				continue
			}
			if p.pos < len(p.data) && p.data[p.pos] == closing {
				p.pos++
				return nil
			}
			return p.fail("after a value")
		}
	case c == '"':
		return p.skipString()
	case c == '-' || c >= '0' && c <= '9':
		return p.skipNumber()
	case c == 't':
		return p.literal("true")
	case c == 'f':
		return p.literal("false")
	case c == 'n':
		return p.literal("null")
	}
	return p.fail("looking for a value")
}

// skipString moves past a quoted string, checking its escapes and that it has no control character.
func (p *jsonParser) skipString() error {
	p.pos++ // "
	d := p.data
	for p.pos < len(d) {
		switch c := d[p.pos]; {
		case c == '"':
			p.pos++
			return nil
		case c < 0x20:
			return p.fail("control character in a string")
		case c == '\\':
			p.pos++
			if p.pos >= len(d) {
				return p.fail("in an escape")
			}
			switch d[p.pos] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				p.pos++
			case 'u':
				if p.pos+5 > len(d) || hex4(d[p.pos+1:p.pos+5]) < 0 {
					return p.fail("in a \\u escape")
				}
				p.pos += 5
			default:
				return p.fail("in an escape")
			}
		default:
			p.pos++
		}
	}
	return p.fail("in a string")
}
