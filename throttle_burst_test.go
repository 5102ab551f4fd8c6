package veil_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/password"
	"github.com/veil-id/veil/redis"
	"github.com/veil-id/veil/sqlite/sqlitetest"
	"github.com/veil-id/veil/sqlstore"
	"github.com/veil-id/veil/throttle"
	"github.com/veil-id/veil/veiltest"
)

// checkCounter is a real hasher that counts the verifications it ran and
// holds each one as long as a production hash takes, so that a burst's
// requests are all in flight at once, as they are against argon2id.
type checkCounter struct {
	veil.PasswordHasher
	checks atomic.Int64
	hold   time.Duration
}

func (h *checkCounter) VerifyPassword(ctx context.Context, encoded, pw string) (bool, bool, error) {
	match, stale, err := h.PasswordHasher.VerifyPassword(ctx, encoded, pw)
	if err == nil {
		h.checks.Add(1)
		time.Sleep(h.hold)
	}
	return match, stale, err
}

// burstService is a Service on real SQLite whose throttle counts on store,
// with the default policy, and whose hasher counts what it checks.
func burstService(tb testing.TB, store veil.ThrottleStore) (*veil.Service, *checkCounter) {
	tb.Helper()
	h, err := password.New(password.Config{Params: password.Params{Memory: 1024, Iterations: 1, Parallelism: 1}, Concurrency: 64, Queue: 64})
	if err != nil {
		tb.Fatal(err)
	}
	ch := &checkCounter{PasswordHasher: h, hold: 30 * time.Millisecond}
	th, err := throttle.New(throttle.Config{Store: store, Secret: []byte("burst test throttle secret, 32 bytes+"), Logger: discardLogger()})
	if err != nil {
		tb.Fatal(err)
	}
	db := sqlitetest.MustOpen(tb)
	s, err := veil.NewService(context.Background(), veil.ServiceConfig{
		Accounts: db, Sessions: db, Hasher: ch, Throttle: th, Auditor: &recordingAuditor{},
		Key: veil.IdentifierKey("0123456789abcdef0123456789abcdef"),
	})
	if err != nil {
		tb.Fatal(err)
	}
	return s, ch
}

// burst releases n wrong-password sign-ins for identifier from addr at
// once, behind a barrier, and returns how many passwords were checked.
func burst(tb testing.TB, s *veil.Service, ch *checkCounter, n int, identifier, addr string) int64 {
	tb.Helper()
	before := ch.checks.Load()
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			<-start
			s.Login(context.Background(), veil.LoginRequest{Identifier: identifier, Password: "wrong password", Client: veil.Client{Addr: addr}})
		})
	}
	close(start)
	wg.Wait()
	return ch.checks.Load() - before
}

// mustOpenRedisThrottle returns a throttle store on VEIL_TEST_REDIS under a
// prefix of its own, whose keys are deleted when tb ends.
func mustOpenRedisThrottle(tb testing.TB) *redis.ThrottleStore {
	tb.Helper()
	url := veiltest.RequireServer(tb, "VEIL_TEST_REDIS", "Redis")
	var b [6]byte
	rand.Read(b[:])
	st, err := redis.Open(url, redis.Options{Prefix: "veil-test:" + hex.EncodeToString(b[:]) + ":"})
	if err != nil {
		tb.Fatal(err)
	}
	if err := st.Ping(context.Background()); err != nil {
		tb.Fatalf("VEIL_TEST_REDIS does not answer: %v", err)
	}
	tb.Cleanup(func() {
		ctx := context.Background()
		if keys, _ := st.Client().Keys(ctx, st.Prefix()+"*").Result(); len(keys) > 0 {
			st.Client().Del(ctx, keys...)
		}
		st.Close()
	})
	return st
}

// burstStores are the throttle stores a burst test runs on: in memory and
// on Redis, whose script must decide as atomically.
var burstStores = []struct {
	name string
	open func(testing.TB) veil.ThrottleStore
}{
	{"memory", func(testing.TB) veil.ThrottleStore {
		return throttle.NewMemoryStore(throttle.MemoryConfig{Limit: 1 << 20})
	}},
	{"redis", func(tb testing.TB) veil.ThrottleStore { return mustOpenRedisThrottle(tb) }},
}

// TestBurstGetsNoMoreChecksThanThePolicy releases 30 wrong guesses at once
// on one identifier, an existing one and an unknown one, each from its own
// address: the throttle must reserve each attempt before its check, so the
// burst gets the default policy's 5 free checks and one slow-lane turn —
// no more, and exactly as many for both identifiers.
func TestBurstGetsNoMoreChecksThanThePolicy(t *testing.T) {
	const n = 30
	allowed := int64(throttle.DefaultPolicy.Actions[veil.ActionLogin].Subject.ChallengeAfter) + 1
	for _, st := range burstStores {
		t.Run(st.name, func(t *testing.T) {
			s, ch := burstService(t, st.open(t))
			if _, err := s.AddAccount(context.Background(), "alice@example.com", "", "correct horse battery"); err != nil {
				t.Fatal(err)
			}
			existing := burst(t, s, ch, n, "alice@example.com", "198.51.100.1")
			unknown := burst(t, s, ch, n, "nobody@example.com", "198.51.100.2")
			t.Logf("%s: %d concurrent guesses: %d checks on an existing identifier, %d on an unknown one (policy: %d)", st.name, n, existing, unknown, allowed)
			if existing > allowed || unknown > allowed {
				t.Errorf("a burst of %d got %d checks (existing) and %d (unknown), want at most %d", n, existing, unknown, allowed)
			}
			if existing != unknown {
				t.Errorf("the burst got %d checks on an existing identifier and %d on an unknown one: the throttle depends on existence", existing, unknown)
			}
		})
	}
}

