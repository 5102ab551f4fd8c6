// Package brand is how an operator makes veil's pages and mails look like
// her own: a site name, a logo and an accent colour, each checked strictly
// once, at startup, because they end up in HTML, CSS and mail headers.
//
// It computes the colours derived from the accent (the text on a button,
// the colour of links on a light and on a dark background) so that every
// pair meets WCAG AA contrast whatever accent is chosen. It must never let
// an unchecked value through: a colour is exactly #rgb or #rrggbb, a logo
// is a path on this origin or an https URL without anything that could end
// a CSP source or an HTML attribute.
package brand

import (
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// DefaultAccent is the accent colour when none is configured: a blue with
// 6.7:1 contrast against white text.
const DefaultAccent = "#1d4ed8"

// Surfaces the pages draw text on (veil.css's --card in light and dark
// mode): link colours are computed against them.
const (
	LightSurface = "#ffffff"
	DarkSurface  = "#1b1e23"
)

// AA is the contrast ratio WCAG AA asks of normal text.
const AA = 4.5

// Color is an sRGB colour.
type Color struct{ R, G, B uint8 }

// ParseColor accepts exactly "#rgb" or "#rrggbb" (hex digits in either
// case): the colour goes into a stylesheet, so nothing else may.
func ParseColor(s string) (Color, error) {
	bad := fmt.Errorf("the accent colour %q must be #rgb or #rrggbb (hex digits)", s)
	if len(s) != 4 && len(s) != 7 || s[0] != '#' {
		return Color{}, bad
	}
	hex := s[1:]
	for _, r := range hex {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return Color{}, bad
		}
	}
	if len(hex) == 3 {
		hex = string([]byte{hex[0], hex[0], hex[1], hex[1], hex[2], hex[2]})
	}
	v, err := strconv.ParseUint(hex, 16, 32)
	if err != nil {
		return Color{}, bad
	}
	return Color{uint8(v >> 16), uint8(v >> 8), uint8(v)}, nil
}

// MustParseColor is ParseColor for constants.
func MustParseColor(s string) Color {
	c, err := ParseColor(s)
	if err != nil {
		panic(err)
	}
	return c
}

// String is the colour as #rrggbb.
func (c Color) String() string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

// Luminance is the relative luminance of WCAG 2.
func (c Color) Luminance() float64 {
	ch := func(v uint8) float64 {
		s := float64(v) / 255
		if s <= 0.04045 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*ch(c.R) + 0.7152*ch(c.G) + 0.0722*ch(c.B)
}

// Contrast is the WCAG 2 contrast ratio of two colours, from 1 to 21.
func Contrast(a, b Color) float64 {
	la, lb := a.Luminance(), b.Luminance()
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

var (
	white = Color{255, 255, 255}
	black = Color{0, 0, 0}
)

// OnColor is the text colour for a button of colour c: white or black,
// whichever contrasts more. One of them always reaches 4.5:1 (the worst
// case, a mid grey, gets about 4.58:1); a softer black would not.
func OnColor(c Color) Color {
	if Contrast(c, white) >= Contrast(c, black) {
		return white
	}
	return black
}

// Readable is c moved towards black (on a light surface) or white (on a
// dark one) just far enough to reach ratio against surface: the colour of
// links and focus rings in the accent's hue.
func Readable(c, surface Color, ratio float64) Color {
	toward := black
	if surface.Luminance() < 0.5 {
		toward = white
	}
	for i := 0; i <= 100; i++ {
		f := float64(i) / 100
		m := Color{mix(c.R, toward.R, f), mix(c.G, toward.G, f), mix(c.B, toward.B, f)}
		if Contrast(m, surface) >= ratio {
			return m
		}
	}
	return toward
}

func mix(a, b uint8, f float64) uint8 {
	return uint8(math.Round(float64(a)*(1-f) + float64(b)*f))
}

// Brand is the checked branding of one veil.
type Brand struct {
	SiteName string
	// LogoURL is "" (no logo), a path on veil's own origin ("/logo.svg"),
	// or an https URL whose origin the pages' CSP then admits for images.
	LogoURL string
	Accent  Color
}

// Config is branding as configured, unchecked.
type Config struct {
	SiteName, LogoURL, AccentColor string
}

// maxSiteNameBytes bounds the site name, which goes into page titles and
// mail subjects.
const maxSiteNameBytes = 100

// New checks cfg: a site name of one printable line (required), a logo URL
// as in Brand.LogoURL, and an accent colour for ParseColor ("" for
// DefaultAccent).
func New(cfg Config) (*Brand, error) {
	if err := CheckSiteName(cfg.SiteName); err != nil {
		return nil, err
	}
	if err := checkLogoURL(cfg.LogoURL); err != nil {
		return nil, err
	}
	accent := cfg.AccentColor
	if accent == "" {
		accent = DefaultAccent
	}
	c, err := ParseColor(accent)
	if err != nil {
		return nil, err
	}
	return &Brand{SiteName: cfg.SiteName, LogoURL: cfg.LogoURL, Accent: c}, nil
}

// CheckSiteName accepts one line of printable text of at most 100 bytes.
func CheckSiteName(s string) error {
	switch {
	case strings.TrimSpace(s) == "":
		return fmt.Errorf("the site name is required")
	case len(s) > maxSiteNameBytes:
		return fmt.Errorf("the site name is longer than %d bytes", maxSiteNameBytes)
	case !utf8.ValidString(s):
		return fmt.Errorf("the site name is not valid UTF-8")
	}
	for _, r := range s {
		if unicode.IsControl(r) || (r != ' ' && unicode.IsSpace(r)) {
			return fmt.Errorf("the site name must be one line of printable text")
		}
	}
	return nil
}

// checkLogoURL accepts "", a path ("/..." but not "//...") or an https URL
// with a host, made only of characters that need no escaping in a URL:
// nothing that could end a CSP source list (space, ';', ',') or an
// attribute.
func checkLogoURL(s string) error {
	if s == "" {
		return nil
	}
	bad := fmt.Errorf("the logo URL %q must be a path on this server (/logo.svg) or an https URL", s)
	if len(s) > 2048 {
		return bad
	}
	for _, r := range s {
		if r > unicode.MaxASCII || !(unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("-._~:/?#[]@!$&'()*+=%", r)) || r == '\'' {
			return bad
		}
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return bad
	case strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "//") && u.Scheme == "" && u.Host == "":
		return nil
	case u.Scheme == "https" && u.Host != "" && u.User == nil:
		return nil
	}
	return bad
}

// LogoOrigin is the origin (https://host[:port]) of an https logo, which
// the pages' CSP must admit for images, or "" for a logo on this origin.
func (b *Brand) LogoOrigin() string {
	u, err := url.Parse(b.LogoURL)
	if err != nil || u.Scheme != "https" {
		return ""
	}
	return "https://" + u.Host
}

// Stylesheet is the CSS that applies the accent: the button colour and its
// text, and links and focus rings in the accent's hue, readable on the
// light and the dark surface.
func (b *Brand) Stylesheet() string {
	light := Readable(b.Accent, MustParseColor(LightSurface), AA)
	dark := Readable(b.Accent, MustParseColor(DarkSurface), AA)
	return fmt.Sprintf(":root { --accent: %s; --on-accent: %s; --link: %s; }\n"+
		"@media (prefers-color-scheme: dark) { :root { --link: %s; } }\n",
		b.Accent, OnColor(b.Accent), light, dark)
}
