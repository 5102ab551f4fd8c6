package web

import (
	"testing"
	"time"
)

func TestAutoFloor(t *testing.T) {
	const base, ceiling = 50 * time.Millisecond, 2 * time.Second
	tests := []struct {
		name string
		work []time.Duration
		want time.Duration
	}{
		{"nothing observed", nil, base},
		{"fast work stays at the base", repeat(10*time.Millisecond, 600), base},
		{"one stall does not move it", append(repeat(40*time.Millisecond, 511), 1500*time.Millisecond), base},
		{"recurring slow work raises it", append(repeat(40*time.Millisecond, 490), repeat(100*time.Millisecond, 22)...), 125 * time.Millisecond},
		{"never above the maximum", repeat(5*time.Second, 100), ceiling},
		{"slow samples leave the window", append(repeat(100*time.Millisecond, 50), repeat(10*time.Millisecond, 512)...), base},
	}
	for _, tt := range tests {
		f := NewAutoFloor(base, ceiling)
		for _, w := range tt.work {
			f.observe(w)
		}
		if got := f.Duration(); got != tt.want {
			t.Errorf("%s: floor %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestFixedFloorNeverMoves(t *testing.T) {
	f := NewFixedFloor(300 * time.Millisecond)
	exceeded := 0
	f.OnExceeded(func(time.Duration) { exceeded++ })
	for _, w := range []time.Duration{time.Millisecond, time.Second, 299 * time.Millisecond, 301 * time.Millisecond} {
		f.observe(w)
	}
	if got := f.Duration(); got != 300*time.Millisecond || exceeded != 2 {
		t.Errorf("fixed floor %v with %d exceeded, want 300ms and 2", got, exceeded)
	}
}

func repeat(d time.Duration, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}
