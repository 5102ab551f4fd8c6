package veil

import "context"

// SecretStore keeps the server's own secrets (the identifier key, signing
// keys) beside its data, so that several instances on one database share them
// without any configuration.
type SecretStore interface {
	// LoadOrCreateSecret returns the secret called name, creating it with
	// size random bytes if there is none. Concurrent callers get one value.
	LoadOrCreateSecret(ctx context.Context, name string, size int) ([]byte, error)
}

// HashParamsStore tells which password hash parameters the stored accounts
// use, so the time floor can cover the slowest verification a stored account
// can cause.
type HashParamsStore interface {
	// PasswordHashParams returns the distinct HashParams of the stored
	// password hashes, without reading every hash: the floor asks every
	// few seconds.
	PasswordHashParams(ctx context.Context) ([]string, error)
}

// Store is everything veil keeps in its own database.
type Store interface {
	AccountStore
	HashParamsStore
	SessionStore
	AuditLog
	SecretStore
	SignUpStore
	TokenStore
	OutboxStore
	FactorStore
	PasskeyStore
	AccountSettingsStore
	// Close releases the database.
	Close() error
}
