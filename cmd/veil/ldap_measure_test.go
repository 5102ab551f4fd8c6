package main

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/veil-id/veil/ldap/ldaptest"
)

// signInClass is one kind of sign-in attempt an attacker can tell apart
// only if veil leaks.
type signInClass struct {
	name, identifier, password string
}

// ldapClasses prepares the people under base so that each class takes its
// path on every attempt: alice never locks (every wrong password is a real
// bind and a failure the directory records), lena is one failure from her
// lockout (the guard binds as the decoy instead).
func ldapClasses(tb testing.TB, srv *ldaptest.Server, base string) []signInClass {
	tb.Helper()
	srv.SetPolicy(tb, "uid=alice,"+base, ldaptest.NoLockoutPolicyDN)
	srv.FailBinds(tb, "uid=lena,"+base, ldaptest.MaxFailure-1)
	return []signInClass{
		{"existing, wrong password (real bind)", "alice@example.com", ldapWrongPassword},
		{"existing, spared by the lockout guard (decoy bind)", "lena@example.com", ldapWrongPassword},
		{"unknown (decoy bind)", "nobody@example.com", ldapWrongPassword},
		{"several entries (decoy bind)", "twin@example.com", ldaptest.Password},
		{"locked by an operator (real bind)", "dora@example.com", ldaptest.Password},
		{"existing, right password (real bind, session)", "carol@example.com", ldaptest.Password},
	}
}

// operationsOf returns the binds and searches the directory completed while
// fn ran, less those of reading its monitor.
func operationsOf(tb testing.TB, srv *ldaptest.Server, fn func()) (binds, searches int64) {
	tb.Helper()
	a, b := srv.Operations(tb), srv.Operations(tb)
	perRead := map[string]int64{"Bind": b["Bind"] - a["Bind"], "Search": b["Search"] - a["Search"]}
	fn()
	// slapd counts an operation once it has finished with it, which may be
	// just after the client got its answer: read until two readings differ
	// by one monitor read only (a bounded number of times), and take away
	// the reads made since b.
	last, reads := srv.Operations(tb), int64(1)
	for range 20 {
		next := srv.Operations(tb)
		if next["Bind"]-last["Bind"] == perRead["Bind"] && next["Search"]-last["Search"] == perRead["Search"] {
			break
		}
		last, reads = next, reads+1
	}
	binds = last["Bind"] - b["Bind"] - reads*perRead["Bind"]
	searches = last["Search"] - b["Search"] - reads*perRead["Search"]
	return binds, searches
}

// TestLDAPOperationsPerSignIn counts, on the directory's side, what each
// kind of sign-in costs: exactly one search and one bind, whatever the
// entry's state.
func TestLDAPOperationsPerSignIn(t *testing.T) {
	// A shared directory's monitor would count other tests' operations.
	srv := ldaptest.StartPrivate(t)
	base := srv.NewPeople(t)
	classes := ldapClasses(t, srv, base)
	v := MustRunMain(t, ldapEnv(srv, base, nil), t.TempDir())
	for range 3 { // open the pooled connections first: dials are not per attempt
		v.loginJSON(t, "warmup@example.com", ldapWrongPassword)
	}
	const n = 10
	for _, c := range classes {
		binds, searches := operationsOf(t, srv, func() {
			for range n {
				v.loginJSON(t, c.identifier, c.password)
			}
		})
		t.Logf("%s: %d sign-ins, %d binds, %d searches", c.name, n, binds, searches)
		if binds != n || searches != n {
			t.Errorf("%s: %d sign-ins cost %d binds and %d searches, want %d of each", c.name, n, binds, searches, n)
		}
	}
}

