package veiltest

import (
	"fmt"
	"sync"
	"sync/atomic"
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
	for _, tt := range []struct {
		name string
		test func(*testing.T, veil.ThrottleStore)
	}{
		{"UnknownKeysAreZero", testThrottleZero},
		{"ReserveAndSettle", testThrottleReserveSettle},
		{"ReservationsCountLikeFailures", testThrottleInFlight},
		{"BurstStopsAtBlock", testThrottleBusy},
		{"BlockEscalates", testThrottleBlock},
		{"Expiry", testThrottleExpiry},
		{"UnsettledReservationsLapse", testThrottleLapse},
		{"ProofIsSpentOnceAndOnlyWhenNeeded", testThrottleProof},
		{"SlowLaneAllOrNothing", testThrottleSlowLane},
		{"PriorWindow", testThrottlePrior},
		{"Forget", testThrottleForget},
		{"Concurrent", testThrottleConcurrent},
		{"ConcurrentBurst", testThrottleBurst},
	} {
		t.Run(tt.name, func(t *testing.T) { t.Parallel(); tt.test(t, open(t)) })
	}
}

const (
	throttleTTL  = time.Hour
	throttleHold = time.Minute
	slowLane     = 10 * time.Second
)

// plain is a bucket that counts failures and asks for nothing.
func plain(key string) veil.ThrottleBucket {
	return veil.ThrottleBucket{Key: key, TTL: throttleTTL, SlowLane: true}
}

func reservation(bs ...veil.ThrottleBucket) *veil.ThrottleReservation {
	return &veil.ThrottleReservation{Buckets: bs, Hold: throttleHold, SlowLane: slowLane}
}

func mustReserve(tb testing.TB, st veil.ThrottleStore, r *veil.ThrottleReservation) *veil.ThrottleDecision {
	tb.Helper()
	d, err := st.Reserve(tb.Context(), r)
	if err != nil {
		tb.Fatalf("Reserve: %v", err)
	}
	if len(d.Records) != len(r.Buckets) {
		tb.Fatalf("Reserve returned %d records for %d buckets", len(d.Records), len(r.Buckets))
	}
	return d
}

func mustSettle(tb testing.TB, st veil.ThrottleStore, d *veil.ThrottleDecision, failure bool, bs ...veil.ThrottleBucket) []veil.ThrottleRecord {
	tb.Helper()
	recs, err := st.Settle(tb.Context(), &veil.ThrottleSettlement{Ticket: d.Ticket, Buckets: bs, Failure: failure})
	if err != nil {
		tb.Fatalf("Settle: %v", err)
	}
	if len(recs) != len(bs) {
		tb.Fatalf("Settle returned %d records for %d buckets", len(recs), len(bs))
	}
	return recs
}

// mustFail makes one admitted attempt on bs that fails.
func mustFail(tb testing.TB, st veil.ThrottleStore, bs ...veil.ThrottleBucket) []veil.ThrottleRecord {
	tb.Helper()
	d := mustReserve(tb, st, reservation(bs...))
	if !d.Admitted {
		tb.Fatalf("Reserve(%v) = %+v, want admitted", bs, d)
	}
	return mustSettle(tb, st, d, true, bs...)
}

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

func counts(recs []veil.ThrottleRecord) string {
	out := ""
	for _, r := range recs {
		out += fmt.Sprintf("[f%d i%d]", r.Failures, r.InFlight)
	}
	return out
}

func testThrottleZero(t *testing.T, st veil.ThrottleStore) {
	for i, r := range mustRecords(t, st, "login:s:0123", "login:a:192.0.2.1", "login:a:2001:db8::/64", "") {
		if r != (veil.ThrottleRecord{}) {
			t.Errorf("record %d of an empty store = %+v, want zero", i, r)
		}
	}
	if recs, err := st.Records(t.Context(), nil); err != nil || len(recs) != 0 {
		t.Errorf("Records(nil) = %v, %v; want none", recs, err)
	}
}

