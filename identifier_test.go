package veil_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/veil-id/veil"
)

func TestNormalizeIdentifier(t *testing.T) {
	tests := []struct {
		in   string
		want veil.Identifier
	}{
		{"alice@example.com", "alice@example.com"},
		{"  Alice@Example.COM \t", "alice@example.com"},
		{"ALICE+tag@EXAMPLE.com", "alice+tag@example.com"},
		{"Ａlice@example.com", "alice@example.com"}, // fullwidth A: width-mapped
		{"straße@example.com", "strasse@example.com"},
		{"jürgen@BÜCHER.de", "jürgen@bücher.de"},
		{"jürgen@xn--bcher-kva.de", "jürgen@bücher.de"},
		{"ÉLODIE@example.com", "élodie@example.com"},
		{"user@localhost", "user@localhost"},
	}
	for _, tt := range tests {
		got, err := veil.NormalizeIdentifier(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("NormalizeIdentifier(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestNormalizeIdentifierRejects(t *testing.T) {
	tests := []struct {
		name, in string
	}{
		{"empty", ""},
		{"blank", "   "},
		{"no at", "alice.example.com"},
		{"two ats", "a@b@example.com"},
		{"empty local", "@example.com"},
		{"empty domain", "alice@"},
		{"space inside", "ali ce@example.com"},
		{"control char", "alice\x00@example.com"},
		{"newline", "alice@example.com\nBcc: x@y.z"},
		{"invalid utf8", "ali\xffce@example.com"},
		{"bad domain", "alice@exa_mple.com"},
		{"domain label too long", "a@" + strings.Repeat("x", 64) + ".com"},
		{"local too long", strings.Repeat("a", 65) + "@example.com"},
		{"over 320 bytes", strings.Repeat("a", 64) + "@" + strings.Repeat("b.", 130) + "com"},
	}
	for _, tt := range tests {
		got, err := veil.NormalizeIdentifier(tt.in)
		if veil.ErrorCode(err) != veil.EINVALID {
			t.Errorf("%s: NormalizeIdentifier(%q) = %q, %v; want EINVALID", tt.name, tt.in, got, err)
		}
	}
}

func TestCheckPassword(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"correct horse battery staple", true},
		{"päßwörd ✓", true},
		{"", false},
		{"tab\there", false},
		{"nul\x00", false},
		{"bad\xff", false},
		{strings.Repeat("x", veil.MaxPasswordBytes), true},
		{strings.Repeat("x", veil.MaxPasswordBytes+1), false},
	}
	for _, tt := range tests {
		err := veil.CheckPassword(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("CheckPassword(%.20q) = %v, want ok=%v", tt.in, err, tt.ok)
		}
	}
}

func TestIdentifierKeyHash(t *testing.T) {
	k := veil.IdentifierKey("0123456789abcdef0123456789abcdef")
	a, _ := veil.NormalizeIdentifier("Alice@Example.com")
	b, _ := veil.NormalizeIdentifier("alice@example.com")
	if k.Hash(a) != k.Hash(b) {
		t.Errorf("two spellings of one address hash differently")
	}
	if got := k.Hash(a); strings.Contains(got, "alice") || len(got) != 32 {
		t.Errorf("Hash = %q; want 32 hex characters that do not contain the identifier", got)
	}
	other := veil.IdentifierKey("fedcba9876543210fedcba9876543210")
	if k.Hash(a) == other.Hash(a) {
		t.Errorf("hash does not depend on the key")
	}
}

// FuzzNormalizeIdentifier checks that normalization never panics, that its
// output is idempotent, bounded and clean, and that errors are EINVALID.
func FuzzNormalizeIdentifier(f *testing.F) {
	for _, s := range []string{"alice@example.com", " Bob@EXAMPLE.org ", "straße@bücher.de", "a@b", "@", "x@xn--bcher-kva.de", "\x00@x", "ǅ@x.y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := veil.NormalizeIdentifier(s)
		if err != nil {
			if veil.ErrorCode(err) != veil.EINVALID {
				t.Fatalf("NormalizeIdentifier(%q) error code %q, want EINVALID", s, veil.ErrorCode(err))
			}
			return
		}
		if !utf8.ValidString(string(id)) || len(id) > veil.MaxIdentifierBytes*2 || strings.Count(string(id), "@") != 1 {
			t.Fatalf("NormalizeIdentifier(%q) = %q: not a clean identifier", s, id)
		}
		again, err := veil.NormalizeIdentifier(string(id))
		if err != nil || again != id {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", s, id, again, err)
		}
	})
}
