package redis_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/redis"
	"github.com/veil-id/veil/veiltest"
)

// MustOpen returns a throttle store on the Redis of VEIL_TEST_REDIS under
// a prefix of its own, deleted when tb ends.
func MustOpen(tb testing.TB) *redis.ThrottleStore {
	tb.Helper()
	return mustOpenWith(tb, redis.Open)
}

// testStore is what the tests need of either store.
type testStore interface {
	Ping(context.Context) error
	Client() *goredis.Client
	Prefix() string
	Close() error
}

// mustOpenWith opens a store with open under a random prefix, checks that
// the server answers, and deletes every key under that prefix when tb ends.
func mustOpenWith[S testStore](tb testing.TB, open func(string, redis.Options) (S, error)) S {
	tb.Helper()
	url := veiltest.RequireServer(tb, "VEIL_TEST_REDIS", "Redis")
	var b [6]byte
	rand.Read(b[:])
	st, err := open(url, redis.Options{Prefix: "veil-test:" + hex.EncodeToString(b[:]) + ":"})
	if err != nil {
		tb.Fatal(err)
	}
	if err := st.Ping(context.Background()); err != nil {
		tb.Fatalf("VEIL_TEST_REDIS does not answer: %v", err)
	}
	tb.Cleanup(func() {
		ctx := context.Background()
		keys, _ := st.Client().Keys(ctx, st.Prefix()+"*").Result()
		if len(keys) > 0 {
			st.Client().Del(ctx, keys...)
		}
		st.Close()
	})
	return st
}

func TestThrottleStore(t *testing.T) {
	veiltest.RequireServer(t, "VEIL_TEST_REDIS", "Redis")
	veiltest.RunThrottleStoreTests(t, func(tb testing.TB) veil.ThrottleStore { return MustOpen(tb) })
}

// TestEveryKeyExpires checks what the conformance suite cannot see from
// outside: each kind of write leaves a key with an expiry — counters,
// blocks, reservations, slow-lane turns and spent proofs — so nothing an
// attacker sprays stays in Redis for ever.
func TestEveryKeyExpires(t *testing.T) {
	st := MustOpen(t)
	ctx := t.Context()
	b := veil.ThrottleBucket{Key: "login:s:a", TTL: time.Hour, ChallengeAt: 1, BlockAfter: 3, BlockFor: time.Minute, BlockMax: time.Hour, SlowLane: true}
	g := veil.ThrottleBucket{Key: "login:g:1", TTL: 2 * time.Minute, Prior: "login:g:0", PriorWeight: 0.5}
	r := &veil.ThrottleReservation{Buckets: []veil.ThrottleBucket{b, g}, Hold: time.Minute, SlowLane: time.Second}
	first, err := st.Reserve(ctx, r)
	if err != nil || !first.Admitted {
		t.Fatalf("Reserve = %+v, %v", first, err)
	}
	r.Proof, r.ProofUntil = "pow:nonce", time.Now().Add(time.Minute)
	if d, err := st.Reserve(ctx, r); err != nil || !d.Proved { // a proof, then the slow lane
		t.Fatalf("Reserve with a proof = %+v, %v", d, err)
	}
	if d, err := st.Reserve(ctx, r); err != nil || !d.SlowLane {
		t.Fatalf("Reserve on the slow lane = %+v, %v", d, err)
	}
	for range 3 { // the third failure blocks
		if _, err := st.Settle(ctx, &veil.ThrottleSettlement{Ticket: first.Ticket, Buckets: r.Buckets, Failure: true}); err != nil {
			t.Fatal(err)
		}
	}
	keys, err := st.Client().Keys(ctx, st.Prefix()+"*").Result()
	if err != nil || len(keys) != 6 {
		t.Fatalf("keys = %q, %v; want 6", keys, err)
	}
	for _, k := range keys {
		ttl, err := st.Client().PTTL(ctx, k).Result()
		if err != nil || ttl <= 0 {
			t.Errorf("key %s has PTTL %v (%v), want an expiry", strings.TrimPrefix(k, st.Prefix()), ttl, err)
		}
	}
}

// TestUnreachable checks that a Redis that is not there fails fast with an
// error that names no URL, so the throttle can fail closed or fall back.
func TestUnreachable(t *testing.T) {
	st, err := redis.Open("redis://:hunter2@127.0.0.1:1/0", redis.Options{Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	start := time.Now()
	_, err = st.Records(t.Context(), []string{"k"})
	if err == nil {
		t.Fatal("Records on a closed port succeeded")
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("failing took %v", took)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error shows the password: %v", err)
	}
	if _, err := redis.Open("http://example.com", redis.Options{}); err == nil {
		t.Error("Open accepted a URL that is not redis://")
	}
}
