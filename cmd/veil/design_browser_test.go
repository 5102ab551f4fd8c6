package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/veil-id/veil/brand"
)

// layoutProbe measures a page as it is drawn: whether it scrolls
// sideways, where its main button is, and the colours of every piece of
// text and of the button, each against the background it is drawn on.
const layoutProbe = `(() => {
  const bg = (e) => {
    for (; e; e = e.parentElement) {
      const c = getComputedStyle(e).backgroundColor;
      if (c && !/^rgba\(.*, 0\)$/.test(c) && c !== "transparent") return c;
    }
    return "rgb(255, 255, 255)";
  };
  const main = document.querySelector(MAIN);
  const r = main && main.getBoundingClientRect();
  const texts = [...document.querySelectorAll(".card h1, .card p, .card label, .card small, .card a, .card dt, .card dd, .card button, .languages span, .languages button, .site-name")]
    .filter((e) => e.offsetParent !== null && e.textContent.trim() !== "")
    .map((e) => ({what: e.tagName.toLowerCase() + (e.className ? "." + e.className : "") + " " + e.textContent.trim().slice(0, 30), color: getComputedStyle(e).color, bg: bg(e)}));
  const input = document.querySelector(".card input:not([type=hidden])");
  let outline = "";
  if (input) { input.focus(); const s = getComputedStyle(input); outline = s.outlineStyle + " " + s.outlineWidth; }
  return JSON.stringify({
    scrollWidth: document.documentElement.scrollWidth, innerWidth, innerHeight,
    main: main && {top: r.top, bottom: r.bottom, left: r.left, right: r.right, color: getComputedStyle(main).color, bg: bg(main)},
    texts, outline,
  });
})()`

type layout struct {
	ScrollWidth, InnerWidth, InnerHeight float64
	Main                                 *struct {
		Top, Bottom, Left, Right float64
		Color, Bg                string
	}
	Texts   []struct{ What, Color, Bg string }
	Outline string
}

var rgbRE = regexp.MustCompile(`^rgba?\((\d+), (\d+), (\d+)(?:, ([\d.]+))?\)$`)

// cssColor parses a computed colour; a translucent one is laid over bg.
func cssColor(tb testing.TB, s string, bg brand.Color) brand.Color {
	tb.Helper()
	m := rgbRE.FindStringSubmatch(s)
	if m == nil {
		tb.Fatalf("computed colour %q", s)
	}
	v := func(i int) float64 { f, _ := strconv.ParseFloat(m[i], 64); return f }
	a := 1.0
	if m[4] != "" {
		a = v(4)
	}
	over := func(c float64, b uint8) uint8 { return uint8(c*a + float64(b)*(1-a) + 0.5) }
	return brand.Color{R: over(v(1), bg.R), G: over(v(2), bg.G), B: over(v(3), bg.B)}
}

// prefersColorScheme makes the page draw as for a system in light or dark
// mode, with its window focused (headless, it is not), so that focus
// rings are drawn as a person would see them.
func prefersColorScheme(scheme string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		if _, err := cdp.Call(ctx, t, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true}); err != nil {
			return chromedp.Void{}, err
		}
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
		return chromedp.Void{}, err
	}
}

// screenshotDir is where the design test leaves its screenshots: the
// directory VEIL_SCREENSHOT_DIR names, or the test's own.
func screenshotDir(tb testing.TB) string {
	if d := os.Getenv("VEIL_SCREENSHOT_DIR"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			tb.Fatal(err)
		}
		return d
	}
	return tb.TempDir()
}

