package smtp_test

import (
	"context"
	"errors"
	"net"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/veil-id/veil"
	veilmail "github.com/veil-id/veil/mail"
	"github.com/veil-id/veil/smtp"
	"github.com/veil-id/veil/smtp/smtptest"
)

const waitTimeout = 5 * time.Second

// mustMailer returns a Mailer for srv without TLS; modify adjusts the
// configuration first.
func mustMailer(tb testing.TB, srv *smtptest.Server, modify func(*smtp.Config)) *smtp.Mailer {
	tb.Helper()
	cfg := smtp.Config{
		Host:      srv.Host(),
		Port:      srv.Port(),
		TLS:       smtp.TLSNone,
		From:      "Example ID <no-reply@id.example.com>",
		HelloName: "veil.test",
		Timeout:   waitTimeout,
	}
	if modify != nil {
		modify(&cfg)
	}
	m, err := smtp.New(cfg)
	if err != nil {
		tb.Fatalf("smtp.New: %v", err)
	}
	return m
}

// testMessage returns a message whose text holds what SMTP likes to
// mangle: non-ASCII, a line starting with a dot, a line starting with
// "From ", a long line and a link with a query.
func testMessage(to veil.Identifier) *veil.Message {
	return &veil.Message{
		To:      to,
		Subject: "Confirm your email address for Bücher ID",
		Text: "Hello Jürgen,\n\n.a line that starts with a dot\nFrom the start of a line\n" +
			strings.Repeat("long ", 40) + "line\n\nhttps://id.example.com/confirm?token=abc_DEF-123&next=%2F\n",
		HTML: `<!DOCTYPE html><p>Hello Jürgen,</p><p><a href="https://id.example.com/confirm?token=abc_DEF-123&amp;next=%2F">Confirm</a></p>` + "\n",
	}
}

// mustSend sends msg and fails the test on an error.
func mustSend(tb testing.TB, m *smtp.Mailer, msg *veil.Message) {
	tb.Helper()
	if err := m.SendMail(context.Background(), msg); err != nil {
		tb.Fatalf("SendMail(%s) = %v", msg.To, err)
	}
}

// asSMTPError returns err as an *smtp.Error, failing the test if it is not.
func asSMTPError(tb testing.TB, err error) *smtp.Error {
	tb.Helper()
	var e *smtp.Error
	if !errors.As(err, &e) {
		tb.Fatalf("error %v (%T) is not an *smtp.Error", err, err)
	}
	return e
}

func TestSendMailDelivers(t *testing.T) {
	srv := smtptest.NewServer(t)
	m := mustMailer(t, srv, nil)
	msg := testMessage("alice@example.com")
	before := time.Now().Add(-time.Second)
	mustSend(t, m, msg)

	got := srv.WaitFor(t, 1, waitTimeout)[0]
	if got.ParseError != nil {
		t.Fatalf("the sink could not parse the message: %v\n%s", got.ParseError, got.Raw)
	}
	if got.From != "no-reply@id.example.com" {
		t.Errorf("envelope from = %q, want no-reply@id.example.com", got.From)
	}
	if want := []string{"alice@example.com"}; !equal(got.To, want) {
		t.Errorf("envelope to = %q, want %q", got.To, want)
	}
	if got.Subject != msg.Subject {
		t.Errorf("Subject = %q, want %q", got.Subject, msg.Subject)
	}
	if got.Text != msg.Text {
		t.Errorf("text part =\n%q\nwant\n%q", got.Text, msg.Text)
	}
	if got.HTML != msg.HTML {
		t.Errorf("HTML part =\n%q\nwant\n%q", got.HTML, msg.HTML)
	}
	if ct := got.Header.Get("Content-Type"); !strings.HasPrefix(ct, "multipart/alternative;") {
		t.Errorf("Content-Type = %q, want multipart/alternative", ct)
	}
	if date, err := got.Header.Date(); err != nil || date.Before(before) || date.After(time.Now().Add(time.Second)) {
		t.Errorf("Date = %q (%v), want about now", got.Header.Get("Date"), err)
	}
	if id := got.Header.Get("Message-ID"); !regexp.MustCompile(`^<[a-z2-7]{26}@id\.example\.com>$`).MatchString(id) {
		t.Errorf("Message-ID = %q, want <26 random base32 characters@id.example.com>", id)
	}
	if from, err := mail.ParseAddress(got.Header.Get("From")); err != nil || from.Name != "Example ID" || from.Address != "no-reply@id.example.com" {
		t.Errorf("From = %q (%v), want Example ID <no-reply@id.example.com>", got.Header.Get("From"), err)
	}
	if to := got.Header.Get("To"); to != "<alice@example.com>" {
		t.Errorf("To = %q, want <alice@example.com>", to)
	}
	if v := got.Header.Get("Auto-Submitted"); v != "auto-generated" {
		t.Errorf("Auto-Submitted = %q, want auto-generated", v)
	}
	for _, h := range []string{"User-Agent", "X-Mailer", "Bcc", "Cc"} {
		if v := got.Header.Get(h); v != "" {
			t.Errorf("%s = %q, want no such header", h, v)
		}
	}
}

