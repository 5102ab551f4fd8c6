package main

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestFullHashingPoolIsNotCounted is issue 11.1 through the whole server
// and its default throttle: nine right-password sign-ins at once against
// a hashing pool of one with no queue, three times over. Those the pool
// turns away answer the one 503 "overloaded" with Retry-After, all alike,
// and are veil's fault, not the person's: none counts as a failed sign-in
// (the identifier's fifth would ask for a proof of work), so the next
// right password gets a session.
func TestFullHashingPoolIsNotCounted(t *testing.T) {
	const pw = "correct horse battery staple"
	vars := map[string]string{
		// Hashes slow enough to overlap; the tests' fast ones would not.
		"VEIL_PASSWORD_MEMORY_KIB": "19456", "VEIL_PASSWORD_ITERATIONS": "2",
		"VEIL_PASSWORD_CONCURRENCY": "1", "VEIL_PASSWORD_QUEUE": "-1",
	}
	env, dir := testEnv(vars), t.TempDir()
	if code, out, errOut := runMain(t, env, pw+"\n", "user", "add", "--data-dir", dir, "alice@example.com"); code != 0 {
		t.Fatalf("user add: exit %d\n%s%s", code, out, errOut)
	}
	v := MustRunMain(t, env, dir)
	login := func() *http.Request {
		return newRequest(t, "POST", v.url+"/api/login", "application/json", loginJSONBody("alice@example.com", pw))
	}
	var overloaded []publicAnswer
	var tookOverloaded []time.Duration
	signedIn := 0
	for range 3 {
		answers, took := burstRequests(t, 9, 1, login, nil)
		for i, a := range answers {
			switch {
			case a.status == http.StatusOK:
				signedIn++
			case a.status == http.StatusServiceUnavailable && strings.Contains(a.body, `"error":"overloaded"`):
				overloaded = append(overloaded, a)
				tookOverloaded = append(tookOverloaded, took[i])
			default:
				t.Errorf("a right-password sign-in against a full pool: %d %s, want 200 or the 503 overloaded", a.status, a.body)
			}
		}
	}
	if len(overloaded) == 0 {
		t.Fatal("no sign-in found the pool full; the test proves nothing")
	}
	if !allSame(overloaded) {
		t.Errorf("the overloaded answers differ:\n%s\n---\n%s", overloaded[0], overloaded[len(overloaded)-1])
	}
	if overloaded[0].header.Get("Retry-After") == "" {
		t.Errorf("the overloaded 503 has no Retry-After:\n%s", overloaded[0])
	}
	next, took := sendTimed(login())
	if next.status != http.StatusOK {
		t.Errorf("after %d overloaded sign-ins, the right password: %d %s, want a session", len(overloaded), next.status, next.body)
	}
	t.Logf("| hashing pool full (1, no queue) | 3 x 9 right passwords at once | %d signed in, %d answered 503 overloaded in %v (median), identical %s | the next right password: %d in %v |",
		signedIn, len(overloaded), medianDuration(tookOverloaded).Round(time.Millisecond), yesNo(allSame(overloaded)), next.status, took.Round(time.Millisecond))
}
