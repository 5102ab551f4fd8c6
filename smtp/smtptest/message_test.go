package smtptest

import (
	"strings"
	"testing"
)

func TestParseMessage(t *testing.T) {
	crlf := func(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }
	tests := []struct {
		name        string
		raw         []byte
		wantSubject string
		wantText    string
		wantHTML    string
		wantErr     bool
	}{
		{
			name:        "plain, 8bit",
			raw:         crlf("Subject: Hello\nContent-Type: text/plain; charset=utf-8\n\nHi Jürgen\nbye\n"),
			wantSubject: "Hello",
			wantText:    "Hi Jürgen\nbye\n",
		},
		{
			name: "mixed around alternative, base64 and quoted-printable",
			raw: crlf("Subject: =?UTF-8?q?Gr=C3=BC=C3=9Fe?=\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=outer\n\n" +
				"--outer\nContent-Type: multipart/alternative; boundary=inner\n\n" +
				"--inner\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: base64\n\naHR0cHM6Ly9leGFt\ncGxlLmNvbS9hP2I9MQo=\n" +
				"--inner\nContent-Type: text/html; charset=UTF-8\nContent-Transfer-Encoding: quoted-printable\n\n<a href=3D\"x\">x</a>=\n!\n" +
				"--inner--\n--outer--\n"),
			wantSubject: "Grüße",
			wantText:    "https://example.com/a?b=1\n",
			wantHTML:    "<a href=\"x\">x</a>!", // the line break before a boundary belongs to it
		},
		{
			name:    "no header",
			raw:     []byte("garbage without a blank line"),
			wantErr: true,
		},
		{
			name:        "unknown transfer encoding",
			raw:         crlf("Subject: x\nContent-Transfer-Encoding: x-rot13\n\nuryyb\n"),
			wantSubject: "x",
			wantErr:     true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := parseMessage(tt.raw)
			if gotErr := m.ParseError != nil; gotErr != tt.wantErr {
				t.Fatalf("ParseError = %v, want error %v", m.ParseError, tt.wantErr)
			}
			if m.Subject != tt.wantSubject || m.Text != tt.wantText || m.HTML != tt.wantHTML {
				t.Errorf("parseMessage = subject %q, text %q, HTML %q; want %q, %q, %q",
					m.Subject, m.Text, m.HTML, tt.wantSubject, tt.wantText, tt.wantHTML)
			}
			if string(m.Raw) != string(tt.raw) {
				t.Errorf("Raw changed")
			}
		})
	}
}

func TestLinks(t *testing.T) {
	m := Message{Text: "Open https://id.example.com/c?token=a_b-1&x=%2F.\n(or http://localhost:8080/c?t=2), again https://id.example.com/c?token=a_b-1&x=%2F\nnot ftp://x"}
	want := []string{"https://id.example.com/c?token=a_b-1&x=%2F", "http://localhost:8080/c?t=2"}
	got := m.Links()
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("Links() = %q, want %q", got, want)
	}
}
