package devmail

import (
	"slices"
	"strings"
	"testing"
)

// TestLinks: the links the mailbox makes clickable, and only those.
func TestLinks(t *testing.T) {
	tests := []struct {
		text string
		want string
	}{
		{"no link here", ""},
		{"open https://id.example.com/c?token=a&b=1.\nthen http://x/y", "https://id.example.com/c?token=a&b=1"},
		{"(see http://localhost:8080/c?t=2)", "http://localhost:8080/c?t=2"},
		{"ftp://x and javascript:alert(1)", ""},
		{"https://) then https://a.example", "https://a.example"},
	}
	for _, tt := range tests {
		got := ""
		for _, s := range segments(tt.text) {
			if s.URL != "" {
				got = s.URL
				break
			}
		}
		if got != tt.want {
			t.Errorf("first link of segments(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

func TestSegments(t *testing.T) {
	tests := []string{
		"",
		"plain",
		"https://a.example/x",
		"go to https://a.example/x. Or (https://b.example/y), done",
		"https://) https://a.example",
	}
	for _, text := range tests {
		segs := segments(text)
		var joined strings.Builder
		var links []string
		for _, s := range segs {
			if s.URL != "" {
				joined.WriteString(s.URL)
				links = append(links, s.URL)
			} else {
				joined.WriteString(s.Text)
			}
		}
		if joined.String() != text {
			t.Errorf("segments(%q) joined = %q, want the text back", text, joined.String())
		}
		for _, l := range links {
			if !strings.HasPrefix(l, "http://") && !strings.HasPrefix(l, "https://") {
				t.Errorf("segments(%q) made a link of %q", text, l)
			}
		}
	}
	got := segments("go to https://a.example/x. Or (https://b.example/y), done")
	want := []segment{{Text: "go to "}, {URL: "https://a.example/x"}, {Text: ". Or ("}, {URL: "https://b.example/y"}, {Text: "), done"}}
	if !slices.Equal(got, want) {
		t.Errorf("segments = %+v, want %+v", got, want)
	}
}
