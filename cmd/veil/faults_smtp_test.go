package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/veil-id/veil/smtp/smtptest"
	"github.com/veil-id/veil/veiltest/faultproxy"
)

// mailFaultAnswerBound is the longest a recovery request may take while
// the mail server fails: half of smtp.timeout (2s in smtpEnv), so that a
// send on the request path, which would wait that long, fails the test.
const mailFaultAnswerBound = time.Second

// TestFaultsSMTPOutbox is the mail server's row of the fault table: with
// the SMTP server behind a fault proxy that refuses, blackholes or
// freezes, recovery requests for existing and unknown addresses, sent at
// once, still answer the one 202 within the floor's time, byte for byte the
// same (the outbox keeps the mail off the request path), /readyz stays
// 200, nothing is delivered while the fault lasts, and once it heals each
// job is retried and delivered exactly once, without a restart.
func TestFaultsSMTPOutbox(t *testing.T) {
	sink := smtptest.NewServer(t)
	p := faultproxy.Start(t, sink.Addr())
	vars := map[string]string{"VEIL_SERVER_REQUEST_TIMEOUT": faultRequestTimeout.String()}
	for _, kv := range smtpEnv(proxyPort(t, p)) {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	for k, v := range lenientThrottle {
		vars[k] = v
	}
	env, dir := testEnv(vars), t.TempDir()
	var existing [][]string
	for _, mode := range faultModes {
		var emails []string
		for i := range faultRounds {
			emails = append(emails, fmt.Sprintf("smtp-%v-%d@example.com", mode, i))
		}
		addUsers(t, dir, emails...)
		existing = append(existing, emails)
	}
	v := MustRunMain(t, env, dir)
	for m, mode := range faultModes {
		t.Run(mode.String(), func(t *testing.T) {
			p.Set(mode)
			recoverOf := func(email string) func() *http.Request {
				return func() *http.Request {
					return newRequest(t, "POST", v.url+"/api/recover", "application/json", `{"email":"`+email+`"}`)
				}
			}
			// burstRequests sends each at once; one of each kind a wave.
			var answers []publicAnswer
			var took []time.Duration
			for i, email := range existing[m] {
				a, d := burstRequests(t, 1, 1, recoverOf(email), recoverOf(fmt.Sprintf("nobody-%v-%d@example.com", mode, i)))
				answers, took = append(answers, a...), append(took, d...)
			}
			for i, a := range answers {
				if a.status != http.StatusAccepted || took[i] > mailFaultAnswerBound {
					t.Errorf("recovery with the mail server failing (%v): %d in %v, want 202 within %v:\n%s", mode, a.status, took[i].Round(time.Millisecond), mailFaultAnswerBound, a)
				}
			}
			identical := allSame(answers)
			if !identical {
				t.Errorf("recovery answers differ with the mail server failing:\n%s\n---\n%s", answers[0], answers[1])
			}
			ready, _ := readyz(t, v.url)
			if ready != http.StatusOK {
				t.Errorf("public /readyz with only the mail server failing: %d, want 200", ready)
			}
			// Long enough for a send to fail at least once: past one
			// smtp.timeout (2s) and a few retry backoffs.
			time.Sleep(2500 * time.Millisecond)
			for _, email := range existing[m] {
				if n := deliveries(sink, email); n != 0 {
					t.Errorf("%s: %d deliveries through a mail server that is %v", email, n, mode)
				}
			}
			p.Heal()
			healed := time.Now()
			for _, email := range existing[m] {
				untilDelivered(t, sink, email, 30*time.Second)
			}
			recovered := time.Since(healed)
			// A job sent twice would show within a few retry backoffs.
			time.Sleep(time.Second)
			counts := make([]string, len(existing[m]))
			for i, email := range existing[m] {
				n := deliveries(sink, email)
				counts[i] = fmt.Sprint(n)
				if n != 1 {
					t.Errorf("%s: delivered %d times after the mail server healed, want once", email, n)
				}
			}
			t.Logf("| smtp (outbox) | %v | %d/%d | %v/%v | %s | %d | all %d mails %v after heal, deliveries %s |", mode,
				answers[0].status, answers[1].status, medianDuration(evenOdd(took, 0)).Round(time.Millisecond), medianDuration(evenOdd(took, 1)).Round(time.Millisecond),
				yesNo(identical), ready, len(existing[m]), recovered.Round(time.Millisecond), strings.Join(counts, ","))
		})
	}
}

// proxyPort is the port of p's address.
func proxyPort(t *testing.T, p *faultproxy.Proxy) int {
	t.Helper()
	var port int
	if _, err := fmt.Sscanf(p.Addr()[strings.LastIndex(p.Addr(), ":")+1:], "%d", &port); err != nil {
		t.Fatal(err)
	}
	return port
}

// evenOdd returns the durations at even (from 0) or odd (from 1) indexes:
// the existing or the unknown of answers that take turns.
func evenOdd(ds []time.Duration, from int) []time.Duration {
	var out []time.Duration
	for i := from; i < len(ds); i += 2 {
		out = append(out, ds[i])
	}
	return out
}

// untilDelivered waits until the sink has a message for to.
func untilDelivered(t *testing.T, sink *smtptest.Server, to string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for deliveries(sink, to) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no mail to %s within %v of the mail server healing", to, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
