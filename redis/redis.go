// Package redis keeps veil's throttle counters and sessions in Redis, so
// that several veil instances count the same failures, honour the same
// blocks and accept the same sessions.
//
// Every update is one Lua script, atomic on the server — an attempt's
// admission decided and reserved in all its counters at once — and every
// key it writes carries an expiry. It stores only what the throttle
// and the session store give it — keyed hashes, address prefixes, counts,
// times, session token hashes, account IDs and the client's address and
// User-Agent — and must never be given, or write, an identifier or a
// session token. The scripts touch several keys at once, some of them
// named inside the script, so it needs a standalone Redis (or a
// Sentinel-managed primary), not a Redis Cluster.
package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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

// wrap makes a Redis error say which call failed, without a URL or a key.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("redis: %s: %w", op, err)
}

// Each counter is a hash: f holds the failures, b the end of a block (unix
// milliseconds). Beside it, "held:"+key is a sorted set of the
// reservations in flight, scored by when each lapses, and "slow:"+key the
// bucket's slow-lane turn. Expiries are only ever extended, never
// shortened. A spent proof of work is "pow:"+nonce until the challenge
// expires (configure maxmemory-policy noeviction or volatile-ttl, never
// allkeys-*, so that a live claim is never evicted and a proof never
// spent twice). reserveScript makes the decision throttle.MemoryStore makes
// in decide and takeTurns; the conformance suite holds both to it.
var (
	recordsScript = goredis.NewScript(`
local now, out = tonumber(ARGV[1]), {}
for i = 1, #KEYS / 2 do
  local v = redis.call('HMGET', KEYS[2*i-1], 'f', 'b')
  out[i] = {tonumber(v[1]) or 0, redis.call('ZCOUNT', KEYS[2*i], '(' .. now, '+inf'), tonumber(v[2]) or 0}
end
return out`)
	// KEYS: per bucket its counter, reservations and turn, then the
	// priors and the proof. ARGV: now, hold, slow lane, ticket, the
	// proof's KEYS index (0: none) and end, the number of buckets, then
	// per bucket challenge_at, prior's KEYS index, prior weight,
	// block_after and whether it has turns.
	reserveScript = goredis.NewScript(`
local now, hold, lane, ticket = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local proof, proofUntil, n = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local recs, wait, busy, challenged = {}, 0, false, false
-- turns[i]: bucket i has turns and challenges the attempt; if none does,
-- every bucket with turns is needed (throttle.turnBuckets).
local turns, anyTurn = {}, false
for i = 1, n do
  local a = 7 + 5 * (i - 1)
  local challengeAt, prior, weight, blockAfter = tonumber(ARGV[a+1]), tonumber(ARGV[a+2]), tonumber(ARGV[a+3]), tonumber(ARGV[a+4])
  local v = redis.call('HMGET', KEYS[3*i-2], 'f', 'b')
  local f, b = tonumber(v[1]) or 0, tonumber(v[2]) or 0
  redis.call('ZREMRANGEBYSCORE', KEYS[3*i-1], '-inf', now)
  local held = redis.call('ZCARD', KEYS[3*i-1])
  local p = 0
  if prior > 0 then p = tonumber(redis.call('HGET', KEYS[prior], 'f')) or 0 end
  recs[i] = {f, held, b, p}
  if b - now > wait then wait = b - now end
  if blockAfter > 0 and held >= math.max(blockAfter - f, 1) then busy = true end
  if challengeAt > 0 and f + held + weight * p >= challengeAt then
    challenged = true
    if ARGV[a+5] == '1' then turns[i], anyTurn = true, true end
  end
end
for i = 1, n do
  turns[i] = ARGV[7 + 5 * i] == '1' and (turns[i] or not anyTurn)
end
-- 0 admitted, 1 on a proof, 2 on slow-lane turns, 3 blocked, 4 busy,
-- 5 challenged and refused.
local outcome, retry = 0, 0
if wait > 0 then
  outcome, retry = 3, wait
elseif busy then
  outcome = 4
elseif challenged then
  if proof > 0 and redis.call('SET', KEYS[proof], '1', 'NX', 'PX', math.max(proofUntil - now, 1)) then
    outcome = 1
  else
    for i = 1, n do
      if turns[i] then retry = math.max(retry, redis.call('PTTL', KEYS[3*i])) end
    end
    if retry > 0 then
      outcome = 5
      for i = 1, n do
        if turns[i] and redis.call('PTTL', KEYS[3*i]) < retry then redis.call('SET', KEYS[3*i], '1', 'PX', retry) end
      end
    else
      for i = 1, n do
        if turns[i] then redis.call('SET', KEYS[3*i], '1', 'PX', lane) end
      end
      outcome = 2
    end
  end
end
if outcome <= 2 then
  for i = 1, n do
    redis.call('ZADD', KEYS[3*i-1], now + hold, ticket)
    if redis.call('PTTL', KEYS[3*i-1]) < hold then redis.call('PEXPIRE', KEYS[3*i-1], hold) end
  end
end
return {outcome, retry, recs}`)
	// KEYS: per bucket its counter and reservations. ARGV: now, ticket,
	// failure (1 or 0), the number of buckets, then per bucket ttl,
	// block_after, block_for and block_max (ms).
	settleScript = goredis.NewScript(`
local now, ticket, failure, n = tonumber(ARGV[1]), ARGV[2], ARGV[3] == '1', tonumber(ARGV[4])
local out = {}
for i = 1, n do
  local a = 4 + 4 * (i - 1)
  local ttl, blockAfter, blockFor, blockMax = tonumber(ARGV[a+1]), tonumber(ARGV[a+2]), tonumber(ARGV[a+3]), tonumber(ARGV[a+4])
  local h, z = KEYS[2*i-1], KEYS[2*i]
  if ticket ~= '' then redis.call('ZREM', z, ticket) end
  redis.call('ZREMRANGEBYSCORE', z, '-inf', now)
  local f = tonumber(redis.call('HGET', h, 'f')) or 0
  if failure then
    f = redis.call('HINCRBY', h, 'f', 1)
    if redis.call('PTTL', h) < ttl then redis.call('PEXPIRE', h, ttl) end
    if blockAfter > 0 and f >= blockAfter then
      local d, k = blockFor, f - blockAfter
      while k > 0 and d < blockMax do d, k = d * 2, k - 1 end
      d = math.min(d, blockMax)
      if (tonumber(redis.call('HGET', h, 'b')) or 0) < now + d then redis.call('HSET', h, 'b', now + d) end
      if redis.call('PTTL', h) < d then redis.call('PEXPIRE', h, d) end
    end
  end
  out[i] = {f, redis.call('ZCARD', z), tonumber(redis.call('HGET', h, 'b')) or 0}
end
return out`)
)

