package veil

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"time"
)

// Account is a person who can sign in.
type Account struct {
	// ID is random and opaque, so it reveals neither how many accounts
	// exist nor in which order they were made.
	ID           string
	Email        Identifier
	DisplayName  string
	PasswordHash string // a PHC string; never leaves the core
	Disabled     bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// AccountStore keeps accounts.
type AccountStore interface {
	// FindAccountByIdentifier returns the account whose email is id, or
	// ENOTFOUND.
	FindAccountByIdentifier(ctx context.Context, id Identifier) (*Account, error)
	// FindAccountByID returns the account with the given ID, or ENOTFOUND.
	FindAccountByID(ctx context.Context, id string) (*Account, error)
	// CreateAccount stores a new account; ECONFLICT if the email is taken.
	CreateAccount(ctx context.Context, a *Account) error
	// UpdateAccount replaces the email, display name, password hash and
	// disabled flag of the account with a.ID and sets a.UpdatedAt;
	// ENOTFOUND if there is none, ECONFLICT if the new email is taken.
	UpdateAccount(ctx context.Context, a *Account) error
	// ReplacePasswordHash sets the password hash of account id to newHash if
	// it is still oldHash, so a rehash after sign-in can never undo what an
	// operator changed meanwhile; ENOTFOUND if there is no such account or
	// its hash has changed.
	ReplacePasswordHash(ctx context.Context, id, oldHash, newHash string) error
	// DeleteAccount removes the account and its sessions; ENOTFOUND if there
	// is none.
	DeleteAccount(ctx context.Context, id string) error
	// ListAccounts returns every account ordered by email.
	ListAccounts(ctx context.Context) ([]*Account, error)
}

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewAccountID returns a fresh random account ID (128 bits, base32).
func NewAccountID() string {
	var b [16]byte
	rand.Read(b[:])
	return idEncoding.EncodeToString(b[:])
}
