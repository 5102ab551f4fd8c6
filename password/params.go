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
