package probe

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/veil-id/veil/probe/leaky"
)

// csrfForm is a sign-in form guarded the usual way: GET /login sets a
// session cookie and renders a one-use CSRF token in a hidden field and in
// the form's action URL; POST /login/submit?ticket=… without the cookie,
// the token or the ticket of that same page is 403 "page expired". With
// leak set, existing accounts get a different message.
type csrfForm struct {
	leak    bool
	exists  map[string]bool
	mu      sync.Mutex
	pending map[string]string // session → token, until used
	pages   atomic.Int64
}

func newCSRFForm(tb testing.TB, leak bool) (*csrfForm, string) {
	tb.Helper()
	f := &csrfForm{leak: leak, exists: map[string]bool{}, pending: map[string]string{}}
	for _, id := range testExists {
		f.exists[id] = true
	}
	srv := httptest.NewServer(f)
	tb.Cleanup(srv.Close)
	return f, srv.URL
}

func token() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (f *csrfForm) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/login":
		f.pages.Add(1)
		session, tok := token(), token()
		f.mu.Lock()
		f.pending[session] = tok
		f.mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: "session", Value: session, Path: "/", HttpOnly: true})
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<form method="post" action="/login/submit?ticket=%s&amp;lang=en"><input type="hidden" name="csrf" value="%s"><input name="user"></form>`, tok[:8], tok)
	case r.Method == http.MethodPost && r.URL.Path == "/login/submit":
		c, err := r.Cookie("session")
		f.mu.Lock()
		tok := ""
		if err == nil {
			tok = f.pending[c.Value]
			delete(f.pending, c.Value)
		}
		f.mu.Unlock()
		if tok == "" || r.PostFormValue("csrf") != tok || r.URL.Query().Get("ticket") != tok[:8] || r.URL.Query().Get("lang") != "en" {
			http.Error(w, "page expired", http.StatusForbidden)
			return
		}
		msg := "Invalid username or password."
		if f.leak && f.exists[r.PostFormValue("user")] {
			msg = "Invalid password for this user."
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<p class="error">%s</p><input name="user" value="%s">`, msg, r.PostFormValue("user"))
	default:
		http.NotFound(w, r)
	}
}

// csrfPlan is a plan for the csrfForm at base: one step fetches the page,
// keeps its cookie and takes the action URL and token from it.
func csrfPlan(base string, keepCookies bool) string {
	return planHead(40, 2) + fmt.Sprintf(`
[[endpoint]]
url = "%[1]s{{action}}"
content_type = "application/x-www-form-urlencoded"
body = "csrf={{csrf}}&user={{identifier}}&pass={{password}}"

[[endpoint.step]]
url = "%[1]s/login"
keep_cookies = %[2]v
extract = [
  { name = "action", regex = 'action="([^"]*)"' },
  { name = "csrf", regex = 'name="csrf" value="([^"]*)"' },
]
`, base, keepCookies)
}

// planHead is the top of a test plan: testExists, n per class, a warm-up,
// no rate limit.
func planHead(n, warmup int) string {
	return fmt.Sprintf("exists = [%q, %q]\nn = %d\nwarmup = %d\nrate = 0\n", testExists[0], testExists[1], n, warmup)
}

func mustRunPlan(tb testing.TB, src string) *Report {
	tb.Helper()
	plan, err := ParsePlan(strings.NewReader(src))
	if err != nil {
		tb.Fatal(err)
	}
	plan.Alpha = 1e-6 // content leaks at n=40 have p near 1e-20; timing stays quiet
	rep, err := Run(context.Background(), *plan)
	if err != nil {
		tb.Fatal(err)
	}
	return rep
}

