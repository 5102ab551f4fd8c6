package main

import (
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/veil-id/veil/smtp/smtptest"
)

// addUsers creates accounts in dir with the CLI.
func addUsers(tb testing.TB, dir string, emails ...string) {
	tb.Helper()
	for _, e := range emails {
		if code, _, errOut := runMain(tb, testEnv(nil), "correct horse battery staple\n", "user", "add", "--data-dir", dir, e); code != 0 {
			tb.Fatal(errOut)
		}
	}
}

// requestReset asks for a reset link and wants the one answer.
func requestReset(tb testing.TB, url, email string) {
	tb.Helper()
	if res, body := httpDo(tb, "POST", url+"/api/recover", "application/json", `{"email":"`+email+`"}`, ""); res.StatusCode != 202 {
		tb.Fatalf("recover %s: %d %s", email, res.StatusCode, body)
	}
}

// waitStalled waits until the sink holds a send in the middle.
func waitStalled(tb testing.TB, stalled <-chan struct{}) {
	tb.Helper()
	select {
	case <-stalled:
	case <-time.After(30 * time.Second):
		tb.Fatal("no send reached the mail server within 30s")
	}
}

// terminate sends SIGTERM and wants a clean exit within limit.
func terminate(tb testing.TB, cmd *exec.Cmd, limit time.Duration) time.Duration {
	tb.Helper()
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		tb.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			tb.Fatalf("veil serve after SIGTERM: %v, want exit status 0", err)
		}
	case <-time.After(limit):
		tb.Fatalf("veil serve did not exit within %v of SIGTERM", limit)
	}
	return time.Since(start)
}

// outboxList runs `veil outbox list --state state` on dir and returns its
// rows, the header left off.
func outboxList(tb testing.TB, dir, state string) []string {
	tb.Helper()
	code, out, errOut := runMain(tb, testEnv(nil), "", "outbox", "list", "--data-dir", dir, "--state", state)
	if code != 0 {
		tb.Fatalf("veil outbox list --state %s: %s", state, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return lines[1:]
}

// deliveries counts the messages the sink accepted for to.
func deliveries(sink *smtptest.Server, to string) int {
	n := 0
	for _, m := range sink.Messages() {
		if len(m.To) == 1 && m.To[0] == to {
			n++
		}
	}
	return n
}

// TestSIGTERMLetsSendFinish: SIGTERM while the mail server is slow to
// accept a message lets the send finish and records it as done, so the
// restarted veil does not send it again: one delivery.
func TestSIGTERMLetsSendFinish(t *testing.T) {
	dir := t.TempDir()
	addUsers(t, dir, "term@example.com", "marker@example.com")
	sink := smtptest.NewServer(t)
	stalled := sink.Stall(smtptest.StallAfterData, 1, 2*time.Second)
	env := smtpEnv(sink.Port(), "VEIL_SMTP_TIMEOUT=20s", "VEIL_SERVER_SHUTDOWN_TIMEOUT=15s")
	cmd, url := startVeilProcess(t, env, dir)
	requestReset(t, url, "term@example.com")
	waitStalled(t, stalled)
	took := terminate(t, cmd, 30*time.Second)
	t.Logf("veil exited %v after SIGTERM, the send having been held 2s", took.Round(time.Millisecond))
	if rows := outboxList(t, dir, "pending"); len(rows) != 0 {
		t.Errorf("after SIGTERM the outbox holds pending or leased jobs %q; the send that finished should be done", rows)
	}

	// The restarted veil sends the marker; a leftover job, due before it,
	// would have gone first.
	_, url = startVeilProcess(t, env, dir)
	requestReset(t, url, "marker@example.com")
	sink.WaitFor(t, 2, 30*time.Second)
	if n := deliveries(sink, "term@example.com"); n != 1 {
		t.Errorf("the reset mail was delivered %d times across SIGTERM and a restart, want 1", n)
	}
	t.Logf("deliveries after SIGTERM mid-send and a restart: %d", deliveries(sink, "term@example.com"))
}

// TestSIGTERMGivesLeaseBack: SIGTERM while the mail server hangs before
// taking the message cuts the send off after the shutdown timeout and
// gives its lease back, so the restarted veil sends it at once — not when
// the two-minute lease runs out — and it is delivered once.
func TestSIGTERMGivesLeaseBack(t *testing.T) {
	dir := t.TempDir()
	addUsers(t, dir, "term@example.com")
	sink := smtptest.NewServer(t)
	stalled := sink.Stall(smtptest.StallAtRecipient, 1, time.Hour)
	env := smtpEnv(sink.Port(), "VEIL_SMTP_TIMEOUT=60s", "VEIL_SERVER_SHUTDOWN_TIMEOUT=1s", "VEIL_MAIL_LEASE=2m")
	cmd, url := startVeilProcess(t, env, dir)
	requestReset(t, url, "term@example.com")
	waitStalled(t, stalled)
	took := terminate(t, cmd, 20*time.Second)
	t.Logf("veil exited %v after SIGTERM (shutdown timeout 1s)", took.Round(time.Millisecond))
	rows := outboxList(t, dir, "pending")
	if len(rows) != 1 || !strings.Contains(rows[0], " pending ") || strings.Contains(rows[0], " leased ") {
		t.Fatalf("after SIGTERM the outbox lists %q; want the job pending, its lease given back", rows)
	}

	start := time.Now()
	startVeilProcess(t, env, dir)
	sink.WaitFor(t, 1, 60*time.Second) // well short of the lease
	t.Logf("the mail arrived %v after the restart", time.Since(start).Round(time.Millisecond))
	if n := deliveries(sink, "term@example.com"); n != 1 {
		t.Errorf("the reset mail was delivered %d times, want 1", n)
	}
	t.Logf("deliveries after SIGTERM mid-send, the lease given back, and a restart: %d", deliveries(sink, "term@example.com"))
	if rows := waitOutbox(t, dir, "done", 1); strings.Contains(rows[0], "term@example.com") {
		t.Errorf("the done job shows its address: %q", rows)
	}
}

// waitOutbox waits until `veil outbox list --state state` lists n jobs: the
// worker records a job done a moment after the mail server has it.
func waitOutbox(tb testing.TB, dir, state string, n int) []string {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		rows := outboxList(tb, dir, state)
		if len(rows) == n {
			return rows
		}
		if time.Now().After(deadline) {
			tb.Fatalf("outbox list --state %s: %q; want %d jobs within 20s", state, rows, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
