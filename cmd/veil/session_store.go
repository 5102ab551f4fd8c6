package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/redis"
)

// Sessions live in veil's own database by default (session.store =
// "database"), or in Redis (session.store = "redis"), where several
// instances share them and a signed-in request reads its session without
// a database query.

func defaultSessionConfig() SessionConfig {
	return SessionConfig{
		IdleTimeout:     Duration(veil.DefaultSessionPolicy.IdleTimeout),
		AbsoluteTimeout: Duration(veil.DefaultSessionPolicy.AbsoluteTimeout),
		Store:           "database",
		RedisPrefix:     "veil:session:",
		RedisTimeout:    Duration(500 * time.Millisecond),
	}
}

// validateSessionStore checks session.store and the keys it needs. The
// Redis URL is its own, never throttle.redis_url: sessions and throttle
// counters may well live in different places.
func (c *Config) validateSessionStore() error {
	sc := c.Session
	switch sc.Store {
	case "database":
		return nil
	case "redis":
	default:
		return fmt.Errorf("session.store must be database or redis, not %q", sc.Store)
	}
	switch {
	case sc.RedisURL == "":
		return errors.New(`session.redis_url is required with session.store = "redis"`)
	case sc.RedisPrefix == "":
		return errors.New(`session.redis_prefix must not be empty with session.store = "redis"`)
	case sc.RedisTimeout <= 0:
		return errors.New("session.redis_timeout must be positive")
	}
	return nil
}

// openSessionStore returns the store the configuration asks for: veil's
// own database, or Redis (a.sessionRedis). Like the throttle, it does not
// reach Redis yet: commands that never touch a session never connect.
func (a *app) openSessionStore() (veil.SessionStore, error) {
	sc := a.cfg.Session
	if sc.Store != "redis" {
		return a.db, nil
	}
	st, err := redis.OpenSessionStore(string(sc.RedisURL), redis.Options{Prefix: sc.RedisPrefix, Timeout: time.Duration(sc.RedisTimeout)})
	if err != nil {
		return nil, fmt.Errorf("session.redis_url: %w", err)
	}
	a.sessionRedis = st
	return st, nil
}

func (a *app) closeSessionStore() {
	if a.sessionRedis != nil {
		a.sessionRedis.Close()
	}
}

// checkSessionStore says at start whether the session Redis answers.
// Serving goes on, as for the throttle (Redis may come up after veil),
// but until it answers every sign-in and every signed-in request fails.
func (a *app) checkSessionStore(ctx context.Context) {
	if a.sessionRedis == nil {
		return
	}
	if err := a.sessionRedis.Ping(ctx); err != nil {
		a.logger.Error("sessions: Redis does not answer; sign-ins and signed-in requests fail until it does", "err", err)
	}
}
