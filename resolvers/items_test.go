package resolvers

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// materialize turns an *Items into the []any decodeJSON gives.
func materialize(t testing.TB, v any) any {
	l, ok := v.(*Items)
	if !ok {
		return v
	}
	out := make([]any, l.Len())
	for i := range out {
		item, err := l.Item(i)
		if err != nil {
			t.Fatalf("item %d: %v", i, err)
		}
		out[i] = item
	}
	return out
}

// long repeats item n times in a JSON array.
func long(item string, n int) string {
	return "[" + strings.TrimSuffix(strings.Repeat(item+",", n), ",") + "]"
}

// TestDecodeList: a long array decodes lazily to exactly what decodeJSON gives, and anything else (short
// arrays, other values, invalid JSON) is decodeJSON's answer or error.
func TestDecodeList(t *testing.T) {
	tests := []struct {
		name string
		body string
		lazy bool
	}{
		{name: "long list of objects", body: long(`{"id":1,"name":"a\u00e9\n\"b","tags":["x",{"y":null}],"n":-1.5e3,"t":true,"f":false}`, 300), lazy: true},
		{name: "long list with whitespace", body: " \n" + strings.ReplaceAll(long(`{ "a" : [ 1 , 2 ] }`, 300), ",", " ,\t") + " \n", lazy: true},
		{name: "duplicate keys, invalid UTF-8, lone surrogate", body: long("{\"a\":1,\"a\":\"\\ud800x\xff\"}", 300), lazy: true},
		{name: "long list of scalars", body: long(`"s"`, 256), lazy: true},
		{name: "short list", body: long(`{"a":1}`, 10)},
		{name: "empty list", body: `[]`},
		{name: "object", body: `{"a":[1,2]}`},
		{name: "null", body: `null`},
		{name: "trailing data", body: long(`1`, 300) + "x"},
		{name: "bad escape", body: long(`"\x"`, 300)},
		{name: "bad number", body: long(`01`, 300)},
		{name: "control character", body: long("\"a\x01\"", 300)},
		{name: "unclosed", body: long(`{"a":1}`, 300)[1:] + "["},
		{name: "missing comma", body: strings.Replace(long(`{"a":1}`, 300), "},{", "}{", 1)},
		{name: "too deep", body: "[" + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + "]"},
		{name: "empty", body: ``},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want, wantErr := decodeJSON([]byte(tc.body))
			got, err := decodeList([]byte(tc.body))
			if fmt.Sprint(err) != fmt.Sprint(wantErr) {
				t.Fatalf("err = %v, want %v", err, wantErr)
			}
			if _, lazy := got.(*Items); lazy != tc.lazy {
				t.Errorf("lazy = %v, want %v", lazy, tc.lazy)
			}
			if !reflect.DeepEqual(materialize(t, got), want) {
				t.Errorf("got %v\nwant %v", materialize(t, got), want)
			}
			// Read through one map, each item is the same as on its own.
			if l, lazy := got.(*Items); lazy {
				scratch := map[string]any{}
				for i := 0; i < l.Len(); i++ {
					into, err1 := l.ItemInto(i, scratch)
					alone, err2 := l.Item(i)
					if err1 != nil || err2 != nil || !reflect.DeepEqual(into, alone) {
						t.Fatalf("item %d: %v (%v), want %v (%v)", i, into, err1, alone, err2)
					}
				}
			}
		})
	}
}

// FuzzDecodeList holds decodeList to decodeJSON: the same values, the same errors.
func FuzzDecodeList(f *testing.F) {
	for _, s := range []string{long(`{"a":[1,"b",null]}`, 256), long(`"\u0041\\"`, 256), `[1,2]`, `{}`, long(`1`, 256) + " "} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		want, wantErr := decodeJSON(body)
		got, err := decodeList(body)
		if fmt.Sprint(err) != fmt.Sprint(wantErr) {
			t.Fatalf("err = %v, want %v", err, wantErr)
		}
		if err == nil && !reflect.DeepEqual(materialize(t, got), want) {
			t.Fatalf("got %v, want %v", materialize(t, got), want)
		}
	})
}
