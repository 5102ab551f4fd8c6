package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/veil-id/veil/probe/leaky"
)

// probeExists are the accounts the leaky test servers know.
const probeExists = "alice@example.com,bob@example.com"

// probeChannels are the channels of a sequential run, in report order.
var probeChannels = []string{"status", "headers", "cookies", "body", "length", "json structure", "time to first byte", "time to last byte"}

// leakyServer is a probe/leaky server that counts the requests it served.
type leakyServer struct {
	url    string
	served atomic.Int64
}

// mustServeLeaky serves a leaky handler (HTTP/1.1 only) for the test.
func mustServeLeaky(tb testing.TB, leak leaky.Leak) *leakyServer {
	tb.Helper()
	return mustServeLeakyConfig(tb, leaky.Config{Leak: leak})
}

// mustServeLeakyConfig serves a leaky handler configured by cfg, with
// probeExists as its accounts.
func mustServeLeakyConfig(tb testing.TB, cfg leaky.Config) *leakyServer {
	tb.Helper()
	s := &leakyServer{}
	cfg.Exists = strings.Split(probeExists, ",")
	h := leaky.Handler(cfg)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.served.Add(1)
		h.ServeHTTP(w, r)
	}))
	tb.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

// fastProbe is the command line of a short probe of url: 40 requests per
// class, 4 warm-up requests, no rate limit. The tiny alpha keeps the timing
// channels of a loopback run from ever being reported, while a content leak
// at n=40 has p-values near 1e-20.
func fastProbe(url string, extra ...string) []string {
	return append([]string{"probe", "--url", url, "--exists", probeExists,
		"--n", "40", "--warmup", "4", "--rate", "0", "--quiet", "--alpha", "1e-6"}, extra...)
}

// checkNoCrash fails tb if stderr is empty or shows a Go panic.
func checkNoCrash(tb testing.TB, stderr string) {
	tb.Helper()
	if strings.TrimSpace(stderr) == "" || strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine ") {
		tb.Errorf("stderr = %q, want a clear message and no panic", stderr)
	}
}

// probeJSON is the part of the JSON report the tests read.
type probeJSON struct {
	Leak    bool    `json:"leak"`
	Alpha   float64 `json:"alpha"`
	Targets []struct {
		Name     string `json:"name"`
		Mode     string `json:"mode"`
		N        int    `json:"n"`
		Leak     bool   `json:"leak"`
		Channels []struct {
			Name string `json:"name"`
			Kind string `json:"kind"`
			Leak bool   `json:"leak"`
		} `json:"channels"`
	} `json:"targets"`
}

func mustParseProbeJSON(tb testing.TB, out string) probeJSON {
	tb.Helper()
	var rep probeJSON
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		tb.Fatalf("JSON report does not parse: %v\n%s", err, out)
	}
	return rep
}

