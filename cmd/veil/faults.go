package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/postgres"
	"github.com/veil-id/veil/sqlstore"
	"github.com/veil-id/veil/web"
)

// Faults are bounded and answered alike: every request has a deadline
// (server.request_timeout) that every database, Redis and directory call
// honours, an outage answers the one 503 with Retry-After, and /readyz
// says whether the dependencies answer.

// defaultRequestTimeout is server.request_timeout unless configured: well
// above the default floor maximum (2s) and a sign-in's own work, well
// below the write timeout.
const defaultRequestTimeout = 5 * time.Second

// requestTimeoutMargin is what a request needs beyond the floor: the
// audit write after the decision (veil.AuditWriteTimeout) and scheduling.
const requestTimeoutMargin = veil.AuditWriteTimeout + 500*time.Millisecond

// readyTimeout bounds each dependency's readiness check.
const readyTimeout = time.Second

// validateRequestTimeout checks that the deadline leaves the floor and the
// audit write their time, and that the listener still writes the 503.
func (c *Config) validateRequestTimeout() error {
	d := time.Duration(c.Server.RequestTimeout)
	auto, fixed, _ := c.floor()
	floor := fixed
	if auto {
		floor = time.Duration(c.Login.FloorMax)
	}
	switch {
	case d < floor+requestTimeoutMargin:
		return fmt.Errorf("server.request_timeout (%v) must be at least %v above the sign-in floor (%v)", d, requestTimeoutMargin, floor)
	case c.Server.WriteTimeout > 0 && d >= time.Duration(c.Server.WriteTimeout):
		return fmt.Errorf("server.request_timeout (%v) must be below server.write_timeout (%v)", d, time.Duration(c.Server.WriteTimeout))
	}
	return nil
}

// storeTimeouts are the PostgreSQL bounds for the request timeout: a
// connection must open well within one request, and the server ends a
// statement no request waits for any more.
func (c *Config) storeTimeouts() (connect, statement time.Duration) {
	d := time.Duration(c.Server.RequestTimeout)
	return min(d/2, 5*time.Second), d
}

// readiness is what /readyz checks: the store, each Redis, the directory.
func (a *app) readiness() *web.Readiness {
	checks := []web.ReadinessCheck{{Name: "store", Check: a.db.Ping}}
	if a.thr != nil && a.thr.redis != nil {
		// Counting in memory while Redis is down still serves; failing
		// closed does not.
		checks = append(checks, web.ReadinessCheck{Name: "throttle_redis", Check: a.thr.redis.Ping,
			Degraded: a.cfg.Throttle.OnStoreError == "memory"})
	}
	if a.sessionRedis != nil {
		checks = append(checks, web.ReadinessCheck{Name: "session_redis", Check: a.sessionRedis.Ping})
	}
	if a.directory != nil {
		checks = append(checks, web.ReadinessCheck{Name: "directory", Check: a.directory.Ping})
	}
	return web.NewReadiness(readyTimeout, checks...)
}

// withFaultBounds wraps the public handler: /readyz, and the deadline
// around everything.
func (a *app) withFaultBounds(h http.Handler, public *web.Server, ready *web.Readiness) http.Handler {
	return web.WithDeadlineAnswer(web.WithReadiness(h, ready), time.Duration(a.cfg.Server.RequestTimeout), public.WriteUnavailable)
}

// countFallbackFailures makes the throttle's store failure counter count
// the failures the memory fallback absorbs too: those never reach the
// throttle, which sees only the fallback's answers.
func (t *appThrottle) countFallbackFailures(ctx context.Context, err error) {
	t.throttle.Stats().StoreFailures.Add(1)
}

// openPostgres opens the PostgreSQL store with the bounds of storeTimeouts.
func openPostgres(ctx context.Context, cfg *Config, dsn string) (*sqlstore.DB, error) {
	connect, statement := cfg.storeTimeouts()
	return postgres.OpenOptions(ctx, dsn, postgres.Options{ConnectTimeout: connect, StatementTimeout: statement})
}
