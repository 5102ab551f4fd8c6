package ldap_test

import (
	"sync"
	"testing"
	"time"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/ldap"
	"github.com/veil-id/veil/ldap/ldaptest"
	"github.com/veil-id/veil/veiltest"
)

const wrongPassword = "Tr0ub4dor&3 is not it"

// attempt is a stranger's attempt: no trusted device cookie.
func attempt(tb testing.TB, identifier, password string) veil.PasswordAttempt {
	tb.Helper()
	return veil.PasswordAttempt{Identifier: mustIdentifier(tb, identifier), Password: password}
}

// trusted is an attempt from the person's own browser.
func trusted(tb testing.TB, identifier, password string) veil.PasswordAttempt {
	tb.Helper()
	a := attempt(tb, identifier, password)
	a.Trusted = true
	return a
}

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
		trusted     bool
		wantAccount bool
		wantMatch   bool
		wantReason  string
	}{
		{"right password", st, "alice@example.com", ldaptest.Password, false, true, true, veil.ReasonNone},
		{"other spelling", st, "CAROL@example.com", ldaptest.Password, false, true, true, veil.ReasonNone},
		{"idn", st, "zoe@bücher.example", ldaptest.Password, false, true, true, veil.ReasonNone},
		{"wrong password", st, "alice@example.com", wrongPassword, false, true, false, veil.ReasonWrongPassword},
		{"unknown", st, "nobody@example.com", ldaptest.Password, false, false, false, veil.ReasonNone},
		{"several entries", st, "twin@example.com", ldaptest.Password, false, false, false, veil.ReasonAmbiguous},
		{"operator lock, right password", st, "dora@example.com", ldaptest.Password, false, true, false, veil.ReasonLocked},
		{"operator lock, wrong password", st, "dora@example.com", wrongPassword, false, true, false, veil.ReasonLocked},
		{"must change, right password", st, "mona@example.com", ldaptest.Password, false, true, true, veil.ReasonMustChange},
		{"must change, wrong password", st, "mona@example.com", wrongPassword, false, true, false, veil.ReasonWrongPassword},
		{"expired, right password", st, "ed@example.com", ldaptest.Password, false, true, false, veil.ReasonExpired},
		{"expired, wrong password", st, "ed@example.com", wrongPassword, false, true, false, veil.ReasonWrongPassword},
		{"one failure from lockout, right password", st, "lena@example.com", ldaptest.Password, false, true, false, veil.ReasonThrottled},
		{"one failure from lockout, wrong password", st, "lena@example.com", wrongPassword, false, true, false, veil.ReasonThrottled},
		{"one failure from lockout, trusted, right password", st, "lena@example.com", ldaptest.Password, true, true, false, veil.ReasonThrottled},
		{"one failure from lockout, trusted, wrong password", st, "lena@example.com", wrongPassword, true, true, false, veil.ReasonThrottled},
		{"trusted, right password", st, "alice@example.com", ldaptest.Password, true, true, true, veil.ReasonNone},
		{"trusted, unknown", st, "nobody@example.com", ldaptest.Password, true, false, false, veil.ReasonNone},
		{"locked by failures, right password", stLocked, "alice@example.com", ldaptest.Password, false, true, false, veil.ReasonLocked},
		{"locked by failures, wrong password", stLocked, "alice@example.com", wrongPassword, false, true, false, veil.ReasonLocked},
	}
	for _, s := range []*ldap.Store{st, stLocked} {
		// Warm the pools, so that every case below finds its connections.
		if _, err := s.CheckPassword(t.Context(), attempt(t, "nobody@example.com", wrongPassword)); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.store.Stats()
			a := attempt(t, tt.identifier, tt.password)
			a.Trusted = tt.trusted
			got, err := tt.store.CheckPassword(t.Context(), a)
			if err != nil {
				t.Fatalf("CheckPassword(%q): %v", tt.identifier, err)
			}
			hasAccount := got.Account != nil
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
				got, err := st.CheckPassword(t.Context(), attempt(t, "alice@example.com", wrongPassword))
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
	if allowed := ldaptest.MaxFailure - ldap.DefaultLockoutReserve; count[veil.ReasonWrongPassword] != allowed || count[veil.ReasonThrottled] != workers*attempts-allowed {
		t.Errorf("reasons %v, want %d wrong passwords reaching the directory and the rest held back", count, allowed)
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
	if got, err := st.CheckPassword(t.Context(), attempt(t, "alice@example.com", ldaptest.Password)); err != nil || !got.Match || got.Reason != "" {
		t.Errorf("CheckPassword(right password) after a sign-in elsewhere = %+v, %v; want a match", got, err)
	}
}

// TestTrustedDeviceGetsItsAttempt is the lockout denial of service: a
// stranger's wrong guesses, sent at once up to and beyond the lockout
// guard, must leave the person's own browser (a trusted attempt) able to
// sign in, and nobody may push the entry into the directory's lockout.
func TestTrustedDeviceGetsItsAttempt(t *testing.T) {
	srv := ldaptest.Start(t)
	allowed := ldaptest.MaxFailure - ldap.DefaultLockoutReserve // failures strangers may spend

	// hammer sends n wrong guesses for alice at once, as strangers, and
	// returns the reasons; every one costs one search and one bind.
	hammer := func(t *testing.T, st *ldap.Store, n int) map[string]int {
		t.Helper()
		before := st.Stats()
		reasons := make(chan string, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range n {
			wg.Go(func() {
				<-start
				got, err := st.CheckPassword(t.Context(), attempt(t, "alice@example.com", wrongPassword))
				if err != nil || got.Match {
					t.Errorf("a stranger's wrong guess: %+v, %v; want no match", got, err)
					return
				}
				reasons <- got.Reason
			})
		}
		close(start)
		wg.Wait()
		close(reasons)
		count := map[string]int{}
		for r := range reasons {
			count[r]++
		}
		after := st.Stats()
		if searches, binds := after.Searches-before.Searches, after.Binds-before.Binds; searches != int64(n) || binds != int64(n) {
			t.Errorf("%d guesses cost %d searches and %d binds, want one of each per guess, spared or not", n, searches, binds)
		}
		return count
	}
	check := func(t *testing.T, st *ldap.Store, a veil.PasswordAttempt, wantMatch bool, wantReason string) {
		t.Helper()
		got, err := st.CheckPassword(t.Context(), a)
		if err != nil || got.Match != wantMatch || got.Reason != wantReason {
			t.Errorf("CheckPassword(trusted %v) = %+v, %v; want match %v, reason %q", a.Trusted, got, err, wantMatch, wantReason)
		}
	}

	t.Run("RightPassword", func(t *testing.T) {
		base := srv.NewPeople(t)
		st := MustOpenStore(t, srv, base)
		dn := "uid=alice," + base
		const guesses = 3 * ldaptest.MaxFailure
		if got := hammer(t, st, guesses); got[veil.ReasonWrongPassword] != allowed || got[veil.ReasonThrottled] != guesses-allowed {
			t.Errorf("strangers' reasons %v; want %d wrong passwords reaching the directory, the rest spared", got, allowed)
		}
		if got := len(srv.Attr(t, dn, "pwdFailureTime")); got != allowed {
			t.Errorf("%d failures recorded after the strangers, want %d", got, allowed)
		}
		// A stranger, or the person in a new browser, is spared even with
		// the right password: the remaining failures are her browser's.
		check(t, st, attempt(t, "alice@example.com", ldaptest.Password), false, veil.ReasonThrottled)
		check(t, st, trusted(t, "alice@example.com", ldaptest.Password), true, veil.ReasonNone)
		if got := srv.Attr(t, dn, "pwdFailureTime"); len(got) != 0 {
			t.Errorf("the trusted sign-in left failures %q; the directory resets them on a successful bind", got)
		}
		checkEntryNotLocked(t, srv, dn)
		// With the count reset, strangers are back to their share.
		if got := hammer(t, st, guesses); got[veil.ReasonWrongPassword] != allowed {
			t.Errorf("strangers' reasons after the reset %v; want %d wrong passwords", got, allowed)
		}
		checkEntryNotLocked(t, srv, dn)
	})

	t.Run("Typos", func(t *testing.T) {
		base := srv.NewPeople(t)
		st := MustOpenStore(t, srv, base)
		dn := "uid=alice," + base
		hammer(t, st, 2*ldaptest.MaxFailure)
		// The person's browser has the failures strangers could not
		// spend, but never the one that locks.
		for range ldap.DefaultLockoutReserve - 1 {
			check(t, st, trusted(t, "alice@example.com", wrongPassword), false, veil.ReasonWrongPassword)
		}
		check(t, st, trusted(t, "alice@example.com", wrongPassword), false, veil.ReasonThrottled)
		check(t, st, trusted(t, "alice@example.com", ldaptest.Password), false, veil.ReasonThrottled)
		if got := hammer(t, st, 2*ldaptest.MaxFailure); got[veil.ReasonThrottled] != 2*ldaptest.MaxFailure {
			t.Errorf("strangers' reasons at pwdMaxFailure − 1: %v; want every one spared", got)
		}
		checkEntryNotLocked(t, srv, dn)
		if got := len(srv.Attr(t, dn, "pwdFailureTime")); got != ldaptest.MaxFailure-1 {
			t.Errorf("%d failures recorded, want pwdMaxFailure − 1 = %d", got, ldaptest.MaxFailure-1)
		}
	})
}

// checkEntryNotLocked fails t if the directory has locked dn.
func checkEntryNotLocked(t *testing.T, srv *ldaptest.Server, dn string) {
	t.Helper()
	if got := srv.Attr(t, dn, "pwdAccountLockedTime"); len(got) != 0 {
		t.Fatalf("the directory locked %s: pwdAccountLockedTime %q", dn, got)
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

// TestCheckerConformance runs veil's PasswordChecker suite over a real
// directory: an operator-locked entry is the account that may not sign in,
// and every attempt costs one search and one bind.
func TestCheckerConformance(t *testing.T) {
	veiltest.RunPasswordCheckerTests(t, func(tb testing.TB) veiltest.CheckerHarness {
		srv := ldaptest.Start(tb)
		st := MustOpenStore(tb, srv, srv.NewPeople(tb))
		return veiltest.CheckerHarness{
			Checker: st, Known: "alice@example.com", Disabled: "dora@example.com", Password: ldaptest.Password,
			Work: func() int64 { s := st.Stats(); return s.Searches + s.Binds },
		}
	})
}
