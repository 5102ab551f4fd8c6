package password

import (
	"context"
	"runtime/debug"
	"sync"
	"time"
)

// acquire takes mem KiB of the pool, and tells the idle return that a hash
// is running.
func (h *Hasher) acquire(ctx context.Context, mem uint64) error {
	if err := h.pool.acquire(ctx, mem); err != nil {
		return err
	}
	if h.idle != nil {
		running, _ := h.pool.stats()
		h.idle.started(running)
	}
	return nil
}

// release gives mem KiB back and, when that leaves the pool idle after a
// burst, arms the idle return.
func (h *Hasher) release(mem uint64) {
	h.pool.release(mem)
	if h.idle != nil {
		h.idle.finished(h.pool)
	}
}

// idleReturn gives the memory of a burst of hashes back to the operating
// system once the pool has been idle for a while. Go's scavenger would take
// minutes, and until the next collection the garbage of the burst is not
// even free; debug.FreeOSMemory collects and returns it at once.
type idleReturn struct {
	after time.Duration
	free  func() // debug.FreeOSMemory; tests count calls

	mu    sync.Mutex
	burst bool // more than one hash ran at once since the last return
	timer *time.Timer
}

func newIdleReturn(after time.Duration) *idleReturn {
	if after <= 0 {
		return nil
	}
	return &idleReturn{after: after, free: debug.FreeOSMemory}
}

func (r *idleReturn) started(running int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if running > 1 {
		r.burst = true
	}
	if r.timer != nil {
		r.timer.Stop()
	}
}

func (r *idleReturn) finished(p *pool) {
	if running, waiting := p.stats(); running+waiting > 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.burst {
		// One hash at a time keeps at most two hashes' memory, which the
		// next sign-in reuses without faulting it in again.
		return
	}
	if r.timer == nil {
		r.timer = time.AfterFunc(r.after, func() { r.fire(p) })
		return
	}
	r.timer.Reset(r.after)
}

func (r *idleReturn) fire(p *pool) {
	if running, waiting := p.stats(); running+waiting > 0 {
		return // a hash started after all; its release arms the timer again
	}
	r.mu.Lock()
	r.burst = false
	r.mu.Unlock()
	r.free()
	p.collected()
}
