package probe

import (
	"strings"
	"testing"
)

func TestJSONStructure(t *testing.T) {
	r := newRecorder(&Target{})
	got := r.jsonStructure(`{"error":"x","request_id":"abc123","ts":1764590000,"details":[{"field":"email"},{"code":3}],"long":"` + strings.Repeat("a b ", 20) + `"}`)
	want := strings.Join([]string{
		": object",
		"details: array", "details[].code = 3", "details[].code: number",
		"details[].field = email", "details[].field: string", "details[]: object",
		"error = x", "error: string",
		"long: string",
		"request_id: string",
		"ts: number",
	}, "\n")
	if got != want {
		t.Errorf("jsonStructure =\n%s\nwant\n%s", got, want)
	}
	for _, body := range []string{"<html>", `{"a":1} trailing`, ""} {
		if got := r.jsonStructure(body); got != notJSON {
			t.Errorf("jsonStructure(%q) = %q, want %q", body, got, notJSON)
		}
	}
}

func TestScrubVolatile(t *testing.T) {
	got := scrubVolatile(`{"requestId":"r-1","time":1764590000123,"count":3,"issued_at":"x","at":1764590000}`)
	want := `{"requestId":"{{scrubbed}}","time":"{{scrubbed}}","count":3,"issued_at":"{{scrubbed}}","at":{{scrubbed}}}`
	if got != want {
		t.Errorf("scrubVolatile = %s, want %s", got, want)
	}
}