// TestSendMailRenderedLinks sends what package mail renders and follows the
// link out of the sink, as the end-to-end tests will.
func TestSendMailRenderedLinks(t *testing.T) {
	r, err := veilmail.NewRenderer("Example ID")
	if err != nil {
		t.Fatal(err)
	}
	const link = "https://id.example.com/signup/confirm?token=Zm9v_YmFy-0123456789abcdefghijklmnopqrstuvwxyz&x=1"
	msg, err := r.RenderMail(&veil.MailData{Kind: veil.MailSignupConfirm, To: "alice@example.com", Link: link, Expires: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	srv := smtptest.NewServer(t)
	mustSend(t, mustMailer(t, srv, nil), msg)
	got := srv.WaitFor(t, 1, waitTimeout)[0]
	if links := got.Links(); len(links) != 1 || links[0] != link {
		t.Errorf("Links() = %q, want [%q]", links, link)
	}
	if got.Text != msg.Text || got.HTML != msg.HTML {
		t.Errorf("parts changed in transit:\ntext %q\nwant %q", got.Text, msg.Text)
	}
}

func TestSendMailAuth(t *testing.T) {
	const user, password = "veil", "s3cret-Pa55word"
	tests := []struct {
		name     string
		user     string
		password string
		wantErr  bool
	}{
		{"right password", user, password, false},
		{"wrong password", user, "wrong-Pa55word", true},
		{"no credentials", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.NewServer(t, smtptest.WithAuth(user, password))
			m := mustMailer(t, srv, func(c *smtp.Config) { c.Username, c.Password = tt.user, tt.password })
			err := m.SendMail(context.Background(), testMessage("alice@example.com"))
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("SendMail = %v", err)
				}
				if got := srv.WaitFor(t, 1, waitTimeout)[0]; got.AuthUser != user {
					t.Errorf("AuthUser = %q, want %q", got.AuthUser, user)
				}
				return
			}
			if err == nil {
				t.Fatal("SendMail = nil, want an error")
			}
			e := asSMTPError(t, err)
			if !e.Temporary() {
				t.Errorf("%v: Temporary() = false; a credential problem is the operator's to fix, so the worker must retry", err)
			}
			if tt.password != "" && strings.Contains(err.Error(), tt.password) {
				t.Errorf("the error holds the password: %v", err)
			}
			if strings.Contains(err.Error(), "alice@example.com") {
				t.Errorf("the error holds the recipient: %v", err)
			}
			if n := len(srv.Messages()); n != 0 {
				t.Errorf("%d messages arrived, want none", n)
			}
		})
	}
}

