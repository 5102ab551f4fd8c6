package web

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/veil-id/veil"
)

// TestFloorNoHashMiss checks that an answer of a route without a hash
// whose work outlasts its floor is reported on the no-hash counter, and
// a sign-in's on the sign-in counter: each kind of route's misses are
// counted apart, and none is lost.
func TestFloorNoHashMiss(t *testing.T) {
	const least = 5 * time.Millisecond
	tests := []struct {
		name       string
		answer     time.Duration
		least      time.Duration
		work       time.Duration
		wantSignIn int
		wantNoHash int
	}{
		{"no-hash route within its floor", 0, least, 0, 0, 0},
		{"no-hash route past its floor", 0, least, 3 * least, 0, 1},
		{"no-hash route past a higher answer floor", 2 * least, least, 4 * least, 0, 1},
		{"sign-in past the answer floor", least, 0, 3 * least, 1, 0},
		{"sign-in within the answer floor", 4 * least, 0, 0, 0, 0},
	}
	for _, tt := range tests {
		f := NewFloor(tt.answer)
		f.SetLookup(250 * time.Microsecond)
		var signIn, noHash int
		f.OnExceeded(func(time.Duration) { signIn++ })
		f.OnNoHashExceeded(func(time.Duration) { noHash++ })
		h := f.WrapAtLeast(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			veil.BeginAccountWork(r.Context())
			time.Sleep(tt.work)
		}), tt.least)
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/api/passkey/login/options", nil))
		if signIn != tt.wantSignIn || noHash != tt.wantNoHash {
			t.Errorf("%s: sign-in misses %d, no-hash misses %d; want %d, %d", tt.name, signIn, noHash, tt.wantSignIn, tt.wantNoHash)
		}
	}
}
