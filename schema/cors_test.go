package schema

import (
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// TestSettings_cors: server.cors decodes with defaults for what it leaves out, and refuses what a browser would
// refuse or what is not an origin, at its line (issue 16).
func TestSettings_cors(t *testing.T) {
	fsys := fstest.MapFS{"s.graphqls": {Data: []byte("type Query { a: String }")}}
	tests := []struct {
		name, cors string
		want       CORS
		wantErr    string
	}{
		{name: "absent is off", cors: "", want: DefaultSettings().CORS},
		{name: "origins only take the defaults", cors: "{origins: [https://app.example.com]}",
			want: CORS{Origins: []string{"https://app.example.com"}, Methods: []string{"GET", "POST"}, Headers: []string{"Content-Type", "Authorization"}}},
		{name: "everything", cors: "{origins: ['https://app.example.com', 'http://localhost:3000/'], methods: [get, POST], headers: [Content-Type, X-Tenant], credentials: true, maxAge: 10m}",
			want: CORS{Origins: []string{"https://app.example.com", "http://localhost:3000"}, Methods: []string{"GET", "POST"},
				Headers: []string{"Content-Type", "X-Tenant"}, Credentials: true, MaxAge: 10 * time.Minute}},
		{name: "any origin", cors: `{origins: ["*"]}`,
			want: CORS{Origins: []string{"*"}, Methods: []string{"GET", "POST"}, Headers: []string{"Content-Type", "Authorization"}}},
		{name: "wildcard subdomain", cors: `{origins: ["https://*.example.com"]}`,
			want: CORS{Origins: []string{"https://*.example.com"}, Methods: []string{"GET", "POST"}, Headers: []string{"Content-Type", "Authorization"}}},
		{name: "any origin with credentials", cors: `{origins: ["*"], credentials: true}`,
			wantErr: `conflux.yaml:3:39: server.cors.credentials: credentials: true cannot go with origins: ["*"]`},
		{name: "star among origins", cors: `{origins: ["*", "https://a.example"]}`, wantErr: `"*" allows every origin: give it alone`},
		{name: "a URL, not an origin", cors: `{origins: ["https://app.example.com/graphql"]}`, wantErr: `conflux.yaml:3:20: server.cors.origins: origin "https://app.example.com/graphql" is not an origin`},
		{name: "no scheme", cors: `{origins: [app.example.com]}`, wantErr: `is not an origin: write scheme://host[:port]`},
		{name: "no origins", cors: `{methods: [GET]}`, wantErr: `server.cors: no origins`},
		{name: "unknown method", cors: `{origins: ["*"], methods: [FETCH]}`, wantErr: `unknown method "FETCH"`},
		{name: "unknown key", cors: `{origins: ["*"], allowOrigins: [x]}`, wantErr: `allowOrigins`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			config := "schema: s.graphqls\nserver:\n"
			if tc.cors != "" {
				config += "  cors: " + tc.cors + "\n"
			} else {
				config += "  introspection: true\n"
			}
			sg, err := Parse("conflux.yaml", []byte(config), fsys, WithEnv(func(string) (string, bool) { return "", false }))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := sg.Settings.CORS; !reflect.DeepEqual(got, tc.want) {
				t.Errorf("cors = %+v, want %+v", got, tc.want)
			}
			if got := sg.Settings.CORS.Enabled(); got != (tc.cors != "") {
				t.Errorf("enabled = %v", got)
			}
		})
	}
}