// reportVerdict reads a one-target report in format and returns its overall
// verdict and its leaking channels; it fails tb if the report is not
// well-formed or does not list every channel.
func reportVerdict(tb testing.TB, format, doc string) (leak bool, leaking []string) {
	tb.Helper()
	switch format {
	case "text":
		for _, name := range probeChannels {
			if !strings.Contains(doc, "\n  "+name+" ") {
				tb.Errorf("text report has no line for channel %q:\n%s", name, doc)
			}
		}
		for line := range strings.SplitSeq(doc, "\n") {
			if l, ok := strings.CutPrefix(line, "  LEAK: "); ok {
				leaking = strings.Split(l, ", ")
			}
		}
		leak = strings.HasSuffix(doc, "\nverdict: LEAK\n")
		if !leak && !strings.HasSuffix(doc, "\nverdict: no leak found\n") {
			tb.Errorf("text report ends without a verdict:\n%s", doc)
		}
	case "json":
		rep := mustParseProbeJSON(tb, doc)
		if len(rep.Targets) != 1 {
			tb.Fatalf("JSON report has %d targets, want 1:\n%s", len(rep.Targets), doc)
		}
		r := rep.Targets[0]
		var names []string
		for _, c := range r.Channels {
			names = append(names, c.Name)
			if c.Leak {
				leaking = append(leaking, c.Name)
			}
		}
		if !slices.Equal(names, probeChannels) || r.Mode != "sequential" || r.N != 40 || r.Leak != rep.Leak {
			tb.Errorf("JSON target: channels %q, mode %q, n %d, leak %v (report %v); want channels %q, sequential, 40, equal leaks",
				names, r.Mode, r.N, r.Leak, rep.Leak, probeChannels)
		}
		leak = rep.Leak
	case "html":
		checkSelfContainedHTML(tb, doc)
		rows := regexp.MustCompile(`<tr><td>([^<]*)</td><td class="(leak|ok)">`).FindAllStringSubmatch(doc, -1)
		var names []string
		for _, row := range rows {
			names = append(names, row[1])
			if row[2] == "leak" {
				leaking = append(leaking, row[1])
			}
		}
		if !slices.Equal(names, probeChannels) {
			tb.Errorf("HTML report lists channels %q, want %q", names, probeChannels)
		}
		leak = strings.Contains(doc, `<p class="verdict"><span class="leak">LEAK</span>`)
		if !leak && !strings.Contains(doc, `<p class="verdict"><span class="ok">No leak found</span>`) {
			tb.Errorf("HTML report has no verdict")
		}
	default:
		tb.Fatalf("unknown format %q", format)
	}
	return leak, leaking
}

// checkSelfContainedHTML fails tb unless doc is one whole HTML document
// with its plots inline and nothing loaded from elsewhere.
func checkSelfContainedHTML(tb testing.TB, doc string) {
	tb.Helper()
	lower := strings.ToLower(doc)
	if !strings.HasPrefix(lower, "<!doctype html>") || !strings.HasSuffix(strings.TrimSpace(lower), "</html>") {
		tb.Errorf("HTML report is not a whole document: starts %q", doc[:min(len(doc), 40)])
	}
	if n := strings.Count(lower, "<svg"); n != 2 {
		tb.Errorf("HTML report has %d inline <svg> plots, want 2 (one per timing channel)", n)
	}
	for _, external := range []string{"<script", "<link", "<iframe", "<img", "src=", "href=", "@import", "url("} {
		if strings.Contains(lower, external) {
			tb.Errorf("HTML report contains %q: it must load nothing", external)
		}
	}
}