// TestStepsCSRFForm shows a form that wants a fresh page's cookie, token and
// action URL measured through a step: its message leak found, its absence
// not mistaken for one (the echoed identifier and the per-page token are
// masked), one page fetched per request, warm-up included.
func TestStepsCSRFForm(t *testing.T) {
	for _, leak := range []bool{true, false} {
		form, base := newCSRFForm(t, leak)
		rep := mustRunPlan(t, csrfPlan(base, true))
		r := rep.Targets[0]
		if rep.Leak != leak || r.Inconclusive != "" || leak && !strings.Contains(strings.Join(r.LeakingChannels(), ","), "body") {
			t.Errorf("leak %v: verdict %s, leaking %q, inconclusive %q", leak, rep.Verdict(), r.LeakingChannels(), r.Inconclusive)
			logResult(t, r)
		}
		if got := r.Channels[chStatus].Summary; !strings.Contains(got, "identical in all 80") {
			t.Errorf("leak %v: status %q, want every answer past the form's checks", leak, got)
		}
		if n := form.pages.Load(); n != 82 {
			t.Errorf("leak %v: %d pages fetched, want 82 (one per request, warm-up included)", leak, n)
		}
	}
}

// TestStepsWithoutCookies shows what a step that does not keep the
// session cookie gets: every answer 403, the same for both classes — no
// leak, but no endpoint measured either; and a step that always fails is
// a target error (nothing was measured), with or without a warm-up.
func TestStepsWithoutCookies(t *testing.T) {
	_, base := newCSRFForm(t, true)
	rep := mustRunPlan(t, csrfPlan(base, false))
	if rep.Leak || !strings.Contains(rep.Targets[0].Channels[chStatus].Summary, "identical") {
		t.Errorf("without cookies: verdict %s, status %q", rep.Verdict(), rep.Targets[0].Channels[chStatus].Summary)
	}
	broken := strings.Replace(csrfPlan(base, true), `name="csrf" value=`, `name="token" value=`, 1)
	plan, err := ParsePlan(strings.NewReader(broken))
	if err != nil {
		t.Fatal(err)
	}
	for _, warmup := range []int{0, 2} {
		plan.Probes[0].Options.Warmup = warmup
		_, err := Run(context.Background(), *plan)
		var te *TargetError
		if !errors.As(err, &te) || !strings.Contains(err.Error(), `step 1: no {{csrf}} in the answer`) {
			t.Errorf("warm-up %d through a failing step: %v, want a target error naming the step", warmup, err)
		}
	}
}

// TestStepsOnce shows a once-only step run a single time, its value given
// to every request, in a header.
func TestStepsOnce(t *testing.T) {
	var tokens atomic.Int64
	var bad atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" {
			tokens.Add(1)
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"data":{"access":{"token":"tok-12345678"}}}`)
			return
		}
		if r.Header.Get("Authorization") != "Bearer tok-12345678" {
			bad.Add(1)
		}
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":"invalid_credentials"}`)
	}))
	t.Cleanup(srv.Close)
	rep := mustRunPlan(t, planHead(20, 0)+fmt.Sprintf(`
[[endpoint]]
url = "%[1]s/login"
headers = ["Authorization: Bearer {{token}}"]
[[endpoint.step]]
url = "%[1]s/token"
method = "POST"
once = true
extract = [{ name = "token", json = "data.access.token" }]
`, srv.URL))
	if rep.Leak || tokens.Load() != 1 || bad.Load() != 0 {
		t.Errorf("once-only step: verdict %s, %d tokens fetched, %d requests without it; want no leak, 1, 0", rep.Verdict(), tokens.Load(), bad.Load())
	}
}

