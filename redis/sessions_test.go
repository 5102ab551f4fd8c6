package redis_test

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/redis"
	"github.com/veil-id/veil/veiltest"
)

// MustOpenSessionStore returns a session store on the Redis of
// VEIL_TEST_REDIS under a prefix of its own, deleted when tb ends.
func MustOpenSessionStore(tb testing.TB) *redis.SessionStore {
	tb.Helper()
	return mustOpenWith(tb, redis.OpenSessionStore)
}

func TestSessionStore(t *testing.T) {
	veiltest.RequireServer(t, "VEIL_TEST_REDIS", "Redis")
	veiltest.RunSessionStoreTests(t, func(tb testing.TB) veil.SessionStore { return MustOpenSessionStore(tb) })
}

// keys returns every key under the store's prefix, without the prefix.
func keys(tb testing.TB, st *redis.SessionStore) []string {
	tb.Helper()
	all, err := st.Client().Keys(tb.Context(), st.Prefix()+"*").Result()
	if err != nil {
		tb.Fatal(err)
	}
	for i, k := range all {
		all[i] = strings.TrimPrefix(k, st.Prefix())
	}
	return all
}

func newSession(accountID string, created, expires time.Time) *veil.Session {
	_, idHash := veil.NewSessionToken()
	return &veil.Session{IDHash: idHash, AccountID: accountID, CreatedAt: created, LastSeenAt: created, ExpiresAt: expires}
}

func mustCreate(tb testing.TB, st *redis.SessionStore, s *veil.Session) *veil.Session {
	tb.Helper()
	if err := st.CreateSession(tb.Context(), s); err != nil {
		tb.Fatalf("CreateSession: %v", err)
	}
	return s
}

