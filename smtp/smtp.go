// Package smtp sends veil's mail to a real SMTP server, with
// github.com/wneessen/go-mail: the veil.Mailer of a deployment.
//
// The outbox worker calls it off the request path. Each SendMail opens one
// connection, sends one multipart/alternative message (text and HTML) to the
// stored address with its domain in ASCII (IDNA), and closes it; retrying is
// the worker's job, and *Error tells it whether a retry may help.
//
// This package must never log anything: message bodies carry confirmation
// and reset tokens, and recipients are private. Its errors are what the
// worker logs, so they never hold the password, the AUTH exchange or the
// recipient's address, even when a server echoes them back. It must never
// send a password in clear text to anything but loopback, and it never
// quietly weakens the TLS mode it was configured with.
package smtp

import (
	"crypto/tls"
	"net"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	gomail "github.com/wneessen/go-mail"
	"golang.org/x/net/idna"

	"github.com/veil-id/veil"
)

// TLS modes of Config.TLS.
const (
	// TLSStartTLS upgrades the connection with STARTTLS and refuses servers
	// that do not offer it or present a certificate that does not verify.
	// It is the default.
	TLSStartTLS = "starttls"
	// TLSStartTLSOptional uses STARTTLS when the server offers it and sends
	// in clear text otherwise. An attacker on the path can strip the offer,
	// so use it only where the path is trusted. go-mail still refuses to
	// send a password in clear text to anything but loopback.
	TLSStartTLSOptional = "starttls-optional"
	// TLSImplicit speaks TLS from the first byte (SMTPS, RFC 8314, usually
	// port 465).
	TLSImplicit = "implicit"
	// TLSNone never uses TLS. It is accepted only for a loopback host: a
	// local relay, or a test.
	TLSNone = "none"
)

// DefaultTimeout bounds one SendMail when Config.Timeout is zero, and is
// smtp.timeout's default. Mail is sent by the outbox worker, off the
// request path, so nobody waits for it and a short bound buys nothing; a
// bound too short gives up on a server that is slow but working
// (greylisting, a slow answer to the final dot: RFC 5321, 4.5.3.2, allows
// minutes), and a send given up after the server took the message is sent
// again. 30 s covers a relay's ordinary slowness and stays well inside the
// worker's lease (2 m), which must outlast a send.
const DefaultTimeout = 30 * time.Second

// defaultPorts are the ports of each TLS mode when Config.Port is zero.
var defaultPorts = map[string]int{
	TLSStartTLS:         587,
	TLSStartTLSOptional: 587,
	TLSImplicit:         465,
	TLSNone:             25,
}

// Config says how to reach the SMTP server. It is read only in cmd/veil.
type Config struct {
	Host     string // the server's host name or IP address; required
	Port     int    // 0 for the TLS mode's usual port (587, 465 or 25)
	Username string // for AUTH PLAIN (or LOGIN); "" sends no AUTH
	Password string // never logged, never in an error
	// TLS is TLSStartTLS (also for ""), TLSStartTLSOptional, TLSImplicit or
	// TLSNone.
	TLS  string
	From string // the sender, "no-reply@example.com" or "Example <no-reply@example.com>"
	// HelloName is the name sent with EHLO; "" for the machine's host name.
	HelloName string
	// Timeout bounds one SendMail as a whole, connecting to QUIT; the
	// context passed to SendMail may shorten it. 0 means DefaultTimeout.
	Timeout time.Duration
	// TLSConfig, if set, replaces the default TLS configuration, for
	// example to trust a test server's self-signed certificate. Its
	// ServerName defaults to Host.
	TLSConfig *tls.Config
}

// Mailer sends mail over SMTP. It is safe for concurrent use: every
// SendMail has its own connection.
type Mailer struct {
	cfg       Config        // checked, with defaults filled in
	from      *mail.Address // with its domain in ASCII
	idDomain  string        // the right-hand side of Message-IDs
	tlsConfig *tls.Config
	redactor  secrets
}

var _ veil.Mailer = (*Mailer)(nil)

// New checks cfg and returns a Mailer. It does not connect: a server that
// is down at start-up only delays mail, which the worker retries. Errors are
// EINVALID with a message that never holds the password.
func New(cfg Config) (*Mailer, error) {
	if err := checkConfig(&cfg); err != nil {
		return nil, err
	}
	from, err := parseFrom(cfg.From)
	if err != nil {
		return nil, err
	}
	m := &Mailer{cfg: cfg, from: from, idDomain: domainOf(from.Address)}
	if cfg.TLSConfig != nil {
		m.tlsConfig = cfg.TLSConfig.Clone()
	} else {
		m.tlsConfig = &tls.Config{}
	}
	if m.tlsConfig.ServerName == "" {
		m.tlsConfig.ServerName = cfg.Host
	}
	if m.tlsConfig.MinVersion == 0 {
		m.tlsConfig.MinVersion = tls.VersionTLS12
	}
	m.redactor = newSecrets(cfg.Username, cfg.Password)
	// Build one client now, so options go-mail rejects fail here and not
	// on the first mail.
	if _, err := gomail.NewClient(cfg.Host, m.clientOptions(nil)...); err != nil {
		return nil, veil.Errorf(veil.EINVALID, "The SMTP configuration is not valid: %s.", m.redactor.redact(err.Error()))
	}
	return m, nil
}

