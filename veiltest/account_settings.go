package veiltest

import (
	"bytes"
	"crypto/sha256"
	"sync"
	"testing"
	"time"

	"github.com/veil-id/veil"
)

// testAccountSettings checks veil.AccountSettingsStore.
func testAccountSettings(t *testing.T, open func(tb testing.TB) veil.Store) {
	t.Run("DisplayNameAndEmail", func(t *testing.T) { testNameAndEmail(t, open) })
	t.Run("AccountTokens", func(t *testing.T) { testAccountTokens(t, open) })
	t.Run("LoginCodes", func(t *testing.T) { testLoginCodes(t, open) })
	t.Run("EraseAccount", func(t *testing.T) { testEraseAccount(t, open) })
}

func testNameAndEmail(t *testing.T, open func(tb testing.TB) veil.Store) {
	t.Parallel()
	st := open(t)
	ctx := t.Context()
	a := mustCreateAccount(t, st, "alice@example.com")
	b := mustCreateAccount(t, st, "bob@example.com")
	if err := st.SetDisplayName(ctx, a.ID, "Alice Ä"); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.FindAccountByID(ctx, a.ID); got.DisplayName != "Alice Ä" || got.PasswordHash != a.PasswordHash {
		t.Errorf("after SetDisplayName: %+v", got)
	}
	wantCode(t, "SetDisplayName(unknown)", st.SetDisplayName(ctx, "nobody", "x"), veil.ENOTFOUND)

	carol := mustIdentifier(t, "carol@example.com")
	wantCode(t, "ChangeEmail(taken)", st.ChangeEmail(ctx, a.ID, a.Email, b.Email), veil.ECONFLICT)
	wantCode(t, "ChangeEmail(from is not the account's)", st.ChangeEmail(ctx, a.ID, b.Email, carol), veil.ENOTFOUND)
	wantCode(t, "ChangeEmail(unknown)", st.ChangeEmail(ctx, "nobody", a.Email, carol), veil.ENOTFOUND)
	if err := st.ChangeEmail(ctx, a.ID, a.Email, carol); err != nil {
		t.Fatal(err)
	}
	if got, err := st.FindAccountByIdentifier(ctx, carol); err != nil || got.ID != a.ID || got.DisplayName != "Alice Ä" {
		t.Errorf("FindAccountByIdentifier(new address) = %+v, %v", got, err)
	}
	_, err := st.FindAccountByIdentifier(ctx, a.Email)
	wantCode(t, "FindAccountByIdentifier(old address)", err, veil.ENOTFOUND)
	// The old address is free again: another account may take it.
	if err := st.ChangeEmail(ctx, b.ID, b.Email, a.Email); err != nil {
		t.Errorf("ChangeEmail(to an address freed by a change): %v", err)
	}
}

func tokenHash(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

func mustCreateAccountToken(tb testing.TB, st veil.Store, t *veil.AccountToken) {
	tb.Helper()
	if err := st.CreateAccountToken(tb.Context(), t); err != nil {
		tb.Fatalf("CreateAccountToken(%s): %v", t.Purpose, err)
	}
}

func testAccountTokens(t *testing.T, open func(tb testing.TB) veil.Store) {
	t.Parallel()
	st := open(t)
	ctx := t.Context()
	later := t0.Add(time.Hour)
	mk := func(name, purpose, account, email string, expires time.Time) {
		t.Helper()
		mustCreateAccountToken(t, st, &veil.AccountToken{Hash: tokenHash(name), Purpose: purpose, AccountID: account,
			Email: veil.Identifier(email), CreatedAt: t0, ExpiresAt: expires})
	}
	mk("a", veil.TokenEmailConfirm, "acct1", "new@example.com", later)
	mk("b", veil.TokenEmailConfirm, "acct1", "other@example.com", later)
	mk("u", veil.TokenEmailUndo, "acct1", "old@example.com", later)
	mk("old", veil.TokenEmailUndo, "acct2", "x@example.com", t0.Add(time.Minute))

	got, err := st.ConsumeAccountToken(ctx, tokenHash("a"), veil.TokenEmailConfirm, t0)
	if err != nil || got.AccountID != "acct1" || got.Email != "new@example.com" || got.Purpose != veil.TokenEmailConfirm ||
		!bytes.Equal(got.Hash, tokenHash("a")) || !sameTime(got.CreatedAt, t0) || !sameTime(got.ExpiresAt, later) {
		t.Fatalf("ConsumeAccountToken(a) = %+v, %v", got, err)
	}
	_, err = st.ConsumeAccountToken(ctx, tokenHash("a"), veil.TokenEmailConfirm, t0)
	wantCode(t, "ConsumeAccountToken(a, again)", err, veil.ENOTFOUND)
	_, err = st.ConsumeAccountToken(ctx, tokenHash("u"), veil.TokenEmailConfirm, t0)
	wantCode(t, "ConsumeAccountToken(u, wrong purpose)", err, veil.ENOTFOUND)
	_, err = st.ConsumeAccountToken(ctx, tokenHash("old"), veil.TokenEmailUndo, t0.Add(time.Minute))
	wantCode(t, "ConsumeAccountToken(old, at expiry)", err, veil.ENOTFOUND)
	_, err = st.ConsumeAccountToken(ctx, tokenHash("nope"), veil.TokenEmailUndo, t0)
	wantCode(t, "ConsumeAccountToken(unknown)", err, veil.ENOTFOUND)

	if err := st.DeleteAccountTokensOf(ctx, "acct1", veil.TokenEmailConfirm); err != nil {
		t.Fatal(err)
	}
	_, err = st.ConsumeAccountToken(ctx, tokenHash("b"), veil.TokenEmailConfirm, t0)
	wantCode(t, "ConsumeAccountToken(b, after DeleteAccountTokensOf)", err, veil.ENOTFOUND)
	mk("c", veil.TokenEmailConfirm, "acct1", "c@example.com", later)
	if err := st.DeleteAccountTokensOf(ctx, "acct1", ""); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"u", "c"} {
		_, err = st.ConsumeAccountToken(ctx, tokenHash(name), veil.TokenEmailUndo, t0)
		wantCode(t, "ConsumeAccountToken("+name+", after deleting every purpose)", err, veil.ENOTFOUND)
	}

	n, err := st.DeleteExpiredAccountTokens(ctx, t0.Add(2*time.Minute))
	if err != nil || n != 1 {
		t.Errorf("DeleteExpiredAccountTokens = %d, %v; want 1 (old)", n, err)
	}

	// Two requests racing with one link: exactly one wins.
	mk("race", veil.TokenEmailUndo, "acct3", "r@example.com", later)
	if wins := raceWins(8, func() error {
		_, err := st.ConsumeAccountToken(ctx, tokenHash("race"), veil.TokenEmailUndo, t0)
		return err
	}); wins != 1 {
		t.Errorf("a link raced by 8 requests was consumed %d times, want 1", wins)
	}
}

