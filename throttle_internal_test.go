package veil

import (
	"context"
	"errors"
	"testing"
)

// TestLoginOutcome pins what the throttle learns from a sign-in's answer:
// only the failure of a completed check (EUNAUTHORIZED, EINVALIDCODE)
// counts; a dead link or a missing session is no guess at a credential.
func TestLoginOutcome(t *testing.T) {
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		want AttemptOutcome
	}{
		{"success", context.Background(), nil, AttemptSucceeded},
		{"wrong password or unknown identifier", context.Background(), errInvalidCredentials, AttemptFailed},
		{"a failure after the client left still counts", gone, errInvalidCredentials, AttemptFailed},
		{"wrong code at the second step", context.Background(), errWrongCode, AttemptFailed},
		{"used recovery code", context.Background(), errWrongRecoveryCode, AttemptFailed},
		{"wrong passkey at the second step", context.Background(), errPasskeyFactorFailed, AttemptFailed},
		{"expired pending sign-in", context.Background(), errSignInExpired, AttemptFailed},
		{"wrong code with a challenge for the next", context.Background(), withChallenge(errWrongCode, &Challenge{}), AttemptFailed},
		{"dead link", context.Background(), errInvalidToken, AttemptFaulted},
		{"no session", context.Background(), errNoSession, AttemptFaulted},
		{"hashing pool full", context.Background(), Errorf(EOVERLOADED, "busy"), AttemptFaulted},
		{"session store down", context.Background(), errors.New("veil: creating session: connection refused"), AttemptFaulted},
		{"deadline", context.Background(), context.DeadlineExceeded, AttemptFaulted},
		{"client went away", gone, context.Canceled, AttemptAbandoned},
	}
	for _, tt := range tests {
		if got := loginOutcome(tt.ctx, tt.err); got != tt.want {
			t.Errorf("%s: loginOutcome = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestWithChallenge pins which answers carry a challenge for the next
// attempt: the failures of a completed check, and nothing else.
func TestWithChallenge(t *testing.T) {
	ch := &Challenge{Token: "t", Difficulty: 1}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"wrong password", errInvalidCredentials, true},
		{"wrong second-factor code", errWrongCode, true},
		{"wrong passkey at the second step", errPasskeyFactorFailed, true},
		{"no session", errNoSession, false},
		{"dead link", errInvalidToken, false},
		{"malformed input", Errorf(EINVALID, "bad"), false},
	}
	for _, tt := range tests {
		err := withChallenge(tt.err, ch)
		if got := ChallengeOf(err) == ch; got != tt.want {
			t.Errorf("%s: ChallengeOf(withChallenge(%v)) is the challenge: %v, want %v", tt.name, tt.err, got, tt.want)
		}
		if ErrorCode(err) != ErrorCode(tt.err) || ErrorMessage(err) != ErrorMessage(tt.err) {
			t.Errorf("%s: withChallenge changed the answer: %v, want %v", tt.name, err, tt.err)
		}
	}
}
