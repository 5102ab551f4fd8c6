package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
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
	// degraded says veil serves through the fault (the throttle counting
	// in memory while its Redis is down): sign-in answers as usual, and
	// only the admin /readyz shows the dependency, as degraded.
	degraded bool
}

var faultModes = []faultproxy.Mode{faultproxy.Refuse, faultproxy.Blackhole, faultproxy.Freeze}

// TestFaultsAreBoundedUniformAndHeal puts each dependency (PostgreSQL,
// sessions in Redis, the throttle's Redis failing closed and counting in
// memory, the directory) behind a TCP proxy and fails it each way, with
// sign-ins released together: they answer the one 503 with Retry-After
// within the deadline (the fallback: as usual), byte for byte the same for
// an existing and an unknown account, /readyz says 503 (the fallback: 200,
// degraded on the admin listener), and once the proxy heals sign-in works
// again without a restart. Each fault logs a row of the table in issue 11:
// | dependency | mode | status right/wrong/unknown | median time to answer,
// the same three | existing and unknown identical | public /readyz | time
// to recover |.
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
	// throttleRedis counts sign-ins in a Redis behind the proxy, doing
	// onError (throttle.on_store_error) when it fails.
	throttleRedis := func(onError string) func(*testing.T, func(string) *faultproxy.Proxy) (*runningVeil, string, string) {
		return func(t *testing.T, proxy func(string) *faultproxy.Proxy) (*runningVeil, string, string) {
			redisURL := veiltest.RequireServer(t, "VEIL_TEST_REDIS", "Redis")
			u, _ := url.Parse(redisURL)
			env := testEnv(with(map[string]string{
				"VEIL_THROTTLE_STORE": "redis", "VEIL_THROTTLE_REDIS_URL": proxied(t, redisURL, proxy(u.Host)),
				"VEIL_THROTTLE_REDIS_PREFIX": "veil-test:" + randomHex(6) + ":", "VEIL_THROTTLE_ON_STORE_ERROR": onError,
			}))
			dir := t.TempDir()
			addUser(t, env, dir)
			return MustRunMain(t, env, dir), "alice@example.com", pw
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
		{name: "redis throttle, closed", check: "throttle_redis", pair: true, start: throttleRedis("closed")},
		{name: "redis throttle, memory", check: "throttle_redis", pair: true, degraded: true, start: throttleRedis("memory")},
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
					row := faultRound(t, v, c, existing, password)
					p.Heal()
					recovered := untilSignIn(t, v, existing, password)
					ready := untilReady(t, v.url)
					row.recovered = fmt.Sprintf("sign-in %v, /readyz %v", recovered.Round(time.Millisecond), max(ready, recovered).Round(time.Millisecond))
					row.log(t, c.name, mode)
				})
			}
		})
	}
}

// faultRow is one row of the fault table the tests log: what a sign-in
// got during the fault, and how long veil took to recover once it healed.
type faultRow struct {
	status    string // right password / wrong password / unknown account
	took      string // median time to answer, the same three
	identical bool   // the wrong password and the unknown account, byte for byte
	readyz    int    // the public /readyz during the fault
	recovered string
}

func (r faultRow) log(t *testing.T, dependency string, mode faultproxy.Mode) {
	t.Helper()
	t.Logf("| %s | %v | %s | %s | %s | %d | %s |", dependency, mode, r.status, r.took, yesNo(r.identical), r.readyz, r.recovered)
}

// faultRounds is how many of each sign-in a fault round sends at once.
const faultRounds = 3

