package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/veil-id/veil/ldap"
	"github.com/veil-id/veil/ldap/ldaptest"
	"github.com/veil-id/veil/veiltest"
)

const ldapWrongPassword = "Tr0ub4dor&3 is not it"

// ldapEnv is the environment of a veil whose accounts are the people under
// base, with fast hashing, a 20ms floor and a lenient throttle unless extra
// says otherwise ("" unsets a variable).
func ldapEnv(srv *ldaptest.Server, base string, extra map[string]string) func(string) string {
	vars := map[string]string{
		"VEIL_STORE_DRIVER":            "ldap",
		"VEIL_LDAP_URL":                srv.URL,
		"VEIL_LDAP_BIND_DN":            ldaptest.ServiceDN,
		"VEIL_LDAP_BIND_PASSWORD":      ldaptest.ServicePassword,
		"VEIL_LDAP_BASE_DN":            base,
		"VEIL_LDAP_PASSWORD_POLICY_DN": ldaptest.DefaultPolicyDN,
		"VEIL_LDAP_MANAGE_URL":         "https://id.example.com/",
	}
	if srv.CAFile != "" {
		vars["VEIL_LDAP_CA_FILE"] = srv.CAFile
	} else {
		vars["VEIL_LDAP_START_TLS"] = "false" // loopback only; config refuses it elsewhere
	}
	for k, v := range lenientThrottle {
		vars[k] = v
	}
	for k, v := range extra {
		vars[k] = v
	}
	return testEnv(vars)
}

// publicAnswer is everything a client sees of an answer but its timing.
type publicAnswer struct {
	status int
	header http.Header
	body   string
}

func (a publicAnswer) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d\n", a.status)
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range a.header {
			if !yield(k) {
				return
			}
		}
	})
	for _, k := range keys {
		for _, v := range a.header[k] {
			fmt.Fprintf(&b, "%s: %s\n", k, v)
		}
	}
	return b.String() + "\n" + a.body
}

