package password

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/veil-id/veil"
)

// occupy takes mem KiB and a slot of h's pool until the test ends or the
// returned function is called.
func occupy(tb testing.TB, h *Hasher, mem uint64) (release func()) {
	tb.Helper()
	if err := h.pool.acquire(context.Background(), mem); err != nil {
		tb.Fatalf("occupying the pool: %v", err)
	}
	var once sync.Once
	release = func() { once.Do(func() { h.pool.release(mem) }) }
	tb.Cleanup(release)
	return release
}

// waitForStats waits until h reports the given running and waiting counts.
func waitForStats(tb testing.TB, h *Hasher, running, waiting int) {
	tb.Helper()
	waitForPool(tb, h.pool, running, waiting)
}

func waitForPool(tb testing.TB, p *pool, running, waiting int) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, w := p.stats()
		if r == running && w == waiting {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("Stats() = %d, %d; want %d, %d", r, w, running, waiting)
		}
		time.Sleep(time.Millisecond)
	}
}

// receive returns the next value from ch or fails the test after a while.
func receive[T any](tb testing.TB, ch <-chan T) T {
	tb.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		tb.Fatal("timed out")
		panic("unreachable")
	}
}

// With one slot taken and room for one waiter, every other caller is refused
// at once with the same EOVERLOADED, whatever it asked for; the waiter runs
// when the slot frees.
func TestPool_Overload(t *testing.T) {
	h := MustNew(t, Config{Params: lowParams, Concurrency: 1, Queue: 1})
	release := occupy(t, h, uint64(lowParams.Memory))

	calls := []func(ctx context.Context) error{
		func(ctx context.Context) error { _, err := h.HashPassword(ctx, testPass); return err },
		func(ctx context.Context) error { _, _, err := h.VerifyPassword(ctx, lowHash, testPass); return err },
		func(ctx context.Context) error { _, _, err := h.VerifyPassword(ctx, lowHash, "wrong"); return err },
		func(ctx context.Context) error { _, _, err := h.VerifyPassword(ctx, "garbage", testPass); return err },
		func(ctx context.Context) error { _, _, err := h.VerifyPassword(ctx, bcryptHash, testPass); return err },
	}
	const n = 10
	errs := make(chan error, n)
	for i := range n {
		go func() { errs <- calls[i%len(calls)](context.Background()) }()
	}
	var first error
	for range n - 1 {
		err := receive(t, errs)
		if got, want := veil.ErrorCode(err), veil.EOVERLOADED; got != want {
			t.Fatalf("call on a full pool: code %q (%v), want %q", got, err, want)
		}
		if first == nil {
			first = err
		} else if err.Error() != first.Error() {
			t.Errorf("overload answers differ: %q and %q", err, first)
		}
	}
	waitForStats(t, h, 1, 1)
	release()
	if err := receive(t, errs); err != nil {
		t.Errorf("the waiting call: %v", err)
	}
	waitForStats(t, h, 0, 0)
}

// Under a real burst, every caller either gets a result or EOVERLOADED.
func TestPool_Burst(t *testing.T) {
	h := MustNew(t, Config{Params: Params{Memory: 4096, Iterations: 2, Parallelism: 1}, Concurrency: 1, Queue: 1})
	encoded := MustHash(t, h, testPass)
	const n = 16
	start := make(chan struct{})
	errs := make(chan error, n)
	for i := range n {
		go func() {
			<-start
			if i%2 == 0 {
				_, err := h.HashPassword(context.Background(), testPass)
				errs <- err
				return
			}
			match, _, err := h.VerifyPassword(context.Background(), encoded, testPass)
			if err == nil && !match {
				err = errors.New("no match")
			}
			errs <- err
		}()
	}
	close(start)
	var ok, overloaded int
	for range n {
		err := receive(t, errs)
		switch {
		case err == nil:
			ok++
		case veil.ErrorCode(err) == veil.EOVERLOADED:
			overloaded++
		default:
			t.Errorf("burst call: %v", err)
		}
	}
	if ok == 0 || overloaded == 0 {
		t.Errorf("burst of %d: %d done, %d overloaded; want some of each", n, ok, overloaded)
	}
	waitForStats(t, h, 0, 0)
}

func TestPool_ContextEndsWhileWaiting(t *testing.T) {
	tests := []struct {
		name    string
		ctx     func() (context.Context, context.CancelFunc)
		wantErr error
	}{
		{"canceled", func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) }, context.Canceled},
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 50*time.Millisecond)
		}, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		h := MustNew(t, Config{Params: lowParams, Concurrency: 1, Queue: 1})
		release := occupy(t, h, uint64(lowParams.Memory))
		ctx, cancel := tt.ctx()
		errs := make(chan error, 1)
		go func() {
			_, _, err := h.VerifyPassword(ctx, lowHash, testPass)
			errs <- err
		}()
		if tt.wantErr == context.Canceled {
			waitForStats(t, h, 1, 1)
			cancel()
		}
		if got := receive(t, errs); !errors.Is(got, tt.wantErr) {
			t.Errorf("%s: VerifyPassword while waiting = %v, want %v", tt.name, got, tt.wantErr)
		}
		cancel()
		waitForStats(t, h, 1, 0)
		release()
		waitForStats(t, h, 0, 0)
		// The pool is whole again.
		if _, _, err := h.VerifyPassword(context.Background(), lowHash, testPass); err != nil {
			t.Errorf("%s: VerifyPassword after: %v", tt.name, err)
		}
	}
}

