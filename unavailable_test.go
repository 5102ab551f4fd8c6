package veil_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/password"
	"github.com/veil-id/veil/sqlite/sqlitetest"
	"github.com/veil-id/veil/sqlstore"
)

var errDown = errors.New("dial tcp 10.0.0.7:5432: connect: connection refused")

// failingStore is a real store whose chosen calls fail as a database that
// went away does.
type failingStore struct {
	*sqlstore.DB
	lookups, sessions bool
	// stallAudit makes AppendEvent wait for its context, as a write to a
	// frozen database does.
	stallAudit bool
}

func (f *failingStore) FindAccountByIdentifier(ctx context.Context, id veil.Identifier) (*veil.Account, error) {
	if f.lookups {
		return nil, errDown
	}
	return f.DB.FindAccountByIdentifier(ctx, id)
}

func (f *failingStore) CreateSession(ctx context.Context, s *veil.Session) error {
	if f.sessions {
		return errDown
	}
	return f.DB.CreateSession(ctx, s)
}

func (f *failingStore) FindSession(ctx context.Context, idHash []byte) (*veil.Session, error) {
	if f.sessions {
		return nil, errDown
	}
	return f.DB.FindSession(ctx, idHash)
}

func (f *failingStore) AppendEvent(ctx context.Context, e *veil.Event) error {
	if f.stallAudit {
		<-ctx.Done()
		return ctx.Err()
	}
	return f.DB.AppendEvent(ctx, e)
}

func openFailingService(tb testing.TB) (*veil.Service, *failingStore) {
	tb.Helper()
	st := &failingStore{DB: sqlitetest.MustOpen(tb)}
	s := serviceOver(tb, st, st, st)
	if _, err := s.AddAccount(context.Background(), "alice@example.com", "", "correct horse"); err != nil {
		tb.Fatal(err)
	}
	return s, st
}

// serviceOver returns a service on accounts and sessions at a cheap hash,
// auditing into log.
func serviceOver(tb testing.TB, accounts veil.AccountStore, sessions veil.SessionStore, log veil.AuditLog) *veil.Service {
	tb.Helper()
	cfg := cheapServiceConfig(tb, log)
	cfg.Accounts, cfg.Sessions = accounts, sessions
	return mustService(tb, cfg)
}

// cheapServiceConfig is a ServiceConfig at a cheap hash, auditing into log,
// for the caller to give its stores.
func cheapServiceConfig(tb testing.TB, log veil.AuditLog) veil.ServiceConfig {
	tb.Helper()
	h, err := password.New(password.Config{Params: password.Params{Memory: 1024, Iterations: 1, Parallelism: 1}})
	if err != nil {
		tb.Fatal(err)
	}
	return veil.ServiceConfig{
		Hasher:        h,
		Auditor:       &veil.LogAuditor{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Log: log},
		Key:           veil.IdentifierKey("0123456789abcdef0123456789abcdef"),
		SessionPolicy: veil.SessionPolicy{IdleTimeout: time.Hour, AbsoluteTimeout: 24 * time.Hour},
	}
}

func mustService(tb testing.TB, cfg veil.ServiceConfig) *veil.Service {
	tb.Helper()
	s, err := veil.NewService(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// loginWithin signs an unknown identifier in with s and returns its error,
// or fails t if no answer comes within d.
func loginWithin(t *testing.T, s *veil.Service, d time.Duration) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := s.Login(context.Background(), veil.LoginRequest{Identifier: "nobody@example.com", Password: "wrong horse battery"})
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		t.Fatalf("no answer to a sign-in within %v", d)
		return nil
	}
}

// TestStoreFailuresAreUnavailable fails the account lookup and the session
// store: every sign-in gets the one EUNAVAILABLE, with the same public
// message, whether the account exists or not and whatever the password.
func TestStoreFailuresAreUnavailable(t *testing.T) {
	s, st := openFailingService(t)
	ctx := context.Background()
	st.lookups = true
	var msgs []string
	for _, in := range []struct{ id, pw string }{
		{"alice@example.com", "correct horse"}, {"alice@example.com", "wrong horse"}, {"nobody@example.com", "wrong horse"},
	} {
		_, err := s.Login(ctx, veil.LoginRequest{Identifier: in.id, Password: in.pw})
		if veil.ErrorCode(err) != veil.EUNAVAILABLE || !errors.Is(err, errDown) {
			t.Errorf("Login(%q) with the store down = %v, want EUNAVAILABLE with the cause kept", in.id, err)
		}
		msgs = append(msgs, veil.ErrorMessage(err))
	}
	if msgs[0] != msgs[1] || msgs[1] != msgs[2] {
		t.Errorf("the public messages differ: %q", msgs)
	}
	st.lookups, st.sessions = false, true
	if _, err := s.Login(ctx, veil.LoginRequest{Identifier: "alice@example.com", Password: "correct horse"}); veil.ErrorCode(err) != veil.EUNAVAILABLE {
		t.Errorf("Login with the session store down = %v, want EUNAVAILABLE", err)
	}
	st.sessions = false
	res, err := s.Login(ctx, veil.LoginRequest{Identifier: "alice@example.com", Password: "correct horse"})
	if err != nil {
		t.Fatal(err)
	}
	st.sessions = true
	if _, _, err := s.Authenticate(ctx, res.Token); veil.ErrorCode(err) != veil.EUNAVAILABLE {
		t.Errorf("Authenticate with the session store down = %v, want EUNAVAILABLE", err)
	}
}

// TestStalledAuditWriteKeepsTheAnswer freezes the audit log: the failure
// already decided is answered as it is, after at most the audit write's
// bound, not held until the request's deadline turns it into a 503.
func TestStalledAuditWriteKeepsTheAnswer(t *testing.T) {
	s, st := openFailingService(t)
	st.stallAudit = true
	start := time.Now()
	if err := loginWithin(t, s, veil.AuditWriteTimeout+5*time.Second); veil.ErrorCode(err) != veil.EUNAUTHORIZED {
		t.Errorf("Login with the audit log frozen = %v, want EUNAUTHORIZED", err)
	}
	if took := time.Since(start); took > veil.AuditWriteTimeout+time.Second {
		t.Errorf("Login with the audit log frozen took %v, want at most the audit bound %v", took, veil.AuditWriteTimeout)
	}
}