// post sends one request without cookies and reads the whole answer.
func post(tb testing.TB, target, contentType, body string) publicAnswer {
	tb.Helper()
	res, err := http.Post(target, contentType, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	status, h, b := veiltest.ReadAnswer(tb, res)
	return publicAnswer{status, h, b}
}

func loginJSONBody(identifier, password string) string {
	b, _ := json.Marshal(map[string]string{"identifier": identifier, "password": password})
	return string(b)
}

func (v *runningVeil) loginJSON(tb testing.TB, identifier, password string) publicAnswer {
	tb.Helper()
	return post(tb, v.url+"/api/login", "application/json", loginJSONBody(identifier, password))
}

func (v *runningVeil) loginForm(tb testing.TB, identifier, password string) publicAnswer {
	tb.Helper()
	return post(tb, v.url+"/login", "application/x-www-form-urlencoded",
		url.Values{"identifier": {identifier}, "password": {password}}.Encode())
}

// auditReasons returns the reasons of the most recent sign-in events,
// newest first, from the admin listener.
func (v *runningVeil) auditReasons(tb testing.TB, n int) []string {
	tb.Helper()
	var reasons []string
	for _, e := range v.auditEvents(tb, n) {
		if e.Kind == "login" {
			reasons = append(reasons, e.Reason)
		}
	}
	return reasons
}

// TestLDAPLoginFailuresAreIdentical is the pair test on a directory: every
// state an entry can be in answers with the bytes of an unknown identifier,
// on the JSON API and the HTML form, while the audit log has the truth.
func TestLDAPLoginFailuresAreIdentical(t *testing.T) {
	srv := ldaptest.Start(t)
	base := srv.NewPeople(t)
	created := time.Now()
	srv.FailBinds(t, "uid=lena,"+base, ldaptest.MaxFailure) // locked by failures elsewhere
	// zoe has spent what strangers may: the lockout guard spares her.
	srv.FailBinds(t, "uid=zoe,"+base, ldaptest.MaxFailure-ldap.DefaultLockoutReserve)
	v := MustRunMain(t, ldapEnv(srv, base, nil), t.TempDir())
	time.Sleep(time.Until(created.Add(2100 * time.Millisecond))) // ed's password has expired

	states := []struct{ name, identifier, password, reason string }{
		{"unknown identifier", "nobody@example.com", ldapWrongPassword, "unknown_identifier"},
		{"wrong password", "alice@example.com", ldapWrongPassword, "wrong_password"},
		{"wrong password, other spelling", " carol@Example.com ", ldapWrongPassword, "wrong_password"},
		{"spared by the lockout guard, right password", "zoe@bücher.example", ldaptest.Password, "throttled"},
		{"locked by failures, right password", "lena@example.com", ldaptest.Password, "locked"},
		{"locked by failures, wrong password", "lena@example.com", ldapWrongPassword, "locked"},
		{"locked by an operator, right password", "dora@example.com", ldaptest.Password, "locked"},
		{"locked by an operator, wrong password", "dora@example.com", ldapWrongPassword, "locked"},
		{"several entries, right password", "twin@example.com", ldaptest.Password, "ambiguous"},
		{"must change, right password", "mona@example.com", ldaptest.Password, "must_change"},
		{"expired, right password", "ed@example.com", ldaptest.Password, "expired"},
		{"unknown identifier, another's real password", "nobody2@example.com", ldaptest.Password, "unknown_identifier"},
	}
	for _, via := range []struct {
		name  string
		login func(testing.TB, string, string) publicAnswer
	}{{"json", v.loginJSON}, {"form", v.loginForm}} {
		t.Run(via.name, func(t *testing.T) {
			want := via.login(t, states[0].identifier, states[0].password)
			if want.status != http.StatusUnauthorized || len(want.header.Values("Set-Cookie")) != 0 {
				t.Fatalf("unknown identifier: want 401 without cookies, got\n%s", want)
			}
			for _, st := range states[1:] {
				if got := via.login(t, st.identifier, st.password); got.masked(t, st.identifier) != want.masked(t, states[0].identifier) {
					t.Errorf("%s: the answer differs from an unknown identifier's:\n--- got\n%s\n--- want\n%s", st.name, got, want)
				}
			}
			var wantReasons []string
			for _, st := range slices.Backward(states) {
				wantReasons = append(wantReasons, st.reason)
			}
			if got := v.auditReasons(t, len(states)); !slices.Equal(got, wantReasons) {
				t.Errorf("audited reasons, newest first:\n got %q\nwant %q", got, wantReasons)
			}
		})
	}
	if got := srv.Attr(t, "uid=alice,"+base, "pwdAccountLockedTime"); len(got) != 0 {
		t.Errorf("the pair test locked alice: %q", got)
	}
}

// TestLDAPSignIn signs in over a directory and uses the session: the
// account comes from the directory by its entryUUID on every request.
func TestLDAPSignIn(t *testing.T) {
	srv := ldaptest.Start(t)
	base := srv.NewPeople(t)
	dir := t.TempDir()
	env := ldapEnv(srv, base, nil)
	v := MustRunMain(t, env, dir)
	res, body := httpDo(t, "POST", v.url+"/api/login", "application/json", loginJSONBody("Alice@Example.com", ldaptest.Password), "")
	if res.StatusCode != 200 || !strings.Contains(body, `"email":"alice@example.com"`) {
		t.Fatalf("sign-in: %d %s", res.StatusCode, body)
	}
	cookie := strings.Split(res.Header.Get("Set-Cookie"), ";")[0]
	uuid := srv.Attr(t, "uid=alice,"+base, "entryUUID")
	res, _ = httpDo(t, "GET", v.url+"/api/forward-auth", "", "", cookie)
	if res.StatusCode != 200 || len(uuid) != 1 || res.Header.Get("Remote-User") != strings.ToLower(uuid[0]) ||
		res.Header.Get("Remote-Email") != "" || res.Header.Get("Remote-Name") != "Alice Example" {
		t.Fatalf("forward-auth: %d %v; want Remote-User %q", res.StatusCode, res.Header, uuid)
	}
	code, out, errOut := runMain(t, env, "", "user", "list", "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "alice@example.com") || !strings.Contains(out, "zoe@bücher.example") {
		t.Errorf("user list: exit %d\n%s%s", code, out, errOut)
	}
	code, _, errOut = runMain(t, env, "a long enough password\n", "user", "add", "--data-dir", dir, "new@example.com")
	if code == 0 || !strings.Contains(errOut, "managed in the directory") {
		t.Errorf("user add on a directory: exit %d, stderr %q; want a refusal", code, errOut)
	}
	code, out, _ = runMain(t, env, "", "session", "list", "--data-dir", dir, "alice@example.com")
	if code != 0 || strings.Count(out, "\n") != 2 {
		t.Errorf("session list alice: exit %d, want one session:\n%s", code, out)
	}
	res, _ = httpDo(t, "POST", v.url+"/api/logout", "", "", cookie)
	if res, _ := httpDo(t, "GET", v.url+"/api/session", "", "", cookie); res.StatusCode != 401 {
		t.Errorf("after logout the session answers %d, want 401", res.StatusCode)
	}
}

// TestLDAPMailFlowsSayWhereAccountsAreManaged checks that sign-up and
// recovery, which veil cannot do on a directory, answer one refusal that
// points to where accounts are managed, the same for every address.
func TestLDAPMailFlowsSayWhereAccountsAreManaged(t *testing.T) {
	srv := ldaptest.Start(t)
	base := srv.NewPeople(t)
	v := MustRunMain(t, ldapEnv(srv, base, nil), t.TempDir())
	const form = "application/x-www-form-urlencoded"
	for _, flow := range []struct{ path, contentType, body string }{
		{"/api/signup", "application/json", `{"email":%q}`},
		{"/api/recover", "application/json", `{"email":%q}`},
		{"/signup", form, "email=%s"},
		{"/recover", form, "email=%s"},
	} {
		want := post(t, v.url+flow.path, flow.contentType, fmt.Sprintf(flow.body, "nobody@example.com"))
		if want.status != 400 || !strings.Contains(want.body, "https://id.example.com/") {
			t.Errorf("%s: want 400 pointing to the directory's page, got\n%s", flow.path, want)
		}
		for _, email := range []string{"alice@example.com", "dora@example.com", "twin@example.com"} {
			if got := post(t, v.url+flow.path, flow.contentType, fmt.Sprintf(flow.body, email)); got.masked(t, email) != want.masked(t, "nobody@example.com") {
				t.Errorf("%s for %s differs from an unknown address's:\n%s\nwant\n%s", flow.path, email, got, want)
			}
		}
	}
	// The pages say where accounts are managed instead of offering a form
	// the service would refuse.
	for _, page := range []string{"/signup", "/recover"} {
		res, body := httpDo(t, "GET", v.url+page, "", "", "")
		if res.StatusCode != 200 || !strings.Contains(body, "https://id.example.com/") || strings.Contains(body, `<form method="post" action="`+page+`"`) {
			t.Errorf("GET %s: %d, want the page that points to the directory and no form:\n%s", page, res.StatusCode, body)
		}
	}
}

// TestLDAPHammeringNeverLocksTheDirectory sends a stream of wrong passwords
// for one identifier through veil's HTTP stack: every answer is the one
// failure, and the directory never locks the entry.
//
// With veil's default throttle the attacker is challenged and blocked
// early; with a throttle that lets everything through, the lockout guard
// alone stops veil short of the directory's pwdMaxFailure.
func TestLDAPHammeringNeverLocksTheDirectory(t *testing.T) {
	srv := ldaptest.Start(t)
	t.Run("DefaultThrottle", func(t *testing.T) {
		base := srv.NewPeople(t)
		defaults := map[string]string{}
		for k := range lenientThrottle {
			defaults[k] = ""
		}
		v := MustRunMain(t, ldapEnv(srv, base, defaults), t.TempDir())
		statuses := map[int]int{}
		for range 30 {
			statuses[v.loginJSON(t, "alice@example.com", ldapWrongPassword).status]++
		}
		if statuses[http.StatusTooManyRequests] == 0 {
			t.Errorf("statuses %v: the default throttle never held the attacker back", statuses)
		}
		checkNotLocked(t, srv, "uid=alice,"+base)
	})
	t.Run("GuardAlone", func(t *testing.T) { testHammeringGuard(t, srv) })
}

// checkNotLocked fails t if the directory has locked dn, or one more
// failure would.
func checkNotLocked(t *testing.T, srv *ldaptest.Server, dn string) {
	t.Helper()
	if got := srv.Attr(t, dn, "pwdAccountLockedTime"); len(got) != 0 {
		t.Fatalf("the directory locked %s: pwdAccountLockedTime %q", dn, got)
	}
	if got := srv.Attr(t, dn, "pwdFailureTime"); len(got) >= ldaptest.MaxFailure {
		t.Errorf("%d failures recorded on %s, want fewer than pwdMaxFailure (%d)", len(got), dn, ldaptest.MaxFailure)
	}
}

func testHammeringGuard(t *testing.T, srv *ldaptest.Server) {
	base := srv.NewPeople(t)
	v := MustRunMain(t, ldapEnv(srv, base, nil), t.TempDir())
	const workers, attempts = 4, 8
	want := v.loginJSON(t, "nobody@example.com", ldapWrongPassword).String()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range attempts {
				if got := v.loginJSON(t, "alice@example.com", ldapWrongPassword).String(); got != want {
					t.Errorf("a hammered identifier answers differently:\n%s\nwant\n%s", got, want)
				}
			}
		})
	}
	wg.Wait()
	dn := "uid=alice," + base
	checkNotLocked(t, srv, dn)
	counts := map[string]int{}
	for _, r := range v.auditReasons(t, workers*attempts) {
		counts[r]++
	}
	if allowed := ldaptest.MaxFailure - ldap.DefaultLockoutReserve; counts["wrong_password"] != allowed || counts["throttled"] != workers*attempts-allowed {
		t.Errorf("audited reasons %v; want %d wrong passwords and the rest held back", counts, allowed)
	}
}

