package veil

import (
	"context"
	"time"
)

// AccountSettingsStore keeps what people change about their own accounts:
// their name and address, the links and codes mailed for that, and the
// erasure of an account they delete. It is veil's own database; accounts
// in an external directory are managed there.
type AccountSettingsStore interface {
	// SetDisplayName sets the display name of account id; ENOTFOUND if
	// there is none.
	SetDisplayName(ctx context.Context, id, name string) error
	// ChangeEmail sets the email of account id to to if it is still from,
	// so that of two changes racing only one applies; ENOTFOUND if there
	// is no such account or its email is no longer from, ECONFLICT if
	// another account has to.
	ChangeEmail(ctx context.Context, id string, from, to Identifier) error
	// CreateAccountToken stores t.
	CreateAccountToken(ctx context.Context, t *AccountToken) error
	// ConsumeAccountToken marks the live token with this link hash and
	// purpose used and returns it, atomically; ENOTFOUND if there is none,
	// or it was used, or it expired by now.
	ConsumeAccountToken(ctx context.Context, hash []byte, purpose string, now time.Time) (*AccountToken, error)
	// ConsumeLoginCode is ConsumeAccountToken for the live sign-in code
	// of account id whose keyed hash is codeHash.
	ConsumeLoginCode(ctx context.Context, id string, codeHash []byte, now time.Time) (*AccountToken, error)
	// DeleteAccountTokensOf removes the unused tokens of one purpose of
	// account id ("" for every purpose).
	DeleteAccountTokensOf(ctx context.Context, id, purpose string) error
	// EraseAccount, in one transaction, removes account id with its
	// sessions, its tokens of every kind and its outbox jobs (those whose
	// subject is its ID, begins with its ID and a space, or is its email),
	// keeps of its audit events only the identifier hash (the account ID
	// and client address are blanked), and queues j. ENOTFOUND if there
	// is no such account; on any error nothing is written.
	EraseAccount(ctx context.Context, id string, j *Job) error
	// DeleteExpiredAccountTokens removes tokens that expired before t and
	// returns how many.
	DeleteExpiredAccountTokens(ctx context.Context, t time.Time) (int, error)
}

// Purposes of account tokens.
const (
	TokenEmailConfirm = "email_confirm" // confirms a new address (Email: the new one)
	TokenEmailUndo    = "email_undo"    // puts the old address back (Email: the old one)
	TokenLoginCode    = "login_code"    // signs in once, by link or by code
)

// AccountToken is a mailed secret about one account: a link (Hash is the
// SHA-256 of its token) and, for a sign-in code, the code's keyed hash.
// The secrets themselves exist only in the mail.
type AccountToken struct {
	Hash      []byte
	Purpose   string
	AccountID string
	Email     Identifier // the address it is about; "" for a sign-in code
	CodeHash  []byte     // TokenLoginCode only
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Job kinds of the account flows. A subject that is an account ID and an
// address is written "ID address": account IDs and normalized addresses
// never hold a space.
const (
	JobEmailChange    = "email_change"    // Subject: "ID new-address"
	JobEmailChanged   = "email_changed"   // Subject: "ID old-address"
	JobLoginCode      = "login_code"      // Subject: a normalized email
	JobAccountDeleted = "account_deleted" // Subject: the deleted account's email
)

// Mail kinds of the account flows.
const (
	MailEmailChangeConfirm = "email_change_confirm" // to the new address: confirm (Link)
	MailEmailChangeTaken   = "email_change_taken"   // to an address that has an account: nothing changed (SignInURL, ResetURL)
	MailEmailChanged       = "email_changed"        // to the old address: undo (Link)
	MailLoginCode          = "login_code"           // a sign-in code and link (Link, Code)
	MailAccountDeleted     = "account_deleted"      // the account is gone
)

// How long the links and codes of the account flows work. A new address
// has as long as a sign-up; the old one has a week to undo a change,
// since its owner may not read mail every day; a sign-in code is short.
const (
	EmailUndoTTL = 7 * 24 * time.Hour
	LoginCodeTTL = 10 * time.Minute
)

var (
	errSettingsOff   = &Error{Code: EINVALID, Message: "Account settings are not available here."}
	errWrongPassword = &Error{Code: EUNAUTHORIZED, Message: "The password is incorrect."}
)

// accountJobSubject is the subject of a job about an account and an address.
func accountJobSubject(id string, email Identifier) string { return id + " " + string(email) }
