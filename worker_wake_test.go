package veil_test

import (
	"context"
	"testing"
	"time"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/mail"
)

// TestWokenJobWaitsForItsAnswer: a job a request queued does not run
// while that request may still be answering (WorkerConfig.WakeDelay), so
// its account-dependent work cannot slow the answer; then it runs without
// waiting for the poll.
func TestWokenJobWaitsForItsAnswer(t *testing.T) {
	s, _, _ := mustOpenAuditedMailService(t)
	ctx := t.Context()
	if _, err := s.AddAccount(ctx, "person@example.com", "", "correct horse battery staple"); err != nil {
		t.Fatal(err)
	}
	r, err := mail.NewRenderer("veil")
	if err != nil {
		t.Fatal(err)
	}
	m := newGateMailer()
	const delay = 300 * time.Millisecond
	w := s.NewWorker(veil.WorkerConfig{Renderer: r, Mailer: m, Logger: discardLogger(), Poll: time.Hour, WakeDelay: delay})
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); w.Run(wctx) }()
	defer func() { cancel(); <-done }()
	time.Sleep(50 * time.Millisecond) // Run has drained the empty queue and naps

	queued := time.Now()
	if err := s.Recover(ctx, veil.RecoverRequest{Email: "person@example.com"}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-m.entered:
		if waited := time.Since(queued); waited < delay {
			t.Errorf("the job ran %v after it was queued, before the wake delay of %v", waited, delay)
		}
		m.release <- nil
	case <-time.After(10 * time.Second):
		t.Fatal("the woken job did not run within 10s (the poll is an hour)")
	}
}
