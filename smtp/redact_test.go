package smtp

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	const user, password = "veil", "pa55-word"
	plain := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + password))
	bare := base64.StdEncoding.EncodeToString([]byte(password))
	s := newSecrets(user, password).withRecipient("jürgen@bücher.example", "jürgen@xn--bcher-kva.example")
	tests := []struct {
		in   string
		want string
	}{
		{"535 bad credentials " + password, "535 bad credentials [password]"},
		{"535 AUTH PLAIN " + plain + " refused", "535 AUTH PLAIN [password] refused"},
		{"535 LOGIN " + bare, "535 LOGIN [password]"},
		{"550 <jürgen@xn--bcher-kva.example>: unknown", "550 <[recipient]>: unknown"},
		{"affected recipient(s): jürgen@bücher.example", "affected recipient(s): [recipient]"},
		{"421 try later", "421 try later"},
	}
	for _, tt := range tests {
		if got := s.redact(tt.in); got != tt.want {
			t.Errorf("redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := newSecrets("", "").redact("nothing " + password); !strings.Contains(got, password) {
		t.Errorf("without secrets, redact changed the text: %q", got)
	}
}
