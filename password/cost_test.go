package password

import (
	"context"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/veil-id/veil"
)

// TestTimeVerification checks that each kind of stored hash is timed at its
// own cost, and that the wait for a busy pool is left out: it is the
// callers ahead's, not the account's.
func TestTimeVerification(t *testing.T) {
	ctx := context.Background()
	h, err := New(Config{Params: Params{Memory: 1024, Iterations: 1, Parallelism: 1}, Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	cheap, err := h.TimeVerification(ctx, h.CurrentHashParams())
	if err != nil {
		t.Fatal(err)
	}
	dear, err := h.TimeVerification(ctx, "$2b$10")
	if err != nil {
		t.Fatal(err)
	}
	malformed, err := h.TimeVerification(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if dear < 4*cheap || malformed > dear/2 {
		t.Errorf("current %v, bcrypt-10 %v, malformed %v: want bcrypt-10 far dearer, malformed like the current policy", cheap, dear, malformed)
	}

	// Hold the only slot with a bcrypt-12 verification, then time the
	// current set: its wait must not count.
	slow, _ := bcrypt.GenerateFromPassword([]byte(testPass), 12)
	held := make(chan struct{})
	go func() {
		mark := &veil.WorkMark{}
		ctx := veil.WithWorkMark(ctx, mark)
		veil.BeginAccountWork(ctx)
		close(held)
		h.VerifyPassword(ctx, string(slow), testPass)
	}()
	<-held
	time.Sleep(5 * time.Millisecond)
	start := time.Now()
	got, err := h.TimeVerification(ctx, h.CurrentHashParams())
	if err != nil {
		t.Fatal(err)
	}
	if wall := time.Since(start); wall < 50*time.Millisecond || got > wall/2 {
		t.Errorf("behind a bcrypt-12 the verification took %v in all and was timed at %v: the queue wait must not count", wall, got)
	}
}
