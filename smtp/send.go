package smtp

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/textproto"
	"os"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
	"golang.org/x/net/idna"

	"github.com/veil-id/veil"
)

// Operations an *Error names.
const (
	OpCompose = "compose" // building the message; nothing was sent
	OpConnect = "connect" // dialling, TLS, EHLO or AUTH
	OpSend    = "send"    // MAIL, RCPT or DATA
)

// maxSubjectBytes bounds a subject; the renderer's are far shorter.
const maxSubjectBytes = 500

// Error is a failed SendMail. Its text is safe to log: it never holds the
// password, the AUTH exchange or the recipient's address.
type Error struct {
	Op   string // OpCompose, OpConnect or OpSend
	Code int    // the SMTP reply code, 0 if the server gave none

	temporary bool
	text      string
	cause     error // the context's error, when the context ended the attempt
}

func (e *Error) Error() string { return "smtp: " + e.Op + ": " + e.text }

// Unwrap returns context.Canceled or context.DeadlineExceeded when the
// context (or Config.Timeout) ended the attempt, and nil otherwise: the
// underlying errors are not kept, because their text may hold secrets.
func (e *Error) Unwrap() error { return e.cause }

// Temporary reports whether sending the same message again later may
// succeed. It is false only when the message itself is refused: it cannot
// be composed, its recipient needs SMTPUTF8 the server lacks, or the server
// answered RCPT or DATA with a permanent (5xx) reply. Failures to connect,
// verify TLS, authenticate or have the sender accepted are temporary: they
// are the server's or the configuration's, and an operator can fix them.
func (e *Error) Temporary() bool { return e.temporary }

// SendMail sends msg to msg.To as one multipart/alternative message. It
// returns an *Error; errors.Is(err, context.DeadlineExceeded) holds when
// the context's deadline or Config.Timeout ran out, and
// errors.Is(err, context.Canceled) when the context was canceled.
func (m *Mailer) SendMail(ctx context.Context, msg *veil.Message) error {
	if msg == nil {
		return &Error{Op: OpCompose, text: "no message"}
	}
	rcpt, needsUTF8, err := asciiRecipient(msg.To)
	if err != nil {
		return err
	}
	secrets := m.redactor.withRecipient(string(msg.To), rcpt)
	gm, err := m.compose(msg, rcpt)
	if err != nil {
		return err
	}

	ctx, cancel := context.WithTimeout(ctx, m.cfg.Timeout)
	defer cancel()
	client, err := gomail.NewClient(m.cfg.Host, m.clientOptions(m.dialer(ctx))...)
	if err != nil {
		return m.fail(ctx, OpConnect, err, secrets)
	}
	conn, err := client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return m.fail(ctx, OpConnect, err, secrets)
	}
	// QUIT's answer does not matter once the message is accepted; an error
	// there must not make the worker send it twice.
	defer client.CloseWithSMTPClient(conn)

	if needsUTF8 {
		if ok, _ := conn.Extension("SMTPUTF8"); !ok {
			return &Error{Op: OpSend, text: "the recipient's local part is not ASCII and the server does not offer SMTPUTF8"}
		}
	}
	if err := client.SendWithSMTPClient(conn, gm); err != nil && !gm.IsDelivered() {
		return m.fail(ctx, OpSend, err, secrets)
	}
	return nil
}

// asciiRecipient returns the address to send to: the stored identifier
// with its domain converted to ASCII (A-labels), because the DNS and most
// servers know no other form. A local part that is not ASCII cannot be
// converted; it needs a server that offers SMTPUTF8 (RFC 6531).
func asciiRecipient(to veil.Identifier) (addr string, needsUTF8 bool, err error) {
	local, domain, ok := splitAddress(string(to))
	if !ok || hasControl(string(to)) || strings.ContainsAny(string(to), " <>") {
		return "", false, &Error{Op: OpCompose, text: "the recipient is not an email address"}
	}
	ascii, err := idna.Lookup.ToASCII(domain)
	if err != nil || ascii == "" {
		return "", false, &Error{Op: OpCompose, text: "the recipient's domain is not a valid IDNA domain"}
	}
	return local + "@" + ascii, !isASCII(local), nil
}