func TestSendMailTLS(t *testing.T) {
	tests := []struct {
		name      string
		opts      []smtptest.Option
		mode      string
		trust     bool // hand the Mailer the sink's certificate
		wantErr   bool
		wantTLS   bool
		wantAuthd bool
	}{
		{"starttls with a trusted certificate", []smtptest.Option{smtptest.WithSTARTTLS(), smtptest.WithAuth("veil", "pw")}, smtp.TLSStartTLS, true, false, true, true},
		{"starttls with an untrusted certificate", []smtptest.Option{smtptest.WithSTARTTLS()}, smtp.TLSStartTLS, false, true, false, false},
		{"starttls with a server that does not offer it", nil, smtp.TLSStartTLS, false, true, false, false},
		{"starttls-optional with a server that offers it", []smtptest.Option{smtptest.WithSTARTTLS()}, smtp.TLSStartTLSOptional, true, false, true, false},
		{"starttls-optional with a server that does not", nil, smtp.TLSStartTLSOptional, false, false, false, false},
		{"implicit with a trusted certificate", []smtptest.Option{smtptest.WithImplicitTLS(), smtptest.WithAuth("veil", "pw")}, smtp.TLSImplicit, true, false, true, true},
		{"implicit with an untrusted certificate", []smtptest.Option{smtptest.WithImplicitTLS()}, smtp.TLSImplicit, false, true, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.NewServer(t, tt.opts...)
			m := mustMailer(t, srv, func(c *smtp.Config) {
				c.TLS = tt.mode
				if tt.trust {
					c.TLSConfig = srv.ClientTLSConfig()
				}
				if tt.wantAuthd {
					c.Username, c.Password = "veil", "pw"
				}
			})
			err := m.SendMail(context.Background(), testMessage("alice@example.com"))
			if tt.wantErr {
				if err == nil {
					t.Fatal("SendMail = nil, want an error")
				}
				if e := asSMTPError(t, err); e.Op != smtp.OpConnect {
					t.Errorf("Op = %q, want %q (%v)", e.Op, smtp.OpConnect, err)
				}
				if n := len(srv.Messages()); n != 0 {
					t.Errorf("%d messages arrived, want none", n)
				}
				return
			}
			if err != nil {
				t.Fatalf("SendMail = %v", err)
			}
			got := srv.WaitFor(t, 1, waitTimeout)[0]
			if got.TLS != tt.wantTLS {
				t.Errorf("TLS = %v, want %v", got.TLS, tt.wantTLS)
			}
			if tt.wantAuthd && got.AuthUser != "veil" {
				t.Errorf("AuthUser = %q, want veil", got.AuthUser)
			}
			if got.Text != testMessage("").Text {
				t.Errorf("text part = %q", got.Text)
			}
		})
	}
}

// TestSendMailServerRecovers shows a server that fails twice and then
// accepts: the Mailer reports each failure as temporary and then succeeds.
// Retrying is the worker's job.
func TestSendMailServerRecovers(t *testing.T) {
	srv := smtptest.NewServer(t, smtptest.WithFailures(2))
	m := mustMailer(t, srv, nil)
	msg := testMessage("alice@example.com")
	for i := range 2 {
		err := m.SendMail(context.Background(), msg)
		if err == nil {
			t.Fatalf("attempt %d: SendMail = nil, want the server's 451", i+1)
		}
		e := asSMTPError(t, err)
		if !e.Temporary() || e.Code != 451 || e.Op != smtp.OpSend {
			t.Errorf("attempt %d: %v: Temporary() = %v, Code = %d, Op = %q; want true, 451, send", i+1, err, e.Temporary(), e.Code, e.Op)
		}
		if strings.Contains(err.Error(), "alice@example.com") {
			t.Errorf("the error holds the recipient: %v", err)
		}
	}
	mustSend(t, m, msg)
	if got := srv.WaitFor(t, 1, waitTimeout); len(got) != 1 || srv.Rejected() != 2 {
		t.Errorf("%d messages arrived and %d were rejected, want 1 and 2", len(got), srv.Rejected())
	}
}

// silentListener accepts connections on loopback and never says a word.
func silentListener(tb testing.TB) (host string, port int) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	tb.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	addr := ln.Addr().(*net.TCPAddr)
	return addr.IP.String(), addr.Port
}

func TestSendMailTimeout(t *testing.T) {
	tests := []struct {
		name       string
		timeout    time.Duration // Config.Timeout
		ctxTimeout time.Duration // 0 for none
	}{
		{"config timeout", time.Second, 0},
		{"context deadline", time.Minute, 300 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host, port := silentListener(t)
			m, err := smtp.New(smtp.Config{Host: host, Port: port, TLS: smtp.TLSNone, From: "no-reply@id.example.com", Timeout: tt.timeout})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			bound := tt.timeout
			if tt.ctxTimeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.ctxTimeout)
				defer cancel()
				bound = tt.ctxTimeout
			}
			start := time.Now()
			err = m.SendMail(ctx, testMessage("alice@example.com"))
			elapsed := time.Since(start)
			if err == nil {
				t.Fatal("SendMail to a silent server = nil, want a timeout")
			}
			if elapsed > bound+2*time.Second {
				t.Errorf("SendMail took %v, want about %v", elapsed, bound)
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("SendMail = %v, want it to wrap context.DeadlineExceeded", err)
			}
			if e := asSMTPError(t, err); !e.Temporary() {
				t.Errorf("%v: Temporary() = false, want true", err)
			}
		})
	}
}

