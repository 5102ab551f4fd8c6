package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"
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
	return WithDeadlineAnswer(h, d, nil)
}

// WithDeadlineAnswer is WithDeadline with the late answer written by late
// (nil: the JSON answer): give it Server.WriteUnavailable, so a form post
// cut off by the backstop gets the very page a handler that met its
// deadline renders for the same outage.
func WithDeadlineAnswer(h http.Handler, d time.Duration, late func(http.ResponseWriter, *http.Request)) http.Handler {
	grace := deadlineGrace(d)
	if late == nil {
		late = func(w http.ResponseWriter, _ *http.Request) { writeUnavailable(w) }
	}
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
			securityHeaders(http.HandlerFunc(late)).ServeHTTP(w, r)
		}
	})
}

// deadlineGrace is how long before the backstop a handler's context ends:
// a tenth of the deadline, at most 250ms.
func deadlineGrace(d time.Duration) time.Duration {
	return min(d/10, 250*time.Millisecond)
}

// writeUnavailable answers EUNAVAILABLE as the JSON API does.
func writeUnavailable(w http.ResponseWriter) {
	w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(http.StatusServiceUnavailable, nil)))
	pe := publicErrors[veil.EUNAVAILABLE]
	writeJSON(w, pe.status, errorBody{Error: pe.name, Message: unavailableMessage})
}

// WriteUnavailable writes the one answer to an outage for r's route: JSON
// under /api/, else the same page whatever form was posted. Handlers that
// meet an outage answer through it, and so does the deadline's backstop
// (WithDeadlineAnswer), so which of the two answers never shows.
func (s *Server) WriteUnavailable(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		writeUnavailable(w)
		return
	}
	w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(http.StatusServiceUnavailable, nil)))
	s.renderPage(w, r, s.pages.message, http.StatusServiceUnavailable, pageData{Title: "Unavailable", Error: unavailableMessage})
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
