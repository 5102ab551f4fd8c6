package veiltest

import (
	"bytes"
	"crypto/sha256"
	"sync"
	"testing"
	"time"

	"github.com/veil-id/veil"
)

func testSignUps(t *testing.T, open func(tb testing.TB) veil.Store) {
	t.Parallel()
	st := open(t)
	ctx := t.Context()
	p := &veil.PendingSignUp{ID: veil.NewAccountID(), Email: mustIdentifier(t, "new@example.com"), CreatedAt: t0}
	j := &veil.Job{Kind: veil.JobSignUp, Subject: p.ID, CreatedAt: t0, NextAttemptAt: t0}
	if err := st.CreatePendingSignUp(ctx, p, j); err != nil {
		t.Fatalf("CreatePendingSignUp: %v", err)
	}
	if j.ID == 0 {
		t.Errorf("CreatePendingSignUp did not set the job ID")
	}
	got, err := st.FindPendingSignUp(ctx, p.ID)
	if err != nil || got.Email != p.Email || got.ID != p.ID || !sameTime(got.CreatedAt, t0) {
		t.Fatalf("FindPendingSignUp = %+v, %v; want %+v", got, err, p)
	}
	claimed, err := st.ClaimJob(ctx, t0, time.Minute)
	if err != nil || claimed.ID != j.ID || claimed.Subject != p.ID || claimed.Kind != veil.JobSignUp {
		t.Fatalf("the sign-up's job: ClaimJob = %+v, %v", claimed, err)
	}
	if n, err := st.DeleteExpiredSignUpsAndTokens(ctx, t0, t0); err != nil || n != 0 {
		t.Errorf("DeleteExpiredSignUpsAndTokens(at creation) = %d, %v; want 0", n, err)
	}
	if err := st.DeletePendingSignUp(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	_, err = st.FindPendingSignUp(ctx, p.ID)
	wantCode(t, "FindPendingSignUp(deleted)", err, veil.ENOTFOUND)

	old := &veil.PendingSignUp{ID: veil.NewAccountID(), Email: p.Email, CreatedAt: t0}
	if err := st.CreatePendingSignUp(ctx, old, &veil.Job{Kind: veil.JobSignUp, Subject: old.ID, CreatedAt: t0, NextAttemptAt: t0}); err != nil {
		t.Fatal(err)
	}
	if n, err := st.DeleteExpiredSignUpsAndTokens(ctx, t0.Add(time.Second), t0); err != nil || n != 1 {
		t.Errorf("DeleteExpiredSignUpsAndTokens(after creation) = %d, %v; want 1", n, err)
	}
}

func testTokens(t *testing.T, open func(tb testing.TB) veil.Store) {
	t.Parallel()
	st := open(t)
	ctx := t.Context()
	hash := func(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }
	mk := func(name, purpose, account string, expires time.Time) {
		t.Helper()
		if err := st.CreateToken(ctx, &veil.Token{Hash: hash(name), Purpose: purpose, AccountID: account, SignUpID: "s-" + name, CreatedAt: t0, ExpiresAt: expires}); err != nil {
			t.Fatalf("CreateToken(%s): %v", name, err)
		}
	}
	later := t0.Add(time.Hour)
	mk("a", veil.TokenReset, "acct1", later)
	mk("b", veil.TokenReset, "acct1", later)
	mk("c", veil.TokenSignUp, "", later)
	mk("old", veil.TokenReset, "acct2", t0.Add(time.Minute))

	got, err := st.ConsumeToken(ctx, hash("a"), veil.TokenReset, t0)
	if err != nil || got.AccountID != "acct1" || got.SignUpID != "s-a" || !bytes.Equal(got.Hash, hash("a")) || !sameTime(got.ExpiresAt, later) {
		t.Fatalf("ConsumeToken(a) = %+v, %v", got, err)
	}
	_, err = st.ConsumeToken(ctx, hash("a"), veil.TokenReset, t0)
	wantCode(t, "ConsumeToken(a, again)", err, veil.ENOTFOUND)
	_, err = st.ConsumeToken(ctx, hash("c"), veil.TokenReset, t0)
	wantCode(t, "ConsumeToken(c, wrong purpose)", err, veil.ENOTFOUND)
	_, err = st.ConsumeToken(ctx, hash("old"), veil.TokenReset, t0.Add(time.Minute))
	wantCode(t, "ConsumeToken(old, at expiry)", err, veil.ENOTFOUND)
	_, err = st.ConsumeToken(ctx, hash("nope"), veil.TokenReset, t0)
	wantCode(t, "ConsumeToken(unknown)", err, veil.ENOTFOUND)
	if err := st.DeleteAccountTokens(ctx, "acct1", veil.TokenReset); err != nil {
		t.Fatal(err)
	}
	_, err = st.ConsumeToken(ctx, hash("b"), veil.TokenReset, t0)
	wantCode(t, "ConsumeToken(b, after DeleteAccountTokens)", err, veil.ENOTFOUND)
	if _, err := st.ConsumeToken(ctx, hash("c"), veil.TokenSignUp, t0); err != nil {
		t.Errorf("ConsumeToken(c) after deleting another account's tokens: %v", err)
	}

	// Two requests racing with one token: exactly one wins.
	mk("race", veil.TokenReset, "acct3", later)
	if wins := raceWins(8, func() error {
		_, err := st.ConsumeToken(ctx, hash("race"), veil.TokenReset, t0)
		return err
	}); wins != 1 {
		t.Errorf("a token raced by 8 requests was consumed %d times, want 1", wins)
	}
	// A hash is stored once: a second token with it is ECONFLICT, and of
	// racing requests exactly one stores it (spent passkey challenges).
	err = st.CreateToken(ctx, &veil.Token{Hash: hash("c"), Purpose: veil.TokenPasskeySpent, CreatedAt: t0, ExpiresAt: later})
	wantCode(t, "CreateToken(c, again)", err, veil.ECONFLICT)
	if wins := raceWins(8, func() error {
		return st.CreateToken(ctx, &veil.Token{Hash: hash("spent"), Purpose: veil.TokenPasskeySpent, CreatedAt: t0, ExpiresAt: later})
	}); wins != 1 {
		t.Errorf("one token hash stored by 8 racing requests was stored %d times, want 1", wins)
	}
}

func testOutbox(t *testing.T, open func(tb testing.TB) veil.Store) {
	t.Parallel()
	st := open(t)
	ctx := t.Context()
	var ids []int64
	for i, at := range []time.Time{t0.Add(2 * time.Second), t0, t0.Add(3 * time.Hour)} {
		j := &veil.Job{Kind: veil.JobRecover, Subject: string(rune('a' + i)), CreatedAt: t0, NextAttemptAt: at}
		if err := st.EnqueueJob(ctx, j); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
	}
	now := t0.Add(5 * time.Second)
	first, err := st.ClaimJob(ctx, now, time.Minute)
	if err != nil || first.ID != ids[1] {
		t.Fatalf("ClaimJob = %+v, %v; want the earliest due job %d", first, err, ids[1])
	}
	second, err := st.ClaimJob(ctx, now, time.Minute)
	if err != nil || second.ID != ids[0] {
		t.Fatalf("second ClaimJob = %+v, %v; want %d (the first is leased)", second, err, ids[0])
	}
	_, err = st.ClaimJob(ctx, now, time.Minute)
	wantCode(t, "ClaimJob(nothing due)", err, veil.ENOTFOUND)

	// A lease that runs out (a worker died) lets the job be claimed again.
	again, err := st.ClaimJob(ctx, now.Add(2*time.Minute), time.Minute)
	if err != nil || (again.ID != ids[0] && again.ID != ids[1]) {
		t.Fatalf("ClaimJob after the lease = %+v, %v", again, err)
	}
	if err := st.CompleteJob(ctx, again.ID); err != nil {
		t.Fatal(err)
	}
	other := ids[0] + ids[1] - again.ID
	if err := st.FailJob(ctx, other, "smtp: 451 try later", now.Add(time.Hour), false); err != nil {
		t.Fatal(err)
	}
	_, err = st.ClaimJob(ctx, now.Add(3*time.Minute), time.Minute)
	wantCode(t, "ClaimJob(failed job before its retry time)", err, veil.ENOTFOUND)
	retried, err := st.ClaimJob(ctx, now.Add(time.Hour), time.Minute)
	if err != nil || retried.ID != other || retried.Attempts != 1 || retried.LastError != "smtp: 451 try later" {
		t.Fatalf("ClaimJob at the retry time = %+v, %v", retried, err)
	}
	if err := st.FailJob(ctx, other, "gave up", now, true); err != nil {
		t.Fatal(err)
	}
	dead, err := st.ListJobs(ctx, veil.JobDead, 10)
	if err != nil || len(dead) != 1 || dead[0].ID != other || dead[0].State != veil.JobDead {
		t.Fatalf("ListJobs(dead) = %v, %v", dead, err)
	}
	wantCode(t, "RetryJob(a done job)", st.RetryJob(ctx, again.ID, now), veil.ENOTFOUND)
	if err := st.RetryJob(ctx, other, now.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	// Two pending now: the retried one and the job due at t0+3h.
	testConcurrentClaims(t, st, now.Add(3*time.Hour), 2)
}

// testConcurrentClaims checks that racing workers never claim one job twice.
func testConcurrentClaims(t *testing.T, st veil.Store, now time.Time, want int) {
	t.Helper()
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			for {
				j, err := st.ClaimJob(t.Context(), now, time.Minute)
				if err != nil {
					return
				}
				mu.Lock()
				seen[j.ID]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != want {
		t.Errorf("racing workers claimed %d distinct jobs, want %d", len(seen), want)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("job %d was claimed %d times by racing workers", id, n)
		}
	}
}
