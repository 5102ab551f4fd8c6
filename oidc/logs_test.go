package oidc_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/veil-id/veil/oidc"
	"github.com/veil-id/veil/oidc/oidctest"
	"github.com/veil-id/veil/sqlite/sqlitetest"
	"golang.org/x/oauth2"
)

// syncBuffer is a log destination several requests write to.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// routeLibraryLogs installs RouteLibraryLogs for one test, with the
// process's default logger back afterwards.
func routeLibraryLogs(t *testing.T, fallback *slog.Logger) {
	prev := slog.Default()
	t.Cleanup(func() { slog.SetDefault(prev) })
	oidc.RouteLibraryLogs(fallback)
}

// TestLibraryLogsAreTheProviders: what zitadel/oidc logs about a request
// goes to the provider's logger, at Debug, without the client's state or
// code; the fallback logger gets none of it, and records of other code
// reach the fallback as they were.
func TestLibraryLogsAreTheProviders(t *testing.T) {
	var mine, fallback syncBuffer
	routeLibraryLogs(t, slog.New(slog.NewTextHandler(&fallback, &slog.HandlerOptions{Level: slog.LevelDebug})))
	s := oidctest.Start(t, sqlitetest.MustOpen(t), oidctest.Options{
		Logger: slog.New(slog.NewTextHandler(&mine, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	s.AddAccount(t, adaEmail, "Ada", adaPass)
	c := &oidc.Client{FirstParty: true, RedirectURIs: []string{redirectURI}}
	rp := newRelyingParty(t, s.Issuer, c.ID, s.AddClient(t, c))

	// prompt=none without a session: the library logs the error it sends
	// back, state and all.
	f := &flow{}
	back := oidctest.NewBrowser(t).Get(rp.authURL(f, oauth2.SetAuthURLParam("prompt", "none"))).RedirectedTo(t)
	if back.Query().Get("error") != "login_required" {
		t.Fatalf("prompt=none without a session: %s", back)
	}
	// A code nobody issued: the library logs the failed exchange.
	const badCode = "not-a-code-0123456789abcdef"
	if _, err := rp.conf.Exchange(context.Background(), badCode, oauth2.VerifierOption(oauth2.GenerateVerifier())); err == nil {
		t.Fatal("a made-up code was exchanged")
	}
	slog.Info("a record of other code", "k", "v")

	got := mine.String()
	if !strings.Contains(got, "level=DEBUG msg=\"oidc library: auth request\"") || !strings.Contains(got, "login_required") {
		t.Errorf("the provider's log lacks the library's record of login_required at Debug:\n%s", got)
	}
	if !strings.Contains(got, "oidc library: request error") {
		t.Errorf("the provider's log lacks the library's record of the failed exchange:\n%s", got)
	}
	for _, secret := range []string{f.state, badCode, "state="} {
		if strings.Contains(got, secret) || strings.Contains(fallback.String(), secret) {
			t.Errorf("%q was logged:\n%s\n%s", secret, got, fallback.String())
		}
	}
	if strings.Contains(fallback.String(), "oidc library") {
		t.Errorf("the library's records reached the fallback logger:\n%s", fallback.String())
	}
	if !strings.Contains(fallback.String(), `level=INFO msg="a record of other code" k=v`) {
		t.Errorf("a record of other code did not reach the fallback as it was:\n%s", fallback.String())
	}
}

// TestLibraryLogsAtInfo: a provider logging at Info sees nothing of a
// client's mistakes.
func TestLibraryLogsAtInfo(t *testing.T) {
	var mine syncBuffer
	routeLibraryLogs(t, slog.New(slog.NewTextHandler(io.Discard, nil)))
	s := oidctest.Start(t, sqlitetest.MustOpen(t), oidctest.Options{Logger: slog.New(slog.NewTextHandler(&mine, nil))})
	c := &oidc.Client{FirstParty: true, RedirectURIs: []string{redirectURI}}
	rp := newRelyingParty(t, s.Issuer, c.ID, s.AddClient(t, c))
	oidctest.NewBrowser(t).Get(rp.authURL(&flow{}, oauth2.SetAuthURLParam("prompt", "none")))
	rp.conf.Exchange(context.Background(), "made-up", oauth2.VerifierOption(oauth2.GenerateVerifier()))
	if got := mine.String(); got != "" {
		t.Errorf("at Info, a client's mistakes were logged:\n%s", got)
	}
}
