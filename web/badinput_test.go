package web_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestBadInput checks that every malformed request gets 400 invalid_request
// with a clear message, and the same answer whether or not the account
// exists.
func TestBadInput(t *testing.T) {
	ts := MustOpenServer(t)
	ts.mustAddAccount(t, "alice@example.com", goodPassword)
	const js = "application/json"
	long := strings.Repeat("a", 400) + "@example.com"
	tests := []struct {
		name, contentType, body string
		mentions                string // a word the message must contain
	}{
		{"malformed JSON", js, `{"identifier":`, "JSON"},
		{"not an object", js, `["alice@example.com"]`, "object"},
		{"wrong type", js, `{"identifier":42,"password":"x"}`, "identifier"},
		{"unknown field", js, `{"identifier":"%s","password":"x","admin":true}`, "admin"},
		{"trailing data", js, `{"identifier":"%s","password":"x"} {}`, "one JSON object"},
		{"empty body", js, ``, "empty"},
		{"body over 16 KiB", js, `{"identifier":"%s","password":"` + strings.Repeat("x", 17<<10) + `"}`, "16384"},
		{"invalid UTF-8", js, "{\"identifier\":\"%s\",\"password\":\"\xff\xfe\"}", "UTF-8"},
		{"control character in password", js, `{"identifier":"%s","password":"a\u0000b"}`, "control"},
		{"control character in identifier", js, `{"identifier":"ali\u0007ce@example.com","password":"x"}`, "control"},
		{"identifier over 320 bytes", js, `{"identifier":"` + long + `","password":"x"}`, "320"},
		{"password over 4 KiB", js, `{"identifier":"%s","password":"` + strings.Repeat("p", 4097) + `"}`, "4096"},
		{"missing identifier", js, `{"password":"x"}`, "identifier"},
		{"missing password", js, `{"identifier":"%s"}`, "password"},
		{"empty password", js, `{"identifier":"%s","password":""}`, "password"},
		{"not an email", js, `{"identifier":"alice","password":"x"}`, "@"},
		{"wrong content type", "text/plain", `{"identifier":"%s","password":"x"}`, "application/json"},
		{"no content type", "", `{"identifier":"%s","password":"x"}`, "Content-Type"},
		{"wrong charset", "application/json; charset=latin1", `{"identifier":"%s","password":"x"}`, "utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var answers []answer
			for _, id := range []string{"alice@example.com", "nobody@example.com"} {
				body := strings.ReplaceAll(tt.body, "%s", id)
				a := ts.do(t, "POST", "/api/login", tt.contentType, body)
				if a.status != http.StatusBadRequest || !strings.Contains(a.body, `"error":"invalid_request"`) {
					t.Fatalf("status %d body %s, want 400 invalid_request", a.status, a.body)
				}
				if !strings.Contains(a.body, tt.mentions) {
					t.Errorf("message %s does not mention %q", a.body, tt.mentions)
				}
				answers = append(answers, a)
			}
			if d := diffAnswers(answers[0], answers[1]); d != "" {
				t.Errorf("existing and unknown identifiers answered differently: %s", d)
			}
		})
	}
}

func TestBadFormInput(t *testing.T) {
	ts := MustOpenServer(t)
	tests := []struct{ name, contentType, body string }{
		{"missing password", "application/x-www-form-urlencoded", "identifier=alice%40example.com"},
		{"duplicate field", "application/x-www-form-urlencoded", "identifier=a%40b.c&identifier=d%40e.f&password=x"},
		{"bad escape", "application/x-www-form-urlencoded", "identifier=%zz&password=x"},
		{"multipart", "multipart/form-data; boundary=x", "--x--"},
		{"too large", "application/x-www-form-urlencoded", "identifier=a%40b.c&password=" + strings.Repeat("x", 17<<10)},
	}
	for _, tt := range tests {
		got := ts.do(t, "POST", "/login", tt.contentType, tt.body)
		if got.status != http.StatusBadRequest || !strings.Contains(got.body, `role="alert"`) {
			t.Errorf("%s: status %d, want 400 with the form and an error message", tt.name, got.status)
		}
	}
}
