package redis

import (
	"bytes"
	"cmp"
	"context"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/veil-id/veil"
)

// SessionStore is a veil.SessionStore on Redis, so that several veil
// instances accept the same sessions, and a forward-auth request reads its
// session from memory instead of a database.
//
// Under the prefix P it keeps, for a session whose token hashes to H (in
// hex) and an account A:
//
//	P s:H      a hash: the account (a), times in Unix microseconds (c, l,
//	           e), the client's address (ip) and User-Agent (ua), byte for
//	           byte
//	P a:A      a set: the H of A's sessions, for DeleteAccountSessions and
//	           ListSessions(A)
//	P expires  a sorted set: every H by its absolute expiry, for
//	           DeleteExpiredSessions and ListSessions("")
//	P seen     a sorted set: every H by its last use, for
//	           DeleteExpiredSessions
//
// Every change to these keys is one Lua script. A session's hash expires
// (PEXPIREAT) an hour after its absolute expiry; each set lives as long as
// the longest-lived session it has held, so every key goes away once its
// sessions are gone. An index entry whose hash Redis expired first is
// skipped when read and removed by the next DeleteExpiredSessions (or, in
// an account's set, by the account's next CreateSession).
//
// Sorted-set scores are float64, exact for times between the years 1685 and
// 2255; the times a session returns are read from its hash, exact always.
//
// Run it on a Redis with maxmemory-policy noeviction: every key has an
// expiry, so any volatile-* policy may evict one, and an account's set
// evicted before its sessions would let DeleteAccountSessions — a password
// change, a revocation — miss them.
type SessionStore struct{ conn }

var _ veil.SessionStore = (*SessionStore)(nil)

// sessionKeyGrace is how long a session's keys outlive its absolute expiry.
// veil judges expiry by its own clock, which may run apart from Redis's,
// and its sweeper (DeleteExpiredSessions, every ten minutes) should find
// an expired session before Redis drops it, so the count it logs is true.
// A session stored with an expiry already past — only tests do that — is
// kept an hour from now: FindSession does not judge expiry.
const sessionKeyGrace = time.Hour

// sessionBatch bounds the sessions one call reads or deletes, so that no
// call on a large store outlasts the timeout or blocks Redis for long.
const sessionBatch = 256

// OpenSessionStore connects to the Redis at url, like Open; the default
// prefix is "veil:session:". It does not wait for the server: use Ping.
func OpenSessionStore(url string, opts Options) (*SessionStore, error) {
	client, opts, err := newClient(url, opts, "veil:session:")
	if err != nil {
		return nil, err
	}
	return &SessionStore{conn{client: client, prefix: opts.Prefix, timeout: opts.Timeout}}, nil
}

func (s *SessionStore) sessionKey(id string) string        { return s.prefix + "s:" + id }
func (s *SessionStore) accountKey(accountID string) string { return s.prefix + "a:" + accountID }
func (s *SessionStore) expiresKey() string                 { return s.prefix + "expires" }
func (s *SessionStore) seenKey() string                    { return s.prefix + "seen" }

// sessionFields are the hash's fields in the order readSession wants them.
var sessionFields = []string{"a", "c", "l", "e", "ip", "ua"}

// dropLua defines drop(id, expires, seen), which deletes a session's hash
// and its index entries and returns 1 if the hash was there. ARGV[1] is
// the prefix.
const dropLua = `
local prefix = ARGV[1]
local function drop(id, expires, seen)
  local k = prefix .. 's:' .. id
  local a = redis.call('HGET', k, 'a')
  redis.call('ZREM', expires, id)
  redis.call('ZREM', seen, id)
  if not a then return 0 end
  redis.call('SREM', prefix .. 'a:' .. a, id)
  return redis.call('DEL', k)
end
`