// testThrottleReserveSettle walks reservations through both ends: a
// failure is counted, a release is not, and each is in flight until then.
func testThrottleReserveSettle(t *testing.T, st veil.ThrottleStore) {
	a, b := plain("login:s:aaaa"), plain("login:a:2001:db8:1:2::/64")
	first := mustReserve(t, st, reservation(a, b))
	second := mustReserve(t, st, reservation(a))
	if !first.Admitted || !second.Admitted || first.Challenged || first.Blocked || first.Busy {
		t.Fatalf("fresh buckets: %+v, %+v; want both admitted", first, second)
	}
	if got := counts(mustRecords(t, st, a.Key, b.Key, "other")); got != "[f0 i2][f0 i1][f0 i0]" {
		t.Errorf("in flight: %s, want [f0 i2][f0 i1][f0 i0]", got)
	}
	if got := counts(mustSettle(t, st, first, true, a, b)); got != "[f1 i1][f1 i0]" {
		t.Errorf("after a failure: %s, want [f1 i1][f1 i0]", got)
	}
	if got := counts(mustSettle(t, st, second, false, a)); got != "[f1 i0]" {
		t.Errorf("after a release: %s, want [f1 i0]", got)
	}
	if got := counts(mustRecords(t, st, a.Key, b.Key)); got != "[f1 i0][f1 i0]" {
		t.Errorf("Records after settling: %s, want [f1 i0][f1 i0]", got)
	}
	// Settling twice, or a ticket the store never gave, releases nothing
	// more; a failure is still counted.
	if got := counts(mustSettle(t, st, second, false, a)); got != "[f1 i0]" {
		t.Errorf("after a second release: %s, want [f1 i0]", got)
	}
	if got := counts(mustSettle(t, st, &veil.ThrottleDecision{Ticket: "no such ticket"}, true, a)); got != "[f2 i0]" {
		t.Errorf("a failure on an unknown ticket: %s, want [f2 i0]", got)
	}
}

// testThrottleInFlight checks that reservations in flight count like
// failures toward a challenge, and that a challenged attempt without a
// proof gets one slow-lane turn and then is told how long to wait.
func testThrottleInFlight(t *testing.T, st veil.ThrottleStore) {
	b := plain("login:s:inflight")
	b.ChallengeAt = 3
	mustFail(t, st, b)
	for i := range 2 {
		if d := mustReserve(t, st, reservation(b)); !d.Admitted || d.Challenged {
			t.Fatalf("reservation %d with load %d of 3: %+v, want admitted unchallenged", i+2, i+1, d)
		}
	}
	d := mustReserve(t, st, reservation(b))
	if !d.Admitted || !d.Challenged || !d.SlowLane || d.Proved {
		t.Fatalf("at the challenge, without a proof: %+v, want admitted on a slow-lane turn", d)
	}
	if d.Records[0].Failures != 1 || d.Records[0].InFlight != 2 {
		t.Errorf("the decision saw %+v, want 1 failure and 2 in flight", d.Records[0])
	}
	d = mustReserve(t, st, reservation(b))
	if d.Admitted || !d.Challenged || d.Blocked || d.Busy || d.RetryAfter <= slowLane-2*time.Second || d.RetryAfter > slowLane {
		t.Errorf("slow-lane turn taken: %+v, want refused, challenged, RetryAfter just under %v", d, slowLane)
	}
}

