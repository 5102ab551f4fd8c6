// Package veil is the domain of an account service that never tells anyone
// whether an account exists.
//
// It holds the types (Account, Identifier, Session, Event), the interfaces to
// the outside world (AccountStore, SessionStore, AuditLog, PasswordHasher,
// Auditor, Clock) and the account flows that use them. The flows are the only
// code that knows whether an account exists: they return the one public
// failure (EUNAUTHORIZED) and send the true reason to the Auditor, so the
// transport layer never receives it and cannot leak it.
//
// This package must never import net/http, database/sql or any adapter
// package; adapters import it (see deps_test.go).
package veil

import (
	"errors"
	"fmt"
)

// Error codes a program can switch on. The web layer maps them to HTTP
// statuses in one table.
//
// A code names what kind of answer the caller gets, never why a check
// failed: every failure of one check shares one code, whatever the account.
const (
	EINVALID      = "invalid"       // the input is malformed; depends on syntax only
	EINVALIDTOKEN = "invalid_token" // a mailed link's token is malformed, used, expired or unknown
	EUNAUTHORIZED = "unauthorized"  // the one public failure of a credential check (password, passkey, mailed code)
	EINVALIDCODE  = "invalid_code"  // the one public failure of a sign-in's second step
	ENOSESSION    = "no_session"    // the request carries no live session
	ENOTFOUND     = "not_found"     // for operators (CLI); never reaches a public answer about accounts
	ECONFLICT     = "conflict"      // for operators (CLI)
	EOVERLOADED   = "overloaded"    // a bounded resource is full; answered the same to everyone
	EUNAVAILABLE  = "unavailable"   // a dependency failed or timed out; answered the same to everyone
	EINTERNAL     = "internal"
)

// Error is an error with a code the program can act on and a message that is
// safe to show to anyone. The cause, when there is one, is for the operator's
// log only.
type Error struct {
	Code    string
	Message string
	Cause   error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("veil: %s: %s: %v", e.Code, e.Message, e.Cause)
	}
	return fmt.Sprintf("veil: %s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Cause }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err, EINTERNAL for anything that is not an
// *Error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of err that is safe to show to anyone.
// Anything that is not an *Error gets a generic message, so causes such as
// database errors never reach a public answer.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}
