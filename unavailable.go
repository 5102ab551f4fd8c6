package veil

import (
	"errors"
	"fmt"
)

// errUnavailable is the one public answer to a dependency that failed or
// did not answer in time: the database, the session store, the directory.
// It is the same for every identifier, since the dependency failed before
// it could tell anything about the account.
var errUnavailable = &Error{Code: EUNAVAILABLE, Message: "This service is unavailable right now. Please try again in a moment."}

// unavailable marks err, which a dependency returned while doing what,
// as EUNAVAILABLE with the cause kept for the operator's log. An error
// that already has a code (ENOTFOUND, EOVERLOADED, ...) says more than
// that and is kept as it is.
func unavailable(what string, err error) error {
	if err == nil {
		return nil
	}
	if e := (*Error)(nil); errors.As(err, &e) {
		return err
	}
	return &Error{Code: errUnavailable.Code, Message: errUnavailable.Message, Cause: fmt.Errorf("veil: %s: %w", what, err)}
}
