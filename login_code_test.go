package veil_test

import (
	"testing"

	"github.com/veil-id/veil"
)

func TestNormalizeLoginCode(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"01234567", "01234567"},
		{"0123 4567", "01234567"},
		{"0123-4567", "01234567"},
		{" 0 1 2 3 4 5 6 7 ", "01234567"},
		{"0123456", ""},
		{"012345678", ""},
		{"0123456a", ""},
		{"０１２３４５６７", ""}, // full-width digits are not the code's
		{"", ""},
	} {
		got, err := veil.NormalizeLoginCode(tt.in)
		if got != tt.want || (err == nil) != (tt.want != "") {
			t.Errorf("NormalizeLoginCode(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// FuzzNormalizeLoginCode: whatever comes in, what comes out is exactly
// LoginCodeDigits ASCII digits, and normal already.
func FuzzNormalizeLoginCode(f *testing.F) {
	for _, s := range []string{"01234567", "0123 4567", "1-2-3-4-5-6-7-8", "\x00", "１２３４５６７８"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		code, err := veil.NormalizeLoginCode(s)
		if err != nil {
			if veil.ErrorCode(err) != veil.EINVALID {
				t.Fatalf("NormalizeLoginCode(%q): %v, want EINVALID", s, err)
			}
			return
		}
		if len(code) != veil.LoginCodeDigits {
			t.Fatalf("NormalizeLoginCode(%q) = %q", s, code)
		}
		for _, c := range []byte(code) {
			if c < '0' || c > '9' {
				t.Fatalf("NormalizeLoginCode(%q) = %q", s, code)
			}
		}
		if again, err := veil.NormalizeLoginCode(code); err != nil || again != code {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", s, code, again, err)
		}
	})
}
