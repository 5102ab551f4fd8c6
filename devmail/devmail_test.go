package devmail_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/veil-id/veil"
	"github.com/veil-id/veil/devmail"
)

// memStore is a Store in memory, as small as the interface allows.
type memStore struct {
	mu        sync.Mutex
	mails     []*devmail.Mail
	lastLimit int
	err       error // returned by every call when set
}

func (s *memStore) AppendDevMail(_ context.Context, m *devmail.Mail) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	c := *m
	s.mails = append(s.mails, &c)
	return nil
}

func (s *memStore) ListDevMail(_ context.Context, limit int) ([]*devmail.Mail, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastLimit = limit
	if s.err != nil {
		return nil, s.err
	}
	var out []*devmail.Mail
	for i := len(s.mails) - 1; i >= 0 && len(out) < limit; i-- {
		c := *s.mails[i]
		out = append(out, &c)
	}
	return out, nil
}

// newMailer returns a Mailer over a fresh memStore, logging JSON lines to
// the returned buffer.
func newMailer(tb testing.TB) (*devmail.Mailer, *memStore, *bytes.Buffer) {
	tb.Helper()
	store := &memStore{}
	var logs bytes.Buffer
	return devmail.New(store, slog.New(slog.NewJSONHandler(&logs, nil))), store, &logs
}

func message(to veil.Identifier, subject, link string) *veil.Message {
	return &veil.Message{
		To:      to,
		Subject: subject,
		Text:    "Hello,\n\nopen this link:\n\n" + link + "\n\nThe link expires at 2026-05-04 12:30 UTC.\n",
		HTML:    `<p>Hello, <a href="` + strings.ReplaceAll(link, "&", "&amp;") + `">confirm</a></p>`,
	}
}

// mustSend sends msgs through m, one after the other.
func mustSend(tb testing.TB, m *devmail.Mailer, msgs ...*veil.Message) {
	tb.Helper()
	for _, msg := range msgs {
		if err := m.SendMail(context.Background(), msg); err != nil {
			tb.Fatalf("SendMail(%s) = %v", msg.Subject, err)
		}
	}
}

// get serves one request to h from a browser on this machine and returns
// the recorded answer.
func get(tb testing.TB, h http.Handler, method, target string) *httptest.ResponseRecorder {
	tb.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(method, target, nil)
	req.RemoteAddr, req.Host = "127.0.0.1:50000", "localhost:8080"
	h.ServeHTTP(rec, req)
	return rec
}

func TestSendMailKeepsAndLogs(t *testing.T) {
	m, store, logs := newMailer(t)
	const link = "https://id.example.com/signup/confirm?token=abc&x=1"
	before := time.Now()
	mustSend(t, m, message("alice@example.com", "Confirm your email address", link))

	if len(store.mails) != 1 {
		t.Fatalf("the store holds %d mails, want 1", len(store.mails))
	}
	got := store.mails[0]
	if got.To != "alice@example.com" || got.Subject != "Confirm your email address" || !strings.Contains(got.Text, link) || got.HTML == "" {
		t.Errorf("kept %+v", got)
	}
	if got.SentAt.Before(before.Add(-time.Second)) || got.SentAt.After(time.Now().Add(time.Second)) || got.SentAt.Location() != time.UTC {
		t.Errorf("SentAt = %v, want about now, in UTC", got.SentAt)
	}

	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("logged %d lines, want 1:\n%s", len(lines), logs)
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &line); err != nil {
		t.Fatal(err)
	}
	if line["subject"] != "Confirm your email address" {
		t.Errorf("log line = %v, want the subject", line)
	}
	for _, secret := range []string{"alice", "example.com", "token", "abc"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log holds %q (the address or the link): %s", secret, logs)
		}
	}
}

