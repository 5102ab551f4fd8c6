package veil_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/sqlite/sqlitetest"
	"github.com/veil-id/veil/sqlstore"
)

// gatedAudit is a real store whose batch writes wait at a gate the test
// opens, and which records the size of every batch.
type gatedAudit struct {
	*sqlstore.DB
	gate chan struct{} // nil: open

	mu      sync.Mutex
	batches []int
	fail    bool
}

func (g *gatedAudit) AppendEvents(ctx context.Context, events []*veil.Event) error {
	if g.gate != nil {
		select {
		case <-g.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	g.mu.Lock()
	g.batches = append(g.batches, len(events))
	fail := g.fail
	g.mu.Unlock()
	if fail {
		return errDown
	}
	return g.DB.AppendEvents(ctx, events)
}

func (g *gatedAudit) sizes() []int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]int(nil), g.batches...)
}

func loginEvent(i int) *veil.Event {
	return &veil.Event{Time: time.UnixMicro(int64(1_000_000 + i)).UTC(), Kind: veil.EventLogin, Outcome: veil.OutcomeFailure,
		Reason: veil.ReasonUnknownIdentifier, IdentifierHash: fmt.Sprintf("h%d", i), ClientAddr: "192.0.2.1"}
}

// TestAuditWriterBatchesInOrder holds the first write at the gate while
// more events queue: they are stored in one batch, in order, and
// ListEvents waits for all of them.
func TestAuditWriterBatchesInOrder(t *testing.T) {
	g := &gatedAudit{DB: sqlitetest.MustOpen(t), gate: make(chan struct{})}
	w := veil.NewAuditWriter(g, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(func() { w.Close(context.Background()) })
	ctx := t.Context()
	w.AppendEvent(ctx, loginEvent(0))
	for w.Queued() != 0 { // the writer took the first one and waits at the gate
		time.Sleep(time.Millisecond)
	}
	for i := 1; i <= 300; i++ {
		w.AppendEvent(ctx, loginEvent(i))
	}
	if q := w.Queued(); q != 300 {
		t.Fatalf("queued = %d, want 300", q)
	}
	close(g.gate)
	got, err := w.ListEvents(ctx, 500)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 301 {
		t.Fatalf("ListEvents after the gate opened = %d events, want 301 (it must wait for the queue)", len(got))
	}
	for i, e := range got {
		if want := fmt.Sprintf("h%d", 300-i); e.IdentifierHash != want {
			t.Fatalf("event %d (newest first) = %s, want %s", i, e.IdentifierHash, want)
		}
	}
	if sizes := g.sizes(); len(sizes) != 3 || sizes[0] != 1 || sizes[1] != 256 || sizes[2] != 44 {
		t.Errorf("batch sizes = %v, want [1 256 44]: what queued during a write goes in the next one, at most 256", sizes)
	}
	if d := w.Dropped(); d != 0 {
		t.Errorf("dropped = %d", d)
	}
}

// TestAuditWriterConcurrentAppends releases appenders together: every
// event is stored exactly once.
func TestAuditWriterConcurrentAppends(t *testing.T) {
	g := &gatedAudit{DB: sqlitetest.MustOpen(t)}
	w := veil.NewAuditWriter(g, slog.New(slog.NewTextHandler(io.Discard, nil)))
	start := make(chan struct{})
	var wg sync.WaitGroup
	const n, each = 16, 50
	for k := range n {
		wg.Go(func() {
			<-start
			for i := range each {
				w.AppendEvent(t.Context(), loginEvent(k*each+i))
			}
		})
	}
	close(start)
	wg.Wait()
	if err := w.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	got, err := g.DB.ListEvents(t.Context(), 2*n*each)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, e := range got {
		seen[e.IdentifierHash]++
	}
	if len(got) != n*each || len(seen) != n*each {
		t.Errorf("stored %d events, %d distinct; want %d each once", len(got), len(seen), n*each)
	}
	// After Close an event is stored at once, without the writer.
	w.AppendEvent(t.Context(), loginEvent(n*each))
	if got, _ := g.DB.ListEvents(t.Context(), 1); len(got) != 1 || got[0].IdentifierHash != fmt.Sprintf("h%d", n*each) {
		t.Errorf("an event appended after Close was not stored: %v", got)
	}
}

// TestAuditWriterStalledStore: while the store is stalled the queue fills,
// past its bound events are dropped and counted, a failed batch is logged
// and counted, and nothing blocks the caller.
func TestAuditWriterStalledStore(t *testing.T) {
	g := &gatedAudit{DB: sqlitetest.MustOpen(t), gate: make(chan struct{})}
	var logs bytes.Buffer
	var logMu sync.Mutex
	w := veil.NewAuditWriter(g, slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &logMu}, nil)))
	t.Cleanup(func() { w.Close(context.Background()) })
	w.AppendEvent(t.Context(), loginEvent(0))
	for w.Queued() != 0 { // the writer holds the first one at the gate
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	const total = 1 + 8192 + 100 // the one at the gate, the queue's bound, and more
	for i := 1; i < total; i++ {
		w.AppendEvent(t.Context(), loginEvent(i))
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("appending %d events to a stalled store took %v", total, took)
	}
	if d := w.Dropped(); d != 100 {
		t.Errorf("dropped = %d, want the 100 past the queue's bound", d)
	}
	g.mu.Lock()
	g.fail = true
	g.mu.Unlock()
	close(g.gate)
	if err := w.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if d := w.Dropped(); d != total {
		t.Errorf("dropped = %d after every batch failed, want %d", d, total)
	}
	logMu.Lock()
	out := logs.String()
	logMu.Unlock()
	for _, want := range []string{"audit: events dropped, the queue was full", "audit: cannot store events"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%.500s", want, out)
		}
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestSignInDoesNotWaitForItsAuditWrite: with the audit store held, a
// sign-in answers anyway, and its event is there once the store moves.
func TestSignInDoesNotWaitForItsAuditWrite(t *testing.T) {
	g := &gatedAudit{DB: sqlitetest.MustOpen(t), gate: make(chan struct{})}
	w := veil.NewAuditWriter(g, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(func() { w.Close(context.Background()) })
	s := serviceOver(t, g.DB, g.DB, w)
	if err := loginWithin(t, s, 5*time.Second); veil.ErrorCode(err) != veil.EUNAUTHORIZED {
		t.Fatalf("sign-in with the audit store held: %v, want EUNAUTHORIZED", err)
	}
	close(g.gate)
	got, err := w.ListEvents(t.Context(), 10)
	if err != nil || len(got) != 1 || got[0].Reason != veil.ReasonUnknownIdentifier {
		t.Fatalf("events after the store moved: %v, %v", got, err)
	}
}

// TestDeleteOwnAccountStoresQueuedEventsFirst holds the audit store while
// alice signs in and deletes her account right after: the deletion waits
// for her sign-in's event, so the erasure blanks it too, and no event
// stored afterwards carries her account ID or address.
func TestDeleteOwnAccountStoresQueuedEventsFirst(t *testing.T) {
	g := &gatedAudit{DB: sqlitetest.MustOpen(t), gate: make(chan struct{})}
	w := veil.NewAuditWriter(g, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(func() { w.Close(context.Background()) })
	cfg := cheapServiceConfig(t, w)
	cfg.Accounts, cfg.Sessions, cfg.Settings, cfg.Outbox, cfg.SignUps, cfg.Tokens = g.DB, g.DB, g.DB, g.DB, g.DB, g.DB
	cfg.RecentSignIn = time.Minute
	s := mustService(t, cfg)
	acct, err := s.AddAccount(t.Context(), "alice@example.com", "", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	close(g.gate) // AddAccount's event goes through
	if err := w.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	g.gate = make(chan struct{})
	res, err := s.Login(t.Context(), veil.LoginRequest{Identifier: "alice@example.com", Password: "correct horse battery", Client: veil.Client{Addr: "192.0.2.9"}})
	if err != nil {
		t.Fatal(err)
	}
	deleted := make(chan error, 1)
	go func() {
		deleted <- s.DeleteOwnAccount(context.Background(), veil.Reauthentication{SessionToken: res.Token, Client: veil.Client{Addr: "192.0.2.9"}})
	}()
	select {
	case err := <-deleted:
		t.Fatalf("the deletion did not wait for the queued sign-in event: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(g.gate)
	if err := <-deleted; err != nil {
		t.Fatalf("DeleteOwnAccount: %v", err)
	}
	events, err := w.ListEvents(t.Context(), 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if e.AccountID == acct.ID || e.ClientAddr == "192.0.2.9" {
			t.Errorf("after the erasure an event still names the account: %+v", e)
		}
	}
	if len(events) < 3 {
		t.Errorf("events = %d, want the addition, the sign-in and the deletion", len(events))
	}
}
