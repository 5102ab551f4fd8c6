package devmail

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"html/template"
	"net"
	"net/http"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Path is where Handler serves the mailbox.
const Path = "/dev/mail"

// Limits of the limit query parameter.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// contentSecurityPolicy lets the page show its own inline styles and
// nothing else: no scripts, no remote anything. The HTML part of a mail is
// shown in an <iframe sandbox srcdoc>, which inherits this policy, so a
// mail's inline styles render and its scripts, forms and remote images do
// not. X-Frame-Options keeps the page itself out of other sites' frames;
// frame-ancestors is left out of the policy because the srcdoc frame
// inherits it.
const contentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"

//go:embed mailbox.html
var mailboxHTML string

var mailboxTemplate = template.Must(template.New("mailbox").Parse(mailboxHTML))

// mailJSON is one mail in the JSON answer.
type mailJSON struct {
	To      string    `json:"to"`
	Subject string    `json:"subject"`
	Text    string    `json:"text"`
	HTML    string    `json:"html"`
	SentAt  time.Time `json:"sent_at"`
}

// mailView is one mail on the HTML page.
type mailView struct {
	To         string
	Subject    string
	SentAt     string // RFC 3339, for <time datetime>
	SentAtText string
	Text       []segment
	HTML       string
}

// Handler serves GET Path: the mailbox as an HTML page, newest first, or
// with ?format=json as a JSON array of {to, subject, text, html, sent_at}.
// ?limit=N shows the newest N mails (default 50, at most 500).
func (m *Mailer) Handler() http.Handler {
	return http.HandlerFunc(m.serveMailbox)
}

func (m *Mailer) serveMailbox(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != Path {
		http.NotFound(w, r)
		return
	}
	if why := notFromThisMachine(r); why != "" {
		http.Error(w, "The dev mailbox shows live sign-in and reset links, so it answers only a browser on this machine: "+why+".", http.StatusForbidden)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	format := q.Get("format")
	if format != "" && format != "html" && format != "json" {
		http.Error(w, `format must be "html" or "json"`, http.StatusBadRequest)
		return
	}
	limit, ok := parseLimit(q.Get("limit"))
	if !ok {
		http.Error(w, "limit must be a whole number from 1 to 500", http.StatusBadRequest)
		return
	}
	mails, err := m.store.ListDevMail(r.Context(), limit)
	if err != nil {
		m.logger.ErrorContext(r.Context(), "devmail: listing the mailbox", "err", err)
		http.Error(w, "the dev mailbox could not be read", http.StatusInternalServerError)
		return
	}
	mails = newestFirst(mails, limit)

	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	if format == "json" {
		m.writeJSON(w, r, mails)
		return
	}
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Frame-Options", "DENY")
	m.writeHTML(w, r, mails)
}

// parseLimit reads the limit parameter: DefaultLimit if empty, at most
// MaxLimit.
func parseLimit(s string) (int, bool) {
	if s == "" {
		return DefaultLimit, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, false
	}
	return min(n, MaxLimit), true
}

// newestFirst orders mails newest first, whatever order the store kept,
// drops nils, and keeps at most limit of them.
func newestFirst(mails []*Mail, limit int) []*Mail {
	out := make([]*Mail, 0, len(mails))
	for _, mail := range mails {
		if mail != nil {
			out = append(out, mail)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].SentAt.After(out[j].SentAt) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}

func (m *Mailer) writeJSON(w http.ResponseWriter, r *http.Request, mails []*Mail) {
	out := make([]mailJSON, 0, len(mails))
	for _, mail := range mails {
		out = append(out, mailJSON{To: mail.To, Subject: mail.Subject, Text: mail.Text, HTML: mail.HTML, SentAt: mail.SentAt.UTC()})
	}
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(out); err != nil {
		m.logger.ErrorContext(r.Context(), "devmail: encoding the mailbox", "err", err)
		http.Error(w, "the dev mailbox could not be encoded", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.Write(buf.Bytes())
}

func (m *Mailer) writeHTML(w http.ResponseWriter, r *http.Request, mails []*Mail) {
	views := make([]mailView, 0, len(mails))
	for _, mail := range mails {
		at := mail.SentAt.UTC()
		views = append(views, mailView{
			To:         mail.To,
			Subject:    mail.Subject,
			SentAt:     at.Format(time.RFC3339),
			SentAtText: at.Format("2006-01-02 15:04:05 UTC"),
			Text:       segments(mail.Text),
			HTML:       mail.HTML,
		})
	}
	var buf bytes.Buffer
	if err := mailboxTemplate.Execute(&buf, struct{ Mails []mailView }{views}); err != nil {
		m.logger.ErrorContext(r.Context(), "devmail: rendering the mailbox", "err", err)
		http.Error(w, "the dev mailbox could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.Write(buf.Bytes())
}

// forwardingHeaders are what a proxy adds; a request with any of them came
// through one, from wherever the proxy serves.
var forwardingHeaders = []string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Real-Ip", "Cf-Connecting-Ip", "True-Client-Ip", "Fly-Client-Ip", "Via"}

// notFromThisMachine says why r may not read the mailbox, or "". The peer
// must be on loopback and must have come directly, and Host must name
// loopback too: a web page whose name an attacker rebinds to 127.0.0.1
// would otherwise read the mailbox through the developer's browser.
func notFromThisMachine(r *http.Request) string {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err != nil || !ap.Addr().Unmap().IsLoopback() {
		return "the request does not come from loopback"
	}
	for _, h := range forwardingHeaders {
		if r.Header.Get(h) != "" {
			return "the request came through a proxy (" + h + ")"
		}
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if a, err := netip.ParseAddr(host); host != "localhost" && (err != nil || !a.Unmap().IsLoopback()) {
		return "open it as http://localhost or http://127.0.0.1, not as " + strconv.Quote(r.Host)
	}
	return ""
}
