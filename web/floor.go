package web

import (
	"bytes"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/veil-id/veil"
)

// Floor is the least time a sign-in's account-dependent work takes before
// its answer leaves. It covers what equal work cannot: an index hit or miss,
// a slower imported hash, a directory round trip.
//
// The floor is anchored where the core begins the password check (see
// veil.WorkMark), not at the request's arrival, and is extended by the time
// the check then waited in the hashing pool's first-come-first-served
// queue. So neither a body trickled in over seconds, nor a throttle's
// counters, nor a queue of other people's sign-ins can move it, and the
// answer keeps nothing of the upload or the wait that the floor would have
// to swallow. Its value comes from the outside (Set): cmd/veil derives it
// from the costs of the hash parameters present in the store, never from
// the answers that passed, so filler cannot lower it nor slow clients raise
// it.
//
// A request whose handler never began account work (a syntax error, a
// throttled attempt, sign-up and recovery, which look nothing up on the
// request path) is answered when its work is done: its answer and its time
// depend only on the input and the counters, which the client knows.
//
// Beside the answer floor there is a lookup floor (SetLookup): the time
// from the start of the account work to the start of the verification,
// held alike for a hit, a miss and a disabled account (veil.LookupDone).
// While every stored hash is at the current policy, the verification that
// follows costs everyone the same hash, so the lookup floor alone covers
// the difference and the answer floor can be 0: no answer then waits for a
// median hash it has already paid for.
type Floor struct {
	value  atomic.Int64 // nanoseconds
	lookup atomic.Int64 // nanoseconds

	exceeded       func(work time.Duration)   // reports answers later than the floor
	lookupExceeded func(lookup time.Duration) // reports lookups longer than the lookup floor
	noHashExceeded func(work time.Duration)   // reports answers of routes without a hash later than their floor
}

// NewFloor returns a floor of d (0 turns it off).
func NewFloor(d time.Duration) *Floor {
	f := &Floor{}
	f.Set(d)
	return f
}

// Set changes the floor for the answers whose account work begins from now.
func (f *Floor) Set(d time.Duration) { f.value.Store(int64(max(d, 0))) }

// Duration returns the floor now.
func (f *Floor) Duration() time.Duration { return time.Duration(f.value.Load()) }

// SetLookup changes the lookup floor for the sign-ins whose account work
// begins from now (0 turns it off).
func (f *Floor) SetLookup(d time.Duration) { f.lookup.Store(int64(max(d, 0))) }

// Lookup returns the lookup floor now.
func (f *Floor) Lookup() time.Duration { return time.Duration(f.lookup.Load()) }

// OnExceeded sets a function told of every answer whose account work took
// longer than the floor (for metrics: each is a timing sample the floor did
// not cover). Set it before serving.
func (f *Floor) OnExceeded(fn func(work time.Duration)) { f.exceeded = fn }

// OnLookupExceeded sets a function told of every sign-in whose lookup took
// longer than the lookup floor. Set it before serving.
func (f *Floor) OnLookupExceeded(fn func(lookup time.Duration)) { f.lookupExceeded = fn }

// OnNoHashExceeded sets a function told of every answer of a route
// wrapped by WrapAtLeast (lookups and no hash) whose account work took
// longer than its floor: those routes' misses are counted apart from the
// sign-ins', so that a slow store behind passkeys or codes shows as what
// it is. Set it before serving.
func (f *Floor) OnNoHashExceeded(fn func(work time.Duration)) { f.noHashExceeded = fn }

// Wrap returns h with every answer whose account work began held back until
// the floor has passed since then, plus the queue waits. The answer is
// buffered whole, so nothing of it — not a header, not the first byte —
// leaves early.
func (f *Floor) Wrap(h http.Handler) http.Handler { return f.WrapAtLeast(h, 0) }

// NoHashFloor is the least answer floor of the routes whose account work is
// lookups and no hash (passkey options and assertions, a second factor's
// code): their whole cost depends on the account, so while the answer
// floor is 0 (every stored hash current) the lookup floor would leave most
// of it uncovered. A few database round trips fit in it many times over.
const NoHashFloor = 20 * time.Millisecond

// WrapAtLeast is Wrap with an answer floor of at least least, unless the
// floor is off (login.floor = "off": no answer floor and no lookup floor).
func (f *Floor) WrapAtLeast(h http.Handler, least time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mark := veil.NewWorkMark(f.Lookup())
		buf := &bufferedResponse{header: make(http.Header), status: http.StatusOK}
		h.ServeHTTP(buf, r.WithContext(veil.WithWorkMark(r.Context(), mark)))
		if wait := f.hold(mark, least); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		buf.copyTo(w)
	})
}

// hold returns how much longer the answer of mark's request must wait,
// and reports a miss.
func (f *Floor) hold(mark *veil.WorkMark, least time.Duration) time.Duration {
	began, queued, ok := mark.Began()
	if !ok {
		return 0
	}
	floor := f.Duration()
	if floor > 0 || f.Lookup() > 0 {
		floor = max(floor, least)
	}
	elapsed := time.Since(began)
	if work := elapsed - queued; work > floor && floor > 0 {
		f.missed(work, least)
	}
	if over := mark.LookupOver(); over > 0 && f.lookupExceeded != nil {
		f.lookupExceeded(over)
	}
	return floor + queued - elapsed
}

// missed reports an answer whose work took longer than its floor, on the
// counter of its kind of route.
func (f *Floor) missed(work, least time.Duration) {
	report := f.exceeded
	if least > 0 {
		report = f.noHashExceeded
	}
	if report != nil {
		report(work)
	}
}

// bufferedResponse holds an answer until it may be sent.
type bufferedResponse struct {
	header http.Header
	status int
	wrote  bool
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(status int) {
	if !b.wrote {
		b.status, b.wrote = status, true
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	b.WriteHeader(http.StatusOK)
	return b.body.Write(p)
}

func (b *bufferedResponse) copyTo(w http.ResponseWriter) {
	h := w.Header()
	for k, v := range b.header {
		h[k] = v
	}
	h.Set("Content-Length", strconv.Itoa(b.body.Len()))
	w.WriteHeader(b.status)
	w.Write(b.body.Bytes())
}