// TestLDAPTrustedBrowserAfterStrangers is the lockout denial of service
// through the HTTP server: strangers' wrong guesses, released at once up to
// and beyond the lockout guard, answer the one failure and never lock the
// entry, and the person's browser with its device cookie still signs in.
// With veil's default throttle and with one that lets everything through
// (the guard alone).
func TestLDAPTrustedBrowserAfterStrangers(t *testing.T) {
	srv := ldaptest.Start(t)
	defaults := map[string]string{}
	for k := range lenientThrottle {
		defaults[k] = ""
	}
	for _, tt := range []struct {
		name  string
		extra map[string]string
		pair  bool // every failure must be the unknown identifier's bytes (no challenges)
	}{{"GuardAlone", nil, true}, {"DefaultThrottle", defaults, false}} {
		t.Run(tt.name, func(t *testing.T) {
			base := srv.NewPeople(t)
			dn := "uid=alice," + base
			v := MustRunMain(t, ldapEnv(srv, base, tt.extra), t.TempDir())
			first := loginAt(t, v.url, "alice@example.com", ldaptest.Password, "", "")
			device := ""
			for _, c := range first.cookies {
				if !strings.HasPrefix(c, "veil_session=") {
					device = c
				}
			}
			if first.status != 200 || device == "" {
				t.Fatalf("first sign-in: %d, cookies %q; want 200 with a device cookie", first.status, first.cookies)
			}
			unknown := v.loginJSON(t, "nobody@example.com", ldapWrongPassword).String()
			const strangers = 4 * ldaptest.MaxFailure
			var wg sync.WaitGroup
			start := make(chan struct{})
			statuses := make(chan int, strangers)
			for range strangers {
				wg.Go(func() {
					<-start
					got := v.loginJSON(t, "alice@example.com", ldapWrongPassword)
					statuses <- got.status
					if tt.pair && got.String() != unknown {
						t.Errorf("a stranger's guess answers differently from an unknown identifier's:\n%s\nwant\n%s", got, unknown)
					}
				})
			}
			close(start)
			wg.Wait()
			close(statuses)
			for st := range statuses {
				if st != http.StatusUnauthorized && st != http.StatusTooManyRequests {
					t.Errorf("a stranger's guess answered %d", st)
				}
			}
			checkNotLocked(t, srv, dn)
			// The right password without the cookie is still the one
			// failure (the guard spares the entry) or the throttle's 429.
			if got := v.loginJSON(t, "alice@example.com", ldaptest.Password); got.status == 200 {
				t.Errorf("the right password from a stranger's browser signed in after the guard was reached")
			}
			if got := loginAt(t, v.url, "alice@example.com", ldaptest.Password, "", device); got.status != 200 {
				t.Fatalf("the person's browser with its device cookie: %d, want 200", got.status)
			}
			if got := srv.Attr(t, dn, "pwdFailureTime"); len(got) != 0 {
				t.Errorf("failures %q remain after the person's sign-in; the directory resets them", got)
			}
			for range strangers {
				v.loginJSON(t, "alice@example.com", ldapWrongPassword)
			}
			checkNotLocked(t, srv, dn)
		})
	}
}

