package main

import (
	"strings"
	"testing"
)

// TestBrandingConfig: the branding is checked when the configuration is
// read, so a colour that is not a hex colour (it goes into CSS), a logo
// that is not on this origin or https, or a templates directory that is
// not there stops veil before it serves anything.
func TestBrandingConfig(t *testing.T) {
	for _, tt := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"VEIL_BRANDING_ACCENT_COLOR": "red"}, "accent colour"},
		{map[string]string{"VEIL_BRANDING_ACCENT_COLOR": "#123456;} body{display:none"}, "accent colour"},
		{map[string]string{"VEIL_BRANDING_LOGO_URL": "http://cdn.example.com/logo.png"}, "logo URL"},
		{map[string]string{"VEIL_BRANDING_SITE_NAME": "two\nlines"}, "site name"},
		{map[string]string{"VEIL_BRANDING_TEMPLATES_DIR": "/nonexistent/veil-templates"}, "branding.templates_dir"},
	} {
		env := func(k string) string { return tt.env[k] }
		code, _, errOut := runMain(t, env, "", "config", "print")
		if code == 0 || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want an error mentioning %q", tt.env, code, errOut, tt.want)
		}
	}
	good := map[string]string{"VEIL_BRANDING_ACCENT_COLOR": "#0f766e", "VEIL_BRANDING_LOGO_URL": "https://cdn.example.com/logo.svg", "VEIL_BRANDING_TEMPLATES_DIR": t.TempDir()}
	code, out, errOut := runMain(t, func(k string) string { return good[k] }, "", "config", "print")
	if code != 0 || !strings.Contains(out, "#0f766e") {
		t.Errorf("config print with branding: exit %d\n%s%s", code, out, errOut)
	}
}