// faultRound signs in at v during a fault, faultRounds times each with the
// right password, a wrong one and an unknown account, all at once, and
// checks the answers against what c expects of the fault.
func faultRound(t *testing.T, v *runningVeil, c faultCase, existing, password string) faultRow {
	t.Helper()
	const wrongPw = "wrong password, surely"
	kinds := []struct {
		what, identifier, password string
		want                       int
	}{
		{"right password", existing, password, http.StatusOK},
		{"wrong password", existing, wrongPw, http.StatusUnauthorized},
		{"unknown account", "nobody@example.com", wrongPw, http.StatusUnauthorized},
	}
	answers, took := make([][]publicAnswer, len(kinds)), make([][]time.Duration, len(kinds))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for k, kind := range kinds {
		answers[k], took[k] = make([]publicAnswer, faultRounds), make([]time.Duration, faultRounds)
		for i := range faultRounds {
			wg.Go(func() {
				<-start
				answers[k][i], took[k][i] = sendTimed(newLoginRequest(t, v.url, kind.identifier, kind.password))
			})
		}
	}
	close(start)
	wg.Wait()
	var row faultRow
	var statuses, medians []string
	for k, kind := range kinds {
		for i, a := range answers[k] {
			if took[k][i] > faultAnswerBound {
				t.Errorf("%s: answered after %v, want within %v", kind.what, took[k][i].Round(time.Millisecond), faultAnswerBound)
			}
			switch {
			case c.degraded && a.status != kind.want:
				t.Errorf("%s with %s counting in memory: %d %s, want %d", kind.what, c.name, a.status, a.body, kind.want)
			case !c.degraded && (k == 0 || c.pair):
				checkUnavailable(t, kind.what, a)
			}
		}
		if answers[k][0].status != http.StatusOK && !allSame(answers[k]) {
			t.Errorf("%s: the %d answers at once differ:\n%s\n---\n%s", kind.what, faultRounds, answers[k][0], answers[k][faultRounds-1])
		}
		statuses = append(statuses, strconv.Itoa(answers[k][0].status))
		medians = append(medians, medianDuration(took[k]).Round(time.Millisecond).String())
	}
	row.status, row.took = strings.Join(statuses, "/"), strings.Join(medians, "/")
	wrong, unknown := answers[1][0], answers[2][0]
	row.identical = wrong.String() == unknown.String()
	if !row.identical {
		t.Errorf("existing and unknown accounts answer differently:\n%s\n---\n%s", wrong, unknown)
	}
	if c.pair && !c.degraded && answers[0][0].String() != unknown.String() {
		t.Errorf("the right password and an unknown account answer differently:\n%s\n---\n%s", answers[0][0], unknown)
	}
	if c.pair && !c.degraded {
		// The form answers alike: the page with the one message, or
		// the deadline's 503.
		fw, fu := v.loginForm(t, existing, wrongPw), v.loginForm(t, "nobody@example.com", wrongPw)
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
	row.readyz = checkReadyz(t, v, c)
	return row
}

// checkReadyz wants the public /readyz to say 503 during the fault (200
// while the throttle counts in memory), and the admin one to name the
// dependency as failing (degraded), and returns the public status.
func checkReadyz(t *testing.T, v *runningVeil, c faultCase) int {
	t.Helper()
	wantPublic, wantCheck := http.StatusServiceUnavailable, "failing"
	if c.degraded {
		wantPublic, wantCheck = http.StatusOK, "degraded"
	}
	// A round of checks answers /readyz for a second, so the fault may
	// take that long to show.
	status, body := untilReadyz(t, v.url, wantPublic, 3*time.Second)
	if status != wantPublic {
		t.Errorf("public /readyz during the fault: %d %q, want %d", status, body, wantPublic)
	}
	if status == http.StatusServiceUnavailable && body != "unavailable\n" {
		t.Errorf("public /readyz during the fault: %d %q, want 503 unavailable", status, body)
	}
	want := `"` + c.check + `":{"status":"` + wantCheck + `"`
	deadline := time.Now().Add(3 * time.Second)
	for {
		adminStatus, adminBody := readyz(t, v.adminURL)
		if strings.Contains(adminBody, want) && adminStatus == wantPublic {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("admin /readyz during the fault: %d %s, want %d with %s", adminStatus, adminBody, wantPublic, want)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return status
}

// newLoginRequest is a JSON sign-in.
func newLoginRequest(t *testing.T, base, identifier, password string) *http.Request {
	t.Helper()
	req, err := http.NewRequest("POST", base+"/api/login", strings.NewReader(loginJSONBody(identifier, password)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	return req
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

// untilReady waits for the public /readyz to answer 200 and returns how
// long that took.
func untilReady(t *testing.T, base string) time.Duration {
	t.Helper()
	start := time.Now()
	if status, _ := untilReadyz(t, base, http.StatusOK, 10*time.Second); status != http.StatusOK {
		t.Errorf("/readyz still %d 10s after the dependency healed", status)
	}
	return time.Since(start)
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
