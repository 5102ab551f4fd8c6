package oidc_test

import (
	"errors"

	"golang.org/x/oauth2"
)

func asRetrieveError(err error, re **oauth2.RetrieveError) bool { return errors.As(err, re) }
