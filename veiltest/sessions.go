package veiltest

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/veil-id/veil"
)

// RunSessionStoreTests checks that a veil.SessionStore keeps the contract
// of its interface, for a store that keeps sessions only (accounts live
// elsewhere, and a session's account ID is only a string to it). open
// must return a fresh, empty store that is closed when tb's test ends; it
// is called once per subtest, and subtests run in parallel. RunStoreTests
// runs the same tests on a whole store, with its accounts.
func RunSessionStoreTests(t *testing.T, open func(tb testing.TB) veil.SessionStore) {
	runSessionTests(t, func(tb testing.TB) *sessionFixture { return &sessionFixture{SessionStore: open(tb)} })
}

// testSessions runs the session tests on a whole store: the sessions
// belong to accounts stored in it, and what it does to sessions must leave
// its accounts alone.
func testSessions(t *testing.T, open func(testing.TB) veil.Store) {
	runSessionTests(t, func(tb testing.TB) *sessionFixture {
		st := open(tb)
		return &sessionFixture{SessionStore: st, accounts: st}
	})
	t.Run("ExternalAccount", func(t *testing.T) { t.Parallel(); testExternalAccountSessions(t, open(t)) })
}

// sessionFixture is a session store under test and, when it is a whole
// store, the same store as a veil.Store.
type sessionFixture struct {
	veil.SessionStore
	accounts veil.Store // nil for a store of sessions only
}

// accountID returns the ID of a new account, stored first when the store
// keeps accounts.
func (f *sessionFixture) accountID(tb testing.TB, email string) string {
	tb.Helper()
	if f.accounts == nil {
		return veil.NewAccountID()
	}
	return mustCreateAccount(tb, f.accounts, email).ID
}

// checkAccountKept fails the test if the store keeps accounts and no
// longer has the account id after what.
func (f *sessionFixture) checkAccountKept(tb testing.TB, id, what string) {
	tb.Helper()
	if f.accounts == nil {
		return
	}
	if _, err := f.accounts.FindAccountByID(tb.Context(), id); err != nil {
		tb.Errorf("%s touched its account: %v", what, err)
	}
}

func runSessionTests(t *testing.T, open func(testing.TB) *sessionFixture) {
	t.Run("CreateAndFind", func(t *testing.T) {
		t.Parallel()
		st := open(t)
		want := mustCreateSession(t, st, newSession(st.accountID(t, "s@example.com"), t0))
		got, err := st.FindSession(t.Context(), want.IDHash)
		if err != nil {
			t.Fatalf("FindSession: %v", err)
		}
		for _, d := range sessionDiff(got, want) {
			t.Errorf("FindSession: %s", d)
		}
	})
	t.Run("BinaryIDHashes", func(t *testing.T) { t.Parallel(); testBinaryIDHashes(t, open(t)) })
	t.Run("NotFound", func(t *testing.T) {
		t.Parallel()
		st := open(t)
		mustCreateSession(t, st, newSession(st.accountID(t, "s@example.com"), t0))
		_, idHash := veil.NewSessionToken()
		_, err := st.FindSession(t.Context(), idHash)
		wantCode(t, "FindSession(unknown)", err, veil.ENOTFOUND)
	})
	t.Run("Invalid", func(t *testing.T) { t.Parallel(); testInvalidSessions(t, open(t)) })
	t.Run("ClientSuppliedText", func(t *testing.T) { t.Parallel(); testSessionClientText(t, open(t)) })
	t.Run("Touch", func(t *testing.T) { t.Parallel(); testTouchSession(t, open(t)) })
	t.Run("TouchOnlyMovesForward", func(t *testing.T) { t.Parallel(); testTouchOnlyMovesForward(t, open(t)) })
	t.Run("Delete", func(t *testing.T) { t.Parallel(); testDeleteSession(t, open(t)) })
	t.Run("List", func(t *testing.T) { t.Parallel(); testListSessions(t, open(t)) })
	t.Run("DeleteAccountSessions", func(t *testing.T) { t.Parallel(); testDeleteAccountSessions(t, open(t)) })
	t.Run("DeleteExpired", func(t *testing.T) { t.Parallel(); testDeleteExpiredSessions(t, open(t)) })
	t.Run("Times", func(t *testing.T) { testSessionTimes(t, open) })
}

