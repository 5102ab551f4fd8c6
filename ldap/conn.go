package ldap

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync/atomic"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/veil-id/veil"
)

// pool holds connections to the directory, each used by one caller at a
// time: LDAP forbids other operations on a connection while a bind is in
// progress, and a search's entries must not interleave with another's.
//
// There are two pools. Searches go over connections bound as the service
// account. User binds go over connections of their own, which never search:
// whatever identity the last bind left on one (a user's, none after a
// failure, a must-change restriction) is replaced by the next bind and never
// used for anything else. Sharing one connection would cost a rebind as the
// service account after every attempt: a third round trip, and a window in
// which a search runs as the wrong identity if the rebind fails.
type pool struct {
	name string // "search" or "bind", for errors
	dial func(ctx context.Context) (*goldap.Conn, error)
	// timeout bounds each operation, or less when the caller's deadline
	// comes sooner.
	timeout time.Duration
	idle    chan *goldap.Conn
	slots   chan struct{} // one per connection in use or idle: the pool's bound
	closed  atomic.Bool
}

func newPool(name string, size int, timeout time.Duration, dial func(ctx context.Context) (*goldap.Conn, error)) *pool {
	return &pool{name: name, dial: dial, timeout: timeout, idle: make(chan *goldap.Conn, size), slots: make(chan struct{}, size)}
}

// get returns a live connection, dialing one if none is idle. It waits for
// a free slot, at most until ctx ends, and the connection's operations give
// up by ctx's deadline: go-ldap's operations take no context, so the
// deadline is their timeout.
func (p *pool) get(ctx context.Context) (*goldap.Conn, error) {
	select {
	case p.slots <- struct{}{}:
	default:
		waited := time.Now()
		select {
		case p.slots <- struct{}{}:
			// The wait was for the sign-ins ahead, not this account's:
			// the time floor leaves it out (veil.WorkMark).
			veil.AddQueueWait(ctx, time.Since(waited))
		case <-ctx.Done():
			return nil, fmt.Errorf("ldap: waiting for a %s connection: %w", p.name, ctx.Err())
		}
	}
	for {
		select {
		case c := <-p.idle:
			if c.IsClosing() {
				// The server closed it while idle (its idle timeout, a
				// restart): nothing was sent on it, so dialing anew is
				// safe for a bind too.
				c.Close()
				continue
			}
			c.SetTimeout(boundBy(ctx, p.timeout))
			return c, nil
		default:
		}
		c, err := p.dial(ctx)
		if err != nil {
			<-p.slots
			return nil, err
		}
		return c, nil
	}
}

// put gives a connection back; broken ones (after a transport error, whose
// state nobody can know) are closed instead.
func (p *pool) put(c *goldap.Conn, broken bool) {
	if broken || c.IsClosing() || p.closed.Load() {
		c.Close()
	} else {
		select {
		case p.idle <- c:
		default:
			c.Close()
		}
	}
	<-p.slots
}

// close closes the idle connections, and those in use as they come back.
func (p *pool) close() {
	p.closed.Store(true)
	for {
		select {
		case c := <-p.idle:
			c.Close()
		default:
			return
		}
	}
}

// isTransportError reports whether err left the connection in an unknown
// state: a network failure, a timeout, a malformed answer. An LDAP result
// code from the server (invalid credentials, ...) is an answer, not a
// transport error.
func isTransportError(err error) bool {
	if err == nil {
		return false
	}
	var le *goldap.Error
	if !errors.As(err, &le) {
		return true
	}
	return le.ResultCode >= goldap.ErrorNetwork
}

// ldapResultCode returns the LDAP result code of err, or -1 if it has none.
func ldapResultCode(err error) int {
	var le *goldap.Error
	if errors.As(err, &le) && le.ResultCode < goldap.ErrorNetwork {
		return int(le.ResultCode)
	}
	return -1
}

// Stats counts the operations the store has sent to the directory, for
// metrics and for tests that check every sign-in costs the same.
type Stats struct {
	Dials        int64 // TCP (and TLS) connections opened
	StartTLS     int64 // StartTLS operations
	ServiceBinds int64 // binds as the service account, one per search connection
	Searches     int64
	Binds        int64 // sign-in binds: as a person's entry, or the decoy
}

type counters struct {
	dials, startTLS, serviceBinds, searches, binds atomic.Int64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Dials:        c.dials.Load(),
		StartTLS:     c.startTLS.Load(),
		ServiceBinds: c.serviceBinds.Load(),
		Searches:     c.searches.Load(),
		Binds:        c.binds.Load(),
	}
}

// dialer opens connections as the configuration says.
type dialer struct {
	url      string
	startTLS bool
	tls      *tls.Config
	dial     time.Duration
	timeout  time.Duration
	count    *counters
}

func newDialer(cfg *Config, count *counters) (*dialer, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("ldap: url %q: %w", cfg.URL, err)
	}
	if u.Scheme != "ldap" && u.Scheme != "ldaps" {
		return nil, fmt.Errorf("ldap: url %q: the scheme must be ldap or ldaps", cfg.URL)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("ldap: url %q has no host", cfg.URL)
	}
	if u.Scheme == "ldap" && !cfg.StartTLS && !isLoopbackHost(u.Hostname()) {
		return nil, fmt.Errorf("ldap: url %q: passwords would cross the network in clear text; use StartTLS or ldaps", cfg.URL)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.TLS != nil {
		tc = cfg.TLS.Clone()
	}
	if tc.ServerName == "" {
		tc.ServerName = u.Hostname()
	}
	if tc.RootCAs == nil {
		tc.RootCAs = cfg.RootCAs
	}
	return &dialer{url: cfg.URL, startTLS: u.Scheme == "ldap" && cfg.StartTLS, tls: tc, dial: cfg.DialTimeout, timeout: cfg.Timeout, count: count}, nil
}

// boundBy returns timeout, or less if ctx ends sooner (never less than a
// millisecond: go-ldap takes 0 for no timeout at all).
func boundBy(ctx context.Context, timeout time.Duration) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl))
	}
	return max(timeout, time.Millisecond)
}

// open dials the directory and secures the connection, within ctx's
// deadline.
func (d *dialer) open(ctx context.Context) (*goldap.Conn, error) {
	d.count.dials.Add(1)
	nd := &net.Dialer{Timeout: boundBy(ctx, d.dial)}
	c, err := goldap.DialURL(d.url, goldap.DialWithDialer(nd), goldap.DialWithTLSConfig(d.tls))
	if err != nil {
		return nil, fmt.Errorf("ldap: connecting to %s: %w", d.url, err)
	}
	c.SetTimeout(boundBy(ctx, d.timeout))
	if d.startTLS {
		d.count.startTLS.Add(1)
		if err := c.StartTLS(d.tls); err != nil {
			c.Close()
			return nil, fmt.Errorf("ldap: StartTLS with %s: %w", d.url, err)
		}
	}
	return c, nil
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Ping checks that the directory answers a search as the service account
// (the base entry, no attributes), for readiness checks.
func (s *Store) Ping(ctx context.Context) error {
	req := goldap.NewSearchRequest(s.cfg.BaseDN, goldap.ScopeBaseObject, goldap.NeverDerefAliases,
		1, 0, false, "(objectClass=*)", []string{"1.1"}, nil)
	_, err := s.searchEntries(ctx, req)
	return err
}