// TestHandlerOnlyThisMachine: the mailbox answers a loopback peer that
// names a loopback host directly, and nobody else — not another machine,
// not a page rebound to 127.0.0.1, not a proxy — and then shows nothing of
// any mail.
func TestHandlerOnlyThisMachine(t *testing.T) {
	m, _, _ := newMailer(t)
	mustSend(t, m, message("alice@example.com", "Reset your password", "https://id.example.com/recover/confirm?token=livetoken"))
	tests := []struct {
		name, remote, host string
		header             map[string]string
		want               int
	}{
		{"localhost", "127.0.0.1:5000", "localhost:8080", nil, 200},
		{"127.0.0.1", "127.0.0.1:5000", "127.0.0.1:8080", nil, 200},
		{"IPv6 loopback", "[::1]:5000", "[::1]:8080", nil, 200},
		{"other loopback address", "127.0.0.2:5000", "127.1.2.3", nil, 200},
		{"localhost with a final dot", "127.0.0.1:5000", "LOCALHOST.:8080", nil, 200},
		{"another machine", "192.0.2.7:5000", "localhost:8080", nil, 403},
		{"another machine by IPv6", "[2001:db8::7]:5000", "[::1]:8080", nil, 403},
		{"rebinding page", "127.0.0.1:5000", "rebind.attacker.example:8080", nil, 403},
		{"rebinding page without port", "127.0.0.1:5000", "localhost.attacker.example", nil, 403},
		{"the machine's public name", "127.0.0.1:5000", "dev.example.com:8080", nil, 403},
		{"no Host", "127.0.0.1:5000", "", nil, 403},
		{"through a proxy", "127.0.0.1:5000", "localhost:8080", map[string]string{"X-Forwarded-For": "203.0.113.9"}, 403},
		{"through a proxy, Forwarded", "127.0.0.1:5000", "localhost:8080", map[string]string{"Forwarded": "for=203.0.113.9"}, 403},
		{"through a proxy, X-Real-IP", "127.0.0.1:5000", "localhost:8080", map[string]string{"X-Real-IP": "203.0.113.9"}, 403},
		{"unparsable peer", "@", "localhost", nil, 403},
	}
	for _, tt := range tests {
		for _, target := range []string{"/dev/mail", "/dev/mail?format=json"} {
			req := httptest.NewRequest("GET", target, nil)
			req.RemoteAddr, req.Host = tt.remote, tt.host
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			m.Handler().ServeHTTP(rec, req)
			body := rec.Body.String()
			if rec.Code != tt.want {
				t.Errorf("%s: GET %s = %d, want %d\n%s", tt.name, target, rec.Code, tt.want, body)
			}
			if tt.want == 403 && (strings.Contains(body, "livetoken") || strings.Contains(body, "alice")) {
				t.Errorf("%s: a refused request saw the mail: %s", tt.name, body)
			}
			if tt.want == 200 && !strings.Contains(body, "livetoken") {
				t.Errorf("%s: the mailbox does not show the mail", tt.name)
			}
		}
	}
}

func TestSendMailErrors(t *testing.T) {
	m, store, _ := newMailer(t)
	if err := m.SendMail(context.Background(), nil); veil.ErrorCode(err) != veil.EINVALID {
		t.Errorf("SendMail(nil) = %v, want %s", err, veil.EINVALID)
	}
	store.err = errors.New("disk full")
	err := m.SendMail(context.Background(), message("alice@example.com", "Hi", "https://id.example.com/x"))
	if veil.ErrorCode(err) != veil.EINTERNAL || !errors.Is(err, store.err) {
		t.Errorf("SendMail with a failing store = %v, want %s wrapping the store's error", err, veil.EINTERNAL)
	}
}

func TestHandlerJSON(t *testing.T) {
	m, store, _ := newMailer(t)
	h := m.Handler()

	rec := get(t, h, http.MethodGet, "/dev/mail?format=json")
	if rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != "[]" {
		t.Errorf("empty mailbox = %d %q, want 200 []", rec.Code, rec.Body)
	}

	mustSend(t, m,
		message("alice@example.com", "first", "https://id.example.com/1"),
		message("bob@example.com", "second", "https://id.example.com/2"),
		message("carol@example.com", "third", "https://id.example.com/3"))

	tests := []struct {
		target       string
		wantSubjects []string
		wantLimit    int // what the store was asked for
	}{
		{"/dev/mail?format=json", []string{"third", "second", "first"}, devmail.DefaultLimit},
		{"/dev/mail?format=json&limit=2", []string{"third", "second"}, 2},
		{"/dev/mail?format=json&limit=100000", []string{"third", "second", "first"}, devmail.MaxLimit},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			rec := get(t, h, http.MethodGet, tt.target)
			if rec.Code != http.StatusOK {
				t.Fatalf("GET %s = %d %s", tt.target, rec.Code, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type = %q", ct)
			}
			var got []map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			var subjects []string
			for _, mail := range got {
				subjects = append(subjects, mail["subject"].(string))
				for _, key := range []string{"to", "subject", "text", "html", "sent_at"} {
					if _, ok := mail[key]; !ok {
						t.Errorf("mail %v lacks %q", mail, key)
					}
				}
			}
			if !slices.Equal(subjects, tt.wantSubjects) {
				t.Errorf("subjects = %q, want %q", subjects, tt.wantSubjects)
			}
			if store.lastLimit != tt.wantLimit {
				t.Errorf("the store was asked for %d mails, want %d", store.lastLimit, tt.wantLimit)
			}
		})
	}
}

