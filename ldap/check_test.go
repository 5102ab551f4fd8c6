package ldap_test

import (
	"sync"
	"testing"
	"time"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/ldap"
	"github.com/veil-id/veil/ldap/ldaptest"
)

const wrongPassword = "Tr0ub4dor&3 is not it"

// TestCheckPassword checks the verdict for every state an entry can be in,
// and that each attempt costs exactly one search and one bind.
func TestCheckPassword(t *testing.T) {
	srv := ldaptest.Start(t)
	base := srv.NewPeople(t)
	created := time.Now()
	// lena has failed four times elsewhere: one more would lock her. kim
	// (another subtree's alice) has been locked by failures.
	srv.FailBinds(t, "uid=lena,"+base, ldaptest.MaxFailure-1)
	locked := srv.NewPeople(t)
	srv.FailBinds(t, "uid=alice,"+locked, ldaptest.MaxFailure)
	st := MustOpenStore(t, srv, base)
	stLocked := MustOpenStore(t, srv, locked)
	// ed's password expires a second after it was set, counted in whole
	// seconds of pwdChangedTime: two seconds on, it has.
	time.Sleep(time.Until(created.Add(2100 * time.Millisecond)))

	tests := []struct {
		name        string
		store       *ldap.Store
		identifier  string
		password    string
		wantAccount bool // a real account (not nil, not the ambiguity placeholder)
		wantMatch   bool
		wantReason  string
	}{
		{"right password", st, "alice@example.com", ldaptest.Password, true, true, veil.ReasonNone},
		{"other spelling", st, "CAROL@example.com", ldaptest.Password, true, true, veil.ReasonNone},
		{"idn", st, "zoe@bücher.example", ldaptest.Password, true, true, veil.ReasonNone},
		{"wrong password", st, "alice@example.com", wrongPassword, true, false, veil.ReasonWrongPassword},
		{"unknown", st, "nobody@example.com", ldaptest.Password, false, false, veil.ReasonNone},
		{"several entries", st, "twin@example.com", ldaptest.Password, false, false, veil.ReasonAmbiguous},
		{"operator lock, right password", st, "dora@example.com", ldaptest.Password, true, false, veil.ReasonLocked},
		{"operator lock, wrong password", st, "dora@example.com", wrongPassword, true, false, veil.ReasonLocked},
		{"must change, right password", st, "mona@example.com", ldaptest.Password, true, true, veil.ReasonMustChange},
		{"must change, wrong password", st, "mona@example.com", wrongPassword, true, false, veil.ReasonWrongPassword},
		{"expired, right password", st, "ed@example.com", ldaptest.Password, true, false, veil.ReasonExpired},
		{"expired, wrong password", st, "ed@example.com", wrongPassword, true, false, veil.ReasonWrongPassword},
		{"one failure from lockout, right password", st, "lena@example.com", ldaptest.Password, true, false, veil.ReasonThrottled},
		{"one failure from lockout, wrong password", st, "lena@example.com", wrongPassword, true, false, veil.ReasonThrottled},
		{"locked by failures, right password", stLocked, "alice@example.com", ldaptest.Password, true, false, veil.ReasonLocked},
		{"locked by failures, wrong password", stLocked, "alice@example.com", wrongPassword, true, false, veil.ReasonLocked},
	}
	for _, s := range []*ldap.Store{st, stLocked} {
		// Warm the pools, so that every case below finds its connections.
		if _, err := s.CheckPassword(t.Context(), "nobody@example.com", wrongPassword); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.store.Stats()
			got, err := tt.store.CheckPassword(t.Context(), mustIdentifier(t, tt.identifier), tt.password)
			if err != nil {
				t.Fatalf("CheckPassword(%q): %v", tt.identifier, err)
			}
			hasAccount := got.Account != nil && got.Account.ID != ""
			if hasAccount != tt.wantAccount || got.Match != tt.wantMatch || got.Reason != tt.wantReason || got.Stale {
				t.Errorf("CheckPassword(%q) = account %v, match %v, reason %q, stale %v; want account %v, match %v, reason %q",
					tt.identifier, hasAccount, got.Match, got.Reason, got.Stale, tt.wantAccount, tt.wantMatch, tt.wantReason)
			}
			if got.Match && tt.wantReason == veil.ReasonNone && got.Account.Email != mustIdentifier(t, tt.identifier) {
				t.Errorf("CheckPassword(%q) signed in %q", tt.identifier, got.Account.Email)
			}
			after := tt.store.Stats()
			if d := (ldap.Stats{Searches: after.Searches - before.Searches, Binds: after.Binds - before.Binds, Dials: after.Dials - before.Dials}); d != (ldap.Stats{Searches: 1, Binds: 1}) {
				t.Errorf("CheckPassword(%q) cost %+v, want exactly one search and one bind on pooled connections", tt.identifier, d)
			}
		})
	}
	if got := srv.Attr(t, "uid=lena,"+base, "pwdAccountLockedTime"); len(got) != 0 {
		t.Errorf("lena, one failure from lockout, was locked by veil: pwdAccountLockedTime %q", got)
	}
}

