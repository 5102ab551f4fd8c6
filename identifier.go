package veil

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/secure/precis"
	"golang.org/x/text/unicode/norm"
)

// Limits on what a caller may send. They are syntax: checking them never
// depends on stored data.
const (
	MaxIdentifierBytes = 320 // RFC 3696 errata: 64 local + @ + 255 domain
	maxLocalPartBytes  = 64
	maxDomainBytes     = 255
)

// Identifier is a normalized sign-in identifier: an email address whose local
// part is case-folded and PRECIS-enforced and whose domain is lower-case
// Unicode. Only NormalizeIdentifier makes one, so two spellings of one address
// are always one Identifier, and the stored address is the one any mail will
// ever go to.
type Identifier string

func (id Identifier) String() string { return string(id) }

var domainProfile = idna.New(
	idna.MapForLookup(),
	idna.BidiRule(),
	idna.ValidateLabels(true),
	idna.StrictDomainName(true),
	idna.Transitional(false),
	idna.VerifyDNSLength(true),
)

// localPartProfile is PRECIS's UsernameCaseMapped (RFC 8265) with full case
// folding instead of lower-casing, so "STRASSE" and "straße" are one
// address, as they are one word to the people who type them.
var localPartProfile = precis.NewIdentifier(
	precis.FoldWidth,
	precis.FoldCase(),
	precis.Norm(norm.NFC),
	precis.BidiRule,
)

// NormalizeIdentifier checks the syntax of an email address typed by a person
// and returns its one normal form. Errors are EINVALID with a message that
// depends only on s.
func NormalizeIdentifier(s string) (Identifier, error) {
	if len(s) > MaxIdentifierBytes {
		return "", Errorf(EINVALID, "The identifier is longer than %d bytes.", MaxIdentifierBytes)
	}
	s = strings.TrimFunc(s, unicode.IsSpace)
	if err := checkText("identifier", s, MaxIdentifierBytes); err != nil {
		return "", err
	}
	if s == "" {
		return "", Errorf(EINVALID, "The identifier is required.")
	}
	at := strings.LastIndexByte(s, '@')
	if at < 0 || strings.IndexByte(s, '@') != at {
		return "", Errorf(EINVALID, "The identifier must be an email address with one @.")
	}
	local, domain := s[:at], s[at+1:]
	if local == "" || domain == "" {
		return "", Errorf(EINVALID, "The identifier must be an email address with text on both sides of the @.")
	}
	local, err := localPartProfile.String(local)
	if err != nil || len(local) > maxLocalPartBytes || !dotAtom(local) {
		return "", Errorf(EINVALID, "The part of the email address before the @ is not valid.")
	}
	domain, err = normalizeDomain(domain)
	if err != nil {
		return "", err
	}
	return Identifier(local + "@" + domain), nil
}

var errInvalidDomain = &Error{Code: EINVALID, Message: "The domain of the email address is not valid."}

// normalizeDomain returns the one spelling of a mail domain, so that every
// spelling the DNS and the mail system treat as one domain is one
// identifier: the IDNA full stops (U+3002, U+FF0E, U+FF61) are dots, one
// trailing root dot goes ("example.com." is the fully qualified name of
// "example.com"), case is folded and labels are IDNA-mapped, and the
// U-label form is kept so "BÜCHER.de" and "xn--bcher-kva.de" are one
// identifier; mail adapters convert back to ASCII where SMTP needs it.
// Empty labels ("example..com", "example.com..") and a numeric top-level
// label (an IP address without the brackets of an address literal) are
// refused: no mail system delivers to them.
func normalizeDomain(domain string) (string, error) {
	domain = strings.Map(func(r rune) rune {
		switch r {
		case '\u3002', '\uFF0E', '\uFF61':
			return '.'
		}
		return r
	}, domain)
	domain = strings.TrimSuffix(domain, ".")
	for _, l := range strings.Split(domain, ".") {
		if l == "" {
			return "", errInvalidDomain
		}
	}
	ascii, err := domainProfile.ToASCII(domain)
	if err != nil || ascii == "" || len(ascii) > maxDomainBytes || strings.HasSuffix(ascii, ".") {
		return "", errInvalidDomain
	}
	if tld := ascii[strings.LastIndexByte(ascii, '.')+1:]; strings.Contains(ascii, ".") && strings.Trim(tld, "0123456789") == "" {
		return "", errInvalidDomain
	}
	unicodeDomain, err := domainProfile.ToUnicode(ascii)
	if err != nil {
		return "", errInvalidDomain
	}
	return unicodeDomain, nil
}

