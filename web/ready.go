package web

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// ReadinessCheck is one dependency /readyz asks about.
type ReadinessCheck struct {
	// Name names the dependency on the admin listener ("store",
	// "throttle_redis", "session_redis", "directory").
	Name string
	// Check returns nil while the dependency answers.
	Check func(ctx context.Context) error
	// Degraded says veil still serves while this check fails (the
	// throttle counting in memory while its Redis is down): the failure
	// shows on the admin listener but leaves veil ready.
	Degraded bool
}

// Readiness answers whether veil can serve: whether every dependency it
// needs answers now, each asked at once and given at most a short timeout.
// Results are kept for a second, so that however often /readyz is asked
// (it is public) the dependencies are asked at most once a second.
type Readiness struct {
	checks  []ReadinessCheck
	timeout time.Duration

	mu     sync.Mutex
	at     time.Time
	last   readinessBody
	status int
}

// readinessCacheFor is how long one round of checks answers /readyz.
const readinessCacheFor = time.Second

// NewReadiness returns a Readiness over checks, each bounded by timeout.
func NewReadiness(timeout time.Duration, checks ...ReadinessCheck) *Readiness {
	return &Readiness{checks: checks, timeout: timeout}
}

// readinessBody is the admin listener's /readyz answer.
type readinessBody struct {
	Status string                 `json:"status"` // ready or unavailable
	Checks map[string]checkResult `json:"checks"`
}

type checkResult struct {
	Status string  `json:"status"` // ok, degraded or failing
	Error  string  `json:"error,omitempty"`
	Took   float64 `json:"seconds"`
}

// check runs every check (or returns the last round's results while they
// are fresh) and returns the status to answer with.
func (rd *Readiness) check(ctx context.Context) (int, readinessBody) {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	if !rd.at.IsZero() && time.Since(rd.at) < readinessCacheFor {
		return rd.status, rd.last
	}
	results := make([]checkResult, len(rd.checks))
	var wg sync.WaitGroup
	for i, c := range rd.checks {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, rd.timeout)
			defer cancel()
			start := time.Now()
			err := c.Check(cctx)
			results[i] = checkResult{Status: "ok", Took: time.Since(start).Seconds()}
			if err != nil {
				results[i].Status, results[i].Error = "failing", err.Error()
				if c.Degraded {
					results[i].Status = "degraded"
				}
			}
		})
	}
	wg.Wait()
	body := readinessBody{Status: "ready", Checks: make(map[string]checkResult, len(rd.checks))}
	status := http.StatusOK
	for i, c := range rd.checks {
		body.Checks[c.Name] = results[i]
		if results[i].Status == "failing" {
			body.Status, status = "unavailable", http.StatusServiceUnavailable
		}
	}
	rd.at, rd.last, rd.status = time.Now(), body, status
	return status, body
}

// serveAdmin answers the operator with every dependency's state and, for
// a failing one, its error.
func (rd *Readiness) serveAdmin(w http.ResponseWriter, r *http.Request) {
	status, body := rd.check(r.Context())
	writeJSON(w, status, body)
}

// servePublic answers anyone with 200 or 503 and nothing else: which
// dependency failed, and why, is the operator's to know.
func (rd *Readiness) servePublic(w http.ResponseWriter, r *http.Request) {
	status, _ := rd.check(r.Context())
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	if status == http.StatusOK {
		w.Write([]byte("ready\n"))
	} else {
		w.Write([]byte("unavailable\n"))
	}
}

// WithReadiness serves GET /readyz from rd (200 or 503, no detail) and
// everything else from h.
func WithReadiness(h http.Handler, rd *Readiness) http.Handler {
	public := securityHeaders(http.HandlerFunc(rd.servePublic))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/readyz" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			public.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}
