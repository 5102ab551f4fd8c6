package metrics_test

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/veil-id/veil/metrics"
)

// scrape returns the exposition of m.
func scrape(tb testing.TB, m *metrics.Metrics) string {
	tb.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, err := io.ReadAll(rec.Result().Body)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// TestFloorMissCounters checks that each kind of floor miss lands on its
// own counter: a sign-in's, a lookup's and a route's without a hash.
func TestFloorMissCounters(t *testing.T) {
	m := metrics.New()
	m.FloorExceeded(time.Millisecond)
	m.LookupFloorExceeded(time.Millisecond)
	m.LookupFloorExceeded(time.Millisecond)
	for range 3 {
		m.NoHashFloorExceeded(30 * time.Millisecond)
	}
	out := scrape(t, m)
	for _, want := range []string{
		"veil_time_floor_exceeded_total 1\n",
		"veil_time_floor_lookup_exceeded_total 2\n",
		"veil_time_floor_no_hash_exceeded_total 3\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("/metrics lacks %q", strings.TrimSpace(want))
		}
	}
}
