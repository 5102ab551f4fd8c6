package main

import (
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/veil-id/veil/ldap/ldaptest"
	"github.com/veil-id/veil/postgres/postgrestest"
	"github.com/veil-id/veil/veiltest"
	"github.com/veil-id/veil/veiltest/faultproxy"
)

// faultRequestTimeout is server.request_timeout in the fault tests: short,
// so that a blackhole costs the test little, and still above the 20ms
// floor by the margin validateRequestTimeout asks.
const faultRequestTimeout = 2 * time.Second

// faultAnswerBound is the longest any answer may take during a fault: the
// deadline, and a second for scheduling on a loaded machine.
const faultAnswerBound = faultRequestTimeout + time.Second

// faultClient gives up well after the bound, so that a veil which hangs
// (as it did before requests had deadlines) fails the test instead of
// hanging it.
var faultClient = &http.Client{Timeout: faultAnswerBound + 5*time.Second}

// timedLogin signs in at v and returns the answer and how long it took.
func timedLogin(tb testing.TB, v *runningVeil, identifier, password string) (publicAnswer, time.Duration) {
	tb.Helper()
	start := time.Now()
	res, err := faultClient.Post(v.url+"/api/login", "application/json", strings.NewReader(loginJSONBody(identifier, password)))
	if err != nil {
		tb.Fatalf("sign-in as %s: %v (after %v)", identifier, err, time.Since(start).Round(time.Millisecond))
	}
	status, h, b := veiltest.ReadAnswer(tb, res)
	return publicAnswer{status, h, b}, time.Since(start)
}