// testThrottleBusy checks the in-flight bound: no more attempts in flight
// than failures are left before the block, and at least one after it.
func testThrottleBusy(t *testing.T, st veil.ThrottleStore) {
	b := plain("login:s:busy")
	b.BlockAfter, b.BlockFor, b.BlockMax = 3, time.Hour, time.Hour
	var held []*veil.ThrottleDecision
	for range 3 {
		d := mustReserve(t, st, reservation(b))
		if !d.Admitted {
			t.Fatalf("reservation %d of 3: %+v", len(held)+1, d)
		}
		held = append(held, d)
	}
	if d := mustReserve(t, st, reservation(b)); d.Admitted || !d.Busy || d.Blocked {
		t.Fatalf("a 4th in flight with block_after 3: %+v, want busy", d)
	}
	mustSettle(t, st, held[0], true, b)
	if d := mustReserve(t, st, reservation(b)); d.Admitted || !d.Busy {
		t.Errorf("1 failure and 2 in flight, block_after 3: %+v, want busy", d)
	}
	mustSettle(t, st, held[1], false, b) // a release frees a place
	d := mustReserve(t, st, reservation(b))
	if !d.Admitted {
		t.Fatalf("1 failure and 1 in flight: %+v, want admitted", d)
	}
	mustSettle(t, st, held[2], true, b)
	recs := mustSettle(t, st, d, true, b)
	if recs[0].Failures != 3 || recs[0].BlockedUntil.Before(time.Now().Add(59*time.Minute)) {
		t.Fatalf("the 3rd failure: %+v, want blocked for an hour", recs[0])
	}
	if d := mustReserve(t, st, reservation(b)); d.Admitted || !d.Blocked || d.RetryAfter < 59*time.Minute || d.RetryAfter > time.Hour {
		t.Errorf("blocked: %+v, want refused for about an hour", d)
	}
}

// testThrottleBlock checks the escalation: each failure from BlockAfter on
// blocks twice as long, up to BlockMax; an earlier block never shortens a
// later one, and a block outlives the failures' TTL.
func testThrottleBlock(t *testing.T, st veil.ThrottleStore) {
	b := plain("login:s:block")
	b.BlockAfter, b.BlockFor, b.BlockMax = 2, 10*time.Minute, 30*time.Minute
	other := plain("login:a:192.0.2.9")
	for i, want := range []time.Duration{0, 10 * time.Minute, 20 * time.Minute, 30 * time.Minute} {
		recs := mustSettle(t, st, &veil.ThrottleDecision{}, true, b, other) // as a burst's late failures do
		got := time.Duration(0)
		if !recs[0].BlockedUntil.IsZero() {
			got = time.Until(recs[0].BlockedUntil)
		}
		if got > want || got < want-5*time.Second {
			t.Errorf("failure %d: blocked for %v, want %v", i+1, got, want)
		}
		if !recs[1].BlockedUntil.IsZero() {
			t.Errorf("failure %d blocked a bucket without an escalation", i+1)
		}
	}
	short := plain("login:s:outlives")
	short.TTL, short.BlockAfter, short.BlockFor, short.BlockMax = 200*time.Millisecond, 1, time.Hour, time.Hour
	mustSettle(t, st, &veil.ThrottleDecision{}, true, short)
	time.Sleep(350 * time.Millisecond)
	if r := mustRecords(t, st, short.Key)[0]; r.BlockedUntil.Before(time.Now().Add(59 * time.Minute)) {
		t.Errorf("after the failures' TTL: %+v, want the block kept", r)
	}
}

// testThrottleExpiry checks that counts expire after their TTL, that a
// later failure extends it, and that a shorter TTL never shortens it.
func testThrottleExpiry(t *testing.T, st veil.ThrottleStore) {
	const short = 300 * time.Millisecond
	fail := func(ttl time.Duration, keys ...string) {
		t.Helper()
		bs := make([]veil.ThrottleBucket, len(keys))
		for i, k := range keys {
			bs[i] = veil.ThrottleBucket{Key: k, TTL: ttl}
		}
		mustSettle(t, st, &veil.ThrottleDecision{}, true, bs...)
	}
	fail(short, "short", "extended")
	fail(throttleTTL, "long")
	fail(short, "long") // must not shorten it
	time.Sleep(short / 2)
	fail(short, "extended")
	time.Sleep(short/2 + 100*time.Millisecond)
	if got := counts(mustRecords(t, st, "short", "extended", "long")); got != "[f0 i0][f2 i0][f2 i0]" {
		t.Errorf("after the first TTL: %s, want [f0 i0][f2 i0][f2 i0]", got)
	}
	time.Sleep(short)
	if recs := mustRecords(t, st, "extended"); recs[0].Failures != 0 {
		t.Errorf("after its extended TTL a key still has %d failures", recs[0].Failures)
	}
}