// TestProbeReport runs veil probe against servers that leak the message,
// the status or nothing, in each report format: exit 1 and exactly the
// leaking channel reported, or exit 0 and none.
func TestProbeReport(t *testing.T) {
	tests := []struct {
		leak     leaky.Leak
		format   string
		wantCode int
		want     []string // leaking channels
	}{
		{leaky.Message, "text", 1, []string{"body", "json structure"}},
		{leaky.Status, "text", 1, []string{"status"}},
		{leaky.None, "text", 0, nil},
		{leaky.Message, "json", 1, []string{"body", "json structure"}},
		{leaky.Status, "json", 1, []string{"status"}},
		{leaky.None, "json", 0, nil},
		{leaky.Message, "html", 1, []string{"body", "json structure"}},
		{leaky.Status, "html", 1, []string{"status"}},
		{leaky.None, "html", 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.format+"/"+string(tt.leak), func(t *testing.T) {
			srv := mustServeLeaky(t, tt.leak)
			args := fastProbe(srv.url+"/api/login", "--format", tt.format)
			out := filepath.Join(t.TempDir(), "report.html")
			if tt.format == "html" {
				args = append(args, "--out", out)
			}
			code, stdout, stderr := runMain(t, testEnv(nil), "", args...)
			if code != tt.wantCode {
				t.Fatalf("veil %s = exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, tt.wantCode, stdout, stderr)
			}
			doc := stdout
			if tt.format == "html" {
				b, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				doc = string(b)
				verdict := map[bool]string{true: "LEAK", false: "no leak found"}[tt.wantCode == 1]
				if want := "veil probe: " + verdict + "; report written to " + out + "\n"; stdout != "" || !strings.HasSuffix(stderr, want) {
					t.Errorf("with --out: stdout = %q, stderr = %q; want nothing on stdout and stderr ending %q", stdout, stderr, want)
				}
			}
			leak, leaking := reportVerdict(t, tt.format, doc)
			if leak != (tt.wantCode == 1) || !slices.Equal(leaking, tt.want) {
				t.Errorf("%s report, leak %s: leak %v, leaking channels %q; want %v, %q\n%s",
					tt.format, tt.leak, leak, leaking, tt.wantCode == 1, tt.want, doc)
			}
		})
	}
}

// TestProbeUsageErrors shows every kind of bad command line refused with
// exit 2 and a message that says what is wrong, before any request is sent
// and before the warning about the accounts.
func TestProbeUsageErrors(t *testing.T) {
	dir := t.TempDir()
	srv := mustServeLeaky(t, leaky.Message)
	login := srv.url + "/api/login"
	goodPlan := fmt.Sprintf("exists = [\"alice@example.com\"]\nn = 40\nwarmup = 4\nrate = 0\n[[endpoint]]\npreset = \"login\"\nbase_url = %q\n", srv.url)
	for name, src := range map[string]string{
		"good.toml":    goodPlan,
		"bad.toml":     "exists = [\n[[endpoint]]\n",
		"typo.toml":    "exists = [\"alice@example.com\"]\nsamples = 40\n[[endpoint]]\npreset = \"login\"\nbase_url = \"http://127.0.0.1:1\"\n",
		"empty.toml":   "exists = [\"alice@example.com\"]\n",
		"smalln.toml":  strings.Replace(goodPlan, "n = 40", "n = 5", 1),
		"preset.toml":  "exists = [\"alice@example.com\"]\n[[endpoint]]\npreset = \"login\"\n",
		"noexist.toml": fmt.Sprintf("[[endpoint]]\npreset = \"login\"\nbase_url = %q\n", srv.url),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	plan := func(name string) string { return filepath.Join(dir, name) }
	// Rows that should fail before sending anything still get a short run,
	// so that a regression fails fast rather than measuring for seconds.
	fast := func(extra ...string) []string { return append(slices.Clip(fastProbe(login)[1:]), extra...) }
	tests := []struct {
		name string
		args []string // after "probe"
		want string   // in stderr
	}{
		{"no arguments", nil, "--url, --preset or --plan is required"},
		{"no url", []string{"--exists", probeExists}, "--url, --preset or --plan is required"},
		{"unknown flag", fast("--bogus"), "flag provided but not defined: -bogus"},
		{"extra argument", fast("extra"), `unexpected argument "extra"`},
		{"bad format", fast("--format", "xml"), `--format "xml": want text, json or html`},
		{"preset without base url", []string{"--preset", "login", "--exists", probeExists}, `base URL "" is not an http(s) URL`},
		{"unknown preset", []string{"--preset", "logout", "--base-url", srv.url, "--exists", probeExists}, `unknown preset "logout"`},
		{"preset and url", fast("--preset", "login", "--base-url", srv.url), "--preset or --url, not both"},
		{"url not http", []string{"--url", "ftp://127.0.0.1/login", "--exists", probeExists}, "is not an http(s) URL"},
		{"header without colon", fast("--header", "X-Probe"), "want 'Name: value'"},
		{"header with bad name", fast("--header", "X Probe: 1"), "invalid name"},
		{"header set by the probe", fast("--header", "Content-Length: 5"), "set by the probe itself"},
		{"bad scrub pattern", fast("--scrub", "("), "scrub pattern"},
		{"no exists", []string{"--url", login}, "no identifiers of existing accounts"},
		{"exists also missing", fast("--missing", "bob@example.com"), "listed as existing and as missing"},
		{"no identifier in request", fast("--body", "{}"), "contains {{identifier}}"},
		{"n zero", fast("--n", "0"), "n = 0: at least 20 per class are needed"},
		{"n negative", fast("--n", "-5"), "n = -5: at least 20"},
		{"n below minimum", fast("--n", "19"), "n = 19: at least 20"},
		{"n not a number", fast("--n", "many"), `invalid value "many" for flag -n`},
		{"unknown kind", fast("--kind", "logout"), `--kind "logout": want login, signup or recover`},
		{"negative rate", fast("--rate", "-1"), "cannot be negative"},
		{"negative warm-up", fast("--warmup", "-1"), "cannot be negative"},
		{"pairs with concurrency", fast("--pairs", "--concurrency", "2"), "concurrency must be 1"},
		{"alpha zero", fast("--alpha", "0"), "--alpha 0: want a false-positive rate between 0 and 1"},
		{"alpha one", fast("--alpha", "1"), "--alpha 1: want"},
		{"alpha above one", fast("--alpha", "2"), "--alpha 2: want"},
		{"alpha NaN", fast("--alpha", "NaN"), "--alpha NaN: want"},
		{"plan not TOML", []string{"--plan", plan("bad.toml")}, "plan: toml:"},
		{"plan with unknown key", []string{"--plan", plan("typo.toml")}, `plan: unknown key "samples"`},
		{"plan without endpoint", []string{"--plan", plan("empty.toml")}, "plan: no [[endpoint]]"},
		{"plan with small n", []string{"--plan", plan("smalln.toml")}, "plan: endpoint 1: n = 5"},
		{"plan preset without base url", []string{"--plan", plan("preset.toml")}, `plan: endpoint 1: preset login: base URL ""`},
		{"plan without exists", []string{"--plan", plan("noexist.toml")}, "plan: endpoint 1: no identifiers of existing accounts"},
		{"plan file missing", []string{"--plan", plan("nowhere.toml")}, "no such file or directory"},
		{"plan with request flags", []string{"--plan", plan("good.toml"), "--n", "40", "--pairs"}, "--n, --pairs cannot be combined with --plan"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"probe"}, tt.args...)
			code, stdout, stderr := runMain(t, testEnv(nil), "", args...)
			if code != 2 || !strings.HasPrefix(stderr, "veil: usage: probe: ") || !strings.Contains(stderr, tt.want) {
				t.Errorf("veil %s = exit %d, stderr %q; want exit 2, a usage error containing %q", strings.Join(args, " "), code, stderr, tt.want)
			}
			checkNoCrash(t, stderr)
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			if strings.Contains(stderr, "existing accounts will receive") {
				t.Errorf("a usage error printed the warning: %q", stderr)
			}
		})
	}
	if n := srv.served.Load(); n != 0 {
		t.Errorf("usage errors sent %d requests to the target, want none", n)
	}
}

