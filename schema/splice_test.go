package schema

import (
	"testing"

	"go.yaml.in/yaml/v3"
)

// FuzzWriteBack: an admin edit of any file never panics, and what it returns means what the same edit of the
// node tree means — the splice is only a way of writing it (issue 16).
func FuzzWriteBack(f *testing.F) {
	for _, s := range []string{blockFile, flowFile, editable, "", "# c\n", "{}", "bindings:\n", "bindings: ~\r\nschema: [a]",
		"sources: &s {a: {http: {}}}\nbindings: *s\n", "bindings:\n  A.b: |\n    # x\n\n  C.d: {from: e}"} {
		f.Add(s, "Query.customer", "{from: x}", uint8(0))
		f.Add(s, "Customer.fullName", "source: crm\npath: /p", uint8(1))
		f.Add(s, "crm", "", uint8(2))
	}
	f.Fuzz(func(t *testing.T, file, key, value string, op uint8) {
		var out []byte
		var err error
		section := []string{"bindings", "sources"}[op%2]
		switch op % 3 {
		case 0, 1:
			out, err = SetEntry([]byte(file), section, key, []byte(value))
		case 2:
			out, err = DeleteEntry([]byte(file), section, key)
		}
		if err != nil {
			return
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(out, &doc); err != nil {
			t.Fatalf("the edit is not YAML: %v\n%s", err, out)
		}
	})
}

// TestWriteBack_fallback: layouts the splice does not handle (an anchored section) are still edited correctly,
// by re-encoding the file.
func TestWriteBack_fallback(t *testing.T) {
	in := "sources: &s\n  crm: {http: {endpoints: ['http://x:1']}}\nbindings: {}\n"
	out, err := SetEntry([]byte(in), "sources", "crm", []byte("{http: {endpoints: ['http://x:2']}}"))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Sources map[string]map[string]map[string][]string
	}
	if err := yaml.Unmarshal(out, &got); err != nil || got.Sources["crm"]["http"]["endpoints"][0] != "http://x:2" {
		t.Fatalf("err %v, got %q", err, out)
	}
}
