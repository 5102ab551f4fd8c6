package throttle

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/veil-id/veil"
)

// FallbackStore uses Primary (a shared store) and, while it fails, Fallback
// (this process's memory): every key alike, so the answers stay the same
// for existing and unknown identifiers. During an outage each instance
// counts on its own — an attacker who knocks the shared store over gains
// at most a factor of the number of instances — and a proof of work spent
// on the primary could be spent once more on the fallback.
type FallbackStore struct {
	Primary, Fallback veil.ThrottleStore
	// Retry is how long to stay on the fallback after a failure before
	// trying the primary again, so an outage does not add a timeout to
	// every request (default 5s).
	Retry  time.Duration
	Logger *slog.Logger
	// OnFailure, when not nil, is told of every failure of Primary that
	// the fallback absorbed (for metrics: the throttle never sees them).
	OnFailure func(ctx context.Context, err error)

	mu        sync.Mutex
	downUntil time.Time
}

var _ veil.ThrottleStore = (*FallbackStore)(nil)

// pick returns the store to use now.
func (f *FallbackStore) pick() veil.ThrottleStore {
	f.mu.Lock()
	defer f.mu.Unlock()
	if time.Now().Before(f.downUntil) {
		return f.Fallback
	}
	return f.Primary
}

// failed reports whether err should send calls to the fallback, and
// notes the outage.
func (f *FallbackStore) failed(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() != nil {
		return false
	}
	if f.OnFailure != nil {
		f.OnFailure(ctx, err)
	}
	retry := f.Retry
	if retry <= 0 {
		retry = 5 * time.Second
	}
	f.mu.Lock()
	first := !time.Now().Before(f.downUntil)
	f.downUntil = time.Now().Add(retry)
	f.mu.Unlock()
	if first && f.Logger != nil {
		f.Logger.WarnContext(ctx, "throttle: the shared store failed; counting in memory for now", "retry_in", retry, "err", err)
	}
	return true
}

// Records implements veil.ThrottleStore.
func (f *FallbackStore) Records(ctx context.Context, keys []string) ([]veil.ThrottleRecord, error) {
	st := f.pick()
	recs, err := st.Records(ctx, keys)
	if st == f.Primary && f.failed(ctx, err) {
		return f.Fallback.Records(ctx, keys)
	}
	return recs, err
}

// AddFailures implements veil.ThrottleStore.
func (f *FallbackStore) AddFailures(ctx context.Context, incs []veil.ThrottleIncrement) ([]int64, error) {
	st := f.pick()
	n, err := st.AddFailures(ctx, incs)
	if st == f.Primary && f.failed(ctx, err) {
		return f.Fallback.AddFailures(ctx, incs)
	}
	return n, err
}

// Block implements veil.ThrottleStore.
func (f *FallbackStore) Block(ctx context.Context, key string, until time.Time) error {
	st := f.pick()
	err := st.Block(ctx, key, until)
	if st == f.Primary && f.failed(ctx, err) {
		return f.Fallback.Block(ctx, key, until)
	}
	return err
}

// Forget implements veil.ThrottleStore.
func (f *FallbackStore) Forget(ctx context.Context, keys ...string) error {
	st := f.pick()
	err := st.Forget(ctx, keys...)
	if st == f.Primary && f.failed(ctx, err) {
		return f.Fallback.Forget(ctx, keys...)
	}
	return err
}

// Claim implements veil.ThrottleStore.
func (f *FallbackStore) Claim(ctx context.Context, key string, until time.Time) (bool, error) {
	st := f.pick()
	ok, err := st.Claim(ctx, key, until)
	if st == f.Primary && f.failed(ctx, err) {
		return f.Fallback.Claim(ctx, key, until)
	}
	return ok, err
}
