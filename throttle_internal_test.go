package veil

import (
	"context"
	"errors"
	"testing"
)

// TestLoginOutcome pins what the throttle learns from a sign-in's answer:
// only the EUNAUTHORIZED of a completed check counts.
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
