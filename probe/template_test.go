package probe

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTemplate(t *testing.T) {
	tests := []struct {
		tmpl, contentType, id, want string
	}{
		{LoginBody, "application/json", `a"b\c@x.com`, `{"identifier":"a\"b\\c@x.com","password":"pw"}`},
		{LoginBody, "application/json; charset=utf-8", "\n", `{"identifier":"\n","password":"pw"}`},
		{"user={{identifier}}&pass={{ password }}", "application/x-www-form-urlencoded", "a+b@x.com", "user=a%2Bb%40x.com&pass=pw"},
		{"<id>{{identifier}}</id>", "application/xml", "a&b", "<id>a&b</id>"},
		{"no placeholders", "", "x", "no placeholders"},
	}
	for _, tt := range tests {
		tmpl, err := ParseTemplate(tt.tmpl)
		if err != nil {
			t.Fatalf("ParseTemplate(%q): %v", tt.tmpl, err)
		}
		if got := string(tmpl.RenderBody(tt.contentType, tt.id, "pw")); got != tt.want {
			t.Errorf("RenderBody(%q, %q) = %q, want %q", tt.tmpl, tt.id, got, tt.want)
		}
	}
	for _, bad := range []string{"{{user}}", "{{identifier", "a {{ identifier }} {{"} {
		if _, err := ParseTemplate(bad); err == nil {
			t.Errorf("ParseTemplate(%q) = nil error, want an error", bad)
		}
	}
}

func TestRenderURL(t *testing.T) {
	tmpl, _ := ParseTemplate("http://h/users/{{identifier}}/exists?u={{identifier}}")
	got := tmpl.RenderURL("a b/c@x.com", "")
	want := "http://h/users/a%20b%2Fc@x.com/exists?u=a+b%2Fc%40x.com"
	if got != want {
		t.Errorf("RenderURL = %q, want %q", got, want)
	}
}

// FuzzRenderJSON: any identifier lands in veil's sign-in body as valid JSON
// that decodes back to it.
func FuzzRenderJSON(f *testing.F) {
	for _, s := range []string{"a@x.com", `"`, `\`, "\x00", "</script>", "\u2028"} {
		f.Add(s)
	}
	tmpl, _ := ParseTemplate(LoginBody)
	f.Fuzz(func(t *testing.T, id string) {
		body := tmpl.RenderBody("application/json", id, "pw")
		var got struct{ Identifier, Password string }
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("RenderBody(%q) = %q: not JSON: %v", id, body, err)
		}
		if utf8.ValidString(id) && got.Identifier != id {
			t.Errorf("RenderBody(%q) decodes to %q", id, got.Identifier)
		}
	})
}

// FuzzRenderForm: any identifier survives form encoding.
func FuzzRenderForm(f *testing.F) {
	f.Add("a+b@x.com&c=d")
	tmpl, _ := ParseTemplate("u={{identifier}}&p={{password}}")
	f.Fuzz(func(t *testing.T, id string) {
		v, err := url.ParseQuery(string(tmpl.RenderBody("application/x-www-form-urlencoded", id, "pw")))
		if err != nil || v.Get("u") != id || v.Get("p") != "pw" {
			t.Errorf("form body for %q decodes to %q (%v)", id, v, err)
		}
	})
}

// FuzzParseTemplate: parsing never panics, keeps the text, and rendering
// puts the value wherever a placeholder was.
func FuzzParseTemplate(f *testing.F) {
	for _, s := range []string{LoginBody, "{{", "}}{{identifier}}{{", "{{ password}}{{identifier }}", "{{x}}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tmpl, err := ParseTemplate(s)
		if err != nil {
			return
		}
		if tmpl.String() != s {
			t.Errorf("String() = %q, want %q", tmpl.String(), s)
		}
		const mark = "\x00\x01"
		out := string(tmpl.RenderBody("text/plain", mark, mark))
		placeholders := 0
		for _, p := range tmpl.parts {
			if p.field != "" {
				placeholders++
			}
		}
		if got, want := strings.Count(out, mark), placeholders+strings.Count(s, mark); got != want {
			t.Errorf("ParseTemplate(%q): %d values rendered, want %d", s, got, want)
		}
	})
}

// FuzzParseHeader: a parsed header is valid and parses again to itself.
func FuzzParseHeader(f *testing.F) {
	for _, s := range []string{"X-Forwarded-For: 1.2.3.4", "Authorization: Bearer x", "bad", ": v", "K:\r\nv", "Content-Length: 3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name, value, err := ParseHeader(s)
		if err != nil {
			return
		}
		if strings.ContainsAny(name+value, "\r\n\x00") || name == "" {
			t.Fatalf("ParseHeader(%q) = %q, %q: invalid", s, name, value)
		}
		n2, v2, err := ParseHeader(name + ": " + value)
		if err != nil || n2 != name || v2 != value {
			t.Errorf("ParseHeader round trip of %q: %q %q %v", s, n2, v2, err)
		}
	})
}
