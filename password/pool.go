package password

import (
	"context"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/veil-id/veil"
)

// errOverloaded is the one answer to a caller who finds the queue full,
// whoever they are and whatever they wanted hashed.
var errOverloaded = veil.Errorf(veil.EOVERLOADED, "Too many passwords are being checked right now. Try again shortly.")

// pool bounds the hashes that run at once, the memory they hold and the
// callers that wait. Waiters are served first come, first served, so a hash
// that needs more memory than is free is not starved by smaller ones behind
// it.
//
// A finished hash's memory is garbage, not free memory, until a collection
// has run: Go's memory limit alone lets a burst allocate new hashes faster
// than a collector short of CPU frees the old ones (CI saw 7 MiB past the
// bound). So the pool counts that garbage against the budget too, and when
// only garbage keeps the first waiter out it runs a collection itself
// (gc, runtime.GC) and then grants. The hashes' arrays hold no pointers, so
// such a collection costs about a millisecond.
type pool struct {
	mu       sync.Mutex
	slots    int    // hashes that may run at once
	memLimit uint64 // KiB; 0: no bound
	queueCap int    // callers that may wait; 0: none
	gc       func() // runtime.GC when nil; tests count calls

	running    int
	memInUse   uint64
	garbage    uint64 // KiB released since the last collection the pool ran
	collecting bool
	waiters    []*waiter
}

type waiter struct {
	mem   uint64
	ready chan struct{} // closed once the waiter holds its slot
}

// acquire takes a slot and mem KiB, waiting for them if the queue has room.
// It returns errOverloaded when the queue is full and ctx.Err() when ctx ends
// first. mem must not exceed memLimit, or the caller would wait forever.
func (p *pool) acquire(ctx context.Context, mem uint64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p.mu.Lock()
	if len(p.waiters) == 0 && p.fits(mem) {
		p.take(mem)
		p.mu.Unlock()
		return nil
	}
	if len(p.waiters) >= p.queueCap {
		p.mu.Unlock()
		return errOverloaded
	}
	w := &waiter{mem: mem, ready: make(chan struct{})}
	p.waiters = append(p.waiters, w)
	p.collectIfGarbageBlocks()
	p.mu.Unlock()

	queued := time.Now()
	select {
	case <-w.ready:
		// The wait was for the callers ahead: the time floor must not
		// take it for the account's work (veil.WorkMark).
		veil.AddQueueWait(ctx, time.Since(queued))
		return nil
	case <-ctx.Done():
		p.abandon(w)
		return ctx.Err()
	}
}

// abandon withdraws a waiter whose context ended. If it was granted its slot
// in the meantime, the slot goes back.
func (p *pool) abandon(w *waiter) {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-w.ready:
		p.give(w.mem)
		if p.memLimit > 0 {
			p.garbage -= w.mem // granted but never allocated
		}
	default:
		p.waiters = slices.DeleteFunc(p.waiters, func(o *waiter) bool { return o == w })
	}
	// The waiter may have held up smaller ones behind it.
	p.grant()
}

// release returns a slot and mem KiB taken by acquire.
func (p *pool) release(mem uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.give(mem)
	p.grant()
}

// stats returns how many hashes run and how many callers wait.
func (p *pool) stats() (running, waiting int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.running, len(p.waiters)
}

func (p *pool) fits(mem uint64) bool {
	return p.running < p.slots && (p.memLimit == 0 || p.memInUse+p.garbage+mem <= p.memLimit)
}

// collectIfGarbageBlocks starts a collection when the first waiter would
// fit but for the garbage of finished hashes. p.mu is held.
func (p *pool) collectIfGarbageBlocks() {
	if p.collecting || p.garbage == 0 || len(p.waiters) == 0 {
		return
	}
	if mem := p.waiters[0].mem; p.running >= p.slots || p.memInUse+mem > p.memLimit {
		return // a running hash must finish first; its release comes back here
	}
	p.collecting = true
	freed := p.garbage // what was released before the collection began
	go func() {
		if p.gc != nil {
			p.gc()
		} else {
			runtime.GC()
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		p.collecting = false
		p.garbage -= freed
		p.grant()
	}()
}

func (p *pool) take(mem uint64) {
	p.running++
	p.memInUse += mem
}

func (p *pool) give(mem uint64) {
	p.running--
	p.memInUse -= mem
	if p.memLimit > 0 {
		p.garbage += mem
	}
}

// collected tells the pool that a collection someone else ran (the idle
// return's) has freed every finished hash's memory.
func (p *pool) collected() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.collecting {
		p.garbage = 0
	}
	p.grant()
}

// grant hands slots to waiters in order while the first one fits.
func (p *pool) grant() {
	for len(p.waiters) > 0 && p.fits(p.waiters[0].mem) {
		w := p.waiters[0]
		p.waiters[0] = nil
		p.waiters = p.waiters[1:]
		p.take(w.mem)
		close(w.ready)
	}
	p.collectIfGarbageBlocks()
}
