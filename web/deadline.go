package web

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/veil-id/veil"
)

// WithDeadline gives every request to h a deadline of d: its context ends
// then, so every database, Redis and directory call made for it gives up,
// and if h has not answered by then the client gets the one EUNAVAILABLE
// answer (503 with Retry-After) instead, whatever h was doing. That answer
// is the same bytes a dependency's failure gives, so an outage cannot be
// told from a stall, and neither depends on the account.
//
// h's answer is held until it is complete, so a late answer can be
// replaced whole: nothing of it — not a header, not a cookie — leaves
// before the deadline is known to be met. d must be above the time floor
// and the longest wait for the hashing pool, or answers that are merely
// slow would be turned into 503s.
//
// The handler's own context ends a little earlier (deadlineGrace), so that
// a handler that honours it answers the outage itself — the page for a
// form, JSON for the API — and the cut-off here is only the backstop for
// one that does not. Ending both at once made the answer a race between
// the two renderings.
func WithDeadline(h http.Handler, d time.Duration) http.Handler {
	grace := deadlineGrace(d)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		backstop, cancelBackstop := context.WithTimeout(r.Context(), d)
		defer cancelBackstop()
		ctx, cancel := context.WithTimeout(backstop, d-grace)
		defer cancel()
		buf := &deadlineResponse{bufferedResponse: bufferedResponse{header: make(http.Header), status: http.StatusOK}}
		done := make(chan struct{})
		var panicked any
		go func() {
			defer close(done)
			defer func() { panicked = recover() }()
			h.ServeHTTP(buf, r.WithContext(ctx))
		}()
		select {
		case <-done:
			if panicked != nil {
				panic(panicked)
			}
			buf.copyTo(w)
		case <-backstop.Done():
			buf.abandon()
			if r.Context().Err() != nil {
				return // the client left: nobody to answer
			}
			writeUnavailable(w)
		}
	})
}

// deadlineGrace is how long before the backstop a handler's context ends:
// a tenth of the deadline, at most 250ms.
func deadlineGrace(d time.Duration) time.Duration {
	return min(d/10, 250*time.Millisecond)
}

// writeUnavailable answers EUNAVAILABLE as the renderer does, with the
// headers every answer carries.
func writeUnavailable(w http.ResponseWriter) {
	securityHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(http.StatusServiceUnavailable, nil)))
		pe := publicErrors[veil.EUNAVAILABLE]
		writeJSON(w, pe.status, errorBody{Error: pe.name, Message: unavailableMessage})
	})).ServeHTTP(w, nil)
}

// deadlineResponse is a bufferedResponse that a handler may go on writing
// to after the deadline, from its own goroutine, without effect.
type deadlineResponse struct {
	mu        sync.Mutex
	abandoned bool
	bufferedResponse
}

func (d *deadlineResponse) abandon() {
	d.mu.Lock()
	d.abandoned = true
	d.mu.Unlock()
}

// Header returns a copy once abandoned, so a late handler never shares a
// map with the answer being written.
func (d *deadlineResponse) Header() http.Header {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.abandoned {
		return make(http.Header)
	}
	return d.header
}

func (d *deadlineResponse) WriteHeader(status int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.abandoned {
		d.bufferedResponse.WriteHeader(status)
	}
}

func (d *deadlineResponse) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.abandoned {
		return 0, http.ErrHandlerTimeout
	}
	return d.bufferedResponse.Write(p)
}
