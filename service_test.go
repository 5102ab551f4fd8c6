package veil_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/password"
	"github.com/veil-id/veil/sqlite/sqlitetest"
	"github.com/veil-id/veil/veiltest"
)

type recordingAuditor struct {
	mu     sync.Mutex
	events []veil.Event
}

func (r *recordingAuditor) RecordEvent(_ context.Context, e *veil.Event) {
	r.mu.Lock()
	r.events = append(r.events, *e)
	r.mu.Unlock()
}

func (r *recordingAuditor) last() veil.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.events[len(r.events)-1]
}

// MustOpenService returns a Service on a real SQLite database with a fake
// clock and an auditor that remembers.
func MustOpenService(tb testing.TB) (*veil.Service, *veiltest.Clock, *recordingAuditor) {
	tb.Helper()
	ctx := context.Background()
	db := sqlitetest.MustOpen(tb)
	h, err := password.New(password.Config{Params: password.Params{Memory: 1024, Iterations: 1, Parallelism: 1}})
	if err != nil {
		tb.Fatal(err)
	}
	clock := veiltest.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	audit := &recordingAuditor{}
	s, err := veil.NewService(ctx, veil.ServiceConfig{
		Accounts: db, Sessions: db, Hasher: h, Auditor: audit, Clock: clock,
		Key:           veil.IdentifierKey("0123456789abcdef0123456789abcdef"),
		SessionPolicy: veil.SessionPolicy{IdleTimeout: time.Hour, AbsoluteTimeout: 24 * time.Hour},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return s, clock, audit
}

// TestLoginAuditsTheTrueReason checks that every failure returns the one
// public error while the auditor learns the real reason — and never the
// identifier itself.
func TestLoginAuditsTheTrueReason(t *testing.T) {
	s, _, audit := MustOpenService(t)
	ctx := context.Background()
	if _, err := s.AddAccount(ctx, "alice@example.com", "", "correct horse"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddAccount(ctx, "dora@example.com", "", "correct horse"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetDisabled(ctx, "dora@example.com", true); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		identifier, password, wantReason, wantOutcome string
	}{
		{"nobody@example.com", "whatever1", veil.ReasonUnknownIdentifier, veil.OutcomeFailure},
		{"alice@example.com", "wrong horse", veil.ReasonWrongPassword, veil.OutcomeFailure},
		{"dora@example.com", "correct horse", veil.ReasonDisabled, veil.OutcomeFailure},
		{"dora@example.com", "wrong horse", veil.ReasonWrongPassword, veil.OutcomeFailure},
		{"Alice@Example.com", "correct horse", veil.ReasonNone, veil.OutcomeSuccess},
	}
	var failure error
	for _, tt := range tests {
		_, err := s.Login(ctx, veil.LoginRequest{Identifier: tt.identifier, Password: tt.password, Client: veil.Client{Addr: "192.0.2.1"}})
		ev := audit.last()
		if ev.Reason != tt.wantReason || ev.Outcome != tt.wantOutcome {
			t.Errorf("Login(%q) audited %s/%q, want %s/%q", tt.identifier, ev.Outcome, ev.Reason, tt.wantOutcome, tt.wantReason)
		}
		if strings.Contains(ev.IdentifierHash, "@") || ev.IdentifierHash == "" {
			t.Errorf("Login(%q) audited identifier hash %q", tt.identifier, ev.IdentifierHash)
		}
		if tt.wantOutcome == veil.OutcomeSuccess {
			continue
		}
		if failure == nil {
			failure = err
		}
		if veil.ErrorCode(err) != veil.EUNAUTHORIZED || err.Error() != failure.Error() {
			t.Errorf("Login(%q) = %v, want the one public failure %v", tt.identifier, err, failure)
		}
	}
}

func TestSessionTimeouts(t *testing.T) {
	s, clock, _ := MustOpenService(t)
	ctx := context.Background()
	if _, err := s.AddAccount(ctx, "alice@example.com", "", "correct horse"); err != nil {
		t.Fatal(err)
	}
	login := func() string {
		t.Helper()
		res, err := s.Login(ctx, veil.LoginRequest{Identifier: "alice@example.com", Password: "correct horse"})
		if err != nil {
			t.Fatal(err)
		}
		return res.Token
	}
	valid := func(token string) bool {
		_, _, err := s.Authenticate(ctx, token)
		return err == nil
	}

	idle := login()
	clock.Add(59 * time.Minute)
	if !valid(idle) {
		t.Fatal("session invalid before the idle timeout")
	}
	clock.Add(59 * time.Minute) // used 59 min ago: still inside
	if !valid(idle) {
		t.Fatal("use did not extend the idle timeout")
	}
	clock.Add(61 * time.Minute)
	if valid(idle) {
		t.Fatal("session valid after an hour idle")
	}

	absolute := login()
	for range 30 { // used every 50 minutes, past the 24 h absolute timeout
		clock.Add(50 * time.Minute)
		valid(absolute)
	}
	if valid(absolute) {
		t.Fatal("session valid after the absolute timeout")
	}
	for _, garbage := range []string{"", "x", strings.Repeat("A", 43), strings.Repeat("é", 43)} {
		if valid(garbage) {
			t.Errorf("Authenticate(%q) accepted", garbage)
		}
		if err := s.Logout(ctx, garbage, veil.Client{}); err != nil {
			t.Errorf("Logout(%q) = %v, want nil", garbage, err)
		}
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
