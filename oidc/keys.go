package oidc

import (
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/veil-id/veil"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// Signing algorithms the provider can sign ID tokens with.
const (
	ES256 = "ES256"
	EdDSA = "EdDSA"
	RS256 = "RS256"
)

// DefaultAlgorithm signs ID tokens unless the configuration says otherwise:
// small keys and signatures, and supported by every client library we know.
const DefaultAlgorithm = ES256

// CheckAlgorithm reports whether alg is one the provider can sign with.
func CheckAlgorithm(alg string) error {
	switch alg {
	case ES256, EdDSA, RS256:
		return nil
	}
	return veil.Errorf(veil.EINVALID, "Signing algorithm %q is none of ES256, EdDSA, RS256.", alg)
}

// keyCacheTTL is how long an instance keeps the keys it read: another
// instance's rotation reaches it within this time (the retired key stays
// valid meanwhile).
const keyCacheTTL = 30 * time.Second

// keyRetention is how long a retired key stays in the key set: every ID
// token it signed has expired by then, with a margin for clock skew.
const keyRetention = idTokenLifetime + 10*time.Minute

// keyring holds the signing keys, decrypted, cached for keyCacheTTL.
type keyring struct {
	store Store
	aead  cipher.AEAD
	alg   string
	now   func() time.Time

	mu       sync.Mutex
	loadedAt time.Time
	keys     []*loadedKey // newest first
}

type loadedKey struct {
	id, alg   string
	priv      crypto.Signer
	retiredAt time.Time
}

// newKeyring returns a keyring whose private keys are sealed with
// AES-256-GCM under kek (32 bytes).
func newKeyring(store Store, kek []byte, alg string, now func() time.Time) (*keyring, error) {
	if len(kek) != 32 {
		return nil, errors.New("oidc: the key encryption key must be 32 bytes")
	}
	if err := CheckAlgorithm(alg); err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &keyring{store: store, aead: aead, alg: alg, now: now}, nil
}

func generateKey(alg string) (crypto.Signer, error) {
	switch alg {
	case ES256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case EdDSA:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	case RS256:
		return rsa.GenerateKey(rand.Reader, 2048)
	}
	return nil, CheckAlgorithm(alg)
}

// seal encrypts a private key, bound to its ID and algorithm.
func (k *keyring) seal(id, alg string, priv crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, k.aead.NonceSize())
	rand.Read(nonce)
	return k.aead.Seal(nonce, nonce, der, []byte(id+"\x00"+alg)), nil
}

func (k *keyring) open(sk *SigningKey) (*loadedKey, error) {
	n := k.aead.NonceSize()
	if len(sk.Sealed) < n {
		return nil, errors.New("sealed key too short")
	}
	der, err := k.aead.Open(nil, sk.Sealed[:n], sk.Sealed[n:], []byte(sk.ID+"\x00"+sk.Algorithm))
	if err != nil {
		return nil, fmt.Errorf("signing key %s cannot be decrypted with this key encryption key (every instance needs the same oidc.key_file)", sk.ID)
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, err
	}
	signer, ok := priv.(crypto.Signer)
	if !ok {
		return nil, errors.New("stored key is not a signing key")
	}
	return &loadedKey{id: sk.ID, alg: sk.Algorithm, priv: signer, retiredAt: sk.RetiredAt}, nil
}

// load returns the keys, from the cache while it is fresh.
func (k *keyring) load(ctx context.Context) ([]*loadedKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	if k.keys != nil && now.Sub(k.loadedAt) < keyCacheTTL {
		return k.keys, nil
	}
	stored, err := k.store.ListSigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	keys := make([]*loadedKey, 0, len(stored))
	for _, sk := range stored {
		if !sk.RetiredAt.IsZero() && now.Sub(sk.RetiredAt) > keyRetention {
			continue
		}
		lk, err := k.open(sk)
		if err != nil {
			return nil, err
		}
		keys = append(keys, lk)
	}
	k.keys, k.loadedAt = keys, now
	return keys, nil
}

// forget drops the cache.
func (k *keyring) forget() {
	k.mu.Lock()
	k.keys = nil
	k.mu.Unlock()
}

// algorithms are the algorithms the provider always holds a key for, so
// that a client configured for one finds it in the key set from the start.
var algorithms = []string{ES256, EdDSA, RS256}

// current returns the key to sign with for alg ("" for the configured
// default): the newest active key of that algorithm, made on first use.
func (k *keyring) current(ctx context.Context, alg string) (*loadedKey, error) {
	if alg == "" {
		alg = k.alg
	}
	keys, err := k.load(ctx)
	if err != nil {
		return nil, err
	}
	for _, lk := range keys {
		if lk.alg == alg && lk.retiredAt.IsZero() {
			return lk, nil
		}
	}
	if _, err := k.create(ctx, alg); err != nil {
		return nil, err
	}
	k.forget()
	return k.current(ctx, alg)
}

// ensure makes sure there is an active key of every algorithm.
func (k *keyring) ensure(ctx context.Context) error {
	for _, alg := range algorithms {
		if _, err := k.current(ctx, alg); err != nil {
			return err
		}
	}
	return nil
}

// create makes and stores a new active key.
func (k *keyring) create(ctx context.Context, alg string) (*SigningKey, error) {
	priv, err := generateKey(alg)
	if err != nil {
		return nil, err
	}
	var b [12]byte
	rand.Read(b[:])
	id := base64.RawURLEncoding.EncodeToString(b[:])
	sealed, err := k.seal(id, alg, priv)
	if err != nil {
		return nil, err
	}
	sk := &SigningKey{ID: id, Algorithm: alg, Sealed: sealed, CreatedAt: k.now()}
	return sk, k.store.CreateSigningKey(ctx, sk)
}

// Rotate makes a new signing key of every algorithm and retires the
// others; they stay in the key set for keyRetention, and keys retired
// before that are deleted. It returns the new key of the default
// algorithm.
func (k *keyring) Rotate(ctx context.Context) (*SigningKey, error) {
	var def *SigningKey
	now := k.now()
	for _, alg := range algorithms {
		sk, err := k.create(ctx, alg)
		if err != nil {
			return nil, err
		}
		if err := k.store.RetireSigningKeys(ctx, alg, sk.ID, now); err != nil {
			return nil, err
		}
		if alg == k.alg {
			def = sk
		}
	}
	if _, err := k.store.DeleteSigningKeysRetiredBefore(ctx, now.Add(-keyRetention)); err != nil {
		return nil, err
	}
	k.forget()
	return def, nil
}

// opSigningKey is a private key as package op signs with it.
type opSigningKey struct{ k *loadedKey }

func (s opSigningKey) SignatureAlgorithm() jose.SignatureAlgorithm {
	return jose.SignatureAlgorithm(s.k.alg)
}
func (s opSigningKey) Key() any   { return s.k.priv }
func (s opSigningKey) ID() string { return s.k.id }

// opPublicKey is a public key of the key set.
type opPublicKey struct{ k *loadedKey }

func (p opPublicKey) ID() string                         { return p.k.id }
func (p opPublicKey) Algorithm() jose.SignatureAlgorithm { return jose.SignatureAlgorithm(p.k.alg) }
func (p opPublicKey) Use() string                        { return "sig" }
func (p opPublicKey) Key() any                           { return p.k.priv.Public() }

var (
	_ op.SigningKey = opSigningKey{}
	_ op.Key        = opPublicKey{}
)
