package veil_test

import (
	"context"
	"testing"
	"time"

	"github.com/veil-id/veil"
)

func TestHashParams(t *testing.T) {
	tests := []struct{ encoded, want string }{
		{"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA", "$argon2id$v=19$m=19456,t=2,p=1"},
		{"$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$a2V5", "$argon2id$v=19$m=65536,t=3,p=4"},
		{"$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW", "$2b$12"},
		{"$2y$04$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW", "$2y$04"},
		{"", ""},
		{"plain", ""},
		{"$argon2id$", ""},
		{"$2b$12", ""},
	}
	for _, tt := range tests {
		if got := veil.HashParams(tt.encoded); got != tt.want {
			t.Errorf("HashParams(%q) = %q, want %q", tt.encoded, got, tt.want)
		}
	}
}

// TestWorkMark checks that queue waits count only once the account work has
// begun, and that a context without a mark makes every call a no-op.
func TestWorkMark(t *testing.T) {
	veil.BeginAccountWork(context.Background())
	veil.AddQueueWait(context.Background(), time.Second)

	m := &veil.WorkMark{}
	ctx := veil.WithWorkMark(context.Background(), m)
	veil.AddQueueWait(ctx, time.Hour) // before the check: the throttle's business
	if _, _, ok := m.Began(); ok {
		t.Fatal("the mark began before BeginAccountWork")
	}
	veil.BeginAccountWork(ctx)
	began, _, _ := m.Began()
	veil.BeginAccountWork(ctx)
	veil.AddQueueWait(ctx, 2*time.Millisecond)
	veil.AddQueueWait(ctx, 3*time.Millisecond)
	again, queued, ok := m.Began()
	if !ok || !again.Equal(began) || queued != 5*time.Millisecond {
		t.Errorf("Began() = %v, %v, %v; want the first begin, 5ms queued, true", again, queued, ok)
	}
}