// TestProbeTargetErrors shows a target that cannot be measured, or a
// report that cannot be written, give exit 2 and say why.
func TestProbeTargetErrors(t *testing.T) {
	closed := "http://127.0.0.1:" + strconv.Itoa(freePort(t)) + "/api/login"
	h1 := mustServeLeaky(t, leaky.None) // HTTP/1.1 only: no paired mode
	missingDir := filepath.Join(t.TempDir(), "missing", "report.html")
	tests := []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"closed port", fastProbe(closed), "target: warm-up request failed: error: connection refused"},
		{"closed port, pairs", fastProbe(closed, "--pairs"), "connection refused"},
		{"no HTTP/2 for pairs", fastProbe(h1.url+"/api/login", "--pairs"), "does not speak HTTP/2"},
		{"report in a missing directory", fastProbe(h1.url+"/api/login", "--out", missingDir), "no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runMain(t, testEnv(nil), "", tt.args...)
			if code != 2 || !strings.Contains(stderr, "\nveil: probe: ") || !strings.Contains(stderr, tt.want) {
				t.Errorf("veil %s = exit %d, stderr %q; want exit 2 and an error containing %q", strings.Join(tt.args, " "), code, stderr, tt.want)
			}
			checkNoCrash(t, stderr)
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
		})
	}
}

