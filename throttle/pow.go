package throttle

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"math/bits"
	"strconv"
	"strings"
	"time"

	"github.com/veil-id/veil"
)

// A challenge token is "2.<payload>.<mac>": the payload (base64url) holds
// the expiry (unix seconds), the difficulty and a random nonce; the mac is
// an HMAC-SHA-256 of everything before it and of what the challenge was
// issued for — the action, the identifier's keyed hash and the client
// address — truncated to 128 bits. The token does not contain those: a
// proof verifies only when it is spent on the attempt it was issued to, so
// challenges harvested on a throwaway identifier, or from another address,
// are worthless on a victim's. The server keeps nothing until a solution
// is spent: then it claims the nonce, so each challenge is good once, on
// every instance that shares the store. (Version 1 tokens were bound to
// nothing; they no longer verify.)
const (
	powVersion      = "2."
	powNonceBytes   = 12
	powPayloadBytes = 8 + 1 + powNonceBytes
	powMACBytes     = 16
	// maxSolutionBytes bounds what a client may send as a solution: the
	// script sends zeros up to a 64-byte block, then 10 digits.
	maxSolutionBytes = 96
	maxProofBytes    = 256
)

// b64 decodes strictly: a token has one spelling, so a signature cannot be
// respelled into a second token for the same nonce.
var b64 = base64.RawURLEncoding.Strict()

// powSigner issues and verifies proof-of-work challenges.
type powSigner struct {
	key []byte
}

// powBinding is what a challenge is issued for, as the mac covers it.
func powBinding(a *veil.Attempt) string {
	return a.Action + "\x00" + a.Subject + "\x00" + a.Addr
}

// issue returns a fresh challenge of difficulty bits for attempts like a,
// good until expires.
func (p powSigner) issue(a *veil.Attempt, difficulty int, expires time.Time) *veil.Challenge {
	var nonce [powNonceBytes]byte
	rand.Read(nonce[:])
	return p.issueNonce(powBinding(a), difficulty, expires, nonce)
}

func (p powSigner) issueNonce(binding string, difficulty int, expires time.Time, nonce [powNonceBytes]byte) *veil.Challenge {
	var payload [powPayloadBytes]byte
	binary.BigEndian.PutUint64(payload[:8], uint64(expires.Unix()))
	payload[8] = byte(difficulty)
	copy(payload[9:], nonce[:])
	body := powVersion + b64.EncodeToString(payload[:])
	return &veil.Challenge{Token: body + "." + b64.EncodeToString(p.mac(body, binding)), Difficulty: difficulty, Expires: time.Unix(expires.Unix(), 0).UTC()}
}

func (p powSigner) mac(body, binding string) []byte {
	m := hmac.New(sha256.New, p.key)
	m.Write([]byte("veil pow v2\x00"))
	m.Write([]byte(body))
	m.Write([]byte{0})
	m.Write([]byte(binding))
	return m.Sum(nil)[:powMACBytes]
}

// solvedProof is a proof whose signature, expiry and work have been
// checked; its nonce is still to be claimed.
type solvedProof struct {
	nonce   string
	expires time.Time
}

// verify checks a proof ("token:solution") spent on attempt a against the
// signature (which covers what the challenge was issued for), the expiry,
// the least difficulty the policy asks for now and the work. It reads
// nothing stored, so it costs the same for every identifier.
func (p powSigner) verify(proof string, a *veil.Attempt, minDifficulty int, now time.Time) (solvedProof, bool) {
	token, ok := splitProof(proof)
	if !ok {
		return solvedProof{}, false
	}
	dot := strings.LastIndexByte(token, '.')
	body, sigText := token[:dot], token[dot+1:]
	if !strings.HasPrefix(body, powVersion) || len(sigText) != b64.EncodedLen(powMACBytes) || len(body) != len(powVersion)+b64.EncodedLen(powPayloadBytes) {
		return solvedProof{}, false
	}
	mac, err := b64.DecodeString(sigText)
	if err != nil || !hmac.Equal(mac, p.mac(body, powBinding(a))) {
		return solvedProof{}, false
	}
	payload, err := b64.DecodeString(body[len(powVersion):])
	if err != nil || len(payload) != powPayloadBytes {
		return solvedProof{}, false
	}
	expires := time.Unix(int64(binary.BigEndian.Uint64(payload[:8])), 0)
	difficulty := int(payload[8])
	if !now.Before(expires) || difficulty < minDifficulty || leadingZeroBits(sha256.Sum256([]byte(proof))) < difficulty {
		return solvedProof{}, false
	}
	return solvedProof{nonce: b64.EncodeToString(payload[9:]), expires: expires}, true
}

// splitProof returns the token of "token:solution" and checks the shape of both parts:
// bounded lengths, and a solution of ASCII letters and digits only.
func splitProof(proof string) (token string, ok bool) {
	if len(proof) > maxProofBytes {
		return "", false
	}
	i := strings.LastIndexByte(proof, ':')
	if i < 0 {
		return "", false
	}
	token, solution := proof[:i], proof[i+1:]
	if solution == "" || len(solution) > maxSolutionBytes || strings.Count(token, ".") != 2 {
		return "", false
	}
	for i := 0; i < len(solution); i++ {
		c := solution[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return "", false
		}
	}
	return token, true
}

func leadingZeroBits(sum [sha256.Size]byte) int {
	n := 0
	for i := 0; i < len(sum); i += 8 {
		w := binary.BigEndian.Uint64(sum[i:])
		n += bits.LeadingZeros64(w)
		if w != 0 {
			break
		}
	}
	return n
}

// Solve finds a solution to a challenge and returns the proof to send
// back ("token:solution"). It is what web/static/pow.js does, for Go
// clients, tests and benchmarks; it gives up (returning "") after 2^40
// tries, which no valid difficulty needs.
func Solve(c *veil.Challenge) string {
	prefix := c.Token + ":"
	buf := make([]byte, 0, len(prefix)+20)
	buf = append(buf, prefix...)
	for n := uint64(0); n < 1<<40; n++ {
		b := strconv.AppendUint(buf, n, 10)
		if leadingZeroBits(sha256.Sum256(b)) >= c.Difficulty {
			return string(b)
		}
	}
	return ""
}