func TestSendMailCanceledContext(t *testing.T) {
	srv := smtptest.NewServer(t)
	m := mustMailer(t, srv, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := m.SendMail(ctx, testMessage("alice@example.com"))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("SendMail with a canceled context = %v, want context.Canceled", err)
	}
}

func TestSendMailInternationalAddresses(t *testing.T) {
	tests := []struct {
		name     string
		to       veil.Identifier
		opts     []smtptest.Option
		wantRcpt string // "" when the Mailer must refuse
		wantUTF8 bool
	}{
		{"IDN domain", "alice@bücher.example", nil, "alice@xn--bcher-kva.example", false},
		{"IDN domain, server with SMTPUTF8", "alice@bücher.example", []smtptest.Option{smtptest.WithSMTPUTF8()}, "alice@xn--bcher-kva.example", true},
		{"non-ASCII local part, server with SMTPUTF8", "jürgen@bücher.example", []smtptest.Option{smtptest.WithSMTPUTF8()}, "jürgen@xn--bcher-kva.example", true},
		{"non-ASCII local part, server without SMTPUTF8", "jürgen@example.com", nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.NewServer(t, tt.opts...)
			m := mustMailer(t, srv, nil)
			err := m.SendMail(context.Background(), testMessage(tt.to))
			if tt.wantRcpt == "" {
				if err == nil {
					t.Fatal("SendMail = nil, want an error: the server cannot take a non-ASCII local part")
				}
				if e := asSMTPError(t, err); e.Temporary() {
					t.Errorf("%v: Temporary() = true; this message can never go to this server", err)
				}
				if n := len(srv.Messages()); n != 0 {
					t.Errorf("%d messages arrived, want none", n)
				}
				return
			}
			if err != nil {
				t.Fatalf("SendMail(%s) = %v", tt.to, err)
			}
			got := srv.WaitFor(t, 1, waitTimeout)[0]
			if want := []string{tt.wantRcpt}; !equal(got.To, want) {
				t.Errorf("envelope to = %q, want %q", got.To, want)
			}
			if to := got.Header.Get("To"); to != "<"+tt.wantRcpt+">" {
				t.Errorf("To header = %q, want <%s>", to, tt.wantRcpt)
			}
			if got.UTF8 != tt.wantUTF8 {
				t.Errorf("SMTPUTF8 = %v, want %v", got.UTF8, tt.wantUTF8)
			}
		})
	}
}

func TestSendMailRefusesBadMessages(t *testing.T) {
	tests := []struct {
		name string
		msg  *veil.Message
	}{
		{"nil", nil},
		{"no text", &veil.Message{To: "alice@example.com", Subject: "Hi"}},
		{"no subject", &veil.Message{To: "alice@example.com", Text: "Hi"}},
		{"subject with a newline", &veil.Message{To: "alice@example.com", Subject: "Hi\r\nBcc: mallory@example.org", Text: "Hi"}},
		{"no recipient", &veil.Message{Subject: "Hi", Text: "Hi"}},
		{"recipient without @", &veil.Message{To: "alice", Subject: "Hi", Text: "Hi"}},
		{"recipient with a newline", &veil.Message{To: "alice@example.com\r\nRCPT TO:<mallory@example.org>", Subject: "Hi", Text: "Hi"}},
		{"recipient with a bad domain", &veil.Message{To: "alice@exa mple.com", Subject: "Hi", Text: "Hi"}},
	}
	srv := smtptest.NewServer(t)
	m := mustMailer(t, srv, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := m.SendMail(context.Background(), tt.msg)
			if err == nil {
				t.Fatal("SendMail = nil, want an error")
			}
			if e := asSMTPError(t, err); e.Op != smtp.OpCompose || e.Temporary() {
				t.Errorf("%v: Op = %q, Temporary() = %v; want compose, false", err, e.Op, e.Temporary())
			}
		})
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("%d messages arrived, want none", n)
	}
}