// testBinaryIDHashes stores hashes with zero bytes and near neighbours:
// they are bytes, not text, and must not be cut at a NUL or compared
// loosely.
func testBinaryIDHashes(t *testing.T, st *sessionFixture) {
	a := st.accountID(t, "s@example.com")
	zeros := make([]byte, 32)
	ones := bytes.Repeat([]byte{0xff}, 32)
	lastByte := append(bytes.Repeat([]byte{0}, 31), 1)
	nulInside := append([]byte{0xde, 0xad, 0, 0xbe, 0xef}, make([]byte, 27)...)
	hashes := [][]byte{zeros, ones, lastByte, nulInside}
	for i, h := range hashes {
		s := newSession(a, t0.Add(time.Duration(i)*time.Second))
		s.IDHash = h
		mustCreateSession(t, st, s)
	}
	for _, h := range hashes {
		got, err := st.FindSession(t.Context(), h)
		if err != nil {
			t.Errorf("FindSession(%x): %v", h, err)
			continue
		}
		if !bytes.Equal(got.IDHash, h) {
			t.Errorf("FindSession(%x) found IDHash %x", h, got.IDHash)
		}
	}
	_, err := st.FindSession(t.Context(), zeros[:31])
	wantCode(t, "FindSession(prefix of a stored hash)", err, veil.ENOTFOUND)
}

// testSessionClientText checks that whatever a client sends as its
// User-Agent, even bytes that are not UTF-8, cannot fail a sign-in, and
// that text every database can hold comes back as it was.
func testSessionClientText(t *testing.T, st *sessionFixture) {
	a := st.accountID(t, "s@example.com")
	for _, ua := range []string{"", "curl/8.5.0", "Zoë's 🌸 browser", "\xff\xfe not UTF-8", "nul\x00inside", "ünï\u200bcode\u202e"} {
		s := newSession(a, t0)
		s.UserAgent = ua
		if err := st.CreateSession(t.Context(), s); err != nil {
			t.Errorf("CreateSession(UserAgent %q): %v", ua, err)
			continue
		}
		got, err := st.FindSession(t.Context(), s.IDHash)
		if err != nil {
			t.Errorf("FindSession(UserAgent %q): %v", ua, err)
			continue
		}
		if utf8.ValidString(ua) && !strings.Contains(ua, "\x00") && got.UserAgent != ua {
			t.Errorf("FindSession(UserAgent %q).UserAgent = %q", ua, got.UserAgent)
		}
	}
}

// testInvalidSessions checks the sessions a store must refuse: one without
// an ID hash or an account, and a second one with the same ID hash, which
// must leave the first as it was.
func testInvalidSessions(t *testing.T, st *sessionFixture) {
	a := st.accountID(t, "s@example.com")
	first := mustCreateSession(t, st, newSession(a, t0))
	noHash, noAccount, twin := newSession(a, t0), newSession("", t0), newSession(st.accountID(t, "t@example.com"), t0.Add(time.Hour))
	noHash.IDHash = nil
	twin.IDHash = bytes.Clone(first.IDHash)
	tests := []struct {
		name string
		s    *veil.Session
		want string
	}{
		{"NoIDHash", noHash, veil.EINVALID},
		{"NoAccount", noAccount, veil.EINVALID},
		{"SameIDHash", twin, veil.ECONFLICT},
	}
	for _, tt := range tests {
		wantCode(t, "CreateSession("+tt.name+")", st.CreateSession(t.Context(), tt.s), tt.want)
	}
	got, err := st.FindSession(t.Context(), first.IDHash)
	if err != nil {
		t.Fatalf("FindSession(first): %v", err)
	}
	for _, d := range sessionDiff(got, first) {
		t.Errorf("FindSession(first) after a second session with its ID hash: %s", d)
	}
	if list, err := st.ListSessions(t.Context(), twin.AccountID); err != nil || len(list) != 0 {
		t.Errorf("ListSessions(account of the refused twin) = %d sessions, %v; want none", len(list), err)
	}
}

func testTouchSession(t *testing.T, st *sessionFixture) {
	a := st.accountID(t, "s@example.com")
	s := mustCreateSession(t, st, newSession(a, t0))
	other := mustCreateSession(t, st, newSession(a, t0))
	later := t0.Add(2*time.Hour + 987654321*time.Nanosecond)
	if err := st.TouchSession(t.Context(), s.IDHash, later); err != nil {
		t.Fatalf("TouchSession: %v", err)
	}
	want := *s
	want.LastSeenAt = later
	got, err := st.FindSession(t.Context(), s.IDHash)
	if err != nil {
		t.Fatalf("FindSession: %v", err)
	}
	for _, d := range sessionDiff(got, &want) {
		t.Errorf("FindSession after TouchSession: %s", d)
	}
	if got, err := st.FindSession(t.Context(), other.IDHash); err != nil || !sameTime(got.LastSeenAt, other.LastSeenAt) {
		t.Errorf("touching one session changed another: %v, %v", got, err)
	}
	_, gone := veil.NewSessionToken()
	if err := st.TouchSession(t.Context(), gone, later); err != nil {
		t.Errorf("TouchSession(unknown) = %v, want nil", err)
	}
	if _, err := st.FindSession(t.Context(), gone); veil.ErrorCode(err) != veil.ENOTFOUND {
		t.Errorf("TouchSession(unknown) made a session: FindSession = %v", err)
	}
}