// compose builds the message. Headers come only from the configuration
// and from the subject, which is checked to be one line.
func (m *Mailer) compose(msg *veil.Message, rcpt string) (*gomail.Msg, error) {
	if msg.Text == "" {
		return nil, &Error{Op: OpCompose, text: "the message has no text part"}
	}
	if msg.Subject == "" || len(msg.Subject) > maxSubjectBytes || hasControl(msg.Subject) {
		return nil, &Error{Op: OpCompose, text: "the subject must be one line of at most 500 bytes"}
	}
	id, err := messageID(m.idDomain)
	if err != nil {
		return nil, &Error{Op: OpCompose, temporary: true, text: "making a Message-ID: " + err.Error()}
	}
	gm := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	gm.FromMailAddress(m.from)
	gm.ToMailAddress(&mail.Address{Address: rcpt})
	gm.Subject(msg.Subject)
	gm.SetDateWithValue(time.Now().UTC())
	gm.SetMessageIDWithValue(id)
	// RFC 3834: an automatic mail, which vacation responders must not
	// answer (and Exchange's own header for the same).
	gm.SetGenHeader("Auto-Submitted", "auto-generated")
	gm.SetGenHeader(gomail.HeaderXAutoResponseSuppress, "All")
	gm.SetBodyString(gomail.TypeTextPlain, msg.Text)
	if msg.HTML != "" {
		gm.AddAlternativeString(gomail.TypeTextHTML, msg.HTML)
	}
	return gm, nil
}

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// messageID returns a fresh Message-ID (without angle brackets) in the
// sender's domain: 128 random bits, so it says nothing about the host.
func messageID(domain string) (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return idEncoding.EncodeToString(b[:]) + "@" + domain, nil
}

// dialer returns a go-mail dialer whose connection is closed as soon as
// ctx ends. go-mail only uses the context it is given for dialling and
// sets its own per-command deadlines afterwards; closing the connection is
// what makes the whole exchange end with ctx. For TLSImplicit it also does
// the TLS handshake, which go-mail leaves to a custom dialer.
func (m *Mailer) dialer(ctx context.Context) gomail.DialContextFunc {
	return func(dialCtx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		conn, err := d.DialContext(dialCtx, network, addr)
		if err != nil {
			return nil, err
		}
		if m.cfg.TLS == TLSImplicit {
			tlsConn := tls.Client(conn, m.tlsConfig)
			if err := tlsConn.HandshakeContext(dialCtx); err != nil {
				conn.Close()
				return nil, err
			}
			conn = tlsConn
		}
		context.AfterFunc(ctx, func() { conn.Close() })
		return conn, nil
	}
}

// fail turns a go-mail error into an *Error whose text is safe to log.
func (m *Mailer) fail(ctx context.Context, op string, err error, s secrets) error {
	ctxErr := ctx.Err()
	if ctxErr == nil && errors.Is(err, os.ErrDeadlineExceeded) {
		// go-mail's own deadline on the connection, which is also
		// Config.Timeout, ran out a moment before the context's.
		ctxErr = context.DeadlineExceeded
	}
	if ctxErr != nil {
		return &Error{Op: op, temporary: true, cause: ctxErr,
			text: fmt.Sprintf("%v (timeout %v)", ctxErr, m.cfg.Timeout)}
	}
	code, refused := classify(err)
	return &Error{
		Op:        op,
		Code:      code,
		temporary: !refused || code < 500,
		text:      s.redact(err.Error()),
	}
}

// classify returns the SMTP reply code in a go-mail error (0 if none) and
// whether the server refused this message (at RCPT or DATA) rather than
// the session or the sender.
func classify(err error) (code int, messageRefused bool) {
	var sendErr *gomail.SendError
	if errors.As(err, &sendErr) {
		switch sendErr.Reason {
		case gomail.ErrSMTPRcptTo, gomail.ErrSMTPData, gomail.ErrSMTPDataClose:
			messageRefused = true
		}
		return sendErr.ErrorCode(), messageRefused
	}
	var protoErr *textproto.Error
	if errors.As(err, &protoErr) {
		return protoErr.Code, false
	}
	return 0, false
}

// secrets are the strings an error text must never hold.
type secrets struct {
	pairs []string // old, new, old, new... for strings.NewReplacer
}

// newSecrets lists the password and the forms the AUTH exchange carries it
// in: base64 of the PLAIN response and of the bare password (LOGIN).
func newSecrets(username, password string) secrets {
	var s secrets
	if password == "" {
		return s
	}
	plain := "\x00" + username + "\x00" + password
	for _, v := range []string{
		base64.StdEncoding.EncodeToString([]byte(plain)),
		base64.StdEncoding.EncodeToString([]byte(username + plain)),
		base64.StdEncoding.EncodeToString([]byte(password)),
		password,
	} {
		s.pairs = append(s.pairs, v, "[password]")
	}
	return s
}

// withRecipient adds the recipient's address, in every form it was sent
// in: servers echo it in their replies, and go-mail lists it in its errors.
func (s secrets) withRecipient(forms ...string) secrets {
	pairs := append([]string(nil), s.pairs...)
	for _, f := range forms {
		if f != "" {
			pairs = append(pairs, f, "[recipient]")
		}
	}
	return secrets{pairs: pairs}
}

// redact replaces every secret in text. Longer secrets go first, so a
// password inside its own base64 form cannot survive as a fragment.
func (s secrets) redact(text string) string {
	if len(s.pairs) == 0 {
		return text
	}
	return strings.NewReplacer(s.pairs...).Replace(text)
}
