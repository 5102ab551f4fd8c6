// Package smtptest runs a real SMTP server inside a test: a sink that
// accepts mail on 127.0.0.1 and keeps it, so tests can read what a
// veil.Mailer sent — envelope, raw data, subject and the text and HTML
// parts — and follow the links in it.
//
// Options make it ask for AUTH PLAIN, offer STARTTLS or speak implicit TLS
// with a self-signed certificate made for the test, advertise SMTPUTF8, and
// fail the next transactions with a temporary 451, to show a sender that
// fails and then recovers. Stall makes transactions hang, to catch a sender
// in the middle of a send.
//
// It is for tests only: it must never listen anywhere but the loopback
// interface, and it never relays anything anywhere.
package smtptest

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
)

// MaxMessageBytes is the largest message the sink accepts.
const MaxMessageBytes = 4 << 20

// ioTimeout bounds every read and write of the server, so a stuck client
// cannot hang a test.
const ioTimeout = 10 * time.Second

// Option configures a Server.
type Option func(*config)

type config struct {
	username, password string
	startTLS           bool
	implicitTLS        bool
	smtpUTF8           bool
	failures           int
	rejectRecipients   bool
}

// WithAuth makes the server offer AUTH PLAIN and refuse mail from clients
// that have not authenticated with username and password. Without TLS the
// server offers AUTH in plain text, which is acceptable on loopback only.
func WithAuth(username, password string) Option {
	return func(c *config) { c.username, c.password = username, password }
}

// WithSTARTTLS makes the server offer STARTTLS with a self-signed
// certificate for 127.0.0.1 and localhost; Server.ClientTLSConfig trusts it.
// Combined with WithAuth, AUTH is only offered after STARTTLS, as a real
// submission server does.
func WithSTARTTLS() Option {
	return func(c *config) { c.startTLS = true }
}

// WithImplicitTLS makes the server speak TLS from the first byte (SMTPS,
// RFC 8314) with a self-signed certificate that Server.ClientTLSConfig
// trusts.
func WithImplicitTLS() Option {
	return func(c *config) { c.implicitTLS = true }
}

// WithSMTPUTF8 makes the server advertise SMTPUTF8 (RFC 6531), so clients
// may send addresses whose local part is not ASCII.
func WithSMTPUTF8() Option {
	return func(c *config) { c.smtpUTF8 = true }
}

// WithFailures makes the server answer the data of the next n transactions
// with 451 4.3.0, a temporary failure, before accepting mail again.
func WithFailures(n int) Option {
	return func(c *config) { c.failures = n }
}

// WithRejectedRecipients makes the server refuse every recipient with a
// permanent 550 5.1.1 that echoes the address, as Postfix does for an
// unknown user.
func WithRejectedRecipients() Option {
	return func(c *config) { c.rejectRecipients = true }
}

// Server is an SMTP sink listening on 127.0.0.1. Its methods are safe for
// concurrent use.
type Server struct {
	cfg       config
	addr      *net.TCPAddr
	clientTLS *tls.Config

	mu       sync.Mutex
	messages []Message
	failures int           // transactions still to fail
	rejected int           // transactions failed so far
	arrived  chan struct{} // closed and replaced whenever a message arrives
	stall    stall         // transactions still to stall (stall.go)
	stopped  chan struct{} // closed when the server stops, ending stalls
}

// NewServer starts a sink on 127.0.0.1 at a free port and stops it when
// the test ends.
func NewServer(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	s := &Server{arrived: make(chan struct{}), stopped: make(chan struct{})}
	for _, opt := range opts {
		opt(&s.cfg)
	}
	s.failures = s.cfg.failures
	if s.cfg.startTLS && s.cfg.implicitTLS {
		tb.Fatal("smtptest: WithSTARTTLS and WithImplicitTLS exclude each other")
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("smtptest: listening: %v", err)
	}
	s.addr = ln.Addr().(*net.TCPAddr)

	srv := gosmtp.NewServer(gosmtp.BackendFunc(s.newSession))
	srv.Domain = "smtptest.localhost"
	srv.ReadTimeout, srv.WriteTimeout = ioTimeout, ioTimeout
	srv.MaxMessageBytes = MaxMessageBytes
	srv.MaxRecipients = 50
	srv.EnableSMTPUTF8 = s.cfg.smtpUTF8
	logger := &tbLogger{tb: tb}
	srv.ErrorLog = logger

	if s.cfg.startTLS || s.cfg.implicitTLS {
		serverTLS, clientTLS, err := selfSignedTLS()
		if err != nil {
			ln.Close()
			tb.Fatalf("smtptest: making a certificate: %v", err)
		}
		s.clientTLS = clientTLS
		if s.cfg.implicitTLS {
			ln = tls.NewListener(ln, serverTLS)
		} else {
			srv.TLSConfig = serverTLS
		}
	}
	// Without TLS there is nothing to protect AUTH with; the sink only
	// listens on loopback, so it offers AUTH anyway. With TLS it waits for
	// it, as a real server does.
	srv.AllowInsecureAuth = !s.cfg.startTLS

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	tb.Cleanup(func() {
		close(s.stopped)
		srv.Close()
		// Serve may not have registered ln yet when Close runs; closing it
		// here too is what makes Serve return in that case.
		ln.Close()
		select {
		case <-served:
		case <-time.After(ioTimeout):
			tb.Errorf("smtptest: server did not stop within %v", ioTimeout)
		}
		logger.stop()
	})
	return s
}

