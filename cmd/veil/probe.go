package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/veil-id/veil/probe"
)

const probeUsage = `usage: veil probe --url URL --exists a@x.com,b@x.com [flags]
       veil probe --preset login|signup|recover|login-code|login-code-confirm|account-email --base-url URL --exists ... [flags]
       veil probe --plan FILE [--format text|json|html] [--out FILE]

Measures what a sign-in, sign-up or recovery endpoint leaks about which
accounts exist: the same request is sent for identifiers that have accounts
(--exists) and for ones that do not (--missing, generated when omitted),
interleaved at random, and status, headers, cookies, body, length and timing
are compared. Every request for an existing account is a failed sign-in (or
a mail): the target may lock those accounts. Use test accounts.

An endpoint whose answer changes once it has seen an identifier (sign-up,
invitations, email change) is measured on first contact: every request of
the missing class uses an address never sent before (--first-contact, on
for --preset signup, or {{fresh}} in a --missing identifier). The warm-up
always uses throwaway identifiers. On a sign-up each new address may create
an account; the report says how many were sent.

When most answers are throttled (429), server errors or transport
failures, or most of one class's are, the run is inconclusive: the report
says what would make it conclusive (more identifiers, an allow-listed
source address, a test deployment with a lenient throttle).

A plan file (TOML) runs several endpoints in one go: top-level defaults
(base_url, exists, missing, n, rate, concurrency, pairs, headers, scrub, ...)
and one [[endpoint]] table each, with a preset or url, method, content_type
and body. The false-positive rate (--alpha) is shared by all of them.

Exit status: 0 no leak found, 1 leak found, 2 usage or target error,
3 inconclusive.

Flags:
`

// probeFlags are the command line of veil probe.
type probeFlags struct {
	url, preset, baseURL, plan                      string
	exists, missing, body, method, contentType, pwd string
	headers, scrub, ignore                          listFlag
	noDefaultScrub, pairs, insecure, quiet, fresh   bool
	n, warmup, concurrency                          int
	rate, alpha                                     float64
	timeout                                         time.Duration
	seed                                            uint64
	format, out                                     string
}

// listFlag is a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ", ") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func (f *probeFlags) register(fs *flag.FlagSet) {
	d := probe.DefaultOptions
	fs.StringVar(&f.url, "url", "", "endpoint URL; may contain {{identifier}}")
	fs.StringVar(&f.preset, "preset", "", "one of veil's endpoints: "+probe.PresetNames+" (with --base-url)")
	fs.StringVar(&f.baseURL, "base-url", "", "veil's base URL, for --preset")
	fs.StringVar(&f.plan, "plan", "", "TOML plan file listing several endpoints")
	fs.StringVar(&f.exists, "exists", "", "comma-separated identifiers that have accounts")
	fs.StringVar(&f.missing, "missing", "", "comma-separated identifiers that have none (default: generated); {{fresh}} in one is new random characters on every request")
	fs.StringVar(&f.body, "body", probe.LoginBody, "body template with {{identifier}} and {{password}}")
	fs.StringVar(&f.method, "method", "POST", "HTTP method")
	fs.StringVar(&f.contentType, "content-type", "application/json", "body content type; JSON and form bodies escape the identifier")
	fs.StringVar(&f.pwd, "password", "", "value of {{password}} (default: random, matching no account)")
	fs.Var(&f.headers, "header", "request header 'Name: value' (repeatable)")
	fs.Var(&f.scrub, "scrub", "regexp for parts of answers that change on every request (repeatable)")
	fs.Var(&f.ignore, "ignore-header", "response header to leave out of the comparison (repeatable; Date always is)")
	fs.BoolVar(&f.fresh, "first-contact", false, "every missing-class request uses an identifier never sent before (sign-up, invitations, email change; on with --preset signup, and when --missing holds {{fresh}})")
	fs.BoolVar(&f.noDefaultScrub, "no-default-scrub", false, "do not scrub UUIDs, timestamps and long tokens")
	fs.IntVar(&f.n, "n", d.N, "requests per class (pairs with --pairs)")
	fs.IntVar(&f.warmup, "warmup", d.Warmup, "requests sent first and discarded, with throwaway identifiers (0 for none)")
	fs.Float64Var(&f.rate, "rate", d.Rate, "requests per second at most; 0 for no limit")
	fs.IntVar(&f.concurrency, "concurrency", d.Concurrency, "requests in flight")
	fs.DurationVar(&f.timeout, "timeout", d.Timeout, "timeout of one request")
	fs.BoolVar(&f.pairs, "pairs", false, "HTTP/2 paired mode: one request of each class per packet; the answer order is the signal")
	fs.BoolVar(&f.insecure, "insecure", false, "accept any TLS certificate")
	fs.Float64Var(&f.alpha, "alpha", probe.DefaultAlpha, "false-positive rate of the whole run")
	fs.Uint64Var(&f.seed, "seed", 0, "seed of the random order (default: random)")
	fs.StringVar(&f.format, "format", "text", "report format: text, json or html")
	fs.StringVar(&f.out, "out", "", "write the report to this file instead of standard output")
	fs.BoolVar(&f.quiet, "quiet", false, "no progress bar")
}

