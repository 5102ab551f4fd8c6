package veiltest

import (
	"testing"
	"time"

	"github.com/veil-id/veil"
)

// testExternalAccountSessions stores sessions of an account the store does
// not hold, as veil does when accounts live in a directory (an entryUUID):
// the session store must keep them like any other, and an account's
// deletion must still take only its own sessions.
func testExternalAccountSessions(t *testing.T, st veil.Store) {
	const external = "3f493000-7a9a-1041-8c7b-2d3bc1ffe9f0"
	local := mustCreateAccount(t, st, "local@example.com")
	s := mustCreateSession(t, st, newSession(external, t0))
	other := mustCreateSession(t, st, newSession(external, t0.Add(time.Second)))
	mine := mustCreateSession(t, st, newSession(local.ID, t0))
	got, err := st.FindSession(t.Context(), s.IDHash)
	if err != nil {
		t.Fatalf("FindSession(session of an external account): %v", err)
	}
	for _, d := range sessionDiff(got, s) {
		t.Errorf("FindSession(session of an external account): %s", d)
	}
	if list, err := st.ListSessions(t.Context(), external); err != nil || len(list) != 2 {
		t.Errorf("ListSessions(external account) = %d sessions, %v; want 2", len(list), err)
	}
	if err := st.DeleteAccount(t.Context(), local.ID); err != nil {
		t.Fatalf("DeleteAccount(local): %v", err)
	}
	if _, err := st.FindSession(t.Context(), mine.IDHash); veil.ErrorCode(err) != veil.ENOTFOUND {
		t.Errorf("FindSession(session of the deleted local account) = %v, want ENOTFOUND", err)
	}
	if _, err := st.FindSession(t.Context(), other.IDHash); err != nil {
		t.Errorf("deleting a local account removed an external account's session: %v", err)
	}
	if n, err := st.DeleteAccountSessions(t.Context(), external); err != nil || n != 2 {
		t.Errorf("DeleteAccountSessions(external account) = %d, %v; want 2, nil", n, err)
	}
}
