package veiltest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/veil-id/veil"
)

// RunThrottleStoreTests checks that a veil.ThrottleStore keeps its
// contract. open must return a fresh, empty store, cleaned up when tb's
// test ends; it is called once per subtest, and subtests run in parallel.
// The store must use the system clock: expiry is checked with short,
// real waits.
func RunThrottleStoreTests(t *testing.T, open func(tb testing.TB) veil.ThrottleStore) {
	t.Run("UnknownKeysAreZero", func(t *testing.T) { t.Parallel(); testThrottleZero(t, open(t)) })
	t.Run("AddFailures", func(t *testing.T) { t.Parallel(); testThrottleAddFailures(t, open(t)) })
	t.Run("Expiry", func(t *testing.T) { t.Parallel(); testThrottleExpiry(t, open(t)) })
	t.Run("Block", func(t *testing.T) { t.Parallel(); testThrottleBlock(t, open(t)) })
	t.Run("Forget", func(t *testing.T) { t.Parallel(); testThrottleForget(t, open(t)) })
	t.Run("Claim", func(t *testing.T) { t.Parallel(); testThrottleClaim(t, open(t)) })
	t.Run("Concurrent", func(t *testing.T) { t.Parallel(); testThrottleConcurrent(t, open(t)) })
}

const throttleTTL = time.Hour

func mustRecords(tb testing.TB, st veil.ThrottleStore, keys ...string) []veil.ThrottleRecord {
	tb.Helper()
	recs, err := st.Records(tb.Context(), keys)
	if err != nil {
		tb.Fatalf("Records(%q): %v", keys, err)
	}
	if len(recs) != len(keys) {
		tb.Fatalf("Records(%q) returned %d records", keys, len(recs))
	}
	return recs
}

func mustAddFailures(tb testing.TB, st veil.ThrottleStore, ttl time.Duration, keys ...string) []int64 {
	tb.Helper()
	incs := make([]veil.ThrottleIncrement, len(keys))
	for i, k := range keys {
		incs[i] = veil.ThrottleIncrement{Key: k, TTL: ttl}
	}
	n, err := st.AddFailures(tb.Context(), incs)
	if err != nil {
		tb.Fatalf("AddFailures(%q): %v", keys, err)
	}
	if len(n) != len(keys) {
		tb.Fatalf("AddFailures(%q) returned %d counts", keys, len(n))
	}
	return n
}

func testThrottleZero(t *testing.T, st veil.ThrottleStore) {
	for i, r := range mustRecords(t, st, "login:s:0123", "login:a:192.0.2.1", "login:a:2001:db8::/64", "") {
		if r.Failures != 0 || !r.BlockedUntil.IsZero() {
			t.Errorf("record %d of an empty store = %+v, want zero", i, r)
		}
	}
	if recs, err := st.Records(t.Context(), nil); err != nil || len(recs) != 0 {
		t.Errorf("Records(nil) = %v, %v; want none", recs, err)
	}
}

func testThrottleAddFailures(t *testing.T, st veil.ThrottleStore) {
	a, b, c := "login:s:aaaa", "login:a:198.51.100.7", "login:a:2001:db8:1:2::/64"
	tests := []struct {
		keys []string
		want []int64
	}{
		{[]string{a}, []int64{1}},
		{[]string{a, b}, []int64{2, 1}},
		{[]string{c, a, b}, []int64{1, 3, 2}},
		{[]string{a, a}, []int64{4, 5}}, // one key twice in a call counts twice
	}
	for _, tt := range tests {
		got := mustAddFailures(t, st, throttleTTL, tt.keys...)
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("AddFailures(%q) = %v, want %v", tt.keys, got, tt.want)
		}
	}
	recs := mustRecords(t, st, b, "login:s:other", a, c)
	if got := []int64{recs[0].Failures, recs[1].Failures, recs[2].Failures, recs[3].Failures}; fmt.Sprint(got) != "[2 0 5 1]" {
		t.Errorf("Records = %v, want [2 0 5 1]", got)
	}
	if !recs[0].BlockedUntil.IsZero() {
		t.Errorf("a key that was never blocked has BlockedUntil %v", recs[0].BlockedUntil)
	}
	if n, err := st.AddFailures(t.Context(), nil); err != nil || len(n) != 0 {
		t.Errorf("AddFailures(nil) = %v, %v; want none", n, err)
	}
}

// testThrottleExpiry checks that counts expire after their TTL, that a
// later failure extends it, and that a shorter TTL never shortens it.
func testThrottleExpiry(t *testing.T, st veil.ThrottleStore) {
	const short = 300 * time.Millisecond
	mustAddFailures(t, st, short, "short", "extended")
	mustAddFailures(t, st, throttleTTL, "long")
	mustAddFailures(t, st, short, "long") // must not shorten it
	time.Sleep(short / 2)
	mustAddFailures(t, st, short, "extended")
	time.Sleep(short/2 + 100*time.Millisecond)
	recs := mustRecords(t, st, "short", "extended", "long")
	if recs[0].Failures != 0 {
		t.Errorf("after its TTL a key still has %d failures", recs[0].Failures)
	}
	if recs[1].Failures != 2 {
		t.Errorf("a key whose TTL a failure extended has %d failures, want 2", recs[1].Failures)
	}
	if recs[2].Failures != 2 {
		t.Errorf("a shorter TTL shortened a key: %d failures, want 2", recs[2].Failures)
	}
	time.Sleep(short)
	if recs := mustRecords(t, st, "extended"); recs[0].Failures != 0 {
		t.Errorf("after its extended TTL a key still has %d failures", recs[0].Failures)
	}
}