func TestHandlerHTML(t *testing.T) {
	m, _, _ := newMailer(t)
	const link = "https://id.example.com/recover/confirm?token=abc&x=1"
	mustSend(t, m, message("alice@example.com", "older mail", "https://id.example.com/1"))
	evil := message("bob@example.com", "<b>newer</b> mail", link)
	evil.Text += "<script>alert(1)</script> javascript:alert(2)\n"
	evil.HTML = `<p style="color:red">Hi</p><script>alert(3)</script><img src="https://tracker.example/p.gif">`
	mustSend(t, m, evil)

	rec := get(t, m.Handler(), http.MethodGet, "/dev/mail")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /dev/mail = %d %s", rec.Code, rec.Body)
	}
	body := rec.Body.String()
	wantHeaders := map[string]string{
		"Content-Type":            "text/html; charset=utf-8",
		"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'",
		"X-Frame-Options":         "DENY",
		"Referrer-Policy":         "no-referrer",
		"Cache-Control":           "no-store",
		"X-Content-Type-Options":  "nosniff",
	}
	for k, want := range wantHeaders {
		if got := rec.Header().Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	wantIn := []string{
		`<a href="https://id.example.com/recover/confirm?token=abc&amp;x=1">https://id.example.com/recover/confirm?token=abc&amp;x=1</a>`,
		"To bob@example.com",
		"&lt;b&gt;newer&lt;/b&gt; mail",
		"&lt;script&gt;alert(1)&lt;/script&gt; javascript:alert(2)",
		`<iframe sandbox srcdoc="&lt;p style=&#34;color:red&#34;&gt;Hi&lt;/p&gt;&lt;script&gt;alert(3)&lt;/script&gt;`,
	}
	for _, s := range wantIn {
		if !strings.Contains(body, s) {
			t.Errorf("the page lacks %s", s)
		}
	}
	for _, s := range []string{"<script", "<b>newer", `href="javascript:`, `<img src="https://tracker`} {
		if strings.Contains(body, s) {
			t.Errorf("the page holds %q unescaped", s)
		}
	}
	if newer, older := strings.Index(body, "newer"), strings.Index(body, "older mail"); newer < 0 || older < 0 || newer > older {
		t.Errorf("the newer mail is not shown first (at %d, older at %d)", newer, older)
	}
}

func TestHandlerEmptyHTML(t *testing.T) {
	m, _, _ := newMailer(t)
	rec := get(t, m.Handler(), http.MethodGet, "/dev/mail")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "No mail yet.") {
		t.Errorf("empty mailbox = %d, want 200 with \"No mail yet.\":\n%s", rec.Code, rec.Body)
	}
}

func TestHandlerBadRequests(t *testing.T) {
	m, store, _ := newMailer(t)
	tests := []struct {
		method string
		target string
		want   int
	}{
		{http.MethodGet, "/dev/mail?limit=0", http.StatusBadRequest},
		{http.MethodGet, "/dev/mail?limit=-3", http.StatusBadRequest},
		{http.MethodGet, "/dev/mail?limit=ten", http.StatusBadRequest},
		{http.MethodGet, "/dev/mail?format=json&limit=1e3", http.StatusBadRequest},
		{http.MethodGet, "/dev/mail?format=xml", http.StatusBadRequest},
		{http.MethodPost, "/dev/mail", http.StatusMethodNotAllowed},
		{http.MethodDelete, "/dev/mail?format=json", http.StatusMethodNotAllowed},
		{http.MethodGet, "/dev/mail/1", http.StatusNotFound},
		{http.MethodHead, "/dev/mail", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			rec := get(t, m.Handler(), tt.method, tt.target)
			if rec.Code != tt.want {
				t.Errorf("%s %s = %d, want %d", tt.method, tt.target, rec.Code, tt.want)
			}
			if tt.want == http.StatusMethodNotAllowed && rec.Header().Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow = %q, want GET, HEAD", rec.Header().Get("Allow"))
			}
		})
	}

	store.err = errors.New("database is locked")
	rec := get(t, m.Handler(), http.MethodGet, "/dev/mail?format=json")
	if rec.Code != http.StatusInternalServerError || strings.Contains(rec.Body.String(), "locked") {
		t.Errorf("a failing store = %d %q, want 500 without the cause", rec.Code, rec.Body)
	}
}

// TestHandlerOverHTTP runs the mailbox behind a real server, as a developer
// opens it.
func TestHandlerOverHTTP(t *testing.T) {
	m, _, _ := newMailer(t)
	mux := http.NewServeMux()
	mux.Handle("GET "+devmail.Path, m.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	mustSend(t, m, message("alice@example.com", "hello", "https://id.example.com/1"))

	resp, err := srv.Client().Get(srv.URL + "/dev/mail?format=json&limit=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"to":"alice@example.com"`) {
		t.Errorf("GET = %d %s", resp.StatusCode, body)
	}
}
