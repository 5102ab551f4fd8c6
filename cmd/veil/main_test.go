package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// testEnv is a veil environment: fast hashing parameters so tests do not
// spend their time in argon2id, everything else as configured by vars.
func testEnv(vars map[string]string) func(string) string {
	base := map[string]string{
		"VEIL_PASSWORD_MEMORY_KIB": "1024",
		"VEIL_PASSWORD_ITERATIONS": "1",
		"VEIL_LOGIN_FLOOR":         "20ms",
	}
	for k, v := range vars {
		base[k] = v
	}
	return func(k string) string { return base[k] }
}

// runMain runs one veil command line in-process and returns its output.
func runMain(tb testing.TB, env func(string) string, stdin string, args ...string) (code int, stdout, stderr string) {
	tb.Helper()
	var out, errb bytes.Buffer
	m := &Main{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, Getenv: env}
	code = m.Run(context.Background(), args)
	return code, out.String(), errb.String()
}

// runningVeil is a veil serve running in-process on port 0.
type runningVeil struct {
	url, adminURL string
	stop          func() int
	stdout        *syncBuffer
}

// MustRunMain starts `veil serve` on loopback port 0 with its own data
// directory and stops it gracefully at the end of the test.
func MustRunMain(tb testing.TB, env func(string) string, dataDir string) *runningVeil {
	tb.Helper()
	return mustRunMainOn(tb, env, dataDir, "127.0.0.1:0")
}

// mustRunMainOn is MustRunMain on a given public listen address.
func mustRunMainOn(tb testing.TB, env func(string) string, dataDir, listen string) *runningVeil {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan [2]string, 1)
	out := &syncBuffer{}
	m := &Main{Stdin: strings.NewReader(""), Stdout: out, Stderr: out, Getenv: env,
		Ready: func(p, a string) { ready <- [2]string{p, a} }}
	done := make(chan int, 1)
	go func() {
		done <- m.Run(ctx, []string{"serve", "--listen", listen, "--admin-listen", "127.0.0.1:0", "--data-dir", dataDir})
	}()
	var urls [2]string
	select {
	case urls = <-ready:
	case code := <-done:
		cancel()
		tb.Fatalf("veil serve exited with %d before listening:\n%s", code, out.String())
	case <-time.After(30 * time.Second):
		cancel()
		tb.Fatalf("veil serve did not listen within 30s:\n%s", out.String())
	}
	var once sync.Once
	code := -1
	stop := func() int {
		once.Do(func() {
			cancel()
			select {
			case code = <-done:
			case <-time.After(30 * time.Second):
				tb.Errorf("veil serve did not shut down within 30s")
			}
		})
		return code
	}
	tb.Cleanup(func() { stop() })
	return &runningVeil{url: urls[0], adminURL: urls[1], stop: stop, stdout: out}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func httpDo(tb testing.TB, method, url, contentType, body string, cookie string) (*http.Response, string) {
	tb.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// auditEvent is an audit event as the admin listener shows it.
type auditEvent struct{ Kind, Reason string }

// auditEvents returns the n most recent audit events, newest first, from
// the admin listener.
func (v *runningVeil) auditEvents(tb testing.TB, n int) []auditEvent {
	tb.Helper()
	res, body := httpDo(tb, "GET", fmt.Sprintf("%s/audit?limit=%d", v.adminURL, n), "", "", "")
	if res.StatusCode != 200 {
		tb.Fatalf("admin /audit: %d %s", res.StatusCode, body)
	}
	var events []auditEvent
	if err := json.Unmarshal([]byte(body), &events); err != nil {
		tb.Fatalf("admin /audit: %v", err)
	}
	return events
}