// outputFlags may be combined with --plan; every other flag belongs in it.
var outputFlags = map[string]bool{"plan": true, "format": true, "out": true, "quiet": true, "alpha": true, "seed": true}

func runProbe(ctx context.Context, m *Main, args []string) error {
	fs := flag.NewFlagSet("veil probe", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var f probeFlags
	f.register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(m.Stdout, probeUsage)
			fs.SetOutput(m.Stdout)
			fs.PrintDefaults()
			return nil
		}
		return usageErrorf("probe: %v", err)
	}
	if fs.NArg() > 0 {
		return usageErrorf("probe: unexpected argument %q", fs.Arg(0))
	}
	if f.format != "text" && f.format != "json" && f.format != "html" {
		return usageErrorf("probe: --format %q: want text, json or html", f.format)
	}
	if !(f.alpha > 0 && f.alpha < 1) { // NaN too: no p-value is ever ≤ NaN
		return usageErrorf("probe: --alpha %g: want a false-positive rate between 0 and 1", f.alpha)
	}
	plan, err := f.buildPlan(fs)
	if err != nil {
		return usageErrorf("probe: %v", err)
	}
	warnProbe(m.Stderr, plan)
	bar := newProgressBar(m.Stderr, f.quiet)
	for i := range plan.Probes {
		plan.Probes[i].Options.Progress = bar.update
		if f.seed != 0 {
			plan.Probes[i].Options.Seed = f.seed + uint64(i)
		}
	}
	rep, err := probe.Run(ctx, plan)
	bar.finish()
	if err != nil {
		if ctx.Err() != nil {
			return &exitError{code: 2, err: fmt.Errorf("probe: interrupted: %w", ctx.Err())}
		}
		return &exitError{code: 2, err: fmt.Errorf("probe: %w", err)}
	}
	if err := writeProbeReport(m, rep, f.format, f.out); err != nil {
		return &exitError{code: 2, err: fmt.Errorf("probe: %w", err)}
	}
	switch {
	case rep.Leak:
		return &exitError{code: 1}
	case rep.Inconclusive:
		return &exitError{code: 3}
	}
	return nil
}

// buildPlan turns the flags into a plan: read from --plan, or one probe.
func (f *probeFlags) buildPlan(fs *flag.FlagSet) (probe.Plan, error) {
	if f.plan != "" {
		var extra []string
		alphaSet := false
		fs.Visit(func(fl *flag.Flag) {
			alphaSet = alphaSet || fl.Name == "alpha"
			if !outputFlags[fl.Name] {
				extra = append(extra, "--"+fl.Name)
			}
		})
		if len(extra) > 0 {
			return probe.Plan{}, fmt.Errorf("%s cannot be combined with --plan: set it in the plan file", strings.Join(extra, ", "))
		}
		file, err := os.Open(f.plan)
		if err != nil {
			return probe.Plan{}, err
		}
		defer file.Close()
		plan, err := probe.ParsePlan(file)
		if err != nil {
			return probe.Plan{}, err
		}
		if alphaSet || plan.Alpha == 0 { // --alpha overrides the plan's alpha
			plan.Alpha = f.alpha
		}
		return *plan, nil
	}
	p, err := f.buildProbe(fs)
	if err != nil {
		return probe.Plan{}, err
	}
	return probe.Plan{Probes: []probe.Probe{p}, Alpha: f.alpha}, p.Validate()
}

