package smtptest_test

import (
	"net/smtp"
	"testing"
	"time"

	"github.com/veil-id/veil/smtp/smtptest"
)

func sendOne(s *smtptest.Server) error {
	return smtp.SendMail(s.Addr(), nil, "from@example.com", []string{"to@example.com"}, []byte("Subject: hi\r\n\r\nhello\r\n"))
}

// TestStall: a stall after the data holds the answer and keeps the
// message; a stall at RCPT holds the client before it sends any; both
// signal when they begin and end after their time.
func TestStall(t *testing.T) {
	for _, stage := range []smtptest.Stage{smtptest.StallAfterData, smtptest.StallAtRecipient} {
		s := smtptest.NewServer(t)
		started := s.Stall(stage, 1, 300*time.Millisecond)
		begin := time.Now()
		done := make(chan error, 1)
		go func() { done <- sendOne(s) }()
		select {
		case <-started:
		case <-time.After(10 * time.Second):
			t.Fatalf("stage %d: the stall did not begin", stage)
		}
		if n := len(s.Messages()); n != 0 {
			t.Errorf("stage %d: %d messages kept while stalled", stage, n)
		}
		if err := <-done; err != nil {
			t.Fatalf("stage %d: SendMail: %v", stage, err)
		}
		if took := time.Since(begin); took < 300*time.Millisecond {
			t.Errorf("stage %d: the send took %v, want at least the 300ms stall", stage, took)
		}
		if n := len(s.Messages()); n != 1 {
			t.Errorf("stage %d: %d messages after the stall, want 1", stage, n)
		}
		if err := sendOne(s); err != nil || len(s.Messages()) != 2 {
			t.Errorf("stage %d: the next send: %v, %d messages; want it through at once", stage, err, len(s.Messages()))
		}
	}
}
