package web

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestCookies pins the Set-Cookie header of each of veil's cookies, secure
// and not: the one cookie type must write each exactly as before.
func TestCookies(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name  string
		write func(w http.ResponseWriter)
		want  string
	}{
		{"session", func(w http.ResponseWriter) { newSessionCookie(false, "").writeUntil(w, "tok", now.Add(time.Hour), now) },
			"veil_session=tok; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax"},
		{"secure session", func(w http.ResponseWriter) { newSessionCookie(true, "").writeUntil(w, "tok", now.Add(time.Hour), now) },
			"__Host-veil_session=tok; Path=/; Max-Age=3600; HttpOnly; Secure; SameSite=Lax"},
		{"secure session for a domain", func(w http.ResponseWriter) {
			newSessionCookie(true, "example.com").writeUntil(w, "tok", now.Add(time.Hour), now)
		}, "__Secure-veil_session=tok; Path=/; Domain=example.com; Max-Age=3600; HttpOnly; Secure; SameSite=Lax"},
		{"session cleared", func(w http.ResponseWriter) { newSessionCookie(true, "").clear(w) },
			"__Host-veil_session=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax"},
		{"session about to expire", func(w http.ResponseWriter) { newSessionCookie(false, "").writeUntil(w, "tok", now, now) },
			"veil_session=tok; Path=/; Max-Age=1; HttpOnly; SameSite=Lax"},
		{"device", func(w http.ResponseWriter) { newDeviceCookie(true).writeUntil(w, "dev", now.Add(time.Minute), now) },
			"__Host-veil_device=dev; Path=/; Max-Age=60; HttpOnly; Secure; SameSite=Lax"},
		{"pending", func(w http.ResponseWriter) { newPendingCookie(true).write(w, "p", 300) },
			"__Host-veil_pending=p; Path=/; Max-Age=300; HttpOnly; Secure; SameSite=Strict"},
		{"pending, plain HTTP", func(w http.ResponseWriter) { newPendingCookie(false).write(w, "", -1) },
			"veil_pending=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict"},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		tt.write(rec)
		if got := rec.Header().Get("Set-Cookie"); got != tt.want {
			t.Errorf("%s: Set-Cookie = %q, want %q", tt.name, got, tt.want)
		}
	}
}
