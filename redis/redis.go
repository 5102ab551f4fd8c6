// Package redis keeps veil's throttle counters and sessions in Redis, so
// that several veil instances count the same failures, honour the same
// blocks and accept the same sessions.
//
// Every update is one Lua script or one SET NX, atomic on the server, and
// every key it writes carries an expiry. It stores only what the throttle
// and the session store give it — keyed hashes, address prefixes, counts,
// times, session token hashes, account IDs and the client's address and
// User-Agent — and must never be given, or write, an identifier or a
// session token. The scripts touch several keys at once, some of them
// named inside the script, so it needs a standalone Redis (or a
// Sentinel-managed primary), not a Redis Cluster.
package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/veil-id/veil"
)

// Options configures a ThrottleStore or a SessionStore.
type Options struct {
	// Prefix is put before every key, so one Redis can serve several
	// deployments (default "veil:throttle:" for a ThrottleStore,
	// "veil:session:" for a SessionStore).
	Prefix string
	// Timeout bounds each call, so that a slow Redis delays a sign-in by
	// at most this much before the throttle fails closed or falls back,
	// or the session store fails the request (default 500ms).
	Timeout time.Duration
}

// conn is what both stores are made of: a client, the prefix of their keys
// and the bound on each call.
type conn struct {
	client  *goredis.Client
	prefix  string
	timeout time.Duration
}

// ThrottleStore is a veil.ThrottleStore on Redis.
type ThrottleStore struct{ conn }

var _ veil.ThrottleStore = (*ThrottleStore)(nil)

// Open connects to the Redis at url (redis://[user:password@]host:port/db,
// or rediss:// for TLS). It does not wait for the server: use Ping.
func Open(url string, opts Options) (*ThrottleStore, error) {
	client, opts, err := newClient(url, opts, "veil:throttle:")
	if err != nil {
		return nil, err
	}
	return &ThrottleStore{conn{client: client, prefix: opts.Prefix, timeout: opts.Timeout}}, nil
}

// newClient makes a client for url with opts, filling in the defaults
// (defaultPrefix, a 500ms timeout). It does not wait for the server.
func newClient(url string, opts Options, defaultPrefix string) (*goredis.Client, Options, error) {
	ro, err := goredis.ParseURL(url)
	if err != nil {
		// The URL may hold a password: say what is wrong, not what it was.
		return nil, opts, errors.New("redis: the URL is not a valid redis:// or rediss:// URL")
	}
	if opts.Prefix == "" {
		opts.Prefix = defaultPrefix
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 500 * time.Millisecond
	}
	ro.DialTimeout = opts.Timeout
	ro.ReadTimeout = opts.Timeout
	ro.WriteTimeout = opts.Timeout
	ro.PoolTimeout = opts.Timeout
	ro.MaxRetries = 1
	ro.ContextTimeoutEnabled = true
	ro.DisableIdentity = true
	ro.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	return goredis.NewClient(ro), opts, nil
}

// Ping checks that the server answers.
func (s *conn) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return wrap("ping", s.client.Ping(ctx).Err())
}

// Close closes the connections.
func (s *conn) Close() error { return s.client.Close() }

// Client returns the underlying client, for tests and tools.
func (s *conn) Client() *goredis.Client { return s.client }

// Prefix returns the prefix of every key.
func (s *conn) Prefix() string { return s.prefix }

func (s *ThrottleStore) keys(keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = s.prefix + k
	}
	return out
}

// wrap makes a Redis error say which call failed, without a URL or a key.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("redis: %s: %w", op, err)
}

// Each key is a hash: f holds the failures, b the end of a block (unix
// milliseconds). Expiries are only ever extended, never shortened.
var (
	recordsScript = goredis.NewScript(`
local out = {}
for i, k in ipairs(KEYS) do
  local v = redis.call('HMGET', k, 'f', 'b')
  out[i] = {tonumber(v[1]) or 0, tonumber(v[2]) or 0}
end
return out`)
	addFailuresScript = goredis.NewScript(`
local out = {}
for i, k in ipairs(KEYS) do
  local ttl = tonumber(ARGV[i])
  out[i] = redis.call('HINCRBY', k, 'f', 1)
  if redis.call('PTTL', k) < ttl then redis.call('PEXPIRE', k, ttl) end
end
return out`)
	blockScript = goredis.NewScript(`
local untilms, ttl = tonumber(ARGV[1]), tonumber(ARGV[2])
if (tonumber(redis.call('HGET', KEYS[1], 'b')) or 0) < untilms then
  redis.call('HSET', KEYS[1], 'b', untilms)
end
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1`)
)

// Records implements veil.ThrottleStore in one round trip.
func (s *ThrottleStore) Records(ctx context.Context, keys []string) ([]veil.ThrottleRecord, error) {
	out := make([]veil.ThrottleRecord, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	res, err := recordsScript.Run(ctx, s.client, s.keys(keys)).Slice()
	if err != nil {
		return nil, wrap("reading counters", err)
	}
	if len(res) != len(keys) {
		return nil, fmt.Errorf("redis: reading counters: %d results for %d keys", len(res), len(keys))
	}
	for i, r := range res {
		pair, ok := r.([]any)
		if !ok || len(pair) != 2 {
			return nil, fmt.Errorf("redis: reading counters: unexpected reply %T", r)
		}
		f, _ := pair[0].(int64)
		b, _ := pair[1].(int64)
		out[i].Failures = f
		if b > 0 {
			out[i].BlockedUntil = time.UnixMilli(b)
		}
	}
	return out, nil
}

// AddFailures implements veil.ThrottleStore: one script, atomic.
func (s *ThrottleStore) AddFailures(ctx context.Context, incs []veil.ThrottleIncrement) ([]int64, error) {
	if len(incs) == 0 {
		return []int64{}, nil
	}
	keys := make([]string, len(incs))
	ttls := make([]any, len(incs))
	for i, inc := range incs {
		keys[i] = s.prefix + inc.Key
		ttls[i] = strconv.FormatInt(max(inc.TTL.Milliseconds(), 1), 10)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	n, err := addFailuresScript.Run(ctx, s.client, keys, ttls...).Int64Slice()
	if err != nil {
		return nil, wrap("adding failures", err)
	}
	return n, nil
}

// Block implements veil.ThrottleStore.
func (s *ThrottleStore) Block(ctx context.Context, key string, until time.Time) error {
	ttl := max(time.Until(until).Milliseconds(), 1)
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	err := blockScript.Run(ctx, s.client, []string{s.prefix + key}, until.UnixMilli(), ttl).Err()
	return wrap("blocking", err)
}

// Forget implements veil.ThrottleStore.
func (s *ThrottleStore) Forget(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return wrap("forgetting", s.client.Del(ctx, s.keys(keys)...).Err())
}

// Claim implements veil.ThrottleStore with SET NX PX: Redis keeps the claim
// until it expires (configure maxmemory-policy noeviction or volatile-ttl,
// never allkeys-*, so that a live claim is never evicted).
func (s *ThrottleStore) Claim(ctx context.Context, key string, until time.Time) (bool, error) {
	ttl := max(time.Until(until), time.Millisecond)
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	ok, err := s.client.SetNX(ctx, s.prefix+key, "1", ttl).Result()
	if err != nil {
		return false, wrap("claiming", err)
	}
	return ok, nil
}
