package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeProxyRules writes the rules of the proxied setup: the admin app for
// the admins group, with the address; every other app for anyone signed in.
func writeProxyRules(tb testing.TB) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "rules.toml")
	rules := `
[[forward_auth.rules]]
host = "admin.veil.localhost"
group = ["admins"]
email_header = true
`
	if err := os.WriteFile(path, []byte(rules), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

// forgedHeaders are what a client sends to pass for someone else: none may
// reach the app.
var forgedHeaders = []string{"Remote-User", "forged-id", "Remote-Name", "Forged Name", "Remote-Groups", "admins", "Remote-Email", "forged@example.com"}

// signInAPI signs email in through veil's API on its own host and returns
// the account's ID; the cookie lands in c's jar for the whole domain.
func (p *proxiedSetup) signInAPI(t *testing.T, c *http.Client, email string) string {
	t.Helper()
	res, body := send(t, c, "POST", p.authHost+"/api/login", "application/json", "application/json", loginJSONBody(email, proxiedPassword))
	var session struct {
		Account struct{ ID string } `json:"account"`
	}
	if res.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &session) != nil || session.Account.ID == "" {
		t.Fatalf("sign-in %s: %d %s", email, res.StatusCode, body)
	}
	return session.Account.ID
}

// veilForbiddenPage is veil's own answer, asked without the proxy, to the
// browser c asking for target: the page a proxy should show when veil
// refuses.
func (p *proxiedSetup) veilForbiddenPage(t *testing.T, c *http.Client, target string) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest("GET", p.veil.url+"/api/forward-auth", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", htmlAccept)
	req.Header.Set("X-Original-URL", target)
	for _, ck := range c.Jar.Cookies(u) {
		req.AddCookie(ck)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("veil's own answer about %s: %d %s, want its 403", target, res.StatusCode, b)
	}
	return string(b)
}

// sendForged is send with the forged identity headers.
func sendForged(t *testing.T, c *http.Client, target string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", target, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", htmlAccept)
	for i := 0; i < len(forgedHeaders); i += 2 {
		req.Header.Set(forgedHeaders[i], forgedHeaders[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := res.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return res, b.String()
}

// rulesRound: a member of another group gets 403 on the admin app (veil's
// page where the proxy passes its body on) and enters the other apps; the
// app sees veil's headers and none of the client's forged ones; a member
// enters with Remote-Groups and, by the rule, Remote-Email; signing out
// ends access to both apps.
func (p *proxiedSetup) rulesRound(t *testing.T, veilPage bool) {
	otto := p.client(t)
	if res, _ := send(t, otto, "GET", p.admin+"/", htmlAccept, "", ""); res.StatusCode != http.StatusFound ||
		res.Header.Get("Location") != p.authHost+"/login?rd="+url.QueryEscape(p.admin+"/") {
		t.Fatalf("signed out on the admin app: %d %q, want the sign-in redirect (no 403 before sign-in)", res.StatusCode, res.Header.Get("Location"))
	}
	ottoID := p.signInAPI(t, otto, "otto@example.com")
	res, body := sendForged(t, otto, p.admin+"/")
	if res.StatusCode != http.StatusForbidden || veilPage && body != p.veilForbiddenPage(t, otto, p.admin+"/") || strings.Contains(body, "forged") {
		t.Fatalf("ops member on the admins app: %d\n%s\nwant 403 (veil's page, byte for byte: %v)", res.StatusCode, body, veilPage)
	}
	if strings.Contains(body, ottoID) || res.Header.Get("Remote-User") != "" {
		t.Errorf("the 403 names the account (%q, Remote-User %q):\n%s", ottoID, res.Header.Get("Remote-User"), body)
	}
	if res, post := send(t, otto, "POST", p.admin+"/form", htmlAccept, "application/x-www-form-urlencoded", "a=b"); res.StatusCode != http.StatusForbidden || veilPage && post != body {
		t.Errorf("ops member posting to the admins app: %d\n%s\nwant the same 403 as a GET", res.StatusCode, post)
	}
	res, body = sendForged(t, otto, p.app+"/")
	if res.StatusCode != http.StatusOK || strings.Contains(body, "forged") || strings.Contains(body, "Forged") || !strings.Contains(body, `id=headers>["`+ottoID+`"]`) ||
		!strings.Contains(body, `Remote-Groups=["ops"]`) || !emptyHeader(body, "Remote-Email") || !emptyHeader(body, "Remote-Name") {
		t.Fatalf("ops member on the app with forged headers: %d\n%s\nwant Remote-User %s (the opaque ID), Remote-Groups ops, no name or address", res.StatusCode, body, ottoID)
	}

	alice := p.client(t)
	aliceID := p.signInAPI(t, alice, "alice@example.com")
	res, body = sendForged(t, alice, p.admin+"/")
	if res.StatusCode != http.StatusOK || !strings.Contains(body, `id=headers>["`+aliceID+`"]`) || !strings.Contains(body, `Remote-Groups=["admins"]`) ||
		!strings.Contains(body, `Remote-Email=["alice@example.com"]`) || strings.Contains(body, "forged") {
		t.Fatalf("admins member on the admins app: %d\n%s\nwant Remote-User %s, Remote-Groups admins and her address", res.StatusCode, body, aliceID)
	}

	if res, _ := send(t, otto, "POST", p.authHost+"/api/logout", "", "", ""); res.StatusCode != http.StatusNoContent {
		t.Fatalf("sign-out: %d", res.StatusCode)
	}
	for _, u := range []string{p.app + "/", p.admin + "/"} {
		if res, _ := send(t, otto, "GET", u, htmlAccept, "", ""); res.StatusCode != http.StatusFound {
			t.Errorf("after sign-out, %s: %d, want 302 to sign in", u, res.StatusCode)
		}
	}
}

// emptyHeader reports whether the app saw no value of header: none
// (nginx drops an empty proxy_set_header) or an empty one (Caddy).
func emptyHeader(body, header string) bool {
	return strings.Contains(body, header+"=[]") || strings.Contains(body, header+`=[""]`)
}