// testThrottleLapse checks that a reservation never settled stops counting
// after at most twice its Hold, and that a late failure still counts.
func testThrottleLapse(t *testing.T, st veil.ThrottleStore) {
	const hold = 200 * time.Millisecond
	b := plain("login:s:lapse")
	b.BlockAfter, b.BlockFor, b.BlockMax = 5, time.Hour, time.Hour
	r := reservation(b)
	r.Hold = hold
	var lost *veil.ThrottleDecision
	for range 5 {
		lost = mustReserve(t, st, r)
	}
	if d := mustReserve(t, st, r); d.Admitted || !d.Busy {
		t.Fatalf("6th in flight: %+v, want busy", d)
	}
	time.Sleep(2*hold + 150*time.Millisecond)
	if got := mustRecords(t, st, b.Key)[0]; got.InFlight != 0 {
		t.Errorf("after twice the hold: %d in flight, want 0", got.InFlight)
	}
	if d := mustReserve(t, st, r); !d.Admitted {
		t.Errorf("after the reservations lapsed: %+v, want admitted", d)
	}
	if recs := mustSettle(t, st, lost, true, b); recs[0].Failures != 1 || recs[0].InFlight != 1 {
		t.Errorf("a failure settled after its reservation lapsed: %+v, want 1 failure, the new one in flight", recs[0])
	}
}

// testThrottleProof checks that a proof is claimed only when a bucket asks
// for one, once, and that a spent proof falls back on the slow lane.
func testThrottleProof(t *testing.T, st veil.ThrottleStore) {
	b := plain("login:s:proof")
	b.ChallengeAt = 1
	withProof := func(nonce string) *veil.ThrottleReservation {
		r := reservation(b)
		r.Proof, r.ProofUntil = "pow:"+nonce, time.Now().Add(time.Hour)
		return r
	}
	if d := mustReserve(t, st, withProof("early")); !d.Admitted || d.Proved || d.Challenged {
		t.Fatalf("unchallenged with a proof: %+v, want admitted without spending it", d)
	}
	// The reservation above is in flight: the load is 1 from here on.
	if d := mustReserve(t, st, withProof("early")); !d.Admitted || !d.Proved {
		t.Errorf("challenged with a proof not spent before: %+v, want proved", d)
	}
	if d := mustReserve(t, st, withProof("early")); !d.Admitted || d.Proved || !d.SlowLane {
		t.Errorf("a spent proof: %+v, want the slow lane instead", d)
	}
	if d := mustReserve(t, st, withProof("early")); d.Admitted {
		t.Errorf("a spent proof, slow lane taken: %+v, want refused", d)
	}
	if d := mustReserve(t, st, withProof("fresh")); !d.Admitted || !d.Proved {
		t.Errorf("a fresh proof: %+v, want proved", d)
	}
	blocked := plain("login:s:proof-blocked")
	blocked.ChallengeAt, blocked.BlockAfter, blocked.BlockFor, blocked.BlockMax = 1, 1, time.Hour, time.Hour
	mustFail(t, st, blocked)
	r := withProof("kept")
	r.Buckets = []veil.ThrottleBucket{blocked}
	if d := mustReserve(t, st, r); d.Admitted || !d.Blocked {
		t.Fatalf("blocked with a proof: %+v, want blocked", d)
	}
	if d := mustReserve(t, st, withProof("kept")); !d.Proved {
		t.Errorf("a proof refused on a blocked bucket was spent: %+v", d)
	}
}