// testTouchOnlyMovesForward touches a session with an older time, as a
// slow request finishing after a faster one does: the session must not
// look idler than it is, to FindSession or to DeleteExpiredSessions.
func testTouchOnlyMovesForward(t *testing.T, st *sessionFixture) {
	s := newSession(st.accountID(t, "s@example.com"), t0)
	mustCreateSession(t, st, s)
	seen := s.LastSeenAt
	for _, tm := range []time.Time{seen.Add(-time.Hour), seen, seen.Add(-time.Microsecond)} {
		if err := st.TouchSession(t.Context(), s.IDHash, tm); err != nil {
			t.Fatalf("TouchSession(%v): %v", tm, err)
		}
	}
	got, err := st.FindSession(t.Context(), s.IDHash)
	if err != nil || !sameTime(got.LastSeenAt, seen) {
		t.Fatalf("after touching with older times: FindSession = %v, %v; want LastSeenAt %v", got, err, micro(seen))
	}
	if n, err := st.DeleteExpiredSessions(t.Context(), t0, seen); err != nil || n != 0 {
		t.Errorf("DeleteExpiredSessions(idle before its last use) = %d, %v; want 0, nil", n, err)
	}
}

// testSessionTimes checks that a session's times come back in UTC to the
// microsecond, whatever their zone and however far from now.
func testSessionTimes(t *testing.T, open func(testing.TB) *sessionFixture) {
	for _, tt := range timeCases() {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := open(t)
			s := newSession(st.accountID(t, "time@example.com"), tt.t)
			s.LastSeenAt, s.ExpiresAt = tt.t, tt.t
			mustCreateSession(t, st, s)
			got, err := st.FindSession(t.Context(), s.IDHash)
			if err != nil {
				t.Fatalf("FindSession: %v", err)
			}
			for field, g := range map[string]time.Time{"CreatedAt": got.CreatedAt, "LastSeenAt": got.LastSeenAt, "ExpiresAt": got.ExpiresAt} {
				if !sameTime(g, tt.t) {
					t.Errorf("%s = %v (%s), want %v in UTC", field, g, describe(g), micro(tt.t))
				}
			}
		})
	}
}

func testDeleteSession(t *testing.T, st *sessionFixture) {
	a := st.accountID(t, "s@example.com")
	s := mustCreateSession(t, st, newSession(a, t0))
	kept := mustCreateSession(t, st, newSession(a, t0))
	if err := st.DeleteSession(t.Context(), s.IDHash); err != nil {
		t.Fatalf("DeleteSession: %v", err)
	}
	_, err := st.FindSession(t.Context(), s.IDHash)
	wantCode(t, "FindSession(deleted)", err, veil.ENOTFOUND)
	if _, err := st.FindSession(t.Context(), kept.IDHash); err != nil {
		t.Errorf("FindSession(other session): %v", err)
	}
	if err := st.DeleteSession(t.Context(), s.IDHash); err != nil {
		t.Errorf("DeleteSession(again) = %v, want nil", err)
	}
	st.checkAccountKept(t, a, "DeleteSession")
}

func testListSessions(t *testing.T, st *sessionFixture) {
	a := st.accountID(t, "a@example.com")
	b := st.accountID(t, "b@example.com")
	lonely := st.accountID(t, "lonely@example.com")
	// Made out of order, so that insertion order is not the answer.
	offsets := []struct {
		accountID string
		offset    time.Duration
	}{{a, 2 * time.Hour}, {b, time.Hour}, {a, -time.Hour}, {b, 3 * time.Hour}, {a, 30 * time.Minute}, {a, time.Microsecond}}
	var all []*veil.Session
	for _, o := range offsets {
		all = append(all, mustCreateSession(t, st, newSession(o.accountID, t0.Add(o.offset))))
	}
	newestFirst := func(x, y *veil.Session) int { return y.CreatedAt.Compare(x.CreatedAt) }
	slices.SortFunc(all, newestFirst)
	ofAccount := func(id string) []*veil.Session {
		return slices.DeleteFunc(slices.Clone(all), func(s *veil.Session) bool { return s.AccountID != id })
	}
	tests := []struct {
		name      string
		accountID string
		want      []*veil.Session
	}{
		{"All", "", all},
		{"AccountA", a, ofAccount(a)},
		{"AccountB", b, ofAccount(b)},
		{"AccountWithoutSessions", lonely, nil},
		{"UnknownAccount", veil.NewAccountID(), nil},
	}
	for _, tt := range tests {
		got, err := st.ListSessions(t.Context(), tt.accountID)
		if err != nil {
			t.Errorf("ListSessions(%s): %v", tt.name, err)
			continue
		}
		if len(got) != len(tt.want) {
			t.Errorf("ListSessions(%s) = %d sessions, want %d", tt.name, len(got), len(tt.want))
			continue
		}
		for i := range got {
			for _, d := range sessionDiff(got[i], tt.want[i]) {
				t.Errorf("ListSessions(%s)[%d]: %s", tt.name, i, d)
			}
		}
	}
}