// ms is a duration or a time as the scripts take them.
func ms(v int64) string { return strconv.FormatInt(v, 10) }

// record reads one {failures, in flight, blocked until[, prior]} reply.
func record(r any) (veil.ThrottleRecord, error) {
	v, ok := r.([]any)
	if !ok || len(v) < 3 {
		return veil.ThrottleRecord{}, fmt.Errorf("unexpected reply %T", r)
	}
	n := make([]int64, len(v))
	for i := range v {
		n[i], _ = v[i].(int64)
	}
	rec := veil.ThrottleRecord{Failures: n[0], InFlight: n[1]}
	if n[2] > 0 {
		rec.BlockedUntil = time.UnixMilli(n[2])
	}
	if len(n) > 3 {
		rec.Prior = n[3]
	}
	return rec, nil
}

func records(op string, res []any, want int) ([]veil.ThrottleRecord, error) {
	if len(res) != want {
		return nil, fmt.Errorf("redis: %s: %d results for %d keys", op, len(res), want)
	}
	out := make([]veil.ThrottleRecord, len(res))
	for i, r := range res {
		rec, err := record(r)
		if err != nil {
			return nil, fmt.Errorf("redis: %s: %w", op, err)
		}
		out[i] = rec
	}
	return out, nil
}

// Records implements veil.ThrottleStore in one round trip.
func (s *ThrottleStore) Records(ctx context.Context, keys []string) ([]veil.ThrottleRecord, error) {
	if len(keys) == 0 {
		return []veil.ThrottleRecord{}, nil
	}
	ks := make([]string, 0, 2*len(keys))
	for _, k := range keys {
		ks = append(ks, s.prefix+k, s.prefix+"held:"+k)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	res, err := recordsScript.Run(ctx, s.client, ks, ms(time.Now().UnixMilli())).Slice()
	if err != nil {
		return nil, wrap("reading counters", err)
	}
	return records("reading counters", res, len(keys))
}

// Reserve implements veil.ThrottleStore: one script, atomic on the server.
func (s *ThrottleStore) Reserve(ctx context.Context, r *veil.ThrottleReservation) (*veil.ThrottleDecision, error) {
	now := time.Now().UnixMilli()
	var id [12]byte
	rand.Read(id[:])
	ticket := hex.EncodeToString(id[:])
	keys := make([]string, 0, 3*len(r.Buckets)+2)
	for _, b := range r.Buckets {
		keys = append(keys, s.prefix+b.Key, s.prefix+"held:"+b.Key, s.prefix+"slow:"+b.Key)
	}
	args := []any{ms(now), ms(max(r.Hold.Milliseconds(), 1)), ms(max(r.SlowLane.Milliseconds(), 1)), ticket, "0", ms(r.ProofUntil.UnixMilli()), len(r.Buckets)}
	for _, b := range r.Buckets {
		prior := 0
		if b.Prior != "" {
			keys = append(keys, s.prefix+b.Prior)
			prior = len(keys)
		}
		lane := "0"
		if b.SlowLane {
			lane = "1"
		}
		args = append(args, b.ChallengeAt, prior, strconv.FormatFloat(b.PriorWeight, 'g', -1, 64), b.BlockAfter, lane)
	}
	if r.Proof != "" {
		keys = append(keys, s.prefix+r.Proof)
		args[4] = len(keys)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	res, err := reserveScript.Run(ctx, s.client, keys, args...).Slice()
	if err != nil {
		return nil, wrap("reserving", err)
	}
	if len(res) != 3 {
		return nil, fmt.Errorf("redis: reserving: %d results, want 3", len(res))
	}
	outcome, _ := res[0].(int64)
	retry, _ := res[1].(int64)
	recs, _ := res[2].([]any)
	d := &veil.ThrottleDecision{RetryAfter: time.Duration(retry) * time.Millisecond}
	if d.Records, err = records("reserving", recs, len(r.Buckets)); err != nil {
		return nil, err
	}
	d.Admitted = outcome <= 2
	d.Proved, d.SlowLane = outcome == 1, outcome == 2
	d.Challenged = outcome == 1 || outcome == 2 || outcome == 5
	d.Blocked, d.Busy = outcome == 3, outcome == 4
	if d.Admitted {
		d.Ticket = ticket
	}
	return d, nil
}

// Settle implements veil.ThrottleStore: one script, atomic on the server.
func (s *ThrottleStore) Settle(ctx context.Context, st *veil.ThrottleSettlement) ([]veil.ThrottleRecord, error) {
	if len(st.Buckets) == 0 {
		return []veil.ThrottleRecord{}, nil
	}
	failure := "0"
	if st.Failure {
		failure = "1"
	}
	keys := make([]string, 0, 2*len(st.Buckets))
	args := []any{ms(time.Now().UnixMilli()), st.Ticket, failure, len(st.Buckets)}
	for _, b := range st.Buckets {
		keys = append(keys, s.prefix+b.Key, s.prefix+"held:"+b.Key)
		args = append(args, ms(max(b.TTL.Milliseconds(), 1)), b.BlockAfter, ms(b.BlockFor.Milliseconds()), ms(b.BlockMax.Milliseconds()))
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	res, err := settleScript.Run(ctx, s.client, keys, args...).Slice()
	if err != nil {
		return nil, wrap("settling", err)
	}
	return records("settling", res, len(st.Buckets))
}

// Forget implements veil.ThrottleStore: each key with its reservations.
func (s *ThrottleStore) Forget(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	ks := make([]string, 0, 2*len(keys))
	for _, k := range keys {
		ks = append(ks, s.prefix+k, s.prefix+"held:"+k)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return wrap("forgetting", s.client.Del(ctx, ks...).Err())
}
