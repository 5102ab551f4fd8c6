package faultproxy

import (
	"bufio"
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

// echoServer answers every line with the same line.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					c.Write([]byte(line))
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// roundTrip sends a line on c and waits at most d for it to come back.
func roundTrip(c net.Conn, r *bufio.Reader, d time.Duration) error {
	c.SetDeadline(time.Now().Add(d))
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return err
	}
	line, err := r.ReadString('\n')
	if err == nil && line != "ping\n" {
		return errors.New("wrong echo " + line)
	}
	return err
}

func dial(t *testing.T, p *Proxy) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, bufio.NewReader(c)
}

func TestModes(t *testing.T) {
	p := Start(t, echoServer(t))
	open, r := dial(t, p)
	if err := roundTrip(open, r, time.Second); err != nil {
		t.Fatalf("pass: %v", err)
	}
	for _, m := range []Mode{Blackhole, Freeze} {
		p.Set(m)
		if err := roundTrip(open, r, 200*time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("%v on an open connection: %v, want a timeout", m, err)
		}
		fresh, fr := dial(t, p)
		if err := roundTrip(fresh, fr, 200*time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("%v on a new connection: %v, want a timeout", m, err)
		}
		p.Heal()
		// The held line comes through after the heal, as TCP would
		// retransmit it.
		fresh.SetDeadline(time.Now().Add(time.Second))
		if line, err := fr.ReadString('\n'); err != nil || line != "ping\n" {
			t.Errorf("after healing %v: %q, %v; want the held echo", m, line, err)
		}
		open.Close()
		open, r = dial(t, p)
		if err := roundTrip(open, r, time.Second); err != nil {
			t.Errorf("after healing %v: %v", m, err)
		}
	}
	p.Set(Refuse)
	if err := roundTrip(open, r, time.Second); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("refuse on an open connection: %v, want it reset", err)
	}
	// The reset may come before the handshake is done, failing the dial
	// itself, or after, failing the first read.
	if c, err := net.Dial("tcp", p.Addr()); err == nil {
		err = roundTrip(c, bufio.NewReader(c), time.Second)
		c.Close()
		if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("refuse on a new connection: %v, want it reset", err)
		}
	}
	p.Heal()
	c, cr := dial(t, p)
	if err := roundTrip(c, cr, time.Second); err != nil {
		t.Errorf("after healing refuse: %v", err)
	}
}