// TestProbeInterrupted shows a cancelled run (Ctrl-C) exit 2 without a
// report.
func TestProbeInterrupted(t *testing.T) {
	srv := mustServeLeaky(t, leaky.None)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr bytes.Buffer
	m := &Main{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr, Getenv: testEnv(nil)}
	if code := m.Run(ctx, fastProbe(srv.url+"/api/login")); code != 2 || !strings.Contains(stderr.String(), "veil: probe: interrupted") || stdout.Len() != 0 {
		t.Errorf("cancelled probe = exit %d, stdout %q, stderr %q; want exit 2, no report, \"interrupted\"", code, stdout.String(), stderr.String())
	}
}

// TestProbePlan runs a plan of two endpoints, one leaking and one clean:
// exit 1, both reported in order, the plan's alpha used unless --alpha
// overrides it, and one warning per endpoint.
func TestProbePlan(t *testing.T) {
	leakySrv, clean := mustServeLeaky(t, leaky.Message), mustServeLeaky(t, leaky.None)
	path := filepath.Join(t.TempDir(), "plan.toml")
	src := fmt.Sprintf(`alpha = 1e-6
exists = ["alice@example.com", "bob@example.com"]
n = 40
warmup = 4
rate = 0

[[endpoint]]
name = "leaky login"
preset = "login"
base_url = %q

[[endpoint]]
name = "clean login"
url = "%s/api/login"
`, leakySrv.url, clean.url)
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		extra     []string
		wantAlpha float64
	}{
		{"plan alpha", nil, 1e-6},
		{"--alpha overrides", []string{"--alpha", "1e-7", "--seed", "7"}, 1e-7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"probe", "--plan", path, "--format", "json", "--quiet"}, tt.extra...)
			code, stdout, stderr := runMain(t, testEnv(nil), "", args...)
			if code != 1 {
				t.Fatalf("veil %s = exit %d, want 1\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, stdout, stderr)
			}
			rep := mustParseProbeJSON(t, stdout)
			if !rep.Leak || rep.Alpha != tt.wantAlpha || len(rep.Targets) != 2 {
				t.Fatalf("plan report: leak %v, alpha %g, %d targets; want true, %g, 2\n%s", rep.Leak, rep.Alpha, len(rep.Targets), tt.wantAlpha, stdout)
			}
			for i, want := range []struct {
				name    string
				leaking []string
			}{{"leaky login", []string{"body", "json structure"}}, {"clean login", nil}} {
				r := rep.Targets[i]
				var leaking []string
				for _, c := range r.Channels {
					if c.Leak {
						leaking = append(leaking, c.Name)
					}
				}
				if r.Name != want.name || r.Leak != (want.leaking != nil) || !slices.Equal(leaking, want.leaking) || len(r.Channels) != len(probeChannels) {
					t.Errorf("target %d: %q, leak %v, leaking %q, %d channels; want %q, leaking %q, %d channels",
						i, r.Name, r.Leak, leaking, len(r.Channels), want.name, want.leaking, len(probeChannels))
				}
			}
			for _, want := range []string{leakySrv.url + "/api/login: sign-in counts failures: the 2 existing accounts will receive about 40 failed sign-ins",
				clean.url + "/api/login: the 2 existing accounts will receive about 40 requests: on a sign-in each counts as a failure"} {
				if !strings.Contains(stderr, "veil probe: "+want) {
					t.Errorf("stderr = %q, want a warning %q", stderr, want)
				}
			}
		})
	}
}

// firstWriteServed is a stderr that records how many requests the target
// had served when the first line was written.
type firstWriteServed struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	served *atomic.Int64
	atLine int64 // -1 until the first write
}

func (w *firstWriteServed) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.atLine < 0 {
		w.atLine = w.served.Load()
	}
	return w.buf.Write(p)
}