// TestHammeringNeverLocksTheDirectory sends many wrong passwords for one
// identifier at once, as an attacker would, straight at the checker (no
// throttle in front): the directory must never lock the entry, and the
// right password must still work afterwards.
func TestHammeringNeverLocksTheDirectory(t *testing.T) {
	srv := ldaptest.Start(t)
	base := srv.NewPeople(t)
	st := MustOpenStore(t, srv, base)
	const workers, attempts = 8, 6
	reasons := make(chan string, workers*attempts)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range attempts {
				got, err := st.CheckPassword(t.Context(), "alice@example.com", wrongPassword)
				if err != nil {
					t.Errorf("CheckPassword: %v", err)
					return
				}
				if got.Match {
					t.Errorf("a wrong password matched")
				}
				reasons <- got.Reason
			}
		})
	}
	wg.Wait()
	close(reasons)
	count := map[string]int{}
	for r := range reasons {
		count[r]++
	}
	if count[veil.ReasonWrongPassword] != ldaptest.MaxFailure-1 || count[veil.ReasonThrottled] != workers*attempts-(ldaptest.MaxFailure-1) {
		t.Errorf("reasons %v, want %d wrong passwords reaching the directory and the rest held back", count, ldaptest.MaxFailure-1)
	}
	dn := "uid=alice," + base
	if got := srv.Attr(t, dn, "pwdAccountLockedTime"); len(got) != 0 {
		t.Fatalf("the directory locked the entry: pwdAccountLockedTime %q", got)
	}
	if got := srv.Attr(t, dn, "pwdFailureTime"); len(got) >= ldaptest.MaxFailure {
		t.Errorf("the entry has %d recorded failures, want fewer than pwdMaxFailure (%d)", len(got), ldaptest.MaxFailure)
	}
	// The person can still sign in elsewhere, which resets the count, and
	// then through veil.
	srv.Bind(t, dn, ldaptest.Password)
	if got, err := st.CheckPassword(t.Context(), "alice@example.com", ldaptest.Password); err != nil || !got.Match || got.Reason != "" {
		t.Errorf("CheckPassword(right password) after a sign-in elsewhere = %+v, %v; want a match", got, err)
	}
}

// TestLockoutPolicy reads the directory's policy and warns when veil's
// throttle would let attackers reach it.
func TestLockoutPolicy(t *testing.T) {
	srv := ldaptest.Start(t)
	base := srv.NewPeople(t)
	for _, policyDN := range []string{ldaptest.DefaultPolicyDN, ""} {
		st := MustOpenStore(t, srv, base, func(c *ldap.Config) { c.PasswordPolicyDN = policyDN })
		p, ok, err := st.LockoutPolicy()
		if !ok || err != nil || p.MaxFailure != ldaptest.MaxFailure || !p.Lockout {
			t.Errorf("PasswordPolicyDN %q: LockoutPolicy() = %+v, %v, %v; want pwdMaxFailure %d with lockout", policyDN, p, ok, err, ldaptest.MaxFailure)
		}
		if w := ldap.LockoutWarning(ldaptest.MaxFailure, p); w == "" {
			t.Errorf("LockoutWarning(%d, %+v) = \"\", want a warning", ldaptest.MaxFailure, p)
		}
		if w := ldap.LockoutWarning(ldaptest.MaxFailure-1, p); w != "" {
			t.Errorf("LockoutWarning(%d, %+v) = %q, want none", ldaptest.MaxFailure-1, p, w)
		}
	}
}
