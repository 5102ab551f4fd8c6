package veiltest

import (
	"fmt"
	"testing"
)

// recordingTB records how RequireServer ends a test instead of ending it.
type recordingTB struct {
	*testing.T
	skipped, failed string
}

func (r *recordingTB) Helper()                           {}
func (r *recordingTB) Skipf(format string, args ...any)  { r.skipped = fmt.Sprintf(format, args...) }
func (r *recordingTB) Fatalf(format string, args ...any) { r.failed = fmt.Sprintf(format, args...) }

func TestRequireServer(t *testing.T) {
	tests := []struct {
		name, value, ci       string
		want                  string
		wantSkip, wantFailure bool
	}{
		{name: "Set", value: "postgres://db", want: "postgres://db"},
		{name: "SetInCI", value: "postgres://db", ci: "true", want: "postgres://db"},
		{name: "UnsetSkips", wantSkip: true},
		{name: "UnsetCIFalseSkips", ci: "false", wantSkip: true},
		{name: "UnsetInCIFails", ci: "true", wantFailure: true},
		{name: "UnsetInCIOneFails", ci: "1", wantFailure: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("VEIL_TEST_THING", tt.value)
			t.Setenv("CI", tt.ci)
			tb := &recordingTB{T: t}
			got := RequireServer(tb, "VEIL_TEST_THING", "a thing")
			if got != tt.want {
				t.Errorf("RequireServer = %q, want %q", got, tt.want)
			}
			if (tb.skipped != "") != tt.wantSkip || (tb.failed != "") != tt.wantFailure {
				t.Errorf("RequireServer skipped %q, failed %q; want skip %v, failure %v", tb.skipped, tb.failed, tt.wantSkip, tt.wantFailure)
			}
		})
	}
}

func TestMissing(t *testing.T) {
	for _, tt := range []struct {
		ci       string
		wantSkip bool
	}{{"", true}, {"false", true}, {"true", false}, {"1", false}} {
		t.Run("CI="+tt.ci, func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			tb := &recordingTB{T: t}
			Missing(tb, "node is not installed")
			if (tb.skipped != "") != tt.wantSkip || (tb.failed != "") == tt.wantSkip {
				t.Errorf("Missing with CI=%q skipped %q, failed %q; want skip %v", tt.ci, tb.skipped, tb.failed, tt.wantSkip)
			}
		})
	}
}