// TestLDAPLockoutWarning checks that serve warns when veil's per-identifier
// block threshold is not below the directory's pwdMaxFailure.
func TestLDAPLockoutWarning(t *testing.T) {
	srv := ldaptest.Start(t)
	base := srv.NewPeople(t)
	tests := []struct {
		blockAfter string
		want       bool
	}{
		{"", true}, // the default, 10, against 5
		{fmt.Sprint(ldaptest.MaxFailure), true},
		{fmt.Sprint(ldaptest.MaxFailure - 1), false},
	}
	for _, tt := range tests {
		v := MustRunMain(t, ldapEnv(srv, base, map[string]string{"VEIL_THROTTLE_IDENTIFIER_BLOCK_AFTER": tt.blockAfter}), t.TempDir())
		v.stop()
		if got := strings.Contains(v.stdout.String(), "pwdMaxFailure"); got != tt.want {
			t.Errorf("block_after %q: warned %v, want %v:\n%s", tt.blockAfter, got, tt.want, v.stdout.String())
		}
	}
	// A reserve that leaves strangers no bind at all: no new browser could
	// ever sign in.
	for _, reserve := range []int{ldaptest.MaxFailure - 1, ldaptest.MaxFailure} {
		v := MustRunMain(t, ldapEnv(srv, base, map[string]string{
			"VEIL_THROTTLE_IDENTIFIER_BLOCK_AFTER": "2", "VEIL_LDAP_LOCKOUT_RESERVE": fmt.Sprint(reserve),
		}), t.TempDir())
		v.stop()
		want := reserve >= ldaptest.MaxFailure
		if got := strings.Contains(v.stdout.String(), "ldap.lockout_reserve"); got != want {
			t.Errorf("lockout_reserve %d against pwdMaxFailure %d: warned %v, want %v:\n%s", reserve, ldaptest.MaxFailure, got, want, v.stdout.String())
		}
	}
}