func testThrottleBlock(t *testing.T, st veil.ThrottleStore) {
	now := time.Now()
	later, earlier := now.Add(10*time.Minute), now.Add(5*time.Minute)
	mustAddFailures(t, st, throttleTTL, "blocked")
	for _, until := range []time.Time{later, earlier} {
		if err := st.Block(t.Context(), "blocked", until); err != nil {
			t.Fatalf("Block: %v", err)
		}
	}
	recs := mustRecords(t, st, "blocked", "other")
	if got := recs[0].BlockedUntil; got.UnixMilli() != later.UnixMilli() {
		t.Errorf("BlockedUntil = %v, want %v (an earlier block must not shorten a later one)", got, later)
	}
	if recs[0].Failures != 1 {
		t.Errorf("blocking changed the count to %d", recs[0].Failures)
	}
	if !recs[1].BlockedUntil.IsZero() {
		t.Errorf("blocking one key blocked another")
	}
	// A block outlives a shorter TTL on its failures, and a key blocked
	// without failures exists.
	const short = 200 * time.Millisecond
	mustAddFailures(t, st, short, "outlives")
	if err := st.Block(t.Context(), "outlives", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := st.Block(t.Context(), "fresh", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(short + 150*time.Millisecond)
	recs = mustRecords(t, st, "outlives", "fresh")
	for i, r := range recs {
		if r.BlockedUntil.UnixMilli() != now.Add(time.Hour).UnixMilli() {
			t.Errorf("record %d: BlockedUntil = %v after the failures' TTL, want the block kept", i, r.BlockedUntil)
		}
	}
}

func testThrottleForget(t *testing.T, st veil.ThrottleStore) {
	mustAddFailures(t, st, throttleTTL, "gone", "kept")
	if err := st.Block(t.Context(), "gone", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := st.Forget(t.Context(), "gone", "never-there"); err != nil {
		t.Fatalf("Forget: %v", err)
	}
	recs := mustRecords(t, st, "gone", "kept")
	if recs[0] != (veil.ThrottleRecord{}) {
		t.Errorf("after Forget: %+v, want the zero record", recs[0])
	}
	if recs[1].Failures != 1 {
		t.Errorf("Forget of one key changed another: %+v", recs[1])
	}
	if err := st.Forget(t.Context()); err != nil {
		t.Errorf("Forget() = %v, want nil", err)
	}
}

func testThrottleClaim(t *testing.T, st veil.ThrottleStore) {
	claim := func(key string, until time.Time) bool {
		t.Helper()
		ok, err := st.Claim(t.Context(), key, until)
		if err != nil {
			t.Fatalf("Claim(%q): %v", key, err)
		}
		return ok
	}
	until := time.Now().Add(time.Hour)
	if !claim("pow:n1", until) {
		t.Fatal("the first claim of a key was refused")
	}
	if claim("pow:n1", until) {
		t.Error("a key was claimed twice")
	}
	if !claim("pow:n2", until) {
		t.Error("claiming one key refused another")
	}
	short := time.Now().Add(250 * time.Millisecond)
	if !claim("slow:k", short) {
		t.Fatal("the first claim of a key was refused")
	}
	time.Sleep(400 * time.Millisecond)
	if !claim("slow:k", time.Now().Add(250*time.Millisecond)) {
		t.Error("a key could not be claimed again after its claim expired")
	}
}

// testThrottleConcurrent adds failures from several goroutines at once:
// no increment may be lost, as several instances do to one shared store.
func testThrottleConcurrent(t *testing.T, st veil.ThrottleStore) {
	const workers, each = 8, 25
	var wg sync.WaitGroup
	claims := make(chan bool, workers)
	for range workers {
		wg.Go(func() {
			for range each {
				if _, err := st.AddFailures(t.Context(), []veil.ThrottleIncrement{{Key: "hot", TTL: throttleTTL}, {Key: "global", TTL: throttleTTL}}); err != nil {
					t.Errorf("AddFailures: %v", err)
					return
				}
			}
			ok, err := st.Claim(t.Context(), "pow:race", time.Now().Add(time.Hour))
			if err != nil {
				t.Errorf("Claim: %v", err)
			}
			claims <- ok
		})
	}
	wg.Wait()
	close(claims)
	won := 0
	for ok := range claims {
		if ok {
			won++
		}
	}
	if won != 1 {
		t.Errorf("%d concurrent claims of one key succeeded, want exactly 1", won)
	}
	recs := mustRecords(t, st, "hot", "global")
	for i, r := range recs {
		if r.Failures != workers*each {
			t.Errorf("key %d: %d failures after %d concurrent ones", i, r.Failures, workers*each)
		}
	}
}

// BenchmarkThrottle measures what a throttle adds to one sign-in under
// every threshold: a Check before the password check and a Done after it,
// as a failure and as a success (which issues a device cookie). Each
// iteration is a new identifier from a new address, as in a normal day's
// traffic; th should not challenge on the global rate.
func BenchmarkThrottle(b *testing.B, th veil.Throttle) {
	for _, success := range []bool{false, true} {
		name := map[bool]string{false: "failure", true: "success"}[success]
		b.Run(name, func(b *testing.B) {
			ctx := b.Context()
			// Keys of their own in each run, so that a store shared
			// between runs (Redis) never sees one twice.
			run := time.Now().UnixNano()
			i := 0
			for b.Loop() {
				i++
				a := &veil.Attempt{Action: veil.ActionLogin, Subject: fmt.Sprintf("%s%016x%010x", name[:6], run, i), Addr: fmt.Sprintf("bench-%x-%d", run, i)}
				adm, err := th.Check(ctx, a)
				if err != nil {
					b.Fatalf("Check: %v", err)
				}
				if _, err := th.Done(ctx, adm, success); err != nil {
					b.Fatalf("Done: %v", err)
				}
			}
		})
	}
}
