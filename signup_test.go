package veil_test

import (
	"context"
	"strings"
	"testing"

	"github.com/veil-id/veil"
)

// TestSignUpHashesNothingUntilALiveLink: sign-up takes no password, so its
// request path hashes nothing; a confirmation hashes only for a live
// token — well-formed garbage, a refused password or a spent link cost no
// argon2id — and then exactly once.
func TestSignUpHashesNothingUntilALiveLink(t *testing.T) {
	ctx := context.Background()
	s, _, h := mustOpenMailService(t, nil)
	mb := &keepingMailer{}
	w := s.NewWorker(veil.WorkerConfig{Renderer: linkRenderer{}, Mailer: mb})
	hashes := func() int64 { return h.hashes.Load() }
	start := hashes() // the decoy
	if err := s.SignUp(ctx, veil.SignUpRequest{Email: "gus@example.com"}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if len(mb.sent) != 1 {
		t.Fatalf("%d mails, want 1", len(mb.sent))
	}
	token := mb.sent[0].Text[strings.LastIndex(mb.sent[0].Text, "=")+1:]
	for _, tt := range []struct {
		req  veil.ConfirmSignUpRequest
		want string
	}{
		{veil.ConfirmSignUpRequest{Token: strings.Repeat("A", 43), Password: "a long enough passphrase"}, veil.EINVALIDTOKEN}, // well-formed, unknown
		{veil.ConfirmSignUpRequest{Token: token, Password: "short"}, veil.EINVALID},
		{veil.ConfirmSignUpRequest{Token: token, Password: "a long enough passphrase", DisplayName: "\u202e"}, veil.EINVALID},
	} {
		if _, err := s.ConfirmSignUp(ctx, tt.req); veil.ErrorCode(err) != tt.want {
			t.Fatalf("ConfirmSignUp(%+v) = %v, want %s", tt.req, err, tt.want)
		}
	}
	if n := hashes() - start; n != 0 {
		t.Errorf("sign-up and refused confirmations hashed %d passwords, want none", n)
	}
	res, err := s.ConfirmSignUp(ctx, veil.ConfirmSignUpRequest{Token: token, Password: "a long enough passphrase", DisplayName: "Gus"})
	if err != nil || res.Account.Email != "gus@example.com" || res.Account.DisplayName != "Gus" || res.Token == "" {
		t.Fatalf("ConfirmSignUp = %+v, %v", res, err)
	}
	if _, err := s.ConfirmSignUp(ctx, veil.ConfirmSignUpRequest{Token: token, Password: "a long enough passphrase"}); veil.ErrorCode(err) != veil.EINVALIDTOKEN {
		t.Errorf("the spent link: %v, want the invalid-token answer", err)
	}
	if n := hashes() - start; n != 1 {
		t.Errorf("one confirmation hashed %d passwords, want 1", n)
	}
}

// keepingMailer keeps what it is given.
type keepingMailer struct{ sent []*veil.Message }

func (m *keepingMailer) SendMail(_ context.Context, msg *veil.Message) error {
	m.sent = append(m.sent, msg)
	return nil
}

// linkRenderer renders a mail as its link alone.
type linkRenderer struct{}

func (linkRenderer) RenderMail(d *veil.MailData) (*veil.Message, error) {
	return &veil.Message{To: d.To, Subject: d.Kind, Text: d.Link}, nil
}