// TestSessionKeysExpire checks what the conformance suite cannot see from
// outside: after every kind of write each key under the prefix has an
// expiry, a session's hash expires an hour after its absolute expiry (or
// an hour from now if that is past), and the sets live as long as their
// longest-lived session.
func TestSessionKeysExpire(t *testing.T) {
	st := MustOpenSessionStore(t)
	ctx := t.Context()
	now := time.Now()
	a, b := veil.NewAccountID(), veil.NewAccountID()
	live := mustCreate(t, st, newSession(a, now, now.Add(24*time.Hour)))
	first := mustCreate(t, st, newSession(b, now, now.Add(30*24*time.Hour)))
	past := mustCreate(t, st, newSession(a, now.Add(-48*time.Hour), now.Add(-24*time.Hour)))
	doomed := mustCreate(t, st, newSession(a, now, now.Add(time.Hour)))
	if err := st.TouchSession(ctx, live.IDHash, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteSession(ctx, doomed.IDHash); err != nil {
		t.Fatal(err)
	}
	// Emptied and made again: a set Redis deleted when it emptied must get
	// an expiry when it comes back.
	if _, err := st.DeleteAccountSessions(ctx, b); err != nil {
		t.Fatal(err)
	}
	longest := mustCreate(t, st, newSession(b, now, now.Add(29*24*time.Hour)))

	wantExpiry := map[string]time.Time{
		"s:" + hex.EncodeToString(live.IDHash):    live.ExpiresAt.Add(time.Hour),
		"s:" + hex.EncodeToString(past.IDHash):    now.Add(time.Hour),
		"s:" + hex.EncodeToString(longest.IDHash): longest.ExpiresAt.Add(time.Hour),
		"a:" + a: live.ExpiresAt.Add(time.Hour),
		"a:" + b: longest.ExpiresAt.Add(time.Hour),
		// Only ever extended: first is gone, but was the longest-lived.
		"expires": first.ExpiresAt.Add(time.Hour),
		"seen":    first.ExpiresAt.Add(time.Hour),
	}
	got := keys(t, st)
	if len(got) != len(wantExpiry) {
		t.Errorf("keys = %q, want %d keys", got, len(wantExpiry))
	}
	for _, k := range got {
		want, ok := wantExpiry[k]
		if !ok {
			t.Errorf("unexpected key %s", k)
			continue
		}
		ttl, err := st.Client().PTTL(ctx, st.Prefix()+k).Result()
		if err != nil || ttl <= 0 {
			t.Errorf("key %s has PTTL %v (%v), want an expiry", k, ttl, err)
			continue
		}
		// The test's own run time separates now from each write.
		if at := time.Now().Add(ttl); at.Before(want.Add(-10*time.Second)) || at.After(want.Add(10*time.Second)) {
			t.Errorf("key %s expires at %v, want %v", k, at, want)
		}
	}
}

// TestNothingLeftBehind ends sessions in every way there is and checks
// that no key stays: the indexes do not outlive what they index.
func TestNothingLeftBehind(t *testing.T) {
	st := MustOpenSessionStore(t)
	ctx := t.Context()
	now := time.Now()
	a, b := veil.NewAccountID(), veil.NewAccountID()
	one := mustCreate(t, st, newSession(a, now, now.Add(time.Hour)))
	mustCreate(t, st, newSession(b, now, now.Add(time.Hour)))
	mustCreate(t, st, newSession(b, now, now.Add(time.Hour)))
	expired := mustCreate(t, st, newSession(a, now.Add(-2*time.Hour), now.Add(-time.Hour)))
	if err := st.DeleteSession(ctx, one.IDHash); err != nil {
		t.Fatal(err)
	}
	if n, err := st.DeleteAccountSessions(ctx, b); err != nil || n != 2 {
		t.Fatalf("DeleteAccountSessions = %d, %v; want 2", n, err)
	}
	if n, err := st.DeleteExpiredSessions(ctx, now, now.Add(-24*time.Hour)); err != nil || n != 1 {
		t.Fatalf("DeleteExpiredSessions = %d, %v; want 1 (%x)", n, err, expired.IDHash)
	}
	if got := keys(t, st); len(got) != 0 {
		t.Errorf("keys left = %q, want none", got)
	}
}

// TestSessionExpiredByRedis removes a session's hash as Redis does when its
// expiry comes before veil's sweeper: it must be gone for every method,
// and the index entries it leaves must be cleaned up, not counted.
func TestSessionExpiredByRedis(t *testing.T) {
	st := MustOpenSessionStore(t)
	ctx := t.Context()
	now := time.Now()
	a := veil.NewAccountID()
	gone := mustCreate(t, st, newSession(a, now.Add(-time.Hour), now.Add(-time.Minute)))
	kept := mustCreate(t, st, newSession(a, now, now.Add(time.Hour)))
	goneID := hex.EncodeToString(gone.IDHash)
	if err := st.Client().Del(ctx, st.Prefix()+"s:"+goneID).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := st.FindSession(ctx, gone.IDHash); veil.ErrorCode(err) != veil.ENOTFOUND {
		t.Errorf("FindSession(expired by Redis) = %v, want ENOTFOUND", err)
	}
	for _, account := range []string{"", a} {
		if list, err := st.ListSessions(ctx, account); err != nil || len(list) != 1 || !bytes.Equal(list[0].IDHash, kept.IDHash) {
			t.Errorf("ListSessions(%q) = %d sessions, %v; want only the live one", account, len(list), err)
		}
	}
	if err := st.TouchSession(ctx, gone.IDHash, now); err != nil {
		t.Errorf("TouchSession(expired by Redis) = %v", err)
	}
	if n, err := st.DeleteExpiredSessions(ctx, now, now.Add(-24*time.Hour)); err != nil || n != 0 {
		t.Errorf("DeleteExpiredSessions = %d, %v; want 0: Redis deleted it, not the sweep", n, err)
	}
	for _, index := range []string{"expires", "seen"} {
		if _, err := st.Client().ZScore(ctx, st.Prefix()+index, goneID).Result(); err == nil {
			t.Errorf("the %s index still holds the session Redis expired", index)
		}
	}
	// The account's set is cleaned by the account's next sign-in.
	mustCreate(t, st, newSession(a, now, now.Add(time.Hour)))
	if ok, err := st.Client().SIsMember(ctx, st.Prefix()+"a:"+a, goneID).Result(); err != nil || ok {
		t.Errorf("the account's set still holds the session Redis expired (%v)", err)
	}
	if n, err := st.DeleteAccountSessions(ctx, a); err != nil || n != 2 {
		t.Errorf("DeleteAccountSessions = %d, %v; want the 2 live sessions", n, err)
	}
}

// TestSessionClientTextExact checks that what a client sent comes back
// byte for byte: Redis strings are bytes, nothing needs replacing.
func TestSessionClientTextExact(t *testing.T) {
	st := MustOpenSessionStore(t)
	now := time.Now()
	for _, text := range []string{"", "\xff\xfe not UTF-8", "nul\x00inside", "ünï\u200bcode\u202e", strings.Repeat("🌸", 64)} {
		s := newSession(veil.NewAccountID(), now, now.Add(time.Hour))
		s.UserAgent, s.ClientAddr = text, text+"@addr"
		mustCreate(t, st, s)
		got, err := st.FindSession(t.Context(), s.IDHash)
		if err != nil || got.UserAgent != s.UserAgent || got.ClientAddr != s.ClientAddr {
			t.Errorf("FindSession(UserAgent %q) = %+v, %v", text, got, err)
		}
	}
}

// TestManySessions lists and sweeps more sessions than one batch holds.
func TestManySessions(t *testing.T) {
	st := MustOpenSessionStore(t)
	ctx := t.Context()
	now := time.Now()
	const n = 600
	for i := range n {
		mustCreate(t, st, newSession(veil.NewAccountID(), now.Add(-time.Duration(i)*time.Second), now.Add(-time.Minute)))
	}
	list, err := st.ListSessions(ctx, "")
	if err != nil || len(list) != n {
		t.Fatalf("ListSessions = %d sessions, %v; want %d", len(list), err, n)
	}
	for i := 1; i < len(list); i++ {
		if !list[i].CreatedAt.Before(list[i-1].CreatedAt) {
			t.Fatalf("ListSessions[%d] made %v, after [%d] made %v: want newest first", i, list[i].CreatedAt, i-1, list[i-1].CreatedAt)
		}
	}
	if got, err := st.DeleteExpiredSessions(ctx, now, now.Add(-24*time.Hour)); err != nil || got != n {
		t.Errorf("DeleteExpiredSessions = %d, %v; want %d", got, err, n)
	}
	if left := keys(t, st); len(left) != 0 {
		t.Errorf("%d keys left after the sweep, want none", len(left))
	}
}

// TestSessionStoreUnreachable checks that a Redis that is not there fails
// fast, with an error that is not ENOTFOUND (an outage is not "signed
// out") and names no URL.
func TestSessionStoreUnreachable(t *testing.T) {
	st, err := redis.OpenSessionStore("redis://:hunter2@127.0.0.1:1/0", redis.Options{Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	start := time.Now()
	_, idHash := veil.NewSessionToken()
	_, err = st.FindSession(t.Context(), idHash)
	if err == nil || veil.ErrorCode(err) == veil.ENOTFOUND {
		t.Fatalf("FindSession on a closed port = %v, want an internal error", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("failing took %v", took)
	}
	if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), hex.EncodeToString(idHash)) {
		t.Errorf("error shows the password or the key: %v", err)
	}
}
