package throttle

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"time"
)

// A device cookie (OWASP, "Slow down online guessing attacks with device
// cookies") is "<payload>.<mac>": the payload (base64url) holds a version,
// the expiry (unix seconds) and a random nonce that names the device's own
// bucket; the mac is an HMAC-SHA-256 over the payload and the keyed hash of
// the identifier it was issued for. The cookie does not contain that hash:
// it can be checked only against an attempt for the same identifier, and
// reveals nothing to whoever reads it.
const (
	deviceVersion      = 1
	deviceNonceBytes   = 12
	devicePayloadBytes = 1 + 8 + deviceNonceBytes
	deviceMACBytes     = 16
)

var deviceCookieLen = b64.EncodedLen(devicePayloadBytes) + 1 + b64.EncodedLen(deviceMACBytes)

// A browser holds device cookies for several subjects in one cookie value,
// newest first, joined by "~": its account's identifier, and each passkey
// it signed in with (the passkey finish step is throttled by credential,
// before any account is known, so only a cookie bound to the credential
// lets the person's browser past a lockout of it that a stranger caused
// with the credential ID, which identifier-first options give out). At
// most deviceCookieMax are kept and checked.
const (
	deviceCookieMax = 4
	deviceCookieSep = "~"
)

// deviceSigner issues and checks device cookies.
type deviceSigner struct {
	key []byte
}

func (d deviceSigner) mac(payload []byte, subject string) []byte {
	m := hmac.New(sha256.New, d.key)
	m.Write([]byte("veil device v1\x00"))
	m.Write(payload)
	m.Write([]byte(subject))
	return m.Sum(nil)[:deviceMACBytes]
}

// issue returns a cookie for subject, good until expires.
func (d deviceSigner) issue(subject string, expires time.Time) string {
	var nonce [deviceNonceBytes]byte
	rand.Read(nonce[:])
	return d.issueNonce(subject, expires, nonce)
}

func (d deviceSigner) issueNonce(subject string, expires time.Time, nonce [deviceNonceBytes]byte) string {
	var payload [devicePayloadBytes]byte
	payload[0] = deviceVersion
	binary.BigEndian.PutUint64(payload[1:9], uint64(expires.Unix()))
	copy(payload[9:], nonce[:])
	return b64.EncodeToString(payload[:]) + "." + b64.EncodeToString(d.mac(payload[:], subject))
}

// verify returns the name of the device's bucket if one of the cookies in
// value was issued for subject and has not expired. Any other cookie —
// malformed, forged, expired, or issued for another identifier — is
// simply not trusted.
func (d deviceSigner) verify(value, subject string, now time.Time) (string, bool) {
	for _, cookie := range deviceCookies(value) {
		if dev, ok := d.verifyOne(cookie, subject, now); ok {
			return dev, true
		}
	}
	return "", false
}

// deviceCookies returns the first deviceCookieMax cookies of value.
func deviceCookies(value string) []string {
	parts := strings.SplitN(value, deviceCookieSep, deviceCookieMax+1)
	return parts[:min(len(parts), deviceCookieMax)]
}

// carry returns fresh, a cookie just issued for subject, followed by the
// cookies of prior (what the browser presented) that are well formed,
// unexpired and not for subject — the cookies of its other subjects, up to
// deviceCookieMax in all.
func (d deviceSigner) carry(fresh, prior, subject string, now time.Time) string {
	kept := []string{fresh}
	for _, c := range deviceCookies(prior) {
		if len(kept) == deviceCookieMax {
			break
		}
		if _, mine := d.verifyOne(c, subject, now); !mine && wellFormedDevice(c, now) {
			kept = append(kept, c)
		}
	}
	return strings.Join(kept, deviceCookieSep)
}

// wellFormedDevice reports whether cookie has a device cookie's shape and
// an expiry after now (its MAC is checked by verify, against a subject).
func wellFormedDevice(cookie string, now time.Time) bool {
	if len(cookie) != deviceCookieLen || cookie[b64.EncodedLen(devicePayloadBytes)] != '.' {
		return false
	}
	payload, err := b64.DecodeString(cookie[:b64.EncodedLen(devicePayloadBytes)])
	if err != nil || len(payload) != devicePayloadBytes || payload[0] != deviceVersion {
		return false
	}
	_, err = b64.DecodeString(cookie[b64.EncodedLen(devicePayloadBytes)+1:])
	return err == nil && now.Before(time.Unix(int64(binary.BigEndian.Uint64(payload[1:9])), 0))
}

func (d deviceSigner) verifyOne(cookie, subject string, now time.Time) (string, bool) {
	if len(cookie) != deviceCookieLen || cookie[b64.EncodedLen(devicePayloadBytes)] != '.' {
		return "", false
	}
	payload, err := b64.DecodeString(cookie[:b64.EncodedLen(devicePayloadBytes)])
	if err != nil || len(payload) != devicePayloadBytes || payload[0] != deviceVersion {
		return "", false
	}
	mac, err := b64.DecodeString(cookie[b64.EncodedLen(devicePayloadBytes)+1:])
	if err != nil || !hmac.Equal(mac, d.mac(payload, subject)) {
		return "", false
	}
	if expires := time.Unix(int64(binary.BigEndian.Uint64(payload[1:9])), 0); !now.Before(expires) {
		return "", false
	}
	return hex.EncodeToString(payload[9:]), true
}

// rebind returns cookie bound to subject to instead of from, with the same
// expiry and device bucket, if it is a live cookie for from; else "".
func (d deviceSigner) rebind(cookie, from, to string, now time.Time) (string, time.Time) {
	if _, ok := d.verify(cookie, from, now); !ok {
		return "", time.Time{}
	}
	// verify has checked the shape: the payload decodes.
	payload, _ := b64.DecodeString(cookie[:b64.EncodedLen(devicePayloadBytes)])
	expires := time.Unix(int64(binary.BigEndian.Uint64(payload[1:9])), 0)
	return b64.EncodeToString(payload) + "." + b64.EncodeToString(d.mac(payload, to)), expires
}