// Addr returns the server's address, "127.0.0.1:port".
func (s *Server) Addr() string { return s.addr.String() }

// Host returns the host the server listens on, "127.0.0.1".
func (s *Server) Host() string { return s.addr.IP.String() }

// Port returns the port the server listens on.
func (s *Server) Port() int { return s.addr.Port }

// ClientTLSConfig returns a TLS configuration that trusts the server's
// self-signed certificate (valid for 127.0.0.1 and localhost), or nil if the
// server speaks no TLS. ServerName is left empty for the client to set.
func (s *Server) ClientTLSConfig() *tls.Config {
	if s.clientTLS == nil {
		return nil
	}
	return s.clientTLS.Clone()
}

// FailNext makes the server fail the data of the next n transactions with
// a temporary 451.
func (s *Server) FailNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = n
}

// Rejected returns how many transactions the server has failed on purpose.
func (s *Server) Rejected() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rejected
}

// Messages returns the messages received so far, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// WaitFor waits until at least n messages have arrived and returns all of
// them, oldest first. It fails the test if they do not arrive within
// timeout; like t.Fatal, it must be called from the test's goroutine.
func (s *Server) WaitFor(tb testing.TB, n int, timeout time.Duration) []Message {
	tb.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		got, arrived := len(s.messages), s.arrived
		s.mu.Unlock()
		if got >= n {
			return s.Messages()
		}
		select {
		case <-arrived:
		case <-deadline.C:
			tb.Fatalf("smtptest: %d of %d messages arrived within %v", got, n, timeout)
			return nil
		}
	}
}

// takeFailure reports whether this transaction must fail, and counts it.
func (s *Server) takeFailure() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failures <= 0 {
		return false
	}
	s.failures--
	s.rejected++
	return true
}

func (s *Server) add(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages = append(s.messages, m)
	close(s.arrived)
	s.arrived = make(chan struct{})
}

func (s *Server) newSession(c *gosmtp.Conn) (gosmtp.Session, error) {
	_, isTLS := c.TLSConnectionState()
	return &session{srv: s, tls: isTLS}, nil
}

// errTryLater is what a failing transaction answers.
var errTryLater = &gosmtp.SMTPError{
	Code:         451,
	EnhancedCode: gosmtp.EnhancedCode{4, 3, 0},
	Message:      "smtptest: temporary failure, try again later",
}

// session is one SMTP connection; go-smtp calls it from one goroutine.
type session struct {
	srv      *Server
	tls      bool
	authUser string
	from     string
	to       []string
	utf8     bool
}

var _ gosmtp.AuthSession = (*session)(nil)

func (ss *session) AuthMechanisms() []string {
	if ss.srv.cfg.username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain || ss.srv.cfg.username == "" {
		return nil, gosmtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if (identity != "" && identity != username) ||
			username != ss.srv.cfg.username || password != ss.srv.cfg.password {
			return gosmtp.ErrAuthFailed
		}
		ss.authUser = username
		return nil
	}), nil
}

func (ss *session) Mail(from string, opts *gosmtp.MailOptions) error {
	if ss.srv.cfg.username != "" && ss.authUser == "" {
		return gosmtp.ErrAuthRequired
	}
	ss.from = from
	ss.utf8 = opts != nil && opts.UTF8
	return nil
}

func (ss *session) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	if ss.srv.cfg.rejectRecipients {
		return &gosmtp.SMTPError{
			Code:         550,
			EnhancedCode: gosmtp.EnhancedCode{5, 1, 1},
			Message:      "<" + to + ">: Recipient address rejected: User unknown",
		}
	}
	ss.srv.wait(StallAtRecipient)
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if ss.srv.takeFailure() {
		return errTryLater
	}
	ss.srv.wait(StallAfterData)
	m := parseMessage(raw)
	m.From, m.To = ss.from, append([]string(nil), ss.to...)
	m.TLS, m.AuthUser, m.UTF8 = ss.tls, ss.authUser, ss.utf8
	ss.srv.add(m)
	return nil
}

func (ss *session) Reset() {
	ss.from, ss.to, ss.utf8 = "", nil, false
}

func (ss *session) Logout() error { return nil }

// tbLogger sends the server's error log to the test log while the test
// runs, and drops it afterwards (a test's log cannot be written to once the
// test has ended).
type tbLogger struct {
	mu      sync.Mutex
	tb      testing.TB
	stopped bool
}

func (l *tbLogger) Printf(format string, v ...any) { l.log(fmt.Sprintf(format, v...)) }
func (l *tbLogger) Println(v ...any)               { l.log(fmt.Sprintln(v...)) }

func (l *tbLogger) log(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.stopped {
		l.tb.Log("smtptest: " + s)
	}
}

func (l *tbLogger) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stopped = true
}
