package veil

import (
	"context"
	"runtime"
	"strings"
	"sync"
	"time"
)

// WorkMark records, for one request, when its account-dependent work began
// and how long it then waited in queues that serve everyone first come,
// first served (the hashing pool, a directory's connections). The time floor
// is anchored there: what came before (reading the body, the throttle's
// decision) depends only on the client and the input, and a queue's wait
// only on the requests ahead, so neither may move the floor nor be
// mistaken for work that the floor must cover.
//
// The transport puts a mark in the request's context (WithWorkMark); the
// core calls BeginAccountWork where the password check starts and
// LookupDone between finding the account and verifying its password; the
// pools call AddQueueWait. Without a mark in the context every call is a
// no-op.
type WorkMark struct {
	mu     sync.Mutex
	began  time.Time
	queued time.Duration

	lookupFloor time.Duration
	lookup      time.Duration // how long the lookup took (LookupDone)
}

// NewWorkMark returns a mark whose lookups are held to lookupFloor (see
// LookupDone); 0 holds none.
func NewWorkMark(lookupFloor time.Duration) *WorkMark {
	return &WorkMark{lookupFloor: max(lookupFloor, 0)}
}

type workMarkKey struct{}

// WithWorkMark returns ctx carrying m.
func WithWorkMark(ctx context.Context, m *WorkMark) context.Context {
	return context.WithValue(ctx, workMarkKey{}, m)
}

func workMarkOf(ctx context.Context) *WorkMark {
	m, _ := ctx.Value(workMarkKey{}).(*WorkMark)
	return m
}

// BeginAccountWork marks the start of the work whose cost may depend on
// which account (if any) an identifier names. Only the first call counts.
func BeginAccountWork(ctx context.Context) {
	if m := workMarkOf(ctx); m != nil {
		m.mu.Lock()
		if m.began.IsZero() {
			m.began = time.Now()
		}
		m.mu.Unlock()
	}
}

// AddQueueWait adds d, time spent waiting in a first-come-first-served
// queue, to the mark in ctx once its account work has begun: the wait
// depends on the requests ahead, not on the account.
func AddQueueWait(ctx context.Context, d time.Duration) {
	if m := workMarkOf(ctx); m != nil {
		m.mu.Lock()
		if !m.began.IsZero() {
			m.queued += d
		}
		m.mu.Unlock()
	}
}

// LookupDone is called by a checker once it has looked the identifier up
// and before it verifies the password. It returns when the mark's lookup
// floor has passed since the account work began, so that the verification
// starts at the same moment whether the lookup hit, missed or read a
// disabled account: what follows is the same hash for everyone while every
// stored hash is at the current policy, and what came before is hidden
// here. It returns ctx.Err() if ctx ends first. A lookup that took longer
// than the floor is recorded (LookupOver) and not held.
func LookupDone(ctx context.Context) error {
	m := workMarkOf(ctx)
	if m == nil {
		return nil
	}
	m.mu.Lock()
	if m.began.IsZero() {
		m.mu.Unlock()
		return nil
	}
	m.lookup = time.Since(m.began) - m.queued
	wait := m.lookupFloor - m.lookup
	m.mu.Unlock()
	if m.lookupFloor == 0 || wait <= 0 {
		return nil
	}
	return waitUntil(ctx, time.Now().Add(wait))
}

// spinWithin is how close to its end a wait stops sleeping and spins,
// yielding to every other runnable goroutine. Go's timers cannot wake an
// otherwise idle process sooner: its network poller sleeps in whole
// milliseconds (epoll_wait), so a lookup floor of a few hundred
// microseconds, slept, holds a sign-in 1–2 ms, and while clients wait for
// their answers every one of those milliseconds is an idle core instead
// of a hash. A spinning goroutine yields to any other (runtime.Gosched),
// so it only takes time nothing else in the process wanted.
const spinWithin = time.Millisecond

// waitUntil returns at deadline, to within a few microseconds when the
// process has nothing else to run, or with ctx.Err() if ctx ends first.
func waitUntil(ctx context.Context, deadline time.Time) error {
	if sleep := time.Until(deadline) - spinWithin; sleep > 0 {
		t := time.NewTimer(sleep)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
	for time.Now().Before(deadline) {
		if err := ctx.Err(); err != nil {
			return err
		}
		runtime.Gosched()
	}
	return nil
}

// LookupOver returns how long the lookup took if it ran past the lookup
// floor, else 0.
func (m *WorkMark) LookupOver() time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.lookupFloor > 0 && m.lookup >= m.lookupFloor {
		return m.lookup
	}
	return 0
}

// Lookup returns how long the lookup took, without queue waits; 0 if the
// checker did not call LookupDone (a directory's search is part of its
// work).
func (m *WorkMark) Lookup() time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lookup
}

// Began returns when the account work began and how long it has waited in
// queues since; ok is false if it never began.
func (m *WorkMark) Began() (began time.Time, queued time.Duration, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.began, m.queued, !m.began.IsZero()
}

// Work returns the account work's time so far, without its queue waits.
func (m *WorkMark) Work() time.Duration {
	began, queued, ok := m.Began()
	if !ok {
		return 0
	}
	return time.Since(began) - queued
}

// HashParams returns the parameter set of a stored password hash: what its
// verification costs depends on and nothing else — "$argon2id$v=19$m=19456,t=2,p=1"
// for a PHC string (everything before the salt), "$2b$12" for bcrypt — or
// "" for a string of neither shape. Stores keep it beside the hash, so the
// time floor can learn which costs a sign-in may meet without reading
// every hash; it does not validate anything (the hasher does).
func HashParams(encoded string) string {
	if len(encoded) > 256 || !strings.HasPrefix(encoded, "$") {
		return ""
	}
	fields := strings.Split(encoded, "$")
	switch {
	case strings.HasPrefix(encoded, "$2") && len(fields) == 4:
		return strings.Join(fields[:3], "$") // $2b$12$<salt+hash>
	case len(fields) >= 5:
		return strings.Join(fields[:len(fields)-2], "$") // drop salt and key
	}
	return ""
}
