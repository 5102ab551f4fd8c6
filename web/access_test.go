package web_test

import (
	"context"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/password"
	"github.com/veil-id/veil/web"
)

// testRules are the rules of the access tests: a public path, an admin app
// for the admins group (with the address), everything else signed in.
var testRules = []veil.AccessRule{
	{Host: "wiki.apps.example.com", Path: "/public", Access: veil.AccessBypass},
	{Host: "admin.apps.example.com", Access: veil.AccessGroup, Groups: []string{"admins"}, EmailHeader: true},
	{Host: "*.apps.example.com", Access: veil.AccessSignedIn},
}

// withAccessRules is withForwardAuth with testRules and groups from the
// test's database.
func withAccessRules(trust bool) serverOption {
	return func(w *web.Config, p *password.Config, s *veil.ServiceConfig) {
		withForwardAuth("", trust)(w, p, s)
		rules, err := veil.NewAccessRules(testRules)
		if err != nil {
			panic(err)
		}
		w.AccessRules = rules
		s.Groups = s.Accounts.(veil.GroupStore)
	}
}

// signedIn adds an account in groups and returns its session cookie.
func (ts *testServer) signedIn(tb testing.TB, email string, groups ...string) (*veil.Account, string) {
	tb.Helper()
	acct := ts.mustAddAccount(tb, email, goodPassword)
	for _, g := range groups {
		if _, _, err := ts.service.AddToGroup(context.Background(), email, g); err != nil {
			tb.Fatal(err)
		}
	}
	return acct, cookieNamed(ts.loginJSON(tb, email, goodPassword), "veil_session")
}

// TestForwardAuthRules: each rule's answer to someone signed out, a member
// and a non-member, through the Caddy/Traefik headers and nginx's.
func TestForwardAuthRules(t *testing.T) {
	ts := MustOpenServer(t, withAccessRules(true))
	admin, adminCookie := ts.signedIn(t, "ada@example.com", "admins", "ops")
	_, opsCookie := ts.signedIn(t, "otto@example.com", "ops")
	at := func(u string) []string { return []string{"X-Original-URL", u} }
	caddyAt := func(host, uri string) []string {
		return []string{"X-Forwarded-Proto", "https", "X-Forwarded-Host", host, "X-Forwarded-Uri", uri}
	}
	cases := []struct {
		name, cookie, accept string
		where                []string
		wantStatus           int
		wantUser, wantEmail  bool
	}{
		{"bypass, signed out", "", browserAccept, caddyAt("wiki.apps.example.com", "/public/a.css"), 200, false, false},
		{"bypass, signed in: no identity", adminCookie, browserAccept, caddyAt("wiki.apps.example.com", "/public"), 200, false, false},
		{"bypass is not /publicity", "", browserAccept, caddyAt("wiki.apps.example.com", "/publicity"), 302, false, false},
		{"bypass is not /public/../admin", "", browserAccept, caddyAt("wiki.apps.example.com", "/public/../admin"), 302, false, false},
		{"bypass is not /public/%2e%2e/admin", "", browserAccept, caddyAt("wiki.apps.example.com", "/public/%2e%2e/admin"), 302, false, false},
		{"bypass is not /public%2f..%2fadmin", "", "application/json", at("https://wiki.apps.example.com/public%2f..%2fadmin"), 401, false, false},
		{"bypass on another host is not", "", "application/json", caddyAt("app.apps.example.com", "/public/"), 401, false, false},
		{"group, signed out browser: sign in", "", browserAccept, caddyAt("admin.apps.example.com", "/"), 302, false, false},
		{"group, signed out API: 401", "", "application/json", at("https://admin.apps.example.com/"), 401, false, false},
		{"group, member", adminCookie, browserAccept, at("https://admin.apps.example.com/x"), 200, true, true},
		{"group, other group's member: 403 page", opsCookie, browserAccept, caddyAt("admin.apps.example.com", "/x"), 403, false, false},
		{"group, other group's member, API: JSON 403", opsCookie, "application/json", at("https://ADMIN.apps.example.com./x"), 403, false, false},
		{"signed_in, member of anything", opsCookie, browserAccept, caddyAt("app.apps.example.com", "/"), 200, true, false},
		{"no rule matches: signed_in", opsCookie, "", at("https://other.example.com/"), 200, true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hdr := append([]string{"Accept", c.accept}, c.where...)
			if c.cookie != "" {
				hdr = append(hdr, "Cookie", c.cookie)
			}
			got := ts.do(t, "GET", "/api/forward-auth", "", "", hdr...)
			if got.status != c.wantStatus {
				t.Fatalf("forward-auth = %d, want %d\n%s", got.status, c.wantStatus, got.body)
			}
			if u := got.header.Get("Remote-User"); (u != "") != c.wantUser {
				t.Errorf("Remote-User = %q, want one: %v", u, c.wantUser)
			}
			if e := got.header.Get("Remote-Email"); (e != "") != c.wantEmail {
				t.Errorf("Remote-Email = %q, want one: %v", e, c.wantEmail)
			}
			switch {
			case got.status == 403 && strings.HasPrefix(c.accept, "text/html"):
				if !strings.Contains(got.body, "not open to your account") || got.header.Get("Content-Type") != "text/html; charset=utf-8" ||
					!strings.Contains(got.header.Get("Content-Security-Policy"), "form-action 'self';") {
					t.Errorf("403 for a browser is not the page: %s", got.body)
				}
			case got.status == 403:
				if got.body != `{"error":"forbidden","message":"You are signed in, but this app is not open to your account."}`+"\n" {
					t.Errorf("403 for an API client = %s", got.body)
				}
			}
		})
	}
	got := ts.do(t, "GET", "/api/forward-auth", "", "", "Cookie", adminCookie, "X-Original-URL", "https://admin.apps.example.com/")
	if got.header.Get("Remote-User") != admin.ID || got.header.Get("Remote-Email") != "ada@example.com" || got.header.Get("Remote-Groups") != "admins,ops" {
		t.Errorf("member's headers = %v, want Remote-User %s, Remote-Email, Remote-Groups admins,ops", got.header, admin.ID)
	}
}