// TestFaultsAreNotCounted is issue 11.1: nine right-password sign-ins at
// once against a hashing pool of one with no queue, three times over, are
// mostly answered EOVERLOADED — veil's fault, not the person's. None of
// those may count as a failed sign-in, so the next right password gets in
// rather than a 429.
func TestFaultsAreNotCounted(t *testing.T) {
	h, err := password.New(password.Config{Params: password.Params{Memory: 4096, Iterations: 3, Parallelism: 1}, Concurrency: 1, Queue: -1})
	if err != nil {
		t.Fatal(err)
	}
	th, err := throttle.New(throttle.Config{Store: throttle.NewMemoryStore(throttle.MemoryConfig{Limit: 1 << 20}), Secret: []byte("fault test throttle secret, 32 bytes+"), Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	db := sqlitetest.MustOpen(t)
	ctx := context.Background()
	s, err := veil.NewService(ctx, veil.ServiceConfig{
		Accounts: db, Sessions: db, Hasher: h, Throttle: th,
		Key: veil.IdentifierKey("0123456789abcdef0123456789abcdef"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddAccount(ctx, "alice@example.com", "", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	req := veil.LoginRequest{Identifier: "alice@example.com", Password: "correct horse battery", Client: veil.Client{Addr: "198.51.100.9"}}
	overloaded := 0
	for range 3 {
		codes := make(chan string, 9)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for range 9 {
			wg.Go(func() {
				<-start
				_, err := s.Login(ctx, req)
				codes <- veil.ErrorCode(err)
			})
		}
		close(start)
		wg.Wait()
		close(codes)
		for c := range codes {
			if c == veil.EOVERLOADED {
				overloaded++
			}
		}
	}
	if overloaded == 0 {
		t.Fatal("no sign-in found the pool full; the test proves nothing")
	}
	if _, err := s.Login(ctx, req); err != nil {
		t.Errorf("after %d overloaded sign-ins, the right password: %v (%s), want a session", overloaded, err, veil.ErrorCode(err))
	}
}

// faultyMailStore is a real database whose writes of sign-up and recovery
// jobs fail while down is set, as a database that is down does.
type faultyMailStore struct {
	*sqlstore.DB
	down atomic.Bool
}

var errStoreDown = errors.New("database is down")

func (f *faultyMailStore) CreatePendingSignUp(ctx context.Context, p *veil.PendingSignUp, job *veil.Job) error {
	if f.down.Load() {
		return errStoreDown
	}
	return f.DB.CreatePendingSignUp(ctx, p, job)
}

func (f *faultyMailStore) EnqueueJob(ctx context.Context, job *veil.Job) error {
	if f.down.Load() {
		return errStoreDown
	}
	return f.DB.EnqueueJob(ctx, job)
}

// TestMailFlowFaultsAreNotCounted: a sign-up or recovery request that a
// fault stops before its job is written is not counted against the target
// address (nor the client's), while one whose job was written is.
func TestMailFlowFaultsAreNotCounted(t *testing.T) {
	ctx := context.Background()
	key := veil.IdentifierKey("0123456789abcdef0123456789abcdef")
	store := throttle.NewMemoryStore(throttle.MemoryConfig{Limit: 1 << 20})
	th, err := throttle.New(throttle.Config{Store: store, Secret: []byte("mail fault throttle secret, 32 bytes+"), Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	h, err := password.New(password.Config{Params: password.Params{Memory: 1024, Iterations: 1, Parallelism: 1}})
	if err != nil {
		t.Fatal(err)
	}
	db := &faultyMailStore{DB: sqlitetest.MustOpen(t)}
	s, err := veil.NewService(ctx, veil.ServiceConfig{
		Accounts: db, Sessions: db, Hasher: h, Throttle: th, Key: key,
		Outbox: db, SignUps: db, Tokens: db,
	})
	if err != nil {
		t.Fatal(err)
	}
	client := veil.Client{Addr: "198.51.100.30"}
	for _, tt := range []struct {
		action string
		send   func(email string) error
	}{
		{veil.ActionSignUp, func(e string) error {
			return s.SignUp(ctx, veil.SignUpRequest{Email: e, Client: client})
		}},
		{veil.ActionRecover, func(e string) error { return s.Recover(ctx, veil.RecoverRequest{Email: e, Client: client}) }},
	} {
		email := tt.action + "@example.com"
		counted := func() string {
			recs, err := store.Records(ctx, []string{tt.action + ":s:" + key.Hash(veil.Identifier(email)), tt.action + ":a:" + client.Addr})
			if err != nil {
				t.Fatal(err)
			}
			return fmt.Sprintf("%d/%d in flight %d/%d", recs[0].Failures, recs[1].Failures, recs[0].InFlight, recs[1].InFlight)
		}
		db.down.Store(true)
		for range 8 { // past the policy's block of 5
			if err := tt.send(email); err == nil || veil.ErrorCode(err) == veil.ETHROTTLED {
				t.Fatalf("%s with the database down: %v, want its fault", tt.action, err)
			}
		}
		if got := counted(); got != "0/0 in flight 0/0" {
			t.Errorf("%s: after 8 faults the target and the client have %s failures, want none", tt.action, got)
		}
		db.down.Store(false)
		if err := tt.send(email); err != nil {
			t.Fatalf("%s with the database back: %v", tt.action, err)
		}
		if got := counted(); got != "1/1 in flight 0/0" {
			t.Errorf("%s: after one written job: %s, want 1/1", tt.action, got)
		}
	}
}