// TestProbeWarning shows the warning that existing accounts will receive
// failed sign-ins (or mails) on stderr, saying what each kind of endpoint
// will do, written before the first request is sent.
func TestProbeWarning(t *testing.T) {
	const (
		signIn   = "sign-in counts failures: the 2 existing accounts will receive about 40 failed sign-ins (the target may lock them or alert their owners)"
		recovery = "recovery sends mails: the 2 existing accounts will receive about 40 recovery requests, each may mail their owner a link or code"
	)
	srv := mustServeLeaky(t, leaky.None)
	// A plan may name an endpoint as it likes; the warning still follows
	// the endpoint's kind.
	renamedPlan := filepath.Join(t.TempDir(), "renamed.toml")
	src := fmt.Sprintf("exists = [\"alice@example.com\", \"bob@example.com\"]\nn = 40\nwarmup = 4\nrate = 0\nalpha = 1e-6\n"+
		"[[endpoint]]\npreset = \"recover\"\nname = \"password reset\"\nbase_url = %q\n", srv.url)
	if err := os.WriteFile(renamedPlan, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		url  string
		kind string
	}{
		{"url", []string{"--url", srv.url + "/api/login"}, "/api/login",
			"the 2 existing accounts will receive about 40 requests: on a sign-in each counts as a failure (the target may lock them), on a sign-up or recovery each may send a mail (--kind says which)"},
		{"url of a sign-in", []string{"--url", srv.url + "/api/login", "--kind", "login"}, "/api/login", signIn},
		{"url of an invitation", []string{"--url", srv.url + "/api/signup", "--body", `{"email":"{{identifier}}"}`, "--first-contact"}, "/api/signup",
			"the 2 existing accounts will receive about 40 requests: on a sign-in each counts as a failure (the target may lock them), on a sign-up or recovery each may send a mail (--kind says which); 44 identifiers new to the target will be sent (each may be registered: an account, an invitation, a mail)"},
		{"login preset", []string{"--preset", "login", "--base-url", srv.url}, "/api/login", signIn},
		{"signup preset", []string{"--preset", "signup", "--base-url", srv.url}, "/api/signup",
			"sign-up creates accounts: 44 addresses new to the target will be sent, each may become an account and get a mail; the 2 existing accounts will receive about 40 sign-up attempts, each may mail their owner"},
		{"recover preset", []string{"--preset", "recover", "--base-url", srv.url}, "/api/recover", recovery},
		{"recover preset renamed in a plan", []string{"--plan", renamedPlan}, "/api/recover", recovery},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := srv.served.Load()
			stderr := &firstWriteServed{served: &srv.served, atLine: -1}
			var stdout bytes.Buffer
			m := &Main{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: stderr, Getenv: testEnv(nil)}
			args := append([]string{"probe", "--quiet"}, tt.args...)
			if tt.args[0] != "--plan" { // a plan says all this itself
				args = append(args, "--exists", probeExists, "--n", "40", "--warmup", "4", "--rate", "0", "--alpha", "1e-6")
			}
			if code := m.Run(context.Background(), args); code != 0 {
				t.Fatalf("veil %s = exit %d, want 0\n%s%s", strings.Join(args, " "), code, stdout.String(), stderr.buf.String())
			}
			want := "veil probe: " + srv.url + tt.url + ": " + tt.kind + "\n"
			if got := stderr.buf.String(); got != want {
				t.Errorf("stderr = %q, want %q", got, want)
			}
			if stderr.atLine != before {
				t.Errorf("the warning was written after %d requests, want before the first", stderr.atLine-before)
			}
		})
	}
}

// TestProbeHelp shows -h print the usage on stdout and exit 0.
func TestProbeHelp(t *testing.T) {
	code, stdout, stderr := runMain(t, testEnv(nil), "", "probe", "-h")
	if code != 0 || !strings.HasPrefix(stdout, "usage: veil probe") || !strings.Contains(stdout, "-format") || stderr != "" {
		t.Errorf("veil probe -h = exit %d, stdout %q, stderr %q; want 0 and the usage on stdout", code, stdout, stderr)
	}
}