// raceWins runs try n times at once and returns how many succeeded.
func raceWins(n int, try func() error) int {
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range n {
		wg.Go(func() {
			if try() == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return wins
}

func testLoginCodes(t *testing.T, open func(tb testing.TB) veil.Store) {
	t.Parallel()
	st := open(t)
	ctx := t.Context()
	later := t0.Add(10 * time.Minute)
	code := tokenHash("code 12345678")
	mustCreateAccountToken(t, st, &veil.AccountToken{Hash: tokenHash("link"), Purpose: veil.TokenLoginCode, AccountID: "acct1", CodeHash: code, CreatedAt: t0, ExpiresAt: later})
	mustCreateAccountToken(t, st, &veil.AccountToken{Hash: tokenHash("confirm"), Purpose: veil.TokenEmailConfirm, AccountID: "acct1", Email: "n@example.com", CreatedAt: t0, ExpiresAt: later})

	_, err := st.ConsumeLoginCode(ctx, "acct2", code, t0)
	wantCode(t, "ConsumeLoginCode(another account)", err, veil.ENOTFOUND)
	_, err = st.ConsumeLoginCode(ctx, "acct1", tokenHash("wrong"), t0)
	wantCode(t, "ConsumeLoginCode(wrong code)", err, veil.ENOTFOUND)
	_, err = st.ConsumeLoginCode(ctx, "acct1", nil, t0)
	wantCode(t, "ConsumeLoginCode(no code: must not match a link without one)", err, veil.ENOTFOUND)
	_, err = st.ConsumeLoginCode(ctx, "acct1", code, later)
	wantCode(t, "ConsumeLoginCode(at expiry)", err, veil.ENOTFOUND)
	got, err := st.ConsumeLoginCode(ctx, "acct1", code, t0)
	if err != nil || !bytes.Equal(got.Hash, tokenHash("link")) || !bytes.Equal(got.CodeHash, code) || got.AccountID != "acct1" {
		t.Fatalf("ConsumeLoginCode = %+v, %v", got, err)
	}
	// One secret, two ways in: the code spent, the link is spent too.
	_, err = st.ConsumeAccountToken(ctx, tokenHash("link"), veil.TokenLoginCode, t0)
	wantCode(t, "ConsumeAccountToken(the link of a spent code)", err, veil.ENOTFOUND)
	_, err = st.ConsumeLoginCode(ctx, "acct1", code, t0)
	wantCode(t, "ConsumeLoginCode(again)", err, veil.ENOTFOUND)

	other := tokenHash("code 87654321")
	mustCreateAccountToken(t, st, &veil.AccountToken{Hash: tokenHash("link2"), Purpose: veil.TokenLoginCode, AccountID: "acct1", CodeHash: other, CreatedAt: t0, ExpiresAt: later})
	if _, err := st.ConsumeAccountToken(ctx, tokenHash("link2"), veil.TokenLoginCode, t0); err != nil {
		t.Fatal(err)
	}
	_, err = st.ConsumeLoginCode(ctx, "acct1", other, t0)
	wantCode(t, "ConsumeLoginCode(the code of a spent link)", err, veil.ENOTFOUND)
}

func testEraseAccount(t *testing.T, open func(tb testing.TB) veil.Store) {
	t.Parallel()
	st := open(t)
	ctx := t.Context()
	a := mustCreateAccount(t, st, "alice@example.com")
	b := mustCreateAccount(t, st, "bob@example.com")
	for _, id := range []string{a.ID, b.ID} {
		if err := st.CreateSession(ctx, newSession(id, t0)); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateToken(ctx, &veil.Token{Hash: tokenHash("reset " + id), Purpose: veil.TokenReset, AccountID: id, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		mustCreateAccountToken(t, st, &veil.AccountToken{Hash: tokenHash("undo " + id), Purpose: veil.TokenEmailUndo, AccountID: id, Email: "x@example.com", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)})
		if err := st.AppendEvent(ctx, &veil.Event{Time: t0, Kind: veil.EventLogin, Outcome: veil.OutcomeSuccess, IdentifierHash: "hash-" + id, AccountID: id, ClientAddr: "192.0.2.1"}); err != nil {
			t.Fatal(err)
		}
	}
	jobs := map[string]string{} // subject -> kind
	for _, j := range []*veil.Job{
		{Kind: veil.JobPasswordChanged, Subject: a.ID},
		{Kind: veil.JobEmailChange, Subject: a.ID + " new@example.com", SubjectHash: "h"},
		{Kind: veil.JobRecover, Subject: string(a.Email), SubjectHash: "h"},
		{Kind: veil.JobPasswordChanged, Subject: b.ID},
		{Kind: veil.JobRecover, Subject: string(b.Email), SubjectHash: "h"},
	} {
		j.CreatedAt, j.NextAttemptAt = t0, t0
		if err := st.EnqueueJob(ctx, j); err != nil {
			t.Fatal(err)
		}
		jobs[j.Subject] = j.Kind
	}

	bye := &veil.Job{Kind: veil.JobAccountDeleted, Subject: string(a.Email), SubjectHash: "bye", CreatedAt: t0, NextAttemptAt: t0}
	wantCode(t, "EraseAccount(unknown)", st.EraseAccount(ctx, "nobody", bye), veil.ENOTFOUND)
	if pending, _ := st.ListJobs(ctx, veil.JobPending, 100); len(pending) != len(jobs) {
		t.Errorf("EraseAccount(unknown) queued its job: %d pending jobs, want %d", len(pending), len(jobs))
	}
	if err := st.EraseAccount(ctx, a.ID, bye); err != nil {
		t.Fatal(err)
	}
	_, err := st.FindAccountByID(ctx, a.ID)
	wantCode(t, "FindAccountByID(erased)", err, veil.ENOTFOUND)
	if s, _ := st.ListSessions(ctx, a.ID); len(s) != 0 {
		t.Errorf("the erased account has %d sessions", len(s))
	}
	if s, _ := st.ListSessions(ctx, b.ID); len(s) != 1 {
		t.Errorf("the other account has %d sessions, want 1", len(s))
	}
	_, err = st.ConsumeToken(ctx, tokenHash("reset "+a.ID), veil.TokenReset, t0)
	wantCode(t, "ConsumeToken(reset link of the erased account)", err, veil.ENOTFOUND)
	_, err = st.ConsumeAccountToken(ctx, tokenHash("undo "+a.ID), veil.TokenEmailUndo, t0)
	wantCode(t, "ConsumeAccountToken(undo link of the erased account)", err, veil.ENOTFOUND)
	if _, err := st.ConsumeToken(ctx, tokenHash("reset "+b.ID), veil.TokenReset, t0); err != nil {
		t.Errorf("the other account's reset link: %v", err)
	}
	if _, err := st.ConsumeAccountToken(ctx, tokenHash("undo "+b.ID), veil.TokenEmailUndo, t0); err != nil {
		t.Errorf("the other account's undo link: %v", err)
	}

	pending, err := st.ListJobs(ctx, veil.JobPending, 100)
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, j := range pending {
		kept = append(kept, j.Kind+":"+j.Subject)
	}
	want := map[string]bool{veil.JobAccountDeleted + ":" + string(a.Email): true, veil.JobPasswordChanged + ":" + b.ID: true, veil.JobRecover + ":" + string(b.Email): true}
	if len(kept) != len(want) {
		t.Errorf("pending jobs after EraseAccount: %q; want the deletion notice and the other account's two", kept)
	}
	for _, k := range kept {
		if !want[k] {
			t.Errorf("pending job %q survived EraseAccount", k)
		}
	}

	events, err := st.ListEvents(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		switch e.IdentifierHash {
		case "hash-" + a.ID:
			if e.AccountID != "" || e.ClientAddr != "" {
				t.Errorf("an event of the erased account kept %q, %q; want only its identifier hash", e.AccountID, e.ClientAddr)
			}
		case "hash-" + b.ID:
			if e.AccountID != b.ID || e.ClientAddr != "192.0.2.1" {
				t.Errorf("an event of the other account lost its account or address: %+v", e)
			}
		}
	}
}