// TestLDAPConfig checks the [ldap] section: environment overrides, the
// password kept out of `config print`, and the errors of a bad section.
func TestLDAPConfig(t *testing.T) {
	valid := map[string]string{
		"VEIL_STORE_DRIVER":       "ldap",
		"VEIL_LDAP_URL":           "ldaps://ldap.example.com",
		"VEIL_LDAP_BIND_DN":       "cn=veil,dc=example,dc=com",
		"VEIL_LDAP_BIND_PASSWORD": "s3cret-service-password",
		"VEIL_LDAP_BASE_DN":       "ou=people,dc=example,dc=com",
		"VEIL_LDAP_FILTER":        "(uid={identifier})",
		"VEIL_LDAP_CACHE_TTL":     "5s",
	}
	code, out, errOut := runMain(t, testEnv(valid), "", "config", "print")
	if code != 0 {
		t.Fatalf("config print: exit %d\n%s", code, errOut)
	}
	for _, want := range []string{`driver = "ldap"`, `url = "ldaps://ldap.example.com"`, `filter = "(uid={identifier})"`, `cache_ttl = "5s"`, `bind_password = "(set)"`, `start_tls = true`} {
		if !strings.Contains(out, want) {
			t.Errorf("config print lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "s3cret") {
		t.Errorf("config print shows the bind password:\n%s", out)
	}
	tests := []struct {
		name   string
		change map[string]string
		want   string
	}{
		{"no url", map[string]string{"VEIL_LDAP_URL": ""}, "ldap.url is required"},
		{"http url", map[string]string{"VEIL_LDAP_URL": "http://ldap.example.com"}, "ldap.url must be"},
		{"no base", map[string]string{"VEIL_LDAP_BASE_DN": ""}, "ldap.base_dn"},
		{"two passwords", map[string]string{"VEIL_LDAP_BIND_PASSWORD_FILE": "/etc/veil/pw"}, "one of ldap.bind_password"},
		{"no password", map[string]string{"VEIL_LDAP_BIND_PASSWORD": ""}, "one of ldap.bind_password"},
		{"no placeholder", map[string]string{"VEIL_LDAP_FILTER": "(uid=alice)"}, "{identifier}"},
		{"no pool", map[string]string{"VEIL_LDAP_POOL_SIZE": "-1"}, "pool_size"},
		{"no reserve for the person's browser", map[string]string{"VEIL_LDAP_LOCKOUT_RESERVE": "1"}, "lockout_reserve"},
		{"clear text", map[string]string{"VEIL_LDAP_URL": "ldap://ldap.example.com", "VEIL_LDAP_START_TLS": "false"}, "start_tls"},
	}
	for _, tt := range tests {
		vars := map[string]string{}
		for k, v := range valid {
			vars[k] = v
		}
		for k, v := range tt.change {
			vars[k] = v
		}
		code, _, errOut := runMain(t, testEnv(vars), "", "config", "print")
		if code == 0 || !strings.Contains(errOut, tt.want) {
			t.Errorf("%s: exit %d, stderr %q; want an error mentioning %q", tt.name, code, errOut, tt.want)
		}
	}
}
