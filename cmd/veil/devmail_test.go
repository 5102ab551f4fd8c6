package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestDevMailRefusedOffLoopback: serve with the dev mailbox refuses to
// start where someone other than this machine could read it, and says
// why and what to do.
func TestDevMailRefusedOffLoopback(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"every address", nil, []string{"--listen", "0.0.0.0:0"}, `server.listen is "0.0.0.0:0"`},
		{"no host", nil, []string{"--listen", ":0"}, `server.listen is ":0"`},
		{"a public address by name", nil, []string{"--listen", "dev.example.com:0"}, "server.listen"},
		{"loopback behind a public URL", map[string]string{"VEIL_SERVER_PUBLIC_URL": "https://id.example.com"}, []string{"--listen", "127.0.0.1:0"}, "server.public_url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"serve", "--data-dir", t.TempDir(), "--admin-listen", "127.0.0.1:0"}, tt.args...)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var out, errOut bytes.Buffer
			started := false
			m := &Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut, Getenv: testEnv(tt.env),
				Ready: func(string, string) { started = true; cancel() }}
			code := m.Run(ctx, args)
			if started || code == 0 || !strings.Contains(errOut.String(), tt.want) || !strings.Contains(errOut.String(), `mail.driver = "smtp"`) {
				t.Errorf("serve %v: started %v, exit %d, stderr %q; want a refusal naming %s and the way out", tt.args, started, code, errOut.String(), tt.want)
			}
		})
	}
}

// TestDevMailOnlyForThisMachine runs serve with the dev mailbox: a reset
// mail reaches it, the log holds neither the address nor the link, and a
// page rebound to 127.0.0.1 or a proxy in front gets nothing.
func TestDevMailOnlyForThisMachine(t *testing.T) {
	dir := t.TempDir()
	env := testEnv(nil)
	if code, out, errOut := runMain(t, env, "correct horse battery staple\n", "user", "add", "--data-dir", dir, "carol.private@example.com"); code != 0 {
		t.Fatalf("user add: exit %d\n%s%s", code, out, errOut)
	}
	v := MustRunMain(t, env, dir)
	if res, body := httpDo(t, "POST", v.url+"/api/recover", "application/json", `{"email":"carol.private@example.com"}`, ""); res.StatusCode != 202 {
		t.Fatalf("recover: %d %s", res.StatusCode, body)
	}
	link := waitForMailLink(t, v, "carol.private@example.com", "/recover/confirm")
	token := link[strings.Index(link, "token=")+len("token="):]
	if log := v.stdout.String(); strings.Contains(log, "carol.private") || strings.Contains(log, token) {
		t.Errorf("the log holds the address or the reset token:\n%s", log)
	}
	for _, tt := range []struct {
		name, method, host, header string
		want                       int
	}{
		{"this machine", "GET", "", "", 200},
		{"rebinding page", "GET", "rebind.attacker.example", "", 403},
		{"through a proxy", "GET", "", "203.0.113.9", 403},
		{"wrong method", "POST", "", "", 405},
	} {
		req, err := http.NewRequest(tt.method, v.url+"/dev/mail?format=json", nil)
		if err != nil {
			t.Fatal(err)
		}
		if tt.host != "" {
			req.Host = tt.host
		}
		if tt.header != "" {
			req.Header.Set("X-Forwarded-For", tt.header)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tt.want || tt.want != 200 && strings.Contains(string(body), token) {
			t.Errorf("%s: %s /dev/mail = %d, want %d\n%s", tt.name, tt.method, res.StatusCode, tt.want, body)
		}
	}
}