// TestLDAPLatencyReport measures sign-in latency on a directory, per class,
// with the time floor off and on, for the closing note. It runs only when
// VEIL_LDAP_REPORT is set (to the number of attempts per class, default
// 300): it is a measurement, not a check.
func TestLDAPLatencyReport(t *testing.T) {
	raw := os.Getenv("VEIL_LDAP_REPORT")
	if raw == "" {
		t.Skip("skipping: set VEIL_LDAP_REPORT=N to measure N sign-ins per class")
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 {
		n = 300
	}
	srv := ldaptest.Start(t)
	for _, floor := range []string{"off", "auto"} {
		base := srv.NewPeople(t)
		classes := ldapClasses(t, srv, base)[:3]
		// The real argon2id policy: "auto" calibrates the floor from it.
		env := ldapEnv(srv, base, map[string]string{"VEIL_LOGIN_FLOOR": floor,
			"VEIL_PASSWORD_MEMORY_KIB": "19456", "VEIL_PASSWORD_ITERATIONS": "2"})
		v := MustRunMain(t, env, t.TempDir())
		for range 20 {
			v.loginJSON(t, "warmup@example.com", ldapWrongPassword)
		}
		took := make([][]time.Duration, len(classes))
		for i := range n * len(classes) { // interleaved, so drift hits every class alike
			c := i % len(classes)
			start := time.Now()
			v.loginJSON(t, classes[c].identifier, classes[c].password)
			took[c] = append(took[c], time.Since(start))
		}
		r := func(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }
		for i, c := range classes {
			slices.Sort(took[i])
			t.Logf("floor %-4s %-52s n=%d median %v p90 %v p99 %v max %v", floor, c.name, n,
				r(took[i][n/2]), r(took[i][n*9/10]), r(took[i][n*99/100]), r(took[i][n-1]))
		}
		_, metrics := httpDo(t, "GET", v.adminURL+"/metrics", "", "", "")
		for _, line := range strings.Split(metrics, "\n") {
			if strings.HasPrefix(line, "veil_time_floor") {
				t.Logf("floor %-4s %s", floor, line)
			}
		}
		v.stop()
	}
}

// TestLDAPSelfAudit runs veil probe against veil on a directory, on sign-in
// (with an entry under a policy that never locks, so that every attempt
// for it is a real bind), sign-up and recovery, and fails on any leak. N
// per class is VEIL_LDAP_PROBE_N, or 150, sized for CI.
func TestLDAPSelfAudit(t *testing.T) {
	if testing.Short() {
		t.Skip("the self-audit takes tens of seconds; skipped with -short")
	}
	n := 150
	if v, err := strconv.Atoi(os.Getenv("VEIL_LDAP_PROBE_N")); err == nil && v > 0 {
		n = v
	}
	srv := ldaptest.Start(t)
	base := srv.NewPeople(t)
	srv.SetPolicy(t, "uid=alice,"+base, ldaptest.NoLockoutPolicyDN)
	srv.SetPolicy(t, "uid=carol,"+base, ldaptest.NoLockoutPolicyDN)
	// The auto floor of the real argon2id policy, capped so that an
	// outlier on a busy machine cannot stretch the run.
	env := ldapEnv(srv, base, map[string]string{"VEIL_LOGIN_FLOOR": "auto", "VEIL_LOGIN_FLOOR_MAX": "250ms",
		"VEIL_PASSWORD_MEMORY_KIB": "19456", "VEIL_PASSWORD_ITERATIONS": "2"})
	v := MustRunMain(t, env, t.TempDir())
	// Real entries of every kind: two that never lock (real binds), one
	// the guard soon spares, an operator's lock, an ambiguous address.
	exists := []string{"alice@example.com", "carol@example.com", "lena@example.com", "dora@example.com", "twin@example.com"}
	selfAudit(t, "LDAP", v.url, exists, n, time.Duration(n)*6*300*time.Millisecond+2*time.Minute)
	if got := srv.Attr(t, "uid=lena,"+base, "pwdAccountLockedTime"); len(got) != 0 {
		t.Errorf("the probe locked lena in the directory: %q", got)
	}
}
