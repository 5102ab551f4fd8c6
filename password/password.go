// Package password hashes and verifies veil's passwords: argon2id in PHC
// strings for everything it writes, argon2id of any bounded parameters and
// bcrypt ($2a$, $2b$, $2y$, for imported users) for what it reads. Every hash
// runs in a bounded pool, so that sign-ins cannot exhaust the machine's CPU or
// memory, and an overloaded pool answers everyone the same way.
//
// The package must never log, return or keep a password, nor quote a stored
// hash in an error. It must never take a fast path that depends on the stored
// hash being valid: a malformed, unsupported or oversized hash costs the same
// work as a verification under the current policy and is a non-match, never
// an error, so that the time and the answer of a sign-in say nothing about
// what is stored.
package password

import (
	"context"
	"crypto/rand"
	"math"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/veil-id/veil"
	"golang.org/x/crypto/argon2"
)

// The shape of the hashes HashPassword writes.
const (
	saltLen = 16
	keyLen  = 32
)

// Config configures a Hasher.
type Config struct {
	// Params is the policy for new hashes; zero means DefaultParams.
	Params Params
	// Concurrency is how many hashes may run at once; 0 means
	// runtime.NumCPU().
	Concurrency int
	// Queue is how many callers may wait for a hash beyond those running.
	// 0 means 8 × Concurrency, so a waiting caller starts within about eight
	// hash times (a fraction of a second at DefaultParams); a negative value
	// means nobody waits.
	Queue int
	// MemoryBudgetKiB bounds the memory hashing may hold; 0 means no
	// bound. It covers the hashes running at once, each at what it really
	// holds (argon2's blocks in Go's pages and its lanes' stacks, a little
	// over Params.Memory), and a headroom of one more hash for the garbage
	// a finished hash leaves until the garbage collector frees it. New
	// lowers Concurrency so that both fit; stored hashes with more memory
	// than Params take more of the budget while they are verified. The
	// headroom holds only while Go's memory limit makes the collector run
	// before garbage piles up (see Limits.HeadroomKiB): without one, Go lets
	// garbage grow as large as the live heap (GOGC=100), and a hash costs
	// twice its memory.
	MemoryBudgetKiB uint64
	// ReturnIdleAfter, when positive, returns the memory freed by hashes to
	// the operating system (debug.FreeOSMemory) once the pool has been idle
	// that long after more than one hash ran at once. Go would keep it for
	// minutes; returning it at once after every hash would make the next
	// one fault its pages in again, so only bursts are followed by a return.
	ReturnIdleAfter time.Duration
}

// Limits are the bounds a Hasher runs under once New has applied the defaults
// and the memory budget.
type Limits struct {
	Concurrency int // hashes that may run at once
	// RequestedConcurrency is the concurrency asked for (after the NumCPU
	// default). It is more than Concurrency when the budget lowered it.
	RequestedConcurrency int
	Queue                int    // callers that may wait
	MemoryBudgetKiB      uint64 // 0: no bound
	// HashMemoryKiB is what one hash under the policy holds while it
	// runs, as the pool counts it.
	HashMemoryKiB uint64
	// HeadroomKiB is the part of the budget no running hash may take: one
	// hash's worth, for the garbage of a finished hash that the collector
	// has not freed yet when the next one allocates. A process memory limit
	// (debug.SetMemoryLimit) at the budget minus the headroom, plus what
	// the rest of the program needs, keeps the peak within the budget.
	HeadroomKiB uint64
}

// Hasher hashes passwords under one policy in a bounded pool. It is safe for
// concurrent use.
type Hasher struct {
	params Params
	limits Limits
	pool   *pool

	// A random salt and key under params: malformed stored hashes are
	// verified against them, so they cost what a real verification costs.
	decoySalt []byte
	decoyKey  []byte

	idle *idleReturn // nil: memory is left to Go's scavenger

	hold atomic.Int64 // nanoseconds: SetVerificationHold
}

var _ veil.PasswordHasher = (*Hasher)(nil)

// New returns a Hasher for cfg. It fails with EINVALID if the parameters are
// invalid or if a single hash under them does not fit the memory budget.
func New(cfg Config) (*Hasher, error) {
	params := cfg.Params
	if params == (Params{}) {
		params = DefaultParams
	}
	if err := params.Validate(); err != nil {
		return nil, err
	}
	limits, err := newLimits(cfg, params)
	if err != nil {
		return nil, err
	}
	h := &Hasher{
		params: params,
		limits: limits,
		pool: &pool{
			slots:    limits.Concurrency,
			memLimit: limits.MemoryBudgetKiB - limits.HeadroomKiB,
			queueCap: limits.Queue,
		},
		decoySalt: make([]byte, saltLen),
		decoyKey:  make([]byte, keyLen),
		idle:      newIdleReturn(cfg.ReturnIdleAfter),
	}
	rand.Read(h.decoySalt)
	rand.Read(h.decoyKey)
	return h, nil
}