func (f *probeFlags) buildProbe(fs *flag.FlagSet) (probe.Probe, error) {
	var t *probe.Target
	var err error
	switch {
	case f.preset != "" && f.url != "":
		return probe.Probe{}, errors.New("give --preset or --url, not both")
	case f.preset != "":
		if t, err = probe.PresetTarget(f.preset, f.baseURL); err != nil {
			return probe.Probe{}, err
		}
	case f.url != "":
		if t, err = probe.NewTarget(f.url, f.method, f.contentType, f.body); err != nil {
			return probe.Probe{}, err
		}
	default:
		return probe.Probe{}, errors.New("--url, --preset or --plan is required")
	}
	t.Exists, t.Missing = splitList(f.exists), splitList(f.missing)
	if len(t.Missing) == 0 {
		t.Missing = probe.MissingFor(t.Exists)
	}
	if t.Password = f.pwd; t.Password == "" {
		t.Password = probe.RandomPassword()
	}
	for _, h := range f.headers {
		name, value, err := probe.ParseHeader(h)
		if err != nil {
			return probe.Probe{}, err
		}
		t.Header.Add(name, value)
	}
	if t.Scrub, err = probe.CompileScrub(f.scrub); err != nil {
		return probe.Probe{}, err
	}
	t.IgnoreHeaders, t.NoDefaultScrub = f.ignore, f.noDefaultScrub
	t.FirstContact = t.FirstContact || f.fresh
	o := probe.Options{N: f.n, Warmup: f.warmup, Rate: f.rate, Concurrency: f.concurrency,
		Timeout: f.timeout, Pairs: f.pairs, Insecure: f.insecure}
	return probe.Probe{Target: t, Options: o}, nil
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// warnProbe says, before anything is sent, what the run will do to the
// accounts: this is the moment to stop if they are not test accounts. The
// warm-up uses throwaway identifiers, so only the measured requests reach
// the existing accounts.
func warnProbe(w io.Writer, plan probe.Plan) {
	for _, p := range plan.Probes {
		kind := "failed sign-ins (the target may lock these accounts or alert their owners)"
		switch p.Target.Preset { // not Name: a plan may rename an endpoint
		case "signup":
			kind = "sign-up attempts (each may send a mail)"
		case "recover":
			kind = "recovery requests (each may send a mail)"
		case "login-code":
			kind = "sign-in code requests (each may send a mail)"
		case "account-email":
			kind = "notices that another account asked for their address (each a mail)"
		}
		fmt.Fprintf(w, "veil probe: %s: the %d existing accounts will receive about %d %s", p.Target.URL, len(p.Target.Exists), p.Options.N, kind)
		if p.Target.OnFirstContact() {
			fmt.Fprintf(w, "; %d addresses new to the target will be sent (on a sign-up, each an account and a mail)", probe.FreshIdentifiers(p))
		}
		fmt.Fprintln(w)
	}
}

func writeProbeReport(m *Main, rep *probe.Report, format, out string) error {
	var buf bytes.Buffer
	var err error
	switch format {
	case "json":
		err = rep.WriteJSON(&buf)
	case "html":
		err = rep.WriteHTML(&buf)
	default:
		err = rep.WriteText(&buf)
	}
	if err != nil {
		return err
	}
	if out == "" {
		_, err = m.Stdout.Write(buf.Bytes())
		return err
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(m.Stderr, "veil probe: %s; report written to %s\n", rep.Verdict(), out)
	return nil
}

// progressBar draws on stderr for runs that last: nothing in the first two
// seconds, then at most four updates a second.
type progressBar struct {
	mu    sync.Mutex
	w     io.Writer
	off   bool
	start time.Time
	last  time.Time
	drawn bool
}

func newProgressBar(w io.Writer, quiet bool) *progressBar {
	return &progressBar{w: w, off: quiet, start: time.Now()}
}

func (b *progressBar) update(done, total int) {
	if b.off {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	if now.Sub(b.start) < 2*time.Second || now.Sub(b.last) < 250*time.Millisecond && done < total {
		return
	}
	b.last, b.drawn = now, true
	const width = 30
	filled := width * done / max(total, 1)
	fmt.Fprintf(b.w, "\r[%s%s] %d/%d requests", strings.Repeat("#", filled), strings.Repeat(".", width-filled), done, total)
}

func (b *progressBar) finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.drawn {
		fmt.Fprintln(b.w)
		b.drawn = false
	}
	b.start = time.Now() // a plan's next probe starts its own quiet period
}
