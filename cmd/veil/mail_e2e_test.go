package main

import (
	"bufio"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/veil-id/veil/smtp/smtptest"
)

// buildVeil builds the veil binary once per test run, for tests that must
// kill a real process.
var buildVeil = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "veil-bin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "veil")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", &exec.ExitError{Stderr: out}
	}
	return bin, nil
})

var listeningRE = regexp.MustCompile(`veil is listening on (http://\S+)`)

// startVeilProcess runs `veil serve` as its own process and returns its URL.
func startVeilProcess(tb testing.TB, env []string, dataDir string) (*exec.Cmd, string) {
	tb.Helper()
	bin, err := buildVeil()
	if err != nil {
		tb.Fatalf("building veil: %v", err)
	}
	cmd := exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--data-dir", dataDir)
	cmd.Env = append(os.Environ(), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := listeningRE.FindStringSubmatch(sc.Text()); m != nil {
				urlc <- m[1]
			}
		}
	}()
	select {
	case u := <-urlc:
		return cmd, u
	case <-time.After(30 * time.Second):
		tb.Fatal("veil serve did not start within 30s")
		return nil, ""
	}
}

// freePort returns a loopback port nothing listens on (for a mail server
// that is down).
func freePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

func smtpEnv(port int, extra ...string) []string {
	return append([]string{
		"VEIL_PASSWORD_MEMORY_KIB=1024", "VEIL_PASSWORD_ITERATIONS=1", "VEIL_LOGIN_FLOOR=20ms",
		"VEIL_MAIL_DRIVER=smtp", "VEIL_SMTP_HOST=127.0.0.1", "VEIL_SMTP_PORT=" + strconv.Itoa(port),
		"VEIL_SMTP_TLS=none", "VEIL_SMTP_TIMEOUT=2s", "VEIL_MAIL_FROM=veil <no-reply@example.com>",
		"VEIL_MAIL_RETRY_BACKOFF=200ms",
	}, extra...)
}

// TestOutboxSurvivesSIGKILL answers a recovery request while the mail
// server hangs, kills veil with SIGKILL in the middle of the send, starts
// it again with a mail server that works, and sees the mail arrive once the
// dead process's lease has run out: a 202 always has its mail. The kill
// always lands while the job is leased (the send is held at the server),
// and the lease is short, so the wait does not depend on timing luck.
func TestOutboxSurvivesSIGKILL(t *testing.T) {
	dir := t.TempDir()
	addUsers(t, dir, "kill@example.com")
	hung := smtptest.NewServer(t)
	stalled := hung.Stall(smtptest.StallAtRecipient, 1000, time.Hour)
	const lease = 3 * time.Second
	cmd, url := startVeilProcess(t, smtpEnv(hung.Port(), "VEIL_MAIL_LEASE="+lease.String()), dir)
	requestReset(t, url, "KILL@example.com")
	waitStalled(t, stalled)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	sink := smtptest.NewServer(t)
	start := time.Now()
	startVeilProcess(t, smtpEnv(sink.Port(), "VEIL_MAIL_LEASE="+lease.String()), dir)
	msgs := sink.WaitFor(t, 1, 20*lease)
	t.Logf("the mail arrived %v after the restart (lease %v)", time.Since(start).Round(time.Millisecond), lease)
	if !slices.Equal(msgs[0].To, []string{"kill@example.com"}) || len(msgs[0].Links()) == 0 || !strings.Contains(msgs[0].Links()[0], "/recover/confirm?token=") {
		t.Errorf("after the restart the sink got %+v; want a reset link to the stored address", msgs[0])
	}
	if n := len(hung.Messages()); n != 0 {
		t.Errorf("the hung mail server accepted %d messages", n)
	}
}

// TestMailServerFailsThenRecovers: a mail server that refuses twice never
// changes an answer, and the mail arrives once it recovers.
func TestMailServerFailsThenRecovers(t *testing.T) {
	dir := t.TempDir()
	sink := smtptest.NewServer(t, smtptest.WithFailures(2))
	_, url := startVeilProcess(t, smtpEnv(sink.Port()), dir)
	res, body := httpDo(t, "POST", url+"/api/signup", "application/json", `{"email":"flaky@example.com"}`, "")
	if res.StatusCode != 202 || !strings.Contains(body, "check_email") {
		t.Fatalf("sign-up with a failing mail server: %d %s", res.StatusCode, body)
	}
	msgs := sink.WaitFor(t, 1, 20*time.Second)
	if len(msgs[0].Links()) == 0 || !strings.Contains(msgs[0].Links()[0], "/signup/confirm?token=") {
		t.Errorf("the mail after two failures: %+v", msgs[0])
	}
}

// BenchmarkMailLatency measures the time from a sign-up's 202 to its mail
// at a real SMTP sink, through the outbox and the worker.
func BenchmarkMailLatency(b *testing.B) {
	dir := b.TempDir()
	sink := smtptest.NewServer(b)
	env := map[string]string{}
	for k, v := range lenientThrottle { // one client signs up many times
		env[k] = v
	}
	for _, kv := range smtpEnv(sink.Port()) {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	v := MustRunMain(b, testEnv(env), dir)
	var fromRequest, from202 []time.Duration
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		res, _ := httpDo(b, "POST", v.url+"/api/signup", "application/json", `{"email":"bench`+strconv.Itoa(i)+`@example.com"}`, "")
		if res.StatusCode != 202 {
			b.Fatalf("status %d", res.StatusCode)
		}
		answered := time.Since(start)
		sink.WaitFor(b, i+1, 10*time.Second)
		total := time.Since(start)
		// The worker starts as soon as the job is committed, so the mail
		// often arrives while the time floor still holds the 202 back.
		fromRequest = append(fromRequest, total)
		from202 = append(from202, max(0, total-answered))
	}
	b.ReportMetric(medianMillis(fromRequest), "ms-request-to-mail-median")
	b.ReportMetric(medianMillis(from202), "ms-202-to-mail-median")
}

func medianMillis(d []time.Duration) float64 {
	slices.Sort(d)
	return float64(d[len(d)/2].Microseconds()) / 1000
}