func TestParsePlanStepsErrors(t *testing.T) {
	head := "exists = [\"a@x.com\"]\n[[endpoint]]\nurl = \"http://h/login?flow={{flow}}\"\n"
	for name, src := range map[string]string{
		"unknown placeholder":   head,
		"step sends identifier": head + "[[endpoint.step]]\nurl = \"http://h/{{identifier}}\"\nextract = [{name = \"flow\", json = \"id\"}]\n",
		"two sources":           head + "[[endpoint.step]]\nurl = \"http://h/f\"\nextract = [{name = \"flow\", json = \"id\", header = \"X\"}]\n",
		"no source":             head + "[[endpoint.step]]\nurl = \"http://h/f\"\nextract = [{name = \"flow\"}]\n",
		"bad name":              head + "[[endpoint.step]]\nurl = \"http://h/f\"\nextract = [{name = \"Flow\", json = \"id\"}]\n",
		"reserved name":         head + "[[endpoint.step]]\nurl = \"http://h/f\"\nextract = [{name = \"password\", json = \"id\"}]\n",
		"nothing to do":         head + "[[endpoint.step]]\nurl = \"http://h/f\"\n",
		"bad regex":             head + "[[endpoint.step]]\nurl = \"http://h/f\"\nextract = [{name = \"flow\", regex = \"(\"}]\n",
		"step not http":         head + "[[endpoint.step]]\nurl = \"ftp://h/f\"\nextract = [{name = \"flow\", json = \"id\"}]\n",
		"var of a later step":   head + "[[endpoint.step]]\nurl = \"http://h/{{flow}}\"\nextract = [{name = \"flow\", json = \"id\"}]\n",
		"once after per-request": head + "[[endpoint.step]]\nurl = \"http://h/f\"\nextract = [{name = \"flow\", json = \"id\"}]\n" +
			"[[endpoint.step]]\nurl = \"http://h/g\"\nonce = true\nextract = [{name = \"other\", json = \"id\"}]\n",
		"preset with steps": "exists = [\"a@x.com\"]\n[[endpoint]]\npreset = \"login\"\nbase_url = \"http://h\"\n[[endpoint.step]]\nurl = \"http://h/f\"\nextract = [{name = \"flow\", json = \"id\"}]\n",
		"bad kind":          "exists = [\"a@x.com\"]\n[[endpoint]]\nurl = \"http://h/login\"\nkind = \"logout\"\n",
	} {
		if _, err := ParsePlan(strings.NewReader(src)); err == nil {
			t.Errorf("%s: ParsePlan = nil error, want an error\n%s", name, src)
		}
	}
}

func TestExtract(t *testing.T) {
	html := &http.Response{Header: http.Header{"Content-Type": {"text/html;charset=utf-8"}, "Location": {"/ui/login?flow=abc-123"}},
		Body: http.NoBody}
	html.Header.Add("Set-Cookie", "csrf_token_x=tok%3D1; Path=/")
	body := []byte(`<form id="kc-form-login" action="http://kc/login-actions/authenticate?session_code=S&amp;tab_id=T" method="post">`)
	jsonBody := []byte(`{"id":"f-1","ui":{"nodes":[{"attributes":{"name":"csrf_token","value":"v1"}}],"n":3}}`)
	tests := []struct {
		e    Extract
		body []byte
		want string
		ok   bool
	}{
		{Extract{Regex: regexpMust(`id="kc-form-login"[^>]*\baction="([^"]*)"`)}, body, "http://kc/login-actions/authenticate?session_code=S&tab_id=T", true},
		{Extract{Header: "Location", Regex: regexpMust(`flow=([^&]+)`)}, body, "abc-123", true},
		{Extract{Cookie: "csrf_token_x"}, body, "tok%3D1", true},
		{Extract{Cookie: "nope"}, body, "", false},
		{Extract{JSON: "id"}, jsonBody, "f-1", true},
		{Extract{JSON: "ui.nodes.0.attributes.value"}, jsonBody, "v1", true},
		{Extract{JSON: "ui.n"}, jsonBody, "3", true},
		{Extract{JSON: "ui.nodes.1.attributes"}, jsonBody, "", false},
		{Extract{JSON: "id"}, body, "", false},
	}
	for _, tt := range tests {
		got, ok := tt.e.from(html, tt.body)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s: from = %q, %v; want %q, %v", tt.e.describe(), got, ok, tt.want, tt.ok)
		}
	}
}

