package veiltest

import (
	"testing"
	"time"

	"github.com/veil-id/veil"
)

// testOutboxLeases: a claimed job shows its lease, and a lease given back
// makes the job due at once with no attempt counted — but only the lease
// it was claimed with: a worker whose lease ran out and passed to another
// cannot end the other's.
func testOutboxLeases(t *testing.T, open func(tb testing.TB) veil.Store) {
	t.Parallel()
	st := open(t)
	ctx := t.Context()
	j := &veil.Job{Kind: veil.JobPasswordChanged, Subject: "acct1", CreatedAt: t0, NextAttemptAt: t0}
	if err := st.EnqueueJob(ctx, j); err != nil {
		t.Fatal(err)
	}
	claimed, err := st.ClaimJob(ctx, t0, time.Minute)
	if err != nil || !sameTime(claimed.LeasedUntil, t0.Add(time.Minute)) || !claimed.LeasedAt(t0) {
		t.Fatalf("ClaimJob = %+v, %v; want leased until %v", claimed, err, micro(t0.Add(time.Minute)))
	}
	listed, err := st.ListJobs(ctx, veil.JobPending, 10)
	if err != nil || len(listed) != 1 || !sameTime(listed[0].LeasedUntil, t0.Add(time.Minute)) || !listed[0].LeasedAt(t0.Add(time.Second)) {
		t.Fatalf("ListJobs(pending) of a leased job = %+v, %v; want it leased", listed, err)
	}
	if err := st.ReleaseJob(ctx, claimed); err != nil {
		t.Fatal(err)
	}
	again, err := st.ClaimJob(ctx, t0.Add(time.Second), time.Minute)
	if err != nil || again.ID != j.ID || again.Attempts != 0 {
		t.Fatalf("ClaimJob after ReleaseJob = %+v, %v; want job %d at once, no attempt counted", again, err, j.ID)
	}
	// claimed's lease is over; again holds the job now.
	if err := st.ReleaseJob(ctx, claimed); err != nil {
		t.Fatal(err)
	}
	_, err = st.ClaimJob(ctx, t0.Add(2*time.Second), time.Minute)
	wantCode(t, "ClaimJob after a stale ReleaseJob", err, veil.ENOTFOUND)
	if err := st.CompleteJob(ctx, again.ID); err != nil {
		t.Fatal(err)
	}
	done, err := st.ListJobs(ctx, veil.JobDone, 10)
	if err != nil || len(done) != 1 || !done[0].LeasedUntil.IsZero() || done[0].LeasedAt(t0) {
		t.Errorf("ListJobs(done) = %+v, %v; want no lease", done, err)
	}
}

// testOutboxErasesAddresses: a job whose subject is an address keeps it
// while it is pending, and only its hash once it is done or dead; other
// subjects (IDs) stay. A dead job whose address is gone cannot be retried.
func testOutboxErasesAddresses(t *testing.T, open func(tb testing.TB) veil.Store) {
	t.Parallel()
	st := open(t)
	ctx := t.Context()
	enqueue := func(kind, subject, hash string) int64 {
		t.Helper()
		j := &veil.Job{Kind: kind, Subject: subject, SubjectHash: hash, CreatedAt: t0, NextAttemptAt: t0}
		if err := st.EnqueueJob(ctx, j); err != nil {
			t.Fatal(err)
		}
		return j.ID
	}
	sent := enqueue(veil.JobRecover, "sent@example.com", "hash-sent")
	dead := enqueue(veil.JobRecover, "dead@example.com", "hash-dead")
	retrying := enqueue(veil.JobRecover, "retry@example.com", "hash-retry")
	notice := enqueue(veil.JobPasswordChanged, "acct-dead", "")
	for range 4 {
		if _, err := st.ClaimJob(ctx, t0, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	pending, err := st.ListJobs(ctx, veil.JobPending, 10)
	if err != nil || len(pending) != 4 {
		t.Fatalf("ListJobs(pending) = %v, %v", pending, err)
	}
	for _, j := range pending {
		if j.Subject == "" || j.Erased() {
			t.Errorf("pending job %d lost its subject: %+v", j.ID, j)
		}
	}
	if err := st.CompleteJob(ctx, sent); err != nil {
		t.Fatal(err)
	}
	if err := st.FailJob(ctx, dead, "gave up", t0, true); err != nil {
		t.Fatal(err)
	}
	if err := st.FailJob(ctx, retrying, "451", t0.Add(time.Hour), false); err != nil {
		t.Fatal(err)
	}
	if err := st.FailJob(ctx, notice, "gave up", t0, true); err != nil {
		t.Fatal(err)
	}
	want := map[int64]struct{ subject, hash, state string }{
		sent:     {"", "hash-sent", veil.JobDone},
		dead:     {"", "hash-dead", veil.JobDead},
		retrying: {"retry@example.com", "hash-retry", veil.JobPending},
		notice:   {"acct-dead", "", veil.JobDead},
	}
	for _, state := range []string{veil.JobPending, veil.JobDone, veil.JobDead} {
		jobs, err := st.ListJobs(ctx, state, 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range jobs {
			w := want[j.ID]
			if j.Subject != w.subject || j.SubjectHash != w.hash || j.State != w.state {
				t.Errorf("job %d: subject %q, hash %q, state %s; want %q, %q, %s", j.ID, j.Subject, j.SubjectHash, j.State, w.subject, w.hash, w.state)
			}
			delete(want, j.ID)
		}
	}
	if len(want) != 0 {
		t.Errorf("jobs missing from ListJobs: %v", want)
	}
	wantCode(t, "RetryJob(a dead job whose address was erased)", st.RetryJob(ctx, dead, t0), veil.ECONFLICT)
	if jobs, err := st.ListJobs(ctx, veil.JobDead, 10); err != nil || len(jobs) != 2 {
		t.Errorf("after a refused RetryJob, ListJobs(dead) = %v, %v; want both dead jobs still dead", jobs, err)
	}
	if err := st.RetryJob(ctx, notice, t0); err != nil {
		t.Errorf("RetryJob(a dead job with an ID subject) = %v", err)
	}
}
