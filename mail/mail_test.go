package mail_test

import (
	"strings"
	"testing"
	"time"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/mail"
	"github.com/veil-id/veil/veiltest"
)

// expires is in a zone other than UTC, so the golden files show that mails
// convert it: 14:30 CEST is 12:30 UTC.
var expires = time.Date(2026, 5, 4, 14, 30, 0, 0, time.FixedZone("CEST", 2*60*60))

// fullData returns data for kind with every field set, as the worker would
// fill it.
func fullData(kind string) *veil.MailData {
	return &veil.MailData{
		Kind:      kind,
		To:        "alice@example.com",
		Link:      "https://id.example.com/confirm?token=abc123&next=%2F",
		Expires:   expires,
		SignInURL: "https://id.example.com/login",
		ResetURL:  "https://id.example.com/recover",
		SiteName:  "ignored, the renderer's name wins",
		Name:      "Alice <Ä>",
		Code:      "01234567",
	}
}

// mustRenderer returns a Renderer for the site "Example ID".
func mustRenderer(tb testing.TB) *mail.Renderer {
	tb.Helper()
	r, err := mail.NewRenderer("Example ID")
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(tb testing.TB, name, got string) {
	tb.Helper()
	veiltest.Golden(tb, name, got)
}

func TestRenderMailGolden(t *testing.T) {
	r := mustRenderer(t)
	for _, kind := range mail.Kinds() {
		t.Run(kind, func(t *testing.T) {
			m, err := r.RenderMail(fullData(kind))
			if err != nil {
				t.Fatalf("RenderMail(%q) = %v", kind, err)
			}
			if m.To != "alice@example.com" {
				t.Errorf("To = %q, want alice@example.com", m.To)
			}
			golden(t, kind+".txt.golden", "Subject: "+m.Subject+"\n\n"+m.Text)
			golden(t, kind+".html.golden", m.HTML)
		})
	}
}

// TestRenderMailContent checks what every mail must say, so a golden file
// rewritten with -update cannot quietly drop it.
func TestRenderMailContent(t *testing.T) {
	r := mustRenderer(t)
	const (
		link    = "https://id.example.com/confirm?token=abc123&next=%2F"
		expiry  = "2026-05-04 12:30 UTC"
		ignore  = "If you didn't ask for this, ignore this mail"
		signIn  = "https://id.example.com/login"
		resetTo = "https://id.example.com/recover"
	)
	tests := []struct {
		kind       string
		want       []string // in the text part and, HTML-escaped, in the HTML part
		wantNot    []string // in neither part
		subjectHas string
	}{
		{veil.MailSignupConfirm, []string{link, expiry, ignore}, []string{signIn, resetTo}, "Confirm your email address"},
		{veil.MailSignupExisting, []string{"You (or someone) tried to sign up", "already have an account", signIn, resetTo, ignore}, []string{"token="}, "You already have an account with"},
		{veil.MailRecoverReset, []string{link, expiry, ignore}, []string{signIn, resetTo}, "Reset your"},
		{veil.MailRecoverUnknown, []string{"no account uses this address", "If it wasn't you, ignore this mail"}, []string{"token=", signIn, resetTo}, "Password reset request"},
		{veil.MailPasswordChanged, []string{"was changed", "If it wasn't you, reset your password now", signIn, resetTo}, []string{"token="}, "password was changed"},
		{veil.MailEmailChangeConfirm, []string{link, expiry, ignore, "Hello Alice"}, []string{signIn, resetTo, "01234567"}, "Confirm your new email address"},
		// The owner of a taken address learns that nothing changed; no link in it can change anything.
		{veil.MailEmailChangeTaken, []string{"already belongs to your account", signIn, resetTo}, []string{"token="}, "already has a"},
		{veil.MailEmailChanged, []string{link, expiry, "If it wasn't you", "put this address back"}, []string{signIn, resetTo}, "email address of your"},
		{veil.MailLoginCode, []string{"01234567", link, expiry, ignore}, []string{signIn, resetTo}, "sign-in code"},
		{veil.MailAccountDeleted, []string{"has been deleted", "sign up again"}, []string{"token=", signIn, resetTo, "Alice"}, "account has been deleted"},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			m, err := r.RenderMail(fullData(tt.kind))
			if err != nil {
				t.Fatalf("RenderMail(%q) = %v", tt.kind, err)
			}
			if !strings.Contains(m.Subject, tt.subjectHas) || !strings.Contains(m.Subject, "Example ID") {
				t.Errorf("Subject = %q, want it to hold %q and the site name", m.Subject, tt.subjectHas)
			}
			html := strings.ReplaceAll(m.HTML, "&#39;", "'")
			for _, s := range tt.want {
				if !strings.Contains(m.Text, s) {
					t.Errorf("text part lacks %q:\n%s", s, m.Text)
				}
				if !strings.Contains(html, strings.ReplaceAll(s, "&", "&amp;")) {
					t.Errorf("HTML part lacks %q:\n%s", s, m.HTML)
				}
			}
			for _, s := range tt.wantNot {
				if strings.Contains(m.Text, s) || strings.Contains(m.HTML, s) {
					t.Errorf("mail holds %q, which this kind must not carry", s)
				}
			}
			for _, s := range []string{"<img", "src=", "http://", "<script", "<link", "url("} {
				if strings.Contains(m.HTML, s) {
					t.Errorf("HTML part holds %q: mails must not load anything", s)
				}
			}
		})
	}
}