// A caller whose context has already ended does not take a slot.
func TestPool_ContextEndedBefore(t *testing.T) {
	h := MustNew(t, Config{Params: lowParams, Concurrency: 1})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.HashPassword(ctx, testPass); !errors.Is(err, context.Canceled) {
		t.Errorf("HashPassword(canceled) = %v, want %v", err, context.Canceled)
	}
	if _, _, err := h.VerifyPassword(ctx, lowHash, testPass); !errors.Is(err, context.Canceled) {
		t.Errorf("VerifyPassword(canceled) = %v, want %v", err, context.Canceled)
	}
}

// A hash that needs more memory than is free waits even while a slot is
// free, and the callers behind it wait their turn instead of starving it.
func TestPool_MemoryBudget(t *testing.T) {
	p := &pool{slots: 2, memLimit: 128, queueCap: 4}
	ctx := context.Background()
	if err := p.acquire(ctx, 64); err != nil {
		t.Fatal(err)
	}
	acquired := make(chan string, 2)
	for _, w := range []struct {
		name string
		mem  uint64
	}{{"heavy", 128}, {"light", 64}} {
		go func() {
			if err := p.acquire(ctx, w.mem); err != nil {
				t.Errorf("%s: acquire: %v", w.name, err)
			}
			acquired <- w.name
		}()
		waitForPool(t, p, 1, map[string]int{"heavy": 1, "light": 2}[w.name])
	}
	p.release(64)
	if got, want := receive(t, acquired), "heavy"; got != want {
		t.Errorf("first to run = %q, want %q", got, want)
	}
	waitForPool(t, p, 1, 1) // light still waits: the budget is spent
	p.release(128)
	if got, want := receive(t, acquired), "light"; got != want {
		t.Errorf("second to run = %q, want %q", got, want)
	}
	waitForPool(t, p, 1, 0)
	p.release(64)
	if got, want := p.memInUse, uint64(0); got != want {
		t.Errorf("memory in use after all released = %d, want %d", got, want)
	}
}

// When the head of the queue gives up, the callers behind it move on.
func TestPool_AbandonedHead(t *testing.T) {
	// 144 KiB for running hashes beside the headroom: the heavy one
	// (136) waits for the light one (72) that occupies the pool, and two
	// light ones fit.
	h := MustNew(t, Config{Params: lowParams, Concurrency: 2, MemoryBudgetKiB: 216})
	heavy := MustHash(t, MustNew(t, Config{Params: Params{128, 1, 1}}), testPass)
	occupy(t, h, 72)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	heavyErr := make(chan error, 1)
	go func() { _, _, err := h.VerifyPassword(ctx, heavy, testPass); heavyErr <- err }()
	waitForStats(t, h, 1, 1)
	lightErr := make(chan error, 1)
	go func() { _, _, err := h.VerifyPassword(context.Background(), lowHash, testPass); lightErr <- err }()
	waitForStats(t, h, 1, 2)
	cancel()
	if err := receive(t, heavyErr); !errors.Is(err, context.Canceled) {
		t.Errorf("heavy = %v, want %v", err, context.Canceled)
	}
	if err := receive(t, lightErr); err != nil {
		t.Errorf("light = %v, want nil", err)
	}
	waitForStats(t, h, 1, 0)
}

// A finished hash's memory is not free until a collection has run: the next
// caller who would fit but for that garbage waits for a collection the pool
// runs, and is granted after it. Callers that fit beside the garbage never
// wait for one.
func TestPool_GarbageCountsUntilCollected(t *testing.T) {
	collect := make(chan chan struct{}, 1)
	p := &pool{slots: 2, memLimit: 128, queueCap: 4, gc: func() {
		done := make(chan struct{})
		collect <- done
		<-done
	}}
	ctx := context.Background()
	if err := p.acquire(ctx, 64); err != nil {
		t.Fatal(err)
	}
	p.release(64) // 64 KiB of garbage now
	if err := p.acquire(ctx, 64); err != nil {
		t.Fatal(err) // fits beside the garbage: no collection
	}
	select {
	case <-collect:
		t.Fatal("a collection ran while the garbage still left room")
	default:
	}
	acquired := make(chan error, 1)
	go func() { acquired <- p.acquire(ctx, 64) }() // 64 in use + 64 garbage + 64 > 128
	done := receive(t, collect)
	select {
	case err := <-acquired:
		t.Fatalf("granted before the collection finished (%v)", err)
	case <-time.After(20 * time.Millisecond):
	}
	close(done)
	if err := receive(t, acquired); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.garbage != 0 || p.memInUse != 128 {
		t.Errorf("after the collection: garbage %d KiB, in use %d KiB; want 0 and 128", p.garbage, p.memInUse)
	}
}
