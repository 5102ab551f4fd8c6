package throttle

import (
	"context"
	"log/slog"
	"strings"
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

// Tickets say which store holds the reservation: "p:" or "f:", then the
// store's own ticket.
const (
	onPrimary  = "p"
	onFallback = "f"
)

// Reserve implements veil.ThrottleStore.
func (f *FallbackStore) Reserve(ctx context.Context, r *veil.ThrottleReservation) (*veil.ThrottleDecision, error) {
	st, tag := f.pick(), onPrimary
	d, err := st.Reserve(ctx, r)
	if st == f.Primary && f.failed(ctx, err) {
		d, err = f.Fallback.Reserve(ctx, r)
		tag = onFallback
	} else if st == f.Fallback {
		tag = onFallback
	}
	if err == nil && d.Admitted {
		d.Ticket = tag + ":" + d.Ticket
	}
	return d, err
}

// Settle implements veil.ThrottleStore on the store that holds the
// reservation. If that is the primary and it fails, the failure is
// counted in memory, and the reservation lapses on the primary. A ticket
// of neither goes where a new reservation would.
func (f *FallbackStore) Settle(ctx context.Context, s *veil.ThrottleSettlement) ([]veil.ThrottleRecord, error) {
	cp := *s
	st := f.pick()
	if tag, rest, ok := strings.Cut(cp.Ticket, ":"); ok && (tag == onPrimary || tag == onFallback) {
		st, cp.Ticket = f.Primary, rest
		if tag == onFallback {
			st = f.Fallback
		}
	}
	recs, err := st.Settle(ctx, &cp)
	if st == f.Primary && f.failed(ctx, err) {
		cp.Ticket = ""
		return f.Fallback.Settle(ctx, &cp)
	}
	return recs, err
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

// Forget implements veil.ThrottleStore.
func (f *FallbackStore) Forget(ctx context.Context, keys ...string) error {
	st := f.pick()
	err := st.Forget(ctx, keys...)
	if st == f.Primary && f.failed(ctx, err) {
		return f.Fallback.Forget(ctx, keys...)
	}
	return err
}
