package web_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/brand"
	"github.com/veil-id/veil/password"
	"github.com/veil-id/veil/web"
)

func withBrand(b *brand.Brand, templatesDir string) serverOption {
	return func(c *web.Config, _ *password.Config, _ *veil.ServiceConfig) {
		c.Brand, c.TemplatesDir = b, templatesDir
	}
}

// TestBranding: the site name, the logo and the accent colour reach the
// pages through a stylesheet of this origin and the CSP admits the logo's
// origin for images and nothing more.
func TestBranding(t *testing.T) {
	b, err := brand.New(brand.Config{SiteName: "Example & Co", LogoURL: "https://cdn.example.com/logo.svg", AccentColor: "#FFD700"})
	if err != nil {
		t.Fatal(err)
	}
	ts := MustOpenServer(t, withBrand(b, ""))
	page := ts.do(t, "GET", "/login", "", "")
	for _, want := range []string{`<title>Sign in · Example &amp; Co</title>`, `<img class="logo" src="https://cdn.example.com/logo.svg" alt="">`,
		`<span class="site-name">Example &amp; Co</span>`, `<link rel="stylesheet" href="/static/brand.css">`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("branded page lacks %s", want)
		}
	}
	if csp := page.header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self' https://cdn.example.com;") || !strings.Contains(csp, "style-src 'self';") {
		t.Errorf("CSP = %q", csp)
	}
	css := ts.do(t, "GET", "/static/brand.css", "", "")
	if css.status != 200 || css.header.Get("Content-Type") != "text/css; charset=utf-8" || !strings.Contains(css.body, "--accent: #ffd700;") || !strings.Contains(css.body, "--on-accent: #000000;") {
		t.Errorf("brand.css: %d %s\n%s", css.status, css.header.Get("Content-Type"), css.body)
	}
	plain := MustOpenServer(t).do(t, "GET", "/static/brand.css", "", "")
	if !strings.Contains(plain.body, "--accent: "+brand.DefaultAccent+";") {
		t.Errorf("default brand.css:\n%s", plain.body)
	}
}

// TestTemplatesDir: a page template in the directory replaces veil's of
// the same name, the others stay; a file that is not one of veil's
// templates stops the server from starting.
func TestTemplatesDir(t *testing.T) {
	dir := t.TempDir()
	own := `{{define "content"}}<p class="own">Our own sign-in, {{.T "Sign in"}}</p>{{end}}`
	if err := os.WriteFile(filepath.Join(dir, "login.html"), []byte(own), 0o644); err != nil {
		t.Fatal(err)
	}
	ts := MustOpenServer(t, withBrand(nil, dir))
	if a := ts.do(t, "GET", "/login", "", "", "Accept-Language", "de"); !strings.Contains(a.body, `<p class="own">Our own sign-in, Anmelden</p>`) || !strings.Contains(a.body, `<main class="card">`) {
		t.Errorf("the override is not used within the layout:\n%s", a.body)
	}
	if a := ts.do(t, "GET", "/signup", "", ""); !strings.Contains(a.body, `action="/signup"`) {
		t.Errorf("a page without an override changed:\n%s", a.body)
	}
	if err := os.WriteFile(filepath.Join(dir, "logn.html"), []byte(own), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := web.NewServer(web.Config{TemplatesDir: dir}); err == nil || !strings.Contains(err.Error(), "logn.html") {
		t.Errorf("NewServer with a misspelt template = %v, want an error naming it", err)
	}
	if _, err := web.NewServer(web.Config{TemplatesDir: filepath.Join(dir, "missing")}); err == nil {
		t.Errorf("NewServer with a missing templates directory succeeded")
	}
	bad := t.TempDir()
	if err := os.WriteFile(filepath.Join(bad, "login.html"), []byte(`{{define "content"}}{{.Nope`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := web.NewServer(web.Config{TemplatesDir: bad}); err == nil {
		t.Errorf("NewServer with a template that does not parse succeeded")
	}
}
