package main

import (
	"strings"
	"testing"
	"time"

	"github.com/veil-id/veil"
)

// TestOutboxListShowsLeasesNotAddresses: `veil outbox list` shows a job a
// worker holds as leased, with the lease's end, and a recovery job by its
// address's keyed hash, never the address; a dead job whose address was
// erased is not retried.
func TestOutboxListShowsLeasesNotAddresses(t *testing.T) {
	dir, db := migratedDB(t)
	now := time.Now()
	for _, j := range []*veil.Job{
		{Kind: veil.JobRecover, Subject: "held@example.com", SubjectHash: "abc123", CreatedAt: now, NextAttemptAt: now},
		{Kind: veil.JobRecover, Subject: "waiting@example.com", SubjectHash: "def456", CreatedAt: now, NextAttemptAt: now.Add(time.Hour)},
		{Kind: veil.JobRecover, Subject: "gone@example.com", SubjectHash: "0badf00d", CreatedAt: now, NextAttemptAt: now.Add(time.Hour)},
	} {
		if err := db.EnqueueJob(t.Context(), j); err != nil {
			t.Fatal(err)
		}
	}
	held, err := db.ClaimJob(t.Context(), now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.FailJob(t.Context(), held.ID+2, "550", now, true); err != nil {
		t.Fatal(err)
	}

	pending := outboxList(t, dir, "pending")
	leased := outboxList(t, dir, "leased")
	all := strings.Join(append(append(pending, leased...), outboxList(t, dir, "dead")...), "\n")
	if len(pending) != 2 || len(leased) != 1 {
		t.Fatalf("pending %q, leased %q; want two pending, one of them leased", pending, leased)
	}
	if !strings.Contains(leased[0], " leased ") || !strings.Contains(leased[0], fmtTime(held.LeasedUntil)) || !strings.Contains(leased[0], "hash:abc123") {
		t.Errorf("the leased job is listed as %q; want state leased, its lease's end %s, its hash", leased[0], fmtTime(held.LeasedUntil))
	}
	if strings.Contains(all, "@example.com") {
		t.Errorf("outbox list shows addresses:\n%s", all)
	}
	code, _, errOut := runMain(t, testEnv(nil), "", "outbox", "retry", "--data-dir", dir, "3")
	if code == 0 || !strings.Contains(errOut, "erased") {
		t.Errorf("retry of a job whose address was erased: exit %d, %q; want a refusal that says why", code, errOut)
	}
	if code, out, _ := runMain(t, testEnv(nil), "", "outbox", "retry", "--data-dir", dir, "--all"); code != 0 || !strings.Contains(out, "0 job(s) queued again") || !strings.Contains(out, "1 dead job(s) left alone") {
		t.Errorf("retry --all: exit %d, %q", code, out)
	}
}
