package password

import "github.com/veil-id/veil"

// Params are the argon2id cost parameters of a hash.
type Params struct {
	Memory      uint32 // KiB
	Iterations  uint32 // passes over the memory
	Parallelism uint8  // lanes
}

// DefaultParams is OWASP's minimum configuration for argon2id: 19 MiB, two
// passes, one lane. It costs a few tens of milliseconds on a current core.
var DefaultParams = Params{Memory: 19456, Iterations: 2, Parallelism: 1}

// Bounds on parameters, applied to the policy and to every stored hash. They
// lie far above any sensible policy; they exist so that a corrupt or planted
// hash cannot make one verification take minutes or gigabytes.
const (
	maxMemoryKiB   = 1 << 21 // 2 GiB, RFC 9106's most expensive recommendation
	maxIterations  = 64
	maxParallelism = 64
	// maxWork bounds memory × passes: 2 GiB twice or 64 MiB 64 times.
	maxWork = 1 << 22
)

// Validate reports whether p is a usable argon2id configuration: at least one
// pass and one lane, at least 8 KiB of memory per lane (RFC 9106), and no
// more than 2 GiB of memory, 64 passes, 64 lanes or 4 GiB·passes of work.
// Errors are EINVALID.
func (p Params) Validate() error {
	switch {
	case p.Iterations < 1:
		return veil.Errorf(veil.EINVALID, "argon2id needs at least 1 iteration.")
	case p.Parallelism < 1:
		return veil.Errorf(veil.EINVALID, "argon2id needs a parallelism of at least 1.")
	case uint64(p.Memory) < 8*uint64(p.Parallelism):
		return veil.Errorf(veil.EINVALID, "argon2id needs at least 8 KiB of memory per lane.")
	case p.Memory > maxMemoryKiB:
		return veil.Errorf(veil.EINVALID, "argon2id memory must be at most %d KiB.", maxMemoryKiB)
	case p.Iterations > maxIterations:
		return veil.Errorf(veil.EINVALID, "argon2id iterations must be at most %d.", maxIterations)
	case p.Parallelism > maxParallelism:
		return veil.Errorf(veil.EINVALID, "argon2id parallelism must be at most %d.", maxParallelism)
	case uint64(p.Memory)*uint64(p.Iterations) > maxWork:
		return veil.Errorf(veil.EINVALID, "argon2id memory × iterations must be at most %d KiB.", maxWork)
	}
	return nil
}

// What a hash costs in memory beyond argon2's blocks, for the pool's count.
// argon2.IDKey allocates its blocks as one object (measured with
// runtime/metrics /gc/heap/allocs:bytes: m KiB plus under 6 KiB for m =
// 19456, p = 1 to 4); Go rounds a large object up to whole 8 KiB pages and
// runs each lane on a goroutine of its own.
const (
	pageKiB      = 8
	laneStackKiB = 8
	syncPoints   = 4 // argon2's slices per pass
)

// memoryCostKiB is the memory one hash under p holds while it runs:
// argon2's blocks (m rounded down to a multiple of 4 × p, as argon2 does),
// rounded up to Go's pages, and the lanes' stacks. The garbage it leaves
// behind until the garbage collector runs is not in here: the pool keeps a
// headroom for it (Limits.HeadroomKiB).
func (p Params) memoryCostKiB() uint64 {
	lanes := uint64(max(p.Parallelism, 1))
	blocks := uint64(p.Memory) / (syncPoints * lanes) * (syncPoints * lanes)
	blocks = max(blocks, 2*syncPoints*lanes)
	pages := (blocks + pageKiB - 1) / pageKiB * pageKiB
	return pages + lanes*laneStackKiB
}
