package probe

import (
	"net/url"
	"testing"
)

// TestAuthorizePreset: the authorize preset posts veil's sign-in form with
// a return URL to an authorization on the same veil, form-encoded.
func TestAuthorizePreset(t *testing.T) {
	target, err := PresetTarget("authorize", "https://id.example.com/")
	if err != nil {
		t.Fatal(err)
	}
	if target.ContentType != "application/x-www-form-urlencoded" || target.URL.RenderURL("a", "b") != "https://id.example.com/login" {
		t.Fatalf("authorize preset: %s %s", target.ContentType, target.URL.RenderURL("a", "b"))
	}
	form, err := url.ParseQuery(string(target.Body.RenderBody(target.ContentType, "a+b@example.com", "p&w")))
	if err != nil {
		t.Fatal(err)
	}
	if form.Get("identifier") != "a+b@example.com" || form.Get("password") != "p&w" ||
		form.Get("rd") != "https://id.example.com/oidc/authorize/continue?id=probe&from=login" {
		t.Errorf("authorize preset body = %v", form)
	}
}
