package throttle_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/throttle"
	"github.com/veil-id/veil/veiltest"
)

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestMemoryStore(t *testing.T) {
	veiltest.RunThrottleStoreTests(t, func(tb testing.TB) veil.ThrottleStore {
		return throttle.NewMemoryStore(throttle.MemoryConfig{Limit: 1 << 20})
	})
}

// fail makes one attempt on keys that is admitted and fails, and returns
// the counts after.
// TestFallbackStore runs the suite over a FallbackStore whose primary
// answers: reservations and their tickets go through it unchanged.
func TestFallbackStore(t *testing.T) {
	veiltest.RunThrottleStoreTests(t, func(tb testing.TB) veil.ThrottleStore {
		return &throttle.FallbackStore{
			Primary:  throttle.NewMemoryStore(throttle.MemoryConfig{Limit: 1 << 20}),
			Fallback: throttle.NewMemoryStore(throttle.MemoryConfig{Limit: 1 << 20}),
		}
	})
}

func fail(tb testing.TB, st veil.ThrottleStore, keys ...string) []int64 {
	tb.Helper()
	bs := make([]veil.ThrottleBucket, len(keys))
	for i, k := range keys {
		bs[i] = veil.ThrottleBucket{Key: k, TTL: time.Hour}
	}
	ctx := context.Background()
	d, err := st.Reserve(ctx, &veil.ThrottleReservation{Buckets: bs, Hold: time.Minute, SlowLane: time.Second})
	if err != nil || !d.Admitted {
		tb.Fatalf("Reserve = %+v, %v", d, err)
	}
	recs, err := st.Settle(ctx, &veil.ThrottleSettlement{Ticket: d.Ticket, Buckets: bs, Failure: true})
	if err != nil {
		tb.Fatal(err)
	}
	n := make([]int64, len(recs))
	for i, r := range recs {
		n[i] = r.Failures
	}
	return n
}

// TestMemoryBound sprays many more keys than fit and checks that the store
// never holds more than its limit, and that the keys that matter — those
// with failures piling up — survive a spray of keys that fail once.
func TestMemoryBound(t *testing.T) {
	const limit = 64 << 10
	st := throttle.NewMemoryStore(throttle.MemoryConfig{Limit: limit})
	fail(t, st, "victim", "victim", "victim")
	for i := range 50_000 {
		fail(t, st, "spray:"+strconv.Itoa(i))
		if i%5000 == 0 {
			fail(t, st, "victim")
		}
	}
	if b := st.Bytes(); b > limit || b > st.Limit() {
		t.Errorf("Bytes() = %d, over the limit of %d", b, limit)
	}
	keys, dropped := st.Len()
	if keys > int(limit/64) || dropped == 0 {
		t.Errorf("Len() = %d keys, %d dropped; want at most %d and some dropped", keys, dropped, limit/64)
	}
	recs, _ := st.Records(context.Background(), []string{"victim", "spray:49999", "spray:0"})
	if recs[0].Failures != 13 {
		t.Errorf("after the spray the victim has %d failures, want 13", recs[0].Failures)
	}
	if recs[1].Failures != 1 || recs[2].Failures != 0 {
		t.Errorf("spray: newest has %d, oldest %d; want 1 and 0 (dropped)", recs[1].Failures, recs[2].Failures)
	}
}

// TestMemoryExpiryFakeClock checks expiry against the store's own clock.
func TestMemoryExpiryFakeClock(t *testing.T) {
	clock := veiltest.NewClock(time.Unix(1_700_000_000, 0))
	st := throttle.NewMemoryStore(throttle.MemoryConfig{Limit: 1 << 16, Clock: clock})
	fail(t, st, "k")
	clock.Add(59 * time.Minute)
	if n := fail(t, st, "k"); n[0] != 2 {
		t.Fatalf("count %d, want 2", n[0])
	}
	clock.Add(59 * time.Minute) // the TTL runs from the last failure
	if n := fail(t, st, "k"); n[0] != 3 {
		t.Errorf("count %d, want 3", n[0])
	}
	clock.Add(61 * time.Minute)
	if recs, _ := st.Records(context.Background(), []string{"k"}); recs[0].Failures != 0 {
		t.Errorf("count %d an hour after the last failure, want 0", recs[0].Failures)
	}
}

// sprayIdentifiers sends n failed sign-ins for n distinct identifiers from
// rotating addresses through a throttle on st.
func sprayIdentifiers(tb testing.TB, th *throttle.Throttle, n int) {
	tb.Helper()
	ctx := context.Background()
	for i := range n {
		a := &veil.Attempt{Action: veil.ActionLogin, Subject: fmt.Sprintf("%032x", i), Addr: "10.0." + strconv.Itoa(i>>8&255) + "." + strconv.Itoa(i&255)}
		adm, err := th.Check(ctx, a)
		if err != nil {
			continue
		}
		th.Done(ctx, adm, veil.AttemptFailed)
	}
}

func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkSpray1M sprays 1,000,000 distinct identifiers at a throttle on
// the in-memory store at its default bound and reports the store's bytes,
// the heap it grew by, and the bound. Run with -benchtime=1x.
func BenchmarkSpray1M(b *testing.B) {
	for b.Loop() {
		const limit = 32 << 20
		before := heapAlloc()
		st := throttle.NewMemoryStore(throttle.MemoryConfig{Limit: limit})
		p := throttle.DefaultPolicy
		ap := p.Actions[veil.ActionLogin]
		ap.GlobalChallengePerMinute = 0 // measure the store, not the proofs
		p.Actions = map[string]throttle.ActionPolicy{veil.ActionLogin: ap}
		th, err := throttle.New(throttle.Config{Store: st, Policy: p, Secret: testSecret})
		if err != nil {
			b.Fatal(err)
		}
		sprayIdentifiers(b, th, 1_000_000)
		grown := heapAlloc() - before
		keys, dropped := st.Len()
		b.ReportMetric(float64(st.Bytes()), "store-bytes")
		b.ReportMetric(float64(grown), "heap-grown-bytes")
		b.ReportMetric(float64(limit), "limit-bytes")
		b.ReportMetric(float64(keys), "keys-held")
		b.ReportMetric(float64(dropped), "keys-dropped")
		if st.Bytes() > limit {
			b.Errorf("store holds %d bytes, over its limit of %d", st.Bytes(), limit)
		}
		runtime.KeepAlive(th)
	}
}
