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

// TestNormalizeIdentifierOneMailbox lists spellings of one mailbox that
// must give one identifier: a second spelling would be a second account
// for the same person (and a sign-up that never meets the taken address).
func TestNormalizeIdentifierOneMailbox(t *testing.T) {
	const want veil.Identifier = "alice@example.com"
	for _, in := range []string{
		"alice@example.com",
		"alice@example.com.",           // the root dot
		"ALICE@EXAMPLE.COM.",           // and case
		"alice@example\u3002com",       // ideographic full stop
		"alice@example\uFF0Ecom",       // fullwidth full stop
		"alice@example\uFF61com",       // halfwidth ideographic full stop
		"alice@example\u3002com\u3002", // and as the root dot
		"alice@example.com\uFF0E",      // fullwidth root dot
		"alice@\uFF45xample.com",       // fullwidth e
		"alice@exa\u00admple.com",      // a soft hyphen maps to nothing
		"alice@EXAMPLE.com",            // case of the domain
		" alice@example.com. ",         // surrounding space
		"\uFF41lice@example.com",       // fullwidth a in the local part
	} {
		got, err := veil.NormalizeIdentifier(in)
		if err != nil || got != want {
			t.Errorf("NormalizeIdentifier(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	// And for an IDN: its U-label and A-label spellings, with and without
	// the root dot, with every full stop.
	for _, in := range []string{"jürgen@bücher.de", "jürgen@BÜCHER.DE.", "jürgen@xn--bcher-kva.de", "jürgen@xn--bcher-kva\u3002de\uFF0E", "JÜRGEN@XN--BCHER-KVA.DE"} {
		if got, err := veil.NormalizeIdentifier(in); err != nil || got != "jürgen@bücher.de" {
			t.Errorf("NormalizeIdentifier(%q) = %q, %v; want %q", in, got, err, "jürgen@bücher.de")
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
		// One mailbox, one identifier: spellings no mail system delivers to
		// are refused rather than kept as a second identifier.
		{"two trailing dots", "alice@example.com.."},
		{"trailing ideographic full stops", "alice@example.com\u3002\u3002"},
		{"only a root dot", "alice@."},
		{"leading dot", "alice@.example.com"},
		{"empty label", "alice@example..com"},
		{"empty label by full stops", "alice@example\uFF0E\uFF61com"},
		{"label that maps to nothing", "alice@example.com.\u00ad"},
		{"dotted quad without brackets", "alice@192.0.2.1"},
		{"numeric top-level label", "alice@example.123"},
		{"fullwidth numeric top-level label", "alice@example.\uFF11\uFF12"},
		{"address literal", "alice@[192.0.2.1]"},
		{"quoted local part", `"alice"@example.com`},
		{"local part leading dot", ".alice@example.com"},
		{"local part trailing dot", "alice.@example.com"},
		{"local part doubled dot", "al..ice@example.com"},
		{"local part special", "ali<ce@example.com"},
		{"local part comma", "ali,ce@example.com"},
		{"local part backslash", `ali\ce@example.com`},
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
	for _, s := range []string{"alice@example.com", " Bob@EXAMPLE.org ", "straße@bücher.de", "a@b", "@", "x@xn--bcher-kva.de", "\x00@x", "ǅ@x.y",
		"alice@example.com.", "alice@example.com..", "alice@example\u3002com", "a@x\uFF0E\uFF61y", "a@b.\u00ad", "a@1.2", `"a"@b.c`, "a..b@c.d", "a@\u3002"} {
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
		// Every spelling of the domain the mail system treats as the same
		// is the same identifier: a root dot, the IDNA full stops.
		local, domain, _ := strings.Cut(string(id), "@")
		for _, spelling := range []string{
			string(id) + ".",
			local + "@" + strings.ReplaceAll(domain, ".", "\u3002"),
			local + "@" + asciiUpper(domain) + "\uFF0E",
		} {
			if got, err := veil.NormalizeIdentifier(spelling); err != nil || got != id {
				t.Fatalf("NormalizeIdentifier(%q) = %q, %v; want %q, the identifier of %q", spelling, got, err, id, s)
			}
		}
	})
}

// asciiUpper upper-cases ASCII letters only: Unicode's upper case of a
// U-label need not be a spelling of the same label.
func asciiUpper(s string) string {
	return strings.Map(func(r rune) rune {
		if 'a' <= r && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}, s)
}

func TestNormalizeDisplayName(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"", "", true},
		{"  Carol Q.  ", "Carol Q.", true},
		{"Zoë 🌸", "Zoë 🌸", true},
		{"Zoe\u0308", "Zoë", true},               // NFC: one name typed on two keyboards
		{"محمد\u200cرضا", "محمد\u200cرضا", true}, // a zero-width non-joiner is part of a Persian name
		{"👩\u200d💻", "👩\u200d💻", true},           // and a joiner of an emoji
		{strings.Repeat("é", veil.MaxDisplayNameRunes), strings.Repeat("é", veil.MaxDisplayNameRunes), true},
		{strings.Repeat("e\u0301", veil.MaxDisplayNameRunes), strings.Repeat("é", veil.MaxDisplayNameRunes), true}, // counted after NFC
		{strings.Repeat("é", veil.MaxDisplayNameRunes+1), "", false},
		{strings.Repeat("𝔸", veil.MaxDisplayNameRunes+1), "", false},
		{"Carol\nBcc: x@y.z", "", false},
		{"Carol\x00", "", false},
		{"Carol\x7f", "", false},
		{"Carol\u0085", "", false}, // NEL, a C1 control
		{"Carol\u2028Q", "", false},
		{"Carol\u2029Q", "", false},
		{"\u202egnp.exe", "", false},
		{"Carol\u2066Q\u2069", "", false},
		{"Carol\u200f", "", false},
		{"Car\xffol", "", false},
		{strings.Repeat(" ", 300), "", false}, // too long even before trimming
	}
	for _, tt := range tests {
		got, err := veil.NormalizeDisplayName(tt.in)
		if tt.ok && (err != nil || got != tt.want) {
			t.Errorf("NormalizeDisplayName(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
		if !tt.ok && veil.ErrorCode(err) != veil.EINVALID {
			t.Errorf("NormalizeDisplayName(%q) = %q, %v; want EINVALID", tt.in, got, err)
		}
	}
}

// FuzzNormalizeDisplayName: a name is either refused (EINVALID) or stored
// in a form that is itself a valid, unchanged name.
func FuzzNormalizeDisplayName(f *testing.F) {
	for _, s := range []string{"", "Carol", " Zoe\u0308 ", "\u202e", "a\nb", strings.Repeat("x", 70)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name, err := veil.NormalizeDisplayName(s)
		if err != nil {
			if veil.ErrorCode(err) != veil.EINVALID {
				t.Fatalf("NormalizeDisplayName(%q): error code %q", s, veil.ErrorCode(err))
			}
			return
		}
		if again, err := veil.NormalizeDisplayName(name); err != nil || again != name {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", s, name, again, err)
		}
		if !utf8.ValidString(name) || utf8.RuneCountInString(name) > veil.MaxDisplayNameRunes {
			t.Fatalf("NormalizeDisplayName(%q) = %q", s, name)
		}
	})
}