// TestForwardAuthRulesUnknownURL: with rules, a request whose URL veil does
// not believe (not from a trusted proxy) is let in by no rule: signed out
// it is sent to sign in, signed in it gets 403, even on a bypass path.
func TestForwardAuthRulesUnknownURL(t *testing.T) {
	ts := MustOpenServer(t, withAccessRules(false))
	_, cookie := ts.signedIn(t, "ada@example.com", "admins")
	bypass := []string{"X-Original-URL", "https://wiki.apps.example.com/public/"}
	if got := ts.do(t, "GET", "/api/forward-auth", "", "", append(bypass, "Accept", "application/json")...); got.status != 401 {
		t.Errorf("untrusted peer, bypass URL, signed out = %d, want 401", got.status)
	}
	if got := ts.do(t, "GET", "/api/forward-auth", "", "", append(bypass, "Cookie", cookie)...); got.status != 403 {
		t.Errorf("untrusted peer, bypass URL, signed in = %d, want 403", got.status)
	}
}

// TestForwardAuthRulesTellNothing is the pair test of the rules: on a
// group rule, a request without a cookie, with garbage, with a signed-out
// session and with a disabled account's session get the same bytes; the
// 403 of two different non-members is the same page; and a group that
// exists answers like one that does not.
func TestForwardAuthRulesTellNothing(t *testing.T) {
	ts := MustOpenServer(t, withAccessRules(true))
	_, gone := ts.signedIn(t, "gone@example.com")
	ts.do(t, "POST", "/api/logout", "", "", "Cookie", gone)
	_, disabled := ts.signedIn(t, "dora@example.com", "admins")
	if _, err := ts.service.SetDisabled(context.Background(), "dora@example.com", true); err != nil {
		t.Fatal(err)
	}
	_, ops := ts.signedIn(t, "otto@example.com", "ops")
	_, none := ts.signedIn(t, "nina@example.com")
	for _, accept := range []string{browserAccept, "application/json"} {
		ask := func(cookie string) answer {
			hdr := []string{"Accept", accept, "X-Forwarded-Proto", "https", "X-Forwarded-Host", "admin.apps.example.com", "X-Forwarded-Uri", "/x"}
			if cookie != "" {
				hdr = append(hdr, "Cookie", cookie)
			}
			return ts.do(t, "GET", "/api/forward-auth", "", "", hdr...)
		}
		want := ask("")
		for name, cookie := range map[string]string{"garbage": "veil_session=garbage", "signed out": gone, "disabled": disabled} {
			if d := diffAnswers(ask(cookie), want); d != "" {
				t.Errorf("%s %s: answer differs from no cookie's: %s", accept, name, d)
			}
		}
		if d := diffAnswers(ask(ops), ask(none)); d != "" || ask(ops).status != 403 {
			t.Errorf("%s: the 403s of two non-members differ (%d): %s", accept, ask(ops).status, d)
		}
	}
}

// TestForwardAuthRulesTrustOnlyProxies: the URL headers of a peer outside
// the trusted proxies are ignored, so a client cannot pick a bypass rule.
func TestForwardAuthRulesTrustOnlyProxies(t *testing.T) {
	ts := MustOpenServer(t, withAccessRules(false), func(w *web.Config, _ *password.Config, _ *veil.ServiceConfig) {
		w.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("192.0.2.1/32")}
	})
	got := ts.do(t, "GET", "/api/forward-auth", "", "", "Accept", "application/json", "X-Forwarded-Proto", "https", "X-Forwarded-Host", "wiki.apps.example.com", "X-Forwarded-Uri", "/public/")
	if got.status != http.StatusUnauthorized {
		t.Errorf("bypass URL from an untrusted peer = %d, want 401", got.status)
	}
}