func testDeleteAccountSessions(t *testing.T, st *sessionFixture) {
	a := st.accountID(t, "a@example.com")
	b := st.accountID(t, "b@example.com")
	for i := range 3 {
		mustCreateSession(t, st, newSession(a, t0.Add(time.Duration(i)*time.Minute)))
	}
	kept := mustCreateSession(t, st, newSession(b, t0))
	tests := []struct {
		name      string
		accountID string
		want      int
	}{
		{"ThreeSessions", a, 3},
		{"Again", a, 0},
		{"UnknownAccount", veil.NewAccountID(), 0},
	}
	for _, tt := range tests {
		n, err := st.DeleteAccountSessions(t.Context(), tt.accountID)
		if err != nil || n != tt.want {
			t.Errorf("DeleteAccountSessions(%s) = %d, %v; want %d, nil", tt.name, n, err, tt.want)
		}
	}
	if list, err := st.ListSessions(t.Context(), a); err != nil || len(list) != 0 {
		t.Errorf("ListSessions(a) after DeleteAccountSessions = %d sessions, %v; want none", len(list), err)
	}
	if _, err := st.FindSession(t.Context(), kept.IDHash); err != nil {
		t.Errorf("DeleteAccountSessions(a) removed a session of b: %v", err)
	}
	st.checkAccountKept(t, a, "DeleteAccountSessions")
}

func testDeleteExpiredSessions(t *testing.T, st *sessionFixture) {
	a := st.accountID(t, "a@example.com")
	now := t0
	idleBefore := now.Add(-time.Hour)
	tests := []struct {
		name          string
		seen, expires time.Time
		wantDeleted   bool
	}{
		{"Live", now.Add(-time.Minute), now.Add(time.Hour), false},
		{"PastAbsoluteExpiry", now.Add(-time.Minute), now.Add(-time.Second), true},
		{"ExpiredAMicrosecondAgo", now.Add(-time.Minute), now.Add(-time.Microsecond), true},
		{"ExpiresNow", now.Add(-time.Minute), now, false},
		{"Idle", now.Add(-2 * time.Hour), now.Add(time.Hour), true},
		{"IdleByAMicrosecond", idleBefore.Add(-time.Microsecond), now.Add(time.Hour), true},
		{"SeenExactlyAtIdleLimit", idleBefore, now.Add(time.Hour), false},
		{"IdleAndExpired", now.Add(-2 * time.Hour), now.Add(-time.Second), true},
	}
	sessions := make([]*veil.Session, len(tests))
	wantDeleted := 0
	for i, tt := range tests {
		s := newSession(a, now.Add(-3*time.Hour))
		s.LastSeenAt, s.ExpiresAt = tt.seen, tt.expires
		sessions[i] = mustCreateSession(t, st, s)
		if tt.wantDeleted {
			wantDeleted++
		}
	}
	n, err := st.DeleteExpiredSessions(t.Context(), now, idleBefore)
	if err != nil || n != wantDeleted {
		t.Errorf("DeleteExpiredSessions = %d, %v; want %d, nil", n, err, wantDeleted)
	}
	for i, tt := range tests {
		_, err := st.FindSession(t.Context(), sessions[i].IDHash)
		switch {
		case tt.wantDeleted && veil.ErrorCode(err) != veil.ENOTFOUND:
			t.Errorf("session %s: FindSession = %v, want ENOTFOUND", tt.name, err)
		case !tt.wantDeleted && err != nil:
			t.Errorf("session %s: FindSession = %v, want it kept", tt.name, err)
		}
	}
	if n, err := st.DeleteExpiredSessions(t.Context(), now, idleBefore); err != nil || n != 0 {
		t.Errorf("DeleteExpiredSessions(again) = %d, %v; want 0, nil", n, err)
	}
}
