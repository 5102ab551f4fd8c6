package web

import (
	"bytes"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Floor is the least time a sensitive answer takes, measured from the
// request's arrival. It covers what equal work cannot: an index hit or miss,
// a slower legacy hash, a directory round trip.
//
// A fixed floor never moves. An automatic floor starts from a calibrated
// value and follows the 99th percentile of the recent work (times a
// margin), never below its start nor above its maximum. A percentile, not
// the maximum: one stall of the machine (a GC pause, a neighbour's burst)
// would otherwise hold every answer at the maximum for the whole window.
// Stalls are not tied to any account, so leaving them uncovered tells an
// attacker nothing; work that is tied to an account (a slow legacy hash)
// recurs for every attempt on it and enters the percentile.
type Floor struct {
	mu      sync.Mutex
	auto    bool
	base    time.Duration // fixed value, or the calibrated minimum
	max     time.Duration
	window  []time.Duration
	next    int
	current time.Duration

	exceeded func(work time.Duration) // reports answers later than the floor
}

const (
	floorWindow     = 512
	floorMargin     = 1.25
	floorPercentile = 0.99
)

// percentile returns the p-quantile of d (nearest rank) without changing d.
func percentile(d []time.Duration, p float64) time.Duration {
	c := slices.Clone(d)
	slices.Sort(c)
	i := int(p * float64(len(c)-1))
	return c[i]
}

// NewFixedFloor returns a floor of d (0 turns it off).
func NewFixedFloor(d time.Duration) *Floor {
	return &Floor{base: d, current: d, max: d}
}

// NewAutoFloor returns a floor that starts at base and follows the slowest
// recent work, never above max.
func NewAutoFloor(base, max time.Duration) *Floor {
	return &Floor{auto: true, base: base, max: max, current: base, window: make([]time.Duration, 0, floorWindow)}
}

// OnExceeded sets a function told of every answer whose work took longer
// than the floor (for metrics: each is a timing sample the floor did not
// cover).
func (f *Floor) OnExceeded(fn func(work time.Duration)) { f.exceeded = fn }

// Duration returns the floor now.
func (f *Floor) Duration() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.current
}

// observe records how long one answer's work took.
func (f *Floor) observe(work time.Duration) {
	f.mu.Lock()
	if f.auto {
		if len(f.window) < floorWindow {
			f.window = append(f.window, work)
		} else {
			f.window[f.next] = work
			f.next = (f.next + 1) % floorWindow
		}
		want := time.Duration(float64(percentile(f.window, floorPercentile)) * floorMargin)
		f.current = min(max(want, f.base), f.max)
	}
	cur := f.current
	f.mu.Unlock()
	if work > cur && f.exceeded != nil {
		f.exceeded(work)
	}
}

// Wrap returns h with every answer held back until the floor has passed
// since the request arrived. The answer is buffered whole, so nothing of it
// — not a header, not the first byte — leaves early.
func (f *Floor) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		floor := f.Duration()
		buf := &bufferedResponse{header: make(http.Header), status: http.StatusOK}
		h.ServeHTTP(buf, r)
		work := time.Since(start)
		f.observe(work)
		if wait := floor - work; wait > 0 {
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
