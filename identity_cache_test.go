package veil_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/password"
	"github.com/veil-id/veil/sqlite/sqlitetest"
	"github.com/veil-id/veil/sqlstore"
	"github.com/veil-id/veil/veiltest"
)

// heldSessions holds the first FindSession after hold is set until
// release is closed, having read the session: a check caught between
// reading a session and caching it.
type heldSessions struct {
	veil.SessionStore
	mu      sync.Mutex
	hold    chan struct{} // closed once the held call has read
	release chan struct{}
}

func (h *heldSessions) FindSession(ctx context.Context, idHash []byte) (*veil.Session, error) {
	sess, err := h.SessionStore.FindSession(ctx, idHash)
	h.mu.Lock()
	hold, release := h.hold, h.release
	h.hold = nil
	h.mu.Unlock()
	if hold != nil {
		close(hold)
		<-release
	}
	return sess, err
}

func newCachingService(tb testing.TB, db *sqlstore.DB, sessions veil.SessionStore, clock veil.Clock, ttl, absolute time.Duration) *veil.Service {
	tb.Helper()
	h, err := password.New(password.Config{Params: password.Params{Memory: 1024, Iterations: 1, Parallelism: 1}})
	if err != nil {
		tb.Fatal(err)
	}
	s, err := veil.NewService(context.Background(), veil.ServiceConfig{
		Accounts: db, Sessions: sessions, Hasher: h, Clock: clock, Groups: db, IdentityCacheTTL: ttl,
		SessionPolicy: veil.SessionPolicy{IdleTimeout: time.Hour, AbsoluteTimeout: absolute},
		Key:           veil.IdentifierKey("0123456789abcdef0123456789abcdef"),
	})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// TestIdentityCacheBound: two services on one database (two instances).
// A sign-out through one is seen there at once and by the other exactly
// when its cached entry is a TTL old; a group change likewise; an entry
// never outlives its session's own expiry.
func TestIdentityCacheBound(t *testing.T) {
	ctx := context.Background()
	db := sqlitetest.MustOpen(t)
	clock := veiltest.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	const ttl = time.Minute
	a := newCachingService(t, db, db, clock, ttl, 24*time.Hour)
	b := newCachingService(t, db, db, clock, ttl, 24*time.Hour)
	if _, err := a.AddAccount(ctx, "ada@example.com", "", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	login := func() string {
		res, err := a.Login(ctx, veil.LoginRequest{Identifier: "ada@example.com", Password: "correct horse battery"})
		if err != nil {
			t.Fatal(err)
		}
		return res.Token
	}
	ok := func(s *veil.Service, token string, groups ...string) bool {
		t.Helper()
		_, g, err := s.ForwardAuthIdentity(ctx, token)
		if err != nil && veil.ErrorCode(err) != veil.ENOSESSION {
			t.Fatal(err)
		}
		if err == nil && groups != nil && !slices.Equal(g, groups) {
			t.Errorf("groups %v, want %v", g, groups)
		}
		return err == nil
	}

	token := login()
	if !ok(a, token) || !ok(b, token) {
		t.Fatal("a fresh session is refused")
	}
	if err := a.Logout(ctx, token, veil.Client{}); err != nil {
		t.Fatal(err)
	}
	if ok(a, token) {
		t.Error("the instance that signed out still lets the session in")
	}
	clock.Add(ttl - time.Second)
	if !ok(b, token) {
		t.Error("the other instance saw the sign-out before its cache ran out: is the cache on?")
	}
	clock.Add(time.Second)
	if ok(b, token) {
		t.Error("the other instance lets a signed-out session in after cache_ttl")
	}

	token = login()
	ok(b, token, []string{}...)
	if _, _, err := a.AddToGroup(ctx, "ada@example.com", "admins"); err != nil {
		t.Fatal(err)
	}
	clock.Add(ttl)
	if !ok(b, token, "admins") {
		t.Error("session refused after a group change")
	}

	short := newCachingService(t, db, db, clock, ttl, 30*time.Second)
	res, err := short.Login(ctx, veil.LoginRequest{Identifier: "ada@example.com", Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	ok(short, res.Token)
	clock.Add(30 * time.Second)
	if ok(short, res.Token) {
		t.Error("a cached session outlived its absolute expiry")
	}
}

// TestIdentityCacheSignOutDuringCheck: a check that read the session
// before a sign-out in the same process and finishes after it does not
// cache what it read, so the next check refuses at once.
func TestIdentityCacheSignOutDuringCheck(t *testing.T) {
	ctx := context.Background()
	db := sqlitetest.MustOpen(t)
	held := &heldSessions{SessionStore: db}
	s := newCachingService(t, db, held, veiltest.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)), time.Minute, time.Hour)
	if _, err := s.AddAccount(ctx, "ada@example.com", "", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	res, err := s.Login(ctx, veil.LoginRequest{Identifier: "ada@example.com", Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	reading, release := make(chan struct{}), make(chan struct{})
	held.mu.Lock()
	held.hold, held.release = reading, release
	held.mu.Unlock()
	done := make(chan error, 1)
	go func() { _, _, err := s.ForwardAuthIdentity(ctx, res.Token); done <- err }()
	<-reading
	if err := s.Logout(ctx, res.Token, veil.Client{}); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("the check that began before the sign-out: %v", err)
	}
	if _, _, err := s.ForwardAuthIdentity(ctx, res.Token); veil.ErrorCode(err) != veil.ENOSESSION {
		t.Errorf("after the sign-out the session is let in (%v): the check in flight cached it", err)
	}
}