var (
	// KEYS: hash, account set, expires, seen. ARGV: prefix, id, account,
	// created, seen, expires, ip, ua, the hash's deadline and now (Unix
	// ms). Returns 0 if the session exists already. The account's set is
	// rid of sessions Redis has expired first, so it stays as small as
	// the account's live sessions.
	createSessionScript = goredis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
for _, id in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if redis.call('EXISTS', ARGV[1] .. 's:' .. id) == 0 then redis.call('SREM', KEYS[2], id) end
end
redis.call('HSET', KEYS[1], 'a', ARGV[3], 'c', ARGV[4], 'l', ARGV[5], 'e', ARGV[6], 'ip', ARGV[7], 'ua', ARGV[8])
redis.call('SADD', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[6], ARGV[2])
redis.call('ZADD', KEYS[4], ARGV[5], ARGV[2])
local at = tonumber(ARGV[9])
local ttl = at - tonumber(ARGV[10])
redis.call('PEXPIREAT', KEYS[1], at)
for i = 2, 4 do
  if redis.call('PTTL', KEYS[i]) < ttl then redis.call('PEXPIREAT', KEYS[i], at) end
end
return 1`)
	// KEYS: hash, seen. ARGV: id, the time of use (µs). The last use only
	// moves forward, so two requests finishing out of order cannot make a
	// session look idler than it is.
	touchSessionScript = goredis.NewScript(`
local l = redis.call('HGET', KEYS[1], 'l')
if not l or tonumber(l) >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'l', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if redis.call('PTTL', KEYS[2]) < ttl then redis.call('PEXPIRE', KEYS[2], ttl) end
return 1`)
	// KEYS: expires, seen. ARGV: prefix, id.
	deleteSessionScript = goredis.NewScript(dropLua + `
return drop(ARGV[2], KEYS[1], KEYS[2])`)
	// KEYS: account set, expires, seen. ARGV: prefix, account.
	deleteAccountSessionsScript = goredis.NewScript(dropLua + `
local n = 0
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local a = redis.call('HGET', prefix .. 's:' .. id, 'a')
  if a == ARGV[2] or not a then n = n + drop(id, KEYS[2], KEYS[3]) end
end
redis.call('DEL', KEYS[1])
return n`)
	// KEYS: expires, seen. ARGV: prefix, "(now", "(idleBefore" (µs,
	// exclusive), the batch size. Returns the sessions deleted and the
	// most entries one index had in range: a full batch means there may
	// be more.
	deleteExpiredSessionsScript = goredis.NewScript(dropLua + `
local n, found = 0, 0
for i = 1, 2 do
  local ids = redis.call('ZRANGEBYSCORE', KEYS[i], '-inf', ARGV[i + 1], 'LIMIT', 0, tonumber(ARGV[4]))
  if #ids > found then found = #ids end
  for _, id in ipairs(ids) do n = n + drop(id, KEYS[1], KEYS[2]) end
end
return {n, found}`)
)

// CreateSession implements veil.SessionStore: EINVALID without an ID hash
// or an account, ECONFLICT if a session has this ID hash already.
func (s *SessionStore) CreateSession(ctx context.Context, sess *veil.Session) error {
	if len(sess.IDHash) == 0 || sess.AccountID == "" {
		return veil.Errorf(veil.EINVALID, "A session needs an ID hash and an account.")
	}
	id := hex.EncodeToString(sess.IDHash)
	now := time.Now()
	deadline := now
	if sess.ExpiresAt.After(deadline) {
		deadline = sess.ExpiresAt
	}
	deadline = deadline.Add(sessionKeyGrace)
	keys := []string{s.sessionKey(id), s.accountKey(sess.AccountID), s.expiresKey(), s.seenKey()}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	created, err := createSessionScript.Run(ctx, s.client, keys, s.prefix, id, sess.AccountID,
		micros(sess.CreatedAt), micros(sess.LastSeenAt), micros(sess.ExpiresAt),
		sess.ClientAddr, sess.UserAgent, deadline.UnixMilli(), now.UnixMilli()).Int()
	if err != nil {
		return wrap("creating a session", err)
	}
	if created == 0 {
		return veil.Errorf(veil.ECONFLICT, "A session with this ID already exists.")
	}
	return nil
}

// FindSession implements veil.SessionStore.
func (s *SessionStore) FindSession(ctx context.Context, idHash []byte) (*veil.Session, error) {
	id := hex.EncodeToString(idHash)
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	vals, err := s.client.HMGet(ctx, s.sessionKey(id), sessionFields...).Result()
	if err != nil {
		return nil, wrap("finding a session", err)
	}
	sess, err := readSession(id, vals)
	if err != nil {
		return nil, wrap("finding a session", err)
	}
	if sess == nil {
		return nil, veil.Errorf(veil.ENOTFOUND, "No such session.")
	}
	return sess, nil
}

// TouchSession implements veil.SessionStore. The last use only moves
// forward.
func (s *SessionStore) TouchSession(ctx context.Context, idHash []byte, t time.Time) error {
	id := hex.EncodeToString(idHash)
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	err := touchSessionScript.Run(ctx, s.client, []string{s.sessionKey(id), s.seenKey()}, id, micros(t)).Err()
	return wrap("touching a session", err)
}

// DeleteSession implements veil.SessionStore.
func (s *SessionStore) DeleteSession(ctx context.Context, idHash []byte) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	err := deleteSessionScript.Run(ctx, s.client, []string{s.expiresKey(), s.seenKey()},
		s.prefix, hex.EncodeToString(idHash)).Err()
	return wrap("deleting a session", err)
}

// DeleteAccountSessions implements veil.SessionStore in one script.
func (s *SessionStore) DeleteAccountSessions(ctx context.Context, accountID string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	keys := []string{s.accountKey(accountID), s.expiresKey(), s.seenKey()}
	n, err := deleteAccountSessionsScript.Run(ctx, s.client, keys, s.prefix, accountID).Int()
	if err != nil {
		return 0, wrap("deleting an account's sessions", err)
	}
	return n, nil
}

// ListSessions implements veil.SessionStore: newest first, ties in the
// order of the ID hashes, as the SQL stores list them.
func (s *SessionStore) ListSessions(ctx context.Context, accountID string) ([]*veil.Session, error) {
	var ids []string
	var err error
	if accountID == "" {
		ids, err = s.allSessionIDs(ctx)
	} else {
		ids, err = s.accountSessionIDs(ctx, accountID)
	}
	if err != nil {
		return nil, wrap("listing sessions", err)
	}
	sessions, err := s.readSessions(ctx, ids, accountID)
	if err != nil {
		return nil, wrap("listing sessions", err)
	}
	slices.SortFunc(sessions, func(x, y *veil.Session) int {
		return cmp.Or(y.CreatedAt.Compare(x.CreatedAt), bytes.Compare(x.IDHash, y.IDHash))
	})
	return sessions, nil
}

func (s *SessionStore) accountSessionIDs(ctx context.Context, accountID string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return s.client.SMembers(ctx, s.accountKey(accountID)).Result()
}

// allSessionIDs walks the expiry index a batch at a time (ZSCAN may repeat
// an entry; each comes back once).
func (s *SessionStore) allSessionIDs(ctx context.Context) ([]string, error) {
	seen := map[string]bool{}
	var ids []string
	var cursor uint64
	for {
		page, next, err := s.scanPage(ctx, cursor)
		if err != nil {
			return nil, err
		}
		for i := 0; i < len(page); i += 2 { // member, score, member, score, ...
			if !seen[page[i]] {
				seen[page[i]] = true
				ids = append(ids, page[i])
			}
		}
		if cursor = next; cursor == 0 {
			return ids, nil
		}
	}
}

func (s *SessionStore) scanPage(ctx context.Context, cursor uint64) ([]string, uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return s.client.ZScan(ctx, s.expiresKey(), cursor, "", 4*sessionBatch).Result()
}

// readSessions reads the sessions ids name, a batch per round trip,
// skipping those gone since and, when accountID is not "", those of
// another account.
func (s *SessionStore) readSessions(ctx context.Context, ids []string, accountID string) ([]*veil.Session, error) {
	sessions := []*veil.Session{}
	for batch := range slices.Chunk(ids, sessionBatch) {
		cmds, err := s.readBatch(ctx, batch)
		if err != nil {
			return nil, err
		}
		for i, c := range cmds {
			sess, err := readSession(batch[i], c.Val())
			if err != nil {
				return nil, err
			}
			if sess != nil && (accountID == "" || sess.AccountID == accountID) {
				sessions = append(sessions, sess)
			}
		}
	}
	return sessions, nil
}

func (s *SessionStore) readBatch(ctx context.Context, ids []string) ([]*goredis.SliceCmd, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	cmds := make([]*goredis.SliceCmd, len(ids))
	_, err := s.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HMGet(ctx, s.sessionKey(id), sessionFields...)
		}
		return nil
	})
	return cmds, err
}

// DeleteExpiredSessions implements veil.SessionStore, a batch per script
// so that Redis is never blocked for long. It counts the sessions it
// deleted, not those Redis had already expired.
func (s *SessionStore) DeleteExpiredSessions(ctx context.Context, now, idleBefore time.Time) (int, error) {
	total := 0
	// Each batch removes every index entry it finds, so the loop ends; the
	// bound only keeps one call from running for ever against a flood of
	// new sessions.
	for range 1 << 16 {
		n, full, err := s.deleteExpiredBatch(ctx, now, idleBefore)
		total += n
		if err != nil {
			return total, wrap("deleting expired sessions", err)
		}
		if !full {
			break
		}
	}
	return total, nil
}

func (s *SessionStore) deleteExpiredBatch(ctx context.Context, now, idleBefore time.Time) (int, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	res, err := deleteExpiredSessionsScript.Run(ctx, s.client, []string{s.expiresKey(), s.seenKey()},
		s.prefix, "("+micros(now), "("+micros(idleBefore), sessionBatch).Int64Slice()
	if err != nil {
		return 0, false, err
	}
	if len(res) != 2 {
		return 0, false, fmt.Errorf("unexpected reply of %d values", len(res))
	}
	return int(res[0]), res[1] >= sessionBatch, nil
}

// micros is how a time is stored: Unix microseconds, in decimal.
func micros(t time.Time) string { return strconv.FormatInt(t.UnixMicro(), 10) }

// readSession makes a session of the values of sessionFields in the hash
// of id, or returns nil if there is no such hash.
func readSession(id string, vals []any) (*veil.Session, error) {
	if len(vals) != len(sessionFields) {
		return nil, fmt.Errorf("unexpected reply of %d values", len(vals))
	}
	if vals[0] == nil {
		return nil, nil
	}
	str := make([]string, len(vals))
	for i, v := range vals {
		str[i], _ = v.(string)
	}
	idHash, err := hex.DecodeString(id)
	if err != nil {
		return nil, fmt.Errorf("a session's key is not hex")
	}
	sess := &veil.Session{IDHash: idHash, AccountID: str[0], ClientAddr: str[4], UserAgent: str[5]}
	for i, dst := range []*time.Time{&sess.CreatedAt, &sess.LastSeenAt, &sess.ExpiresAt} {
		us, err := strconv.ParseInt(str[1+i], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("a session's %s time is not a number", sessionFields[1+i])
		}
		*dst = time.UnixMicro(us).UTC()
	}
	return sess, nil
}
