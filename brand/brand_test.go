package brand_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/veil-id/veil/brand"
)

func TestParseColor(t *testing.T) {
	for _, tt := range []struct {
		in, want string
	}{
		{"#1d4ed8", "#1d4ed8"}, {"#1D4ED8", "#1d4ed8"}, {"#abc", "#aabbcc"}, {"#000", "#000000"},
	} {
		c, err := brand.ParseColor(tt.in)
		if err != nil || c.String() != tt.want {
			t.Errorf("ParseColor(%q) = %v, %v; want %s", tt.in, c, err, tt.want)
		}
	}
	for _, bad := range []string{"", "1d4ed8", "#1d4ed", "#1d4ed8ff", "#ggg", "red", "#12345;", "#123}body{", "#1d4ed8 ", " #1d4ed8", "#+12", "#-1a", "＃abc"} {
		if _, err := brand.ParseColor(bad); err == nil {
			t.Errorf("ParseColor(%q) accepted it", bad)
		}
	}
}

// TestDerivedColoursMeetAA: for every accent on a coarse grid of the RGB
// cube, the button text and the link colours reach 4.5:1.
func TestDerivedColoursMeetAA(t *testing.T) {
	light, dark := brand.MustParseColor(brand.LightSurface), brand.MustParseColor(brand.DarkSurface)
	for r := 0; r < 256; r += 17 {
		for g := 0; g < 256; g += 17 {
			for b := 0; b < 256; b += 17 {
				c := brand.Color{R: uint8(r), G: uint8(g), B: uint8(b)}
				if got := brand.Contrast(c, brand.OnColor(c)); got < brand.AA {
					t.Fatalf("%s: button text contrast %.2f", c, got)
				}
				if got := brand.Contrast(brand.Readable(c, light, brand.AA), light); got < brand.AA {
					t.Fatalf("%s: link contrast on light %.2f", c, got)
				}
				if got := brand.Contrast(brand.Readable(c, dark, brand.AA), dark); got < brand.AA {
					t.Fatalf("%s: link contrast on dark %.2f", c, got)
				}
			}
		}
	}
	if got := brand.Contrast(brand.MustParseColor("#000"), brand.MustParseColor("#fff")); got < 20.99 || got > 21.01 {
		t.Errorf("black on white = %.3f, want 21", got)
	}
}

func TestNew(t *testing.T) {
	for _, tt := range []struct {
		cfg    brand.Config
		errHas string
	}{
		{brand.Config{SiteName: "Example"}, ""},
		{brand.Config{SiteName: "Example", LogoURL: "/logo.svg", AccentColor: "#0a7"}, ""},
		{brand.Config{SiteName: "Example", LogoURL: "https://cdn.example.com/logo.png"}, ""},
		{brand.Config{SiteName: ""}, "site name"},
		{brand.Config{SiteName: "two\nlines"}, "site name"},
		{brand.Config{SiteName: "x", AccentColor: "blue"}, "accent"},
		{brand.Config{SiteName: "x", LogoURL: "http://cdn.example.com/logo.png"}, "logo"},
		{brand.Config{SiteName: "x", LogoURL: "//cdn.example.com/logo.png"}, "logo"},
		{brand.Config{SiteName: "x", LogoURL: "javascript:alert(1)"}, "logo"},
		{brand.Config{SiteName: "x", LogoURL: "https://cdn.example.com/a b.png"}, "logo"},
		{brand.Config{SiteName: "x", LogoURL: "https://cdn.example.com/a;script-src *"}, "logo"},
		{brand.Config{SiteName: "x", LogoURL: "https://cdn.example.com/a'b"}, "logo"},
		{brand.Config{SiteName: "x", LogoURL: "https://user@cdn.example.com/a"}, "logo"},
		{brand.Config{SiteName: "x", LogoURL: "logo.png"}, "logo"},
	} {
		_, err := brand.New(tt.cfg)
		if tt.errHas == "" && err != nil || tt.errHas != "" && (err == nil || !strings.Contains(err.Error(), tt.errHas)) {
			t.Errorf("New(%+v) = %v, want error containing %q", tt.cfg, err, tt.errHas)
		}
	}
}

func TestStylesheet(t *testing.T) {
	b, err := brand.New(brand.Config{SiteName: "x", AccentColor: "#FFD700", LogoURL: "https://cdn.example.com:8443/l.png"})
	if err != nil {
		t.Fatal(err)
	}
	css := b.Stylesheet()
	if !strings.Contains(css, "--accent: #ffd700;") || !strings.Contains(css, "--on-accent: #000000;") {
		t.Errorf("stylesheet for a yellow accent:\n%s", css)
	}
	if got := b.LogoOrigin(); got != "https://cdn.example.com:8443" {
		t.Errorf("LogoOrigin = %q", got)
	}
}

// FuzzParseColor: whatever is accepted is a colour and nothing else: its
// canonical form is #rrggbb, which is all that reaches a stylesheet.
func FuzzParseColor(f *testing.F) {
	for _, s := range []string{"#1d4ed8", "#abc", "red", "#12345;", ""} {
		f.Add(s)
	}
	canonical := regexp.MustCompile(`^#[0-9a-f]{6}$`)
	f.Fuzz(func(t *testing.T, s string) {
		c, err := brand.ParseColor(s)
		if err != nil {
			return
		}
		if !canonical.MatchString(c.String()) || (len(s) != 4 && len(s) != 7) {
			t.Errorf("ParseColor(%q) accepted it as %s", s, c)
		}
	})
}
