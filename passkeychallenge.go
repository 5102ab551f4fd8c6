package veil

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"time"
)

// A passkey sign-in's challenge is signed, not stored: anyone may ask for
// sign-in options, for any identifier and from any address, and a stored
// challenge per request would let a client spraying identifiers grow the
// tokens table without bound (every options request wrote a row that
// lived PasskeyChallengeTTL). A signed challenge costs the options step no
// write at all, the same for every identifier; only the finish step,
// which the throttle counts, records a challenge as spent.
//
// The challenge is expiry (8 bytes, Unix seconds) || nonce (16) ||
// HMAC-SHA-256 under the service key (16).
const (
	passkeyNonceSize     = 16
	passkeyMACSize       = 16
	passkeyChallengeSize = 8 + passkeyNonceSize + passkeyMACSize
)

// newPasskeyChallenge returns a fresh signed challenge.
func (s *Service) newPasskeyChallenge() []byte {
	c := make([]byte, 8, passkeyChallengeSize)
	binary.BigEndian.PutUint64(c, uint64(s.cfg.Clock.Now().Add(PasskeyChallengeTTL).Unix()))
	c = c[:8+passkeyNonceSize]
	rand.Read(c[8:])
	return append(c, s.passkeyChallengeMAC(c)...)
}

func (s *Service) passkeyChallengeMAC(payload []byte) []byte {
	m := hmac.New(sha256.New, s.cfg.Key)
	m.Write([]byte("veil passkey challenge v1\x00"))
	m.Write(payload)
	return m.Sum(nil)[:passkeyMACSize]
}

// spendPasskeyChallenge checks that challenge, as an assertion's client
// data carries it, is one veil signed and that has not expired, and
// records it spent, atomically: of two assertions on one challenge, one
// spends it and the other gets ENOTFOUND, like a forged or expired one.
func (s *Service) spendPasskeyChallenge(ctx context.Context, challenge string) error {
	raw, err := base64.RawURLEncoding.Strict().DecodeString(challenge)
	if err != nil || len(raw) != passkeyChallengeSize {
		return errNoChallenge
	}
	payload := raw[:8+passkeyNonceSize]
	if !hmac.Equal(raw[len(payload):], s.passkeyChallengeMAC(payload)) {
		return errNoChallenge
	}
	now := s.cfg.Clock.Now()
	expires := time.Unix(int64(binary.BigEndian.Uint64(raw)), 0)
	if !now.Before(expires) {
		return errNoChallenge
	}
	// The spent record lives as long as the challenge could pass; the
	// expired-token sweep removes it after. Hashed over the decoded bytes,
	// so no other spelling of the same challenge is a new one.
	err = s.cfg.Tokens.CreateToken(ctx, &Token{Hash: HashToken(string(raw)), Purpose: TokenPasskeySpent, CreatedAt: now, ExpiresAt: expires})
	if ErrorCode(err) == ECONFLICT {
		return errNoChallenge
	}
	return err
}

var errNoChallenge = Errorf(ENOTFOUND, "No live passkey challenge is this one.")
