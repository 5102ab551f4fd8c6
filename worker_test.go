package veil_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/mail"
	"github.com/veil-id/veil/sqlstore"
)

var workerKey = veil.IdentifierKey("0123456789abcdef0123456789abcdef")

// gateMailer is a mail server the test controls: each send waits for a
// value on release (nil: accepted) or for its context to end (the
// connection cut), and entered says a send has begun.
type gateMailer struct {
	entered chan struct{}
	release chan error
	mu      sync.Mutex
	sent    []veil.Identifier
}

func newGateMailer() *gateMailer {
	return &gateMailer{entered: make(chan struct{}, 16), release: make(chan error, 16)}
}

func (g *gateMailer) SendMail(ctx context.Context, m *veil.Message) error {
	g.entered <- struct{}{}
	select {
	case err := <-g.release:
		if err == nil {
			g.mu.Lock()
			g.sent = append(g.sent, m.To)
			g.mu.Unlock()
		}
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *gateMailer) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.sent)
}

// permanentError is a refusal that retrying cannot change (a 5xx).
type permanentError struct{}

func (permanentError) Error() string   { return "550 no" }
func (permanentError) Temporary() bool { return false }

// mustOpenAuditedMailService is mustOpenMailService with the audit events
// recorded.
func mustOpenAuditedMailService(tb testing.TB) (*veil.Service, *sqlstore.DB, *recordingAuditor) {
	tb.Helper()
	audit := &recordingAuditor{}
	s, db, _ := mustOpenMailService(tb, func(c *veil.ServiceConfig) { c.Auditor, c.Key = audit, workerKey })
	return s, db, audit
}

func newTestWorker(tb testing.TB, s *veil.Service, m veil.Mailer, grace time.Duration) *veil.Worker {
	tb.Helper()
	r, err := mail.NewRenderer("veil")
	if err != nil {
		tb.Fatal(err)
	}
	return s.NewWorker(veil.WorkerConfig{Renderer: r, Mailer: m, Logger: discardLogger(), Poll: 10 * time.Millisecond, Grace: grace})
}

func onlyJob(tb testing.TB, db *sqlstore.DB, state string) *veil.Job {
	tb.Helper()
	jobs, err := db.ListJobs(tb.Context(), state, 10)
	if err != nil || len(jobs) != 1 {
		tb.Fatalf("ListJobs(%s) = %v, %v; want one job", state, jobs, err)
	}
	return jobs[0]
}

// TestRecoveryJobsForgetTheAddress: a recovery job keeps the typed address
// only until it is done — mail sent, nothing to send, or given up — and
// then only the keyed hash the audit log has too.
func TestRecoveryJobsForgetTheAddress(t *testing.T) {
	tests := []struct {
		name    string
		account bool
		result  error // what the mail server answers
		state   string
	}{
		{"mail sent", true, nil, veil.JobDone},
		{"no account", false, nil, veil.JobDone},
		{"mail refused for good", true, permanentError{}, veil.JobDead},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, db, audit := mustOpenAuditedMailService(t)
			ctx := t.Context()
			const typed = "Person@Example.com"
			if tt.account {
				if _, err := s.AddAccount(ctx, typed, "", "correct horse battery staple"); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Recover(ctx, veil.RecoverRequest{Email: typed}); err != nil {
				t.Fatal(err)
			}
			id, _ := veil.NormalizeIdentifier(typed)
			hash := workerKey.Hash(id)
			if j := onlyJob(t, db, veil.JobPending); j.Subject != string(id) || j.SubjectHash != hash {
				t.Fatalf("pending job = %+v; want the address and its hash", j)
			}
			m := newGateMailer()
			m.release <- tt.result
			if ran, err := newTestWorker(t, s, m, time.Second).RunOnce(ctx); !ran || err != nil {
				t.Fatalf("RunOnce = %v, %v", ran, err)
			}
			j := onlyJob(t, db, tt.state)
			if j.Subject != "" || j.SubjectHash != hash || !j.Erased() {
				t.Errorf("%s job = %+v; want subject erased, hash %s kept", tt.state, j, hash)
			}
			if e := audit.last(); e.IdentifierHash != hash {
				t.Errorf("last audit event %+v; want identifier hash %s, to match the job", e, hash)
			}
		})
	}
}

// stopMidSend runs a worker with the given grace until a recovery mail is
// being sent, and returns the means to stop it and a channel closed when
// Run has returned.
func stopMidSend(t *testing.T, grace time.Duration) (*veil.Service, *sqlstore.DB, *gateMailer, context.CancelFunc, <-chan struct{}) {
	t.Helper()
	s, db, _ := mustOpenAuditedMailService(t)
	if _, err := s.AddAccount(t.Context(), "a@example.com", "", "correct horse battery staple"); err != nil {
		t.Fatal(err)
	}
	m := newGateMailer()
	w := newTestWorker(t, s, m, grace)
	ctx, stop := context.WithCancel(t.Context())
	t.Cleanup(stop)
	ran := make(chan struct{})
	go func() { defer close(ran); w.Run(ctx) }()
	if err := s.Recover(t.Context(), veil.RecoverRequest{Email: "a@example.com"}); err != nil {
		t.Fatal(err)
	}
	<-m.entered
	return s, db, m, stop, ran
}

// TestWorkerShutdownLetsSendFinish: a send in progress when the worker is
// told to stop finishes within the grace and is recorded as done, so it is
// not sent again.
func TestWorkerShutdownLetsSendFinish(t *testing.T) {
	_, db, m, stop, ran := stopMidSend(t, 10*time.Second)
	stop()
	time.Sleep(50 * time.Millisecond) // the server takes its time to say 250
	m.release <- nil
	<-ran
	if j := onlyJob(t, db, veil.JobDone); j.Attempts != 0 {
		t.Errorf("done job %+v", j)
	}
	if n := m.count(); n != 1 {
		t.Errorf("%d mails sent, want 1", n)
	}
}

// TestWorkerShutdownGivesLeaseBack: a send that cannot finish within the
// grace is cut off and its lease given back without counting an attempt,
// so the next worker sends it at once instead of when the lease runs out.
func TestWorkerShutdownGivesLeaseBack(t *testing.T) {
	s, db, m, stop, ran := stopMidSend(t, 100*time.Millisecond)
	start := time.Now()
	stop()
	select {
	case <-ran:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10s of its context ending, with a 100ms grace")
	}
	if took := time.Since(start); took < 100*time.Millisecond {
		t.Errorf("Run returned %v after its context ended; the send should have had its 100ms grace", took)
	}
	j := onlyJob(t, db, veil.JobPending)
	if j.LeasedAt(time.Now()) || j.Attempts != 0 || j.Subject == "" {
		t.Fatalf("interrupted job = %+v; want pending, no lease, no attempt counted, address kept", j)
	}
	m.release <- nil
	next := newTestWorker(t, s, m, time.Second)
	if ran, err := next.RunOnce(t.Context()); !ran || err != nil {
		t.Fatalf("the next worker's RunOnce = %v, %v; want the job at once", ran, err)
	}
	if n := m.count(); n != 1 {
		t.Errorf("%d mails sent, want 1", n)
	}
	onlyJob(t, db, veil.JobDone)
}