// testThrottleSlowLane checks that slow-lane turns are taken all at once or
// not at all, that a refusal says the real wait of the latest turn and
// holds every turn of the attempt until then, and that they are all free
// at that time.
func testThrottleSlowLane(t *testing.T, st veil.ThrottleStore) {
	const lane = 600 * time.Millisecond
	a, b := plain("login:s:lane"), plain("login:a:192.0.2.50")
	a.ChallengeAt, b.ChallengeAt = 1, 1
	mustFail(t, st, a, b)
	short := func(bs ...veil.ThrottleBucket) *veil.ThrottleReservation {
		r := reservation(bs...)
		r.SlowLane = lane
		return r
	}
	if d := mustReserve(t, st, short(a)); !d.SlowLane {
		t.Fatalf("first turn on one bucket: %+v, want the slow lane", d)
	}
	time.Sleep(200 * time.Millisecond)
	d := mustReserve(t, st, short(b, a))
	if d.Admitted || d.RetryAfter > lane-200*time.Millisecond || d.RetryAfter < lane/3 {
		t.Fatalf("one turn taken 200ms ago: %+v, want refused for its remaining ~%v", d, lane-200*time.Millisecond)
	}
	if d2 := mustReserve(t, st, short(b)); d2.Admitted || d2.RetryAfter > d.RetryAfter {
		t.Errorf("the other bucket's turn after the refusal: %+v, want it held no longer than %v", d2, d.RetryAfter)
	}
	time.Sleep(d.RetryAfter + 50*time.Millisecond)
	if d := mustReserve(t, st, short(b, a)); !d.SlowLane {
		t.Errorf("after the Retry-After: %+v, want every turn free", d)
	}
	noLane := veil.ThrottleBucket{Key: "login:g:1", TTL: time.Minute, ChallengeAt: 1}
	mustSettle(t, st, &veil.ThrottleDecision{}, true, noLane)
	fresh := plain("login:s:lane-fresh")
	if d := mustReserve(t, st, reservation(fresh, noLane)); !d.SlowLane {
		t.Errorf("challenged by a bucket without turns: %+v, want the slow lane of the others", d)
	}
	// Two challenged identifiers from one address that is not challenged
	// itself: each needs its own turn only, so a neighbour retrying on his
	// identifier cannot keep taking the address's turn from the other.
	addr := plain("login:a:192.0.2.51")
	addr.ChallengeAt = 20
	mine, theirs := plain("login:s:lane-mine"), plain("login:s:lane-theirs")
	mine.ChallengeAt, theirs.ChallengeAt = 1, 1
	mustFail(t, st, mine)
	mustFail(t, st, theirs)
	if d := mustReserve(t, st, reservation(theirs, addr)); !d.SlowLane {
		t.Fatalf("the neighbour's first turn: %+v, want the slow lane", d)
	}
	if d := mustReserve(t, st, reservation(mine, addr)); !d.SlowLane {
		t.Errorf("a turn of my identifier from an address that challenges nobody, just after a neighbour's: %+v, want the slow lane", d)
	}
}

// testThrottlePrior checks the sliding window: a bucket's load includes
// its Prior's failures times PriorWeight.
func testThrottlePrior(t *testing.T, st veil.ThrottleStore) {
	prior := veil.ThrottleBucket{Key: "login:g:100", TTL: time.Minute}
	for range 10 {
		mustSettle(t, st, &veil.ThrottleDecision{}, true, prior)
	}
	for _, tt := range []struct {
		weight float64
		want   bool
	}{{0.5, false}, {0.95, true}, {1, true}} {
		cur := veil.ThrottleBucket{Key: fmt.Sprintf("login:g:101-%v", tt.weight), TTL: time.Minute, ChallengeAt: 9, Prior: prior.Key, PriorWeight: tt.weight}
		d := mustReserve(t, st, reservation(cur, plain(fmt.Sprintf("login:s:p%v", tt.weight))))
		if d.Challenged != tt.want || d.Records[0].Prior != 10 {
			t.Errorf("10 prior failures × %v against 9: %+v, want challenged %v and Prior 10", tt.weight, d, tt.want)
		}
	}
}

