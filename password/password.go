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
	"runtime"

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
	// MemoryBudgetKiB bounds the memory of the hashes running at once; 0
	// means no bound. New lowers Concurrency so that Params.Memory ×
	// Concurrency fits, and stored hashes with more memory than Params take
	// more of the budget while they are verified.
	MemoryBudgetKiB uint64
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
			memLimit: limits.MemoryBudgetKiB,
			queueCap: limits.Queue,
		},
		decoySalt: make([]byte, saltLen),
		decoyKey:  make([]byte, keyLen),
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
	if budget := l.MemoryBudgetKiB; budget > 0 {
		fit := budget / uint64(params.Memory)
		if fit == 0 {
			return Limits{}, veil.Errorf(veil.EINVALID,
				"The hashing memory budget of %d KiB does not fit one hash of %d KiB.", budget, params.Memory)
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
	mem := uint64(h.params.Memory)
	if err := h.pool.acquire(ctx, mem); err != nil {
		return "", err
	}
	defer h.pool.release(mem)

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
func (h *Hasher) VerifyPassword(ctx context.Context, encoded, password string) (match, stale bool, err error) {
	stored, err := ParseHash(encoded)
	if err != nil || !h.fits(stored) {
		stored = nil
	}
	mem := uint64(h.params.Memory)
	if stored != nil {
		mem = stored.memoryKiB()
	}
	if err := h.pool.acquire(ctx, mem); err != nil {
		return false, false, err
	}
	defer h.pool.release(mem)

	if stored == nil {
		h.verifyDecoy(password)
		return false, true, nil
	}
	return stored.verify(password), h.stale(stored), nil
}

// fits reports whether verifying stored fits the memory budget at all.
func (h *Hasher) fits(stored *Hash) bool {
	return h.limits.MemoryBudgetKiB == 0 || stored.memoryKiB() <= h.limits.MemoryBudgetKiB
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