// TestBrowserDesign draws every kind of page in headless Chromium at a
// phone's width (390 px) and a laptop's (1280 px), light and dark, in
// English and German (the longest words), takes a screenshot of each, and
// checks the basics of the layout: nothing scrolls sideways, the page's
// main button is in view without scrolling, every text — the button's
// included — has WCAG AA contrast (4.5:1) with what it is drawn on, and a
// focused field shows an outline.
func TestBrowserDesign(t *testing.T) {
	ctx := newBrowserFor(t, 5*time.Minute)
	vars := map[string]string{"VEIL_BRANDING_ACCENT_COLOR": "#0f766e", "VEIL_BRANDING_SITE_NAME": "Example Accounts"}
	for k, v := range lenientThrottle { // the same forms, again and again
		vars[k] = v
	}
	v := MustRunMain(t, testEnv(vars), t.TempDir())
	dir := screenshotDir(t)
	const email = "design@example.com"
	do := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	submit := chromedp.Click(chromedp.CSS(`button[type="submit"].primary`))
	round := 0
	signUp := func() chromedp.Action[chromedp.Void] { // a fresh address each time
		round++
		return chromedp.SendKeys(chromedp.CSS("#email"), fmt.Sprintf("design%d@example.com", round))
	}
	pages := []struct {
		name, main string
		open       []chromedp.Action[chromedp.Void]
	}{
		{"login", ".primary", []chromedp.Action[chromedp.Void]{chromedp.Navigate(v.url + "/login")}},
		{"login-failed", ".primary", []chromedp.Action[chromedp.Void]{chromedp.Navigate(v.url + "/login"),
			chromedp.SendKeys(chromedp.CSS("#identifier"), email), chromedp.SendKeys(chromedp.CSS("#password"), "not the password"), submit,
			chromedp.WaitVisible(chromedp.CSS(".error"))}},
		{"signed-out", ".primary", []chromedp.Action[chromedp.Void]{chromedp.Navigate(v.url + "/login?signed_out=1")}},
		{"signup", ".primary", []chromedp.Action[chromedp.Void]{chromedp.Navigate(v.url + "/signup")}},
		{"check-email", ".secondary", []chromedp.Action[chromedp.Void]{chromedp.Navigate(v.url + "/signup"),
			nil, submit, chromedp.WaitVisible(chromedp.CSS(".notice"))}},
		{"recover", ".primary", []chromedp.Action[chromedp.Void]{chromedp.Navigate(v.url + "/recover")}},
		{"dead-link", ".primary", []chromedp.Action[chromedp.Void]{chromedp.Navigate(v.url + "/signup/confirm?token=cut")}},
		{"confirm", ".primary", []chromedp.Action[chromedp.Void]{chromedp.Navigate(v.url + "/signup/confirm?token=" + strings.Repeat("A", 43))}},
	}
	for _, lang := range []string{"en", "de"} {
		if lang == "de" {
			do("switching to German", chromedp.Navigate(v.url+"/login"), chromedp.Click(chromedp.CSS(`.languages button[value="de"]`)),
				chromedp.WaitVisible(chromedp.CSS(`html[lang="de"]`)))
		}
		for _, vp := range [][2]int64{{390, 844}, {1280, 800}} {
			for _, scheme := range []string{"light", "dark"} {
				for _, p := range pages {
					name := fmt.Sprintf("%s-%s-%d-%s", p.name, lang, vp[0], scheme)
					open := slices.Clone(p.open)
					for i, a := range open {
						if a == nil {
							open[i] = signUp()
						}
					}
					do(name, append([]chromedp.Action[chromedp.Void]{chromedp.EmulateViewport(vp[0], vp[1]), prefersColorScheme(scheme)}, open...)...)
					shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
					if err != nil {
						t.Fatalf("%s: screenshot: %v", name, err)
					}
					if err := os.WriteFile(filepath.Join(dir, name+".png"), shot, 0o644); err != nil {
						t.Fatal(err)
					}
					checkLayout(t, ctx, name, p.main)
				}
			}
		}
	}
	t.Logf("screenshots in %s", dir)
}

func checkLayout(t *testing.T, ctx context.Context, name, main string) {
	t.Helper()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](strings.Replace(layoutProbe, "MAIN", strconv.Quote(main), 1)))
	if err != nil {
		t.Fatalf("%s: measuring: %v", name, err)
	}
	var l layout
	if err := json.Unmarshal([]byte(raw), &l); err != nil {
		t.Fatalf("%s: %v\n%s", name, err, raw)
	}
	if l.ScrollWidth > l.InnerWidth {
		t.Errorf("%s: scrolls sideways (%v px wide in a %v px window)", name, l.ScrollWidth, l.InnerWidth)
	}
	if l.Main == nil {
		t.Fatalf("%s: no %s button", name, main)
	}
	if m := l.Main; m.Top < 0 || m.Bottom > l.InnerHeight || m.Left < 0 || m.Right > l.InnerWidth {
		t.Errorf("%s: the %s button is not in view without scrolling: %+v in %vx%v", name, main, *m, l.InnerWidth, l.InnerHeight)
	}
	white := brand.Color{R: 255, G: 255, B: 255}
	bg := cssColor(t, l.Main.Bg, white)
	if c := brand.Contrast(cssColor(t, l.Main.Color, bg), bg); c < brand.AA {
		t.Errorf("%s: the button's text has contrast %.2f:1 (%s on %s), want %.1f", name, c, l.Main.Color, l.Main.Bg, brand.AA)
	}
	for _, tx := range l.Texts {
		bg := cssColor(t, tx.Bg, white)
		if c := brand.Contrast(cssColor(t, tx.Color, bg), bg); c < brand.AA {
			t.Errorf("%s: %q has contrast %.2f:1 (%s on %s)", name, tx.What, c, tx.Color, tx.Bg)
		}
	}
	if l.Outline != "" && (!strings.HasPrefix(l.Outline, "solid ") || l.Outline == "solid 0px") {
		t.Errorf("%s: a focused field shows outline %q", name, l.Outline)
	}
}