// checkConfig checks cfg and fills in its defaults.
func checkConfig(cfg *Config) error {
	cfg.Host = strings.TrimSpace(cfg.Host)
	if cfg.Host == "" {
		return veil.Errorf(veil.EINVALID, "The SMTP host is required.")
	}
	if !isHostName(cfg.Host) {
		return veil.Errorf(veil.EINVALID, "The SMTP host %q is not a host name or IP address.", cfg.Host)
	}
	if cfg.TLS == "" {
		cfg.TLS = TLSStartTLS
	}
	if _, ok := defaultPorts[cfg.TLS]; !ok {
		return veil.Errorf(veil.EINVALID, "The SMTP TLS mode %q is not one of starttls, starttls-optional, implicit, none.", cfg.TLS)
	}
	if cfg.TLS == TLSNone && !isLoopback(cfg.Host) {
		return veil.Errorf(veil.EINVALID, "The SMTP TLS mode none is only allowed for a loopback host, not %q.", cfg.Host)
	}
	if cfg.Port == 0 {
		cfg.Port = defaultPorts[cfg.TLS]
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return veil.Errorf(veil.EINVALID, "The SMTP port %d is not between 1 and 65535.", cfg.Port)
	}
	if (cfg.Username == "") != (cfg.Password == "") {
		return veil.Errorf(veil.EINVALID, "The SMTP username and password go together: set both or neither.")
	}
	if hasControl(cfg.Username) || hasControl(cfg.Password) {
		return veil.Errorf(veil.EINVALID, "The SMTP username and password must not contain control characters.")
	}
	if cfg.HelloName != "" && !isHostName(cfg.HelloName) {
		return veil.Errorf(veil.EINVALID, "The SMTP hello name %q is not a host name or IP address.", cfg.HelloName)
	}
	if cfg.Timeout < 0 {
		return veil.Errorf(veil.EINVALID, "The SMTP timeout must not be negative.")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	return nil
}

// parseFrom parses the sender and converts its domain to ASCII. A sender
// whose local part is not ASCII would need SMTPUTF8 for every mail, so it is
// refused.
func parseFrom(s string) (*mail.Address, error) {
	if hasControl(s) {
		return nil, veil.Errorf(veil.EINVALID, "The SMTP sender must not contain control characters.")
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, veil.Errorf(veil.EINVALID, "The SMTP sender %q is not an email address.", s)
	}
	local, domain, ok := splitAddress(a.Address)
	if !ok || !isASCII(local) {
		return nil, veil.Errorf(veil.EINVALID, "The SMTP sender %q must be an address with an ASCII local part.", s)
	}
	ascii, err := idna.Lookup.ToASCII(domain)
	if err != nil || ascii == "" {
		return nil, veil.Errorf(veil.EINVALID, "The domain of the SMTP sender %q is not valid.", s)
	}
	return &mail.Address{Name: a.Name, Address: local + "@" + ascii}, nil
}

// clientOptions are the go-mail options of one connection; dial, when not
// nil, replaces go-mail's dialer.
func (m *Mailer) clientOptions(dial gomail.DialContextFunc) []gomail.Option {
	opts := []gomail.Option{
		gomail.WithPort(m.cfg.Port),
		gomail.WithTimeout(m.cfg.Timeout),
		gomail.WithTLSConfig(m.tlsConfig),
	}
	switch m.cfg.TLS {
	case TLSStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case TLSStartTLSOptional:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	case TLSImplicit:
		// With a dialer of our own, go-mail leaves the TLS handshake to it
		// (see dialer) and only skips STARTTLS.
		opts = append(opts, gomail.WithSSL())
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if m.cfg.HelloName != "" {
		opts = append(opts, gomail.WithHELO(m.cfg.HelloName))
	}
	if m.cfg.Username != "" {
		// PLAIN, or LOGIN for servers without it: what every submission
		// server speaks. go-mail refuses both over clear text, except to
		// loopback.
		opts = append(opts,
			gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthPlain, gomail.SMTPAuthLogin),
			gomail.WithUsername(m.cfg.Username),
			gomail.WithPassword(m.cfg.Password))
	}
	if dial != nil {
		opts = append(opts, gomail.WithDialContextFunc(dial))
	}
	return opts
}

// splitAddress splits an address at its last @.
func splitAddress(addr string) (local, domain string, ok bool) {
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 {
		return "", "", false
	}
	return addr[:at], addr[at+1:], true
}

// domainOf returns the domain of an address splitAddress accepts.
func domainOf(addr string) string {
	_, domain, _ := splitAddress(addr)
	return domain
}

// isHostName accepts a DNS name or an IP address: no spaces, no control
// characters, nothing that could be read as more than one SMTP argument.
func isHostName(s string) bool {
	if net.ParseIP(s) != nil {
		return true
	}
	if len(s) > 253 || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune("/<>@[]\\\"", r) {
			return false
		}
	}
	return true
}

// isLoopback reports whether host can only be this machine.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func hasControl(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) {
			return true
		}
	}
	return !utf8.ValidString(s)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