// TestRenderVars shows step values inserted as they are in URLs and
// headers, and escaped in bodies.
func TestRenderVars(t *testing.T) {
	v := values{identifier: "a+b@x.com", password: "pw", vars: map[string]string{"action": "http://h/p?x=1&y=a+b", "csrf": `t"+/=`}}
	u, err := ParseTemplateVars("{{action}}&u={{identifier}}", []string{"action"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := u.renderURL(v), "http://h/p?x=1&y=a+b&u="+url.QueryEscape("a+b@x.com"); got != want {
		t.Errorf("renderURL = %q, want %q", got, want)
	}
	b, _ := ParseTemplateVars(`{"csrf":"{{csrf}}"}`, []string{"csrf"})
	if got, want := string(b.renderBody("application/json", v)), `{"csrf":"t\"+/="}`; got != want {
		t.Errorf("renderBody JSON = %q, want %q", got, want)
	}
	f, _ := ParseTemplateVars(`csrf={{csrf}}`, []string{"csrf"})
	if got, want := string(f.renderBody("application/x-www-form-urlencoded", v)), "csrf="+url.QueryEscape(`t"+/=`); got != want {
		t.Errorf("renderBody form = %q, want %q", got, want)
	}
}

func regexpMust(s string) *regexp.Regexp { return regexp.MustCompile(s) }

// TestStepsPairs shows paired mode running each side's steps before the
// pair leaves: two flows created per pair, each request naming its own,
// and the message leak behind them found from the answers.
func TestStepsPairs(t *testing.T) {
	var flows atomic.Int64
	var stale atomic.Int64
	var mu sync.Mutex
	open := map[string]bool{}
	login := leaky.Handler(leaky.Config{Leak: leaky.Message, Exists: testExists})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /flow", func(w http.ResponseWriter, r *http.Request) {
		flows.Add(1)
		id := token()
		mu.Lock()
		open[id] = true
		mu.Unlock()
		fmt.Fprintf(w, `{"id":%q}`, id)
	})
	mux.HandleFunc("POST /api/login", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		ok := open[r.URL.Query().Get("flow")]
		delete(open, r.URL.Query().Get("flow"))
		mu.Unlock()
		if !ok {
			stale.Add(1)
		}
		login.ServeHTTP(w, r)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := leaky.NewServer(mux)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	base := "http://" + ln.Addr().String()
	rep := mustRunPlan(t, planHead(30, 2)+fmt.Sprintf(`pairs = true
[[endpoint]]
url = "%[1]s/api/login?flow={{flow}}"
[[endpoint.step]]
url = "%[1]s/flow"
extract = [{ name = "flow", json = "id" }]
`, base))
	r := rep.Targets[0]
	if !rep.Leak || r.Mode != "pairs" || !slices.Contains(r.LeakingChannels(), "body") {
		t.Errorf("pairs through a step: verdict %s, mode %s, leaking %q; want the body leak in paired mode", rep.Verdict(), r.Mode, r.LeakingChannels())
		logResult(t, r)
	}
	if n := flows.Load(); n != 64 || stale.Load() != 0 {
		t.Errorf("%d flows created, %d requests on a stale one; want 64 (two per pair, warm-up included), 0", n, stale.Load())
	}
}

// TestInconclusiveStepsFailed shows requests whose steps failed counted as
// failures by kind: mostly failed steps make the run inconclusive.
func TestInconclusiveStepsFailed(t *testing.T) {
	s := &Samples{Probe: Probe{Target: &Target{}}}
	s.sigs[chStatus] = []string{"401", "error: step 1: answered 503"}
	for i := range 40 {
		o := Observation{Class: Class(i % 2)}
		if i%4 != 0 {
			o.sig[chStatus], o.Err = 1, true
		}
		s.Obs = append(s.Obs, o)
	}
	if why := s.inconclusive(); !strings.Contains(why, "30 of 40 answers were failures (30 step failed)") {
		t.Errorf("inconclusive() = %q, want the failed steps counted", why)
	}
}
