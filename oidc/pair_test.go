package oidc_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/veil-id/veil/oidc"
	"github.com/veil-id/veil/oidc/oidctest"
	"github.com/veil-id/veil/sqlite/sqlitetest"
	"github.com/veil-id/veil/veiltest"
)

// pairAnswer is what a client can observe of one answer but its timing.
type pairAnswer struct {
	status int
	header http.Header
	body   string
}

func (a pairAnswer) same(b pairAnswer) bool {
	if a.status != b.status || a.body != b.body || len(a.header) != len(b.header) {
		return false
	}
	for k, v := range a.header {
		if strings.Join(v, "\n") != strings.Join(b.header[k], "\n") {
			return false
		}
	}
	return true
}

// requestIDs are the random auth request IDs in a URL or page, which
// differ between any two requests.
var requestIDs = regexp.MustCompile(`id(=|%3D)[A-Za-z0-9_-]{32}`)

func normalizeIDs(a pairAnswer) pairAnswer {
	a.body = requestIDs.ReplaceAllString(a.body, "id${1}ID")
	if loc := a.header.Get("Location"); loc != "" {
		a.header = a.header.Clone()
		a.header.Set("Location", requestIDs.ReplaceAllString(loc, "id${1}ID"))
	}
	return a
}

func send(t *testing.T, req *http.Request) pairAnswer {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	status, h, body := veiltest.ReadAnswer(t, res)
	return pairAnswer{status, h, body}
}

// TestAuthorizeLoginFailuresAreIdentical is the pair test of the sign-in an
// authorization request leads to: an existing account with a wrong
// password, a disabled one with its right password and an unknown
// identifier give the same bytes, return URL and all.
func TestAuthorizeLoginFailuresAreIdentical(t *testing.T) {
	s := oidctest.Start(t, sqlitetest.MustOpen(t), oidctest.Options{})
	s.AddAccount(t, adaEmail, "Ada", adaPass)
	s.AddAccount(t, "bob@example.com", "Bob", adaPass)
	if _, err := s.Service.SetDisabled(context.Background(), "bob@example.com", true); err != nil {
		t.Fatal(err)
	}
	c := &oidc.Client{FirstParty: true, RedirectURIs: []string{redirectURI}}
	rp := newRelyingParty(t, s.Issuer, c.ID, s.AddClient(t, c))
	login := oidctest.NewBrowser(t).Get(rp.authURL(&flow{}))
	rd := login.URL.Query().Get("rd")
	if !strings.Contains(rd, "/oidc/authorize/continue") {
		t.Fatalf("the sign-in page has no return URL to the authorization: %s", login.URL)
	}
	post := func(id, pw string) pairAnswer {
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/login", strings.NewReader(url.Values{"identifier": {id}, "password": {pw}, "rd": {rd}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return withoutEcho(send(t, req), id)
	}
	want := post("nobody-at-all@example.com", "wrong password here")
	if want.status != http.StatusUnauthorized || !strings.Contains(want.body, `name="rd"`) {
		t.Fatalf("unknown identifier: %d, want 401 with the return URL kept:\n%s", want.status, want.body)
	}
	for _, tc := range []struct{ name, id, pw string }{
		{"wrong password", adaEmail, "wrong password here"},
		{"disabled, right password", "bob@example.com", adaPass},
		{"unknown, other spelling", "NOBODY-AT-ALL@example.com", "wrong password here"},
	} {
		if got := post(tc.id, tc.pw); !got.same(want) {
			t.Errorf("%s: %d %v\n%s\nwant the unknown identifier's %d %v\n%s", tc.name, got.status, got.header, got.body, want.status, want.header, want.body)
		}
	}
}

// withoutEcho takes what was typed out of a sign-in page that shows it
// again (it depends on the input alone, the same for every account), so
// that answers to different identifiers compare.
func withoutEcho(a pairAnswer, typed string) pairAnswer {
	echo := `value="` + html.EscapeString(typed) + `"`
	if !strings.Contains(a.body, echo) {
		return a
	}
	a.body = strings.ReplaceAll(a.body, echo, `value="TYPED"`)
	a.header = a.header.Clone()
	a.header.Set("Content-Length", strconv.Itoa(len(a.body)))
	return a
}

// TestLoginHintRevealsNothing: a login_hint naming an account and one
// naming nobody get the same authorization answers.
func TestLoginHintRevealsNothing(t *testing.T) {
	s := oidctest.Start(t, sqlitetest.MustOpen(t), oidctest.Options{})
	s.AddAccount(t, adaEmail, "Ada", adaPass)
	c := &oidc.Client{FirstParty: true, RedirectURIs: []string{redirectURI}}
	rp := newRelyingParty(t, s.Issuer, c.ID, s.AddClient(t, c))
	walk := func(hint string) []pairAnswer {
		var out []pairAnswer
		f := &flow{state: "st", nonce: "n", verifier: "v"}
		next := rp.conf.AuthCodeURL(f.state) + "&login_hint=" + url.QueryEscape(hint)
		for range 2 { // authorize, the sign-in page
			req, _ := http.NewRequest(http.MethodGet, next, nil)
			a := send(t, req)
			out = append(out, normalizeIDs(a))
			loc := a.header.Get("Location")
			if loc == "" {
				break
			}
			u, err := req.URL.Parse(loc)
			if err != nil {
				t.Fatal(err)
			}
			next = u.String()
		}
		return out
	}
	want := walk("nobody-at-all@example.com")
	got := walk(adaEmail)
	if len(got) != len(want) || len(want) < 2 {
		t.Fatalf("the walks took %d and %d steps, want 2 each", len(got), len(want))
	}
	if want[1].status != http.StatusOK || !strings.Contains(want[1].body, `name="password"`) {
		t.Fatalf("the walk did not end on the sign-in page: %d\n%s", want[1].status, want[1].body)
	}
	for i := range want {
		if !got[i].same(want[i]) {
			t.Errorf("step %d: with an existing account's hint %d %v, with an unknown one %d %v", i, got[i].status, got[i].header, want[i].status, want[i].header)
		}
	}
}