// dotAtom reports whether a (PRECIS-enforced) local part can be written in
// an address without quotes (RFC 5321's Dot-string, with RFC 6531's UTF-8):
// no leading, trailing or doubled dot, none of the specials that need
// quoting. A quoted local part is refused rather than kept: "ab"@x and
// ab@x are one mailbox, and an identifier must not have two spellings.
func dotAtom(local string) bool {
	if strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") || strings.Contains(local, "..") {
		return false
	}
	return !strings.ContainsAny(local, "\"(),:;<>@[\\]")
}

// checkText rejects text no person types: invalid UTF-8, control characters
// and absurd lengths.
func checkText(field, s string, maxBytes int) error {
	if len(s) > maxBytes {
		return Errorf(EINVALID, "The %s is longer than %d bytes.", field, maxBytes)
	}
	if !utf8.ValidString(s) {
		return Errorf(EINVALID, "The %s is not valid UTF-8.", field)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return Errorf(EINVALID, "The %s contains a control character.", field)
		}
	}
	return nil
}

// IdentifierKey keys the hash that stands for an identifier wherever it must
// be recorded but not revealed: audit events, log lines, throttle counters.
type IdentifierKey []byte

// Hash returns a keyed hash of id: the same for every spelling of one address,
// useless to anyone without the key.
func (k IdentifierKey) Hash(id Identifier) string {
	mac := hmac.New(sha256.New, k)
	mac.Write([]byte("veil identifier v1\x00"))
	mac.Write([]byte(id))
	return hex.EncodeToString(mac.Sum(nil)[:16])
}

// MaxDisplayNameRunes bounds a display name: enough for any person's name,
// short enough for every page and header it is shown in.
const MaxDisplayNameRunes = 64

// NormalizeDisplayName checks a display name chosen by a person and
// returns its stored form. The rule depends on the input alone: white
// space around it goes; the rest must be valid UTF-8 of at most
// MaxDisplayNameRunes characters (and 256 bytes) with no control
// characters, no line or paragraph separators and no bidirectional
// embedding, override or isolate controls (which would let a name reorder
// the text shown around it); it is stored in NFC, so one name typed on two
// keyboards is one string. The name is optional: "" is a valid name.
func NormalizeDisplayName(s string) (string, error) {
	if len(s) > 4*MaxDisplayNameRunes {
		return "", Errorf(EINVALID, "The name is longer than %d characters.", MaxDisplayNameRunes)
	}
	if err := checkText("name", s, 4*MaxDisplayNameRunes); err != nil {
		return "", err
	}
	s = norm.NFC.String(strings.TrimFunc(s, unicode.IsSpace))
	if utf8.RuneCountInString(s) > MaxDisplayNameRunes || len(s) > 4*MaxDisplayNameRunes {
		return "", Errorf(EINVALID, "The name is longer than %d characters.", MaxDisplayNameRunes)
	}
	for _, r := range s {
		if unicode.In(r, unicode.Zl, unicode.Zp) || isBidiControl(r) {
			return "", Errorf(EINVALID, "The name contains a character that is not allowed in a name.")
		}
	}
	return s, nil
}

// isBidiControl reports whether r is one of Unicode's explicit
// bidirectional formatting characters (UAX #9, section 2).
func isBidiControl(r rune) bool {
	return r == '\u061C' || r == '\u200E' || r == '\u200F' || ('\u202A' <= r && r <= '\u202E') || ('\u2066' <= r && r <= '\u2069')
}