func newLimits(cfg Config, params Params) (Limits, error) {
	if cfg.Concurrency < 0 {
		return Limits{}, veil.Errorf(veil.EINVALID, "The hashing concurrency must not be negative.")
	}
	l := Limits{Concurrency: cfg.Concurrency, Queue: cfg.Queue, MemoryBudgetKiB: cfg.MemoryBudgetKiB}
	if l.Concurrency == 0 {
		l.Concurrency = runtime.NumCPU()
	}
	l.RequestedConcurrency = l.Concurrency
	l.HashMemoryKiB = params.memoryCostKiB()
	if budget := l.MemoryBudgetKiB; budget > 0 {
		l.HeadroomKiB = l.HashMemoryKiB
		fit := uint64(0)
		if budget > l.HeadroomKiB {
			fit = (budget - l.HeadroomKiB) / l.HashMemoryKiB
		}
		if fit == 0 {
			return Limits{}, veil.Errorf(veil.EINVALID,
				"The hashing memory budget of %d KiB does not fit one hash of %d KiB (%d KiB of argon2 memory) and the headroom of one more (%d KiB in all).",
				budget, l.HashMemoryKiB, params.Memory, 2*l.HashMemoryKiB)
		}
		l.Concurrency = int(min(fit, uint64(l.Concurrency)))
	}
	switch {
	case l.Queue == 0:
		l.Queue = 8 * l.Concurrency
	case l.Queue < 0:
		l.Queue = 0
	}
	return l, nil
}

// MemoryLimit returns the Go memory limit (debug.SetMemoryLimit) for a
// process whose hashing runs under l and whose other memory — the runtime,
// its heap, caches — takes up to otherBytes: the budget less the headroom,
// plus otherBytes. The collector then runs before garbage eats into the
// headroom, so that the process peaks at about otherBytes plus the budget.
// It is math.MaxInt64 (no limit) when the budget is unbounded.
func (l Limits) MemoryLimit(otherBytes int64) int64 {
	if l.MemoryBudgetKiB == 0 {
		return math.MaxInt64
	}
	return otherBytes + int64(l.MemoryBudgetKiB-l.HeadroomKiB)<<10
}

// Params returns the policy for new hashes.
func (h *Hasher) Params() Params { return h.params }

// Limits returns the bounds of the pool, for the operator's log.
func (h *Hasher) Limits() Limits { return h.limits }

// Stats returns how many hashes are running and how many callers are waiting,
// for metrics.
func (h *Hasher) Stats() (running, waiting int) { return h.pool.stats() }

// HashPassword returns the PHC argon2id string of password under the current
// policy, with a fresh 16-byte salt and a 32-byte key. EOVERLOADED when the
// pool's queue is full; ctx.Err() when ctx ends while waiting.
func (h *Hasher) HashPassword(ctx context.Context, password string) (string, error) {
	mem := h.limits.HashMemoryKiB
	if err := h.acquire(ctx, mem); err != nil {
		return "", err
	}
	defer h.release(mem)

	salt := make([]byte, saltLen)
	rand.Read(salt)
	pw := []byte(password)
	defer clear(pw)
	key := argon2.IDKey(pw, salt, h.params.Iterations, h.params.Memory, h.params.Parallelism, keyLen)
	return encodeArgon2id(h.params, salt, key), nil
}

// VerifyPassword reports whether password matches the stored hash encoded,
// in constant time, and whether the hash is stale: anything but argon2id with
// exactly the current Params, salt and key lengths, so the caller replaces it
// after a successful sign-in.
//
// A malformed or unsupported hash, or one that needs more memory than the
// whole budget, is a non-match with a nil error after the same work as a
// verification under the current policy. EOVERLOADED when the pool's queue
// is full; ctx.Err() when ctx ends while waiting.
//
// The slot in the pool is held at least the verification hold
// (SetVerificationHold), whatever the hash cost.
func (h *Hasher) VerifyPassword(ctx context.Context, encoded, password string) (match, stale bool, err error) {
	return h.verifyPassword(ctx, encoded, password, h.VerificationHold())
}

// verifyPassword is VerifyPassword with its slot held at least hold.
func (h *Hasher) verifyPassword(ctx context.Context, encoded, password string, hold time.Duration) (match, stale bool, err error) {
	stored, err := ParseHash(encoded)
	if err != nil || !h.fits(stored) {
		stored = nil
	}
	mem := h.limits.HashMemoryKiB
	if stored != nil {
		mem = stored.memoryKiB()
	}
	if err := h.acquire(ctx, mem); err != nil {
		return false, false, err
	}
	defer h.releaseAfter(mem, time.Now().Add(hold))

	if stored == nil {
		h.verifyDecoy(password)
		return false, true, nil
	}
	return stored.verify(password), h.stale(stored), nil
}

// fits reports whether verifying stored fits the memory budget at all,
// beside the headroom.
func (h *Hasher) fits(stored *Hash) bool {
	return h.limits.MemoryBudgetKiB == 0 || stored.memoryKiB() <= h.limits.MemoryBudgetKiB-h.limits.HeadroomKiB
}

func (h *Hasher) stale(stored *Hash) bool {
	return stored.Algorithm != Argon2id || stored.Params != h.params ||
		len(stored.Salt) != saltLen || len(stored.Key) != keyLen
}

// verifyDecoy does the work of verifying password against a current hash and
// throws the answer away.
func (h *Hasher) verifyDecoy(password string) {
	decoy := Hash{Algorithm: Argon2id, Params: h.params, Salt: h.decoySalt, Key: h.decoyKey}
	decoy.verify(password)
}
