package throttle_test

import (
	"context"
	"testing"

	"github.com/veil-id/veil"
)

// TestReleasedIsNeitherAFailureNorAFault settles attempts as released (a
// right password awaiting its second factor, passkey options): never
// counted, never a device cookie, and on the released counter, not on
// the one that reads as veil's faults.
func TestReleasedIsNeitherAFailureNorAFault(t *testing.T) {
	th, _ := MustOpenThrottle(t, testPolicy())
	a := veil.Attempt{Action: veil.ActionLogin, Subject: "subject", Addr: "192.0.2.1"}
	const n = 10 // more than the subject's BlockAfter of 4
	for i := range n {
		adm, err := th.Check(context.Background(), &a)
		if err != nil {
			t.Fatalf("attempt %d after %d releases: %v", i+1, i, err)
		}
		res, err := th.Done(context.Background(), adm, veil.AttemptReleased)
		if err != nil || res.DeviceCookie != "" || res.Challenge != nil {
			t.Fatalf("Done(released) = %+v, %v; want nothing handed out", res, err)
		}
	}
	st := th.Stats()
	if got := st.Released.Load(); got != n {
		t.Errorf("released = %d, want %d", got, n)
	}
	if got := st.Uncounted.Load(); got != 0 {
		t.Errorf("uncounted (faults) = %d after releases only, want 0", got)
	}
	// A fault is still a fault.
	adm, err := th.Check(context.Background(), &a)
	if err != nil {
		t.Fatal(err)
	}
	th.Done(context.Background(), adm, veil.AttemptFaulted)
	if got := st.Uncounted.Load(); got != 1 {
		t.Errorf("uncounted = %d after one fault, want 1", got)
	}
}
