package password

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/veil-id/veil"
	"golang.org/x/crypto/bcrypt"
)

// TestVerificationHoldHidesTheHashAhead fills a one-slot pool with the
// verification of an imported bcrypt hash or of a current argon2id one and
// times the wait of the verification queued behind it: without a hold the
// wait tells the two apart (it is the hash ahead's cost); held for the
// slowest cost, it is the same.
func TestVerificationHoldHidesTheHashAhead(t *testing.T) {
	h := MustNew(t, Config{Params: lowParams, Concurrency: 1})
	imported, err := bcrypt.GenerateFromPassword([]byte("the imported password"), 8)
	if err != nil {
		t.Fatal(err)
	}
	current := MustHash(t, h, "the current password")
	var costs []time.Duration
	for range 5 {
		d, err := h.TimeVerification(context.Background(), veil.HashParams(string(imported)))
		if err != nil {
			t.Fatal(err)
		}
		costs = append(costs, d)
	}
	slices.Sort(costs)
	cost := costs[len(costs)/2]
	// queuedBehind returns how long a verification waited for the pool
	// behind one of ahead.
	queuedBehind := func(ahead string) time.Duration {
		done := make(chan struct{})
		go func() {
			defer close(done)
			h.VerifyPassword(context.Background(), ahead, "a guess")
		}()
		// Queue up once the one ahead holds the slot (a fast one may be
		// done before it is seen: then nothing was ahead to wait for).
		for running, _ := h.Stats(); running == 0; running, _ = h.Stats() {
			select {
			case <-done:
			case <-time.After(20 * time.Microsecond):
				continue
			}
			break
		}
		mark := veil.NewWorkMark(0)
		ctx := veil.WithWorkMark(context.Background(), mark)
		veil.BeginAccountWork(ctx)
		if _, _, err := h.VerifyPassword(ctx, current, "a guess"); err != nil {
			t.Fatal(err)
		}
		<-done
		_, queued, _ := mark.Began()
		return queued
	}
	gap := func() (slow, fast time.Duration) {
		var s, f []time.Duration
		for range 7 {
			s = append(s, queuedBehind(string(imported)))
			f = append(f, queuedBehind(current))
		}
		slices.Sort(s)
		slices.Sort(f)
		return s[len(s)/2], f[len(f)/2]
	}

	slow, fast := gap()
	t.Logf("no hold (bcrypt-8 costs %v): queued %v behind bcrypt, %v behind argon2id", cost, slow, fast)
	if slow-fast < cost/4 {
		t.Fatalf("without a hold the wait behind bcrypt (%v) and argon2id (%v) should differ by about its cost %v", slow, fast, cost)
	}
	// Far above the cost, for a loaded machine: this checks the
	// mechanism; cmd/veil's margin is its own test.
	h.SetVerificationHold(3 * cost)
	slow, fast = gap()
	t.Logf("held %v: queued %v behind bcrypt, %v behind argon2id", h.VerificationHold(), slow, fast)
	if d := slow - fast; d > cost/3 || d < -cost/3 {
		t.Errorf("with a hold of %v the wait behind bcrypt is %v and behind argon2id %v: the queue tells them apart", h.VerificationHold(), slow, fast)
	}
	// TimeVerification measures the hash, not the hold derived from it.
	if again, _ := h.TimeVerification(context.Background(), veil.HashParams(current)); again >= h.VerificationHold() {
		t.Errorf("TimeVerification of the current set = %v with a hold of %v: it must not include the hold", again, h.VerificationHold())
	}
}
