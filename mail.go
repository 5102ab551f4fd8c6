package veil

import (
	"context"
	"time"
)

// Message is one mail, rendered and ready to send. To is always a stored,
// normalized address — never what somebody typed.
type Message struct {
	To      Identifier
	Subject string
	Text    string
	HTML    string
}

// Mailer sends mail. The outbox worker calls it off the request path, so
// its cost and its failures never reach an HTTP answer.
type Mailer interface {
	// SendMail delivers m or returns an error; the worker retries failures
	// with backoff.
	SendMail(ctx context.Context, m *Message) error
}

// Kinds of mail veil sends.
const (
	MailSignupConfirm   = "signup_confirm"   // a new address: confirm to create the account (Link)
	MailSignupExisting  = "signup_existing"  // a taken address: sign in or reset (SignInURL, ResetURL)
	MailRecoverReset    = "recover_reset"    // a reset link for an existing account (Link)
	MailRecoverUnknown  = "recover_unknown"  // no account uses this address (only if configured)
	MailPasswordChanged = "password_changed" // a notice after a reset (SignInURL, ResetURL)
)

// MailData is what a mail template needs.
type MailData struct {
	Kind      string
	To        Identifier
	Link      string    // the confirmation or reset link, with its token
	Expires   time.Time // when Link stops working
	SignInURL string
	ResetURL  string
	SiteName  string
	Lang      string // the language to write in (see Job.Lang); "" for English
	// Name is the display name of the account the mail is about, for the
	// greeting; "" greets nobody by name.
	Name string
	// Code is a sign-in code (MailLoginCode).
	Code string
}

// MailRenderer turns MailData into a Message.
type MailRenderer interface {
	// RenderMail renders d; EINVALID for an unknown kind.
	RenderMail(d *MailData) (*Message, error)
}
