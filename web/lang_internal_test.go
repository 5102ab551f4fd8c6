package web

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzLocalPath: the language switcher's way back is "/" or a path on
// this origin, whatever the form said.
func FuzzLocalPath(f *testing.F) {
	for _, s := range []string{"/login?rd=https%3A%2F%2Fa.example%2F", "//evil.example", "/\\evil", "https://evil.example/", "/%2F%2Fevil", "/\t/evil"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, back string) {
		p := localPath(back)
		if p == "/" {
			return
		}
		u, err := url.Parse(p)
		if p != back || err != nil || u.Host != "" || u.Scheme != "" || !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\ \t\r\n") {
			t.Errorf("localPath(%q) = %q", back, p)
		}
	})
}