func TestRenderMailEscapesLinks(t *testing.T) {
	r := mustRenderer(t)
	d := fullData(veil.MailSignupConfirm)
	d.Link = `https://id.example.com/confirm?token=a&b=1"><script>alert(1)</script>`
	m, err := r.RenderMail(d)
	if err != nil {
		t.Fatalf("RenderMail = %v", err)
	}
	for _, s := range []string{`"><script>`, "<script>", `&b=1"`} {
		if strings.Contains(m.HTML, s) {
			t.Errorf("HTML part holds %q unescaped:\n%s", s, m.HTML)
		}
	}
	if !strings.Contains(m.HTML, "token=a&amp;b=1") {
		t.Errorf("HTML part lacks the escaped link:\n%s", m.HTML)
	}
	if !strings.Contains(m.Text, d.Link) {
		t.Errorf("text part must hold the link as it is, got:\n%s", m.Text)
	}
}

func TestRenderMailInvalid(t *testing.T) {
	r := mustRenderer(t)
	tests := []struct {
		name   string
		modify func(d *veil.MailData)
	}{
		{"unknown kind", func(d *veil.MailData) { d.Kind = "welcome_back" }},
		{"empty kind", func(d *veil.MailData) { d.Kind = "" }},
		{"no recipient", func(d *veil.MailData) { d.To = "" }},
		{"no link", func(d *veil.MailData) { d.Link = "" }},
		{"no expiry", func(d *veil.MailData) { d.Expires = time.Time{} }},
		{"javascript link", func(d *veil.MailData) { d.Link = "javascript:alert(1)" }},
		{"relative link", func(d *veil.MailData) { d.Link = "/confirm?token=abc" }},
		{"link with a newline", func(d *veil.MailData) { d.Link = "https://id.example.com/c?t=1\r\nBcc: x@example.com" }},
		{"link with a space", func(d *veil.MailData) { d.Link = "https://id.example.com/c t" }},
		{"no sign-in URL", func(d *veil.MailData) { d.Kind = veil.MailSignupExisting; d.SignInURL = "" }},
		{"data reset URL", func(d *veil.MailData) { d.Kind = veil.MailPasswordChanged; d.ResetURL = "data:text/html,hi" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := fullData(veil.MailSignupConfirm)
			tt.modify(d)
			m, err := r.RenderMail(d)
			if got := veil.ErrorCode(err); got != veil.EINVALID {
				t.Errorf("RenderMail(%+v) = %v, %v; want code %s", d, m, err, veil.EINVALID)
			}
		})
	}
	if _, err := r.RenderMail(nil); veil.ErrorCode(err) != veil.EINVALID {
		t.Errorf("RenderMail(nil) = %v, want %s", err, veil.EINVALID)
	}
}

// TestRenderMailIgnoresUnneededFields shows that a kind without links never
// shows one it was handed by mistake.
func TestRenderMailIgnoresUnneededFields(t *testing.T) {
	r := mustRenderer(t)
	m, err := r.RenderMail(&veil.MailData{Kind: veil.MailRecoverUnknown, To: "bob@example.com", Link: "https://id.example.com/x?token=secret"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(m.Text+m.HTML, "secret") {
		t.Errorf("recover_unknown shows a link it does not need:\n%s", m.Text)
	}
}

func TestNewRendererSiteName(t *testing.T) {
	tests := []struct {
		name    string
		site    string
		wantErr bool
	}{
		{"plain", "Example ID", false},
		{"unicode", "Bücher & Co. Konto", false},
		{"empty", "", true},
		{"blank", "   ", true},
		{"newline", "Example\r\nBcc: x@example.com", true},
		{"tab", "Example\tID", true},
		{"too long", strings.Repeat("x", 101), true},
		{"invalid UTF-8", "Example \xff", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := mail.NewRenderer(tt.site)
			if gotErr := err != nil; gotErr != tt.wantErr {
				t.Fatalf("NewRenderer(%q) = %v, want error %v", tt.site, err, tt.wantErr)
			}
			if err != nil && veil.ErrorCode(err) != veil.EINVALID {
				t.Errorf("NewRenderer(%q) = %v, want code %s", tt.site, err, veil.EINVALID)
			}
		})
	}
}

// TestSubjectsAreConstant shows that nothing in MailData reaches a subject.
func TestSubjectsAreConstant(t *testing.T) {
	r := mustRenderer(t)
	for _, kind := range mail.Kinds() {
		a, err := r.RenderMail(fullData(kind))
		if err != nil {
			t.Fatal(err)
		}
		d := fullData(kind)
		d.To = "mallory@example.org"
		d.Link = "https://evil.example/x?token=zzz"
		d.SignInURL, d.ResetURL = "https://evil.example/a", "https://evil.example/b"
		d.SiteName = "Evil\r\nBcc: all@example.org"
		d.Expires = time.Now()
		b, err := r.RenderMail(d)
		if err != nil {
			t.Fatal(err)
		}
		if a.Subject != b.Subject {
			t.Errorf("%s: subject changed with the data: %q, then %q", kind, a.Subject, b.Subject)
		}
	}
}

// TestRendererConcurrent runs renders in parallel, for the race detector.
func TestRendererConcurrent(t *testing.T) {
	r := mustRenderer(t)
	done := make(chan error, 8)
	for range 8 {
		go func() {
			var err error
			for _, kind := range mail.Kinds() {
				if _, e := r.RenderMail(fullData(kind)); e != nil {
					err = e
				}
			}
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
