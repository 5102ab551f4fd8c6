package web

import (
	"net"
	"net/url"
	"strings"
	"testing"
)

// testReturnDomains are the return domains of the tests below.
var testReturnDomains = []string{"good.example.com", "*.apps.example.com", "app.localhost:8081", "127.0.0.1:9000", "[::1]:9001", "xn--bcher-kva.example"}

func mustReturnDomains(tb testing.TB, list []string) returnDomains {
	tb.Helper()
	d, err := newReturnDomains(list)
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

// TestCheckReturnURL: only absolute http(s) URLs on a return domain pass;
// everything a browser could read as another host, or as script, falls back.
func TestCheckReturnURL(t *testing.T) {
	d := mustReturnDomains(t, testReturnDomains)
	accepted := []struct{ in, want string }{
		{"https://good.example.com/", "https://good.example.com/"},
		{"https://good.example.com", "https://good.example.com"},
		{"https://good.example.com/a/b?c=d&e=%2F#frag", "https://good.example.com/a/b?c=d&e=%2F#frag"},
		{"https://GOOD.Example.COM/x", "https://GOOD.Example.COM/x"},
		{"HTTPS://good.example.com/x", "https://good.example.com/x"},
		{"https://good.example.com:443/x", "https://good.example.com:443/x"},
		{"https://wiki.apps.example.com/page", "https://wiki.apps.example.com/page"},
		{"https://a.b.apps.example.com/", "https://a.b.apps.example.com/"},
		{"http://app.localhost:8081/x", "http://app.localhost:8081/x"},
		{"https://app.localhost:8081/x", "https://app.localhost:8081/x"},
		{"http://127.0.0.1:9000/", "http://127.0.0.1:9000/"},
		{"http://[::1]:9001/", "http://[::1]:9001/"},
		{"https://xn--bcher-kva.example/", "https://xn--bcher-kva.example/"},
		{"https://good.example.com/path//evil.com", "https://good.example.com/path//evil.com"},
		{"https://good.example.com/?next=https://evil.com", "https://good.example.com/?next=https://evil.com"},
	}
	for _, c := range accepted {
		if got, ok := d.checkReturnURL(c.in); !ok || got != c.want {
			t.Errorf("checkReturnURL(%q) = %q, %v; want %q, true", c.in, got, ok, c.want)
		}
	}
	refused := []string{
		"", "/", "/account", "//evil.com", "///evil.com", "/\\evil.com", "\\\\evil.com", "/%5Cevil.com",
		"//good.example.com/", "good.example.com/x",
		"https:/good.example.com/", "https:good.example.com/", "https:\\\\good.example.com", "https:/\\good.example.com",
		"https://evil.com/", "https://evil.com/good.example.com", "https://good.example.com.evil.com/",
		"https://good.example.com@evil.com/", "https://good.example.com:443@evil.com/", "https://user:pw@good.example.com/",
		"https://evil.com#@good.example.com", "https://evil.com?@good.example.com", "https://evil.com\\@good.example.com",
		"https://good.example.com\\@evil.com", "https://good.example.com%40evil.com/", "https://good%2eexample.com/",
		"https://%67ood.example.com/", "https://good.example.com%2f@evil.com",
		"javascript:alert(1)", "JavaScript:alert(1)", "%6aavascript:alert(1)", "javascript://good.example.com/%0aalert(1)",
		"data:text/html,<script>alert(1)</script>", "vbscript:msgbox", "ftp://good.example.com/", "ws://good.example.com/",
		"file:///etc/passwd", "mailto:a@good.example.com",
		" https://good.example.com/", "https://good.example.com/ ", "\thttps://good.example.com/", "https://good.example.com/\n",
		"https://good.example.com/\r\nSet-Cookie: x=y", "https://good.example.com/\x00", "https://good.example.com\x00.evil.com/",
		"https://good.example.com/\x7f", "ht\ttps://good.example.com/", "https://good.exa mple.com/",
		"http://good.example.com/", "http://wiki.apps.example.com/",
		"https://apps.example.com/", "https://.apps.example.com/", "https://evilapps.example.com/", "https://example.com/",
		"https://good.example.com./", "https://good.example.com:8443/", "https://good.example.com:80/", "https://good.example.com:0443/",
		"https://good.example.com:99999/", "https://good.example.com:-1/", "https://good.example.com:x/",
		"http://app.localhost/", "http://app.localhost:8082/", "http://evil.localhost:8081/", "http://127.0.0.1/", "http://127.0.0.2:9000/",
		"http://[::1]/", "http://[::1%25eth0]:9001/", "http://2130706433:9000/", "http://0x7f.0.0.1:9000/",
		"https://gооd.example.com/", "https://bücher.example/", "https://good.example.com\u3002evil.com/", "https://good.example.com/\u202e",
		"https://ｇood.example.com/", "https://good.example.com／@evil.com",
		"https://[good.example.com]/", "https://good.example.com]/", "https://:443/", "https:///x",
		"https://" + strings.Repeat("a", 64) + ".apps.example.com/", "https://good.example.com/" + strings.Repeat("a", maxReturnURL),
	}
	for _, in := range refused {
		if got, ok := d.checkReturnURL(in); ok {
			t.Errorf("checkReturnURL(%q) = %q, true; want refused", in, got)
		}
	}
	if got, ok := (returnDomains{}).checkReturnURL("https://good.example.com/"); ok {
		t.Errorf("with no return domains, checkReturnURL accepted %q", got)
	}
}

// TestNewReturnDomains: the configuration is refused when an entry is not
// a host, *.domain or IP address with an optional port.
func TestNewReturnDomains(t *testing.T) {
	for _, in := range []string{"good.example.com", "*.example.com", "app.localhost:8081", "127.0.0.1", "::1", "[::1]:80", " Good.Example.com "} {
		if _, err := newReturnDomains([]string{in}); err != nil {
			t.Errorf("newReturnDomains(%q) = %v, want nil", in, err)
		}
	}
	for _, in := range []string{"", "*", "*.", "**.example.com", "a.*.example.com", "https://good.example.com", "good.example.com/", "good.example.com:0",
		"good.example.com:99999", "*.127.0.0.1", "bücher.example", "user@good.example.com", "good..example.com", "-good.example.com", ".example.com"} {
		if _, err := newReturnDomains([]string{in}); err == nil {
			t.Errorf("newReturnDomains(%q) = nil, want an error", in)
		}
	}
}

// FuzzReturnURL: whatever it is given, an accepted URL parses as an
// absolute http(s) URL without userinfo on an allowed host, https unless
// the host is loopback, and survives a second check unchanged.
func FuzzReturnURL(f *testing.F) {
	for _, s := range []string{"https://good.example.com/x", "//evil.com", "/\\evil.com", "https://good.example.com@evil.com",
		"javascript:alert(1)", "http://[::1]:9001/", "https://wiki.apps.example.com/?a=b#c", "http://app.localhost:8081/"} {
		f.Add(s)
	}
	d := mustReturnDomains(f, testReturnDomains)
	f.Fuzz(func(t *testing.T, raw string) {
		got, ok := d.checkReturnURL(raw)
		if !ok {
			if got != "" {
				t.Fatalf("refused %q but returned %q", raw, got)
			}
			return
		}
		u, err := url.Parse(got)
		if err != nil || u.User != nil || u.Opaque != "" || u.Scheme != "https" && u.Scheme != "http" {
			t.Fatalf("accepted %q as %q: %v, userinfo %v, scheme %q", raw, got, err, u.User, u.Scheme)
		}
		host := strings.ToLower(u.Hostname())
		if !d.allows(host, u.Port(), u.Scheme) || !allowedByList(host, u.Port(), u.Scheme) {
			t.Fatalf("accepted %q as %q on host %q port %q", raw, got, host, u.Port())
		}
		if u.Scheme == "http" && !isLoopbackHost(host) {
			t.Fatalf("accepted plain http for %q", got)
		}
		if strings.ContainsAny(got, "\\ \t\r\n\x00") {
			t.Fatalf("accepted %q with a backslash, whitespace or NUL", got)
		}
		if again, ok := d.checkReturnURL(got); !ok || again != got {
			t.Fatalf("checkReturnURL(%q) = %q, %v; not stable", got, again, ok)
		}
	})
}

// allowedByList is an independent, plainer reading of testReturnDomains.
func allowedByList(host, port, scheme string) bool {
	if port == map[string]string{"https": "443", "http": "80"}[scheme] {
		port = ""
	}
	switch {
	case port == "" && (host == "good.example.com" || host == "xn--bcher-kva.example"):
		return true
	case port == "" && strings.HasSuffix(host, ".apps.example.com"):
		return true
	case port == "8081" && host == "app.localhost", port == "9000" && host == "127.0.0.1":
		return true
	case port == "9001" && net.ParseIP(host).Equal(net.ParseIP("::1")):
		return true
	}
	return false
}
