// Package fakeidp imitates the public HTTP answers of identity servers —
// Ory Kratos, Keycloak, Supabase's GoTrue and Authelia — closely enough for
// probe's presets to be tested against them: the same routes, flows,
// cookies and answer bodies, and, configurable, the timing behaviour that
// decides whether each leaks (a password hash only for existing accounts,
// Kratos' random sleep instead of it, a mail sent inline, a rate limit).
// The shapes follow each project's public API documentation and sources;
// they are fakes, not reimplementations: no real passwords, sessions or
// mail.
//
// Like probe/leaky, it exists to tell a prober which accounts exist, and
// must never serve anything but tests.
package fakeidp

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Accounts is the set of identifiers that have accounts, compared
// case-insensitively.
type Accounts map[string]bool

// NewAccounts returns the accounts of ids.
func NewAccounts(ids []string) Accounts {
	a := Accounts{}
	for _, id := range ids {
		a[strings.ToLower(id)] = true
	}
	return a
}

func (a Accounts) has(id string) bool { return a[strings.ToLower(id)] }

// counter counts events by key (failures by username, requests by client
// address), for regulation and rate limits.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

// add counts one more event for key and returns how many came before it.
func (c *counter) add(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[key]++
	return c.n[key] - 1
}

// routes serves each handler at its "METHOD /path" pattern.
func routes(handlers map[string]http.HandlerFunc) http.Handler {
	mux := http.NewServeMux()
	for pattern, h := range handlers {
		mux.HandleFunc(pattern, h)
	}
	return mux
}

// uuid returns a random version 4 UUID.
func uuid() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// randomString returns n random characters from alphabet.
func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		k, _ := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		b[i] = alphabet[k.Int64()]
	}
	return string(b)
}

const base64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// randomDuration returns a uniformly random duration in [lo, hi).
func randomDuration(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	k, _ := rand.Int(rand.Reader, big.NewInt(int64(hi-lo)))
	return lo + time.Duration(k.Int64())
}

// writeJSON writes v as the JSON answer with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// decodeJSON reads a small JSON body into v.
func decodeJSON(r *http.Request, v any) error {
	return json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(v)
}

// now is the time as the servers print it.
func now() string { return time.Now().UTC().Format(time.RFC3339Nano) }

// baseURL is the scheme and host the request came to.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