func testThrottleForget(t *testing.T, st veil.ThrottleStore) {
	gone, kept := plain("gone"), plain("kept")
	gone.ChallengeAt, gone.BlockAfter, gone.BlockFor, gone.BlockMax = 1, 1, time.Hour, time.Hour
	mustFail(t, st, gone, kept)
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
	// Reservations go with their key; a slow-lane turn by its own key.
	lane := plain("lane")
	lane.ChallengeAt = 1
	mustFail(t, st, lane)
	if d := mustReserve(t, st, reservation(lane)); !d.SlowLane {
		t.Fatalf("challenged: %+v, want the slow lane", d)
	}
	if err := st.Forget(t.Context(), "lane", "slow:lane"); err != nil {
		t.Fatal(err)
	}
	if r := mustRecords(t, st, "lane")[0]; r != (veil.ThrottleRecord{}) {
		t.Errorf("after Forget: %+v, want the zero record", r)
	}
	lane.ChallengeAt = 0
	mustFail(t, st, lane)
	lane.ChallengeAt = 1
	if d := mustReserve(t, st, reservation(lane)); !d.SlowLane {
		t.Errorf("after forgetting the turn: %+v, want it free", d)
	}
}

// testThrottleConcurrent reserves and fails from several goroutines at
// once: no failure may be lost, as several instances do to one store.
func testThrottleConcurrent(t *testing.T, st veil.ThrottleStore) {
	const workers, each = 8, 25
	hot, global := plain("hot"), plain("global")
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				d, err := st.Reserve(t.Context(), reservation(hot, global))
				if err == nil && d.Admitted {
					_, err = st.Settle(t.Context(), &veil.ThrottleSettlement{Ticket: d.Ticket, Buckets: []veil.ThrottleBucket{hot, global}, Failure: true})
				}
				if err != nil {
					t.Errorf("Reserve/Settle: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if got := counts(mustRecords(t, st, "hot", "global")); got != fmt.Sprintf("[f%d i0][f%d i0]", workers*each, workers*each) {
		t.Errorf("after %d concurrent failures: %s", workers*each, got)
	}
}

// testThrottleBurst releases 50 reservations at once on a bucket that asks
// for a proof from a load of 5 and blocks at 10: exactly 5 are admitted
// plainly, one on the slow lane, one on a proof they all bring, and the
// in-flight bound is never passed.
func testThrottleBurst(t *testing.T, st veil.ThrottleStore) {
	b := plain("login:s:burst")
	b.ChallengeAt, b.BlockAfter, b.BlockFor, b.BlockMax = 5, 10, time.Hour, time.Hour
	r := reservation(b, plain("login:a:burst"))
	r.Proof, r.ProofUntil = "pow:shared", time.Now().Add(time.Hour)
	var plainN, slowN, proved, refused atomic.Int64
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			<-start
			d, err := st.Reserve(t.Context(), r)
			switch {
			case err != nil:
				t.Errorf("Reserve: %v", err)
			case !d.Admitted:
				refused.Add(1)
			case d.Proved:
				proved.Add(1)
			case d.SlowLane:
				slowN.Add(1)
			default:
				plainN.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	if plainN.Load() != 5 || slowN.Load() != 1 || proved.Load() != 1 || refused.Load() != 43 {
		t.Errorf("a burst of 50: %d plain, %d slow lane, %d proved, %d refused; want 5, 1, 1, 43",
			plainN.Load(), slowN.Load(), proved.Load(), refused.Load())
	}
}

// BenchmarkThrottle measures what a throttle adds to one sign-in under
// every threshold: a Check (which reserves) before the password check and
// a Done after it, as a failure and as a success (which releases and
// issues a device cookie). Each
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
				outcome := veil.AttemptFailed
				if success {
					outcome = veil.AttemptSucceeded
				}
				if _, err := th.Done(ctx, adm, outcome); err != nil {
					b.Fatalf("Done: %v", err)
				}
			}
		})
	}
}
