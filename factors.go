package veil

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"time"
)

// TOTPFactor is an account's authenticator app. Its secret is sealed
// (AES-256-GCM under the factor key, bound to the account ID), so a copy
// of the database alone cannot compute anyone's codes.
type TOTPFactor struct {
	AccountID    string
	SealedSecret []byte
	// Confirmed is false while the person has not yet typed a code from
	// the app: an unconfirmed factor is never asked for at sign-in.
	Confirmed bool
	// LastStep is the latest 30-second time step whose code was used, so
	// that a code seen over someone's shoulder cannot be used again.
	LastStep  int64
	CreatedAt time.Time
}

// FactorStore keeps second factors. They are keyed by account ID only, so
// they live in veil's own database whether the accounts do or a directory
// holds them.
type FactorStore interface {
	// FindTOTP returns the account's TOTP factor, confirmed or not, or
	// ENOTFOUND.
	FindTOTP(ctx context.Context, accountID string) (*TOTPFactor, error)
	// PutTOTP stores f, replacing the account's factor if it has one.
	PutTOTP(ctx context.Context, f *TOTPFactor) error
	// UseTOTPStep records step as used if the account has a confirmed
	// factor whose LastStep is earlier, in one atomic step; ECONFLICT if
	// that step or a later one was used already (a replayed code),
	// ENOTFOUND if there is no confirmed factor.
	UseTOTPStep(ctx context.Context, accountID string, step int64) error
	// DeleteTOTP removes the account's TOTP factor; no error if none.
	DeleteTOTP(ctx context.Context, accountID string) error
	// ReplaceRecoveryCodes makes hashes the account's only recovery
	// codes, in one transaction.
	ReplaceRecoveryCodes(ctx context.Context, accountID string, hashes [][]byte, now time.Time) error
	// UseRecoveryCode removes the account's recovery code with this hash,
	// atomically, so that it works once; ENOTFOUND if there is none.
	UseRecoveryCode(ctx context.Context, accountID string, hash []byte) error
	// CountRecoveryCodes returns how many unused recovery codes the
	// account has.
	CountRecoveryCodes(ctx context.Context, accountID string) (int, error)
	// DeleteAccountFactors removes every factor and recovery code of an
	// account and returns how many rows went.
	DeleteAccountFactors(ctx context.Context, accountID string) (int, error)
}

// FactorKey encrypts second-factor secrets at rest and keys the hashes of
// recovery codes. It is kept apart from the database (the configuration or
// a file in the data directory), so that a copy of the database alone
// gives neither.
type FactorKey []byte

// FactorKeySize is the size of a FactorKey: AES-256.
const FactorKeySize = 32

func (k FactorKey) derive(purpose string) []byte {
	m := hmac.New(sha256.New, k)
	m.Write([]byte("veil factor key v1\x00" + purpose))
	return m.Sum(nil)
}

func (k FactorKey) aead() cipher.AEAD {
	block, err := aes.NewCipher(k.derive("totp-seal"))
	if err != nil {
		panic(err) // a derived key is always 32 bytes
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return aead
}

// seal encrypts secret for accountID: nonce then ciphertext.
func (k FactorKey) seal(accountID string, secret []byte) []byte {
	aead := k.aead()
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(secret)+aead.Overhead())
	rand.Read(nonce)
	return aead.Seal(nonce, nonce, secret, []byte("totp\x00"+accountID))
}

var errSealed = errors.New("veil: a sealed factor secret does not open under the factor key (was the key changed?)")

// open decrypts what seal made for accountID.
func (k FactorKey) open(accountID string, sealed []byte) ([]byte, error) {
	aead := k.aead()
	if len(sealed) < aead.NonceSize() {
		return nil, errSealed
	}
	secret, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte("totp\x00"+accountID))
	if err != nil {
		return nil, errSealed
	}
	return secret, nil
}

// recoveryHash is the stored form of a normalized recovery code: keyed,
// so that the 60 bits of a code cannot be searched from a copy of the
// database, and bound to the account.
func (k FactorKey) recoveryHash(accountID, code string) []byte {
	m := hmac.New(sha256.New, k.derive("recovery-code"))
	m.Write([]byte(accountID + "\x00" + code))
	return m.Sum(nil)
}
