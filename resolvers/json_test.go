package resolvers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
)

// stdDecode is what decodeJSON must agree with: encoding/json's Decoder with UseNumber, one value, nothing after.
func stdDecode(body []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("data after the top-level value")
	}
	return v, nil
}

var jsonCases = []string{
	`{"a":1,"b":[true,false,null],"c":{"d":"e"}}`, `[]`, `{}`, `  [ 1 , -2.5e+3 , 0 , 0.25 , 1E9 ]  `, `"plain"`,
	`"esc \" \\ \/ \b \f \n \r \t \u00e9 \uD83D\uDE00 \uD83D x \uDE00"`, "\"caf\xc3\xa9 \xff bad\"", `{"a":1,"a":2}`,
	`12345678901234567890123`, `-0`, `01`, `1.`, `.5`, `+1`, `[1,]`, `{"a":1,}`, `{"a" 1}`, `{a:1}`, `[1 2]`,
	`tru`, `nul`, `"unterminated`, "\"ctl \x01\"", `"\x"`, `"\u12"`, `1 2`, `{} x`, ``, `   `, `[`, `{"a":`,
	`"\uD800\u0041"`, `[[[[[]]]]]`, `{"k":"v"}garbage`, "\"\\u00", `-`, `1e`, `1e+`, `[-]`,
}

// TestDecodeJSON checks decodeJSON against encoding/json on valid and broken documents.
func TestDecodeJSON(t *testing.T) {
	for _, c := range jsonCases {
		got, err := decodeJSON([]byte(c))
		want, wantErr := stdDecode([]byte(c))
		if (err != nil) != (wantErr != nil) || !reflect.DeepEqual(got, want) {
			t.Errorf("decodeJSON(%q) = %#v, %v; encoding/json: %#v, %v", c, got, err, want, wantErr)
		}
	}
	if _, err := decodeJSON([]byte(" ")); err == nil || err.Error() != "empty body, expected JSON" {
		t.Errorf("empty body: %v", err)
	}
	if _, err := decodeJSON([]byte(strings.Repeat("[", 10001) + strings.Repeat("]", 10001))); err == nil {
		t.Error("no error past the depth limit")
	}
}

// FuzzDecodeJSON holds decodeJSON to encoding/json: the same value for every valid document, an error for
// every invalid one.
func FuzzDecodeJSON(f *testing.F) {
	for _, c := range jsonCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := decodeJSON(body)
		want, wantErr := stdDecode(body)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("decodeJSON(%q): error %v, encoding/json: %v", body, err, wantErr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("decodeJSON(%q) = %#v, encoding/json %#v", body, got, want)
		}
	})
}

// BenchmarkDecodeJSON decodes the posts example's 100 posts with decodeJSON and with encoding/json.
func BenchmarkDecodeJSON(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i := 1; i <= 100; i++ {
		if i > 1 {
			buf.WriteByte(',')
		}
		fmt.Fprintf(&buf, `{"userId":%d,"id":%d,"title":"post %d","body":"body of post %d \u00e9"}`, (i-1)/10+1, i, i, i)
	}
	buf.WriteByte(']')
	body := buf.Bytes()
	for _, d := range []struct {
		name string
		fn   func([]byte) (any, error)
	}{{"decodeJSON", decodeJSON}, {"encoding_json", stdDecode}} {
		b.Run(d.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := d.fn(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
