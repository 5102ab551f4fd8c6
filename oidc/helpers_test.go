package oidc_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"testing"

	"golang.org/x/oauth2"
)

func asRetrieveError(err error, re **oauth2.RetrieveError) bool { return errors.As(err, re) }

// decodeSegment decodes one base64url JSON segment of a JWT into v.
func decodeSegment(tb testing.TB, seg string, v any) {
	tb.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		tb.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		tb.Fatal(err)
	}
}
