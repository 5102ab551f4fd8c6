package veiltest

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/veil-id/veil"
)

func testSessions(t *testing.T, open func(testing.TB) veil.Store) {
	t.Run("CreateAndFind", func(t *testing.T) {
		t.Parallel()
		st := open(t)
		a := mustCreateAccount(t, st, "s@example.com")
		want := mustCreateSession(t, st, newSession(a.ID, t0))
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
		a := mustCreateAccount(t, st, "s@example.com")
		mustCreateSession(t, st, newSession(a.ID, t0))
		_, idHash := veil.NewSessionToken()
		_, err := st.FindSession(t.Context(), idHash)
		wantCode(t, "FindSession(unknown)", err, veil.ENOTFOUND)
	})
	t.Run("ClientSuppliedText", func(t *testing.T) { t.Parallel(); testSessionClientText(t, open(t)) })
	t.Run("Touch", func(t *testing.T) { t.Parallel(); testTouchSession(t, open(t)) })
	t.Run("Delete", func(t *testing.T) { t.Parallel(); testDeleteSession(t, open(t)) })
	t.Run("List", func(t *testing.T) { t.Parallel(); testListSessions(t, open(t)) })
	t.Run("DeleteAccountSessions", func(t *testing.T) { t.Parallel(); testDeleteAccountSessions(t, open(t)) })
	t.Run("DeleteExpired", func(t *testing.T) { t.Parallel(); testDeleteExpiredSessions(t, open(t)) })
	t.Run("ExternalAccount", func(t *testing.T) { t.Parallel(); testExternalAccountSessions(t, open(t)) })
}

// testBinaryIDHashes stores hashes with zero bytes and near neighbours:
// they are bytes, not text, and must not be cut at a NUL or compared
// loosely.
func testBinaryIDHashes(t *testing.T, st veil.Store) {
	a := mustCreateAccount(t, st, "s@example.com")
	zeros := make([]byte, 32)
	ones := bytes.Repeat([]byte{0xff}, 32)
	lastByte := append(bytes.Repeat([]byte{0}, 31), 1)
	nulInside := append([]byte{0xde, 0xad, 0, 0xbe, 0xef}, make([]byte, 27)...)
	hashes := [][]byte{zeros, ones, lastByte, nulInside}
	for i, h := range hashes {
		s := newSession(a.ID, t0.Add(time.Duration(i)*time.Second))
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
// User-Agent, even bytes that are not UTF-8, cannot fail a sign-in.
func testSessionClientText(t *testing.T, st veil.Store) {
	a := mustCreateAccount(t, st, "s@example.com")
	for _, ua := range []string{"", "curl/8.5.0", "Zoë's 🌸 browser", "\xff\xfe not UTF-8", "nul\x00inside", "ünï\u200bcode\u202e"} {
		s := newSession(a.ID, t0)
		s.UserAgent = ua
		if err := st.CreateSession(t.Context(), s); err != nil {
			t.Errorf("CreateSession(UserAgent %q): %v", ua, err)
			continue
		}
		if _, err := st.FindSession(t.Context(), s.IDHash); err != nil {
			t.Errorf("FindSession(UserAgent %q): %v", ua, err)
		}
	}
}

func testTouchSession(t *testing.T, st veil.Store) {
	a := mustCreateAccount(t, st, "s@example.com")
	s := mustCreateSession(t, st, newSession(a.ID, t0))
	other := mustCreateSession(t, st, newSession(a.ID, t0))
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

func testDeleteSession(t *testing.T, st veil.Store) {
	a := mustCreateAccount(t, st, "s@example.com")
	s := mustCreateSession(t, st, newSession(a.ID, t0))
	kept := mustCreateSession(t, st, newSession(a.ID, t0))
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
	if _, err := st.FindAccountByID(t.Context(), a.ID); err != nil {
		t.Errorf("deleting a session touched its account: %v", err)
	}
}

func testListSessions(t *testing.T, st veil.Store) {
	a := mustCreateAccount(t, st, "a@example.com")
	b := mustCreateAccount(t, st, "b@example.com")
	lonely := mustCreateAccount(t, st, "lonely@example.com")
	// Made out of order, so that insertion order is not the answer.
	offsets := []struct {
		account *veil.Account
		offset  time.Duration
	}{{a, 2 * time.Hour}, {b, time.Hour}, {a, -time.Hour}, {b, 3 * time.Hour}, {a, 30 * time.Minute}, {a, time.Microsecond}}
	var all []*veil.Session
	for _, o := range offsets {
		all = append(all, mustCreateSession(t, st, newSession(o.account.ID, t0.Add(o.offset))))
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
		{"AccountA", a.ID, ofAccount(a.ID)},
		{"AccountB", b.ID, ofAccount(b.ID)},
		{"AccountWithoutSessions", lonely.ID, nil},
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

func testDeleteAccountSessions(t *testing.T, st veil.Store) {
	a := mustCreateAccount(t, st, "a@example.com")
	b := mustCreateAccount(t, st, "b@example.com")
	for i := range 3 {
		mustCreateSession(t, st, newSession(a.ID, t0.Add(time.Duration(i)*time.Minute)))
	}
	kept := mustCreateSession(t, st, newSession(b.ID, t0))
	tests := []struct {
		name      string
		accountID string
		want      int
	}{
		{"ThreeSessions", a.ID, 3},
		{"Again", a.ID, 0},
		{"UnknownAccount", veil.NewAccountID(), 0},
	}
	for _, tt := range tests {
		n, err := st.DeleteAccountSessions(t.Context(), tt.accountID)
		if err != nil || n != tt.want {
			t.Errorf("DeleteAccountSessions(%s) = %d, %v; want %d, nil", tt.name, n, err, tt.want)
		}
	}
	if list, err := st.ListSessions(t.Context(), a.ID); err != nil || len(list) != 0 {
		t.Errorf("ListSessions(a) after DeleteAccountSessions = %d sessions, %v; want none", len(list), err)
	}
	if _, err := st.FindSession(t.Context(), kept.IDHash); err != nil {
		t.Errorf("DeleteAccountSessions(a) removed a session of b: %v", err)
	}
	if _, err := st.FindAccountByID(t.Context(), a.ID); err != nil {
		t.Errorf("DeleteAccountSessions removed the account: %v", err)
	}
}

func testDeleteExpiredSessions(t *testing.T, st veil.Store) {
	a := mustCreateAccount(t, st, "a@example.com")
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
		s := newSession(a.ID, now.Add(-3*time.Hour))
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
