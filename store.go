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

// Store is everything veil keeps in its own database.
type Store interface {
	AccountStore
	SessionStore
	AuditLog
	SecretStore
	SignUpStore
	TokenStore
	OutboxStore
	// Close releases the database.
	Close() error
}
