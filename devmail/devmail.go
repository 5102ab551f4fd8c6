// Package devmail is veil's zero-configuration mailer for development: it
// keeps every mail in a store instead of sending it, logs one line per mail
// (its subject only), and serves the mailbox at GET /dev/mail, so sign-up
// and recovery can be tried on a laptop without an SMTP server.
//
// Showing the links is the point here, which is exactly what a production
// mailer must never do: the mailbox shows live confirmation and reset
// links, and "you already have an account" notices that say which
// addresses have accounts. So the mailbox answers only browsers on this
// machine (a loopback peer naming a loopback host, not through a proxy),
// the server wires it in only with mail.driver = "dev" and a public
// listener on loopback, and the log never holds an address, a link or a
// token. This package must never send anything anywhere either.
package devmail

import (
	"context"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/veil-id/veil"
)

// Mail is one mail kept in the dev mailbox.
type Mail struct {
	To      string
	Subject string
	Text    string
	HTML    string
	SentAt  time.Time
}

// Store keeps the dev mailbox. Its errors are its own; the Mailer reports
// them as EINTERNAL and the mailbox page as a 500.
type Store interface {
	// AppendDevMail adds m to the mailbox.
	AppendDevMail(ctx context.Context, m *Mail) error
	// ListDevMail returns at most limit mails, newest first (the handler
	// sorts again by SentAt, so ties and sloppy stores still read right).
	ListDevMail(ctx context.Context, limit int) ([]*Mail, error)
}

// Mailer is a veil.Mailer that keeps mail in a Store. It is safe for
// concurrent use if its Store is.
type Mailer struct {
	store  Store
	logger *slog.Logger
}

var _ veil.Mailer = (*Mailer)(nil)

// New returns a Mailer that keeps mail in store and logs to logger
// (slog.Default() if nil). store must not be nil.
func New(store Store, logger *slog.Logger) *Mailer {
	if store == nil {
		panic("devmail: New with a nil Store")
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &Mailer{store: store, logger: logger}
}

// SendMail keeps msg in the mailbox and logs one line with its subject:
// not the recipient, not a link — logs travel further than this machine,
// and a link holds a live token. Errors are EINVALID for a nil message and
// EINTERNAL if the store fails.
func (m *Mailer) SendMail(ctx context.Context, msg *veil.Message) error {
	if msg == nil {
		return veil.Errorf(veil.EINVALID, "The message is missing.")
	}
	mail := &Mail{
		To:      string(msg.To),
		Subject: msg.Subject,
		Text:    msg.Text,
		HTML:    msg.HTML,
		SentAt:  time.Now().UTC(),
	}
	if err := m.store.AppendDevMail(ctx, mail); err != nil {
		return &veil.Error{Code: veil.EINTERNAL, Message: "The dev mailbox could not keep the mail.", Cause: err}
	}
	m.logger.InfoContext(ctx, "devmail: mail kept, read it at "+Path+" on this machine", "subject", mail.Subject)
	return nil
}

// linkPattern finds http and https links in plain text.
var linkPattern = regexp.MustCompile(`https?://[\pL\pN\[][^\s<>"']*`)

// trimLink drops the punctuation that ends a sentence after a link.
func trimLink(l string) string { return strings.TrimRight(l, ".,;:!?)]") }

// segment is a piece of a text part: plain text, or a link.
type segment struct {
	Text string
	URL  string
}

// segments splits text into plain text and links, so the mailbox can make
// the links clickable without trusting anything else in the text.
func segments(text string) []segment {
	var out []segment
	rest := text
	for {
		loc := linkPattern.FindStringIndex(rest)
		if loc == nil {
			break
		}
		link := trimLink(rest[loc[0]:loc[1]])
		if loc[0] > 0 {
			out = append(out, segment{Text: rest[:loc[0]]})
		}
		out = append(out, segment{URL: link})
		rest = rest[loc[0]+len(link):]
	}
	if rest != "" {
		out = append(out, segment{Text: rest})
	}
	return out
}
