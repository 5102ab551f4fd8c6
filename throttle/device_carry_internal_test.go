package throttle

import (
	"strings"
	"testing"
	"time"
)

// TestDeviceCookieCarriesOtherSubjects: a browser's device cookie holds
// one cookie per subject it signed in as (its address, each passkey), up
// to deviceCookieMax, newest first; each verifies for its own subject
// only, a fresh one replaces the old one of its subject, and what is
// malformed, forged or expired is dropped.
func TestDeviceCookieCarriesOtherSubjects(t *testing.T) {
	d := deviceSigner{key: []byte("device carry test key, 32 bytes!!")}
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	later := now.Add(time.Hour)
	value := d.issue("address", later)
	value = d.carry(d.issue("passkey", later), value, "passkey", now)
	addrDev, ok1 := d.verify(value, "address", now)
	keyDev, ok2 := d.verify(value, "passkey", now)
	if !ok1 || !ok2 || addrDev == keyDev {
		t.Fatalf("a cookie for two subjects: verifies %v (%s), %v (%s); want both, as two devices", ok1, addrDev, ok2, keyDev)
	}
	if _, ok := d.verify(value, "someone else", now); ok {
		t.Error("a cookie for two subjects verified for a third")
	}
	again := d.carry(d.issue("address", later), value, "address", now)
	if n := len(strings.Split(again, deviceCookieSep)); n != 2 {
		t.Errorf("a fresh cookie for a subject the browser had: %d cookies, want 2 (the old one replaced)", n)
	}
	if dev, _ := d.verify(again, "address", now); dev == addrDev {
		t.Error("the old cookie of the subject was kept before the fresh one")
	}
	junk := value + "~forged.cookie~" + strings.Repeat("A", deviceCookieLen) + "~" + d.issue("expired", now.Add(-time.Second))
	if got := d.carry(d.issue("third", later), junk, "third", now); len(strings.Split(got, deviceCookieSep)) != 3 {
		t.Errorf("carrying past junk and an expired cookie: %q, want the fresh one and the two good ones", got)
	}
	for i := range 2 * deviceCookieMax {
		value = d.carry(d.issue(string(rune('a'+i)), later), value, string(rune('a'+i)), now)
	}
	if n := len(strings.Split(value, deviceCookieSep)); n != deviceCookieMax {
		t.Errorf("after many subjects: %d cookies, want at most %d", n, deviceCookieMax)
	}
	last := string(rune('a' + 2*deviceCookieMax - 1))
	if _, ok := d.verify(value, last, now); !ok {
		t.Error("the newest subject's cookie does not verify")
	}
	if _, ok := d.verify(value, "address", now); ok {
		t.Error("the oldest subject's cookie is still there past the bound")
	}
}
