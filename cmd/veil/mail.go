package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/devmail"
	"github.com/veil-id/veil/mail"
	"github.com/veil-id/veil/smtp"
	"github.com/veil-id/veil/sqlstore"
)

// publicURL is where links in mail point: server.public_url, or the public
// listener's own address.
func (c *Config) publicURL() string {
	if c.Server.PublicURL != "" {
		return strings.TrimRight(c.Server.PublicURL, "/")
	}
	scheme := "http"
	if c.Server.TLSCertFile != "" {
		scheme = "https"
	}
	return scheme + "://" + c.Server.Listen
}

// mailSetup is the worker's mail: a renderer, a mailer, and for the dev
// driver the mailbox to serve.
type mailSetup struct {
	renderer *mail.Renderer
	mailer   veil.Mailer
	devmail  *devmail.Mailer // nil unless mail.driver = "dev"
}

func (a *app) newMail() (*mailSetup, error) {
	b, err := a.cfg.brand()
	if err != nil {
		return nil, err
	}
	r, err := mail.NewRenderer(b.SiteName, mail.WithAccent(b.Accent))
	if err != nil {
		return nil, fmt.Errorf("mail templates: %w", err)
	}
	ms := &mailSetup{renderer: r}
	if a.cfg.Mail.Driver == "dev" {
		if err := a.cfg.checkDevMail(); err != nil {
			return nil, err
		}
		ms.devmail = devmail.New(devMailStore{a.db}, a.logger)
		ms.mailer = ms.devmail
		return ms, nil
	}
	sc := a.cfg.SMTP
	pw := string(sc.Password)
	if sc.PasswordFile != "" {
		b, err := os.ReadFile(sc.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("smtp.password_file: %w", err)
		}
		pw = strings.TrimRight(string(b), "\r\n")
	}
	ms.mailer, err = smtp.New(smtp.Config{
		Host: sc.Host, Port: sc.Port, Username: sc.Username, Password: pw,
		TLS: sc.TLS, From: a.cfg.Mail.From, HelloName: sc.HelloName, Timeout: time.Duration(sc.Timeout),
	})
	if err != nil {
		return nil, fmt.Errorf("smtp: %w", err)
	}
	return ms, nil
}

// checkDevMail refuses the dev mailbox anywhere but on loopback: it shows
// live reset links, and notices that say which addresses have accounts, to
// whoever reaches the public listener. A public URL elsewhere means the
// listener is reachable from elsewhere (through a proxy), so it counts too.
func (c *Config) checkDevMail() error {
	why := ""
	if !listensOnLoopback(c.Server.Listen) {
		why = "server.listen is " + strconv.Quote(c.Server.Listen)
	} else if u, err := url.Parse(c.Server.PublicURL); c.Server.PublicURL != "" && (err != nil || !listensOnLoopback(u.Hostname())) {
		why = "server.public_url is " + strconv.Quote(c.Server.PublicURL)
	}
	if why == "" {
		return nil
	}
	return fmt.Errorf("mail.driver = \"dev\" shows every mail, with live sign-in and reset links, at /dev/mail to anyone who reaches veil, "+
		"so veil serves it only on loopback, and %s. Set mail.driver = \"smtp\" (and smtp.host) to serve other machines, "+
		"or listen on 127.0.0.1 without a public_url elsewhere to try veil on this machine", why)
}

// withDevMail serves the dev mailbox beside the public handler. Only the
// dev driver has one, and serve says so loudly. Every method reaches it,
// so that it answers the wrong ones 405 itself.
func (ms *mailSetup) withDevMail(public http.Handler) http.Handler {
	if ms.devmail == nil {
		return public
	}
	mux := http.NewServeMux()
	mux.Handle(devmail.Path, ms.devmail.Handler())
	mux.Handle("/", public)
	return mux
}

// devMailStore keeps the dev mailbox in veil's own database.
type devMailStore struct{ db *sqlstore.DB }

func (s devMailStore) AppendDevMail(ctx context.Context, m *devmail.Mail) error {
	return s.db.AppendDevMail(ctx, &sqlstore.DevMail{To: m.To, Subject: m.Subject, Text: m.Text, HTML: m.HTML, SentAt: m.SentAt})
}

func (s devMailStore) ListDevMail(ctx context.Context, limit int) ([]*devmail.Mail, error) {
	list, err := s.db.ListDevMail(ctx, limit)
	if err != nil {
		return nil, err
	}
	out := make([]*devmail.Mail, len(list))
	for i, m := range list {
		out[i] = &devmail.Mail{To: m.To, Subject: m.Subject, Text: m.Text, HTML: m.HTML, SentAt: m.SentAt}
	}
	return out, nil
}
