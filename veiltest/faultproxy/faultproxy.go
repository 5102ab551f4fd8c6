// Package faultproxy is a TCP proxy for tests that can fail the way a network
// or a server does: refuse connections, swallow them (blackhole), stop
// answering in the middle of a stream (freeze), and heal again. Tests put it
// between veil and a real PostgreSQL, Redis or slapd to check that every
// fault is bounded by the request's deadline, answered the same to
// everyone, and recovered from without a restart.
//
// It is for tests only, and imports only the standard library.
package faultproxy

import (
	"errors"
	"io"
	"net"
	"sync"
	"testing"
)

// Mode is how the proxy treats connections.
type Mode int

const (
	// Pass forwards everything both ways (healed).
	Pass Mode = iota
	// Refuse resets every new connection at once and every open one: the
	// server is down or restarting.
	Refuse
	// Blackhole accepts connections but forwards nothing either way, on
	// open connections as on new ones: a partition, a dead host whose
	// packets are dropped. Nothing is closed.
	Blackhole
	// Freeze forwards what the client sends but holds back every answer,
	// on open and new connections: a server that took the query and
	// stalls (a lock, a full disk, a stopped process).
	Freeze
)

func (m Mode) String() string {
	switch m {
	case Pass:
		return "pass"
	case Refuse:
		return "refuse"
	case Blackhole:
		return "blackhole"
	case Freeze:
		return "freeze"
	}
	return "unknown"
}

// Proxy forwards connections to one upstream address.
type Proxy struct {
	ln       net.Listener
	upstream string

	mu    sync.Mutex
	mode  Mode
	gate  chan struct{} // closed (and replaced) at every change of mode
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// Start listens on a loopback port and forwards to upstream (host:port)
// until tb ends.
func Start(tb testing.TB, upstream string) *Proxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("faultproxy: %v", err)
	}
	p := &Proxy{ln: ln, upstream: upstream, gate: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	tb.Cleanup(p.Close)
	return p
}

// Addr returns the host:port clients should dial.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Set switches the proxy to mode m. Refuse resets every open connection;
// leaving Blackhole or Freeze lets the held bytes through, as TCP would once
// a partition heals.
func (p *Proxy) Set(m Mode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = m
	close(p.gate)
	p.gate = make(chan struct{})
	if m == Refuse {
		for c := range p.conns {
			reset(c)
		}
	}
}

// Heal is Set(Pass).
func (p *Proxy) Heal() { p.Set(Pass) }

// Mode returns the mode now.
func (p *Proxy) Mode() Mode {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mode
}

// Close stops the proxy and closes every connection.
func (p *Proxy) Close() {
	p.ln.Close()
	p.Set(Refuse)
	p.wg.Wait()
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if p.Mode() == Refuse {
			reset(c)
			continue
		}
		up, err := net.Dial("tcp", p.upstream)
		if err != nil {
			reset(c)
			continue
		}
		if !p.track(c, up) {
			reset(c)
			up.Close()
			continue
		}
		p.wg.Add(2)
		go p.pipe(up, c, true)
		go p.pipe(c, up, false)
	}
}

// track registers an accepted connection and its upstream, unless the
// proxy has started refusing in between.
func (p *Proxy) track(c, up net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mode == Refuse {
		return false
	}
	p.conns[c] = struct{}{}
	p.conns[up] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// pipe copies from src to dst, waiting before each write for the mode to
// let bytes in this direction through.
func (p *Proxy) pipe(dst, src net.Conn, toServer bool) {
	defer p.wg.Done()
	defer func() {
		p.untrack(src)
		p.untrack(dst)
		src.Close()
		dst.Close()
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.wait(toServer) {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				if tc, ok := dst.(*net.TCPConn); ok {
					tc.CloseWrite()
				}
			}
			return
		}
	}
}

// wait blocks while the mode holds bytes going this way, and reports
// whether they may go on (false once the connection was reset).
func (p *Proxy) wait(toServer bool) bool {
	for {
		p.mu.Lock()
		mode, gate := p.mode, p.gate
		p.mu.Unlock()
		switch {
		case mode == Pass, mode == Freeze && toServer:
			return true
		case mode == Refuse:
			return false
		}
		<-gate
	}
}

// reset closes c with an RST rather than a FIN, as a server that is not
// there does.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}
