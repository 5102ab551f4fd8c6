package main

import (
	"sync"
	"testing"

	"github.com/veil-id/veil/ldap/ldaptest"
)

// TestLDAPBurstBinds releases 60 wrong-password sign-ins at once on one
// directory entry, under the default throttle policy, and counts on the
// directory's side the binds they reached: the throttle reserves each
// attempt before its check, so no more than the policy's 5 checks and one
// slow-lane turn get to the directory (before: 54 of 60).
func TestLDAPBurstBinds(t *testing.T) {
	const n = 60
	srv := ldaptest.StartPrivate(t)
	base := srv.NewPeople(t)
	srv.SetPolicy(t, "uid=alice,"+base, ldaptest.NoLockoutPolicyDN) // every guess is a real bind
	v := MustRunMain(t, ldapEnv(srv, base, map[string]string{
		"VEIL_THROTTLE_IDENTIFIER_CHALLENGE_AFTER": "5",
		"VEIL_THROTTLE_IDENTIFIER_BLOCK_AFTER":     "10",
		"VEIL_THROTTLE_IDENTIFIER_BLOCK_FOR":       "1m",
		"VEIL_THROTTLE_IDENTIFIER_BLOCK_MAX":       "1h",
		"VEIL_THROTTLE_ADDRESS_CHALLENGE_AFTER":    "100",
		"VEIL_THROTTLE_ADDRESS_BLOCK_AFTER":        "0",
	}), t.TempDir())
	for range 3 { // open the pooled connections first: dials are not per attempt
		v.loginJSON(t, "warmup@example.com", ldapWrongPassword)
	}
	statuses := map[int]int{}
	binds, _ := operationsOf(t, srv, func() {
		var mu sync.Mutex
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range n {
			wg.Go(func() {
				<-start
				a := v.loginJSON(t, "alice@example.com", ldapWrongPassword)
				mu.Lock()
				statuses[a.status]++
				mu.Unlock()
			})
		}
		close(start)
		wg.Wait()
	})
	t.Logf("%d concurrent wrong passwords on one entry: %d binds, answers %v", n, binds, statuses)
	if binds > 6 || statuses[401] > 6 {
		t.Errorf("a burst of %d reached %d binds (%d answered 401), want at most 6", n, binds, statuses[401])
	}
}
