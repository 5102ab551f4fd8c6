package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// wrkRate runs wrk against target for a few seconds and returns its
// Requests/sec and the count of non-2xx answers.
func wrkRate(b *testing.B, target string, headers ...string) (float64, string) {
	b.Helper()
	args := []string{"-t1", "-c16", "-d3s", "--timeout", "2s"}
	for _, h := range headers {
		args = append(args, "-H", h)
	}
	out, err := exec.Command("wrk", append(args, target)...).CombinedOutput()
	if err != nil {
		b.Fatalf("wrk: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		b.Fatalf("wrk printed no Requests/sec:\n%s", out)
	}
	rate, _ := strconv.ParseFloat(string(m[1]), 64)
	bad := ""
	if n := regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`).FindSubmatch(out); n != nil {
		bad = string(n[1])
	}
	return rate, bad
}

// BenchmarkNginxWithAndWithoutVeil measures, in one run, requests/s through
// a real nginx on loopback to a small upstream, once straight and once with
// auth_request to veil (a valid session, a group rule, SQLite, the
// default identity cache), with wrk: 1 thread, 16 connections, 3 seconds
// each. Run it once: go test -run X -bench NginxWithAndWithoutVeil
// -benchtime 1x ./cmd/veil
func BenchmarkNginxWithAndWithoutVeil(b *testing.B) {
	nginxPath(b)
	if _, err := exec.LookPath("wrk"); err != nil {
		b.Skip("wrk is not installed (apt-get install wrk)")
	}
	dir := b.TempDir()
	env := testEnv(map[string]string{"VEIL_CONFIG": writeProxyRules(b), "VEIL_SERVER_TRUSTED_PROXIES": "127.0.0.1", "VEIL_LOG_LEVEL": "error"})
	for _, cmd := range [][]string{{"user", "add", "alice@example.com"}, {"user", "group", "add", "alice@example.com", "admins"}} {
		if code, out, errOut := runMain(b, env, proxiedPassword+"\n", append(cmd, "--data-dir", dir)...); code != 0 {
			b.Fatalf("%s: %d %s %s", strings.Join(cmd, " "), code, out, errOut)
		}
	}
	v := MustRunMain(b, env, dir)
	res, body := httpDo(b, "POST", v.url+"/api/login", "application/json", loginJSONBody("alice@example.com", proxiedPassword), "")
	if res.StatusCode != 200 {
		b.Fatalf("sign-in: %d %s", res.StatusCode, body)
	}
	cookie := strings.Split(res.Header.Get("Set-Cookie"), ";")[0]
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s\n", r.Header.Get("Remote-User"))
	}))
	b.Cleanup(upstream.Close)

	port := freePort(b)
	startNginx(b, port, fmt.Sprintf(`
	upstream app { server %[3]s; keepalive 32; }
	upstream veil { server %[2]s; keepalive 32; }
	server {
		listen 127.0.0.1:%[1]d;
		server_name admin.veil.localhost;
		proxy_http_version 1.1;
		proxy_set_header Connection "";
		location = /_veil { internal; proxy_pass http://veil/api/forward-auth;
		                    proxy_pass_request_body off; proxy_set_header Content-Length "";
		                    proxy_set_header X-Original-URL $scheme://$http_host$request_uri; }
		location /open { proxy_pass http://app; }
		location /guarded { auth_request /_veil;
		                    auth_request_set $user $upstream_http_remote_user;
		                    proxy_set_header Remote-User $user;
		                    proxy_pass http://app; }
	}
`, port, strings.TrimPrefix(v.url, "http://"), strings.TrimPrefix(upstream.URL, "http://")))
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	host := "Host: admin.veil.localhost"
	if res, body := httpDo(b, "GET", base+"/guarded", "", "", cookie); res.StatusCode != 200 || !strings.Contains(body, "hello ") || strings.TrimSpace(body) == "hello" {
		// httpDo sends no Host override: nginx's only server takes it.
		b.Fatalf("guarded, signed in: %d %q", res.StatusCode, body)
	}
	b.ResetTimer()
	for b.Loop() {
		open, badOpen := wrkRate(b, base+"/open", host)
		guarded, badGuarded := wrkRate(b, base+"/guarded", host, "Cookie: "+cookie)
		if badOpen != "" || badGuarded != "" {
			b.Fatalf("non-2xx answers: open %s, guarded %s", badOpen, badGuarded)
		}
		b.ReportMetric(open, "open-req/s")
		b.ReportMetric(guarded, "veil-req/s")
		b.ReportMetric(guarded/open, "ratio")
	}
}
