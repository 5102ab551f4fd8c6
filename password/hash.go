package password

import (
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/veil-id/veil"
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Algorithms of stored hashes, as Algorithm and Hash.Algorithm name them.
const (
	Argon2id         = "argon2id"
	Bcrypt           = "bcrypt"
	UnknownAlgorithm = "unknown"
)

// Bounds on the shape of a stored hash. Anything outside them is malformed.
const (
	maxEncodedLen = 256 // a 64-byte salt and key in PHC form take about 230
	minSaltLen    = 8   // RFC 9106
	maxSaltLen    = 64
	minKeyLen     = 16
	maxKeyLen     = 64

	bcryptLen         = 60 // $2b$NN$ + 22 characters of salt + 31 of hash
	minBcryptCost     = 4  // bcrypt.MinCost
	maxBcryptCost     = 16 // 2^16 rounds take seconds; more is not a sign-in
	bcryptMaxPassword = 72 // bcrypt ignores every byte after the 72nd
	bcryptMemoryKiB   = 5  // the Blowfish state, for the pool's memory count
	bcryptAlphabet    = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
)

var b64 = base64.RawStdEncoding.Strict()

// Hash is a parsed stored password hash.
type Hash struct {
	Algorithm string // Argon2id or Bcrypt
	Params    Params // argon2id only
	Salt      []byte // argon2id only
	Key       []byte // argon2id only: the derived key
	Cost      int    // bcrypt only: log2 of the rounds

	bcrypt string // bcrypt only: the string as stored
}

// ParseHash parses a stored hash: a PHC argon2id string
// ($argon2id$v=19$m=…,t=…,p=…$salt$key, canonical form, unpadded standard
// base64) or a bcrypt string ($2a$, $2b$ or $2y$). Errors are EINVALID and
// never quote encoded. Parameters beyond the bounds of Params.Validate, salts
// outside 8–64 bytes, keys outside 16–64 bytes and bcrypt costs above 16 are
// malformed.
func ParseHash(encoded string) (*Hash, error) {
	switch {
	case len(encoded) > maxEncodedLen:
		return nil, malformed("longer than %d bytes", maxEncodedLen)
	case strings.HasPrefix(encoded, "$argon2id$"):
		return parseArgon2id(encoded)
	case strings.HasPrefix(encoded, "$2"):
		return parseBcrypt(encoded)
	}
	return nil, malformed("not an argon2id or bcrypt hash")
}

// Algorithm returns Argon2id or Bcrypt for a well-formed stored hash of that
// algorithm and UnknownAlgorithm for anything else, for operators' listings.
func Algorithm(encoded string) string {
	h, err := ParseHash(encoded)
	if err != nil {
		return UnknownAlgorithm
	}
	return h.Algorithm
}

// String returns the stored form of h: the canonical PHC string for argon2id,
// the string as parsed for bcrypt.
func (h *Hash) String() string {
	if h.Algorithm == Bcrypt {
		return h.bcrypt
	}
	return encodeArgon2id(h.Params, h.Salt, h.Key)
}

func encodeArgon2id(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Iterations, p.Parallelism,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

func malformed(format string, args ...any) error {
	return veil.Errorf(veil.EINVALID, "The password hash is malformed: "+format+".", args...)
}

func parseArgon2id(encoded string) (*Hash, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 {
		return nil, malformed("argon2id needs 5 fields separated by $")
	}
	if parts[2] != "v=19" {
		return nil, malformed("only argon2id version 19 is supported")
	}
	params, err := parseArgon2Params(parts[3])
	if err != nil {
		return nil, err
	}
	salt, err := decodeBase64("salt", parts[4], minSaltLen, maxSaltLen)
	if err != nil {
		return nil, err
	}
	key, err := decodeBase64("key", parts[5], minKeyLen, maxKeyLen)
	if err != nil {
		return nil, err
	}
	return &Hash{Algorithm: Argon2id, Params: params, Salt: salt, Key: key}, nil
}

// parseArgon2Params parses "m=…,t=…,p=…" in that order, the only form PHC
// encoders write; keyid and data are not supported.
func parseArgon2Params(s string) (Params, error) {
	fields := strings.Split(s, ",")
	if len(fields) != 3 {
		return Params{}, malformed("argon2id needs exactly m, t and p")
	}
	var values [3]uint64
	for i, name := range []string{"m=", "t=", "p="} {
		digits, ok := strings.CutPrefix(fields[i], name)
		if !ok {
			return Params{}, malformed("argon2id parameters must be m, t, p in that order")
		}
		v, ok := parseDecimal(digits)
		if !ok {
			return Params{}, malformed("argon2id parameter %s is not a decimal number", name[:1])
		}
		values[i] = v
	}
	if values[0] > maxMemoryKiB || values[1] > maxIterations || values[2] > maxParallelism {
		return Params{}, malformed("argon2id parameters out of bounds")
	}
	p := Params{Memory: uint32(values[0]), Iterations: uint32(values[1]), Parallelism: uint8(values[2])}
	if err := p.Validate(); err != nil {
		return Params{}, malformed("argon2id parameters out of bounds")
	}
	return p, nil
}

// parseDecimal parses up to 10 decimal digits without sign or leading zeros.
func parseDecimal(s string) (uint64, bool) {
	if s == "" || len(s) > 10 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseUint(s, 10, 64)
	return v, err == nil
}

func decodeBase64(field, s string, minLen, maxLen int) ([]byte, error) {
	if len(s) > b64.EncodedLen(maxLen) {
		return nil, malformed("argon2id %s longer than %d bytes", field, maxLen)
	}
	// The decoder skips \r and \n; a stored hash has none.
	b, err := b64.DecodeString(s)
	if err != nil || strings.ContainsAny(s, "\r\n") {
		return nil, malformed("argon2id %s is not unpadded standard base64", field)
	}
	if len(b) < minLen || len(b) > maxLen {
		return nil, malformed("argon2id %s must be %d to %d bytes", field, minLen, maxLen)
	}
	return b, nil
}

// parseBcrypt checks the shape of a bcrypt string strictly, so that
// x/crypto/bcrypt never sees one it would reject or one that costs more than
// maxBcryptCost.
func parseBcrypt(encoded string) (*Hash, error) {
	if len(encoded) != bcryptLen {
		return nil, malformed("bcrypt hashes are %d bytes", bcryptLen)
	}
	switch encoded[:4] {
	case "$2a$", "$2b$", "$2y$":
	default:
		return nil, malformed("only bcrypt versions 2a, 2b and 2y are supported")
	}
	cost, ok := parseDecimal(strings.TrimPrefix(encoded[4:6], "0"))
	if !ok || encoded[6] != '$' {
		return nil, malformed("bcrypt cost must be two digits followed by $")
	}
	if cost < minBcryptCost || cost > maxBcryptCost {
		return nil, malformed("bcrypt cost must be %d to %d", minBcryptCost, maxBcryptCost)
	}
	for i := 7; i < len(encoded); i++ {
		if strings.IndexByte(bcryptAlphabet, encoded[i]) < 0 {
			return nil, malformed("bcrypt salt and hash must be bcrypt base64")
		}
	}
	return &Hash{Algorithm: Bcrypt, Cost: int(cost), bcrypt: encoded}, nil
}

// memoryKiB is what verifying h takes from the pool's memory budget: what
// the hash really holds while it runs, not only its m parameter.
func (h *Hash) memoryKiB() uint64 {
	if h.Algorithm == Bcrypt {
		return bcryptMemoryKiB
	}
	return h.Params.memoryCostKiB()
}

// verify reports whether password matches h, comparing in constant time.
func (h *Hash) verify(password string) bool {
	pw := []byte(password)
	defer clear(pw)
	if h.Algorithm == Bcrypt {
		return verifyBcrypt(h.bcrypt, pw)
	}
	key := argon2.IDKey(pw, h.Salt, h.Params.Iterations, h.Params.Memory, h.Params.Parallelism, uint32(len(h.Key)))
	return subtle.ConstantTimeCompare(key, h.Key) == 1
}

// verifyBcrypt compares pw with a bcrypt hash. bcrypt ignores every byte past
// the 72nd, so a longer password would match any password sharing its first
// 72 bytes; it is a non-match instead, after the same work.
func verifyBcrypt(encoded string, pw []byte) bool {
	tooLong := len(pw) > bcryptMaxPassword
	if tooLong {
		pw = pw[:bcryptMaxPassword]
	}
	err := bcrypt.CompareHashAndPassword([]byte(encoded), pw)
	return err == nil && !tooLong
}
