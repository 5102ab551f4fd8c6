package veiltest

import (
	"testing"
	"time"

	"github.com/veil-id/veil"
)

// testOutboxKeepsLang: a job keeps the language of the request that queued
// it through claiming and listing, so that its mail is written in it; a
// job queued without one has none.
func testOutboxKeepsLang(t *testing.T, open func(tb testing.TB) veil.Store) {
	t.Parallel()
	st := open(t)
	ctx := t.Context()
	for i, lang := range []string{"de", ""} {
		at := t0.Add(time.Duration(i) * time.Second)
		j := &veil.Job{Kind: veil.JobPasswordChanged, Subject: "acct1", Lang: lang, CreatedAt: at, NextAttemptAt: at}
		if err := st.EnqueueJob(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	listed, err := st.ListJobs(ctx, veil.JobPending, 10)
	if err != nil || len(listed) != 2 || listed[0].Lang != "" || listed[1].Lang != "de" {
		t.Fatalf("ListJobs = %+v, %v; want the newest without a language, the oldest in de", listed, err)
	}
	for _, want := range []string{"de", ""} {
		j, err := st.ClaimJob(ctx, t0.Add(time.Minute), time.Minute)
		if err != nil || j.Lang != want {
			t.Fatalf("ClaimJob = %+v, %v; want Lang %q", j, err, want)
		}
	}
}
