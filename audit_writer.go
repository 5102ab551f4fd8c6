package veil

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// AuditBatchLog is an AuditLog that stores many events at once, in one
// transaction (sqlstore.DB).
type AuditBatchLog interface {
	AuditLog
	AppendEvents(ctx context.Context, events []*Event) error
}

// How much the audit writer holds and hands over at once.
const (
	// auditQueueMax bounds the events waiting to be stored (a few hundred
	// bytes each): while the store stalls, sign-ins go on and their events
	// wait here, and past this many the newest are dropped and counted,
	// as a stalled synchronous write dropped them after AuditWriteTimeout.
	auditQueueMax = 8192
	// auditBatchMax bounds one transaction.
	auditBatchMax = 256
)

// AuditWriter is an AuditLog that stores events in the background, in
// batches, so that no answer waits for its audit write.
//
// A sign-in's event used to be written before its answer: one INSERT and
// its commit (an fsync on PostgreSQL) between the hash and the reply,
// during which the client's hashing slot sat idle — at two clients on two
// cores, a whole core's share of every sign-in. Now AppendEvents only
// queues; one goroutine stores whatever queued while its last batch was
// being written, in one transaction, at once and without waiting for more.
// The audit log trails the answers by the time of one write. ListEvents
// first waits for everything appended before it, so a reader in the same
// process (the admin listener's /audit) sees its own events; another
// process (veil audit) may miss the last milliseconds'.
//
// Close stores what is queued (veil serve calls it on SIGTERM, after the
// listeners have drained); a SIGKILL or a crash loses the events of the
// last few milliseconds, which a synchronous write would have kept.
type AuditWriter struct {
	log     AuditBatchLog
	logger  *slog.Logger
	timeout time.Duration // for one batch: AuditWriteTimeout
	dropped atomic.Uint64

	mu       sync.Mutex
	queue    []*Event
	appended uint64 // events accepted, ever
	handled  uint64 // events stored or given up on, ever
	lost     int    // events dropped for a full queue since the last report
	changed  chan struct{}
	closed   bool
	wake     chan struct{}
	done     chan struct{}
}

var _ AuditLog = (*AuditWriter)(nil)

// NewAuditWriter starts a writer into log.
func NewAuditWriter(log AuditBatchLog, logger *slog.Logger) *AuditWriter {
	w := &AuditWriter{
		log: log, logger: logger, timeout: AuditWriteTimeout,
		changed: make(chan struct{}), wake: make(chan struct{}, 1), done: make(chan struct{}),
	}
	go w.run()
	return w
}

// AppendEvent queues a copy of e and returns at once; it never fails. After
// Close it stores e itself.
func (w *AuditWriter) AppendEvent(ctx context.Context, e *Event) error {
	c := *e
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		w.store([]*Event{&c})
		return nil
	}
	if len(w.queue) >= auditQueueMax {
		w.lost++
		w.mu.Unlock()
		w.drop(1)
		return nil
	}
	w.queue = append(w.queue, &c)
	w.appended++
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return nil
}

// ListEvents returns the most recent events once every event appended
// before the call is stored (or given up on).
func (w *AuditWriter) ListEvents(ctx context.Context, limit int) ([]*Event, error) {
	if err := w.Flush(ctx); err != nil {
		return nil, err
	}
	return w.log.ListEvents(ctx, limit)
}

// Flush waits until every event appended before the call is stored or
// given up on, or ctx ends.
func (w *AuditWriter) Flush(ctx context.Context) error {
	w.mu.Lock()
	target := w.appended
	for w.handled < target {
		changed := w.changed
		w.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
		w.mu.Lock()
	}
	w.mu.Unlock()
	return nil
}

// Close stores what is queued and stops the writer, or gives up when ctx
// ends (the queued events are then lost, and logged as such).
func (w *AuditWriter) Close(ctx context.Context) error {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		w.mu.Lock()
		left := len(w.queue)
		w.mu.Unlock()
		w.logger.Error("audit: events not stored at shutdown", "events", left, "err", ctx.Err())
		return ctx.Err()
	}
}

func (w *AuditWriter) run() {
	defer close(w.done)
	for {
		w.mu.Lock()
		for len(w.queue) == 0 && !w.closed {
			w.mu.Unlock()
			<-w.wake
			w.mu.Lock()
		}
		if len(w.queue) == 0 {
			w.mu.Unlock()
			return // closed and drained
		}
		n := min(len(w.queue), auditBatchMax)
		batch := w.queue[:n:n]
		w.queue = w.queue[n:]
		if len(w.queue) == 0 {
			w.queue = nil // let the backing array go
		}
		lost := w.lost
		w.lost = 0
		w.mu.Unlock()

		if lost > 0 {
			w.logger.Error("audit: events dropped, the queue was full (is the store stalled?)", "events", lost)
		}
		w.store(batch)

		w.mu.Lock()
		w.handled += uint64(n)
		close(w.changed)
		w.changed = make(chan struct{})
		w.mu.Unlock()
	}
}

// store writes batch, bounded by the writer's timeout, and logs and counts
// a failure: recording must not fail anything else.
func (w *AuditWriter) store(batch []*Event) {
	ctx, cancel := context.WithTimeout(context.Background(), w.timeout)
	defer cancel()
	if err := w.log.AppendEvents(ctx, batch); err != nil {
		w.logger.Error("audit: cannot store events", "events", len(batch), "err", err)
		w.drop(len(batch))
	}
}

func (w *AuditWriter) drop(n int) { w.dropped.Add(uint64(n)) }

// Dropped returns how many events were not stored, ever: a full queue or a
// failed batch (metrics).
func (w *AuditWriter) Dropped() uint64 { return w.dropped.Load() }

// Queued returns how many events wait to be stored (metrics).
func (w *AuditWriter) Queued() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.queue)
}