// readyz returns the status of GET /readyz at base.
func readyz(tb testing.TB, base string) (int, string) {
	tb.Helper()
	res, err := faultClient.Get(base + "/readyz")
	if err != nil {
		tb.Fatalf("GET %s/readyz: %v", base, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// untilSignIn signs in as identifier until it succeeds and returns how long
// that took, failing after 20s.
func untilSignIn(tb testing.TB, v *runningVeil, identifier, password string) time.Duration {
	tb.Helper()
	start := time.Now()
	for {
		a, _ := timedLogin(tb, v, identifier, password)
		if a.status == http.StatusOK {
			return time.Since(start)
		}
		if time.Since(start) > 20*time.Second {
			tb.Fatalf("sign-in still fails 20s after the dependency healed:\n%s", a)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// proxied returns rawURL with its host:port replaced by the proxy's.
func proxied(tb testing.TB, rawURL string, p *faultproxy.Proxy) string {
	tb.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		tb.Fatal(err)
	}
	u.Host = p.Addr()
	return u.String()
}

// faultCase is one dependency behind a fault proxy.
type faultCase struct {
	name string
	// start returns a veil whose dependency goes through p, with the
	// account (existing, password) on it.
	start func(t *testing.T, p func(upstream string) *faultproxy.Proxy) (v *runningVeil, existing, password string)
	// check names the dependency on the admin listener's /readyz.
	check string
	// pair says whether every sign-in reaches the dependency, so that
	// existing and unknown identifiers alike get the 503. Sessions in
	// Redis are reached only by a right password: the others must still
	// answer the one failure, identical.
	pair bool
}

var faultModes = []faultproxy.Mode{faultproxy.Refuse, faultproxy.Blackhole, faultproxy.Freeze}

// TestFaultsAreBoundedUniformAndHeal puts each dependency (PostgreSQL,
// sessions in Redis, the throttle's Redis failing closed, the directory)
// behind a TCP proxy and fails it each way: sign-in answers the one 503
// with Retry-After within the deadline, byte for byte the same for an
// existing and an unknown account, /readyz says 503, and once the proxy
// heals sign-in works again without a restart.
func TestFaultsAreBoundedUniformAndHeal(t *testing.T) {
	const pw = "correct horse battery staple"
	base := map[string]string{"VEIL_SERVER_REQUEST_TIMEOUT": faultRequestTimeout.String()}
	for k, v := range lenientThrottle {
		base[k] = v
	}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	addUser := func(t *testing.T, env func(string) string, dir string) {
		t.Helper()
		if code, out, errOut := runMain(t, env, pw+"\n", "user", "add", "--data-dir", dir, "alice@example.com"); code != 0 {
			t.Fatalf("user add: exit %d\n%s%s", code, out, errOut)
		}
	}
	cases := []faultCase{
		{name: "postgres", check: "store", pair: true, start: func(t *testing.T, proxy func(string) *faultproxy.Proxy) (*runningVeil, string, string) {
			dsn := postgrestest.MustCreate(t).DSN
			u, _ := url.Parse(dsn)
			env := testEnv(with(map[string]string{"VEIL_STORE_DRIVER": "postgres", "VEIL_STORE_DSN": proxied(t, dsn, proxy(u.Host))}))
			dir := t.TempDir()
			addUser(t, env, dir)
			return MustRunMain(t, env, dir), "alice@example.com", pw
		}},
		{name: "redis sessions", check: "session_redis", pair: false, start: func(t *testing.T, proxy func(string) *faultproxy.Proxy) (*runningVeil, string, string) {
			vars, _ := mustSessionRedis(t)
			u, _ := url.Parse(vars["VEIL_SESSION_REDIS_URL"])
			vars["VEIL_SESSION_REDIS_URL"] = proxied(t, vars["VEIL_SESSION_REDIS_URL"], proxy(u.Host))
			env, dir := testEnv(with(vars)), t.TempDir()
			addUser(t, env, dir)
			return MustRunMain(t, env, dir), "alice@example.com", pw
		}},
		{name: "redis throttle, closed", check: "throttle_redis", pair: true, start: func(t *testing.T, proxy func(string) *faultproxy.Proxy) (*runningVeil, string, string) {
			redisURL := veiltest.RequireServer(t, "VEIL_TEST_REDIS", "Redis")
			u, _ := url.Parse(redisURL)
			env := testEnv(with(map[string]string{
				"VEIL_THROTTLE_STORE": "redis", "VEIL_THROTTLE_REDIS_URL": proxied(t, redisURL, proxy(u.Host)),
				"VEIL_THROTTLE_REDIS_PREFIX": "veil-test:" + randomHex(6) + ":", "VEIL_THROTTLE_ON_STORE_ERROR": "closed",
			}))
			dir := t.TempDir()
			addUser(t, env, dir)
			return MustRunMain(t, env, dir), "alice@example.com", pw
		}},
		{name: "directory", check: "directory", pair: true, start: func(t *testing.T, proxy func(string) *faultproxy.Proxy) (*runningVeil, string, string) {
			srv := ldaptest.Start(t)
			people := srv.NewPeople(t)
			u, _ := url.Parse(srv.URL)
			behind := *srv
			behind.URL = proxied(t, srv.URL, proxy(u.Host))
			return MustRunMain(t, ldapEnv(&behind, people, with(nil)), t.TempDir()), "alice@example.com", ldaptest.Password
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var p *faultproxy.Proxy
			v, existing, password := c.start(t, func(upstream string) *faultproxy.Proxy {
				p = faultproxy.Start(t, upstream)
				return p
			})
			if got := untilSignIn(t, v, existing, password); got > time.Second {
				t.Logf("the first sign-in took %v", got)
			}
			for _, mode := range faultModes {
				t.Run(mode.String(), func(t *testing.T) {
					p.Set(mode)
					right, tRight := timedLogin(t, v, existing, password)
					wrong, tWrong := timedLogin(t, v, existing, "wrong password, surely")
					unknown, tUnknown := timedLogin(t, v, "nobody@example.com", "wrong password, surely")
					for _, a := range []struct {
						what string
						a    publicAnswer
						took time.Duration
					}{{"right password", right, tRight}, {"wrong password", wrong, tWrong}, {"unknown account", unknown, tUnknown}} {
						if a.took > faultAnswerBound {
							t.Errorf("%s: answered after %v, want within %v", a.what, a.took.Round(time.Millisecond), faultAnswerBound)
						}
						if a.what == "right password" || c.pair {
							checkUnavailable(t, a.what, a.a)
						}
					}
					if wrong.String() != unknown.String() {
						t.Errorf("existing and unknown accounts answer differently:\n%s\n---\n%s", wrong, unknown)
					}
					if c.pair && right.String() != unknown.String() {
						t.Errorf("the right password and an unknown account answer differently:\n%s\n---\n%s", right, unknown)
					}
					if c.pair {
						// The form answers alike: the page with the one
						// message, or the deadline's 503.
						fw, fu := v.loginForm(t, existing, "wrong password, surely"), v.loginForm(t, "nobody@example.com", "wrong password, surely")
						if fw.status != http.StatusServiceUnavailable || fw.String() != fu.String() {
							t.Errorf("form sign-in: existing and unknown answer %d and %d, want the same 503:\n%s\n---\n%s", fw.status, fu.status, fw, fu)
						}
					}
					if c.check == "store" {
						su := post(t, v.url+"/api/signup", "application/json", `{"email":"new@example.com"}`)
						if su.status != http.StatusServiceUnavailable || !strings.Contains(su.body, `"error":"unavailable"`) {
							t.Errorf("sign-up with the store down: %d %s, want 503 unavailable", su.status, su.body)
						}
					}
					// A round of checks answers /readyz for a second, so
					// the fault may take that long to show.
					if status, body := untilReadyz(t, v.url, http.StatusServiceUnavailable, 3*time.Second); body != "unavailable\n" {
						t.Errorf("public /readyz during %v: %d %q, want 503 unavailable", mode, status, body)
					}
					if status, body := readyz(t, v.adminURL); status != http.StatusServiceUnavailable || !strings.Contains(body, `"`+c.check+`":{"status":"failing"`) {
						t.Errorf("admin /readyz during %v: %d %s, want 503 with %s failing", mode, status, body, c.check)
					}
					p.Heal()
					recovered := untilSignIn(t, v, existing, password)
					t.Logf("%s %v: right %d in %v, wrong %d in %v, unknown %d in %v, identical %v; recovered %v after heal",
						c.name, mode, right.status, tRight.Round(time.Millisecond), wrong.status, tWrong.Round(time.Millisecond),
						unknown.status, tUnknown.Round(time.Millisecond), wrong.String() == unknown.String(), recovered.Round(time.Millisecond))
					untilReady(t, v.url)
				})
			}
		})
	}
}

// checkUnavailable checks that a is the one 503 of an outage.
func checkUnavailable(t *testing.T, what string, a publicAnswer) {
	t.Helper()
	if a.status != http.StatusServiceUnavailable || !strings.Contains(a.body, `"error":"unavailable"`) {
		t.Errorf("%s: %d %s, want 503 unavailable", what, a.status, a.body)
	}
	if n, err := strconv.Atoi(a.header.Get("Retry-After")); err != nil || n < 1 {
		t.Errorf("%s: Retry-After %q, want a number of seconds", what, a.header.Get("Retry-After"))
	}
	if len(a.header.Values("Set-Cookie")) > 0 {
		t.Errorf("%s: the 503 sets cookies %q", what, a.header.Values("Set-Cookie"))
	}
}

// untilReady waits for the public /readyz to answer 200.
func untilReady(t *testing.T, base string) {
	t.Helper()
	if status, _ := untilReadyz(t, base, http.StatusOK, 10*time.Second); status != http.StatusOK {
		t.Errorf("/readyz still %d 10s after the dependency healed", status)
	}
}

// untilReadyz asks the public /readyz until it answers want, at most for
// d, and returns the last answer.
func untilReadyz(t *testing.T, base string, want int, d time.Duration) (int, string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		status, body := readyz(t, base)
		if status == want || time.Now().After(deadline) {
			return status, body
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestThrottleFallbackCountsStoreFailures fails the throttle's Redis while
// veil counts in memory instead (on_store_error = "memory"): sign-in goes
// on, the admin /readyz says the throttle is degraded but veil ready, and
// veil_throttle_store_failures_total counts the failures the fallback
// absorbed (it stayed 0 before).
func TestThrottleFallbackCountsStoreFailures(t *testing.T) {
	const pw = "correct horse battery staple"
	redisURL := veiltest.RequireServer(t, "VEIL_TEST_REDIS", "Redis")
	u, _ := url.Parse(redisURL)
	p := faultproxy.Start(t, u.Host)
	vars := map[string]string{
		"VEIL_THROTTLE_STORE": "redis", "VEIL_THROTTLE_REDIS_URL": proxied(t, redisURL, p),
		"VEIL_THROTTLE_REDIS_PREFIX": "veil-test:" + randomHex(6) + ":", "VEIL_THROTTLE_ON_STORE_ERROR": "memory",
	}
	for k, v := range lenientThrottle {
		vars[k] = v
	}
	env, dir := testEnv(vars), t.TempDir()
	if code, out, errOut := runMain(t, env, pw+"\n", "user", "add", "--data-dir", dir, "alice@example.com"); code != 0 {
		t.Fatalf("user add: exit %d\n%s%s", code, out, errOut)
	}
	v := MustRunMain(t, env, dir)
	if got := storeFailures(t, v); got != 0 {
		t.Fatalf("veil_throttle_store_failures_total = %v before any fault, want 0", got)
	}
	p.Set(faultproxy.Refuse)
	if a, took := timedLogin(t, v, "alice@example.com", pw); a.status != http.StatusOK {
		t.Errorf("sign-in while the throttle counts in memory: %d in %v, want 200", a.status, took)
	}
	if got := storeFailures(t, v); got < 1 {
		t.Errorf("veil_throttle_store_failures_total = %v after Redis failed, want at least 1", got)
	}
	status, body := readyz(t, v.adminURL)
	if status != http.StatusOK || !strings.Contains(body, `"throttle_redis":{"status":"degraded"`) {
		t.Errorf("admin /readyz with the throttle counting in memory: %d %s, want 200 with throttle_redis degraded", status, body)
	}
}

// storeFailures reads veil_throttle_store_failures_total from the admin
// listener.
func storeFailures(tb testing.TB, v *runningVeil) float64 {
	tb.Helper()
	res, body := httpDo(tb, "GET", v.adminURL+"/metrics", "", "", "")
	if res.StatusCode != http.StatusOK {
		tb.Fatalf("admin /metrics: %d", res.StatusCode)
	}
	for _, line := range strings.Split(body, "\n") {
		if rest, ok := strings.CutPrefix(line, "veil_throttle_store_failures_total "); ok {
			n, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err != nil {
				tb.Fatalf("admin /metrics: %q", line)
			}
			return n
		}
	}
	tb.Fatalf("admin /metrics has no veil_throttle_store_failures_total")
	return 0
}

// TestRequestTimeoutConfig: the deadline must leave the floor and the
// audit write their time, and end before the listener stops writing.
func TestRequestTimeoutConfig(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string // in the error; "" for none
	}{
		{"default", nil, ""},
		{"below the floor's maximum", map[string]string{"VEIL_SERVER_REQUEST_TIMEOUT": "2s"}, "server.request_timeout"},
		{"below a fixed floor", map[string]string{"VEIL_LOGIN_FLOOR": "1s", "VEIL_SERVER_REQUEST_TIMEOUT": "2s"}, "server.request_timeout"},
		{"above a fixed floor", map[string]string{"VEIL_LOGIN_FLOOR": "20ms", "VEIL_SERVER_REQUEST_TIMEOUT": "2s"}, ""},
		{"past the write timeout", map[string]string{"VEIL_SERVER_REQUEST_TIMEOUT": "40s"}, "server.write_timeout"},
	}
	for _, tt := range tests {
		env := func(k string) string { return tt.env[k] }
		code, out, errOut := runMain(t, env, "", "config", "print")
		switch {
		case tt.want == "" && code != 0:
			t.Errorf("%s: exit %d, %s", tt.name, code, errOut)
		case tt.want == "" && !strings.Contains(out, "request_timeout = "):
			t.Errorf("%s: config print lacks request_timeout:\n%s", tt.name, out)
		case tt.want != "" && (code == 0 || !strings.Contains(errOut, tt.want)):
			t.Errorf("%s: exit %d, stderr %q; want an error mentioning %q", tt.name, code, errOut, tt.want)
		}
	}
}
