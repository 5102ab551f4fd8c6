package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/veil-id/veil"
)

// TestFloorHold checks where the floor is anchored: at the start of the
// account work, extended by its queue waits, and nowhere for a request
// whose account work never began.
func TestFloorHold(t *testing.T) {
	const floor = 300 * time.Millisecond
	tests := []struct {
		name      string
		begin     bool
		queued    time.Duration
		floor     time.Duration
		wantHold  time.Duration // at most; a little less as the test runs
		wantMiss  bool
		wantNoMax bool
	}{
		{"never reached a check", false, 0, floor, 0, false, false},
		{"check began", true, 0, floor, floor, false, false},
		{"queue wait is added", true, 200 * time.Millisecond, floor, floor + 200*time.Millisecond, false, false},
		{"queue wait before the check is not", false, 200 * time.Millisecond, floor, 0, false, false},
		{"off", true, 0, 0, 0, false, false},
		{"work beyond the floor is a miss", true, 0, time.Nanosecond, 0, true, true},
	}
	for _, tt := range tests {
		f := NewFloor(tt.floor)
		var missed []time.Duration
		f.OnExceeded(func(d time.Duration) { missed = append(missed, d) })
		mark := veil.NewWorkMark(0)
		ctx := veil.WithWorkMark(context.Background(), mark)
		if tt.begin {
			veil.BeginAccountWork(ctx)
		}
		veil.AddQueueWait(ctx, tt.queued)
		time.Sleep(time.Millisecond) // some work
		got := f.hold(mark, 0)
		if got > tt.wantHold || (!tt.wantNoMax && got < tt.wantHold-100*time.Millisecond) {
			t.Errorf("%s: hold %v, want just under %v", tt.name, got, tt.wantHold)
		}
		if (len(missed) > 0) != tt.wantMiss {
			t.Errorf("%s: misses %v, want a miss: %v", tt.name, missed, tt.wantMiss)
		}
	}
}

// TestFloorValueIsSetNotLearned checks that no answer moves the floor: only
// Set does (the calibration), whatever the answers' work.
func TestFloorValueIsSetNotLearned(t *testing.T) {
	f := NewFloor(50 * time.Millisecond)
	for _, work := range []time.Duration{0, time.Microsecond, 2 * time.Second} {
		mark := &veil.WorkMark{}
		ctx := veil.WithWorkMark(context.Background(), mark)
		veil.BeginAccountWork(ctx)
		veil.AddQueueWait(ctx, work)
		f.hold(mark, 0)
	}
	if got := f.Duration(); got != 50*time.Millisecond {
		t.Errorf("after answers of every size the floor is %v, want 50ms", got)
	}
	f.Set(80 * time.Millisecond)
	if got := f.Duration(); got != 80*time.Millisecond {
		t.Errorf("after Set(80ms) the floor is %v", got)
	}
}

// TestFloorLookupMiss checks that the lookup floor reaches the mark of each
// request, and that a lookup past it is reported like an answer past the
// answer floor is, on a counter of its own.
func TestFloorLookupMiss(t *testing.T) {
	f := NewFloor(0)
	f.SetLookup(time.Millisecond)
	var missed []time.Duration
	f.OnLookupExceeded(func(d time.Duration) { missed = append(missed, d) })
	h := f.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		veil.BeginAccountWork(r.Context())
		time.Sleep(3 * time.Millisecond) // a slow lookup
		if err := veil.LookupDone(r.Context()); err != nil {
			t.Error(err)
		}
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/api/login", nil))
	if len(missed) != 1 || missed[0] < 3*time.Millisecond {
		t.Errorf("misses %v, want one of the lookup's 3ms or more", missed)
	}
}

// TestFloorAtLeast checks the routes without a hash: held to NoHashFloor's
// kind of minimum while the floor is on (even with an answer floor of 0,
// when every stored hash is current), and not at all when it is off.
func TestFloorAtLeast(t *testing.T) {
	const least = 30 * time.Millisecond
	tests := []struct {
		name           string
		answer, lookup time.Duration
		wantHeld       bool
	}{
		{"every hash current", 0, 250 * time.Microsecond, true},
		{"an answer floor above it", 50 * time.Millisecond, 0, true},
		{"off", 0, 0, false},
	}
	for _, tt := range tests {
		f := NewFloor(tt.answer)
		f.SetLookup(tt.lookup)
		h := f.WrapAtLeast(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			veil.BeginAccountWork(r.Context())
		}), least)
		start := time.Now()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/api/passkey/login/options", nil))
		took := time.Since(start)
		if held := took >= least; held != tt.wantHeld || took < tt.answer {
			t.Errorf("%s: answered after %v; want held to %v: %v (and at least the answer floor %v)", tt.name, took, least, tt.wantHeld, tt.answer)
		}
	}
}
