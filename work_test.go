package veil_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/veil-id/veil"
)

func TestHashParams(t *testing.T) {
	tests := []struct{ encoded, want string }{
		{"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA", "$argon2id$v=19$m=19456,t=2,p=1"},
		{"$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$a2V5", "$argon2id$v=19$m=65536,t=3,p=4"},
		{"$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW", "$2b$12"},
		{"$2y$04$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW", "$2y$04"},
		{"", ""},
		{"plain", ""},
		{"$argon2id$", ""},
		{"$2b$12", ""},
	}
	for _, tt := range tests {
		if got := veil.HashParams(tt.encoded); got != tt.want {
			t.Errorf("HashParams(%q) = %q, want %q", tt.encoded, got, tt.want)
		}
	}
}

// TestWorkMark checks that queue waits count only once the account work has
// begun, and that a context without a mark makes every call a no-op.
func TestWorkMark(t *testing.T) {
	veil.BeginAccountWork(context.Background())
	veil.AddQueueWait(context.Background(), time.Second)

	m := &veil.WorkMark{}
	ctx := veil.WithWorkMark(context.Background(), m)
	veil.AddQueueWait(ctx, time.Hour) // before the check: the throttle's business
	if _, _, ok := m.Began(); ok {
		t.Fatal("the mark began before BeginAccountWork")
	}
	veil.BeginAccountWork(ctx)
	began, _, _ := m.Began()
	veil.BeginAccountWork(ctx)
	veil.AddQueueWait(ctx, 2*time.Millisecond)
	veil.AddQueueWait(ctx, 3*time.Millisecond)
	again, queued, ok := m.Began()
	if !ok || !again.Equal(began) || queued != 5*time.Millisecond {
		t.Errorf("Began() = %v, %v, %v; want the first begin, 5ms queued, true", again, queued, ok)
	}
}

// TestLookupFloorIsHeldPrecisely checks that a lookup floor of a few
// hundred microseconds holds the verification about that long, not the
// millisecond or two a Go timer takes to wake an idle process: while
// clients wait for their answers, each of those milliseconds is a core
// without a hash to run.
func TestLookupFloorIsHeldPrecisely(t *testing.T) {
	const floor = 300 * time.Microsecond
	var offsets []time.Duration
	for range 15 {
		m := veil.NewWorkMark(floor)
		ctx := veil.WithWorkMark(context.Background(), m)
		veil.BeginAccountWork(ctx)
		if err := veil.LookupDone(ctx); err != nil {
			t.Fatal(err)
		}
		began, _, _ := m.Began()
		offsets = append(offsets, time.Since(began))
	}
	slices.Sort(offsets)
	// The median: the machine may take the CPU away once or twice.
	if got := offsets[len(offsets)/2]; got < floor || got > floor+400*time.Microsecond {
		t.Errorf("a %v lookup floor held the verification %v (median of %d); want at most %v more", floor, got, len(offsets), 400*time.Microsecond)
	}
}

// TestLookupDone checks that the verification after a fast lookup and
// after a slow one starts at the same offset from the start of the account
// work, that a lookup past the floor is recorded and not held, and that a
// context that ends, or carries no mark, is not held either.
func TestLookupDone(t *testing.T) {
	const floor = 40 * time.Millisecond
	offset := func(lookup time.Duration) time.Duration {
		m := veil.NewWorkMark(floor)
		ctx := veil.WithWorkMark(context.Background(), m)
		veil.BeginAccountWork(ctx)
		time.Sleep(lookup)
		if err := veil.LookupDone(ctx); err != nil {
			t.Fatal(err)
		}
		began, _, _ := m.Began()
		return time.Since(began)
	}
	// Medians of interleaved runs: on a loaded machine one timer can fire
	// tens of milliseconds late.
	var hits, misses []time.Duration
	for range 7 {
		hits = append(hits, offset(15*time.Millisecond))
		misses = append(misses, offset(0))
	}
	slices.Sort(hits)
	slices.Sort(misses)
	hit, miss := hits[len(hits)/2], misses[len(misses)/2]
	// Generous for a loaded machine: a timer fires late, never early.
	if hit < floor || miss < floor || hit-miss > 15*time.Millisecond || miss-hit > 15*time.Millisecond {
		t.Errorf("verification began %v after a 15ms lookup and %v after an instant one; want both just past %v", hit, miss, floor)
	}

	m := veil.NewWorkMark(time.Millisecond)
	ctx := veil.WithWorkMark(context.Background(), m)
	veil.BeginAccountWork(ctx)
	time.Sleep(5 * time.Millisecond)
	start := time.Now()
	if err := veil.LookupDone(ctx); err != nil || time.Since(start) > 5*time.Millisecond {
		t.Errorf("a lookup past its floor: LookupDone = %v after %v, want nil at once", err, time.Since(start))
	}
	if over := m.LookupOver(); over < 5*time.Millisecond {
		t.Errorf("LookupOver() = %v, want the lookup's 5ms or more", over)
	}

	ctx, cancel := context.WithCancel(veil.WithWorkMark(context.Background(), veil.NewWorkMark(time.Hour)))
	veil.BeginAccountWork(ctx)
	cancel()
	if err := veil.LookupDone(ctx); err != context.Canceled {
		t.Errorf("LookupDone(canceled) = %v, want %v", err, context.Canceled)
	}
	if err := veil.LookupDone(context.Background()); err != nil {
		t.Errorf("LookupDone without a mark = %v", err)
	}
}