func TestNewInvalidConfig(t *testing.T) {
	const password = "hunter2-do-not-leak"
	valid := smtp.Config{Host: "smtp.example.com", From: "no-reply@example.com", Username: "veil", Password: password}
	tests := []struct {
		name   string
		modify func(c *smtp.Config)
	}{
		{"no host", func(c *smtp.Config) { c.Host = "" }},
		{"host with a space", func(c *smtp.Config) { c.Host = "smtp example.com" }},
		{"host with a path", func(c *smtp.Config) { c.Host = "unix:///run/smtp.sock" }},
		{"no from", func(c *smtp.Config) { c.From = "" }},
		{"from not an address", func(c *smtp.Config) { c.From = "veil" }},
		{"from with a newline", func(c *smtp.Config) { c.From = "no-reply@example.com\r\nBcc: x@example.org" }},
		{"from with a non-ASCII local part", func(c *smtp.Config) { c.From = "jürgen@example.com" }},
		{"unknown TLS mode", func(c *smtp.Config) { c.TLS = "ssl" }},
		{"no TLS to a remote host", func(c *smtp.Config) { c.TLS = smtp.TLSNone }},
		{"port too large", func(c *smtp.Config) { c.Port = 70000 }},
		{"negative port", func(c *smtp.Config) { c.Port = -1 }},
		{"negative timeout", func(c *smtp.Config) { c.Timeout = -time.Second }},
		{"password without username", func(c *smtp.Config) { c.Username = "" }},
		{"username without password", func(c *smtp.Config) { c.Password = "" }},
		{"hello name with a space", func(c *smtp.Config) { c.HelloName = "veil example" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid
			tt.modify(&cfg)
			m, err := smtp.New(cfg)
			if err == nil {
				t.Fatalf("New(%+v) = %v, nil; want an error", cfg, m)
			}
			if veil.ErrorCode(err) != veil.EINVALID {
				t.Errorf("New: %v, want code %s", err, veil.EINVALID)
			}
			if strings.Contains(err.Error(), password) {
				t.Errorf("New: the error holds the password: %v", err)
			}
		})
	}
	okTests := []struct {
		name   string
		modify func(c *smtp.Config)
	}{
		{"defaults", func(c *smtp.Config) {}},
		{"IDN sender domain", func(c *smtp.Config) { c.From = "Bücher <no-reply@bücher.example>" }},
		{"no TLS to loopback", func(c *smtp.Config) { c.Host, c.TLS = "127.0.0.1", smtp.TLSNone }},
		{"no TLS to localhost", func(c *smtp.Config) { c.Host, c.TLS = "localhost", smtp.TLSNone }},
		{"implicit", func(c *smtp.Config) { c.TLS = smtp.TLSImplicit }},
		{"no credentials", func(c *smtp.Config) { c.Username, c.Password = "", "" }},
	}
	for _, tt := range okTests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid
			tt.modify(&cfg)
			if _, err := smtp.New(cfg); err != nil {
				t.Errorf("New = %v, want nil", err)
			}
		})
	}
}

// TestSendMailConcurrent sends from several goroutines through one Mailer.
func TestSendMailConcurrent(t *testing.T) {
	srv := smtptest.NewServer(t)
	m := mustMailer(t, srv, nil)
	const n = 8
	errs := make(chan error, n)
	for range n {
		go func() { errs <- m.SendMail(context.Background(), testMessage("alice@example.com")) }()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	srv.WaitFor(t, n, waitTimeout)
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestSendMailRecipientRefused shows a permanent refusal: the worker may
// give up on the message, and the error does not repeat the address the
// server echoed.
func TestSendMailRecipientRefused(t *testing.T) {
	srv := smtptest.NewServer(t, smtptest.WithRejectedRecipients())
	m := mustMailer(t, srv, nil)
	for _, to := range []veil.Identifier{"alice@example.com", "alice@bücher.example"} {
		err := m.SendMail(context.Background(), testMessage(to))
		if err == nil {
			t.Fatalf("SendMail(%s) = nil, want the server's 550", to)
		}
		e := asSMTPError(t, err)
		if e.Temporary() || e.Code != 550 || e.Op != smtp.OpSend {
			t.Errorf("%v: Temporary() = %v, Code = %d, Op = %q; want false, 550, send", err, e.Temporary(), e.Code, e.Op)
		}
		for _, leak := range []string{"alice@", "xn--bcher-kva", "bücher"} {
			if strings.Contains(err.Error(), leak) {
				t.Errorf("the error holds %q from the recipient: %v", leak, err)
			}
		}
		if !strings.Contains(err.Error(), "[recipient]") {
			t.Errorf("the error does not show where the recipient was: %v", err)
		}
	}
}
